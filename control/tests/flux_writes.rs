//! The Flux adapter's writes against the sandbox, which validates every object against the
//! genuine Flux CRDs with `fieldValidation=Strict`: what the adapter writes is valid Flux.

mod cluster;

use cluster::demo_cluster;
use control::Error;
use control::adapters::flux::FluxConfig;
use control::adapters::flux::kinds::{HELM_RELEASE, KUSTOMIZATION};
use control::adapters::flux::writes::{FluxWriter, REQUESTED_AT, SUSPEND_REASON};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use model::deployment::DeploymentRequest;
use serde_json::json;

fn request(name: &str, extensions: serde_json::Value) -> DeploymentRequest {
    serde_json::from_value(
        json!({ "name": name, "namespace": "team-a", "values": { "replicaCount": 3 },
        "labels": { "app.kubernetes.io/name": name }, "extensions": extensions }),
    )
    .expect("request")
}

#[tokio::test]
async fn created_objects_are_valid_flux_and_reconcile() {
    let (sandbox, client) = demo_cluster(0).await;
    let writer = FluxWriter::new(client.clone(), FluxConfig::default());
    let release = writer
        .create(&request("nginx", json!({ "flux.type": "helmrelease", "flux.chart": "nginx", "flux.sourceRef": "podinfo", "flux.chartVersion": "13.2.0" })))
        .await
        .expect("a valid HelmRelease");
    assert_eq!(release.data["spec"]["values"]["replicaCount"], 3);
    assert!(
        release
            .managed_fields()
            .iter()
            .any(|m| m.manager.as_deref() == Some("pilothouse"))
    );
    let kustomization = writer
        .create(&request("infra", json!({ "flux.type": "kustomization", "flux.path": "./infra", "flux.sourceRef": "shop", "flux.targetNamespace": "team-a" })))
        .await
        .expect("a valid Kustomization");
    assert_eq!(
        kustomization.data["spec"]["sourceRef"]["kind"],
        "GitRepository"
    );

    let again = writer
        .create(&request(
            "nginx",
            json!({ "flux.chart": "nginx", "flux.sourceRef": "podinfo" }),
        ))
        .await
        .unwrap_err();
    assert_eq!(again.to_string(), "deployment already exists: nginx");

    for _ in 0..2 {
        sandbox::flux::reconcile_all(sandbox.store());
    }
    let releases: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "team-a", &HELM_RELEASE.api_resource());
    let ready = releases.get("nginx").await.expect("get");
    assert_eq!(ready.data["status"]["conditions"][0]["status"], "True");

    writer
        .request_reconcile(HELM_RELEASE, "team-a", "nginx", "2026-11-23T12:00:00Z")
        .await
        .expect("reconcile");
    for _ in 0..2 {
        sandbox::flux::reconcile_all(sandbox.store());
    }
    let handled = releases.get("nginx").await.expect("get");
    assert_eq!(
        handled.annotations().get(REQUESTED_AT).map(String::as_str),
        Some("2026-11-23T12:00:00Z")
    );
    assert_eq!(
        handled.data["status"]["lastHandledReconcileAt"],
        "2026-11-23T12:00:00Z"
    );

    let suspended = writer
        .set_suspended(
            KUSTOMIZATION,
            "team-a",
            "infra",
            true,
            Some("maintenance window"),
            false,
        )
        .await
        .expect("suspend");
    assert_eq!(suspended.data["spec"]["suspend"], true);
    assert!(
        suspended
            .managed_fields()
            .iter()
            .any(|m| m.manager.as_deref() == Some("pilothouse")
                && m.operation.as_deref() == Some("Apply")),
        "suspending is a server-side apply under the pilothouse field manager"
    );
    assert_eq!(
        suspended
            .annotations()
            .get(SUSPEND_REASON)
            .map(String::as_str),
        Some("maintenance window")
    );
    let resumed = writer
        .set_suspended(KUSTOMIZATION, "team-a", "infra", false, None, false)
        .await
        .expect("resume");
    assert_eq!(resumed.data["spec"]["suspend"], false);
    assert!(!resumed.annotations().contains_key(SUSPEND_REASON));

    // Update and scale re-apply the whole desired object; nothing else is lost.
    let update: model::deployment::DeploymentUpdate =
        serde_json::from_value(json!({ "extensions": { "flux.chartVersion": "13.3.0" } }))
            .expect("update");
    let updated = writer
        .update(HELM_RELEASE, "team-a", "nginx", &update, false)
        .await
        .expect("update");
    assert_eq!(updated.data["spec"]["chart"]["spec"]["version"], "13.3.0");
    assert_eq!(
        updated.data["spec"]["values"]["replicaCount"], 3,
        "values kept"
    );
    let scaled = writer
        .scale(HELM_RELEASE, "team-a", "nginx", 5, None, false)
        .await
        .expect("scale");
    assert_eq!(scaled.data["spec"]["values"]["replicaCount"], 5);
    let scaled = writer
        .scale(
            HELM_RELEASE,
            "team-a",
            "nginx",
            2,
            Some("controller.replicaCount"),
            false,
        )
        .await
        .expect("scale by path");
    assert_eq!(
        scaled.data["spec"]["values"]["controller"]["replicaCount"],
        2
    );
    assert_eq!(scaled.data["spec"]["chart"]["spec"]["version"], "13.3.0");
    let refused = writer
        .scale(KUSTOMIZATION, "team-a", "infra", 2, None, false)
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        Error::Invalid {
            field: "replicas",
            ..
        }
    ));
    let bad = model::deployment::DeploymentUpdate {
        values: Some(serde_json::Map::new()),
        ..Default::default()
    };
    assert!(matches!(
        writer
            .update(KUSTOMIZATION, "team-a", "infra", &bad, false)
            .await,
        Err(Error::Invalid {
            field: "values",
            ..
        })
    ));

    writer
        .delete(KUSTOMIZATION, "team-a", "infra")
        .await
        .expect("delete");
    let kustomizations: Api<DynamicObject> =
        Api::namespaced_with(client, "team-a", &KUSTOMIZATION.api_resource());
    assert!(
        kustomizations
            .get_opt("infra")
            .await
            .expect("get")
            .is_none()
    );
    let missing = writer
        .delete(KUSTOMIZATION, "team-a", "infra")
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }));
    assert_eq!(missing.to_string(), "deployment not found: infra");
}
