//! The Flux adapter's watch caches against the sandbox cluster with the demo's Flux objects:
//! lists, filters, visibility, pagination, get, following changes through the watch, and
//! recovering from API server restarts (resuming, or re-listing when the history is gone).

mod cluster;
mod refs;

use cluster::demo_cluster;
use control::access::Namespaces;
use control::adapters::flux::FluxCache;
use control::adapters::rows::CacheEvent;
use kube::api::{Api, DynamicObject, PostParams};
use kube::{Client, Config};
use model::deployment::{DeploymentFilter, DeploymentStatus};
use sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::time::Duration;

/// A Flux cache of `client`'s cluster once it has synced.
async fn synced_cache(client: &Client) -> FluxCache {
    let cache = FluxCache::start(client, model::reference::ClusterId::default(), "flux");
    cache
        .wait_until_ready(Duration::from_secs(10))
        .await
        .expect("ready");
    cache
}

/// The first page of everything in the cache.
fn everything(cache: &FluxCache) -> model::deployment::DeploymentPage {
    cache
        .list(&DeploymentFilter::default(), &Namespaces::All)
        .expect("list")
}

fn names(page: &model::deployment::DeploymentPage) -> Vec<String> {
    page.items
        .iter()
        .map(|d| format!("{}/{}", d.namespace, d.name))
        .collect()
}

#[tokio::test]
async fn lists_filters_and_pages_from_the_cache() {
    let (_sandbox, client) = demo_cluster(4).await;
    let cache = synced_cache(&client).await;

    let all = cache
        .list(&DeploymentFilter::default(), &Namespaces::All)
        .expect("list");
    assert_eq!(
        all.total, 9,
        "the demo's eight deployments and team-c's unassigned one"
    );
    assert_eq!(
        names(&all)[..3],
        [
            "platform/infrastructure",
            "platform/ingress-nginx",
            "team-a/payments"
        ]
    );

    let failed = cache
        .list(
            &DeploymentFilter {
                status: Some(DeploymentStatus::Failed),
                ..Default::default()
            },
            &Namespaces::All,
        )
        .expect("list");
    assert_eq!(names(&failed), ["team-a/payments"]);
    assert!(failed.items[0].state.message.contains("simulated failure"));

    let team_a = Namespaces::only_in_default(["team-a"]);
    let mine = cache
        .list(&DeploymentFilter::default(), &team_a)
        .expect("list");
    assert_eq!(
        names(&mine),
        ["team-a/payments", "team-a/podinfo", "team-a/shop"]
    );

    let page = cache
        .list(
            &DeploymentFilter {
                limit: Some(3),
                offset: Some(3),
                ..Default::default()
            },
            &Namespaces::All,
        )
        .expect("list");
    assert_eq!((page.items.len(), page.total), (3, 9));
    let kinds = cache
        .list(
            &DeploymentFilter {
                kind: Some("kustomization".into()),
                ..Default::default()
            },
            &Namespaces::All,
        )
        .expect("list");
    assert_eq!(kinds.total, 5);
    let text = cache
        .list(
            &DeploymentFilter {
                text: Some("PAYMENTS".into()),
                ..Default::default()
            },
            &Namespaces::All,
        )
        .expect("list");
    assert_eq!(names(&text), ["team-a/payments"]);
    let labelled = DeploymentFilter {
        labels: [("app.kubernetes.io/part-of".to_owned(), "demo".to_owned())].into(),
        ..Default::default()
    };
    assert_eq!(
        cache.list(&labelled, &Namespaces::All).expect("list").total,
        9
    );
    assert!(
        cache
            .list(
                &DeploymentFilter {
                    limit: Some(control::adapters::page::MAX_LIMIT + 1),
                    ..Default::default()
                },
                &Namespaces::All
            )
            .is_err()
    );

    let redis = cache.get(&refs::hr("team-b", "redis")).expect("redis");
    assert!(redis.state.suspended);
    let podinfo = cache.get(&refs::hr("team-a", "podinfo")).expect("podinfo");
    assert_eq!(podinfo.state.status, DeploymentStatus::Deployed);
    assert_eq!(podinfo.state.progress, 100);
    assert_eq!(
        (podinfo.chart.as_deref(), podinfo.source.as_deref()),
        (Some("podinfo"), Some("HelmRepository/podinfo"))
    );
    assert_eq!(podinfo.revision.as_deref(), Some("6.7.1"));
    let shop = cache.get(&refs::ks("team-a", "shop")).expect("shop");
    assert!(shop.revision.expect("revision").starts_with("main@sha1:"));
    assert!(cache.get(&refs::hr("team-a", "nothing")).is_none());

    let stats = cache.stats(&Namespaces::All);
    assert_eq!(
        stats.get(&("HelmRelease".to_owned(), DeploymentStatus::Failed)),
        Some(&1)
    );
    assert_eq!(stats.values().sum::<usize>(), 9);
    assert_eq!(cache.stats(&team_a).values().sum::<usize>(), 3);
}

