//! Per-principal request rates: a token bucket per principal for changes and one for
//! expensive reads (audit export, controller logs), so one script cannot starve the others
//! or the cluster. Pilothouse's own jobs and the CLI are not limited.

use crate::audit::Channel;
use crate::{Error, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Principals tracked before full buckets are forgotten.
const TRACKED: usize = 10_000;

/// How many requests a principal may make per minute (each also its burst).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimits {
    /// Changes per minute (creates, updates, scale, rollback, admin operations, …).
    pub changes_per_minute: u32,
    /// Audit exports and controller-log reads per minute.
    pub expensive_reads_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            changes_per_minute: 120,
            expensive_reads_per_minute: 20,
        }
    }
}

/// What a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// A change.
    Change,
    /// An export or a log read.
    ExpensiveRead,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets of every principal.
#[derive(Debug, Default)]
pub struct Rates {
    limits: RateLimits,
    buckets: Mutex<HashMap<(String, bool), Bucket>>,
}

impl Rates {
    /// Buckets holding `limits`.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::default(),
        }
    }

    /// Spends one request of `who` (a subject) on `channel`, or says how long to wait.
    pub fn admit(&self, who: &str, channel: Channel, cost: Cost) -> Result<()> {
        if matches!(channel, Channel::System | Channel::Cli) {
            return Ok(());
        }
        self.admit_at(who, cost, Instant::now())
    }

    fn admit_at(&self, who: &str, cost: Cost, now: Instant) -> Result<()> {
        let per_minute = match cost {
            Cost::Change => self.limits.changes_per_minute,
            Cost::ExpensiveRead => self.limits.expensive_reads_per_minute,
        };
        let burst = f64::from(per_minute.max(1));
        let per_second = burst / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (who.to_owned(), cost == Cost::Change);
        if buckets.len() >= TRACKED && !buckets.contains_key(&key) {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * per_second < burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil();
            Err(Error::RateLimited {
                seconds: (wait as u64).max(1),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_429_until_the_bucket_refills_per_principal_and_cost() {
        let rates = Rates::new(RateLimits {
            changes_per_minute: 3,
            expensive_reads_per_minute: 1,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert!(rates.admit_at("alice", Cost::Change, start).is_ok());
        }
        let Err(Error::RateLimited { seconds }) = rates.admit_at("alice", Cost::Change, start)
        else {
            panic!("the fourth change in a burst of three is refused");
        };
        assert_eq!(seconds, 20, "one change per 20 s refills");
        assert!(
            rates.admit_at("bob", Cost::Change, start).is_ok(),
            "per principal"
        );
        assert!(
            rates.admit_at("alice", Cost::ExpensiveRead, start).is_ok(),
            "per cost"
        );
        assert!(matches!(
            rates.admit_at("alice", Cost::ExpensiveRead, start),
            Err(crate::Error::RateLimited { .. })
        ));
        assert!(
            rates
                .admit_at("alice", Cost::Change, start + Duration::from_secs(20))
                .is_ok()
        );
    }

    #[test]
    fn the_cli_and_the_system_are_not_limited() {
        let rates = Rates::new(RateLimits {
            changes_per_minute: 1,
            expensive_reads_per_minute: 1,
        });
        for _ in 0..5 {
            assert!(rates.admit("admin", Channel::Cli, Cost::Change).is_ok());
            assert!(rates.admit("system", Channel::System, Cost::Change).is_ok());
        }
    }
}
