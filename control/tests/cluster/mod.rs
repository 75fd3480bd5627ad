//! The sandbox cluster with the genuine Flux CRDs and the demo's Flux objects, for the Flux
//! adapter's tests, a kube client and a connection to it. References to what is in it are in
//! `refs`.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

use control::adapters::flux::{FluxAdapter, FluxConfig};
use control::adapters::registry::ClusterConnection;
use kube::{Client, Config};
use model::reference::ClusterId;
use sandbox::{Sandbox, SandboxOptions};
use sqlx::PgPool;
use std::time::Duration;

/// A demo cluster after `passes` simulated reconciliation passes, with Pilothouse's RBAC
/// (the tenant ClusterRole that tenant identities are bound to) in place.
pub async fn demo_cluster(passes: usize) -> (Sandbox, Client) {
    let crds = sandbox::vendored_crds();
    let sandbox = Sandbox::start(SandboxOptions {
        crds: vec![crds],
        manifests: vec![sandbox::deploy_rbac()],
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    sandbox::demo::seed_and_settle(sandbox.store(), passes).expect("demo data");
    let client =
        Client::try_from(Config::new(sandbox.url().parse().expect("url"))).expect("client");
    (sandbox, client)
}

/// A connection to the sandbox as the default cluster.
pub fn connection(sandbox: &Sandbox) -> std::sync::Arc<ClusterConnection> {
    ClusterConnection::new(
        ClusterId::default(),
        Config::new(sandbox.url().parse().expect("url")),
    )
    .map(std::sync::Arc::new)
    .expect("connection")
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
    let adapter = FluxAdapter::new(
        &connection(&sandbox),
        config,
        control::store::records::spec_record(&pool),
    )
    .expect("adapter");
    adapter
        .cache()
        .wait_until_ready(Duration::from_secs(10))
        .await
        .expect("caches sync");
    (sandbox, client, adapter)
}

/// `service` (already seeded with tenants team-a and team-b) over `sandbox`, whose simulated
/// controllers then run every 50 ms, with one Flux adapter of `config` whose caches have
/// synced, and the namespaces team-a and team-b assigned by `admin` to the tenants of those
/// names.
pub async fn serve(
    pool: &PgPool,
    service: control::Service,
    sandbox: &Sandbox,
    config: FluxConfig,
    admin: &control::RequestContext,
) -> (control::Service, std::sync::Arc<FluxAdapter>) {
    sandbox::flux::spawn(sandbox.store().clone(), Duration::from_millis(50));
    let connection = connection(sandbox);
    let flux = FluxAdapter::new(
        &connection,
        config,
        control::store::records::spec_record(pool),
    )
    .expect("adapter");
    flux.cache()
        .wait_until_ready(Duration::from_secs(20))
        .await
        .expect("caches sync");
    let flux = std::sync::Arc::new(flux);
    let cluster = control::adapters::registry::ClusterHandle::new(connection)
        .with_adapter(flux.clone())
        .expect("cluster");
    let service = service.with_registry(control::adapters::registry::ClusterRegistry::single(
        cluster,
    ));
    for tenant in ["team-a", "team-b"] {
        service
            .assign_namespace(admin, tenant, tenant)
            .await
            .expect("assign");
    }
    (service, flux)
}
