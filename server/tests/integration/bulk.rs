//! Bulk actions through the list page's server function and the REST API: one tracked
//! operation with a step per row, each row its own audited change, refusals and failures
//! that row's result while the others go on.

use crate::support::{PUBLIC_URL, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use control::access::{Grantee, TenantRole};
use control::audit::{AuditFilter, Outcome, Phase};
use serde_json::{Value, json};

const SHOP: &str = "default~team-a~Kustomization~shop";
const PODINFO: &str = "default~team-a~HelmRelease~podinfo";
const ANALYTICS: &str = "default~team-b~Kustomization~analytics";

async fn bulk(env: &TestEnv, cookie: &str, body: Value) -> crate::support::Answer {
    let request = Request::post("/api/bulk_deployments")
        .header(header::COOKIE, cookie)
        .header("origin", PUBLIC_URL)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    env.call(request).await
}

async fn suspended(env: &TestEnv, id: &str) -> (bool, Option<String>) {
    let got = env
        .get_bearer(&format!("/o2dms/v1/deployments/{id}"), &env.bearer("admin"))
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let row: Value = serde_json::from_str(&got.body).expect("json");
    (
        row["state"]["suspended"].as_bool().unwrap_or_default(),
        row["state"]["suspendReason"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn each_row_is_its_own_audited_operation() {
    let env = TestEnv::start_with_cluster("bulk").await;
    let admin = env.admin();
    env.service
        .create_tenant(&admin, "team-b", "Team B")
        .await
        .expect("tenant");
    env.service
        .assign_namespace(&admin, "team-b", "team-b")
        .await
        .expect("namespace");
    env.service
        .add_membership(
            &admin,
            "team-b",
            &Grantee::User("alice".into()),
            TenantRole::Viewer,
        )
        .await
        .expect("viewer");
    let cookie = env.login("alice").await;

    let answer = bulk(
        &env,
        &cookie,
        json!({ "ids": [SHOP, PODINFO, ANALYTICS, "not-an-id"],
                "action": { "action": "suspend", "reason": "quarterly freeze" } }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answered: Value = serde_json::from_str(&answer.body).expect("json");
    let results = answered["Done"]
        .as_array()
        .cloned()
        .expect("the results, within the page's wait");
    let outcomes: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default(),
                r["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (SHOP, "done"),
            (PODINFO, "done"),
            (ANALYTICS, "refused"),
            ("not-an-id", "failed"),
        ]
    );
    let refusal = results[2]["message"].as_str().unwrap_or_default();
    assert!(
        refusal.contains("team-b") && refusal.contains("operator"),
        "the refusal says where and what is missing: {refusal}"
    );
    assert_eq!(
        suspended(&env, SHOP).await,
        (true, Some("quarterly freeze".into()))
    );
    assert!(suspended(&env, PODINFO).await.0);
    assert_eq!(suspended(&env, ANALYTICS).await, (false, None));

    // One operation per row: an intent and a successful outcome for each suspended row, a
    // denial for the refused one.
    let rows = env
        .service
        .query_audit(
            &admin,
            &AuditFilter {
                actor: Some("alice".into()),
                action: Some("deployment.suspend".into()),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events;
    let successes: Vec<_> = rows
        .iter()
        .filter(|e| e.event.phase == Phase::Outcome && e.event.outcome == Some(Outcome::Success))
        .collect();
    assert_eq!(successes.len(), 2, "{rows:#?}");
    let operations: std::collections::BTreeSet<_> =
        successes.iter().map(|e| e.event.operation_id).collect();
    assert_eq!(operations.len(), 2, "two operations, not one");
    let denied: Vec<_> = rows
        .iter()
        .filter(|e| e.event.outcome == Some(Outcome::Denied))
        .collect();
    assert_eq!(denied.len(), 1, "{rows:#?}");
    assert_eq!(denied[0].event.namespace.as_deref(), Some("team-b"));

    // Resume undoes it; an empty or oversized selection is refused as a whole.
    let answer = bulk(
        &env,
        &cookie,
        json!({ "ids": [SHOP, PODINFO], "action": { "action": "resume" } }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(suspended(&env, SHOP).await, (false, None));
    for ids in [vec![], vec![SHOP.to_owned(); model::bulk::MAX_BULK + 1]] {
        let answer = bulk(
            &env,
            &cookie,
            json!({ "ids": ids, "action": { "action": "reconcile" } }),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        assert!(
            answer.body.contains("select between 1 and 100"),
            "{}",
            answer.body
        );
    }
    let answer = bulk(
        &env,
        &cookie,
        json!({ "ids": [SHOP], "action": { "action": "reconcile" } }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("\"done\""), "{}", answer.body);

    // Through REST, a caller that will not wait gets the operation at once; it has a step
    // per row, the results, and is the requester's to see.
    let token = env.bearer("alice");
    let accepted = env
        .send_bearer_preferring(
            "POST",
            "/o2dms/v1/deployments/bulk",
            &token,
            json!({ "ids": [SHOP, ANALYTICS], "action": { "action": "suspend", "reason": "night" } }),
            Some("respond-async"),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let location = accepted.location();
    assert!(location.starts_with("/o2dms/v1/operations/"), "{location}");
    let mut operation = Value::Null;
    for _ in 0..100 {
        let got = env.get_bearer(&location, &token).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        operation = serde_json::from_str(&got.body).expect("json");
        if !matches!(operation["state"].as_str(), Some("running" | "queued")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        operation["state"], "failed",
        "one row was refused: {operation:#}"
    );
    assert_eq!(operation["action"], "deployment.suspend");
    assert_eq!(operation["kind"], "bulk");
    assert_eq!(operation["name"], "2 deployments");
    assert!(
        operation["error"]
            .as_str()
            .is_some_and(|e| e.contains("1 of 2 rows")),
        "{operation:#}"
    );
    let steps: Vec<&str> = operation["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(
        steps[0].starts_with("suspend team-a/shop: done"),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with("suspend team-b/analytics: refused"),
        "{steps:?}"
    );
    assert_eq!(
        operation["result"][1]["outcome"], "refused",
        "{operation:#}"
    );
    assert_eq!(suspended(&env, SHOP).await, (true, Some("night".into())));
    let theirs = env.get_bearer(&location, &env.bearer("bob")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);

    // With Prefer: wait, the results themselves.
    let waited = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/bulk",
            &token,
            json!({ "ids": [SHOP], "action": { "action": "resume" } }),
        )
        .await;
    assert_eq!(waited.status, StatusCode::OK, "{}", waited.body);
    let results: Value = serde_json::from_str(&waited.body).expect("json");
    assert_eq!(results[0]["outcome"], "done", "{results:#}");
    assert_eq!(suspended(&env, SHOP).await, (false, None));
}
