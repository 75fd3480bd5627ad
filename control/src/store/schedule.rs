//! Table `scheduled_runs`: periodic work that must happen once across replicas is claimed
//! here, in one statement, so only one caller wins.

use crate::Result;
use sqlx::PgPool;
use std::time::Duration;

/// Claims a run of `task` when its last run is at least `every` ago (or it never ran); false
/// when it is not due.
pub async fn claim(pool: &PgPool, task: &str, every: Duration) -> Result<bool> {
    let claimed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO scheduled_runs (task, last_run, runs) VALUES ($1, now(), 1) \
         ON CONFLICT (task) DO UPDATE SET last_run = now(), runs = scheduled_runs.runs + 1 \
         WHERE scheduled_runs.last_run <= now() - make_interval(secs => $2) \
         RETURNING runs",
    )
    .bind(task)
    .bind(every.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    Ok(claimed.is_some())
}

/// How many times `task` has run (0 when never).
pub async fn runs(pool: &PgPool, task: &str) -> Result<i64> {
    let runs: Option<i64> = sqlx::query_scalar("SELECT runs FROM scheduled_runs WHERE task = $1")
        .bind(task)
        .fetch_optional(pool)
        .await?;
    Ok(runs.unwrap_or(0))
}
