//! `pilothouse seed-demo`: the demo's tenants, namespaces and memberships for its users
//! (admin, alice, bob, carol, dave), as the `pilothouse admin` commands an operator would
//! type, run as the bootstrap admin through the same audited operations.

use crate::admin_cli::{AdminCommand, cli_context, execute};
use crate::config::Config;
use anyhow::Context;
use clap::Parser;
use control::{Error, Service};

/// The demo, one `pilothouse admin` command per line.
const SEED: [&[&str]; 12] = [
    &["tenant", "create", "team-a", "--name", "Team A"],
    &["tenant", "create", "team-b", "--name", "Team B"],
    &["tenant", "create", "platform", "--name", "Platform"],
    &["namespace", "assign", "team-a", "--tenant", "team-a"],
    &["namespace", "assign", "team-b", "--tenant", "team-b"],
    &["namespace", "assign", "platform", "--tenant", "platform"],
    &[
        "member", "add", "team-a", "--user", "alice", "--role", "operator",
    ],
    &[
        "member", "add", "team-a", "--user", "bob", "--role", "viewer",
    ],
    &[
        "member", "add", "team-b", "--user", "bob", "--role", "viewer",
    ],
    &[
        "member", "add", "team-b", "--user", "dave", "--role", "admin",
    ],
    &[
        "member", "add", "team-a", "--user", "dave", "--role", "viewer",
    ],
    &["role", "grant", "auditor", "--user", "carol"],
];

/// One seed line, parsed as the CLI parses it.
#[derive(Debug, Parser)]
#[command(no_binary_name = true)]
struct Line {
    #[command(subcommand)]
    command: AdminCommand,
}

/// Seeds the demo tenancy; safe to run again.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    let pool = crate::connect(config).await?;
    let service = Service::new(pool);
    crate::bootstrap(&service, config).await?;
    let admin = config
        .access
        .bootstrap_admin
        .clone()
        .context("the demo seed needs access.bootstrapAdmin")?;
    let ctx = cli_context(config, &admin);
    for args in SEED {
        let line = Line::try_parse_from(args.iter().copied())
            .with_context(|| format!("seed line {args:?}"))?;
        match execute(&service, &ctx, &line.command).await {
            // A second run finds the tenants in place.
            Ok(_) | Err(Error::AlreadyExists { .. }) => {}
            Err(error) => {
                return Err(error).with_context(|| format!("pilothouse admin {}", args.join(" ")));
            }
        }
    }
    tracing::info!("demo tenants and memberships are in place");
    Ok(())
}
