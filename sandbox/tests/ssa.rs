//! Server-side apply's field ownership and the API server's answers to deletes, as the API
//! conventions and kube-apiserver give them: conflicts between managers (409 with the
//! FieldManagerConflict causes), force moving ownership, shared ownership of equal values,
//! updates taking what they change, applies dropping what their manager stopped applying,
//! an apply without a field manager (422), and what DELETE returns.

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::ApiResource;
use sandbox::SandboxOptions;
use serde_json::{Value, json};
use support::{api_error, start};

fn apply(manager: &str) -> PatchParams {
    PatchParams::apply(manager)
}

fn cm(data: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "owned" }, "data": data })
}

/// The managers and the fields each owns, from managedFields.
fn owners(object: &ConfigMap) -> Vec<(String, String, Value)> {
    object
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
                serde_json::to_value(m.fields_v1).unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_second_manager_conflicts_unless_it_forces() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    maps.patch(
        "owned",
        &apply("first"),
        &Patch::Apply(cm(json!({ "key": "a", "other": "x" }))),
    )
    .await
    .unwrap();

    let refused = api_error(
        maps.patch(
            "owned",
            &apply("second"),
            &Patch::Apply(cm(json!({ "key": "b" }))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (409, "Conflict"));
    assert!(
        refused.message.contains("conflict with \"first\""),
        "{}",
        refused.message
    );
    let causes = refused.details.expect("details").causes;
    assert_eq!(causes.len(), 1, "{causes:?}");
    assert_eq!(causes[0].reason, "FieldManagerConflict");
    assert_eq!(causes[0].field, ".data.key");
    assert!(causes[0].message.contains("\"first\""), "{:?}", causes[0]);
    assert_eq!(
        maps.get("owned").await.unwrap().data.unwrap()["key"],
        "a",
        "nothing changed"
    );

    // The same value is shared, not a conflict.
    maps.patch(
        "owned",
        &apply("second"),
        &Patch::Apply(cm(json!({ "key": "a" }))),
    )
    .await
    .expect("equal values are shared");

    let forced = maps
        .patch(
            "owned",
            &apply("second").force(),
            &Patch::Apply(cm(json!({ "key": "b" }))),
        )
        .await
        .expect("force takes the field over");
    assert_eq!(forced.data.clone().unwrap()["key"], "b");
    let owned = owners(&forced);
    let first = owned
        .iter()
        .find(|(m, _, _)| m == "first")
        .expect("first keeps other");
    assert_eq!(first.2, json!({ "f:data": { "f:other": {} } }), "{owned:?}");
    let second = owned
        .iter()
        .find(|(m, _, _)| m == "second")
        .expect("second");
    assert_eq!(
        (second.1.as_str(), &second.2),
        ("Apply", &json!({ "f:data": { "f:key": {} } }))
    );

    // An update takes what it changes, silently.
    let updated = maps
        .patch(
            "owned",
            &PatchParams {
                field_manager: Some("editor".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({ "data": { "key": "c" } })),
        )
        .await
        .expect("an update never conflicts");
    let owned = owners(&updated);
    assert!(
        owned.iter().any(|(m, op, f)| m == "editor"
            && op == "Update"
            && *f == json!({ "f:data": { "f:key": {} } })),
        "{owned:?}"
    );
    assert!(
        !owned.iter().any(|(m, _, _)| m == "second"),
        "second lost its only field: {owned:?}"
    );
}

#[tokio::test]
async fn an_apply_drops_what_its_manager_stopped_applying() {
    let (_sandbox, client) = start(SandboxOptions::default()).await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    maps.patch(
        "owned",
        &apply("me"),
        &Patch::Apply(cm(json!({ "keep": "1", "drop": "2" }))),
    )
    .await
    .unwrap();
    let after = maps
        .patch(
            "owned",
            &apply("me"),
            &Patch::Apply(cm(json!({ "keep": "1" }))),
        )
        .await
        .unwrap();
    let data = after.data.unwrap();
    assert_eq!(data.get("keep").map(String::as_str), Some("1"));
    assert!(!data.contains_key("drop"), "{data:?}");
}

#[tokio::test]
async fn an_apply_without_a_field_manager_is_invalid() {
    let (sandbox, client) = start(SandboxOptions::default()).await;
    let request = http::Request::patch(format!(
        "{}/api/v1/namespaces/default/configmaps/x",
        sandbox.url().trim_end_matches('/')
    ))
    .header("Content-Type", "application/apply-patch+yaml")
    .body(serde_json::to_vec(&cm(json!({ "k": "v" }))).unwrap())
    .unwrap();
    let refused = api_error(client.request_text(request).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert!(
        refused.message.contains("fieldManager"),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn deletes_answer_as_kube_apiserver_does() {
    let options = SandboxOptions {
        crds: vec![support::flux_crds()],
        ..SandboxOptions::default()
    };
    let (_sandbox, client) = start(options).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "doomed" } })).unwrap(),
        )
        .await
        .unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    maps.patch(
        "inside",
        &apply("me"),
        &Patch::Apply(
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "inside" } }),
        ),
    )
    .await
    .unwrap();

    // A built-in object deleted at once: a Status naming it.
    maps.patch(
        "second",
        &apply("me"),
        &Patch::Apply(
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "second" } }),
        ),
    )
    .await
    .unwrap();
    let status = maps
        .delete("second", &DeleteParams::default())
        .await
        .unwrap()
        .right()
        .expect("a Status, not the object");
    assert!(status.is_success(), "{status:?}");
    let details = status.details.expect("details");
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("second", "configmaps")
    );

    // A custom resource comes back as the object.
    let resource = ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    );
    let repos: Api<DynamicObject> = Api::namespaced_with(client.clone(), "doomed", &resource);
    repos
        .patch("repo", &apply("me"), &Patch::Apply(json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": { "name": "repo" }, "spec": { "interval": "5m", "url": "https://example.test/repo" } })))
        .await
        .unwrap();
    let object = repos
        .delete("repo", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("the deleted object");
    assert_eq!(object.metadata.name.as_deref(), Some("repo"));

    // A namespace is Terminating in the answer, and gone with its contents.
    let terminating = namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("the namespace");
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    assert!(namespaces.get_opt("doomed").await.unwrap().is_none());
    assert!(maps.get_opt("inside").await.unwrap().is_none());
}
