//! Why sign-in or authentication failed, and how each failure is shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use model::error::{ErrorBody, ErrorCode};

/// A failed sign-in, token check or CSRF check.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No identity provider is configured.
    #[error("sign-in is not configured: set oidc.issuer (PILOTHOUSE_OIDC_ISSUER)")]
    NotConfigured,
    /// A configured URL is not a valid URL.
    #[error("invalid {what} URL {value:?}: {reason}")]
    BadUrl {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The provider could not be reached or described itself wrongly.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The callback came without a matching login in this session: expired, replayed or forged.
    #[error("this sign-in has expired or was already used")]
    NoPendingLogin,
    /// The `state` parameter does not match the one this session sent.
    #[error("the sign-in response does not belong to this browser session (state mismatch)")]
    StateMismatch,
    /// The provider refused the sign-in.
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The authorization code could not be exchanged.
    #[error("the identity provider did not accept the sign-in code: {0}")]
    CodeExchange(String),
    /// An ID token or bearer token failed verification.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// A state-changing request without a valid CSRF token or same-origin header.
    #[error("cross-site request refused: reload the page and try again")]
    Csrf,
    /// The session store failed.
    #[error("session store unavailable: {0}")]
    Session(String),
}

impl AuthError {
    /// The one error body, for callers that read JSON (the API and server functions).
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(
            ErrorCode::of_status(self.status().as_u16()),
            self.to_string(),
        )
    }

    /// The answer for a request to `path`: the JSON error body where JSON is expected (the
    /// API, server functions), else a page that says what to do next.
    pub fn answer_for(self, path: &str) -> Response {
        if super::guard::is_api(path) {
            tracing::warn!(error = %self, "authentication failed");
            return (self.status(), Json(self.body())).into_response();
        }
        self.into_response()
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::NotConfigured | Self::Unavailable(_) | Self::Session(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BadUrl { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::NoPendingLogin
            | Self::StateMismatch
            | Self::Refused(_)
            | Self::CodeExchange(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Browser-facing failures render a page that says what to do next.
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self, "authentication failed");
        let message = html_escape(&self.to_string());
        let body = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in problem · Pilothouse</title>\
             <link rel=\"stylesheet\" href=\"/pkg/pilothouse.css\"></head><body><main class=\"main\">\
             <h1>Sign-in problem</h1><p role=\"alert\">{message}.</p>\
             <p><a href=\"/auth/login\">Sign in again</a></p></main></body></html>"
        );
        (self.status(), Html(body)).into_response()
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
