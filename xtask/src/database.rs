//! The Postgres the demo and the tests use: `DATABASE_URL` when given, otherwise a private
//! throwaway cluster under `target/`.

use crate::step;
use anyhow::Context;
use std::path::Path;
use testkit::postgres::PrivatePostgres;

/// A database server to use; a private one stops when this is dropped.
#[derive(Debug)]
pub enum Database {
    /// The server named by `DATABASE_URL`; databases are used as that URL names them.
    External(String),
    /// A private cluster started for this run.
    Private(PrivatePostgres),
}

impl Database {
    /// Uses `DATABASE_URL` when set, else starts a private cluster in `dir` (`fresh` wipes it).
    pub fn provide(dir: &Path, fresh: bool) -> anyhow::Result<Self> {
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.is_empty()
        {
            step("using the Postgres server named by DATABASE_URL");
            return Ok(Self::External(url));
        }
        step(&format!(
            "starting a private Postgres cluster in {}",
            dir.display()
        ));
        let pg = PrivatePostgres::start(dir, fresh).context(
            "cannot start the private Postgres (or set DATABASE_URL to a server to use)",
        )?;
        eprintln!("    listening on 127.0.0.1:{}", pg.port());
        Ok(Self::Private(pg))
    }

    /// A URL for the database `name` (created when private), or `DATABASE_URL` as given.
    pub fn url_for(&self, name: &str) -> anyhow::Result<String> {
        match self {
            Self::External(url) => Ok(url.clone()),
            Self::Private(pg) => {
                pg.ensure_database(name)?;
                Ok(pg.url(name))
            }
        }
    }

    /// A URL whose role may create databases, for `#[sqlx::test]`'s per-test databases.
    pub fn admin_url(&self) -> String {
        match self {
            Self::External(url) => url.clone(),
            Self::Private(pg) => pg.url("postgres"),
        }
    }
}
