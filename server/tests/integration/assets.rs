//! Static assets as browsers get them: fingerprinted names in the page, the precompressed
//! file for an `Accept-Encoding` that allows it, a year of immutable caching for
//! fingerprinted files and revalidation for the rest, and compressed HTML.

use crate::support::TestEnv;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::io::Read;
use tower::ServiceExt;

const JS_HASH: &str = "0123456789abcdef";
const CSS_HASH: &str = "fedcba9876543210";

/// A built site as `cargo xtask build` leaves it, with recognisable contents.
fn site() -> std::path::PathBuf {
    let root = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("assets-site");
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg");
    std::fs::write(
        pkg.join(format!("pilothouse.{JS_HASH}.js")),
        "plain javascript",
    )
    .expect("js");
    std::fs::write(
        pkg.join(format!("pilothouse.{JS_HASH}.js.br")),
        "brotli bytes",
    )
    .expect("br");
    std::fs::write(pkg.join("pilothouse.css"), "body {}").expect("css");
    std::fs::write(
        root.join("hash.txt"),
        format!("js: {JS_HASH}\nwasm: {JS_HASH}\ncss: {CSS_HASH}\n"),
    )
    .expect("hash.txt");
    root
}

async fn fetch(
    env: &TestEnv,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = env
        .router
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    (parts.status, parts.headers, bytes.to_vec())
}

#[tokio::test]
async fn assets_are_fingerprinted_precompressed_and_cached() {
    let root = site();
    let env = TestEnv::start("assets", |config| config.server.site_root = root.clone()).await;

    let js = format!("/pkg/pilothouse.{JS_HASH}.js");
    let (status, headers, body) = fetch(&env, &js, &[(header::ACCEPT_ENCODING, "gzip, br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_ENCODING],
        "br",
        "the precompressed file is sent"
    );
    assert_eq!(body, b"brotli bytes");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );

    let (_, headers, body) = fetch(&env, &js, &[]).await;
    assert!(
        headers.get(header::CONTENT_ENCODING).is_none(),
        "not to a browser that cannot take it"
    );
    assert_eq!(body, b"plain javascript");

    let (_, headers, _) = fetch(&env, "/pkg/pilothouse.css", &[]).await;
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "no-cache",
        "unfingerprinted names revalidate"
    );

    let cookie = env.login("alice").await;
    let (status, headers, body) = fetch(
        &env,
        "/",
        &[
            (header::COOKIE, cookie.as_str()),
            (header::ACCEPT_ENCODING, "gzip"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_ENCODING],
        "gzip",
        "HTML is compressed"
    );
    let mut html = String::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_string(&mut html)
        .expect("gzip");
    assert!(
        html.contains(&format!("/pkg/pilothouse.{JS_HASH}.js")),
        "the page links the fingerprinted bundle"
    );
    assert!(
        html.contains(&format!("/pkg/pilothouse.{CSS_HASH}.css")),
        "and the fingerprinted stylesheet"
    );
}
