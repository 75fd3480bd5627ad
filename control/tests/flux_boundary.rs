//! Writes that follow references stay inside the tenant's boundary, and are checked before
//! anything is written: a rollback whose owner labels point at another tenant applies
//! nothing, and pins and source reconciles across namespaces are refused.

mod cluster;
mod refs;

use cluster::flux_adapter as adapter;
use control::adapters::DeploymentAdapter;
use control::adapters::context::Boundary;
use control::adapters::flux::kinds::{GIT_REPOSITORY, HELM_RELEASE, KUSTOMIZATION};
use kube::api::{Api, DynamicObject, PostParams};
use kube::{Client, ResourceExt};
use model::deployment::{DeploymentRequest, DeploymentUpdate, ReconcileRequest};
use serde_json::{Value, json};
use sqlx::PgPool;

fn team_a_only() -> control::adapters::context::WriteCtx {
    refs::w().with_boundary(Boundary::Tenant {
        tenant: "team-a".into(),
        namespaces: [refs::ns("team-a")].into(),
        shared_sources: Default::default(),
    })
}

async fn object(
    client: &Client,
    kind: control::adapters::flux::kinds::FluxKind,
    ns: &str,
    name: &str,
) -> DynamicObject {
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, &kind.api_resource())
        .get(name)
        .await
        .expect("object")
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn reference_following_writes_stay_inside_the_tenant(pool: PgPool) {
    let (_sandbox, client, adapter) = adapter(pool, 2).await;

    // A release whose labels claim team-b's Kustomization applies it.
    let request: DeploymentRequest = serde_json::from_value(json!({
        "name": "planted", "namespace": "team-a", "values": { "replicaCount": 1 },
        "labels": { "kustomize.toolkit.fluxcd.io/name": "analytics", "kustomize.toolkit.fluxcd.io/namespace": "team-b" },
        "extensions": { "flux.chart": "podinfo", "flux.sourceRef": "podinfo", "flux.chartVersion": "6.0.0" } }))
    .expect("request");
    refs::create(&adapter, &request).await.expect("create");
    let planted = refs::hr("team-a", "planted");
    adapter
        .reconcile(&refs::w(), &planted, ReconcileRequest::default())
        .await
        .expect("reconcile");
    let update = DeploymentUpdate {
        extensions: [("flux.chartVersion".to_owned(), json!("6.1.0"))].into(),
        ..DeploymentUpdate::default()
    };
    adapter
        .update(&refs::w(), &planted, &update)
        .await
        .expect("update");
    adapter
        .reconcile(&refs::w(), &planted, ReconcileRequest::default())
        .await
        .expect("reconcile");
    let before = object(&client, HELM_RELEASE, "team-a", "planted").await;

    let refused = adapter
        .rollback(&team_a_only(), &planted, 0)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 403, "{refused}");
    assert!(
        refused.to_string().contains("team-b") && refused.to_string().contains("team-a"),
        "{refused}"
    );
    let after = object(&client, HELM_RELEASE, "team-a", "planted").await;
    assert_eq!(
        after.data["spec"]["chart"]["spec"]["version"], "6.1.0",
        "the release was not rolled back halfway"
    );
    assert_eq!(after.resource_version(), before.resource_version());
    let theirs = object(&client, KUSTOMIZATION, "team-b", "analytics").await;
    assert_ne!(theirs.data["spec"]["suspend"], Value::Bool(true));

    // A Kustomization reading team-b's source: pinning and fetching it are refused.
    let crossing: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": { "name": "crossing", "namespace": "team-a" },
        "spec": { "interval": "5m", "path": "./x", "prune": true,
                  "sourceRef": { "kind": "GitRepository", "name": "analytics", "namespace": "team-b" } } }))
    .expect("object");
    Api::<DynamicObject>::namespaced_with(client.clone(), "team-a", &KUSTOMIZATION.api_resource())
        .create(&PostParams::default(), &crossing)
        .await
        .expect("create");
    let source_before = object(&client, GIT_REPOSITORY, "team-b", "analytics").await;
    for _ in 0..100 {
        if adapter.get(&refs::ks("team-a", "crossing")).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let pin = DeploymentUpdate {
        extensions: [(
            "flux.targetRevision".to_owned(),
            json!("0123456789abcdef0123456789abcdef01234567"),
        )]
        .into(),
        ..DeploymentUpdate::default()
    };
    let refused = adapter
        .update(&team_a_only(), &refs::ks("team-a", "crossing"), &pin)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 403, "{refused}");
    assert!(refused.to_string().contains("flux.sourceRef"), "{refused}");
    let with_source = ReconcileRequest {
        with_source: true,
        no_wait: true,
        ..ReconcileRequest::default()
    };
    let refused = adapter
        .reconcile(&team_a_only(), &refs::ks("team-a", "crossing"), with_source)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 403, "{refused}");
    let source_after = object(&client, GIT_REPOSITORY, "team-b", "analytics").await;
    assert_eq!(
        source_after.resource_version(),
        source_before.resource_version(),
        "team-b's source is untouched"
    );
    let mine = object(&client, KUSTOMIZATION, "team-a", "crossing").await;
    assert!(
        !mine
            .annotations()
            .contains_key("reconcile.fluxcd.io/requestedAt"),
        "the refused reconcile wrote nothing"
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_refusal_by_the_api_server_is_a_403_with_its_message(pool: PgPool) {
    let sandbox = sandbox::Sandbox::start(sandbox::SandboxOptions {
        crds: vec![sandbox::vendored_crds()],
        token: Some("admin".into()),
        read_only_token: Some("viewer".into()),
        ..sandbox::SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    sandbox::demo::seed_and_settle(sandbox.store(), 2).expect("demo data");
    let mut config = kube::Config::new(sandbox.url().parse().expect("url"));
    config.auth_info.token = Some("viewer".to_owned().into());
    let connection = control::adapters::registry::ClusterConnection::new(
        model::reference::ClusterId::default(),
        config,
    )
    .map(std::sync::Arc::new)
    .expect("connection");
    let adapter = control::adapters::flux::FluxAdapter::new(
        &connection,
        control::adapters::flux::FluxConfig::default(),
        control::store::records::spec_record(&pool),
    )
    .expect("adapter");
    adapter
        .cache()
        .wait_until_ready(std::time::Duration::from_secs(10))
        .await
        .expect("a read-only identity still lists and watches");
    let refused = adapter
        .set_suspended(&refs::w(), &refs::hr("team-a", "podinfo"), true, None)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 403, "{refused}");
    assert!(
        refused.to_string().contains("may only get, list and watch"),
        "the API server's own words reach the user: {refused}"
    );
}
