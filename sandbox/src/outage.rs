//! Simulated API server restarts, for the tests and the bench that check how caches recover:
//! every open watch ends, the server stops listening for a while (connections are refused;
//! requests still on an open connection answer 503), and (when asked) the watch history is
//! forgotten, as after etcd compaction, so clients must re-list. Counters of LIST
//! and WATCH requests show whether a client resumed or re-listed.

use crate::store::Store;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The restart state every request consults.
#[derive(Debug)]
pub struct Outages {
    restarts: watch::Sender<u64>,
    down_until: Mutex<Option<Instant>>,
    lists: AtomicU64,
    watches: AtomicU64,
}

impl Default for Outages {
    fn default() -> Self {
        Self {
            restarts: watch::Sender::new(0),
            down_until: Mutex::new(None),
            lists: AtomicU64::new(0),
            watches: AtomicU64::new(0),
        }
    }
}

/// LIST and WATCH requests served so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RequestCounts {
    /// LIST requests.
    pub lists: u64,
    /// WATCH requests.
    pub watches: u64,
}

impl Outages {
    /// Ends every watch, and takes the server down for `down` (see the module doc); with `compact`, the
    /// watch history of `store` is forgotten too.
    pub fn restart(&self, store: &Store, down: Duration, compact: bool) {
        if let Ok(mut until) = self.down_until.lock() {
            *until = Some(Instant::now() + down);
        }
        if compact {
            store.compact();
        }
        self.restarts.send_modify(|n| *n += 1);
    }

    /// How much of the current outage is left.
    pub fn down_for(&self) -> Duration {
        self.down_until
            .lock()
            .ok()
            .and_then(|until| *until)
            .map_or(Duration::ZERO, |t| {
                t.saturating_duration_since(Instant::now())
            })
    }

    /// True while a restart is under way.
    pub fn is_down(&self) -> bool {
        !self.down_for().is_zero()
    }

    /// Resolves at the next restart; a watch stream ends with it.
    pub fn next_restart(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut restarts = self.restarts.subscribe();
        async move {
            let _ = restarts.changed().await;
        }
    }

    /// Counts a LIST request.
    pub fn count_list(&self) {
        self.lists.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a WATCH request.
    pub fn count_watch(&self) {
        self.watches.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            lists: self.lists.load(Ordering::Relaxed),
            watches: self.watches.load(Ordering::Relaxed),
        }
    }
}
