//! `/o2dms/v1/packages` (chart archives: upload, list, get, delete) and Helm previews.

use super::Caller;
use super::{ApiError, body_error};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use model::deployment::Preview;
use model::reference::NamespaceRef;
use model::source::Package;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Request bodies larger than this are cut off before they are read whole.
pub const UPLOAD_LIMIT: usize = 12 * 1024 * 1024;

/// The package and preview routes.
pub fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(list, upload))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    uploads.routes(routes!(one, remove))
}

#[derive(Debug, Deserialize)]
struct UploadParams {
    namespace: String,
}

/// Uploads a chart archive (`helm package` output) for `namespace`; it is checked before it
/// is stored.
#[utoipa::path(post, path = "/o2dms/v1/packages", tag = "packages",
    params(("namespace" = String, Query, description = "The namespace the package belongs to.")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The .tgz chart archive, at most 12 MiB."),
    responses((status = 201, body = Package)))]
async fn upload(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(params): Query<UploadParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let package = state
        .service
        .upload_package(
            &ctx,
            &namespace(&params.namespace)?,
            &body,
            state.package_limits,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(package)).into_response())
}

/// The packages in namespaces the caller may see.
#[utoipa::path(get, path = "/o2dms/v1/packages", tag = "packages",
    responses((status = 200, body = Vec<Package>)))]
async fn list(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_packages(&ctx).await?).into_response())
}

/// One package (`name-version`).
#[utoipa::path(get, path = "/o2dms/v1/packages/{namespace}/{id}", tag = "packages",
    params(("namespace" = String, Path), ("id" = String, Path, description = "`name-version`")),
    responses((status = 200, body = Package)))]
async fn one(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// Deletes a package; one that releases still use needs `force`.
#[utoipa::path(delete, path = "/o2dms/v1/packages/{namespace}/{id}", tag = "packages",
    params(("namespace" = String, Path), ("id" = String, Path, description = "`name-version`"),
        ("force" = Option<bool>, Query, description = "Delete even if releases use it.")),
    responses((status = 204, description = "Deleted.")))]
async fn remove(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PreviewBody {
    revision: Option<u32>,
    replicas: Option<u32>,
    values: Option<serde_json::Map<String, serde_json::Value>>,
    chart_version: Option<String>,
}

/// The manifest diff a rollback, scale or upgrade would apply, without applying it.
#[utoipa::path(post, path = "/preview", tag = "deployments", request_body = PreviewBody,
    responses((status = 200, description = "A unified diff.", content_type = "text/x-diff", body = String)))]
pub(super) async fn preview(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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
