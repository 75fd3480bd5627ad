//! The Flux adapter's observability against the sandbox (simulated controllers running every
//! 50 ms): trace from any object to its source, inventory, sources with their artifacts,
//! source operations, events from both event APIs, YAML, stats and health.

mod cluster;
mod refs;

use cluster::flux_adapter as adapter;
use control::Error;
use control::access::Namespaces;
use control::adapters::flux::kinds::GIT_REPOSITORY;
use control::adapters::{DeploymentAdapter, Inventory, Stats, Toolkit};
use kube::api::{Api, DynamicObject, PostParams};
use model::deployment::DeploymentStatus;
use model::reference::{Family, ToolkitKind};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn trace_inventory_sources_and_events(pool: PgPool) {
    let (_sandbox, client, adapter) = adapter(pool, 3).await;
    adapter.health().await.expect("healthy");

    let inventory = adapter
        .inventory(&refs::ks("team-a", "shop"))
        .expect("inventory");
    assert!(
        inventory
            .iter()
            .any(|e| e.kind == "Deployment" && e.group == "apps" && e.name == "shop"),
        "{inventory:?}"
    );
    assert!(
        !adapter
            .inventory(&refs::hr("team-a", "podinfo"))
            .expect("inventory")
            .is_empty()
    );
    assert!(matches!(
        adapter.inventory(&refs::hr("team-a", "ghost")),
        Err(Error::NotFound { .. })
    ));

    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), "team-a");
    let labelled: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(json!({ "metadata": { "name": "shop-settings",
        "labels": { "kustomize.toolkit.fluxcd.io/name": "shop", "kustomize.toolkit.fluxcd.io/namespace": "team-a" } } }))
    .expect("config map");
    config_maps
        .create(&PostParams::default(), &labelled)
        .await
        .expect("create");
    let steps = adapter
        .trace(
            "v1",
            "ConfigMap",
            &refs::ns("team-a"),
            "shop-settings",
            &Namespaces::All,
        )
        .await
        .expect("trace");
    let path: Vec<(&str, &str, &str)> = steps
        .iter()
        .map(|s| (s.relation.as_str(), s.kind.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        path,
        vec![
            ("object", "ConfigMap", "shop-settings"),
            ("managed by", "Kustomization", "shop"),
            ("source", "GitRepository", "shop")
        ]
    );
    assert_eq!(steps[1].ready.as_deref(), Some("True"));
    assert!(
        steps[2]
            .revision
            .as_deref()
            .is_some_and(|r| r.starts_with("main@sha1:"))
    );
    // A label planted to point at another tenant's Kustomization ends the trace there: no
    // name, and nothing beyond it is read.
    let planted: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(json!({ "metadata": { "name": "planted",
        "labels": { "kustomize.toolkit.fluxcd.io/name": "shop", "kustomize.toolkit.fluxcd.io/namespace": "team-b" } } }))
    .expect("config map");
    config_maps
        .create(&PostParams::default(), &planted)
        .await
        .expect("create");
    let team_a = Namespaces::Only([refs::ns("team-a")].into());
    let stopped = adapter
        .trace("v1", "ConfigMap", &refs::ns("team-a"), "planted", &team_a)
        .await
        .expect("trace");
    assert_eq!(stopped.len(), 2, "{stopped:?}");
    assert_eq!(
        (
            stopped[1].kind.as_str(),
            stopped[1].namespace.as_str(),
            stopped[1].name.as_str()
        ),
        ("Kustomization", "", "")
    );
    assert!(
        stopped[1]
            .message
            .contains("outside the namespaces you can read")
    );
    let release = adapter
        .trace(
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            &refs::ns("team-a"),
            "podinfo",
            &Namespaces::All,
        )
        .await
        .expect("trace");
    assert_eq!(
        release.last().map(|s| (s.kind.as_str(), s.name.as_str())),
        Some(("HelmRepository", "podinfo"))
    );
    assert!(matches!(
        adapter
            .trace(
                "v1",
                "ConfigMap",
                &refs::ns("team-a"),
                "ghost",
                &Namespaces::All
            )
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        adapter
            .trace(
                "v1;rm -rf",
                "ConfigMap",
                &refs::ns("team-a"),
                "x",
                &Namespaces::All
            )
            .await,
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        adapter
            .trace(
                "example.com/v1",
                "Widget",
                &refs::ns("team-a"),
                "x",
                &Namespaces::All
            )
            .await,
        // A kind the cluster does not serve is named but not there, as an object would be.
        Err(Error::NotFound { kind: "kind", .. })
    ));

    let shop = refs::source("team-a", ToolkitKind::GitRepository, "shop");
    let fetched = adapter
        .reconcile_toolkit(&refs::w(), &shop)
        .await
        .expect("fetch");
    assert!(
        fetched.finished && fetched.message.starts_with("fetched"),
        "{fetched:?}"
    );
    assert!(
        fetched
            .revision
            .as_deref()
            .is_some_and(|r| r.starts_with("main@sha1:"))
    );
    adapter
        .set_toolkit_suspended(&refs::w(), &shop, true)
        .await
        .expect("suspend");
    let git: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "team-a", &GIT_REPOSITORY.api_resource());
    assert_eq!(
        git.get("shop").await.expect("get").data["spec"]["suspend"],
        true
    );
    adapter
        .set_toolkit_suspended(&refs::w(), &shop, false)
        .await
        .expect("resume");
    let ghost = refs::source("team-a", ToolkitKind::HelmRepository, "ghost");
    assert!(matches!(
        adapter
            .set_toolkit_suspended(&refs::w(), &ghost, true)
            .await,
        Err(Error::NotFound { .. })
    ));

    let sources = adapter.list_toolkit(Family::Sources, &Namespaces::All);
    let shop = sources
        .iter()
        .find(|s| s.kind == ToolkitKind::GitRepository && s.name == "shop")
        .expect("shop source");
    assert_eq!(
        (shop.ready.as_deref(), shop.url.as_str()),
        (Some("True"), "https://github.com/example/shop")
    );
    assert!(
        shop.revision
            .as_deref()
            .is_some_and(|r| r.starts_with("main@sha1:"))
    );
    assert!(
        sources
            .iter()
            .any(|s| s.kind == ToolkitKind::HelmRepository)
            && sources.iter().any(|s| s.kind == ToolkitKind::OciRepository)
    );
    assert!(
        adapter
            .list_toolkit(Family::Sources, &Namespaces::only_in_default(["team-b"]))
            .iter()
            .all(|s| s.namespace == "team-b")
    );

    // events.k8s.io/v1 events are read beside core/v1 ones.
    let modern: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), "team-a");
    let event: k8s_openapi::api::events::v1::Event = serde_json::from_value(json!({ "metadata": { "name": "podinfo.modern" },
        "eventTime": "2026-11-23T12:00:00.000000Z", "reportingController": "helm-controller", "reportingInstance": "helm-controller-0",
        "action": "Upgrade", "reason": "UpgradeSucceeded", "note": "from events.k8s.io", "type": "Normal",
        "regarding": { "kind": "HelmRelease", "name": "podinfo", "namespace": "team-a" } }))
    .expect("event");
    modern
        .create(&PostParams::default(), &event)
        .await
        .expect("create event");
    let events = adapter
        .events(&refs::hr("team-a", "podinfo"))
        .await
        .expect("events");
    assert!(
        events.iter().any(|e| e.message == "from events.k8s.io"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e.reason == "ReconciliationSucceeded"));

    let yaml = adapter
        .export_yaml(&refs::ks("team-a", "shop"))
        .await
        .expect("yaml");
    assert!(yaml.contains("kind: Kustomization") && !yaml.contains("status:"));
    let stats = adapter.stats(&Namespaces::All);
    assert!(
        stats
            .get(&("HelmRelease".to_owned(), DeploymentStatus::Failed))
            .is_some_and(|n| *n >= 1),
        "{stats:?}"
    );
}
