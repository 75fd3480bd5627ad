//! The sandbox cluster with the genuine Flux CRDs and the demo's Flux objects, for the Flux
//! adapter's tests, and a kube client for it.

use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use std::path::PathBuf;

/// A demo cluster after `passes` simulated reconciliation passes.
pub async fn demo_cluster(passes: usize) -> (Sandbox, Client) {
    let crds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/flux-crds");
    let sandbox = Sandbox::start(SandboxOptions {
        crds: vec![crds],
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    sandbox::demo::seed_and_settle(sandbox.store(), passes).expect("demo data");
    let client =
        Client::try_from(Config::new(sandbox.url().parse().expect("url"))).expect("client");
    (sandbox, client)
}
