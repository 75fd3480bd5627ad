//! The sandbox cluster with the genuine Flux CRDs and the demo's Flux objects, for the Flux
//! adapter's tests, and a kube client for it.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

use control::adapters::flux::record::SpecRecord;
use control::adapters::flux::{FluxAdapter, FluxConfig};
use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use sqlx::PgPool;
use std::path::PathBuf;
use std::time::Duration;

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

/// The demo cluster with its simulated controllers running every 50 ms, and a Flux adapter
/// (20 s reconcile timeout) whose caches have synced.
pub async fn flux_adapter(pool: PgPool, passes: usize) -> (sandbox::Sandbox, Client, FluxAdapter) {
    let (sandbox, client) = demo_cluster(passes).await;
    sandbox::flux::spawn(sandbox.store().clone(), Duration::from_millis(50));
    let config = FluxConfig {
        reconcile_timeout: Duration::from_secs(20),
        ..FluxConfig::default()
    };
    let adapter = FluxAdapter::new(client.clone(), config, SpecRecord::new(pool)).expect("adapter");
    adapter
        .cache()
        .wait_until_ready(Duration::from_secs(10))
        .await
        .expect("caches sync");
    (sandbox, client, adapter)
}
