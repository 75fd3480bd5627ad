//! The Flux toolkit over REST: each family's list and detail, its operations with their
//! refusals in the one JSON error shape, the Flux check per caller, and the graph drawing
//! image policies and alerts beside the deployments they point at.

use crate::support::{PUBLIC_URL, TestEnv, until};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn families_details_operations_and_the_check_over_rest() {
    let env = TestEnv::start_with_cluster("rest-toolkit").await;
    let (admin, alice, bob) = (env.bearer("admin"), env.bearer("alice"), env.bearer("bob"));

    // Each family lists its own kinds, in alice's namespace only.
    for (family, kinds) in [
        ("sources", &["GitRepository", "HelmRepository"][..]),
        (
            "images",
            &["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"][..],
        ),
        ("notifications", &["Provider", "Alert", "Receiver"][..]),
    ] {
        let list = env.get_bearer(&format!("/o2dms/v1/{family}"), &alice).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let items = parse(&list.body);
        let items = items.as_array().expect("a list");
        for kind in kinds {
            assert!(
                items.iter().any(|o| o["kind"] == *kind),
                "{kind} in {family}"
            );
        }
        assert!(
            items
                .iter()
                .all(|o| o["namespace"] == "team-a" && o["family"] == family)
        );
        let none = env.get_bearer(&format!("/o2dms/v1/{family}"), &bob).await;
        assert_eq!(parse(&none.body), json!([]), "bob has no tenant");
    }

    let path = "/o2dms/v1/images/team-a/ImagePolicy/podinfo";
    until(
        Duration::from_secs(30),
        "the policy's latest tag",
        async || parse(&env.get_bearer(path, &alice).await.body)["object"]["revision"].is_string(),
    )
    .await;
    let policy = parse(&env.get_bearer(path, &alice).await.body);
    assert_eq!(
        policy["object"]["revision"],
        "registry.example/podinfo:6.8.0"
    );
    assert_eq!(policy["usedBy"][0]["name"], "podinfo", "{policy}");
    assert_eq!(
        policy["object"]["permissions"]["image.suspend"]["allowed"],
        true
    );

    // A kind under another family's path is not there; the answer says where it is.
    let elsewhere = env
        .get_bearer("/o2dms/v1/images/team-a/GitRepository/shop", &alice)
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    assert!(
        parse(&elsewhere.body)["message"]
            .as_str()
            .is_some_and(|m| m.contains("/o2dms/v1/sources"))
    );

    // Alerts are suspended and resumed; never reconciled.
    let alert = "/o2dms/v1/notifications/team-a/Alert/failures";
    let refused = env
        .send_bearer("POST", &format!("{alert}/reconcile"), &alice, json!(null))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(parse(&refused.body)["field"], "operation");
    let suspended = env
        .send_bearer("POST", &format!("{alert}/suspend"), &alice, json!(null))
        .await;
    assert_eq!(
        suspended.status,
        StatusCode::NO_CONTENT,
        "{}",
        suspended.body
    );
    until(
        Duration::from_secs(30),
        "the alert shown suspended",
        async || parse(&env.get_bearer(alert, &alice).await.body)["object"]["suspended"] == true,
    )
    .await;
    let forbidden = env
        .send_bearer("POST", &format!("{alert}/resume"), &bob, json!(null))
        .await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.body
    );
    assert!(parse(&forbidden.body)["message"].is_string());
    let theirs = env
        .get_bearer("/o2dms/v1/sources/team-b/GitRepository/analytics", &alice)
        .await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "{}", theirs.body);

    // A repository scans on request.
    let scanned = env
        .send_bearer(
            "POST",
            "/o2dms/v1/images/team-a/ImageRepository/podinfo/reconcile",
            &alice,
            json!(null),
        )
        .await;
    assert!(
        scanned.status == StatusCode::OK || scanned.status == StatusCode::ACCEPTED,
        "{}",
        scanned.body
    );

    let shop = parse(
        &env.get_bearer("/o2dms/v1/sources/team-a/GitRepository/shop", &alice)
            .await
            .body,
    );
    assert!(
        shop["artifact"]["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with("main@sha1:"))
    );
    assert!(
        shop["usedBy"]
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u["name"] == "shop"))
    );

    // The artifact, through the API server's proxy to source-controller, as recorded.
    let digest = shop["artifact"]["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let path = "/o2dms/v1/sources/team-a/GitRepository/shop/artifact";
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .body(Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(env.router.clone(), request)
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/gzip");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(
        digest,
        format!("sha256:{}", sandbox::artifacts::sha256(&bytes))
    );
    assert_eq!(
        env.get_bearer(path, &bob).await.status,
        StatusCode::FORBIDDEN
    );

    let check = parse(&env.get_bearer("/o2dms/v1/flux/check", &admin).await.body);
    assert_eq!(check["crds"].as_array().map(Vec::len), Some(14), "{check}");
    assert_eq!(check["controllers"].as_array().map(Vec::len), Some(6));
    let hers = parse(&env.get_bearer("/o2dms/v1/flux/check", &alice).await.body);
    assert_eq!(hers["crds"], json!([]));
    assert_eq!(hers["controllers"], json!([]));

    // The graph draws the policy beside the release that runs its image, and the alert
    // beside what it reports on.
    let cookie = env.login("alice").await;
    let request = Request::post("/api/load_graph")
        .header(header::COOKIE, &cookie)
        .header("origin", PUBLIC_URL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("namespace=team-a"))
        .expect("request");
    let graph = parse(&env.call(request).await.body);
    let nodes = graph["nodes"].as_array().cloned().unwrap_or_default();
    let named = |i: &Value| {
        let n = &nodes[i.as_u64().unwrap_or_default() as usize];
        format!(
            "{}/{}",
            n["kind"].as_str().unwrap_or_default(),
            n["name"].as_str().unwrap_or_default()
        )
    };
    let arrows: Vec<String> = graph["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{} -> {} ({})",
                named(&e["from"]),
                named(&e["to"]),
                e["relation"].as_str().unwrap_or_default()
            )
        })
        .collect();
    for expected in [
        "ImagePolicy/podinfo -> HelmRelease/podinfo (image)",
        "HelmRelease/payments -> Alert/failures (alert)",
        "Kustomization/shop -> Alert/failures (alert)",
    ] {
        assert!(
            arrows.iter().any(|a| a == expected),
            "{expected} in {arrows:#?}"
        );
    }
    assert!(nodes.iter().any(|n| n["role"] == "image"));
    assert!(nodes.iter().any(|n| n["role"] == "notification"));
    env.assert_audit_chain_intact().await;
}

