//! The Pilothouse server: configuration, start-up, routes and the Leptos renderer.

pub mod config;
pub mod health;
pub mod routes;
pub mod shutdown;
pub mod state;
pub mod telemetry;

use anyhow::Context;
use config::Config;
use state::AppState;

/// Builds the state, applies migrations and serves until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let database_url = config.database.url.as_deref().context(
        "no database configured: set database.url in the configuration file, \
         PILOTHOUSE_DATABASE_URL, or --database-url",
    )?;
    let pool = control::store::pool(database_url, config.database.max_connections)
        .context("invalid database URL")?;
    tracing::info!(database = %config::redacted_url(database_url), "applying database migrations");
    control::store::migrate(&pool)
        .await
        .context("start-up failed: the database migrations could not be applied")?;

    let state = AppState::new(&config, pool);
    let router = routes::router(state);
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    tracing::info!(address = %config.server.listen, "Pilothouse is listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown::signal())
        .await
        .context("server error")?;
    tracing::info!("shut down cleanly");
    Ok(())
}
