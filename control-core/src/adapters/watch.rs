//! The list-then-watch loop behind the caches. It does what kube's `watcher` does (a paged
//! LIST, then a WATCH from the list's resourceVersion; when a watch ends, a new one from the
//! newest event or bookmark; a re-list only on 410 Gone) and says one more thing, which kube's
//! watcher keeps to itself: when a watch is open again after an error. From then on the
//! cache is current, even if nothing changed while it was cut off, so pages stop saying
//! "data as of …" at once instead of at the next change.

use futures::StreamExt;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::runtime::watcher::Event;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::time::Duration;
use tokio::sync::mpsc;

/// What a cache hears from the loop.
#[derive(Debug)]
pub enum Step<K> {
    /// An event, as kube's watcher yields them (a re-list is `Init`, `InitApply`…, `InitDone`).
    Event(Event<K>),
    /// A watch is open again after an error: every change up to now has been delivered.
    Current,
    /// A LIST or WATCH failed (the loop logs why); it tries again after a backoff.
    Behind,
}

/// Which objects to watch.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    /// A label selector.
    pub labels: Option<String>,
    /// A field selector.
    pub fields: Option<String>,
}

/// Objects per LIST page, as client-go's reflector asks for.
const PAGE: u32 = 500;
/// The API server ends a watch after this long; a new one starts from where it ended.
const WATCH_SECONDS: u32 = 290;
/// A watch that sends nothing (not even a bookmark) for this long is taken as dead.
const IDLE: Duration = Duration::from_secs(WATCH_SECONDS as u64 + 30);
/// How long a reopened watch must stay free of errors to count as current.
const SETTLE: Duration = Duration::from_millis(300);
/// Retry delays double from the first to the last; a recovering API server is not hammered
/// and a cache is current within seconds of it answering again.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(4));

/// Starts the loop for `api`; it ends when the receiver is dropped. `what` names the kind
/// in the log.
pub fn start<K>(api: Api<K>, selectors: Selectors, what: &'static str) -> mpsc::Receiver<Step<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel(256);
    let watch = Loop {
        api,
        selectors,
        tx,
        what,
        behind: false,
        failed_at: None,
        delay: BACKOFF.0,
        objects: 0,
    };
    tokio::spawn(watch.run());
    rx
}

/// Why a watch stopped.
enum Ended {
    /// Its history is gone: list again.
    Gone,
    /// It ended or failed: watch again from the newest resourceVersion.
    Resume,
    /// Nobody listens any more.
    Closed,
}

/// One kind's loop and what it knows between attempts.
struct Loop<K> {
    api: Api<K>,
    selectors: Selectors,
    tx: mpsc::Sender<Step<K>>,
    what: &'static str,
    /// The last LIST or WATCH failed and nothing has worked since.
    behind: bool,
    /// When the outage being reported began, for the line that says it is over.
    failed_at: Option<std::time::Instant>,
    /// The next retry's delay.
    delay: Duration,
    /// How many objects the cache holds, for the metrics.
    objects: usize,
}

