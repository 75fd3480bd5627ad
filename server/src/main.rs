//! The `pilothouse` binary: parses configuration, starts logging, serves or runs a command.

use server::config::{Cli, Command, Config};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::from_args();
    let config = Config::load(&cli)?;
    server::telemetry::init(&config.log)?;
    let result = match &cli.command {
        None | Some(Command::Serve) => server::run(config).await.map(|()| ExitCode::SUCCESS),
        Some(Command::SeedDemo) => server::demo_seed::run(&config)
            .await
            .map(|()| ExitCode::SUCCESS),
        Some(Command::Admin(args)) => server::admin_cli::run(&config, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Some(Command::Audit(command)) => {
            server::audit_cli::run(&config, command).await.map(|valid| {
                if valid {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            })
        }
    };
    result.inspect_err(|error| tracing::error!("{error:#}"))
}
