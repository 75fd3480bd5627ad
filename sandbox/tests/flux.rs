//! The SIMULATED Flux controllers through kube: sources get artifacts, deployments reconcile to
//! Ready with "Applied revision", and suspend, dependsOn, requestedAt and failure injection
//! behave as Flux's do; events and controller logs record it.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DynamicObject, ListParams, LogParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

async fn demo() -> (Sandbox, Client) {
    let crds = sandbox::vendored_crds();
    let sandbox = Sandbox::start(SandboxOptions {
        crds: vec![crds],
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    sandbox::demo::seed(sandbox.store()).unwrap();
    let client = Client::try_from(Config::new(sandbox.url().parse().unwrap())).unwrap();
    (sandbox, client)
}

fn api(
    client: &Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    ns: &str,
) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

fn ready(object: &DynamicObject) -> Option<(String, String, String)> {
    object.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (field("status"), field("reason"), field("message"))
        })
}

/// Two passes: Progressing, then the outcome (three when a dependency must settle first).
fn settle(sandbox: &Sandbox) {
    for _ in 0..4 {
        sandbox::flux::reconcile_all(sandbox.store());
    }
}

#[tokio::test]
async fn the_demo_reconciles_to_mixed_states() {
    let (sandbox, client) = demo().await;
    let releases = api(
        &client,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
        "team-a",
    );
    sandbox::flux::reconcile_all(sandbox.store());
    let progressing = ready(&releases.get("podinfo").await.unwrap()).unwrap();
    assert_eq!(
        (progressing.0.as_str(), progressing.1.as_str()),
        ("Unknown", "Progressing")
    );
    settle(&sandbox);

    let podinfo = releases.get("podinfo").await.unwrap();
    let (status, reason, message) = ready(&podinfo).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "InstallSucceeded")
    );
    assert!(message.contains("podinfo@6.7.1"), "{message}");
    assert_eq!(
        podinfo.data["status"]["history"][0]["chartVersion"],
        "6.7.1"
    );
    // HelmRelease v2 has no lastAppliedRevision (the CRD schema prunes it); history says it.
    assert_eq!(podinfo.data["status"]["lastAttemptedRevision"], "6.7.1");

    let payments = ready(&releases.get("payments").await.unwrap()).unwrap();
    assert_eq!(
        (payments.0.as_str(), payments.1.as_str()),
        ("False", "InstallFailed"),
        "failure injection"
    );

    let team_b = api(
        &client,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
        "team-b",
    );
    assert_eq!(
        ready(&team_b.get("redis").await.unwrap()),
        None,
        "suspended releases are left alone"
    );

    let kustomizations = api(
        &client,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
        "team-b",
    );
    let analytics = kustomizations.get("analytics").await.unwrap();
    let (status, _, message) = ready(&analytics).unwrap();
    assert_eq!(status, "True", "ready once its dependency is: {message}");
    assert!(
        message.starts_with("Applied revision: release-1.4@sha1:"),
        "{message}"
    );
    let git = api(
        &client,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
        "team-b",
    );
    let source_revision =
        git.get("analytics").await.unwrap().data["status"]["artifact"]["revision"].clone();
    assert_eq!(
        analytics.data["status"]["lastAppliedRevision"],
        source_revision
    );
}