impl<K> Loop<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    async fn run(mut self) {
        loop {
            let Some(mut version) = self.list().await else {
                if self.tx.is_closed() {
                    return;
                }
                self.back_off().await;
                continue;
            };
            loop {
                match self.watch(&mut version).await {
                    Ended::Closed => return,
                    Ended::Gone => {
                        crate::metrics::watch_restart(self.what);
                        break;
                    }
                    Ended::Resume if self.behind => self.back_off().await,
                    Ended::Resume => {}
                }
            }
        }
    }

    /// Records how many objects the cache holds now.
    fn hold(&mut self, objects: usize) {
        self.objects = objects;
        crate::metrics::watch_objects(self.what, objects);
    }

    async fn back_off(&mut self) {
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(BACKOFF.1);
    }

    /// Reports a failure (in the log once per outage, then quietly); false when nobody
    /// listens any more.
    async fn fell_behind(&mut self, why: String) -> bool {
        if self.behind {
            tracing::debug!(kind = self.what, error = %why, "watch still failing; retrying");
        } else {
            tracing::warn!(kind = self.what, error = %why, "watch failed; retrying quietly until it works again");
            self.failed_at = Some(std::time::Instant::now());
            crate::metrics::watch_restart(self.what);
            crate::metrics::watch_synced(self.what, false);
        }
        self.behind = true;
        self.tx.send(Step::Behind).await.is_ok()
    }

    /// Says the cache is current again after a failure; false when nobody listens.
    async fn caught_up(&mut self, step: Step<K>) -> bool {
        if let Some(failed_at) = self.failed_at.take() {
            tracing::info!(
                kind = self.what,
                after_seconds = failed_at.elapsed().as_secs_f64(),
                "watch works again"
            );
        }
        self.behind = false;
        self.delay = BACKOFF.0;
        crate::metrics::watch_synced(self.what, true);
        self.tx.send(step).await.is_ok()
    }

    fn params(&self) -> (ListParams, WatchParams) {
        let mut list = ListParams::default().limit(PAGE);
        let mut watch = WatchParams::default().timeout(WATCH_SECONDS);
        if let Some(labels) = &self.selectors.labels {
            list = list.labels(labels);
            watch = watch.labels(labels);
        }
        if let Some(fields) = &self.selectors.fields {
            list = list.fields(fields);
            watch = watch.fields(fields);
        }
        (list, watch)
    }

    /// One paged LIST as `Init`, `InitApply`… and `InitDone`; the list's resourceVersion,
    /// or `None` after an error (reported) or when nobody listens.
    async fn list(&mut self) -> Option<String> {
        self.tx.send(Step::Event(Event::Init)).await.ok()?;
        let (mut params, _) = self.params();
        let mut listed = 0;
        loop {
            let page = match self.api.list(&params).await {
                Ok(page) => page,
                Err(error) => {
                    self.fell_behind(error.to_string()).await;
                    return None;
                }
            };
            listed += page.items.len();
            for object in page.items {
                self.tx
                    .send(Step::Event(Event::InitApply(object)))
                    .await
                    .ok()?;
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => {
                    self.hold(listed);
                    // InitDone makes the cache current by itself.
                    self.caught_up(Step::Event(Event::InitDone))
                        .await
                        .then_some(())?;
                    return Some(page.metadata.resource_version.unwrap_or_default());
                }
            }
        }
    }

    /// One WATCH from `version`, following every event and bookmark. After a failure the
    /// watch counts as working once it delivers something that is not an error, or stays
    /// quiet for a moment: an API server that lost the history says so (410) as the
    /// stream's first line.
    async fn watch(&mut self, version: &mut String) -> Ended {
        let (_, params) = self.params();
        let closed = |open: bool| if open { Ended::Resume } else { Ended::Closed };
        let stream = match self.api.watch(&params, version).await {
            Ok(stream) => stream,
            Err(kube::Error::Api(status)) if status.code == 410 => return Ended::Gone,
            Err(error) => return closed(self.fell_behind(error.to_string()).await),
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            let wait = if self.behind { SETTLE } else { IDLE };
            let next = tokio::select! {
                () = self.tx.closed() => return Ended::Closed,
                next = tokio::time::timeout(wait, stream.next()) => next,
            };
            let event = match next {
                Err(_) if self.behind => {
                    if !self.caught_up(Step::Current).await {
                        return Ended::Closed;
                    }
                    continue;
                }
                Err(_) | Ok(None) => return Ended::Resume,
                Ok(Some(Ok(event))) => event,
                Ok(Some(Err(error))) => {
                    return closed(self.fell_behind(error.to_string()).await);
                }
            };
            match &event {
                WatchEvent::Added(_) => self.hold(self.objects + 1),
                WatchEvent::Deleted(_) => self.hold(self.objects.saturating_sub(1)),
                _ => {}
            }
            let step = match event {
                WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                    *version = object.resource_version().unwrap_or_default();
                    Some(Event::Apply(object))
                }
                WatchEvent::Deleted(object) => {
                    *version = object.resource_version().unwrap_or_default();
                    Some(Event::Delete(object))
                }
                WatchEvent::Bookmark(bookmark) => {
                    *version = bookmark.metadata.resource_version;
                    None
                }
                WatchEvent::Error(status) if status.code == 410 => return Ended::Gone,
                WatchEvent::Error(status) => {
                    return closed(self.fell_behind(status.message).await);
                }
            };
            if self.behind && !self.caught_up(Step::Current).await {
                return Ended::Closed;
            }
            if let Some(step) = step
                && self.tx.send(Step::Event(step)).await.is_err()
            {
                return Ended::Closed;
            }
        }
    }
}
