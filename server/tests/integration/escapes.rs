//! The escape suite: alice, operator of team-a, tries every way out of her namespace that
//! Flux and Helm offer, through REST and through a server function. Each attempt is refused
//! with an error naming what was wrong, each refusal is audited as a denial, and afterwards
//! team-b, kube-system, flux-system and every cluster-scoped object are unchanged, object by
//! object. Writes reach the sandbox as team-a's service account, whose RBAC the sandbox
//! enforces as kube-apiserver does, so the cluster refuses what a chart renders elsewhere.

use crate::charts;
use crate::support::{PUBLIC_URL, TestEnv, plant, urlencode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use charts::Entry;
use control::audit::{AuditFilter, Outcome};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The namespaces nothing alice does may change.
const GUARDED: [&str; 3] = ["team-b", "kube-system", "flux-system"];
/// team-a's tenant identity, which helm and the Flux controllers apply alice's content as.
const TEAM_A_ACCOUNT: &str = "system:serviceaccount:team-a:pilothouse-tenant";
/// team-a's Flux writer, which Pilothouse's own checked Flux writes for alice run as.
const TEAM_A_WRITER: &str = "system:serviceaccount:pilothouse:flux-writer-team-a";
/// A value that must never come back to alice.
const TEAM_B_SECRET: &str = "team-b-database-password";
/// The same, as the Secret's data holds it (what a successful `lookup` would render).
const TEAM_B_SECRET_DATA: &str = "dGVhbS1iLWRhdGFiYXNlLXBhc3N3b3Jk";

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Every object in the guarded namespaces and every cluster-scoped object, keyed by resource
/// and name, without what only the API server and controllers write (status, versions).
fn snapshot(store: &sandbox::store::Store) -> BTreeMap<String, Value> {
    let mut objects = BTreeMap::new();
    for rt in store.resources() {
        // Events are the controllers' running commentary, and the simulated controllers'
        // pods in flux-system keep their log lines in an annotation: both change by design.
        if rt.plural == "events" || rt.plural == "pods" {
            continue;
        }
        let scopes: Vec<Option<&str>> = if rt.namespaced {
            GUARDED.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        for namespace in scopes {
            let page = store
                .list(
                    &rt,
                    namespace,
                    &Default::default(),
                    &Default::default(),
                    None,
                    None,
                )
                .expect("list");
            for mut object in page.items {
                if let Some(map) = object.as_object_mut() {
                    map.remove("status");
                }
                if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("resourceVersion");
                    meta.remove("managedFields");
                }
                let name = object["metadata"]["name"].as_str().unwrap_or_default();
                let key = format!(
                    "{}/{} {}/{name}",
                    rt.group,
                    rt.plural,
                    namespace.unwrap_or("-")
                );
                objects.insert(key, object);
            }
        }
    }
    objects
}

/// A chart whose one template is `template`.
fn chart(name: &str, template: &str) -> Vec<u8> {
    charts::archive(&[
        Entry::File(
            &format!("{name}/Chart.yaml"),
            charts::chart_yaml(name, "1.0.0").as_bytes(),
        ),
        Entry::File(
            &format!("{name}/templates/object.yaml"),
            template.as_bytes(),
        ),
    ])
}

/// The successful audit rows of `action`.
async fn succeeded(env: &TestEnv, action: &str) -> Vec<control::audit::AuditEvent> {
    env.service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                action: Some(action.into()),
                outcome: Some(Outcome::Success),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events
}

/// alice's recorded denials so far.
async fn denials(env: &TestEnv) -> Vec<control::audit::AuditEvent> {
    env.service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                actor: Some("alice".into()),
                outcome: Some(Outcome::Denied),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events
}

/// Checks one refused attempt: its status, that its error names `field` (or says `says`),
/// that it leaked nothing of team-b, and that exactly one more denial was recorded.
async fn refused(
    env: &TestEnv,
    what: &str,
    answer: crate::support::Answer,
    status: StatusCode,
    says: &str,
    before: usize,
) -> usize {
    assert_eq!(answer.status, status, "{what}: {}", answer.body);
    assert!(answer.body.contains(says), "{what}: {}", answer.body);
    for secret in [TEAM_B_SECRET, TEAM_B_SECRET_DATA] {
        assert!(
            !answer.body.contains(secret),
            "{what} leaked: {}",
            answer.body
        );
    }
    let after = denials(env).await;
    assert_eq!(after.len(), before + 1, "{what}: one denial recorded");
    let newest = &after[0].event;
    assert_eq!(
        newest.namespace.as_deref(),
        Some("team-a"),
        "{what}: {newest:?}"
    );
    assert!(
        !format!("{newest:?}").contains(TEAM_B_SECRET_DATA),
        "{what}: the audit row leaked the secret"
    );
    after.len()
}

#[tokio::test]
async fn alice_cannot_leave_team_a() {
    let env = TestEnv::start_with_cluster("escapes").await;
    let admin = env.admin();
    env.service
        .create_tenant(&admin, "team-b", "Team B")
        .await
        .expect("tenant");
    env.service
        .assign_namespace(&admin, "team-b", "team-b")
        .await
        .expect("namespace");
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    plant(
        &store,
        "",
        "secrets",
        json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "db", "namespace": "team-b" },
                "data": { "password": TEAM_B_SECRET_DATA } }),
    );
    let alice = env.bearer("alice");
    let root = env.bearer("admin");
    let before = snapshot(&store);
    let mut count = denials(&env).await.len();

    // Flux objects that reach out: each names the field that does.
    let flux = |name: &str, extensions: Value| {
        let mut all = json!({ "flux.type": "helmrelease", "flux.chart": "podinfo", "flux.sourceRef": "podinfo" });
        for (k, v) in extensions.as_object().into_iter().flatten() {
            all[k] = v.clone();
        }
        json!({ "name": name, "namespace": "team-a", "extensions": all })
    };
    let attempts = [
        (
            "targetNamespace",
            flux(
                "to-kube-system",
                json!({ "flux.targetNamespace": "kube-system" }),
            ),
            "flux.targetNamespace",
        ),
        (
            "storageNamespace",
            flux("store-in-b", json!({ "flux.storageNamespace": "team-b" })),
            "flux.storageNamespace",
        ),
        (
            "foreign sourceRef",
            flux(
                "b-source",
                json!({ "flux.sourceRef": "bitnami", "flux.sourceNamespace": "team-b" }),
            ),
            "flux.sourceNamespace",
        ),
        (
            "kubeConfig",
            flux("elsewhere", json!({ "flux.kubeConfig": "other-cluster" })),
            "spec.kubeConfig",
        ),
        (
            "another service account",
            flux("as-other", json!({ "flux.serviceAccountName": "default" })),
            "spec.serviceAccountName",
        ),
        (
            "dependsOn",
            json!({ "name": "after-b", "namespace": "team-a", "extensions": {
            "flux.type": "kustomization", "flux.sourceRef": "shop", "flux.sourceKind": "GitRepository",
            "flux.dependsOn": ["team-b/analytics"] } }),
            "flux.dependsOn",
        ),
        (
            "a post-renderer that moves objects",
            flux(
                "moved",
                json!({ "flux.postRenderers": [{ "kustomize": { "patches": [
            { "target": { "kind": "ConfigMap" }, "patch": "- op: replace\n  path: /metadata/namespace\n  value: team-b\n" }] } }] }),
            ),
            "spec.postRenderers",
        ),
    ];
    for (what, body, field) in attempts {
        let name = body["name"].as_str().unwrap_or_default().to_owned();
        let answer = env
            .send_bearer("POST", "/o2dms/v1/deployments", &alice, body)
            .await;
        assert_eq!(
            parse(&answer.body)["field"],
            field,
            "{what}: {}",
            answer.body
        );
        count = refused(&env, what, answer, StatusCode::FORBIDDEN, field, count).await;
        let gone = env
            .get_bearer(&format!("/o2dms/v1/deployments/team-a/{name}"), &alice)
            .await;
        assert_eq!(
            gone.status,
            StatusCode::NOT_FOUND,
            "{what}: nothing was written"
        );
    }

    // The same through the page's server function, signed in through the login form.
    let cookie = env.login("alice").await;
    let form = [
        ("form[name]", "from-the-page"),
        ("form[namespace]", "team-a"),
        ("form[kind]", "helmrelease"),
        ("form[chart]", "podinfo"),
        ("form[chart_version]", ""),
        ("form[source]", "podinfo"),
        ("form[source_kind]", ""),
        ("form[path]", ""),
        ("form[target_namespace]", "kube-system"),
        ("form[package_id]", ""),
        ("form[values]", ""),
    ];
    let encoded: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect();
    let request = Request::post("/api/create_deployment")
        .header(header::COOKIE, &cookie)
        .header("origin", PUBLIC_URL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(encoded.join("&")))
        .expect("request");
    let answer = env.call(request).await;
    count = refused(
        &env,
        "server function",
        answer,
        StatusCode::FORBIDDEN,
        "kube-system",
        count,
    )
    .await;

    // Charts run by helm as team-a's account: what they render or look up elsewhere is the
    // API server's to refuse.
    let hostile = [
        (
            "into-b",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: team-b\ndata:\n  x: y\n",
        ),
        (
            "peek",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: peek\ndata:\n  stolen: {{ (lookup \"v1\" \"Secret\" \"team-b\" \"db\").data | toJson | quote }}\n",
        ),
    ];
    for (name, template) in hostile {
        let upload = env
            .send_bytes(
                "POST",
                "/o2dms/v1/packages?namespace=team-a",
                &root,
                chart(name, template),
            )
            .await;
        assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
        let answer = env
            .send_bearer("POST", "/o2dms/v1/deployments", &alice,
                json!({ "name": name, "namespace": "team-a", "packageId": format!("{name}-1.0.0") }))
            .await;
        count = refused(
            &env,
            name,
            answer,
            StatusCode::FORBIDDEN,
            "is forbidden",
            count,
        )
        .await;
    }

    // A release whose labels claim team-b's Kustomization: rollback would suspend it.
    let labelled = json!({ "name": "claims-b", "namespace": "team-a",
        "labels": { "kustomize.toolkit.fluxcd.io/name": "analytics", "kustomize.toolkit.fluxcd.io/namespace": "team-b" },
        "extensions": { "flux.type": "helmrelease", "flux.chart": "podinfo", "flux.sourceRef": "podinfo" } });
    let created = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice, labelled)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let answer = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/claims-b/rollback",
            &alice,
            json!({ "revision": 1 }),
        )
        .await;
    count = refused(
        &env,
        "rollback hold",
        answer,
        StatusCode::FORBIDDEN,
        "the owning Kustomization",
        count,
    )
    .await;

    // Trace through labels planted on an object of team-a stops at the namespace line.
    let labels = "  labels:\n    kustomize.toolkit.fluxcd.io/name: analytics\n    kustomize.toolkit.fluxcd.io/namespace: team-b\n";
    let planted = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: decoy\n{labels}data:\n  x: y\n"
    );
    let upload = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &root,
            chart("decoy", &planted),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    let installed = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            json!({ "name": "decoy", "namespace": "team-a", "packageId": "decoy-1.0.0" }),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let trace = env
        .get_bearer(
            "/o2dms/v1/trace?apiVersion=v1&kind=ConfigMap&namespace=team-a&name=decoy",
            &alice,
        )
        .await;
    assert_eq!(trace.status, StatusCode::OK, "{}", trace.body);
    let steps = parse(&trace.body);
    let steps = steps.as_array().expect("steps");
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(
        steps[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("outside the namespaces you can read"))
    );
    assert!(
        !trace.body.contains("team-b") && !trace.body.contains("analytics"),
        "{}",
        trace.body
    );

    // SSRF: registries on link-local and private addresses are refused before helm runs, so
    // nothing connects (helm is never started for them).
    for registry in [
        "oci://169.254.169.254/latest/chart",
        "oci://10.0.0.1/charts/x",
        "oci://kubernetes.default.svc/x",
    ] {
        let answer = env
            .send_bearer("POST", "/o2dms/v1/deployments", &alice,
                json!({ "name": "ssrf", "namespace": "team-a", "extensions": { "helm.chart": registry } }))
            .await;
        assert_eq!(
            parse(&answer.body)["field"],
            "helm.chart",
            "{registry}: {}",
            answer.body
        );
        count = refused(
            &env,
            registry,
            answer,
            StatusCode::FORBIDDEN,
            "helm.chart",
            count,
        )
        .await;
    }

    let after = snapshot(&store);
    for (key, object) in &before {
        assert_eq!(after.get(key), Some(object), "{key} changed or went away");
    }
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(
        added.is_empty(),
        "objects appeared outside team-a: {added:?}"
    );
    let impersonated: Vec<String> = env
        .cluster
        .as_ref()
        .expect("cluster")
        .impersonations()
        .into_iter()
        .map(|i| i.user)
        .collect();
    assert!(
        impersonated.iter().any(|u| u == TEAM_A_ACCOUNT),
        "{impersonated:?}"
    );
    // Only tenant identities: helm as the tenant account, Flux writes as the namespace's
    // writer account in Pilothouse's own namespace.
    assert!(
        impersonated
            .iter()
            .all(|u| u.ends_with(":pilothouse-tenant")
                || u.starts_with("system:serviceaccount:pilothouse:flux-writer-")),
        "{impersonated:?}"
    );
    assert!(
        impersonated.iter().any(|u| u == TEAM_A_WRITER),
        "{impersonated:?}"
    );
    assert_eq!(count, denials(&env).await.len());
}

