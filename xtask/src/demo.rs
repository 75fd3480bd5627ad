//! `cargo xtask demo`: a private Postgres and the server on http://127.0.0.1:3000.

use crate::database::Database;
use crate::server::ServerProcess;
use crate::setup::{self, Needs};
use crate::site::{self, Profile};
use crate::{paths, step};
use anyhow::Context;

/// The demo's fixed address, as the README promises.
const DEMO_PORT: u16 = 3000;

/// Sets up, builds and runs the demo until Ctrl-C.
pub fn run() -> anyhow::Result<()> {
    let tools = setup::run(Needs::build())?;
    site::build_bundle(&tools, Profile::Dev)?;
    let binary = site::build_server(&tools, Profile::Dev)?;
    // The demo keeps its data between runs; the tests use a throwaway cluster.
    let database = Database::provide(&paths::root().join("target").join("pg-demo"), false)?;
    let url = database.url_for("pilothouse")?;

    // Ctrl-C reaches the server too (same process group) and it shuts down gracefully;
    // xtask only has to outlive it to stop Postgres afterwards.
    ctrlc::set_handler(|| {}).context("cannot install the Ctrl-C handler")?;
    step(&format!(
        "starting Pilothouse on http://127.0.0.1:{DEMO_PORT}"
    ));
    let mut server = ServerProcess::start(&binary, DEMO_PORT, &url, &paths::site_root())?;
    eprintln!("\n    Pilothouse demo: http://127.0.0.1:{DEMO_PORT}   (Ctrl-C stops it)\n");
    server.wait()
}
