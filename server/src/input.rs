//! The edge's check of the text a request carries, before any handler reads it: no control
//! characters (but tab and newlines) and no string longer than any field takes, in the path,
//! the query or a JSON or form body. Such a request gets 400 in the one error body, naming
//! where the text was, and is recorded in the audit log as refused; nothing else happens.
//! Postgres would refuse a NUL later, as a 5xx that blames the database for the input.

use crate::rest::{ApiError, UPLOAD_LIMIT};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use control::validate::{check_string, json_strings};
use control::{Error, RequestContext, Result};

/// The middleware; runs after authentication, so a refusal names who sent it.
pub async fn screen(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let checked = match check_uri(&parts.uri) {
        Err(refusal) => Err(refusal),
        Ok(()) if text_body(&parts.headers) => match axum::body::to_bytes(body, UPLOAD_LIMIT).await
        {
            Ok(bytes) => check_body(&parts.headers, &bytes).map(|()| Body::from(bytes)),
            Err(_) => {
                return ApiError::from(Error::TooLarge {
                    limit: UPLOAD_LIMIT,
                })
                .into_response();
            }
        },
        Ok(()) => Ok(body),
    };
    match checked {
        Ok(body) => next.run(Request::from_parts(parts, body)).await,
        Err(refusal) => {
            if let Some(ctx) = parts.extensions.get::<RequestContext>() {
                state
                    .service
                    .record_unreadable_request(
                        ctx,
                        parts.method.as_str(),
                        parts.uri.path(),
                        &refusal,
                    )
                    .await;
            }
            ApiError::from(refusal).into_response()
        }
    }
}

/// The decoded path and every decoded query parameter.
fn check_uri(uri: &Uri) -> Result<()> {
    let path = percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy();
    check_string("path", &path)?;
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        // A hostile name is reported as the query, never echoed.
        check_string("query", &name)?;
        check_string(&name, &value)?;
    }
    Ok(())
}

/// Whether the body is text this screen reads: JSON, or a form (server functions).
fn text_body(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|t| {
        t.starts_with("application/json") || t.starts_with("application/x-www-form-urlencoded")
    })
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// A JSON body's every key and string; a form's every field. A body that does not parse is
/// left to the handler, which says what is wrong with it.
fn check_body(headers: &HeaderMap, bytes: &Bytes) -> Result<()> {
    if content_type(headers).is_some_and(|t| t.starts_with("application/json")) {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(value) => json_strings(&value, ""),
            Err(_) => Ok(()),
        }
    } else {
        for (name, value) in url::form_urlencoded::parse(bytes) {
            check_string("body", &name)?;
            check_string(&name, &value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_queries_and_bodies_are_read_for_control_characters() {
        let uri: Uri = "/o2dms/v1/deployments/team-a%00x".parse().unwrap();
        assert!(matches!(check_uri(&uri), Err(Error::Unreadable { field, .. }) if field == "path"));
        let uri: Uri = "/o2dms/v1/audit/events?actor=a%1Bb".parse().unwrap();
        assert!(
            matches!(check_uri(&uri), Err(Error::Unreadable { field, .. }) if field == "actor")
        );
        let uri: Uri = "/o2dms/v1/audit/events?text=line%0Anext".parse().unwrap();
        assert!(check_uri(&uri).is_ok(), "a newline is text");

        let mut json = HeaderMap::new();
        json.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let bad = Bytes::from_static(br#"{"reason":"a\u0000b"}"#);
        assert!(
            matches!(check_body(&json, &bad), Err(Error::Unreadable { field, .. }) if field == "reason")
        );
        assert!(check_body(&json, &Bytes::from_static(b"{not json")).is_ok());
        let mut form = HeaderMap::new();
        form.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let bad = Bytes::from_static(b"id=x&confirm=a%07b");
        assert!(
            matches!(check_body(&form, &bad), Err(Error::Unreadable { field, .. }) if field == "confirm")
        );
    }
}
