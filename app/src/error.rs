//! The error every server function returns: a status code and a message fit for users. It
//! survives the server-function hop, so pages show what the server meant.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A failed server function, as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    /// The HTTP status the server answered with.
    pub status: u16,
    /// What went wrong and what to do.
    pub message: String,
    /// The form field the error is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl AppError {
    /// The message when the error is about `field`, so a form can show it beside that field.
    pub fn about(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let status = match value {
            ServerFnErrorErr::Request(_) => 503,
            _ => 500,
        };
        Self {
            status,
            message: value.to_string(),
            field: None,
        }
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
        let field = match &error {
            control::Error::Invalid { field, .. }
            | control::Error::OutsideBoundary { field, .. } => Some((*field).to_owned()),
            _ => None,
        };
        Self {
            status,
            message: error.public_message(),
            field,
        }
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
