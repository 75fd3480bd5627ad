//! The server-rendered layout: navigation, footer with the version, hydration scripts, 404.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use server::config::Config;
use server::state::AppState;
use tower::ServiceExt;

/// A router whose pool is never used by page rendering (it connects lazily).
fn router() -> axum::Router {
    let pool = control::store::pool("postgres://postgres@127.0.0.1:1/unused", 1).unwrap();
    server::routes::router(AppState::new(&Config::default(), pool))
}

async fn get(path: &str) -> (StatusCode, String) {
    let response = router()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 22).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn home_page_has_the_layout_and_loads_the_bundle() {
    let (status, html) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    for section in ["Deployments", "Packages", "Sources", "Audit", "Admin"] {
        let link = format!("href=\"/{}\"", section.to_lowercase());
        assert!(html.contains(&link), "navigation lacks {section}");
    }
    assert!(
        html.contains(&format!("Pilothouse {}", model::build::VERSION)),
        "footer lacks the version"
    );
    assert!(html.contains("/pkg/pilothouse.js"), "no hydration script");
    assert!(html.contains("/pkg/pilothouse_bg.wasm"), "no wasm bundle");
    assert!(
        html.contains("data-hydrated=\"false\""),
        "server render must not claim hydration"
    );
}

#[tokio::test]
async fn each_section_renders_its_heading() {
    for (path, heading) in [
        ("/deployments", "Deployments"),
        ("/audit", "Audit"),
        ("/admin", "Admin"),
    ] {
        let (status, html) = get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            html.contains(&format!("<h1>{heading}</h1>")),
            "{path} lacks its heading"
        );
    }
}

#[tokio::test]
async fn unknown_paths_are_404_with_a_way_back() {
    let (status, html) = get("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
}
