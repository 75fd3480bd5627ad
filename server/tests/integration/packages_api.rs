//! Packages over REST: upload a chart archive, list it, install a Helm release from it by
//! package id (as the reference's REST example does), preview a scale, and refuse hostile or
//! oversized uploads.

use crate::charts;
use crate::support::TestEnv;
use axum::http::StatusCode;
use serde_json::{Value, json};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn packages_over_rest() {
    let env = TestEnv::start_with_cluster("rest-packages").await;
    let issuer = env.idp.issuer();
    let admin = env.mint(json!({ "iss": issuer, "aud": "pilothouse", "sub": "admin", "iat": now(), "exp": now() + 300 }));
    let alice = env.mint(json!({ "iss": issuer, "aud": "pilothouse", "sub": "alice", "iat": now(), "exp": now() + 300 }));

    let upload = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &admin,
            charts::demo_chart("my-cnf", "1.0.0"),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    assert_eq!(parse(&upload.body)["id"], "my-cnf-1.0.0");
    let by_operator = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &alice,
            charts::demo_chart("x", "1.0.0"),
        )
        .await;
    assert_eq!(
        by_operator.status,
        StatusCode::FORBIDDEN,
        "uploads need admin on the tenant"
    );
    let slip = charts::archive(&[charts::Entry::File("evil/../../x", b"boom")]);
    let hostile = env
        .send_bytes("POST", "/o2dms/v1/packages?namespace=team-a", &admin, slip)
        .await;
    assert_eq!(hostile.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        parse(&hostile.body)["message"]
            .as_str()
            .is_some_and(|m| m.contains("leaves the chart directory"))
    );
    let huge = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &admin,
            vec![0x1f; 50 * 1024 * 1024],
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    let listed = parse(&env.get_bearer("/o2dms/v1/packages", &alice).await.body);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    // The reference's REST example: a release from a package id.
    let created = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice, json!({ "name": "my-cnf-prod", "packageId": "my-cnf-1.0.0", "namespace": "team-a", "values": { "replicaCount": 3 } }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(parse(&created.body)["adapter"], "helm");
    let values = env
        .get_bearer("/o2dms/v1/deployments/team-a/my-cnf-prod/values", &alice)
        .await;
    assert_eq!(parse(&values.body)["replicaCount"], 3, "{}", values.body);
    let preview = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/my-cnf-prod/preview",
            &alice,
            json!({ "replicas": 5 }),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("+  replicas: \"5\""),
        "{}",
        preview.body
    );
    let in_use = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/packages/team-a/my-cnf-1.0.0",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    let bad_name = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            json!({ "name": "--set=x", "packageId": "my-cnf-1.0.0", "namespace": "team-a" }),
        )
        .await;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY);
}
