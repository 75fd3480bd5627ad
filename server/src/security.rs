//! Security headers on every response: a Content-Security-Policy whose scripts run only with
//! this response's nonce (Leptos' hydration scripts carry it) or from this origin, framing
//! refused, no MIME sniffing, a strict referrer policy, and HSTS when served over https.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::{provide_context, use_context};

/// The nonce of one response, for the page renderer.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Whether responses get Strict-Transport-Security (the public URL is https).
#[derive(Debug, Clone, Copy)]
pub struct Hsts(pub bool);

/// The policy for a response whose inline scripts carry `nonce`.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
}

/// The middleware: makes the nonce, lets the page use it, then sets the headers.
pub async fn headers(State(hsts): State<Hsts>, mut request: Request, next: Next) -> Response {
    let nonce = crate::auth::session::random_token();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        &content_security_policy(&nonce),
    );
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    if hsts.0 {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// In the page renderer's context: the request's nonce becomes Leptos' nonce, so the
/// hydration scripts carry the one the header names.
pub fn provide_page_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}
