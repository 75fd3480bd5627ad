//! The server-rendered layout for a signed-in user: navigation, user menu, footer with the
//! version, hydration scripts, and the 404 page.

use crate::support::TestEnv;
use axum::http::StatusCode;

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

#[tokio::test]
async fn every_response_carries_the_security_headers_and_scripts_carry_the_nonce() {
    let env = TestEnv::start("security-headers", |_| {}).await;
    let cookie = env.login("alice").await;
    let home = env.get("/", Some(&cookie)).await;
    let header = |answer: &crate::support::Answer, name: &str| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let policy = header(&home, "content-security-policy");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_default()
        .to_owned();
    assert!(nonce.len() >= 22, "a per-response nonce: {policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let scripts = home.body.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        home.body.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every inline script carries this response's nonce"
    );
    let again = env.get("/", Some(&cookie)).await;
    assert_ne!(header(&again, "content-security-policy"), policy);
    for answer in [
        &home,
        &env.get("/healthz", None).await,
        &env.get("/api/v1/me", None).await,
    ] {
        assert_eq!(header(answer, "x-content-type-options"), "nosniff");
        assert_eq!(
            header(answer, "referrer-policy"),
            "strict-origin-when-cross-origin"
        );
        assert!(header(answer, "content-security-policy").contains("default-src 'self'"));
        assert!(
            header(answer, "strict-transport-security").is_empty(),
            "no HSTS over http"
        );
    }
}

#[tokio::test]
async fn https_deployments_get_hsts() {
    let env = TestEnv::start("security-hsts", |config| {
        config.server.public_url = "https://pilothouse.example.com".into();
    })
    .await;
    let answer = env.get("/healthz", None).await;
    assert!(
        answer
            .headers
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("max-age=")),
        "{:?}",
        answer.headers
    );
}
