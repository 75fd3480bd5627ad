//! How many helm processes one replica runs at once. Each is a child process that may render
//! a large chart or pull one over the network; previews run two per keystroke pause. Past the
//! running limit callers queue, and past the queue they get 429 with `Retry-After`, so one
//! busy user cannot take the replica's CPU and memory from everyone else.

use control_core::{Error, Result};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit};

/// helm processes one replica runs at once.
pub const RUNNING: usize = 8;
/// Requests that may wait for a turn before more are refused.
pub const WAITING: usize = 32;

/// The replica's gate, shared by every Helm adapter in the process.
pub static REPLICA: LazyLock<HelmGate> = LazyLock::new(|| HelmGate::new(RUNNING, WAITING));

/// A limit on running helm processes with a bounded queue in front of it.
#[derive(Debug)]
pub struct HelmGate {
    running: Semaphore,
    limit: usize,
    waiting: AtomicUsize,
    queue: usize,
}

/// A turn to run helm; the next caller's turn comes when it is dropped.
#[derive(Debug)]
pub struct Turn<'a>(#[expect(dead_code, reason = "held for its Drop")] SemaphorePermit<'a>);

impl HelmGate {
    /// A gate for `running` processes with `queue` callers waiting at most.
    pub fn new(running: usize, queue: usize) -> Self {
        Self {
            running: Semaphore::new(running),
            limit: running,
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// Waits for a turn, or refuses when the queue is full.
    pub async fn turn(&self) -> Result<Turn<'_>> {
        if let Ok(permit) = self.running.try_acquire() {
            return Ok(Turn(permit));
        }
        let waiting = self.waiting.fetch_add(1, Ordering::SeqCst);
        if waiting >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::HelmBusy {
                running: self.limit,
                waiting,
            });
        }
        let permit = self.running.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit
            .map(Turn)
            .map_err(|_| Error::Helm("the helm gate is closed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn callers_past_the_running_limit_queue_and_past_the_queue_are_refused() {
        let gate = HelmGate::new(1, 1);
        let first = gate.turn().await.expect("runs at once");
        let queued = {
            let gate = &gate;
            async move { gate.turn().await.map(drop) }
        };
        let mut queued = Box::pin(queued);
        // The second caller waits: polling it once leaves it pending in the queue.
        assert!(futures::poll!(&mut queued).is_pending());
        let refused = gate.turn().await.expect_err("the queue is full");
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.retry_after(), Some(5));
        drop(first);
        queued.await.expect("its turn comes");
        let _again = gate.turn().await.expect("free again");
    }
}
