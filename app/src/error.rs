//! The error every server function returns: the one error body, whose code says the status
//! and whose message is fit for users. It survives the server-function hop, so pages show
//! what the server meant.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use model::error::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A failed server function, as the browser sees it: the API's one error body
/// (`{"error", "message", "field"}`), so pages read the same shape scripts do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppError(pub ErrorBody);

impl std::ops::Deref for AppError {
    type Target = ErrorBody;
    fn deref(&self) -> &ErrorBody {
        &self.0
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let code = match value {
            ServerFnErrorErr::Request(_) => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        };
        Self(ErrorBody::new(code, value.to_string()))
    }
}

#[cfg(feature = "ssr")]
impl From<control::Error> for AppError {
    /// The one mapping from control errors to what the UI shows; it also sets the response status.
    fn from(error: control::Error) -> Self {
        let status = error.status();
        if status >= 500 {
            leptos::logging::error!("server function failed: {error}");
        }
        if is_server_fn_call()
            && !is_plain_form_post()
            && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
            && let Ok(code) = http::StatusCode::from_u16(status)
        {
            response.set_status(code);
        }
        Self(error.body())
    }
}

/// Whether the request calls a server function over HTTP (`/api/…`). A page being rendered
/// shows a failed read as a message in the page and answers 200 whatever the timing: its
/// resources may resolve before or after the headers are sent.
#[cfg(feature = "ssr")]
fn is_server_fn_call() -> bool {
    leptos::prelude::use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.uri.path().starts_with("/api/"))
}

/// Whether the request is a form posted before hydration. leptos_axum answers those with a
/// redirect back carrying the error; a status set here would replace that redirect, and the
/// page would lose the error it has to show beside the form.
#[cfg(feature = "ssr")]
fn is_plain_form_post() -> bool {
    leptos::prelude::use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}
