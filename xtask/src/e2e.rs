//! The Playwright suite: the built server on a free port, driven by `node --test` in Chromium.

use crate::database::Database;
use crate::site::run;
use crate::stack;
use crate::{paths, step};
use anyhow::Context;
use std::path::Path;
use std::process::Command;

/// Debian's Chromium, which playwright-core drives (its own browser download cannot work here).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs the `end2end/tests/*.spec.mjs` whose names contain one of `filters` (every one when
/// `filters` is empty) against a freshly started server.
pub fn run_suite(binary: &Path, database: &Database, filters: &[String]) -> anyhow::Result<()> {
    let url = database.url_for("pilothouse_e2e")?;
    let port = testkit::ports::free_port()?;
    let stack = stack::start(binary, port, &url, "e2e")?;

    let dir = paths::end2end();
    let output = dir.join("output");
    std::fs::create_dir_all(&output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let mut specs: Vec<_> = std::fs::read_dir(dir.join("tests"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.to_string_lossy().ends_with(".spec.mjs"))
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    if specs.is_empty() {
        anyhow::bail!("no end-to-end walk matches {filters:?}");
    }
    specs.sort();
    step("running the end-to-end suite in Chromium");
    run(
        Command::new("node")
            .arg("--test")
            .args(&specs)
            .current_dir(&dir)
            .env(
                "BASE_URL",
                format!("http://127.0.0.1:{}", stack.server.port()),
            )
            .env("IDP_ISSUER", stack.identity.idp.issuer())
            .env(
                "SANDBOX_URL",
                format!("http://127.0.0.1:{}", stack.cluster.port),
            )
            .env("SANDBOX_TOKEN", &stack.cluster.admin_token)
            .env(
                "ADMIN_PASSWORD",
                stack.identity.password("admin").unwrap_or_default(),
            )
            .env(
                "ALICE_PASSWORD",
                stack.identity.password("alice").unwrap_or_default(),
            )
            .env(
                "CAROL_PASSWORD",
                stack.identity.password("carol").unwrap_or_default(),
            )
            .env(
                "DAVE_PASSWORD",
                stack.identity.password("dave").unwrap_or_default(),
            )
            .env("CHROMIUM", CHROMIUM)
            .env("E2E_OUTPUT", &output),
        "the end-to-end suite",
    )?;
    eprintln!("    screenshots are in {}", output.display());
    Ok(())
}
