//! Live updates for the pages: one `EventSource` on `/o2dms/v1/events/stream` per page that
//! asks for it. A change (or a resync) bumps a counter that the page's resources depend on,
//! so what is shown is fetched again within a moment, with no polling; the browser
//! reconnects by itself, sending `Last-Event-ID`, and the page shows a quiet marker meanwhile.

use leptos::prelude::*;

/// What a page reads from the stream.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// Moves on each change the page cares about (a few at once count once).
    pub changes: ReadSignal<u64>,
    /// True while the stream is reconnecting.
    pub reconnecting: ReadSignal<bool>,
}

/// Changes close together are fetched once, this long after the first: a busy cluster costs
/// an open page at most a few fetches a second.
#[cfg(feature = "hydrate")]
const SETTLE_MS: u64 = 400;

/// Follows the stream while the calling component lives; `wanted` picks the deployments
/// (by id) the page shows, or `None` for any.
pub fn use_live(wanted: impl Fn(&str) -> bool + Send + Sync + 'static) -> Live {
    let (changes, set_changes) = signal(0_u64);
    let (reconnecting, set_reconnecting) = signal(false);
    #[cfg(feature = "hydrate")]
    follow(wanted, set_changes, set_reconnecting);
    #[cfg(not(feature = "hydrate"))]
    let _ = (wanted, set_changes, set_reconnecting);
    Live {
        changes,
        reconnecting,
    }
}

#[cfg(feature = "hydrate")]
fn follow(
    wanted: impl Fn(&str) -> bool + Send + Sync + 'static,
    set_changes: WriteSignal<u64>,
    set_reconnecting: WriteSignal<bool>,
) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new(crate::LIVE_STREAM_PATH) else {
        return;
    };
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
    let on_change =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let data = event.data().as_string().unwrap_or_default();
            let id = serde_json::from_str::<model::live::LiveChange>(&data)
                .map(|change| change.id().to_owned())
                .unwrap_or_default();
            if wanted(&id) {
                bump();
            }
        });
    let on_resync = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| bump());
    let on_open = Closure::<dyn Fn(web_sys::Event)>::new(move |_| set_reconnecting.set(false));
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_| set_reconnecting.set(true));
    let listen = |name: &str, f: &js_sys::Function| {
        let _ = source.add_event_listener_with_callback(name, f);
    };
    listen(
        model::live::DEPLOYMENT_EVENT,
        on_change.as_ref().unchecked_ref(),
    );
    listen(
        model::live::RESYNC_EVENT,
        on_resync.as_ref().unchecked_ref(),
    );
    listen("open", on_open.as_ref().unchecked_ref());
    listen("error", on_error.as_ref().unchecked_ref());
    let handlers =
        send_wrapper::SendWrapper::new((source, on_change, on_resync, on_open, on_error));
    on_cleanup(move || {
        let (source, ..) = &*handlers;
        source.close();
    });
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