#[tokio::test]
async fn dependencies_requested_reconciles_and_spec_changes() {
    let (sandbox, client) = demo().await;
    let kustomizations = api(
        &client,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
        "team-b",
    );
    // Break the dependency first: the dependent waits for it.
    kustomizations
        .patch(
            "analytics-db",
            &PatchParams::default(),
            &Patch::Merge(
                json!({ "metadata": { "labels": { sandbox::flux::FAIL_LABEL: "true" } } }),
            ),
        )
        .await
        .unwrap();
    settle(&sandbox);
    let (status, reason, message) = ready(&kustomizations.get("analytics").await.unwrap()).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "DependencyNotReady")
    );
    assert_eq!(message, "dependency 'team-b/analytics-db' is not ready");

    // reconcile.fluxcd.io/requestedAt is handled once.
    let releases = api(
        &client,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
        "team-a",
    );
    let annotation = json!({ "metadata": { "annotations": { sandbox::flux::REQUESTED_AT: "2026-11-23T10:00:00Z" } } });
    releases
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(annotation),
        )
        .await
        .unwrap();
    settle(&sandbox);
    let podinfo = releases.get("podinfo").await.unwrap();
    assert_eq!(
        podinfo.data["status"]["lastHandledReconcileAt"],
        "2026-11-23T10:00:00Z"
    );

    // A new chart version is a new generation: upgraded, history grows.
    let upgrade = json!({ "spec": { "chart": { "spec": { "version": "6.8.0" } } } });
    releases
        .patch("podinfo", &PatchParams::default(), &Patch::Merge(upgrade))
        .await
        .unwrap();
    settle(&sandbox);
    let podinfo = releases.get("podinfo").await.unwrap();
    let history: Vec<(Value, Value)> = podinfo.data["status"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["chartVersion"].clone(), h["status"].clone()))
        .collect();
    assert_eq!(history[0], (json!("6.8.0"), json!("deployed")));
    assert_eq!(
        history.last().unwrap(),
        &(json!("6.7.1"), json!("superseded"))
    );
    assert_eq!(ready(&podinfo).unwrap().1, "UpgradeSucceeded");
}

#[tokio::test]
async fn events_and_controller_logs_record_each_step() {
    let (sandbox, client) = demo().await;
    sandbox::flux::spawn(
        sandbox.store().clone(),
        std::time::Duration::from_millis(20),
    );
    let releases = api(
        &client,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
        "team-a",
    );
    for _ in 0..100 {
        if ready(&releases.get("payments").await.unwrap()).is_some_and(|r| r.0 == "False") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let events: Api<Event> = Api::namespaced(client.clone(), "team-a");
    let about_payments: Vec<Event> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("payments"))
        .collect();
    let reasons: Vec<&str> = about_payments
        .iter()
        .filter_map(|e| e.reason.as_deref())
        .collect();
    assert!(
        reasons.contains(&"Progressing") && reasons.contains(&"InstallFailed"),
        "{reasons:?}"
    );
    assert!(
        about_payments
            .iter()
            .any(|e| e.type_.as_deref() == Some("Warning"))
    );

    let pods: Api<Pod> = Api::namespaced(client, "flux-system");
    let controllers = pods
        .list(&ListParams::default().labels("app=helm-controller"))
        .await
        .unwrap();
    let pod = controllers.items[0].metadata.name.clone().unwrap();
    let log = pods.logs(&pod, &LogParams::default()).await.unwrap();
    assert!(log.contains("simulated"), "the logs say they are simulated");
    assert!(
        log.lines()
            .any(|l| l.contains("\"name\":\"payments\"") && l.contains("\"level\":\"error\"")),
        "{log}"
    );
}

#[tokio::test]
async fn controllers_act_as_the_service_account_and_fail_outside_its_rights() {
    let sandbox = Sandbox::start(SandboxOptions {
        crds: vec![sandbox::vendored_crds()],
        manifests: vec![sandbox::deploy_rbac()],
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    sandbox::demo::seed(sandbox.store()).unwrap();
    let client = Client::try_from(Config::new(sandbox.url().parse().unwrap())).unwrap();
    let bindings: Api<k8s_openapi::api::rbac::v1::RoleBinding> =
        Api::namespaced(client.clone(), "team-a");
    bindings
        .create(
            &Default::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "pilothouse-tenant" },
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pilothouse-tenant" },
                "subjects": [{ "kind": "ServiceAccount", "name": "pilothouse-tenant", "namespace": "team-a" }] }))
            .unwrap(),
        )
        .await
        .unwrap();
    let releases = api(
        &client,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
        "team-a",
    );
    for (name, target) in [("inside", "team-a"), ("escape", "kube-system")] {
        let release: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": { "name": name, "namespace": "team-a" },
            "spec": { "interval": "5m", "serviceAccountName": "pilothouse-tenant", "targetNamespace": target,
                      "chart": { "spec": { "chart": "podinfo", "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } } } }
        }))
        .unwrap();
        releases
            .create(&Default::default(), &release)
            .await
            .unwrap();
    }
    settle(&sandbox);
    let inside = ready(&releases.get("inside").await.unwrap()).unwrap();
    assert_eq!(inside.0, "True", "{inside:?}");
    let (status, reason, message) = ready(&releases.get("escape").await.unwrap()).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InstallFailed")
    );
    assert!(
        message.contains(
            "User \"system:serviceaccount:team-a:pilothouse-tenant\" cannot create resource \"deployments\" in API group \"apps\" in the namespace \"kube-system\""
        ),
        "{message}"
    );
}

