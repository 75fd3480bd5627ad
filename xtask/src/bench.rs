//! `cargo xtask bench`: audit appends against a private Postgres, the live pipeline
//! fan-out, and the fleet scenario
//! (`fleet.rs`). Separate from the tests, which never assert on time.

use crate::database::Database;
use crate::site;
use crate::{paths, setup, step};

/// The benchmarks, by the name that selects each.
const BENCHES: [&str; 3] = ["audit", "live", "fleet"];

/// Runs the benchmarks `names` selects (all when empty) and prints their figures.
pub fn run(names: &[String]) -> anyhow::Result<()> {
    if let Some(unknown) = names.iter().find(|n| !BENCHES.contains(&n.as_str())) {
        anyhow::bail!(
            "no benchmark {unknown:?}: choose from {}",
            BENCHES.join(", ")
        );
    }
    let wanted = |name: &str| names.is_empty() || names.iter().any(|n| n == name);
    // The fleet measures the first view in Chromium too.
    let tools = setup::run(setup::Needs {
        end_to_end: wanted("fleet"),
    })?;
    let database = Database::provide(&paths::root().join("target").join("pg-bench"), true)?;
    if wanted("audit") {
        audit(&tools, &database)?;
    }
    if wanted("live") {
        live(&tools, &database)?;
    }
    if wanted("fleet") {
        step("the fleet: the release server read over HTTP against 20,000 Flux objects");
        crate::fleet::run(&tools, &database)?;
    }
    Ok(())
}

fn audit(tools: &setup::Tools, database: &Database) -> anyhow::Result<()> {
    step("audit append throughput and latency (release build)");
    site::run(
        tools
            .toolchain
            .cargo()
            .args(["bench", "--package", "control", "--bench", "audit_append"])
            .env("DATABASE_URL", database.admin_url()),
        "the audit benchmark",
    )
}

fn live(tools: &setup::Tools, database: &Database) -> anyhow::Result<()> {
    step("the live pipeline: 20,000 changes to 1, 10 and 100 readers (release build)");
    site::run(
        tools
            .toolchain
            .cargo()
            .args(["bench", "--package", "control", "--bench", "live_fanout"])
            .env("DATABASE_URL", database.admin_url()),
        "the live benchmark",
    )
}
