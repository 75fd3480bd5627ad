//! `/healthz` and `/readyz` against a real, private Postgres that the test stops.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use server::config::Config;
use server::state::AppState;
use testkit::postgres::PrivatePostgres;
use tower::ServiceExt;

async fn get(router: &axum::Router, path: &str) -> (StatusCode, serde_json::Value) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn readyz_follows_the_database_and_its_migrations() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("readyz-pg");
    let mut pg = PrivatePostgres::start(&dir, true).unwrap();
    pg.ensure_database("pilothouse").unwrap();
    let pool = control::store::pool(&pg.url("pilothouse"), 2).unwrap();
    let state = AppState::new(&Config::default(), pool.clone(), Default::default()).unwrap();
    let draining = state.draining.clone();
    let router = server::routes::router(state);

    // Reachable, but nothing applied yet: not ready, and the reason says why.
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "not ready");
    assert!(
        body["reason"].as_str().unwrap().contains("is not applied"),
        "{body}"
    );

    control::store::migrate(&pool).await.unwrap();
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["leader"]["leading"], true, "alone, it leads: {body}");

    // Shutdown fails readiness first, whatever else holds.
    draining.cancel();
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["reason"], "shutting down");
    let router = server::routes::router(
        AppState::new(&Config::default(), pool.clone(), Default::default()).unwrap(),
    );

    pg.stop().unwrap();
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["reason"], "database unreachable");

    // An API token cannot be checked without the database: that is 503 (try again), never
    // 401 (which tells a client its credentials are bad).
    let answer = router
        .clone()
        .oneshot(
            Request::get("/o2dms/v1/deployments")
                .header(
                    "authorization",
                    "Bearer ph_0123456789abcdef0123456789abcdef",
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    let bytes = to_bytes(answer.into_body(), 1 << 20).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"], "unavailable", "{body}");

    // Liveness does not depend on the database.
    let (status, body) = get(&router, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], model::build::VERSION);
}

#[tokio::test]
async fn migrations_fail_with_a_clear_error_when_the_database_is_unreachable() {
    let port = testkit::ports::free_port().unwrap();
    let pool =
        control::store::pool(&format!("postgres://postgres@127.0.0.1:{port}/none"), 1).unwrap();
    let error = control::store::migrate(&pool).await.unwrap_err();
    assert!(
        error.to_string().starts_with("database migration failed"),
        "{error}"
    );
}