#[tokio::test]
async fn a_tenant_creates_and_deletes_sources_policies_and_alerts_inside_its_namespace() {
    let env = TestEnv::start_with_cluster("rest-toolkit-create").await;
    let alice = env.bearer("alice");
    let store = env.cluster.as_ref().expect("cluster").store();
    crate::support::plant(
        store,
        "",
        "secrets",
        json!({ "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "git-credentials", "namespace": "team-a" },
        "type": "Opaque", "data": { "password": "aHVudGVyMg==" } }),
    );

    // The form's picker: names only.
    let secrets = env.get_bearer("/o2dms/v1/secrets/team-a", &alice).await;
    assert_eq!(secrets.status, StatusCode::OK, "{}", secrets.body);
    assert!(
        parse(&secrets.body)
            .as_array()
            .is_some_and(|s| s.contains(&json!("git-credentials")))
    );
    assert!(!secrets.body.contains("aHVudGVy"));
    let theirs = env.get_bearer("/o2dms/v1/secrets/team-b", &alice).await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN);

    let git = json!({ "kind": "GitRepository", "name": "docs", "namespace": "team-a",
        "url": "https://github.com/acme/docs", "branch": "main", "secretRef": "git-credentials" });
    let created = env
        .send_bearer("POST", "/o2dms/v1/sources", &alice, git.clone())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(parse(&created.body)["url"], "https://github.com/acme/docs");
    let again = env
        .send_bearer("POST", "/o2dms/v1/sources", &alice, git.clone())
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    until(
        Duration::from_secs(30),
        "the new source fetched",
        async || {
            let detail = parse(
                &env.get_bearer("/o2dms/v1/sources/team-a/GitRepository/docs", &alice)
                    .await
                    .body,
            );
            detail["artifact"]["revision"]
                .as_str()
                .is_some_and(|r| r.starts_with("main@sha1:"))
        },
    )
    .await;

    // Each refusal names its field, in the one error shape, and writes nothing.
    for (body, status, field) in [
        (
            json!({ "kind": "GitRepository", "name": "x", "namespace": "team-a", "url": "file:///etc/passwd" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({ "kind": "GitRepository", "name": "x", "namespace": "team-a", "url": "https://x.example/r", "secretRef": "nope" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "secretRef",
        ),
        (
            json!({ "kind": "OCIRepository", "name": "x", "namespace": "team-a", "url": "https://not-oci.example/r" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({ "kind": "GitRepository", "name": "x", "namespace": "team-a", "url": "https://x.example/r", "interval": "soon" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "interval",
        ),
    ] {
        let refused = env
            .send_bearer("POST", "/o2dms/v1/sources", &alice, body)
            .await;
        assert_eq!(refused.status, status, "{}", refused.body);
        assert_eq!(parse(&refused.body)["field"], field, "{}", refused.body);
    }
    let elsewhere = env
        .send_bearer("POST", "/o2dms/v1/sources", &alice,
            json!({ "kind": "GitRepository", "name": "x", "namespace": "team-b", "url": "https://x.example/r" }))
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::FORBIDDEN,
        "{}",
        elsewhere.body
    );
    let unknown = env
        .send_bearer("POST", "/o2dms/v1/sources", &alice,
            json!({ "kind": "GitRepository", "name": "x", "namespace": "team-a", "url": "https://x.example/r", "recurseSubmodules": true }))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );

    let policy = json!({ "name": "web", "namespace": "team-a", "imageRepository": "podinfo",
        "policy": { "alphabetical": { "order": "asc" } } });
    let created = env
        .send_bearer("POST", "/o2dms/v1/images", &alice, policy)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    until(
        Duration::from_secs(30),
        "the new policy's choice",
        async || {
            parse(
                &env.get_bearer("/o2dms/v1/images/team-a/ImagePolicy/web", &alice)
                    .await
                    .body,
            )["object"]["revision"]
                == "registry.example/podinfo:6.8.0"
        },
    )
    .await;
    let no_repository = env
        .send_bearer(
            "POST",
            "/o2dms/v1/images",
            &alice,
            json!({ "name": "x", "namespace": "team-a",
            "imageRepository": "ghost", "policy": { "semver": { "range": ">=1.0.0" } } }),
        )
        .await;
    assert_eq!(
        parse(&no_repository.body)["field"],
        "imageRepository",
        "{}",
        no_repository.body
    );

    let alert = json!({ "name": "podinfo-errors", "namespace": "team-a", "provider": "slack",
        "severity": "error", "eventSources": [{ "kind": "HelmRelease", "name": "podinfo" }] });
    let created = env
        .send_bearer("POST", "/o2dms/v1/notifications", &alice, alert)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let detail = parse(
        &env.get_bearer(
            "/o2dms/v1/notifications/team-a/Alert/podinfo-errors",
            &alice,
        )
        .await
        .body,
    );
    assert_eq!(detail["usedBy"][0]["name"], "podinfo", "{detail}");
    // The lockdown: an alert reports on the tenant's own deployments only.
    let outside = env
        .send_bearer("POST", "/o2dms/v1/notifications", &alice, json!({ "name": "spy", "namespace": "team-a",
            "provider": "slack", "eventSources": [{ "kind": "Kustomization", "name": "*", "namespace": "team-b" }] }))
        .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN, "{}", outside.body);
    assert_eq!(
        parse(&outside.body)["field"],
        "spec.eventSources",
        "{}",
        outside.body
    );

    for path in [
        "/o2dms/v1/notifications/team-a/Alert/podinfo-errors",
        "/o2dms/v1/images/team-a/ImagePolicy/web",
        "/o2dms/v1/sources/team-a/GitRepository/docs",
    ] {
        let deleted = env.send_bearer("DELETE", path, &alice, json!(null)).await;
        assert_eq!(
            deleted.status,
            StatusCode::NO_CONTENT,
            "{path}: {}",
            deleted.body
        );
        until(Duration::from_secs(30), "the object gone", async || {
            env.get_bearer(path, &alice).await.status == StatusCode::NOT_FOUND
        })
        .await;
    }
    let rows = env
        .service
        .query_audit(&env.admin(), &control::audit::AuditFilter::default())
        .await
        .expect("audit")
        .events;
    for action in [
        "source.create",
        "image.create",
        "notification.create",
        "source.delete",
    ] {
        assert!(
            rows.iter()
                .any(|r| r.event.action == action && r.event.actor.subject == "alice"),
            "{action}"
        );
    }
    env.assert_audit_chain_intact().await;
}
