//! `cargo xtask bench`: benchmarks against a private Postgres. Separate from the tests, which
//! never assert on time.

use crate::database::Database;
use crate::site::run;
use crate::toolchain::Toolchain;
use crate::{paths, step};

/// Runs every benchmark and prints its figures.
pub fn run_all() -> anyhow::Result<()> {
    let toolchain = Toolchain::detect_or_install()?;
    let database = Database::provide(&paths::root().join("target").join("pg-bench"), true)?;
    step("audit append throughput and latency (release build)");
    run(
        toolchain
            .cargo()
            .args(["bench", "--package", "control", "--bench", "audit_append"])
            .env("DATABASE_URL", database.admin_url()),
        "the audit benchmark",
    )?;
    step("watch caches and native Helm reads against the sandbox (release build)");
    run(
        toolchain
            .cargo()
            .args(["bench", "--package", "control", "--bench", "caches"])
            .env("PILOTHOUSE_HELM", crate::helm::ensure()?),
        "the cache benchmark",
    )
}