#[tokio::test]
async fn locked_down_controllers_act_as_the_default_account_and_apply_source_content() {
    let sandbox = Sandbox::start(SandboxOptions {
        crds: vec![sandbox::vendored_crds()],
        manifests: vec![sandbox::deploy_rbac()],
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let store = sandbox.store();
    sandbox::demo::seed(store).unwrap();
    let client = Client::try_from(Config::new(sandbox.url().parse().unwrap())).unwrap();
    // A source whose content holds a ConfigMap for team-b: the content of a hostile repository.
    let planted = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: team-b\ndata:\n  x: y\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\ndata:\n  x: y\n";
    let sources = api(
        &client,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
        "team-a",
    );
    let source: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": { "name": "hostile", "namespace": "team-a",
                      "annotations": { sandbox::flux_rbac::MANIFESTS_ANNOTATION: planted } },
        "spec": { "interval": "5m", "url": "https://github.com/example/hostile", "ref": { "branch": "main" } }
    }))
    .unwrap();
    sources.create(&Default::default(), &source).await.unwrap();
    let kustomizations = api(
        &client,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
        "team-a",
    );
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": { "name": "hostile", "namespace": "team-a" },
        "spec": { "interval": "5m", "path": "./", "prune": true,
                  "sourceRef": { "kind": "GitRepository", "name": "hostile" } }
    }))
    .unwrap();
    kustomizations
        .create(&Default::default(), &object)
        .await
        .unwrap();
    settle(&sandbox);
    // Locked down (the demo's flags): it runs as team-a's default account, which may write
    // only in team-a, so the ConfigMap aimed at team-b is refused and nothing lands there.
    let (status, _, message) = ready(&kustomizations.get("hostile").await.unwrap()).unwrap();
    assert_eq!(status, "False", "{message}");
    assert!(
        message.contains("ConfigMap/team-b/planted")
            && message.contains("system:serviceaccount:team-a:default"),
        "{message}"
    );
    let configmaps = store.resource("", "v1", "configmaps").unwrap();
    assert_eq!(
        store
            .get(&configmaps, Some("team-b"), "planted")
            .unwrap_err()
            .code,
        404
    );

    // A stock install (no flags): the controller acts as itself and applies everything.
    let deployments = store.resource("apps", "v1", "deployments").unwrap();
    let mut open = sandbox::controller_pods::controller_deployment("kustomize-controller", false);
    let current = store
        .get(&deployments, Some("flux-system"), "kustomize-controller")
        .unwrap();
    open["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
    store
        .update(
            &deployments,
            Some("flux-system"),
            "kustomize-controller",
            open,
            sandbox::store::WriteOptions::by("kubectl"),
        )
        .unwrap();
    kustomizations
        .patch(
            "hostile",
            &Default::default(),
            &kube::api::Patch::Merge(json!({ "metadata": { "annotations": { "reconcile.fluxcd.io/requestedAt": "now" } } })),
        )
        .await
        .unwrap();
    settle(&sandbox);
    let (status, _, message) = ready(&kustomizations.get("hostile").await.unwrap()).unwrap();
    assert_eq!(status, "True", "{message}");
    assert!(store.get(&configmaps, Some("team-b"), "planted").is_ok());
    assert!(store.get(&configmaps, Some("team-a"), "local").is_ok());
}
