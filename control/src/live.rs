//! The live feed behind `/o2dms/v1/events/stream`: one subscription to every adapter's row
//! bus (so one upstream watch per kind serves every client), each change numbered and kept
//! in a short replay ring for clients that reconnect with `Last-Event-ID`, then fanned out.
//! Which client sees what is decided per client in `Service::live_events`.

use crate::adapters::rows::CacheEvent;
use model::live::{DEPLOYMENT_EVENT, LiveChange, TOOLKIT_EVENT};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Changes kept for replay, and how far a slow client may fall behind before it is dropped.
pub const KEPT: usize = 4096;

/// One numbered entry of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// Its number: increasing, never reused while the process runs.
    pub id: u64,
    /// What it says.
    pub what: Live,
}

/// A change, or a gap. What clients are sent is serialised once, here, however many
/// subscribers read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// A change in `namespace` (what visibility is checked against).
    Change {
        /// Where.
        namespace: model::reference::NamespaceRef,
        /// The SSE event name: a deployment's or a toolkit object's change.
        event: &'static str,
        /// The [`LiveChange`] as JSON.
        json: Arc<str>,
    },
    /// A tracked operation started, reported a step or ended.
    Operation {
        /// Where it acts (what visibility is checked against); none for one over many
        /// namespaces, which only its requester follows.
        namespace: Option<model::reference::NamespaceRef>,
        /// Who asked ([`crate::service::principal_key`]): they see it wherever it acts.
        requester: String,
        /// The operation as `GET /o2dms/v1/operations/{id}` shows it now, as JSON.
        json: Arc<str>,
    },
    /// Changes were lost here (the feed fell behind an adapter): clients reload.
    Gap,
}

/// The ring and the fan-out.
#[derive(Debug)]
pub struct LiveHub {
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

#[derive(Debug, Default)]
struct Ring {
    last: u64,
    kept: VecDeque<Arc<LiveEvent>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self {
            ring: Mutex::new(Ring::default()),
            tx: broadcast::channel(KEPT).0,
        }
    }
}

/// Where a new subscriber starts.
#[derive(Debug)]
pub struct Subscription {
    /// Kept changes after the client's last one, oldest first.
    pub backlog: Vec<Arc<LiveEvent>>,
    /// True when changes after the client's last one are no longer kept: it must reload.
    pub missed: bool,
    /// Every change from here on.
    pub live: broadcast::Receiver<Arc<LiveEvent>>,
}

impl LiveHub {
    /// Numbers `event`, keeps it and sends it to every subscriber.
    pub fn publish(&self, event: &CacheEvent) {
        let what = match event {
            CacheEvent::Upserted(row) => match row_namespace(row) {
                Some(namespace) => Live::Change {
                    namespace,
                    event: DEPLOYMENT_EVENT,
                    json: json(&LiveChange::Upserted {
                        deployment: Box::new(row.as_ref().clone()),
                    }),
                },
                None => return,
            },
            CacheEvent::Deleted(reference) => Live::Change {
                namespace: reference.namespace_ref(),
                event: DEPLOYMENT_EVENT,
                json: json(&LiveChange::Deleted {
                    id: reference.to_string(),
                    namespace: reference.namespace().to_owned(),
                }),
            },
            CacheEvent::Toolkit(object) => {
                let Ok(namespace) = model::reference::NamespaceRef::in_default(&object.namespace)
                else {
                    return;
                };
                Live::Change {
                    namespace,
                    event: TOOLKIT_EVENT,
                    json: json(&LiveChange::Toolkit {
                        object: Box::new(object.as_ref().clone()),
                    }),
                }
            }
            CacheEvent::ToolkitDeleted(reference) => Live::Change {
                namespace: reference.namespace.clone(),
                event: TOOLKIT_EVENT,
                json: json(&LiveChange::ToolkitDeleted {
                    kind: reference.kind,
                    namespace: reference.namespace.name().to_owned(),
                    name: reference.name.clone(),
                }),
            },
        };
        self.push(what);
    }

    /// Records that changes were lost.
    pub fn publish_gap(&self) {
        self.push(Live::Gap);
    }

    /// Numbers and sends an operation's new state.
    pub fn publish_operation(
        &self,
        namespace: Option<model::reference::NamespaceRef>,
        requester: String,
        operation: model::operation::Operation,
    ) {
        self.push(Live::Operation {
            namespace,
            requester,
            json: json(&operation),
        });
    }

    fn push(&self, what: Live) {
        let Ok(mut ring) = self.ring.lock() else {
            return;
        };
        ring.last += 1;
        let event = Arc::new(LiveEvent {
            id: ring.last,
            what,
        });
        ring.kept.push_back(event.clone());
        if ring.kept.len() > KEPT {
            ring.kept.pop_front();
        }
        // Sent under the lock, so a subscriber's backlog and live events never overlap.
        let _ = self.tx.send(event);
    }

    /// Subscribes; `after` is the last change the client has (`Last-Event-ID`).
    pub fn subscribe(&self, after: Option<u64>) -> Subscription {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let live = self.tx.subscribe();
        let Some(after) = after else {
            return Subscription {
                backlog: Vec::new(),
                missed: false,
                live,
            };
        };
        let oldest = ring.kept.front().map_or(ring.last + 1, |e| e.id);
        Subscription {
            backlog: ring.kept.iter().filter(|e| e.id > after).cloned().collect(),
            missed: after + 1 < oldest || after > ring.last,
            live,
        }
    }

    /// The newest change's number (0 before the first).
    pub fn last_id(&self) -> u64 {
        self.ring.lock().map_or(0, |ring| ring.last)
    }
}

/// `value` as JSON; our own types always serialise.
fn json(value: &impl serde::Serialize) -> Arc<str> {
    serde_json::to_string(value).unwrap_or_default().into()
}

fn row_namespace(row: &model::deployment::Deployment) -> Option<model::reference::NamespaceRef> {
    model::reference::NamespaceRef::new(row.cluster.clone(), row.namespace.clone()).ok()
}

/// Feeds `hub` from one adapter's bus until the adapter goes; when it falls behind the bus,
/// a gap tells every client to reload.
pub async fn feed(hub: Arc<LiveHub>, mut bus: broadcast::Receiver<CacheEvent>) {
    loop {
        match bus.recv().await {
            Ok(event) => hub.publish(&event),
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::warn!(skipped, "the live feed fell behind an adapter's changes");
                hub.publish_gap();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
