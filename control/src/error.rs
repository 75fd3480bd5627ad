//! The one error type of the control crate; the server maps it to HTTP and UI messages.

/// Everything a control-plane operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or answered with an error.
    #[error("database unavailable: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration could not be applied.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database is reachable but its schema is behind this build.
    #[error(
        "database schema is not up to date: migration {version} ({description}) is not applied"
    )]
    SchemaBehind {
        /// The first missing migration's version.
        version: i64,
        /// Its description.
        description: String,
    },
}

/// The control crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
