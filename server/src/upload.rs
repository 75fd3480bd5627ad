//! The packages page's upload form (`multipart/form-data`, so it works before the page has
//! hydrated): the archive goes to the same `Service` method as the REST upload, and the
//! browser is sent back to the page with the outcome in the address.

use crate::rest::Caller;
use crate::rest::UPLOAD_LIMIT;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::Redirect;
use axum::routing::post;

/// The upload route.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/packages/upload",
        post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
    )
}

fn back(namespace: &str, key: &str, value: &str) -> Redirect {
    Redirect::to(&format!(
        "/packages?namespace={}&{key}={}",
        encode(namespace),
        encode(value)
    ))
}

async fn upload(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    mut form: Multipart,
) -> Redirect {
    let mut namespace = String::new();
    let mut archive = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(bytes) if name == "namespace" => {
                        namespace = String::from_utf8_lossy(&bytes).trim().to_owned();
                    }
                    Ok(bytes) if name == "archive" => archive = bytes.to_vec(),
                    Ok(_) => {}
                    Err(error) => {
                        return back(
                            &namespace,
                            "error",
                            &format!("the upload could not be read: {}", error.body_text()),
                        );
                    }
                }
            }
            Ok(None) => break,
            Err(error) => {
                return back(
                    &namespace,
                    "error",
                    &format!("the upload could not be read: {}", error.body_text()),
                );
            }
        }
    }
    let target = match model::reference::NamespaceRef::in_default(namespace.as_str()) {
        Ok(target) => target,
        Err(error) => return back(&namespace, "error", &error.to_string()),
    };
    match state
        .service
        .upload_package(&ctx, &target, &archive, state.package_limits)
        .await
    {
        Ok(package) => back(&namespace, "uploaded", &package.id),
        Err(error) => back(&namespace, "error", &error.public_message()),
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