#[tokio::test]
async fn health_needs_the_flux_crds() {
    let (_sandbox, client) = demo_cluster(4).await;
    control::adapters::flux::health::check(&client)
        .await
        .expect("healthy with the Flux CRDs");
    let bare = Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox");
    let bare_client =
        Client::try_from(Config::new(bare.url().parse().expect("url"))).expect("client");
    let error = control::adapters::flux::health::check(&bare_client)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "flux adapter not healthy: CRD helmreleases.helm.toolkit.fluxcd.io not found"
    );
}

#[tokio::test]
async fn the_cache_follows_the_watch() {
    let (_sandbox, client) = demo_cluster(4).await;
    let cache = synced_cache(&client).await;
    let kind = control::adapters::flux::kinds::HELM_RELEASE;
    let releases: Api<DynamicObject> = Api::namespaced_with(client, "team-a", &kind.api_resource());
    let release: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": { "name": "late" },
        "spec": { "interval": "5m", "chart": { "spec": { "chart": "late", "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } } } }
    }))
    .expect("object");
    releases
        .create(&PostParams::default(), &release)
        .await
        .expect("create");
    for _ in 0..100 {
        if cache.get(&refs::hr("team-a", "late")).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let late = cache
        .get(&refs::hr("team-a", "late"))
        .expect("the new release reached the cache");
    assert_eq!(late.state.status, DeploymentStatus::Pending);
}

/// The next change on the bus about `name`, within a few seconds.
async fn next_about(
    bus: &mut tokio::sync::broadcast::Receiver<CacheEvent>,
    name: &str,
) -> CacheEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, bus.recv())
            .await
            .unwrap_or_else(|_| panic!("no change about {name} reached the bus"))
            .expect("bus open");
        let about = match &event {
            CacheEvent::Upserted(row) => row.name.clone(),
            CacheEvent::Deleted(reference) => reference.name().to_owned(),
            CacheEvent::Toolkit(object) => object.name.clone(),
            CacheEvent::ToolkitDeleted(reference) => reference.name.clone(),
        };
        if about == name {
            return event;
        }
    }
}

#[tokio::test]
async fn the_bus_delivers_adds_changes_and_deletes() {
    let (_sandbox, client) = demo_cluster(2).await;
    let cache = synced_cache(&client).await;
    let mut bus = cache.subscribe();
    let kind = control::adapters::flux::kinds::KUSTOMIZATION;
    let api: Api<DynamicObject> = Api::namespaced_with(client, "team-a", &kind.api_resource());
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": { "name": "bus" },
        "spec": { "interval": "5m", "path": "./bus", "prune": true, "sourceRef": { "kind": "GitRepository", "name": "shop" } }
    }))
    .expect("object");
    api.create(&PostParams::default(), &object)
        .await
        .expect("create");
    match next_about(&mut bus, "bus").await {
        CacheEvent::Upserted(row) => {
            assert_eq!(row.id, "default~team-a~Kustomization~bus");
            assert!(!row.state.suspended);
        }
        other => panic!("expected an add, got {other:?}"),
    }

    api.patch(
        "bus",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({ "spec": { "suspend": true } })),
    )
    .await
    .expect("patch");
    match next_about(&mut bus, "bus").await {
        CacheEvent::Upserted(row) => assert!(row.state.suspended, "{row:?}"),
        other => panic!("expected a change, got {other:?}"),
    }
    assert!(
        cache
            .get(&refs::ks("team-a", "bus"))
            .expect("row")
            .state
            .suspended
    );

    api.delete("bus", &Default::default())
        .await
        .expect("delete");
    assert_eq!(
        next_about(&mut bus, "bus").await,
        CacheEvent::Deleted(refs::ks("team-a", "bus"))
    );
    assert!(
        cache.get(&refs::ks("team-a", "bus")).is_none(),
        "a deleted object leaves the rows"
    );
}

