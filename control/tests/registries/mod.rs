//! Chart registries for the Helm adapter's tests, served in process: an HTTP chart repository
//! that wants basic authentication, and a minimal OCI registry holding one chart.

use crate::charts::demo_chart;
use serde_json::json;
use std::sync::Arc;

/// A chart repository over HTTP that wants basic authentication, as ChartMuseum or Harbor do.
pub async fn chart_repository(
    user: &'static str,
    password: &'static str,
) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    use base64::Engine;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let chart = demo_chart("demo", "0.3.0");
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&chart))
    };
    let index = format!(
        "apiVersion: v1\nentries:\n  demo:\n  - apiVersion: v2\n    name: demo\n    version: 0.3.0\n    digest: {digest}\n    created: \"2026-11-23T00:00:00Z\"\n    urls:\n    - {url}/demo-0.3.0.tgz\ngenerated: \"2026-11-23T00:00:00Z\"\n"
    );
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let (index, chart, expected, log) =
            (index.clone(), chart.clone(), expected.clone(), log.clone());
        async move {
            let auth = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if let Ok(mut log) = log.lock() {
                log.push(format!("{} {}", uri.path(), auth == expected));
            }
            if auth != expected {
                return (StatusCode::UNAUTHORIZED, "authentication required").into_response();
            }
            match uri.path() {
                "/index.yaml" => index.into_response(),
                "/demo-0.3.0.tgz" => chart.into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

/// A minimal OCI registry holding one chart, as `helm push` would leave it.
pub async fn oci_registry() -> String {
    use axum::http::{Method, StatusCode, header};
    use axum::response::IntoResponse;
    use sha2::Digest;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let chart = demo_chart("demo", "0.4.0");
    let config = br#"{"apiVersion":"v2","name":"demo","version":"0.4.0"}"#.to_vec();
    let digest = |bytes: &[u8]| format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": digest(&config), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": digest(&chart), "size": chart.len() }],
    })
    .to_string()
    .into_bytes();
    let manifest_digest = digest(&manifest);
    let blobs: std::collections::HashMap<String, Vec<u8>> = [
        (digest(&config), config.clone()),
        (digest(&chart), chart.clone()),
    ]
    .into();
    let app = axum::Router::new().fallback(move |method: Method, uri: axum::http::Uri| {
        let (manifest, manifest_digest, blobs) =
            (manifest.clone(), manifest_digest.clone(), blobs.clone());
        async move {
            let path = uri.path();
            let _ = method;
            if path == "/v2/" || path == "/v2" {
                return StatusCode::OK.into_response();
            }
            if let Some(reference) = path.strip_prefix("/v2/charts/demo/manifests/") {
                if reference == "0.4.0" || reference == manifest_digest {
                    return (
                        [
                            (
                                header::CONTENT_TYPE,
                                "application/vnd.oci.image.manifest.v1+json".to_owned(),
                            ),
                            (
                                header::HeaderName::from_static("docker-content-digest"),
                                manifest_digest.clone(),
                            ),
                        ],
                        manifest,
                    )
                        .into_response();
                }
                return StatusCode::NOT_FOUND.into_response();
            }
            if let Some(blob) = path
                .strip_prefix("/v2/charts/demo/blobs/")
                .and_then(|d| blobs.get(d))
            {
                return (
                    [(header::CONTENT_TYPE, "application/octet-stream")],
                    blob.clone(),
                )
                    .into_response();
            }
            StatusCode::NOT_FOUND.into_response()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    host
}
