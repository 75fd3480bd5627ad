//! The demo's cluster contents: three tenants' namespaces with Flux sources and deployments in
//! mixed states (one failing, one suspended), and team-a's image automation and
//! notifications. Needs the Flux CRDs loaded (the image and notification ones are optional).

use crate::error::ApiError;
use crate::schema::UnknownFields;
use crate::store::{Store, WriteOptions};
use serde_json::{Value, json};

/// Creates the demo namespaces and Flux objects.
pub fn seed(store: &Store) -> Result<(), ApiError> {
    // The demo stands for tenants whose objects Flux applies from Git.
    let options = WriteOptions {
        unknown: UnknownFields::Reject,
        ..WriteOptions::by("kustomize-controller")
    };
    let namespaces = store.resource("", "v1", "namespaces")?;
    for ns in ["team-a", "team-b", "platform"] {
        store.create(
            &namespaces,
            None,
            json!({ "metadata": { "name": ns, "labels": { "pilothouse.dev/tenant": ns } } }),
            options,
        )?;
    }
    let put = |group: &str,
               version: &str,
               plural: &str,
               ns: &str,
               object: Value|
     -> Result<(), ApiError> {
        let rt = store.resource(group, version, plural)?;
        store.create(&rt, Some(ns), object, options).map(drop)
    };
    let git = |name: &str, url: &str, branch: &str| {
        json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": { "name": name }, "spec": { "interval": "5m", "url": url, "ref": { "branch": branch } } })
    };
    let helm_repo = |name: &str, url: &str| {
        json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": { "name": name }, "spec": { "interval": "1h", "url": url } })
    };
    let oci = |name: &str, url: &str, tag: &str| {
        json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
        "metadata": { "name": name }, "spec": { "interval": "10m", "url": url, "ref": { "tag": tag } } })
    };
    let kustomization = |name: &str, source: &str, path: &str, extra: Value| {
        let mut object = json!({ "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": { "name": name, "labels": { "app.kubernetes.io/part-of": "demo" } },
            "spec": { "interval": "10m", "path": path, "prune": true, "sourceRef": { "kind": "GitRepository", "name": source } } });
        json_patch::merge(&mut object, &extra);
        object
    };
    let release = |name: &str,
                   chart: &str,
                   version: &str,
                   repo: &str,
                   values: Value,
                   extra: Value| {
        let mut object = json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": { "name": name, "labels": { "app.kubernetes.io/part-of": "demo" } },
            "spec": { "interval": "10m", "chart": { "spec": { "chart": chart, "version": version,
                "sourceRef": { "kind": "HelmRepository", "name": repo } } }, "values": values } });
        json_patch::merge(&mut object, &extra);
        object
    };
    let (src, kus, hr) = (
        "source.toolkit.fluxcd.io",
        "kustomize.toolkit.fluxcd.io",
        "helm.toolkit.fluxcd.io",
    );

    // team-a: a healthy app, a chart, and one that fails.
    put(
        src,
        "v1",
        "gitrepositories",
        "team-a",
        git("shop", "https://github.com/example/shop", "main"),
    )?;
    put(
        src,
        "v1",
        "helmrepositories",
        "team-a",
        helm_repo("podinfo", "https://stefanprodan.github.io/podinfo"),
    )?;
    put(
        kus,
        "v1",
        "kustomizations",
        "team-a",
        // Its workload crash-loops, for the workloads view.
        kustomization(
            "shop",
            "shop",
            "./deploy/production",
            json!({ "metadata": { "labels": { crate::pods::CRASH_ANNOTATION: "true" } } }),
        ),
    )?;
    put(
        hr,
        "v2",
        "helmreleases",
        "team-a",
        release(
            "podinfo",
            "podinfo",
            "6.7.1",
            "podinfo",
            json!({ "replicaCount": 2 }),
            json!({}),
        ),
    )?;
    put(
        hr,
        "v2",
        "helmreleases",
        "team-a",
        release(
            "payments",
            "payments",
            "2.3.0",
            "podinfo",
            json!({ "replicaCount": 1 }),
            json!({ "metadata": { "labels": { crate::flux::FAIL_LABEL: "true" } } }),
        ),
    )?;

    // team-b: an OCI source, a dependency chain, and a suspended release.
    put(
        src,
        "v1",
        "gitrepositories",
        "team-b",
        git(
            "analytics",
            "https://github.com/example/analytics",
            "release-1.4",
        ),
    )?;
    put(
        src,
        "v1",
        "ocirepositories",
        "team-b",
        oci("manifests", "oci://ghcr.io/example/manifests", "v1.4.2"),
    )?;
    put(
        src,
        "v1",
        "helmrepositories",
        "team-b",
        helm_repo("bitnami", "https://charts.bitnami.com/bitnami"),
    )?;
    put(
        kus,
        "v1",
        "kustomizations",
        "team-b",
        kustomization("analytics-db", "analytics", "./db", json!({})),
    )?;
    put(
        kus,
        "v1",
        "kustomizations",
        "team-b",
        kustomization(
            "analytics",
            "analytics",
            "./app",
            json!({ "spec": { "dependsOn": [{ "name": "analytics-db" }] } }),
        ),
    )?;
    put(
        hr,
        "v2",
        "helmreleases",
        "team-b",
        release(
            "redis",
            "redis",
            "19.6.0",
            "bitnami",
            json!({ "architecture": "standalone" }),
            json!({ "spec": { "suspend": true } }),
        ),
    )?;

    // team-c: a namespace no tenant owns yet, for onboarding a tenant in the demo.
    store.create(
        &namespaces,
        None,
        json!({ "metadata": { "name": "team-c" } }),
        options,
    )?;
    put(
        src,
        "v1",
        "gitrepositories",
        "team-c",
        git("billing", "https://github.com/example/billing", "main"),
    )?;
    put(
        kus,
        "v1",
        "kustomizations",
        "team-c",
        kustomization("billing", "billing", "./deploy", json!({})),
    )?;

    // platform: shared infrastructure.
    put(
        src,
        "v1",
        "gitrepositories",
        "platform",
        git("fleet", "https://github.com/example/fleet", "main"),
    )?;
    put(
        src,
        "v1",
        "helmrepositories",
        "platform",
        helm_repo(
            "ingress-nginx",
            "https://kubernetes.github.io/ingress-nginx",
        ),
    )?;
    put(
        kus,
        "v1",
        "kustomizations",
        "platform",
        kustomization("infrastructure", "fleet", "./infrastructure", json!({})),
    )?;
    put(
        hr,
        "v2",
        "helmreleases",
        "platform",
        release(
            "ingress-nginx",
            "ingress-nginx",
            "4.11.3",
            "ingress-nginx",
            json!({ "controller": { "replicaCount": 2 } }),
            json!({}),
        ),
    )?;
    seed_addons(store, options)?;
    // The demo's Flux is locked down as Flux's multi-tenancy guide advises: objects that
    // name no service account run as their namespace's `default` account, which the platform
    // team binds to what the namespace's own deployments need, there and nowhere else.
    crate::controller_pods::ensure_controller_deployments(store, true);
    let role = store.resource("rbac.authorization.k8s.io", "v1", "clusterroles")?;
    store.create(
        &role,
        None,
        json!({ "metadata": { "name": "demo-namespace-reconciler" },
                "rules": [{ "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] }] }),
        options,
    )?;
    let bindings = store.resource("rbac.authorization.k8s.io", "v1", "rolebindings")?;
    for ns in ["team-a", "team-b", "team-c", "platform"] {
        store.create(
            &bindings,
            Some(ns),
            json!({ "metadata": { "name": "demo-namespace-reconciler", "namespace": ns },
                    "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "demo-namespace-reconciler" },
                    "subjects": [{ "kind": "ServiceAccount", "name": "default", "namespace": ns }] }),
            options,
        )?;
    }
    Ok(())
}

/// team-a's image automation and notifications, for the kinds whose CRDs are loaded: a policy
/// following podinfo's image (which the podinfo release runs), an automation writing it back
/// to the shop repository, a Slack provider with an alert on failures, and a GitHub receiver.
fn seed_addons(store: &Store, options: WriteOptions<'_>) -> Result<(), ApiError> {
    let objects = [
        (
            "image.toolkit.fluxcd.io",
            "v1",
            "imagerepositories",
            json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": { "name": "podinfo", "annotations": { crate::flux_addons::TAGS_ANNOTATION: "6.6.3,6.7.0,6.7.1,6.8.0" } },
            "spec": { "image": "registry.example/podinfo", "interval": "5m" } }),
        ),
        (
            "image.toolkit.fluxcd.io",
            "v1",
            "imagepolicies",
            json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": { "name": "podinfo" },
            "spec": { "imageRepositoryRef": { "name": "podinfo" }, "policy": { "semver": { "range": ">=6.7.0 <7.0.0" } } } }),
        ),
        (
            "image.toolkit.fluxcd.io",
            "v1",
            "imageupdateautomations",
            json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
            "metadata": { "name": "shop-images" },
            "spec": { "interval": "30m", "sourceRef": { "kind": "GitRepository", "name": "shop" },
                      "git": { "checkout": { "ref": { "branch": "main" } },
                               "commit": { "author": { "name": "fluxcdbot", "email": "fluxcd@example.com" } },
                               "push": { "branch": "image-updates" } },
                      "update": { "path": "./deploy", "strategy": "Setters" } } }),
        ),
        (
            "notification.toolkit.fluxcd.io",
            "v1beta3",
            "providers",
            json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": { "name": "slack" },
            "spec": { "type": "slack", "channel": "team-a-alerts", "address": "https://hooks.slack.com/services/T000/B000/demo-token" } }),
        ),
        (
            "notification.toolkit.fluxcd.io",
            "v1beta3",
            "alerts",
            json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": { "name": "failures" },
            "spec": { "providerRef": { "name": "slack" }, "eventSeverity": "error",
                      "eventSources": [{ "kind": "HelmRelease", "name": "*" }, { "kind": "Kustomization", "name": "shop" }] } }),
        ),
        (
            "notification.toolkit.fluxcd.io",
            "v1",
            "receivers",
            json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": { "name": "github-shop" },
            "spec": { "type": "github", "events": ["ping", "push"], "secretRef": { "name": "github-webhook-token" },
                      "resources": [{ "kind": "GitRepository", "name": "shop" }] } }),
        ),
    ];
    for (group, version, plural, object) in objects {
        // The image and notification controllers are optional installs.
        let Ok(rt) = store.resource(group, version, plural) else {
            continue;
        };
        store.create(&rt, Some("team-a"), object, options)?;
    }
    Ok(())
}

/// Seeds the demo, starts the simulated controllers' pods, and runs `passes` reconciliation
/// passes (two settle a deployment; three, one that waits for a dependency).
pub fn seed_and_settle(store: &Store, passes: usize) -> Result<(), ApiError> {
    seed(store)?;
    crate::controller_pods::ensure_controller_pods(store);
    for _ in 0..passes {
        crate::flux::reconcile_all(store);
    }
    Ok(())
}