/// Polls `check` every 20 ms for up to `limit` (a generous bound on a condition, never the
/// thing tested); true once it holds.
async fn eventually(limit: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// Suspends team-a/podinfo straight in the store, as a write the cache cannot see happen.
fn suspend_podinfo(sandbox: &Sandbox) {
    let store = sandbox.store();
    let rt = store
        .resource("helm.toolkit.fluxcd.io", "v2", "helmreleases")
        .expect("resource");
    let mut object = store.get(&rt, Some("team-a"), "podinfo").expect("podinfo");
    object["spec"]["suspend"] = json!(true);
    let options = sandbox::store::WriteOptions::by("test");
    store
        .update(&rt, Some("team-a"), "podinfo", object, options)
        .expect("update");
}

#[tokio::test]
async fn after_an_api_server_restart_pages_say_as_of_until_the_watches_resume() {
    let (sandbox, client) = demo_cluster(2).await;
    let cache = synced_cache(&client).await;
    let page = || everything(&cache);
    assert_eq!(page().as_of, None, "a synced cache is current");
    assert!(
        eventually(Duration::from_secs(30), || {
            let counts = sandbox.request_counts();
            counts.watches == counts.lists
        })
        .await,
        "every kind listed once, then watched"
    );
    let before = sandbox.request_counts();

    sandbox.restart(Duration::from_millis(1500), false);
    assert!(
        eventually(Duration::from_secs(30), || page().as_of.is_some()).await,
        "while the API server is down, pages say how old their rows are"
    );
    assert_eq!(
        page().total,
        9,
        "the rows stay while the watches are cut off"
    );
    suspend_podinfo(&sandbox);

    assert!(
        eventually(Duration::from_secs(60), || page().as_of.is_none()).await,
        "once the watches are back, the pages are current again"
    );
    assert!(
        eventually(Duration::from_secs(30), || cache
            .get(&refs::hr("team-a", "podinfo"))
            .is_some_and(|row| row.state.suspended))
        .await,
        "the change made while the watches were cut off arrived when they resumed"
    );
    let after = sandbox.request_counts();
    assert_eq!(
        after.lists, before.lists,
        "the watches resumed from their last resourceVersion, without listing again"
    );
    assert!(after.watches > before.watches, "{before:?} → {after:?}");
}

#[tokio::test]
async fn when_the_history_is_gone_the_cache_relists_and_keeps_its_rows_meanwhile() {
    let (sandbox, client) = demo_cluster(2).await;
    let cache = synced_cache(&client).await;
    let page = || everything(&cache);
    let before = sandbox.request_counts();

    sandbox.restart(Duration::from_millis(1000), true);
    assert!(
        eventually(Duration::from_secs(30), || page().as_of.is_some()).await,
        "stale while the API server is down"
    );
    suspend_podinfo(&sandbox);
    assert_eq!(
        page().total,
        9,
        "no half-empty page while the cache is behind"
    );

    assert!(
        eventually(Duration::from_secs(60), || page().as_of.is_none()).await,
        "current again after the re-list"
    );
    assert!(
        cache
            .get(&refs::hr("team-a", "podinfo"))
            .is_some_and(|row| row.state.suspended),
        "the re-list brought the change"
    );
    assert_eq!(page().total, 9);
    let after = sandbox.request_counts();
    assert!(
        after.lists > before.lists,
        "a compacted history means listing again: {before:?} → {after:?}"
    );
}
