//! `cargo xtask bench`: audit appends against a private Postgres, the live pipeline
//! fan-out, and the fleet scenario
//! (`fleet.rs`). Separate from the tests, which never assert on time.

use crate::database::Database;
use crate::site::run;
use crate::{paths, setup, step};

/// Runs every benchmark and prints its figures.
pub fn run_all() -> anyhow::Result<()> {
    let tools = setup::run(setup::Needs::build())?;
    let database = Database::provide(&paths::root().join("target").join("pg-bench"), true)?;
    step("audit append throughput and latency (release build)");
    run(
        tools
            .toolchain
            .cargo()
            .args(["bench", "--package", "control", "--bench", "audit_append"])
            .env("DATABASE_URL", database.admin_url()),
        "the audit benchmark",
    )?;
    step("the live pipeline: 20,000 changes to 1, 10 and 100 readers (release build)");
    run(
        tools
            .toolchain
            .cargo()
            .args(["bench", "--package", "control", "--bench", "live_fanout"])
            .env("DATABASE_URL", database.admin_url()),
        "the live benchmark",
    )?;
    step("the fleet: the release server read over HTTP against 20,000 Flux objects");
    crate::fleet::run(&tools, &database)
}