/// Assigning a namespace makes its service account and binding, unassigning removes them, and
/// the repair pass puts back what was deleted behind Pilothouse's back; each change is audited.
#[tokio::test]
async fn tenant_identities_follow_assignments() {
    let env = TestEnv::start_with_cluster("tenant-identities").await;
    let admin = env.admin();
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    let find = |group: &str, plural: &str, namespace: &str| {
        let rt = store
            .resources()
            .into_iter()
            .find(|r| r.group == group && r.plural == plural)
            .expect("resource");
        store.get(&rt, Some(namespace), "pilothouse-tenant").ok()
    };
    let account = find("", "serviceaccounts", "team-a").expect("team-a's service account");
    assert_eq!(
        account["metadata"]["labels"]["pilothouse.dev/tenant"],
        "team-a"
    );
    let binding = find("rbac.authorization.k8s.io", "rolebindings", "team-a").expect("binding");
    assert_eq!(
        binding["roleRef"],
        json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pilothouse-tenant" })
    );
    assert_eq!(
        binding["subjects"],
        json!([{ "kind": "ServiceAccount", "name": "pilothouse-tenant", "namespace": "team-a" }])
    );
    assert!(
        find("", "serviceaccounts", "team-b").is_none(),
        "team-b is nobody's yet"
    );
    // The writer account lives in Pilothouse's namespace, bound only in team-a.
    let writer = |namespace: &str| {
        let rt = store
            .resource("", "v1", "serviceaccounts")
            .expect("serviceaccounts");
        store
            .get(&rt, Some("pilothouse"), &format!("flux-writer-{namespace}"))
            .ok()
    };
    let binding_named = |namespace: &str, name: &str| {
        let rt = store
            .resource("rbac.authorization.k8s.io", "v1", "rolebindings")
            .expect("rolebindings");
        store.get(&rt, Some(namespace), name).ok()
    };
    let team_a_writer = writer("team-a").expect("team-a's writer account");
    assert_eq!(
        team_a_writer["metadata"]["labels"]["pilothouse.dev/namespace"],
        "team-a"
    );
    let writer_binding =
        binding_named("team-a", "pilothouse-flux-writer").expect("the writer's binding");
    assert_eq!(
        writer_binding["roleRef"]["name"], "pilothouse-flux-writer",
        "{writer_binding}"
    );
    assert_eq!(
        writer_binding["subjects"],
        json!([{ "kind": "ServiceAccount", "name": "flux-writer-team-a", "namespace": "pilothouse" }])
    );
    assert!(
        binding_named("team-a", "pilothouse-tenant-flux").is_none(),
        "nested Flux objects are off by default"
    );

    env.service
        .create_tenant(&admin, "team-b", "Team B")
        .await
        .expect("tenant");
    env.service
        .assign_namespace(&admin, "team-b", "team-b")
        .await
        .expect("assign");
    assert!(find("", "serviceaccounts", "team-b").is_some());
    assert!(find("rbac.authorization.k8s.io", "rolebindings", "team-b").is_some());
    env.service
        .unassign_namespace(&admin, "team-b", Some("team-b"))
        .await
        .expect("unassign");
    assert!(
        find("", "serviceaccounts", "team-b").is_none(),
        "unassigning removes the account"
    );
    assert!(find("rbac.authorization.k8s.io", "rolebindings", "team-b").is_none());
    assert!(writer("team-b").is_none(), "and the writer account");
    assert!(binding_named("team-b", "pilothouse-flux-writer").is_none());

    let rt = store
        .resources()
        .into_iter()
        .find(|r| r.plural == "rolebindings")
        .expect("rolebindings");
    store
        .delete(&rt, Some("team-a"), "pilothouse-tenant")
        .expect("delete");
    let accounts = store
        .resource("", "v1", "serviceaccounts")
        .expect("accounts");
    store
        .delete(&accounts, Some("pilothouse"), "flux-writer-team-a")
        .expect("delete the writer");
    let report = env
        .service
        .repair_tenant_identities()
        .await
        .expect("repair");
    assert!(
        report.iter().any(|r| r.contains("RoleBinding")),
        "{report:?}"
    );
    assert!(
        report
            .iter()
            .any(|r| r.contains("ServiceAccount pilothouse/flux-writer-team-a")),
        "{report:?}"
    );
    assert!(writer("team-a").is_some(), "the writer is back");
    assert!(
        find("rbac.authorization.k8s.io", "rolebindings", "team-a").is_some(),
        "repaired"
    );
    assert!(
        env.service
            .repair_tenant_identities()
            .await
            .expect("repair")
            .is_empty(),
        "nothing left to repair"
    );

    let ensured = succeeded(&env, "tenant-identity.ensure").await;
    let namespaces: Vec<_> = ensured
        .iter()
        .filter_map(|e| e.event.namespace.clone())
        .collect();
    assert!(
        namespaces.contains(&"team-b".to_owned())
            && namespaces.iter().filter(|n| *n == "team-a").count() >= 2,
        "{namespaces:?}"
    );
    let removed = succeeded(&env, "tenant-identity.remove").await;
    assert!(
        removed
            .iter()
            .any(|e| e.event.namespace.as_deref() == Some("team-b")),
        "{removed:?}"
    );
}

