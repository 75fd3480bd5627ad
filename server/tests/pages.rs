//! The server-rendered layout for a signed-in user: navigation, user menu, footer with the
//! version, hydration scripts, and the 404 page.

mod support;

use axum::http::StatusCode;
use support::TestEnv;

#[tokio::test]
async fn signed_in_pages_have_the_layout_and_load_the_bundle() {
    let env = TestEnv::start("pages", |_| {}).await;
    let cookie = env.login("alice").await;

    let home = env.get("/", Some(&cookie)).await;
    assert_eq!(home.status, StatusCode::OK);
    for section in ["Deployments", "Packages", "Sources", "Audit", "Admin"] {
        let link = format!("href=\"/{}\"", section.to_lowercase());
        assert!(home.body.contains(&link), "navigation lacks {section}");
    }
    assert!(
        home.body
            .contains(&format!("Pilothouse {}", model::build::VERSION)),
        "footer lacks the version"
    );
    assert!(
        home.body.contains("/pkg/pilothouse.js"),
        "no hydration script"
    );
    assert!(
        home.body.contains("/pkg/pilothouse_bg.wasm"),
        "no wasm bundle"
    );
    assert!(
        home.body.contains("data-hydrated=\"false\""),
        "server render must not claim hydration"
    );
    assert!(
        home.body.contains("alice@demo.pilothouse") || home.body.contains(">alice<"),
        "user menu"
    );

    for (path, heading) in [
        ("/deployments", "Deployments"),
        ("/audit", "Audit"),
        ("/admin", "Admin"),
    ] {
        let page = env.get(path, Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.contains(&format!("<h1>{heading}</h1>")),
            "{path} lacks its heading"
        );
    }

    let missing = env.get("/no/such/page", Some(&cookie)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"));
}

#[tokio::test]
async fn the_audit_page_shows_rows_to_whom_may_read_them() {
    let env = TestEnv::start("pages-audit", |_| {}).await;
    let admin = env.login("admin").await;
    let page = env.get("/audit", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-testid=\"audit-table\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("membership.add"),
        "the seeded membership is listed"
    );

    let filtered = env
        .get("/audit?text=tenant.create&outcome=success", Some(&admin))
        .await;
    assert!(filtered.body.contains("tenant.create") && !filtered.body.contains("membership.add"));

    let alice = env.login("alice").await;
    let refused = env.get("/audit", Some(&alice)).await;
    assert!(
        refused
            .body
            .contains("you are neither an auditor nor admin of any tenant"),
        "{}",
        refused.body
    );
}
