//! What every server function needs from the request: who is asking and the control plane.

use crate::error::AppError;
use axum::Extension;
use control::{RequestContext, Service};
use leptos::prelude::use_context;

/// The caller (attached by the server's authentication gate) and the `Service` to ask.
pub async fn caller() -> Result<(RequestContext, Service), AppError> {
    let Extension(ctx): Extension<RequestContext> = leptos_axum::extract().await.map_err(|_| {
        control::Error::Unauthenticated("not signed in: reload the page to sign in".into())
    })?;
    let service = use_context::<Service>().ok_or_else(|| {
        control::Error::internal("the control plane is not available to this page")
    })?;
    Ok((ctx, service))
}

/// The deployment an id from a form or URL names, or a 400 saying why it cannot be read.
pub fn deployment(id: &str) -> Result<model::reference::DeploymentRef, AppError> {
    id.parse::<model::reference::DeploymentRef>()
        .map_err(|e| AppError::from(control::Error::from(e)))
}

/// A namespace named in a form, or a 422 naming the field.
pub fn namespace(name: &str) -> Result<model::reference::NamespaceRef, AppError> {
    model::reference::NamespaceRef::in_default(name.trim())
        .map_err(|e| AppError::from(control::Error::invalid("namespace", e.reason)))
}

/// How long a page waits for a long change (anything helm runs) before it shows the
/// operation to follow instead: errors found before helm starts still come back to the form.
pub const PAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Makes `change` for a page: its outcome (through `done`) when it ends within
/// [`PAGE_WAIT`], otherwise the operation it runs on as.
pub async fn change_for_page<T>(
    ctx: &RequestContext,
    service: &Service,
    change: control::service::change::Change,
    done: impl FnOnce(control::service::change::ChangeOutcome) -> control::Result<T>,
) -> Result<model::operation::Answered<T>, AppError> {
    use control::service::tracked::Wait;
    Ok(service
        .change(ctx, change, Wait::UpTo(PAGE_WAIT))
        .await?
        .try_map(done)?)
}
