//! `/o2dms/v1/packages` (chart archives: upload, list, get, delete) and Helm previews.

use super::{ApiError, body_error};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use control::RequestContext;
use model::deployment::Preview;
use model::reference::NamespaceRef;
use model::source::PackageLimits;
use serde::Deserialize;

/// Request bodies larger than this are cut off before they are read whole.
pub const UPLOAD_LIMIT: usize = 12 * 1024 * 1024;

/// The package and preview routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/o2dms/v1/packages",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route(
            "/o2dms/v1/packages/{namespace}/{id}",
            get(one).delete(remove),
        )
}

#[derive(Debug, Deserialize)]
struct UploadParams {
    namespace: String,
}

async fn upload(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(params): Query<UploadParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let package = state
        .service
        .upload_package(
            &ctx,
            &namespace(&params.namespace)?,
            &body,
            PackageLimits::default(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(package)).into_response())
}

async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_packages(&ctx).await?).into_response())
}

async fn one(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((namespace, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let namespace = self::namespace(&namespace)?;
    Ok(Json(state.service.get_package(&ctx, &namespace, &id).await?).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct DeleteParams {
    #[serde(default)]
    force: bool,
}

async fn remove(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((namespace, id)): Path<(String, String)>,
    Query(params): Query<DeleteParams>,
) -> Result<Response, ApiError> {
    state
        .service
        .delete_package(&ctx, &self::namespace(&namespace)?, &id, params.force)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What to preview: a rollback to `revision`, a scale to `replicas`, or new `values` and/or
/// `chartVersion`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PreviewBody {
    revision: Option<u32>,
    replicas: Option<u32>,
    values: Option<serde_json::Map<String, serde_json::Value>>,
    chart_version: Option<String>,
}

/// `POST /deployments/…/preview`, routed with the other per-deployment routes.
pub(super) async fn preview(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    super::deployments::Selected(deployment): super::deployments::Selected,
    body: Result<Json<PreviewBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let change = match (body.revision, body.replicas) {
        (Some(revision), None) => Preview::Rollback(revision),
        (None, Some(replicas)) => Preview::Scale {
            replicas,
            version: body.chart_version,
        },
        (None, None) => Preview::Upgrade {
            values: body.values,
            version: body.chart_version,
        },
        (Some(_), Some(_)) => {
            return Err(control::Error::invalid(
                "body",
                "preview either a rollback (revision) or a scale (replicas), not both",
            )
            .into());
        }
    };
    let diff = state
        .service
        .preview_deployment(&ctx, &deployment, &change)
        .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/x-diff; charset=utf-8",
        )],
        diff,
    )
        .into_response())
}

/// A namespace named in a path or query, as a reference.
fn namespace(name: &str) -> Result<NamespaceRef, ApiError> {
    Ok(NamespaceRef::in_default(name).map_err(control::Error::from)?)
}