/// Sends `body` straight to the sandbox's API server as team-a's tenant account, as a pod
/// running with that account's token would: no Pilothouse, no audit row, only RBAC.
async fn as_tenant_account(env: &TestEnv, path: &str, body: &Value) -> (u16, String) {
    let url = format!("{}{path}", env.cluster.as_ref().expect("cluster").url());
    let answer = reqwest::Client::new()
        .post(url)
        .bearer_auth(crate::support::SANDBOX_ADMIN_TOKEN)
        .header("Impersonate-User", TEAM_A_ACCOUNT)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the sandbox answers");
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

/// A Kustomization that names no service account and aims at kube-system: what
/// kustomize-controller would apply with its own (cluster-admin) rights.
fn nested_kustomization(name: &str) -> Value {
    json!({ "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": { "name": name, "namespace": "team-a" },
            "spec": { "interval": "1m", "path": "./", "prune": false, "targetNamespace": "kube-system",
                      "sourceRef": { "kind": "GitRepository", "name": "shop" } } })
}

const KUSTOMIZATIONS: &str =
    "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/team-a/kustomizations";

/// The three ways tenant content could plant a Flux object that the controllers apply with
/// their own rights: a chart rendering one, Git content holding one, and a pod creating one
/// with the tenant account's token. The API server refuses each, because what tenant content
/// runs as may not write Flux objects; only a platform-admin's audited setting allows it.
#[tokio::test]
async fn nested_flux_objects_are_refused_by_the_api_server() {
    let env = TestEnv::start_with_cluster("escapes-nested").await;
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    let alice = env.bearer("alice");
    let root = env.bearer("admin");
    let before = snapshot(&store);
    let mut count = denials(&env).await.len();

    // 1. A chart that renders a Kustomization: helm, as the tenant account, is refused.
    let planted = serde_yaml::to_string(&nested_kustomization("from-chart")).expect("yaml");
    let upload = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &root,
            chart("plants-flux", &planted),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    let answer = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice,
            json!({ "name": "plants-flux", "namespace": "team-a", "packageId": "plants-flux-1.0.0" }))
        .await;
    count = refused(
        &env,
        "a chart rendering a Kustomization",
        answer,
        StatusCode::FORBIDDEN,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        count,
    )
    .await;

    // 2. Git content that holds a Kustomization: Pilothouse's own write of the outer one is
    // allowed (and checked), but kustomize-controller applies the content as the tenant
    // account, which may not create the inner one.
    let content = serde_yaml::to_string(&nested_kustomization("from-git")).expect("yaml");
    crate::support::plant(
        &store,
        "source.toolkit.fluxcd.io",
        "gitrepositories",
        json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": { "name": "nested", "namespace": "team-a",
                              "annotations": { sandbox::flux_rbac::MANIFESTS_ANNOTATION: content } },
                "spec": { "interval": "1m", "url": "https://github.com/example/nested", "ref": { "branch": "main" } } }),
    );
    let created = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice,
            json!({ "name": "outer", "namespace": "team-a", "extensions": {
                "flux.type": "kustomization", "flux.sourceRef": "nested", "flux.sourceKind": "GitRepository", "flux.path": "./" } }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let kustomizations = store
        .resource("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
        .expect("kustomizations");
    let outer = || store.get(&kustomizations, Some("team-a"), "outer").ok();
    crate::support::until(
        std::time::Duration::from_secs(60),
        "the outer Kustomization fails to apply its content",
        async || {
            outer().is_some_and(|o| {
                o["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "False")
            })
        },
    )
    .await;
    let outer = outer().expect("outer");
    assert_eq!(outer["spec"]["serviceAccountName"], "pilothouse-tenant");
    let message = outer["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("Kustomization/team-a/from-git")
            && message.contains(TEAM_A_ACCOUNT)
            && message.contains("cannot create resource \"kustomizations\""),
        "{message}"
    );
    assert!(
        store
            .get(&kustomizations, Some("team-a"), "from-git")
            .is_err(),
        "the nested Kustomization was never created"
    );

    // 3. A pod with the tenant account's token, straight to the API server.
    let (status, body) =
        as_tenant_account(&env, KUSTOMIZATIONS, &nested_kustomization("from-pod")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains(TEAM_A_ACCOUNT), "{body}");

    // Only a platform-admin may allow nested Flux objects for a tenant, audited; the binding
    // follows the setting both ways.
    let nope = env
        .send_bearer(
            "PATCH",
            "/o2dms/v1/tenants/team-a",
            &alice,
            json!({ "nestedFlux": true }),
        )
        .await;
    assert_eq!(nope.status, StatusCode::FORBIDDEN, "{}", nope.body);
    count += 1;
    assert_eq!(
        denials(&env).await.len(),
        count,
        "alice's attempt is audited"
    );
    let allowed = env
        .send_bearer(
            "PATCH",
            "/o2dms/v1/tenants/team-a",
            &root,
            json!({ "nestedFlux": true }),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    assert_eq!(parse(&allowed.body)["nestedFlux"], true, "{}", allowed.body);
    let (status, body) =
        as_tenant_account(&env, KUSTOMIZATIONS, &nested_kustomization("allowed")).await;
    assert_eq!(status, 201, "allowed for team-a: {body}");
    let elsewhere = KUSTOMIZATIONS.replace("/namespaces/team-a/", "/namespaces/kube-system/");
    let mut into_kube_system = nested_kustomization("elsewhere");
    into_kube_system["metadata"]["namespace"] = json!("kube-system");
    let (status, body) = as_tenant_account(&env, &elsewhere, &into_kube_system).await;
    assert_eq!(status, 403, "still only in team-a: {body}");
    let forbidden = env
        .send_bearer(
            "PATCH",
            "/o2dms/v1/tenants/team-a",
            &root,
            json!({ "nestedFlux": false }),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::OK, "{}", forbidden.body);
    let (status, body) =
        as_tenant_account(&env, KUSTOMIZATIONS, &nested_kustomization("again")).await;
    assert_eq!(status, 403, "forbidden again: {body}");
    let settings = succeeded(&env, "tenant.nested-flux").await;
    assert_eq!(settings.len(), 2, "both changes are audited: {settings:?}");

    let after = snapshot(&store);
    for (key, object) in &before {
        assert_eq!(after.get(key), Some(object), "{key} changed or went away");
    }
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(
        added.is_empty(),
        "objects appeared outside team-a: {added:?}"
    );
    assert_eq!(count, denials(&env).await.len());
}

/// Sends `method path` straight to the sandbox's API server with `token` (no impersonation):
/// as a pod or a script holding that token would. Answers the status and body.
async fn with_cluster_token(
    env: &TestEnv,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let url = format!("{}{path}", env.cluster.as_ref().expect("cluster").url());
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let answer = request.send().await.expect("the sandbox answers");
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

/// A token for team-a's tenant account, as a pod running as it gets one (TokenRequest).
async fn pod_token(env: &TestEnv) -> String {
    let (status, body) = with_cluster_token(
        env,
        reqwest::Method::POST,
        "/api/v1/namespaces/team-a/serviceaccounts/pilothouse-tenant/token",
        crate::support::SANDBOX_ADMIN_TOKEN,
        Some(&json!({ "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {} })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    parse(&body)["status"]["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// A namespace that changes tenants takes nothing of the old tenant's along: tokens minted for
/// its tenant account (a pod's projected token, a legacy token Secret) stop at the API server,
/// because the account is made anew and the Secret is gone. Platform namespaces are never a
/// tenant's.
#[tokio::test]
async fn a_moved_namespace_keeps_no_old_tokens_and_reserved_ones_are_refused() {
    let env = TestEnv::start_with_cluster("escapes-moved").await;
    let root = env.bearer("admin");
    let admin_token = crate::support::SANDBOX_ADMIN_TOKEN;
    let configmaps = "/api/v1/namespaces/team-a/configmaps";

    // A pod's token (TokenRequest) and a long-lived token Secret for team-a's tenant account.
    let projected = pod_token(&env).await;
    let (status, body) = with_cluster_token(
        &env,
        reqwest::Method::POST,
        "/api/v1/namespaces/team-a/secrets",
        admin_token,
        Some(&json!({ "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                      "metadata": { "name": "long-lived", "annotations": { "kubernetes.io/service-account.name": "pilothouse-tenant" } } })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let encoded = parse(&body)["data"]["token"]
        .as_str()
        .expect("the token controller filled it")
        .to_owned();
    let legacy = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
            .expect("base64"),
    )
    .expect("utf-8");
    for token in [&projected, &legacy] {
        let (status, body) =
            with_cluster_token(&env, reqwest::Method::GET, configmaps, token, None).await;
        assert_eq!(
            status, 200,
            "the account's token works before the move: {body}"
        );
    }

    // team-a goes to another tenant.
    let made = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants",
            &root,
            json!({ "slug": "team-z" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let moved = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-z/namespaces",
            &root,
            json!({ "namespace": "team-a", "move": true }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::CREATED, "{}", moved.body);
    for token in [&projected, &legacy] {
        let (status, body) =
            with_cluster_token(&env, reqwest::Method::GET, configmaps, token, None).await;
        assert_eq!(
            status, 401,
            "the old tenant's token stops at the API server: {body}"
        );
    }
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    let secrets = store.resource("", "v1", "secrets").expect("secrets");
    assert!(
        store.get(&secrets, Some("team-a"), "long-lived").is_err(),
        "the token Secret was deleted"
    );
    let accounts = store
        .resource("", "v1", "serviceaccounts")
        .expect("accounts");
    let account = store
        .get(&accounts, Some("team-a"), "pilothouse-tenant")
        .expect("a new account for team-z");
    assert_eq!(
        account["metadata"]["labels"]["pilothouse.dev/tenant"],
        "team-z"
    );
    // The new account's own tokens work.
    let fresh = pod_token(&env).await;
    let (status, _) =
        with_cluster_token(&env, reqwest::Method::GET, configmaps, &fresh, None).await;
    assert_eq!(status, 200);
    let rotated = succeeded(&env, "tenant-identity.remove").await;
    assert!(
        rotated
            .iter()
            .any(|e| e.event.namespace.as_deref() == Some("team-a")),
        "the rotation is audited: {rotated:?}"
    );

    // Platform namespaces are refused with 422, and nothing is assigned.
    for reserved in [
        "flux-system",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "pilothouse",
    ] {
        let answer = env
            .send_bearer(
                "POST",
                "/o2dms/v1/tenants/team-z/namespaces",
                &root,
                json!({ "namespace": reserved }),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{reserved}: {}",
            answer.body
        );
        assert!(answer.body.contains("reserved"), "{}", answer.body);
    }
    let tenant = env.get_bearer("/o2dms/v1/tenants/team-z", &root).await;
    assert_eq!(parse(&tenant.body)["namespaces"], json!(["team-a"]));
}

/// What one tenant learns about others from Pilothouse's answers: a source in another tenant's
/// namespace is refused the same whether it exists or not, a refusal names no other tenant and
/// reads the same for a namespace nobody owns, and the overview counts only the caller's.
#[tokio::test]
async fn refusals_and_counts_tell_a_tenant_nothing_of_others() {
    let env = TestEnv::start_with_cluster("escapes-oracles").await;
    let alice = env.bearer("alice");
    env.service
        .create_tenant(&env.admin(), "team-b", "B")
        .await
        .expect("tenant");
    env.service
        .assign_namespace(&env.admin(), "team-b", "team-b")
        .await
        .expect("namespace");
    let create = |source: &str| {
        json!({ "name": "probe", "namespace": "team-a", "extensions": {
            "flux.type": "helmrelease", "flux.chart": "x", "flux.sourceRef": source, "flux.sourceNamespace": "team-b" } })
    };
    let existing = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice, create("bitnami"))
        .await;
    let missing = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            create("no-such-repo"),
        )
        .await;
    assert_eq!(existing.status, StatusCode::FORBIDDEN, "{}", existing.body);
    assert_eq!(missing.status, existing.status, "{}", missing.body);
    assert_eq!(
        missing.body.replace("no-such-repo", "bitnami"),
        existing.body,
        "the same answer whether the source exists or not"
    );

    // A namespace of another tenant and a namespace of none read the same to alice, and
    // neither names a tenant.
    let owned = env
        .get_bearer(
            "/o2dms/v1/deployments/default~team-b~Kustomization~billing",
            &alice,
        )
        .await;
    let unowned = env
        .get_bearer(
            "/o2dms/v1/deployments/default~team-c~Kustomization~billing",
            &alice,
        )
        .await;
    assert_eq!(owned.status, StatusCode::FORBIDDEN, "{}", owned.body);
    assert_eq!(unowned.status, owned.status, "{}", unowned.body);
    assert_eq!(owned.body.replace("team-b", "team-c"), unowned.body);
    assert!(!owned.body.contains("tenant team-b"), "{}", owned.body);
    assert!(
        !unowned.body.contains("belongs to no tenant"),
        "{}",
        unowned.body
    );

    // A package in use only in another tenant's namespace is deleted without a word about
    // that tenant's release.
    let root = env.bearer("admin");
    for namespace in ["team-a", "team-b"] {
        let upload = env
            .send_bytes(
                "POST",
                &format!("/o2dms/v1/packages?namespace={namespace}"),
                &root,
                charts::demo_chart("shared-name", "1.0.0"),
            )
            .await;
        assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    }
    let installed = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &root,
            json!({ "name": "theirs", "namespace": "team-b", "packageId": "shared-name-1.0.0" }),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    env.service
        .add_membership(
            &env.admin(),
            "team-a",
            &control::access::Grantee::User("erin".into()),
            control::access::TenantRole::Admin,
        )
        .await
        .expect("erin administers team-a");
    let erin = env.bearer("erin");
    let deleted = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/packages/team-a/shared-name-1.0.0",
            &erin,
            json!({}),
        )
        .await;
    assert_eq!(
        deleted.status,
        StatusCode::NO_CONTENT,
        "nothing in team-a uses it, and team-b's release is not mentioned: {}",
        deleted.body
    );

    // The overview's counts are alice's namespaces', not the fleet's.
    let as_alice = control::RequestContext {
        principal: control::access::Principal {
            issuer: env.idp.issuer(),
            subject: "alice".into(),
            email: None,
            name: None,
            groups: vec![],
            narrowing: None,
        },
        ..control::RequestContext::system()
    };
    let hers = env.service.overview(&as_alice).await.expect("overview");
    let all = env.service.overview(&env.admin()).await.expect("overview");
    let held = |o: &model::overview::Overview| o.adapters.iter().map(|a| a.objects).sum::<usize>();
    let visible = env
        .get_bearer("/o2dms/v1/deployments?namespace=team-a&limit=1000", &alice)
        .await;
    let listed = parse(&visible.body)["total"].as_u64().unwrap_or_default() as usize;
    assert!(
        held(&all) > held(&hers),
        "{} vs {}",
        held(&all),
        held(&hers)
    );
    assert!(
        held(&hers) <= listed && held(&hers) > 0,
        "alice's count {} is within her {listed} deployments",
        held(&hers)
    );
}

/// What viewers read of a Helm release carries no secrets: its rendered Secret's data is
/// replaced by its size and secret-looking values by `[REDACTED]`. Operators see them whole
/// only when they ask (`reveal=true`), and the asking is recorded; viewers may not ask.
#[tokio::test]
async fn viewers_read_no_secrets_and_reveals_are_recorded() {
    let env = TestEnv::start_with_cluster("escapes-secrets").await;
    let root = env.bearer("admin");
    let alice = env.bearer("alice");
    env.service
        .add_membership(
            &env.admin(),
            "team-a",
            &control::access::Grantee::User("bob".into()),
            control::access::TenantRole::Viewer,
        )
        .await
        .expect("bob views team-a");
    let bob = env.bearer("bob");
    let template = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ntype: Opaque\ndata:\n  password: {{ .Values.db.password | b64enc | quote }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  host: {{ .Values.db.host | quote }}\n";
    let upload = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &root,
            chart("creds", template),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    let installed = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            json!({ "name": "creds", "namespace": "team-a", "packageId": "creds-1.0.0",
                    "values": { "db": { "password": "hunter2-and-more", "host": "db.team-a" } } }),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let base = "/o2dms/v1/deployments/default~team-a~Release~creds";

    let yaml = env.get_bearer(&format!("{base}/yaml"), &bob).await;
    assert_eq!(yaml.status, StatusCode::OK, "{}", yaml.body);
    assert!(yaml.body.contains("[REDACTED: 16 bytes]"), "{}", yaml.body);
    assert!(
        yaml.body.contains("db.team-a"),
        "what is not secret stays: {}",
        yaml.body
    );
    let encoded = "aHVudGVyMi1hbmQtbW9yZQ==";
    assert!(
        !yaml.body.contains(encoded) && !yaml.body.contains("hunter2"),
        "{}",
        yaml.body
    );
    let values = env.get_bearer(&format!("{base}/values"), &bob).await;
    assert_eq!(values.status, StatusCode::OK, "{}", values.body);
    assert_eq!(parse(&values.body)["db"]["password"], "[REDACTED]");
    assert_eq!(parse(&values.body)["db"]["host"], "db.team-a");

    // Viewers may not reveal; operators may, recorded.
    for path in ["yaml", "values"] {
        let refused = env
            .get_bearer(&format!("{base}/{path}?reveal=true"), &bob)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let revealed = env
        .get_bearer(&format!("{base}/yaml?reveal=true"), &alice)
        .await;
    assert_eq!(revealed.status, StatusCode::OK, "{}", revealed.body);
    assert!(revealed.body.contains(encoded), "{}", revealed.body);
    let revealed = env
        .get_bearer(&format!("{base}/values?reveal=true"), &alice)
        .await;
    assert_eq!(parse(&revealed.body)["db"]["password"], "hunter2-and-more");
    let bad = env
        .get_bearer(&format!("{base}/values?reveal=maybe"), &alice)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let recorded = succeeded(&env, "deployment.reveal").await;
    assert_eq!(recorded.len(), 2, "each reveal is recorded: {recorded:?}");
    assert!(recorded.iter().all(|r| r.event.actor.subject == "alice"));

    // An edit made from the redacted values keeps the secret it did not touch.
    let edited = env
        .send_bearer(
            "PATCH",
            base,
            &alice,
            json!({ "values": { "db": { "password": "[REDACTED]", "host": "db2.team-a" } } }),
        )
        .await;
    assert!(edited.status.is_success(), "{}", edited.body);
    let revealed = env
        .get_bearer(&format!("{base}/values?reveal=true"), &alice)
        .await;
    assert_eq!(parse(&revealed.body)["db"]["password"], "hunter2-and-more");
    assert_eq!(parse(&revealed.body)["db"]["host"], "db2.team-a");
}
