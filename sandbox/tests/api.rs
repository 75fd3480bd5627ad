//! The sandbox through a real `kube::Client` over HTTP: every verb, the conflict case,
//! selectors and pagination, the status subresource, patches, watch resume and 410 Gone,
//! CRD schema rejection with the genuine Flux CRDs, namespace deletion, auth and impersonation.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::path::PathBuf;

fn flux_crds() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/flux-crds")
}

async fn start(options: SandboxOptions) -> (Sandbox, Client) {
    let sandbox = Sandbox::start(options).await.unwrap();
    let mut config = Config::new(sandbox.url().parse().unwrap());
    config.default_namespace = "default".into();
    (sandbox, Client::try_from(config).unwrap())
}

fn configmap(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({ "metadata": { "name": name, "labels": labels }, "data": { "k": "v" } }),
    )
    .unwrap()
}

fn api_error(error: kube::Error) -> kube::core::Status {
    match error {
        kube::Error::Api(response) => *response,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_get_update_conflict_patch_delete() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = cms
        .create(&PostParams::default(), &configmap("web", json!({})))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());

    let again = api_error(
        cms.create(&PostParams::default(), &configmap("web", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));

    let mut fresh = cms.get("web").await.unwrap();
    fresh.data = Some([("k".to_owned(), "v2".to_owned())].into());
    let updated = cms
        .replace("web", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version.as_deref(),
        Some(rv.as_str())
    );

    // The stale copy still carries the old resourceVersion.
    let mut stale = created.clone();
    stale.data = Some([("k".to_owned(), "lost".to_owned())].into());
    let conflict = api_error(
        cms.replace("web", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));

    let merged = cms
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": { "extra": "1" } })),
        )
        .await
        .unwrap();
    assert_eq!(merged.data.unwrap().len(), 2);
    let json_patched = cms
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::<()>::Json(
                serde_json::from_value(json!([{ "op": "remove", "path": "/data/extra" }])).unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(json_patched.data.unwrap().len(), 1);

    let generated: ConfigMap =
        serde_json::from_value(json!({ "metadata": { "generateName": "job-" } })).unwrap();
    let generated = cms
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    assert!(generated.metadata.name.unwrap().starts_with("job-"));

    cms.delete("web", &DeleteParams::default()).await.unwrap();
    let gone = api_error(cms.get("web").await.unwrap_err());
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    assert_eq!(gone.message, "configmaps \"web\" not found");

    let missing_ns: Api<ConfigMap> = Api::namespaced(cms.clone().into_client(), "nowhere");
    let refused = api_error(
        missing_ns
            .create(&PostParams::default(), &configmap("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 404);
}

#[tokio::test]
async fn selectors_and_pagination() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..7 {
        let tier = if i % 2 == 0 { "front" } else { "back" };
        cms.create(
            &PostParams::default(),
            &configmap(
                &format!("cm-{i}"),
                json!({ "app": "shop", "tier": tier, "n": i.to_string() }),
            ),
        )
        .await
        .unwrap();
    }
    let names = |list: kube::core::ObjectList<ConfigMap>| {
        list.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("tier=front"))
                .await
                .unwrap()
        )
        .len(),
        4
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("tier!=front,app=shop"))
                .await
                .unwrap()
        )
        .len(),
        3
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("n in (1,2,9)"))
                .await
                .unwrap()
        ),
        ["cm-1", "cm-2"]
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("n notin (0,1,2,3,4,5)"))
                .await
                .unwrap()
        ),
        ["cm-6"]
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("!tier"))
                .await
                .unwrap()
        )
        .len(),
        0
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().fields("metadata.name=cm-3"))
                .await
                .unwrap()
        ),
        ["cm-3"]
    );
    let bad = api_error(
        cms.list(&ListParams::default().fields("spec.x=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(bad.code, 400);

    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(3);
    loop {
        let page = cms.list(&params).await.unwrap();
        let token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
        if token.is_some() {
            assert!(page.metadata.remaining_item_count.unwrap() > 0);
        }
        seen.extend(names(page));
        match token {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("cm-{i}")).collect::<Vec<_>>());

    let all: Api<ConfigMap> = Api::all(client);
    assert_eq!(
        all.list(&ListParams::default().labels("app=shop"))
            .await
            .unwrap()
            .items
            .len(),
        7
    );
}

#[tokio::test]
async fn status_is_written_separately_and_generation_follows_the_spec() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "replicas": 1, "selector": { "matchLabels": { "app": "web" } },
                  "template": { "metadata": { "labels": { "app": "web" } }, "spec": { "containers": [{ "name": "web", "image": "nginx:1" }] } } },
        "status": { "replicas": 99 }
    }))
    .unwrap();
    let created = deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.status.is_none(), "status cannot be set on create");

    let status = deployments
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "readyReplicas": 1 } })),
        )
        .await
        .unwrap();
    assert_eq!(status.status.unwrap().ready_replicas, Some(1));
    assert_eq!(
        status.metadata.generation,
        Some(1),
        "status writes do not bump the generation"
    );

    let scaled = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "replicas": 3 }, "status": { "readyReplicas": 7 } })),
        )
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));
    assert_eq!(
        scaled.status.unwrap().ready_replicas,
        Some(1),
        "the main resource cannot change status"
    );

    let strategic = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({ "spec": { "template": { "spec": { "containers": [{ "name": "web", "image": "nginx:2" }] } } } })))
        .await
        .unwrap();
    assert_eq!(
        strategic.spec.template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("nginx:2")
    );
}

