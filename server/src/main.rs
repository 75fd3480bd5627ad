//! The `pilothouse` binary: parses configuration, starts logging, runs the server.

use clap::Parser;
use server::config::{Cli, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(&cli)?;
    server::telemetry::init(&config.log)?;
    server::run(config)
        .await
        .inspect_err(|error| tracing::error!("{error:#}"))
}
