//! The values editor's server functions on a Flux HelmRelease: typed values are checked with
//! their place, previewed as a values diff, and applied as one audited update; a
//! Kustomization has no values.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use control::audit::{AuditFilter, Outcome};
use serde_json::Value;
use support::{PUBLIC_URL, TestEnv, urlencode};

const PODINFO: &str = "default~team-a~HelmRelease~podinfo";

/// Calls a values server function with `id` and `text` (and, to apply, no take-over).
async fn call(
    env: &TestEnv,
    cookie: &str,
    endpoint: &str,
    id: &str,
    text: &str,
) -> support::Answer {
    let force = if endpoint == "apply_values" {
        "&force=false"
    } else {
        ""
    };
    let body = format!("id={}&text={}{force}", urlencode(id), urlencode(text));
    send(env, cookie, endpoint, &body).await
}

async fn send(env: &TestEnv, cookie: &str, endpoint: &str, body: &str) -> support::Answer {
    let request = Request::post(format!("/api/{endpoint}"))
        .header(header::COOKIE, cookie)
        .header("origin", PUBLIC_URL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .expect("request");
    env.call(request).await
}

#[tokio::test]
async fn check_preview_and_apply_values() {
    let env = TestEnv::start_with_cluster("values-editor").await;
    let alice = env.login("alice").await;

    let broken = call(
        &env,
        &alice,
        "check_values",
        PODINFO,
        "replicaCount: 2\nimage: [oops\n",
    )
    .await;
    assert_eq!(broken.status, StatusCode::OK, "{}", broken.body);
    let problems: Vec<Value> = serde_json::from_str(&broken.body).expect("json");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0]["line"].as_u64().is_some() && problems[0]["column"].as_u64().is_some());
    let fine = call(&env, &alice, "check_values", PODINFO, "replicaCount: 3\n").await;
    assert_eq!(fine.body, "[]");

    let preview = call(&env, &alice, "preview_values", PODINFO, "replicaCount: 3\n").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let preview: Value = serde_json::from_str(&preview.body).expect("json");
    let diff = preview["valuesDiff"].as_str().unwrap_or_default();
    assert!(
        diff.contains("-replicaCount: 2") && diff.contains("+replicaCount: 3"),
        "{diff}"
    );
    assert!(preview["manifestDiff"].is_null());
    assert!(
        preview["note"]
            .as_str()
            .unwrap_or_default()
            .contains("values diff")
    );

    // A refused apply changes nothing; a good one is one audited update.
    let refused = call(&env, &alice, "apply_values", PODINFO, "replicaCount: [\n").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    // The demo's objects come from Git: kustomize-controller owns the values, so taking them
    // over is an explicit choice.
    let owned = call(&env, &alice, "apply_values", PODINFO, "replicaCount: 3\n").await;
    assert_eq!(owned.status, StatusCode::CONFLICT, "{}", owned.body);
    assert!(
        owned.body.contains("spec.values.replicaCount"),
        "{}",
        owned.body
    );
    let body = format!(
        "id={}&text={}&force=true",
        urlencode(PODINFO),
        urlencode("replicaCount: 3\n")
    );
    let applied = send(&env, &alice, "apply_values", &body).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    let values = env
        .get_bearer(
            &format!("/o2dms/v1/deployments/{PODINFO}/values"),
            &env.bearer("alice"),
        )
        .await;
    let values: Value = serde_json::from_str(&values.body).expect("json");
    assert_eq!(values["replicaCount"], 3, "{values}");
    let rows = env
        .service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                actor: Some("alice".into()),
                action: Some("deployment.update".into()),
                outcome: Some(Outcome::Success),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events;
    assert_eq!(rows.len(), 1, "{rows:#?}");

    let shop = call(
        &env,
        &alice,
        "check_values",
        "default~team-a~Kustomization~shop",
        "a: 1",
    )
    .await;
    assert_eq!(
        shop.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        shop.body
    );
    assert!(shop.body.contains("no values"), "{}", shop.body);
}
