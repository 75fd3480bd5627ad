//! The escape suite: alice, operator of team-a, tries every way out of her namespace that
//! Flux and Helm offer, through REST and through a server function. Each attempt is refused
//! with an error naming what was wrong, each refusal is audited as a denial, and afterwards
//! team-b, kube-system, flux-system and every cluster-scoped object are unchanged, object by
//! object. Writes reach the sandbox as team-a's service account, whose RBAC the sandbox
//! enforces as kube-apiserver does, so the cluster refuses what a chart renders elsewhere.

mod disclosure;
mod identities;
mod nested_flux;

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
