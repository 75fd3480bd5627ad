//! The site's files under `/pkg`: the precompressed sibling (`.br`, `.gz`) when the browser
//! accepts it, fingerprinted names (`pilothouse.<16 hex>.js`) cached for a year as immutable,
//! and everything else revalidated on each use.

use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use std::path::Path;
use tower_http::services::ServeDir;

/// How long a fingerprinted file may be kept: its name changes with its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Files whose names do not change with their content.
const REVALIDATE: &str = "no-cache";

/// The `/pkg` routes for the site in `site_root`.
pub fn router(site_root: &Path) -> Router<AppState> {
    let files = ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .nest_service("/pkg", files)
        .layer(from_fn(cache_headers))
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let immutable = is_fingerprinted(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if immutable { IMMUTABLE } else { REVALIDATE }),
        );
    }
    response
}

/// Whether a path names a fingerprinted file: `name.<16 hex digits>.ext`.
pub fn is_fingerprinted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let mut parts = name.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(stem), Some(hash), Some(ext), None)
            if !stem.is_empty()
                && !ext.is_empty()
                && hash.len() == 16
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fingerprinted_names_are_immutable() {
        assert!(is_fingerprinted("/pkg/pilothouse.0123456789abcdef.js"));
        assert!(is_fingerprinted("/pkg/pilothouse.0123456789abcdef.wasm"));
        assert!(!is_fingerprinted("/pkg/pilothouse.js"));
        assert!(!is_fingerprinted("/pkg/pilothouse_bg.wasm"));
        assert!(!is_fingerprinted("/pkg/pilothouse.0123456789abcdeg.js"));
        assert!(!is_fingerprinted("/pkg/pilothouse.0123456789abcdef.js.br"));
    }
}