#[tokio::test]
async fn server_side_apply_creates_then_updates_under_its_field_manager() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let params = PatchParams::apply("pilothouse").force();
    let applied = cms.patch("settings", &params, &Patch::Apply(json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "settings" }, "data": { "a": "1" } }))).await.unwrap();
    assert_eq!(applied.data.unwrap()["a"], "1");
    let again = cms.patch("settings", &params, &Patch::Apply(json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "settings" }, "data": { "a": "2" } }))).await.unwrap();
    assert_eq!(again.data.unwrap()["a"], "2");
    let managers: Vec<String> = again
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"pilothouse".to_owned()), "{managers:?}");
}

#[tokio::test]
async fn watches_resume_from_a_resource_version_and_old_ones_are_gone() {
    let (_sandbox, client) = start(SandboxOptions {
        history: 20,
        ..SandboxOptions::default()
    })
    .await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let first = cms
        .create(
            &PostParams::default(),
            &configmap("a", json!({ "w": "yes" })),
        )
        .await
        .unwrap();
    let from = first.metadata.resource_version.unwrap();
    cms.create(
        &PostParams::default(),
        &configmap("b", json!({ "w": "yes" })),
    )
    .await
    .unwrap();
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "k": "changed" } })),
    )
    .await
    .unwrap();
    cms.delete("b", &DeleteParams::default()).await.unwrap();

    let params = WatchParams::default().labels("w=yes").timeout(3);
    let events: Vec<WatchEvent<ConfigMap>> = cms
        .watch(&params, &from)
        .await
        .unwrap()
        .take(3)
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<(&str, String)> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(o) => ("ADDED", o.metadata.name.clone().unwrap()),
            WatchEvent::Modified(o) => ("MODIFIED", o.metadata.name.clone().unwrap()),
            WatchEvent::Deleted(o) => ("DELETED", o.metadata.name.clone().unwrap()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("ADDED", "b".into()),
            ("MODIFIED", "a".into()),
            ("DELETED", "b".into())
        ]
    );

    // Live events arrive too, and bookmarks when asked for.
    let now = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let live = cms
        .watch(&WatchParams::default().timeout(3), &now)
        .await
        .unwrap();
    cms.create(&PostParams::default(), &configmap("c", json!({})))
        .await
        .unwrap();
    let live: Vec<WatchEvent<ConfigMap>> = live.take(2).try_collect().await.unwrap();
    assert!(
        live.iter().any(|e| matches!(e, WatchEvent::Bookmark(_))),
        "{live:?}"
    );
    assert!(
        live.iter()
            .any(|e| matches!(e, WatchEvent::Added(o) if o.metadata.name.as_deref() == Some("c"))),
        "{live:?}"
    );

    for i in 0..30 {
        cms.create(
            &PostParams::default(),
            &configmap(&format!("churn-{i}"), json!({})),
        )
        .await
        .unwrap();
    }
    let expired: Vec<WatchEvent<ConfigMap>> = cms
        .watch(&WatchParams::default().timeout(3), &from)
        .await
        .unwrap()
        .take(1)
        .try_collect()
        .await
        .unwrap();
    match &expired[0] {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test]
async fn the_runtime_watcher_keeps_a_reflector_in_step() {
    use kube::runtime::{WatchStreamExt, reflector, watcher};
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(&PostParams::default(), &configmap("before", json!({})))
        .await
        .unwrap();
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream =
        reflector(writer, watcher(cms.clone(), watcher::Config::default())).applied_objects();
    let task = tokio::spawn(stream.for_each(|_| async {}));
    reader.wait_until_ready().await.unwrap();
    cms.create(&PostParams::default(), &configmap("after", json!({})))
        .await
        .unwrap();
    for _ in 0..50 {
        if reader.state().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut names: Vec<String> = reader
        .state()
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["after", "before"]);
    task.abort();
}

