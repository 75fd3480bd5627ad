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

/// One person's budgets are keyed on their subject, not on each token they mint: fifty tokens
/// of dave's record no more refusals than dave alone may, and the fifty-first token is not
/// made. Request ids that are too long or hostile are replaced before they reach the record.
#[tokio::test]
async fn tokens_share_their_owners_budget_and_request_ids_are_bounded() {
    let env = TestEnv::start("owner-budgets", |config| {
        config.tokens.max_live_per_user = 50;
    })
    .await;
    let dave = env.bearer("dave");
    let mut secrets = Vec::new();
    for n in 0..50 {
        let made = env
            .send_bearer(
                "POST",
                "/o2dms/v1/tokens",
                &dave,
                json!({ "name": format!("t{n}") }),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let body: serde_json::Value = serde_json::from_str(&made.body).expect("json");
        secrets.push(body["secret"].as_str().expect("secret").to_owned());
    }
    let refused = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tokens",
            &dave,
            json!({ "name": "one-more" }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("tokens.maxLivePerUser"),
        "{}",
        refused.body
    );

    // Each token tries what dave may not do: creating a tenant.
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for secret in &secrets {
        let answer = env
            .send_bearer(
                "POST",
                "/o2dms/v1/tenants",
                secret,
                json!({ "slug": "nope" }),
            )
            .await;
        statuses.push(answer.status);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let recorded = env
        .service
        .query_audit(
            &env.admin(),
            &control::audit::AuditFilter {
                actor: Some("dave".into()),
                outcome: Some(control::audit::Outcome::Denied),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events
        .len();
    // The budget: a burst of 30, then one every 2 s.
    let budget = 30 + (elapsed / 2.0).ceil() as usize;
    assert!(
        recorded <= budget,
        "{recorded} refusals recorded for dave's fifty tokens; the budget is {budget}"
    );
    assert!(recorded >= 30, "the burst is recorded: {recorded}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::FORBIDDEN),
        "every attempt is refused, recorded or not: {statuses:?}"
    );

    // A 300 KB request id, and one with a newline, are replaced by fresh ones; a good one
    // is kept.
    let admin = env.bearer("admin");
    for (sent, kept) in [
        ("a".repeat(300 * 1024), false),
        ("not an id; rm -rf".to_owned(), false),
        ("req-42.retry_1".to_owned(), true),
    ] {
        let slug = format!("rid-{}", sent.len());
        let request = axum::http::Request::post("/o2dms/v1/tenants")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-request-id", sent.as_bytes())
            .body(axum::body::Body::from(json!({ "slug": slug }).to_string()))
            .expect("request");
        let answer = env.call(request).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        let rows = env
            .service
            .query_audit(
                &env.admin(),
                &control::audit::AuditFilter {
                    action: Some("tenant.create".into()),
                    limit: Some(500),
                    ..Default::default()
                },
            )
            .await
            .expect("audit")
            .events;
        let row = rows
            .iter()
            .find(|r| r.event.tenant.as_deref() == Some(slug.as_str()))
            .expect("the create's row");
        let id = row.event.request_id.clone().unwrap_or_default();
        if kept {
            assert_eq!(id, sent);
        } else {
            assert!(
                id.len() == 36 && uuid::Uuid::parse_str(&id).is_ok(),
                "replaced by a fresh id: {} characters",
                id.len()
            );
        }
    }
}
