//! The live feed for one caller: every change in a namespace it may list, with visibility
//! checked again as soon as its grants change (a revoked membership stops the events that
//! follow), its credential asked again at every re-check (the stream ends when it lapses),
//! and a resync when it missed changes.

use super::{RequestContext, Service};
use crate::Result;
use crate::access::{Action, Namespaces};
use crate::live::{Live, LiveEvent};
use futures::Stream;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// What one caller's stream yields; changes come serialised, once for every reader.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveItem {
    /// A change it may see.
    Change {
        /// The change's number, for `Last-Event-ID`.
        id: u64,
        /// The SSE event name ([`model::live::DEPLOYMENT_EVENT`] or `TOOLKIT_EVENT`).
        event: &'static str,
        /// The [`model::live::LiveChange`], as JSON.
        json: Arc<str>,
    },
    /// A tracked operation it asked for, or one in a namespace it may list, moved on.
    Operation {
        /// The change's number, for `Last-Event-ID`.
        id: u64,
        /// The [`model::operation::Operation`] now, as JSON.
        json: Arc<str>,
    },
    /// It missed changes: reload. After a resync for a client that read too slowly, the
    /// stream ends.
    Resync {
        /// The number to resume after once reloaded.
        id: u64,
    },
}

/// Visibility is re-read at least this often even without a change announced, so grants
/// that expire from the cache are honoured too.
const RECHECK: Duration = Duration::from_secs(5);

impl Service {
    /// Feeds the live hub from every adapter's changes; once, at start-up.
    pub fn start_live_feed(&self) {
        for adapter in self.registry.primaries() {
            tokio::spawn(crate::live::feed(self.live.clone(), adapter.changes()));
        }
    }

    /// The changes `ctx` may see, after `after` (its `Last-Event-ID`) when given.
    pub async fn live_events(
        &self,
        ctx: &RequestContext,
        after: Option<u64>,
    ) -> Result<impl Stream<Item = LiveItem> + Send + 'static> {
        let visible = self.visible(ctx, Action::DeploymentList).await?;
        let subscription = self.live.subscribe(after);
        let reader = Reader {
            service: self.clone(),
            ctx: ctx.clone(),
            visible,
            generation: self.access_cache.generation(),
            me: super::principal_key(&ctx.principal),
            checked: Instant::now(),
            missed: subscription.missed,
            backlog: subscription.backlog.into(),
            live: subscription.live,
            done: false,
        };
        self.counted(
            ctx,
            futures::stream::unfold(reader, |mut reader| async move {
                let item = reader.next().await?;
                Some((item, reader))
            }),
        )
    }
}

/// One caller's position in the feed.
struct Reader {
    service: Service,
    ctx: RequestContext,
    visible: Namespaces,
    me: String,
    generation: u64,
    checked: Instant,
    missed: bool,
    backlog: VecDeque<Arc<LiveEvent>>,
    live: broadcast::Receiver<Arc<LiveEvent>>,
    done: bool,
}

impl Reader {
    async fn next(&mut self) -> Option<LiveItem> {
        if self.done {
            return None;
        }
        if std::mem::take(&mut self.missed) {
            return Some(LiveItem::Resync {
                id: self.service.live.last_id(),
            });
        }
        loop {
            let event = match self.backlog.pop_front() {
                Some(event) => event,
                None => match tokio::time::timeout(RECHECK, self.live.recv()).await {
                    // Quiet for a while: the credential is asked again all the same.
                    Err(_) => {
                        self.recheck().await;
                        if self.done {
                            return None;
                        }
                        continue;
                    }
                    Ok(Ok(event)) => event,
                    // Too slow: dropped rather than buffered; it reloads and reconnects.
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                        self.done = true;
                        return Some(LiveItem::Resync {
                            id: self.service.live.last_id(),
                        });
                    }
                    Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                },
            };
            match &event.what {
                Live::Gap => return Some(LiveItem::Resync { id: event.id }),
                Live::Change {
                    namespace,
                    event: name,
                    json,
                } => {
                    self.recheck().await;
                    if self.done {
                        return None;
                    }
                    if self.visible.contains(namespace) {
                        return Some(LiveItem::Change {
                            id: event.id,
                            event: name,
                            json: json.clone(),
                        });
                    }
                }
                Live::Operation {
                    namespace,
                    requester,
                    json,
                } => {
                    self.recheck().await;
                    if self.done {
                        return None;
                    }
                    if *requester == self.me
                        || namespace.as_ref().is_some_and(|n| self.visible.contains(n))
                    {
                        return Some(LiveItem::Operation {
                            id: event.id,
                            json: json.clone(),
                        });
                    }
                }
            }
        }
    }

    /// Reads visibility again when an access change was announced or a while has passed;
    /// when the grants cannot be read, nothing is shown. The credential itself is asked too
    /// (a revoked token, a signed-out session, an expired JWT or certificate): when it no
    /// longer stands, the stream ends.
    async fn recheck(&mut self) {
        let generation = self.service.access_cache.generation();
        if generation == self.generation && self.checked.elapsed() < RECHECK {
            return;
        }
        self.generation = generation;
        self.checked = Instant::now();
        if let Some(why) = self.ctx.credential_lapsed().await {
            tracing::info!(subject = %self.ctx.principal.subject, %why, "live stream ended");
            self.done = true;
            return;
        }
        self.visible = self
            .service
            .visible(&self.ctx, Action::DeploymentList)
            .await
            .unwrap_or_else(|_| Namespaces::Only(Default::default()));
    }
}
