//! API tokens made over REST, for the tests that use them.

use super::{Answer, TestEnv};
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Makes a token with `body` as `caller`; returns the whole answer.
pub async fn make(env: &TestEnv, caller: &str, body: Value) -> Answer {
    env.send_bearer("POST", "/o2dms/v1/tokens", caller, body)
        .await
}

/// The secret and the id of a token `answer` made.
pub fn secret_of(answer: &Answer) -> (String, String) {
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).expect("JSON");
    let secret = body["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("ph_") && secret.len() > 40, "{secret}");
    (secret, body["token"]["id"].as_str().expect("id").to_owned())
}

/// A read-only token of `maker`'s named `dashboards`, for a week.
pub async fn read_only_token(env: &TestEnv, maker: &str) -> String {
    let made = make(
        env,
        maker,
        json!({ "name": "dashboards", "readOnly": true, "expiresInDays": 7 }),
    )
    .await;
    secret_of(&made).0
}

/// Makes dave an admin of team-a, and a service token for `service:team-a:deployer` as him.
pub async fn service_token(env: &TestEnv) -> (String, String, String) {
    env.grant("team-a", "dave", control::access::TenantRole::Admin)
        .await;
    let dave = env.bearer("dave");
    let (service, service_id) = secret_of(
        &make(
            env,
            &dave,
            json!({ "name": "ci", "tenant": "team-a", "service": "deployer" }),
        )
        .await,
    );
    (dave, service, service_id)
}
