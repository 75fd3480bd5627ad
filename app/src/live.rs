//! Live updates for the pages: one `EventSource` on `/o2dms/v1/events/stream` per browser
//! tab, shared by every part of the page that follows it (the page itself and the header's
//! operations indicator), opened with the first follower and closed with the last. A change
//! (or a resync) bumps a counter that a follower's resources depend on, so what is shown is
//! fetched again within a moment, with no polling; the browser reconnects by itself,
//! sending `Last-Event-ID`, and the page shows a quiet marker meanwhile.

use leptos::prelude::*;
use model::operation::Operation;

/// What a follower reads from the stream.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// Moves on each change the follower cares about (a few at once count once).
    pub changes: ReadSignal<u64>,
    /// True while the stream is reconnecting.
    pub reconnecting: ReadSignal<bool>,
}

/// One message from the stream, as followers are told it.
#[derive(Debug, Clone)]
pub enum Message {
    /// A deployment changed: its id.
    Deployment(String),
    /// A toolkit object changed: `Kind/namespace/name`.
    Toolkit(String),
    /// A tracked operation moved on.
    Operation(Box<Operation>),
    /// Changes were missed: reload.
    Resync,
}

/// Changes close together are fetched once, this long after the first: a busy cluster costs
/// an open page at most a few fetches a second.
#[cfg(feature = "hydrate")]
const SETTLE_MS: u64 = 400;

/// Follows the stream while the calling component lives; `wanted` picks the deployments
/// (by id) the page shows.
pub fn use_live(wanted: impl Fn(&str) -> bool + 'static) -> Live {
    follow(move |message| match message {
        Message::Deployment(id) => wanted(id),
        Message::Operation(_) | Message::Toolkit(_) => false,
        Message::Resync => true,
    })
}

/// Follows the toolkit objects `wanted` picks (by `Kind/namespace/name`) while the calling
/// component lives.
pub fn use_live_toolkit(wanted: impl Fn(&str) -> bool + 'static) -> Live {
    follow(move |message| match message {
        Message::Toolkit(key) => wanted(key),
        Message::Operation(_) | Message::Deployment(_) => false,
        Message::Resync => true,
    })
}

/// Follows the tracked operations `wanted` picks while the calling component lives.
pub fn use_live_operations(wanted: impl Fn(&Operation) -> bool + 'static) -> Live {
    follow(move |message| match message {
        Message::Operation(operation) => wanted(operation),
        Message::Deployment(_) | Message::Toolkit(_) => false,
        Message::Resync => true,
    })
}

