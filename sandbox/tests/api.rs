//! The sandbox through a real `kube::Client` over HTTP: every verb, the conflict case,
//! selectors and pagination, the status subresource, patches, watch resume and 410 Gone,
//! namespace deletion, and a runtime reflector.

mod support;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use sandbox::SandboxOptions;
use serde_json::json;
use support::{api_error, configmap, start};

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
async fn delete_collection_takes_only_what_the_selector_names() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for (name, team) in [("a", "red"), ("b", "red"), ("c", "blue")] {
        cms.create(
            &PostParams::default(),
            &configmap(name, json!({ "team": team })),
        )
        .await
        .unwrap();
    }
    cms.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("team=red"),
    )
    .await
    .unwrap();
    let left: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(left, ["c"]);
}
