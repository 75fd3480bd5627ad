//! `cargo xtask demo`: a private Postgres, the demo identity provider with its users, the
//! sandbox cluster with simulated Flux, and the server on http://127.0.0.1:3000.

use crate::database::Database;
use crate::identity::DEMO_USERS;
use crate::paths;
use crate::setup::{self, Needs};
use crate::site::{self, Profile};
use crate::stack;
use anyhow::Context;

/// The demo's fixed address, as the README promises.
const DEMO_PORT: u16 = 3000;

/// Sets up, builds and runs the demo until Ctrl-C; with `profile` release, the optimised
/// wasm bundle (a fraction of the debug one's size, so pages hydrate sooner) and server.
pub fn run(profile: Profile) -> anyhow::Result<()> {
    let tools = setup::run(Needs::build())?;
    site::build_bundle(&tools, profile)?;
    let binary = site::build_server(&tools, profile)?;
    // The demo keeps its data between runs; the tests use a throwaway cluster.
    let database = Database::provide(&paths::root().join("target").join("pg-demo"), false)?;
    let url = database.url_for("pilothouse")?;

    // Ctrl-C reaches the server too (same process group) and it shuts down gracefully;
    // xtask only has to outlive it to stop the identity provider, the cluster and Postgres.
    ctrlc::set_handler(|| {}).context("cannot install the Ctrl-C handler")?;
    let mut stack = stack::start(&binary, DEMO_PORT, &url, "demo")?;
    let public_url = format!("http://127.0.0.1:{DEMO_PORT}");
    eprintln!("\n    Pilothouse demo: {public_url}   (Ctrl-C stops it)\n");
    eprintln!("    Sign in as one of the demo users (passwords are new on every start):");
    for (login, role) in DEMO_USERS {
        let password = stack.identity.password(login).unwrap_or("?");
        eprintln!("      {login:<6} {password:<20} {role}");
    }
    eprintln!(
        "\n    The sandbox cluster (simulated Flux): kubectl --kubeconfig {} get helmreleases -A\n",
        stack.cluster.kubeconfig.display()
    );
    stack.server.wait()
}
