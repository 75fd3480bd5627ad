//! Events, controller logs and clean YAML for Flux deployments, against the sandbox's
//! simulated Flux controllers.

mod cluster;

use cluster::demo_cluster;
use control::Error;
use control::adapters::flux::kinds::HELM_RELEASE;
use control::adapters::flux::observe::{controller_logs, events, export_yaml};
use kube::api::{Api, DynamicObject};
use model::deployment::LogQuery;

#[tokio::test]
async fn events_logs_and_yaml() {
    let (_sandbox, client) = demo_cluster(3).await;

    let about = events(&client, HELM_RELEASE, "team-a", "payments")
        .await
        .expect("events");
    assert!(
        about
            .iter()
            .any(|e| e.kind == "Warning" && e.reason == "InstallFailed"),
        "{about:?}"
    );
    assert!(about.iter().all(|e| e.source == "helm-controller"));
    let other = events(&client, HELM_RELEASE, "team-a", "podinfo")
        .await
        .expect("events");
    assert!(
        other.iter().all(|e| e.reason != "InstallFailed"),
        "events are per object"
    );

    let log = controller_logs(
        &client,
        "flux-system",
        "helm-controller",
        &LogQuery {
            tail: Some(2),
            ..LogQuery::default()
        },
    )
    .await
    .expect("logs");
    assert_eq!(log.lines().count(), 2, "{log}");
    let refused = controller_logs(
        &client,
        "flux-system",
        "kube-apiserver",
        &LogQuery::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(
        refused,
        Error::Invalid {
            field: "controller",
            ..
        }
    ));

    let releases: Api<DynamicObject> =
        Api::namespaced_with(client, "team-a", &HELM_RELEASE.api_resource());
    let yaml = export_yaml(&releases.get("podinfo").await.expect("get")).expect("yaml");
    assert!(
        yaml.contains("kind: HelmRelease") && yaml.contains("chart: podinfo"),
        "{yaml}"
    );
    for absent in ["status:", "managedFields", "resourceVersion", "uid:"] {
        assert!(!yaml.contains(absent), "{absent} in {yaml}");
    }
}
