//! `cargo xtask test`: set-up, then fmt, clippy, unit and integration tests, and Playwright.

use crate::database::Database;
use crate::setup::{self, Needs};
use crate::site::{self, HOST_PACKAGES, Profile, run};
use crate::{e2e, paths, step};
use std::time::Instant;

/// Runs every check, stopping at the first that fails.
pub fn run_all() -> anyhow::Result<()> {
    let started = Instant::now();
    let tools = setup::run(Needs::everything())?;
    let toolchain = tools.toolchain;

    step("cargo fmt --check");
    run(
        toolchain.cargo().args(["fmt", "--all", "--check"]),
        "cargo fmt --check (run `cargo fmt --all`)",
    )?;

    step("clippy (server side)");
    run(
        toolchain.cargo().arg("clippy").args(HOST_PACKAGES).args([
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "clippy (server side)",
    )?;
    step("clippy (browser side)");
    run(
        toolchain
            .cargo()
            .args(["clippy", "--package", "frontend"])
            .args(toolchain.wasm_args())
            .args(["--", "-D", "warnings"]),
        "clippy (browser side)",
    )?;

    let database = Database::provide(&paths::root().join("target").join("pg-test"), true)?;
    step("unit and integration tests");
    run(
        toolchain
            .cargo()
            .arg("test")
            .args(HOST_PACKAGES)
            .env("DATABASE_URL", database.admin_url())
            .env("PILOTHOUSE_HELM", &tools.helm),
        "cargo test",
    )?;

    site::build_bundle(&tools, Profile::Dev)?;
    let binary = site::build_server(&tools, Profile::Dev)?;
    e2e::run_suite(&binary, &database, &[])?;

    eprintln!(
        "==> every check passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds the site and server and runs the Playwright walks whose file names contain any of
/// `filters` (all of them when there are none): the quick loop while working on a page.
pub fn run_walks(filters: &[String]) -> anyhow::Result<()> {
    let tools = setup::run(Needs::everything())?;
    let database = Database::provide(&paths::root().join("target").join("pg-test"), true)?;
    site::build_bundle(&tools, Profile::Dev)?;
    let binary = site::build_server(&tools, Profile::Dev)?;
    e2e::run_suite(&binary, &database, filters)
}
