//! The shipped RBAC (`deploy/rbac.yaml`), evaluated by the sandbox's RBAC authorizer as the
//! API server would evaluate it: every verb Pilothouse's own account holds is listed here, so
//! a widened role fails this test; it never writes a Secret or a workload anywhere; and the
//! tenant role reaches nothing outside the namespace it is bound in.

use sandbox::rbac::{Attributes, UserInfo, allows};
use sandbox::{Sandbox, SandboxOptions};
use std::collections::BTreeSet;

const VERBS: [&str; 11] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
];

const WRITES: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// The names rules may single out (Pilothouse's own objects), probed one by one.
const NAMED: [&str; 3] = [
    "pilothouse-tenant",
    "pilothouse-flux-writer",
    "pilothouse-tenant-flux",
];

async fn cluster() -> Sandbox {
    Sandbox::start(SandboxOptions {
        crds: vec![sandbox::vendored_crds()],
        manifests: vec![sandbox::deploy_rbac()],
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox")
}

/// Makes namespace team-a and binds ClusterRole `role` there to the service account
/// `(namespace, name)`, as Pilothouse does when team-a is assigned.
async fn bind_in_team_a(sandbox: &Sandbox, role: &str, (namespace, name): (&str, &str)) {
    let admin = kube::Client::try_from(kube::Config::new(sandbox.url().parse().expect("url")))
        .expect("client");
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(admin.clone());
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(serde_json::json!({ "metadata": { "name": "team-a" } }))
                .expect("namespace"),
        )
        .await
        .expect("namespace");
    let bindings: kube::Api<k8s_openapi::api::rbac::v1::RoleBinding> =
        kube::Api::namespaced(admin, "team-a");
    let binding = serde_json::from_value(serde_json::json!({
        "metadata": { "name": role },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
        "subjects": [{ "kind": "ServiceAccount", "name": name, "namespace": namespace }],
    }))
    .expect("binding");
    bindings
        .create(&Default::default(), &binding)
        .await
        .expect("bind");
}

/// Every (group/resource, verb, which names) `user` holds in `namespace`.
fn held(sandbox: &Sandbox, user: &UserInfo, namespace: &str) -> BTreeSet<String> {
    let mut resources: Vec<(String, String)> = sandbox
        .store()
        .resources()
        .into_iter()
        .map(|r| (r.group, r.plural))
        .collect();
    resources.extend([
        (String::new(), "users".to_owned()),
        (String::new(), "groups".to_owned()),
    ]);
    let mut out = BTreeSet::new();
    for (group, resource) in &resources {
        for verb in VERBS {
            let ask = |name: &str| {
                allows(
                    sandbox.store(),
                    user,
                    &Attributes {
                        verb,
                        group,
                        resource,
                        subresource: None,
                        namespace: Some(namespace),
                        name: Some(name),
                    },
                )
            };
            let qualified = if group.is_empty() {
                resource.clone()
            } else {
                format!("{resource}.{group}")
            };
            if ask("anything") {
                out.insert(format!("{qualified} {verb} any"));
                continue;
            }
            for name in NAMED {
                if ask(name) {
                    out.insert(format!("{qualified} {verb} {name}"));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn pilothouse_holds_exactly_these_verbs_and_no_write_on_secrets_or_workloads() {
    let sandbox = cluster().await;
    let pilothouse = UserInfo::service_account("pilothouse", "pilothouse");
    let held = held(&sandbox, &pilothouse, "team-b");
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let read = ["get", "list", "watch"];
    for resource in [
        "helmreleases.helm.toolkit.fluxcd.io",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "gitrepositories.source.toolkit.fluxcd.io",
        "helmrepositories.source.toolkit.fluxcd.io",
        "ocirepositories.source.toolkit.fluxcd.io",
        "buckets.source.toolkit.fluxcd.io",
        "helmcharts.source.toolkit.fluxcd.io",
        "externalartifacts.source.toolkit.fluxcd.io",
        "imagerepositories.image.toolkit.fluxcd.io",
        "imagepolicies.image.toolkit.fluxcd.io",
        "imageupdateautomations.image.toolkit.fluxcd.io",
        "providers.notification.toolkit.fluxcd.io",
        "alerts.notification.toolkit.fluxcd.io",
        "receivers.notification.toolkit.fluxcd.io",
        "secrets",
        "configmaps",
        "services",
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "replicasets.apps",
        "jobs.batch",
        "cronjobs.batch",
        "ingresses.networking.k8s.io",
        "networkpolicies.networking.k8s.io",
        "poddisruptionbudgets.policy",
        "namespaces",
    ] {
        for verb in read {
            expected.insert(format!("{resource} {verb} any"));
        }
    }
    expected.insert("customresourcedefinitions.apiextensions.k8s.io get any".into());
    expected.insert("events list any".into());
    expected.insert("events.events.k8s.io list any".into());
    for resource in ["serviceaccounts", "rolebindings.rbac.authorization.k8s.io"] {
        for verb in ["get", "list", "watch", "create"] {
            expected.insert(format!("{resource} {verb} any"));
        }
        for verb in ["update", "patch", "delete"] {
            expected.insert(format!("{resource} {verb} pilothouse-tenant"));
        }
    }
    for binding in ["pilothouse-flux-writer", "pilothouse-tenant-flux"] {
        for verb in ["update", "patch", "delete"] {
            expected.insert(format!(
                "rolebindings.rbac.authorization.k8s.io {verb} {binding}"
            ));
        }
    }
    expected.insert("serviceaccounts impersonate pilothouse-tenant".into());
    for role in ["pilothouse-tenant", "pilothouse-flux-writer"] {
        expected.insert(format!(
            "clusterroles.rbac.authorization.k8s.io bind {role}"
        ));
    }
    let missing: Vec<_> = expected.difference(&held).collect();
    let extra: Vec<_> = held.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    for line in &held {
        let mut parts = line.split(' ');
        let (resource, verb) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let guarded = resource == "secrets"
            || resource == "pods"
            || resource.ends_with(".apps")
            || resource.ends_with(".batch")
            || resource.ends_with(".toolkit.fluxcd.io");
        assert!(
            !(guarded && WRITES.contains(&verb)),
            "Pilothouse may not write {resource} itself: {line}"
        );
    }
}

#[tokio::test]
async fn the_tenant_role_stays_in_its_namespace_and_grants_no_rbac() {
    let sandbox = cluster().await;
    bind_in_team_a(
        &sandbox,
        "pilothouse-tenant",
        ("team-a", "pilothouse-tenant"),
    )
    .await;
    let tenant = UserInfo::service_account("team-a", "pilothouse-tenant");
    let home = held(&sandbox, &tenant, "team-a");
    assert!(home.contains("secrets create any"), "{home:#?}");
    // Flux objects it reads and never writes: what it applies cannot plant one.
    assert!(home.contains("helmreleases.helm.toolkit.fluxcd.io get any"));
    let flux_writes: Vec<&String> = home
        .iter()
        .filter(|l| {
            l.contains("toolkit.fluxcd.io ") && WRITES.iter().any(|w| l.contains(&format!(" {w} ")))
        })
        .collect();
    assert!(flux_writes.is_empty(), "{flux_writes:#?}");
    assert!(
        !home.iter().any(|l| l.contains("rbac.authorization.k8s.io")
            || l.contains(" impersonate ")
            || l.contains(" escalate ")
            || l.starts_with("namespaces ")),
        "{home:#?}"
    );
    assert!(held(&sandbox, &tenant, "team-b").is_empty());
    assert!(held(&sandbox, &tenant, "kube-system").is_empty());
}

/// Pilothouse's own Flux writes for a tenant run as the namespace's writer account, which
/// lives in Pilothouse's namespace and may write Flux objects in that tenant namespace only;
/// Pilothouse keeps the writer accounts there and acts as them.
#[tokio::test]
async fn the_writer_writes_flux_objects_in_its_namespace_only() {
    let sandbox = cluster().await;
    bind_in_team_a(
        &sandbox,
        "pilothouse-flux-writer",
        ("pilothouse", "flux-writer-team-a"),
    )
    .await;
    let writer = UserInfo::service_account("pilothouse", "flux-writer-team-a");
    let home = held(&sandbox, &writer, "team-a");
    assert!(
        home.contains("kustomizations.kustomize.toolkit.fluxcd.io create any")
            && home.contains("gitrepositories.source.toolkit.fluxcd.io patch any"),
        "{home:#?}"
    );
    assert!(
        home.iter().all(|l| l.contains(".toolkit.fluxcd.io ")),
        "nothing but Flux objects: {home:#?}"
    );
    assert!(held(&sandbox, &writer, "team-b").is_empty());
    assert!(held(&sandbox, &writer, "pilothouse").is_empty());

    let pilothouse = UserInfo::service_account("pilothouse", "pilothouse");
    let own = held(&sandbox, &pilothouse, "pilothouse");
    for verb in ["update", "patch", "delete", "impersonate"] {
        assert!(
            own.contains(&format!("serviceaccounts {verb} any")),
            "{verb}: {own:#?}"
        );
    }
    let elsewhere = held(&sandbox, &pilothouse, "team-b");
    assert!(
        !elsewhere.contains("serviceaccounts impersonate any"),
        "it impersonates only the tenant accounts elsewhere"
    );
}
