//! The indirect ways out: a chart, a Kustomization's Git content or a pod running as the
//! tenant account planting a Flux object that kustomize-controller would apply with its own
//! rights. The tenant account may not write Flux objects, so the API server refuses each,
//! unless a platform-admin allowed nested Flux for the tenant.

use super::*;

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
