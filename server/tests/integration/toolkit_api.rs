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
