//! How many refused attempts each principal may have recorded: a token bucket per principal,
//! so nobody can flood the audit chain with denials. Over the limit, refusals are still
//! refused and logged, but not recorded; the next recorded one says how many were not, and
//! changes from that principal wait until the bucket refills.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Denials recorded at once before the limit applies.
const BURST: f64 = 30.0;
/// Denials recorded per second once the burst is spent.
const PER_SECOND: f64 = 0.5;
/// Principals tracked before full buckets are forgotten.
const TRACKED: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    suppressed: u64,
}

/// The per-principal budget of recorded denials.
#[derive(Debug, Default)]
pub struct RefusalBudget {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Whether a denial is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Record it; `suppressed` earlier denials were not.
    Record {
        /// How many were not recorded since the last recorded one.
        suppressed: u64,
    },
    /// Over the limit: log it only.
    Suppress,
}

impl RefusalBudget {
    /// Takes one denial from `who`'s budget.
    pub fn admit(&self, who: &str) -> Admission {
        self.admit_at(who, Instant::now())
    }

    fn admit_at(&self, who: &str, now: Instant) -> Admission {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= TRACKED && !buckets.contains_key(who) {
            buckets.retain(|_, b| refilled(b, now) < BURST);
        }
        let bucket = buckets.entry(who.to_owned()).or_insert(Bucket {
            tokens: BURST,
            last: now,
            suppressed: 0,
        });
        bucket.tokens = refilled(bucket, now);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Admission::Record {
                suppressed: std::mem::take(&mut bucket.suppressed),
            }
        } else {
            bucket.suppressed += 1;
            Admission::Suppress
        }
    }

    /// How long `who` waits before another denial would be recorded; None when it would be now.
    pub fn exhausted(&self, who: &str) -> Option<Duration> {
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.get(who)?;
        let tokens = refilled(bucket, Instant::now());
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / PER_SECOND))
    }
}

fn refilled(bucket: &Bucket, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
    (bucket.tokens + elapsed * PER_SECOND).min(BURST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_recorded_then_denials_are_counted_until_the_bucket_refills() {
        let budget = RefusalBudget::default();
        let start = Instant::now();
        for _ in 0..30 {
            assert_eq!(
                budget.admit_at("mallory", start),
                Admission::Record { suppressed: 0 }
            );
        }
        for _ in 0..5 {
            assert_eq!(budget.admit_at("mallory", start), Admission::Suppress);
        }
        assert!(budget.exhausted("mallory").is_some());
        assert_eq!(
            budget.admit_at("alice", start),
            Admission::Record { suppressed: 0 },
            "budgets are per principal"
        );
        assert_eq!(
            budget.admit_at("mallory", start + Duration::from_secs(2)),
            Admission::Record { suppressed: 5 }
        );
    }
}
