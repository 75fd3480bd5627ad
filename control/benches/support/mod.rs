//! What the benchmarks share: a database of their own on `DATABASE_URL`'s server.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};

/// A migrated database of one benchmark run, dropped by [`BenchDatabase::drop_database`].
pub struct BenchDatabase {
    /// Connections to it.
    pub pool: PgPool,
    name: String,
    admin_url: String,
}

impl BenchDatabase {
    /// A new database named after `bench` and this process, migrated, on the server
    /// `DATABASE_URL` names (`cargo xtask bench` provides a private one).
    pub async fn create(bench: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let admin_url = std::env::var("DATABASE_URL")
            .map_err(|_| "set DATABASE_URL (cargo xtask bench does)")?;
        let name = format!("{bench}_{}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => return Err("DATABASE_URL has no database name".into()),
        };
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(&url)
            .await?;
        control::store::migrate(&pool).await?;
        Ok(Self {
            pool,
            name,
            admin_url,
        })
    }

    /// Closes the pool and drops the database.
    pub async fn drop_database(self) -> Result<(), Box<dyn std::error::Error>> {
        self.pool.close().await;
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!("DROP DATABASE {}", self.name))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}
