//! Logging through `tracing`: pretty for people, JSON for machines.

use crate::config::{LogConfig, LogFormat};
use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` wins over the configured filter when set.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => EnvFilter::try_new(from_env),
        _ => EnvFilter::try_new(&config.filter),
    }
    .context("invalid log filter")?;
    // Logs go to stderr so that command output on stdout stays machine-readable.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    result.map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))
}
