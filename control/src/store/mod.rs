//! The Postgres pool, the embedded migrations and the readiness check.

pub mod audit;
pub mod operations;
pub mod packages;
pub mod records;
pub mod schedule;
pub mod tenancy;
pub mod tokens;

use crate::{Error, Result};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::collections::HashSet;
use std::time::Duration;

/// The migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Postgres' SQLSTATE for "relation does not exist".
const UNDEFINED_TABLE: &str = "42P01";

/// Opens a pool without connecting yet, so the process can start (and report not ready)
/// while the database is down.
pub fn pool(database_url: &str, max_connections: u32) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        // A readiness probe must answer quickly when the database is gone.
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(database_url)?)
}

/// Applies every pending migration; start-up fails when this fails.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Succeeds when the database answers and every embedded migration has been applied.
pub async fn check_ready(pool: &PgPool) -> Result<()> {
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(applied) => applied,
            // No migration table yet: the database is up but nothing was applied.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(UNDEFINED_TABLE) => {
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
    let applied: HashSet<i64> = applied.into_iter().collect();
    match MIGRATOR.iter().find(|m| !applied.contains(&m.version)) {
        Some(missing) => Err(Error::SchemaBehind {
            version: missing.version,
            description: missing.description.to_string(),
        }),
        None => Ok(()),
    }
}
