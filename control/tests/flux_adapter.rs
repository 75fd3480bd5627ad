//! The Flux adapter end to end against the sandbox (genuine Flux CRDs, simulated controllers
//! running every 50 ms) and a real Postgres for its record of applied specs: reconcile and
//! wait, force/reset, rollback of both kinds, source pinning.

mod cluster;
mod refs;

use cluster::flux_adapter as adapter;
use control::Error;
use control::adapters::DeploymentAdapter;
use control::adapters::flux::adapter::{FORCE_AT, PINNED_FROM, RESET_AT};
use control::adapters::flux::kinds::{
    GIT_REPOSITORY, HELM_RELEASE, HELM_REPOSITORY, KUSTOMIZATION,
};
use control::adapters::flux::writes::REQUESTED_AT;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::{Client, ResourceExt};
use model::deployment::{DeploymentRequest, DeploymentStatus, DeploymentUpdate, ReconcileRequest};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::Duration;

fn api(client: &Client, kind: control::adapters::flux::kinds::FluxKind) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), "team-a", &kind.api_resource())
}

fn values(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// Waits (up to 10 s) until `check` holds for the object as the API server has it.
async fn eventually(
    api: &Api<DynamicObject>,
    name: &str,
    check: impl Fn(&DynamicObject) -> bool,
) -> DynamicObject {
    for _ in 0..200 {
        let object = api.get(name).await.expect("get");
        if check(&object) {
            return object;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} never reached the expected state");
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn helm_release_reconcile_and_rollback(pool: PgPool) {
    let (_sandbox, client, adapter) = adapter(pool, 2).await;
    let request: DeploymentRequest = serde_json::from_value(json!({
        "name": "web", "namespace": "team-a", "values": { "replicaCount": 1 },
        "extensions": { "flux.chart": "podinfo", "flux.sourceRef": "nope", "flux.chartVersion": "6.0.0" } }))
    .expect("request");
    let missing = refs::create(&adapter, &request).await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        "invalid flux.sourceRef: HelmRepository team-a/nope not found; create the source first or name an existing one"
    );
    assert!(
        api(&client, HELM_RELEASE)
            .get_opt("web")
            .await
            .expect("get")
            .is_none(),
        "nothing was written"
    );

    let mut request = request;
    request
        .extensions
        .insert("flux.sourceRef".into(), json!("podinfo"));
    refs::create(&adapter, &request).await.expect("create");
    let first = adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "web"),
            ReconcileRequest::default(),
        )
        .await
        .expect("reconcile");
    assert!(first.finished, "{first:?}");
    assert_eq!(first.state.status, DeploymentStatus::Deployed);
    assert_eq!(first.revision.as_deref(), Some("6.0.0"));

    let update = DeploymentUpdate {
        values: Some(values(json!({ "replicaCount": 4 }))),
        extensions: [("flux.chartVersion".to_owned(), json!("6.1.0"))].into(),
        ..DeploymentUpdate::default()
    };
    adapter
        .update(&refs::w(), &refs::hr("team-a", "web"), &update)
        .await
        .expect("update");
    let second = adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "web"),
            ReconcileRequest::default(),
        )
        .await
        .expect("reconcile");
    assert_eq!(second.revision.as_deref(), Some("6.1.0"), "{second:?}");
    let history = adapter
        .history(&refs::hr("team-a", "web"))
        .await
        .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|r| (r.revision, r.version.as_str()))
            .collect::<Vec<_>>(),
        vec![(2, "6.1.0"), (1, "6.0.0")]
    );

    // Rollback restores the chart version and the values of revision 1.
    let rolled = adapter
        .rollback(&refs::w(), &refs::hr("team-a", "web"), 0)
        .await
        .expect("rollback");
    assert_eq!(rolled.revision, 1);
    assert!(
        rolled.explanation.contains("chart version 6.0.0")
            && rolled.explanation.contains("desired state"),
        "{}",
        rolled.explanation
    );
    assert!(rolled.suspended.is_empty());
    let object = api(&client, HELM_RELEASE).get("web").await.expect("get");
    assert_eq!(object.data["spec"]["chart"]["spec"]["version"], "6.0.0");
    assert_eq!(object.data["spec"]["values"], json!({ "replicaCount": 1 }));
    let third = adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "web"),
            ReconcileRequest::default(),
        )
        .await
        .expect("reconcile");
    assert_eq!(third.revision.as_deref(), Some("6.0.0"));
    let history = adapter
        .history(&refs::hr("team-a", "web"))
        .await
        .expect("history");
    assert_eq!(
        history[0].digest, history[2].digest,
        "revision 3 runs the values of revision 1"
    );

    // Values someone applied with kubectl were never recorded: rollback says so and changes nothing.
    api(&client, HELM_RELEASE)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "values": { "replicaCount": 9 } } })),
        )
        .await
        .expect("kubectl edit");
    adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "web"),
            ReconcileRequest::default(),
        )
        .await
        .expect("reconcile");
    let set_two = DeploymentUpdate {
        values: Some(values(json!({ "replicaCount": 2 }))),
        ..DeploymentUpdate::default()
    };
    // The kubectl edit owns replicaCount now: changing it is a choice, not a side effect.
    let owned = adapter
        .update(&refs::w(), &refs::hr("team-a", "web"), &set_two)
        .await
        .unwrap_err();
    assert!(
        matches!(owned, Error::OwnedElsewhere(_))
            && owned.to_string().contains("spec.values.replicaCount"),
        "{owned}"
    );
    adapter
        .update(
            &refs::w().forcing(true),
            &refs::hr("team-a", "web"),
            &set_two,
        )
        .await
        .expect("update");
    adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "web"),
            ReconcileRequest::default(),
        )
        .await
        .expect("reconcile");
    let before = api(&client, HELM_RELEASE).get("web").await.expect("get");
    let unknown = adapter
        .rollback(&refs::w(), &refs::hr("team-a", "web"), 4)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, Error::Conflict(_)) && unknown.to_string().contains("never applied"),
        "{unknown}"
    );
    assert!(
        adapter
            .rollback(&refs::w(), &refs::hr("team-a", "web"), 99)
            .await
            .unwrap_err()
            .to_string()
            .contains("not in the history")
    );
    let after = api(&client, HELM_RELEASE).get("web").await.expect("get");
    assert_eq!(
        before.resource_version(),
        after.resource_version(),
        "a refused rollback writes nothing"
    );

    // A stale resourceVersion is refused instead of overwriting the newer object.
    let stale = DeploymentUpdate {
        values: Some(values(json!({ "replicaCount": 7 }))),
        resource_version: Some("1".into()),
        ..DeploymentUpdate::default()
    };
    let conflict = adapter
        .update(&refs::w(), &refs::hr("team-a", "web"), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(conflict, Error::Stale(_))
            && conflict
                .to_string()
                .contains("web changed since version 1 was read"),
        "{conflict}"
    );
    assert_eq!(conflict.status(), 412);

    // Reconcile with its source, and HelmRelease force / reset.
    let outcome = adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "web"),
            ReconcileRequest {
                with_source: true,
                force: true,
                reset: true,
                no_wait: false,
            },
        )
        .await
        .expect("reconcile");
    assert!(
        outcome.finished && outcome.message.starts_with("reconciled"),
        "{outcome:?}"
    );
    let release = api(&client, HELM_RELEASE).get("web").await.expect("get");
    let token = release
        .annotations()
        .get(REQUESTED_AT)
        .cloned()
        .expect("requestedAt");
    assert_eq!(release.annotations().get(FORCE_AT), Some(&token));
    assert_eq!(release.annotations().get(RESET_AT), Some(&token));
    let source = api(&client, HELM_REPOSITORY)
        .get("podinfo")
        .await
        .expect("source");
    assert_eq!(
        source.data["status"]["lastHandledReconcileAt"],
        json!(token),
        "the source was reconciled first with the same token"
    );
    let refused = adapter
        .reconcile(
            &refs::w(),
            &refs::ks("team-a", "shop"),
            ReconcileRequest {
                force: true,
                ..ReconcileRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Invalid { field: "force", .. }));

    // A failing release reports the failure; a suspended one is refused.
    let failed = adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "payments"),
            ReconcileRequest::default(),
        )
        .await
        .expect("reconcile");
    assert!(
        failed.finished && failed.state.status == DeploymentStatus::Failed,
        "{failed:?}"
    );
    assert!(failed.message.starts_with("reconciliation failed"));
    adapter
        .set_suspended(
            &refs::w(),
            &refs::hr("team-a", "web"),
            true,
            Some("maintenance"),
        )
        .await
        .expect("suspend");
    assert!(
        adapter
            .reconcile(
                &refs::w(),
                &refs::hr("team-a", "web"),
                ReconcileRequest::default()
            )
            .await
            .unwrap_err()
            .to_string()
            .contains("is suspended")
    );
    let queued = adapter
        .set_suspended(&refs::w(), &refs::hr("team-a", "web"), false, None)
        .await
        .expect("resume");
    assert!(!queued.state.suspended);
    let quick = adapter
        .reconcile(
            &refs::w(),
            &refs::hr("team-a", "web"),
            ReconcileRequest {
                no_wait: true,
                ..ReconcileRequest::default()
            },
        )
        .await
        .expect("reconcile");
    assert!(!quick.finished && quick.message.starts_with("requested"));
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn kustomization_rollback_pins_its_source(pool: PgPool) {
    let (_sandbox, client, adapter) = adapter(pool, 3).await;
    let kustomizations = api(&client, KUSTOMIZATION);
    let sources = api(&client, GIT_REPOSITORY);
    let first = kustomizations.get("shop").await.expect("shop");
    let first_revision = first.data["status"]["lastAppliedRevision"]
        .as_str()
        .expect("applied")
        .to_owned();

    // A second Kustomization reads the same repository and also applies the repository itself.
    let request: DeploymentRequest = serde_json::from_value(json!({ "name": "sources", "namespace": "team-a",
        "extensions": { "flux.type": "kustomization", "flux.sourceRef": "shop", "flux.path": "./sources" } }))
    .expect("request");
    refs::create(&adapter, &request).await.expect("create");
    sources
        .patch("shop", &PatchParams::default(), &Patch::Merge(json!({ "metadata": { "labels": {
            "kustomize.toolkit.fluxcd.io/name": "sources", "kustomize.toolkit.fluxcd.io/namespace": "team-a" } },
            "spec": { "interval": "2m" } })))
        .await
        .expect("a new commit");
    let moved = eventually(&kustomizations, "shop", |k| {
        k.data["status"]["lastAppliedRevision"].as_str() != Some(&first_revision)
    })
    .await;
    assert_eq!(
        moved.data["status"]["history"].as_array().map(Vec::len),
        Some(2)
    );
    eventually(&kustomizations, "sources", |k| {
        k.data.pointer("/status/lastAppliedRevision").is_some()
    })
    .await;
    for _ in 0..100 {
        if adapter
            .history(&refs::ks("team-a", "shop"))
            .await
            .expect("history")
            .len()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let rolled = adapter
        .rollback(&refs::w(), &refs::ks("team-a", "shop"), 0)
        .await
        .expect("rollback");
    assert_eq!(rolled.revision, 1);
    assert_eq!(rolled.restored, format!("source revision {first_revision}"));
    assert_eq!(
        rolled.suspended,
        vec!["Kustomization/team-a/sources".to_owned()]
    );
    for words in ["pinned to", "team-a/sources", "suspended"] {
        assert!(
            rolled.explanation.contains(words),
            "{words}: {}",
            rolled.explanation
        );
    }
    let commit = first_revision.rsplit_once("sha1:").expect("sha").1;
    let pinned = sources.get("shop").await.expect("source");
    assert_eq!(
        pinned.data["spec"]["ref"],
        json!({ "branch": "main", "commit": commit })
    );
    assert_eq!(
        pinned.annotations().get(PINNED_FROM).map(String::as_str),
        Some(r#"{"branch":"main"}"#)
    );
    eventually(&kustomizations, "shop", |k| {
        k.data["status"]["lastAppliedRevision"] == json!(first_revision)
    })
    .await;
    let holder = kustomizations.get("sources").await.expect("sources");
    assert_eq!(holder.data["spec"]["suspend"], true);

    // Clearing flux.targetRevision restores the branch.
    let unpin = DeploymentUpdate {
        extensions: [("flux.targetRevision".to_owned(), json!(""))].into(),
        ..DeploymentUpdate::default()
    };
    adapter
        .update(&refs::w(), &refs::ks("team-a", "shop"), &unpin)
        .await
        .expect("unpin");
    let restored = sources.get("shop").await.expect("source");
    assert_eq!(restored.data["spec"]["ref"], json!({ "branch": "main" }));
    assert!(!restored.annotations().contains_key(PINNED_FROM));

    for (name, revision) in [
        ("shop", "--upload-pack=touch /tmp/x"),
        ("podinfo", "abc1234"),
    ] {
        let bad = DeploymentUpdate {
            extensions: [("flux.targetRevision".to_owned(), json!(revision))].into(),
            ..DeploymentUpdate::default()
        };
        let target = if name == "shop" {
            refs::ks("team-a", name)
        } else {
            refs::hr("team-a", name)
        };
        let error = adapter.update(&refs::w(), &target, &bad).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Invalid {
                    field: "flux.targetRevision",
                    ..
                }
            ),
            "{error}"
        );
    }
    let unknown = DeploymentUpdate {
        extensions: [("flux.interval".to_owned(), json!("1m"))].into(),
        ..DeploymentUpdate::default()
    };
    assert!(matches!(
        adapter
            .update(&refs::w(), &refs::ks("team-a", "shop"), &unknown)
            .await
            .unwrap_err(),
        Error::Invalid {
            field: "extensions",
            ..
        }
    ));
}
