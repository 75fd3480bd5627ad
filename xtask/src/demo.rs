//! `cargo xtask demo`: a private Postgres, the demo identity provider with its users, the
//! sandbox cluster with simulated Flux, and the server on http://127.0.0.1:3000.

use crate::cluster::Cluster;
use crate::database::Database;
use crate::identity::{DEMO_USERS, Identity};
use crate::server::{ServerProcess, seed_demo};
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

    let public_url = format!("http://127.0.0.1:{DEMO_PORT}");
    let identity = Identity::start(&public_url)?;
    let mut env = identity.server_env();
    let cluster = Cluster::start_demo(&binary.with_file_name("sandbox"), "demo")?;
    env.extend(cluster.server_env());
    step("seeding the demo tenants and memberships");
    seed_demo(&binary, &url, &env)?;

    // Ctrl-C reaches the server too (same process group) and it shuts down gracefully;
    // xtask only has to outlive it to stop the identity provider and Postgres afterwards.
    ctrlc::set_handler(|| {}).context("cannot install the Ctrl-C handler")?;
    step(&format!("starting Pilothouse on {public_url}"));
    let mut server = ServerProcess::start(&binary, DEMO_PORT, &url, &paths::site_root(), &env)?;
    eprintln!("\n    Pilothouse demo: {public_url}   (Ctrl-C stops it)\n");
    eprintln!("    Sign in as one of the demo users (passwords are new on every start):");
    for (login, role) in DEMO_USERS {
        let password = identity.password(login).unwrap_or("?");
        eprintln!("      {login:<6} {password:<20} {role}");
    }
    eprintln!();
    server.wait()
}
