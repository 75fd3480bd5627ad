//! Tenant identities follow the tenancy: made when a namespace is assigned, repaired,
//! removed when it is unassigned, and made anew when it changes hands, so a token minted for
//! the old tenant (a pod's, a long-lived Secret's) stops working; platform namespaces are
//! never a tenant's.

use super::*;

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
