//! Per-principal rate limits over REST: a burst of changes beyond the limit gets 429 with
//! Retry-After and changes nothing; other principals and reads are not held back; exports
//! have their own, smaller budget.

use crate::support::TestEnv;
use axum::http::{StatusCode, header};
use serde_json::json;

#[tokio::test]
async fn a_burst_of_changes_is_held_back_with_retry_after() {
    let env = TestEnv::start("rate-limits", |config| {
        config.limits.changes_per_minute = 3;
        config.limits.expensive_reads_per_minute = 2;
    })
    .await;
    let admin = env.bearer("admin");
    let mut statuses = Vec::new();
    let mut held_back = None;
    for n in 0..6 {
        let answer = env
            .send_bearer(
                "POST",
                "/o2dms/v1/tenants",
                &admin,
                json!({ "slug": format!("burst-{n}") }),
            )
            .await;
        statuses.push(answer.status);
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            held_back.get_or_insert(answer);
        }
    }
    assert_eq!(
        statuses,
        [StatusCode::CREATED; 3]
            .into_iter()
            .chain([StatusCode::TOO_MANY_REQUESTS; 3])
            .collect::<Vec<_>>()
    );
    let answer = held_back.expect("a 429");
    let wait: u64 = answer
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=20).contains(&wait), "{wait}");
    assert!(answer.body.contains("rate_limited"), "{}", answer.body);

    // Nothing was made by the refused calls; reads still pass.
    let tenants = env.get_bearer("/o2dms/v1/tenants", &admin).await;
    assert_eq!(tenants.status, StatusCode::OK);
    assert!(
        tenants.body.contains("burst-2") && !tenants.body.contains("burst-3"),
        "{}",
        tenants.body
    );

    // Another principal has a budget of their own.
    let dave = env.bearer("dave");
    let answer = env
        .send_bearer("POST", "/o2dms/v1/tokens", &dave, json!({ "name": "ci" }))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);

    // Exports: two, then held back.
    let mut exports = Vec::new();
    for _ in 0..3 {
        exports.push(
            env.get_bearer("/o2dms/v1/audit/export", &admin)
                .await
                .status,
        );
    }
    assert_eq!(
        exports,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}