/// Counts the messages `wanted` picks (settled), and tracks the connection.
fn follow(wanted: impl Fn(&Message) -> bool + 'static) -> Live {
    let (changes, set_changes) = signal(0_u64);
    let (reconnecting, set_reconnecting) = signal(false);
    #[cfg(feature = "hydrate")]
    {
        let pending = StoredValue::new(false);
        let bump = move || {
            if pending.get_value() {
                return;
            }
            pending.set_value(true);
            set_timeout(
                move || {
                    pending.set_value(false);
                    set_changes.update(|n| *n += 1);
                },
                std::time::Duration::from_millis(SETTLE_MS),
            );
        };
        let id = browser::subscribe(Box::new(move |event| match event {
            browser::Event::Message(message) => {
                if wanted(&message) {
                    bump();
                }
            }
            browser::Event::Open => set_reconnecting.set(false),
            browser::Event::Error => set_reconnecting.set(true),
        }));
        on_cleanup(move || browser::unsubscribe(id));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (wanted, set_changes, set_reconnecting);
    Live {
        changes,
        reconnecting,
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! The tab's one `EventSource` and its followers (the browser runs one thread, so they
    //! live in a thread-local).

    use super::Message;
    use std::cell::RefCell;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    /// What a follower is told.
    pub enum Event {
        Message(Message),
        Open,
        Error,
    }

    type Follower = Box<dyn Fn(Event)>;

    struct Hub {
        source: web_sys::EventSource,
        followers: Vec<(u64, std::rc::Rc<Follower>)>,
        next: u64,
        _handlers: Vec<Closure<dyn Fn(web_sys::Event)>>,
    }

    thread_local! {
        static HUB: RefCell<Option<Hub>> = const { RefCell::new(None) };
    }

    /// Tells every follower `event` (outside the borrow, so a follower may unsubscribe).
    fn tell(event: impl Fn() -> Event) {
        let followers: Vec<_> = HUB.with_borrow(|hub| {
            hub.as_ref()
                .map(|h| h.followers.iter().map(|(_, f)| f.clone()).collect())
                .unwrap_or_default()
        });
        for follower in followers {
            follower(event());
        }
    }

    fn data(event: &web_sys::Event) -> String {
        event
            .dyn_ref::<web_sys::MessageEvent>()
            .and_then(|m| m.data().as_string())
            .unwrap_or_default()
    }

    fn open() -> Option<Hub> {
        let source = web_sys::EventSource::new(crate::LIVE_STREAM_PATH).ok()?;
        let on = |name: &str, handler: Box<dyn Fn(web_sys::Event)>| {
            let closure = Closure::<dyn Fn(web_sys::Event)>::new(handler);
            let _ = source.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
            closure
        };
        let handlers = vec![
            on(
                model::live::DEPLOYMENT_EVENT,
                Box::new(|event| {
                    let id = serde_json::from_str::<model::live::LiveChange>(&data(&event))
                        .map(|change| change.id())
                        .unwrap_or_default();
                    tell(|| Event::Message(Message::Deployment(id.clone())));
                }),
            ),
            on(
                model::live::TOOLKIT_EVENT,
                Box::new(|event| {
                    let key = serde_json::from_str::<model::live::LiveChange>(&data(&event))
                        .map(|change| change.id())
                        .unwrap_or_default();
                    tell(|| Event::Message(Message::Toolkit(key.clone())));
                }),
            ),
            on(
                model::live::OPERATION_EVENT,
                Box::new(|event| {
                    if let Ok(operation) =
                        serde_json::from_str::<model::operation::Operation>(&data(&event))
                    {
                        tell(|| Event::Message(Message::Operation(Box::new(operation.clone()))));
                    }
                }),
            ),
            on(
                model::live::RESYNC_EVENT,
                Box::new(|_| tell(|| Event::Message(Message::Resync))),
            ),
            on("open", Box::new(|_| tell(|| Event::Open))),
            on("error", Box::new(|_| tell(|| Event::Error))),
        ];
        Some(Hub {
            source,
            followers: Vec::new(),
            next: 0,
            _handlers: handlers,
        })
    }

    /// Adds a follower, opening the stream for the first; answers its number.
    pub fn subscribe(follower: Follower) -> u64 {
        HUB.with_borrow_mut(|hub| {
            if hub.is_none() {
                *hub = open();
            }
            let Some(hub) = hub.as_mut() else { return 0 };
            hub.next += 1;
            hub.followers.push((hub.next, std::rc::Rc::new(follower)));
            hub.next
        })
    }

    /// Removes follower `id`, closing the stream after the last.
    pub fn unsubscribe(id: u64) {
        let closed = HUB.with_borrow_mut(|hub| {
            let last = hub.as_mut().is_some_and(|h| {
                h.followers.retain(|(n, _)| *n != id);
                h.followers.is_empty()
            });
            if last { hub.take() } else { None }
        });
        if let Some(hub) = closed {
            hub.source.close();
        }
    }
}

/// "Reconnecting…" while the stream is down; nothing otherwise.
#[component]
pub fn LiveMarker(
    /// The stream to report on.
    live: Live,
) -> impl IntoView {
    move || {
        live.reconnecting.get().then(|| {
            view! {
                <span class="live-marker" role="status" data-testid="reconnecting">
                    "Reconnecting to live updates…"
                </span>
            }
        })
    }
}
