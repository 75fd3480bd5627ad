//! Pilothouse as the demo and the end-to-end suite run it: the demo identity provider, the
//! sandbox cluster, the seeded tenancy, and the server pointed at all three.

use crate::cluster::Cluster;
use crate::identity::Identity;
use crate::server::{ServerProcess, seed_demo};
use crate::{paths, step};
use std::path::Path;

/// The running pieces; dropping it stops the server first, then the cluster and the provider.
#[derive(Debug)]
pub struct Stack {
    /// The server.
    pub server: ServerProcess,
    /// The sandbox cluster.
    pub cluster: Cluster,
    /// The identity provider and this run's passwords.
    pub identity: Identity,
}

/// The demo's configuration file: what no flag sets.
const DEMO_CONFIG: &str = "ui:\n  links:\n    - title: Dashboard\n      url: https://grafana.example/d/app?var-namespace={{namespace}}&var-app={{name}}&var-kind={{kind}}\n";

/// Starts everything for a server on `127.0.0.1:port` against `database_url`; `name` keeps
/// the sandbox's kubeconfig apart (`target/<name>/kubeconfig`).
pub fn start(binary: &Path, port: u16, database_url: &str, name: &str) -> anyhow::Result<Stack> {
    let public_url = format!("http://127.0.0.1:{port}");
    let identity = Identity::start(&public_url)?;
    let cluster = Cluster::start_demo(&binary.with_file_name("sandbox"), name)?;
    let mut env = identity.server_env();
    env.extend(cluster.server_env());
    env.push((
        "PILOTHOUSE_HELM_BINARY",
        crate::helm::ensure()?.display().to_string(),
    ));
    // The demo's one file setting: a deep link on every deployment's page.
    let config = paths::root()
        .join("target")
        .join(name)
        .join("pilothouse.yaml");
    std::fs::write(&config, DEMO_CONFIG)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", config.display()))?;
    env.push(("PILOTHOUSE_CONFIG", config.display().to_string()));
    step("seeding the demo tenants and memberships");
    seed_demo(binary, database_url, &env)?;
    step(&format!("starting Pilothouse on {public_url}"));
    let server = ServerProcess::start(binary, port, database_url, &paths::site_root(), &env)?;
    Ok(Stack {
        server,
        cluster,
        identity,
    })
}
