//! Periodic work that must happen once across replicas: a run is claimed in Postgres, so a
//! new leader does not repeat what the old one did an hour ago.

use super::Service;
use crate::Result;
use crate::store::schedule;
use std::time::Duration;

impl Service {
    /// Claims a run of `task` when its last run is at least `every` ago (or it never ran);
    /// false when it is not due. The claim is one statement, so only one caller wins.
    pub async fn claim_scheduled_run(&self, task: &str, every: Duration) -> Result<bool> {
        schedule::claim(&self.pool, task, every).await
    }

    /// How many times `task` has run (0 when never).
    pub async fn scheduled_runs(&self, task: &str) -> Result<i64> {
        schedule::runs(&self.pool, task).await
    }
}
