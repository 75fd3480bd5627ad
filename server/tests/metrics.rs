//! `/metrics`: Prometheus text that moves. A request raises the HTTP counter of its route
//! template, a reconcile the adapter counter; watch caches, audit appends and live streams
//! are reported. The separate `server.metricsListen` is checked on real processes in
//! `integration/leader.rs`.
//!
//! Its own test binary: the metrics registry is global to a process, and the other
//! integration tests would move the same series while these read them.

#[path = "integration/support/mod.rs"]
mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::TestEnv;

/// The value of the sample of `name` carrying every one of `labels` (`key="value"`), if any.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.split(['{', ' '])
                .next()
                .is_some_and(|metric| metric == name)
        })
        .find(|line| labels.iter().all(|l| line.contains(l)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// `/metrics` on the main listener, as the bootstrap platform-admin.
async fn scrape(env: &TestEnv) -> String {
    let answer = env.get_bearer("/metrics", &env.bearer("admin")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn the_main_listener_serves_metrics_to_platform_admins_only() {
    let env = TestEnv::start("metrics-access", |_| {}).await;
    let anonymous = env.get("/metrics", None).await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.body
    );
    let body: serde_json::Value = serde_json::from_str(&anonymous.body).expect("the error body");
    assert_eq!(body["error"], "unauthorized");
    let tenant = env.get_bearer("/metrics", &env.bearer("alice")).await;
    assert_eq!(tenant.status, StatusCode::FORBIDDEN, "{}", tenant.body);
    assert!(
        scrape(&env)
            .await
            .contains("pilothouse_http_requests_total")
    );
}

#[tokio::test]
async fn requests_and_reconciles_move_the_counters() {
    let env = TestEnv::start_with_cluster("metrics").await;
    let healthz = [r#"route="/healthz""#, r#"method="GET""#, r#"status="200""#];
    let before = sample(
        &scrape(&env).await,
        "pilothouse_http_requests_total",
        &healthz,
    )
    .unwrap_or(0.0);
    for _ in 0..3 {
        assert_eq!(env.get("/healthz", None).await.status, StatusCode::OK);
    }
    let text = scrape(&env).await;
    assert_eq!(
        sample(&text, "pilothouse_http_requests_total", &healthz),
        Some(before + 3.0),
        "{text}"
    );
    assert!(
        sample(&text, "pilothouse_http_request_seconds_bucket", &healthz).is_some(),
        "latency histogram: {text}"
    );
    // Route templates, never object names.
    let page = env
        .get_bearer("/o2dms/v1/deployments/team-a/podinfo", &env.bearer("alice"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let text = scrape(&env).await;
    assert!(
        !text.contains("podinfo"),
        "an object name became a label: {text}"
    );
    assert!(!text.contains("alice"), "a user became a label: {text}");

    let reconcile = [
        "pilothouse_adapter_operations_total",
        r#"operation="deployment.reconcile""#,
    ];
    let ok = [reconcile[1], r#"outcome="ok""#];
    let before = sample(&text, reconcile[0], &ok).unwrap_or(0.0);
    let reconciled = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/podinfo/reconcile",
            &env.bearer("alice"),
            json!({}),
        )
        .await;
    assert_eq!(reconciled.status, StatusCode::OK, "{}", reconciled.body);
    let text = scrape(&env).await;
    assert_eq!(
        sample(&text, reconcile[0], &ok),
        Some(before + 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "pilothouse_adapter_operation_seconds_count", &ok).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // A source's change is counted under the Flux adapter that made it.
    let source = [
        r#"adapter="flux""#,
        r#"operation="source.reconcile""#,
        r#"outcome="ok""#,
    ];
    let before = sample(&text, reconcile[0], &source).unwrap_or(0.0);
    let fetched = env
        .send_bearer(
            "POST",
            "/o2dms/v1/sources/team-a/GitRepository/shop/reconcile",
            &env.bearer("alice"),
            json!({}),
        )
        .await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.body);
    let text = scrape(&env).await;
    assert_eq!(
        sample(&text, reconcile[0], &source),
        Some(before + 1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "pilothouse_audit_appends_total",
            &[r#"outcome="ok""#]
        )
        .is_some_and(|n| n >= 2.0),
        "the reconcile's intent and outcome rows: {text}"
    );
    assert_eq!(
        sample(&text, "pilothouse_watch_synced", &[r#"kind="HelmRelease""#]),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "pilothouse_watch_objects",
            &[r#"kind="HelmRelease""#]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
}