#[tokio::test]
async fn flux_crds_are_served_and_their_schemas_enforced() {
    let (_sandbox, client) = start(SandboxOptions {
        crds: vec![flux_crds()],
        ..SandboxOptions::default()
    })
    .await;
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let group = discovery
        .groups()
        .find(|g| g.name() == "helm.toolkit.fluxcd.io")
        .expect("the Flux helm group is served");
    assert!(group.recommended_kind("HelmRelease").is_some());

    let gvk = GroupVersionKind::gvk("helm.toolkit.fluxcd.io", "v2", "HelmRelease");
    let releases: Api<DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "helmreleases"),
    );
    let valid: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": { "name": "podinfo" },
        "spec": { "interval": "5m", "chart": { "spec": { "chart": "podinfo", "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } } },
                  "values": { "replicaCount": 2 } }
    }))
    .unwrap();
    let created = releases
        .create(&PostParams::default(), &valid)
        .await
        .unwrap();
    assert_eq!(
        created.data["spec"]["values"]["replicaCount"], 2,
        "values are preserved"
    );

    let invalid: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": { "name": "broken" },
        "spec": { "interval": 300, "chart": { "spec": { "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } } } }
    }))
    .unwrap();
    let refused = api_error(
        releases
            .create(&PostParams::default(), &invalid)
            .await
            .unwrap_err(),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert!(
        refused.message.contains("spec.interval"),
        "{}",
        refused.message
    );
    assert!(
        refused
            .message
            .contains("spec.chart.spec.chart: Required value"),
        "{}",
        refused.message
    );

    let strict = PostParams {
        field_manager: None,
        dry_run: false,
    };
    let mut unknown = valid.clone();
    unknown.metadata.name = Some("extra".into());
    unknown.data["spec"]["notAField"] = json!(true);
    let pruned = releases.create(&strict, &unknown).await.unwrap();
    assert!(
        pruned.data["spec"].get("notAField").is_none(),
        "unknown fields are pruned"
    );
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_contents() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "team-a" } })).unwrap(),
        )
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "team-a");
    cms.create(&PostParams::default(), &configmap("x", json!({})))
        .await
        .unwrap();
    namespaces
        .delete("team-a", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_error(cms.get("x").await.unwrap_err()).code, 404);
    let all_cms: Api<ConfigMap> = Api::all(cms.into_client());
    assert!(
        all_cms
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn tokens_are_required_when_set_and_impersonation_is_recorded() {
    let sandbox = Sandbox::start(SandboxOptions {
        token: Some("s3cret".into()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let mut config = Config::new(sandbox.url().parse().unwrap());
    let anonymous = Client::try_from(config.clone()).unwrap();
    let refused = api_error(
        Api::<ConfigMap>::namespaced(anonymous, "default")
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 401);

    config.auth_info.token = Some("s3cret".to_owned().into());
    config.auth_info.impersonate = Some("alice".into());
    config.auth_info.impersonate_groups = Some(vec!["team-a".into()]);
    let client = Client::try_from(config).unwrap();
    Api::<ConfigMap>::namespaced(client, "default")
        .list(&ListParams::default())
        .await
        .unwrap();
    let seen = sandbox.impersonations();
    assert_eq!(
        seen.last().map(|i| (i.user.as_str(), i.groups.clone())),
        Some(("alice", vec!["team-a".to_owned()]))
    );
}

#[tokio::test]
async fn aggregated_discovery_lists_groups_and_resources() {
    let (_sandbox, client) = start(SandboxOptions {
        crds: vec![flux_crds()],
        ..SandboxOptions::default()
    })
    .await;
    let request = |path: &str| {
        http::Request::get(path)
            .header("accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
            .body(Vec::new())
            .unwrap()
    };
    let apis: serde_json::Value = client.request(request("/apis")).await.unwrap();
    assert_eq!(apis["kind"], "APIGroupDiscoveryList");
    let helm = apis["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "helm.toolkit.fluxcd.io")
        .unwrap();
    let resource = &helm["versions"][0]["resources"][0];
    assert_eq!(
        (resource["resource"].as_str(), resource["scope"].as_str()),
        (Some("helmreleases"), Some("Namespaced"))
    );
    assert_eq!(resource["subresources"][0]["subresource"], "status");
    let core: serde_json::Value = client.request(request("/api")).await.unwrap();
    let core_resources = core["items"][0]["versions"][0]["resources"]
        .as_array()
        .unwrap();
    assert!(core_resources.iter().any(|r| r["resource"] == "secrets"));
    // Without the aggregated Accept header, the legacy documents.
    let legacy: serde_json::Value = client
        .request(http::Request::get("/apis").body(Vec::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(legacy["kind"], "APIGroupList");
}
