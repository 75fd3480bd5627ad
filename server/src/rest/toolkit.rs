//! `/o2dms/v1/sources`, `/images` and `/notifications`: the Flux toolkit objects of each
//! family, one object's detail, creating and deleting them, and reconcile, suspend and
//! resume; the Secret names a new source may use; and `/flux/check`.

use super::ApiError;
use super::Caller;
use super::operations::{Prefer, answer};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use control::RequestContext;
use control::service::change::{Change, create_toolkit, reconcile_toolkit, toolkit_ref};
use model::deployment::ReconcileOutcome;
use model::flux::{
    FluxCheck, FluxObject, FluxObjectDetail, NewAlert, NewImagePolicy, NewSource, NewToolkitObject,
};
use model::operation::Accepted;
use model::reference::{Family, NamespaceRef, ToolkitRef};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The toolkit routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sources, create_source))
        .routes(routes!(source, delete_source))
        .routes(routes!(source_operation))
        .routes(routes!(source_artifact))
        .routes(routes!(images, create_image_policy))
        .routes(routes!(image, delete_image))
        .routes(routes!(image_operation))
        .routes(routes!(notifications, create_alert))
        .routes(routes!(notification, delete_notification))
        .routes(routes!(notification_operation))
        .routes(routes!(secrets))
        .routes(routes!(flux_check))
}

/// Path parameters naming one object.
type Named = Path<(String, String, String)>;
/// Path parameters naming one object and an operation.
type Operation = Path<(String, String, String, String)>;

/// Flux sources in the namespaces the caller may see.
#[utoipa::path(get, path = "/o2dms/v1/sources", tag = "sources",
    responses((status = 200, body = Vec<FluxObject>)))]
async fn sources(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    list(&state, &ctx, Family::Sources).await
}

/// One source: its artifact, conditions, events and the deployments that use it.
#[utoipa::path(get, path = "/o2dms/v1/sources/{namespace}/{kind}/{name}", tag = "sources",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = FluxObjectDetail)))]
async fn source(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name)): Named,
) -> Result<Response, ApiError> {
    detail(&state, &ctx, Family::Sources, &namespace, &kind, &name).await
}

/// Reconciles (answering with the outcome, or `202` with the operation to follow when it
/// takes longer than the caller's `Prefer: wait`), suspends or resumes a source.
#[utoipa::path(post, path = "/o2dms/v1/sources/{namespace}/{kind}/{name}/{operation}", tag = "sources",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path),
        ("operation" = String, Path, description = "reconcile, suspend or resume"), Prefer),
    responses((status = 200, body = ReconcileOutcome), (status = 202, body = Accepted),
        (status = 204, description = "Suspended or resumed.")))]
async fn source_operation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name, operation)): Operation,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let object = named(Family::Sources, &namespace, &kind, &name)?;
    operate(&state, &ctx, &headers, object, &operation).await
}

/// The source's last artifact (`.tar.gz`), as source-controller serves it, checked against
/// the digest it records; for the tenant's operators, and recorded in the audit log.
#[utoipa::path(get, path = "/o2dms/v1/sources/{namespace}/{kind}/{name}/artifact", tag = "sources",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The artifact.", content_type = "application/gzip", body = Vec<u8>)))]
async fn source_artifact(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name)): Named,
) -> Result<Response, ApiError> {
    let source = named(Family::Sources, &namespace, &kind, &name)?;
    let (file, bytes) = state.service.download_artifact(&ctx, &source).await?;
    let disposition = format!("attachment; filename=\"{file}\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Image repositories, policies and update automations in the caller's namespaces.
#[utoipa::path(get, path = "/o2dms/v1/images", tag = "images",
    responses((status = 200, body = Vec<FluxObject>)))]
async fn images(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    list(&state, &ctx, Family::Images).await
}

/// One image object; for a policy, the deployments whose workloads run its image.
#[utoipa::path(get, path = "/o2dms/v1/images/{namespace}/{kind}/{name}", tag = "images",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = FluxObjectDetail)))]
async fn image(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name)): Named,
) -> Result<Response, ApiError> {
    detail(&state, &ctx, Family::Images, &namespace, &kind, &name).await
}

/// Reconciles (a repository scans now), suspends or resumes an image object.
#[utoipa::path(post, path = "/o2dms/v1/images/{namespace}/{kind}/{name}/{operation}", tag = "images",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path),
        ("operation" = String, Path, description = "reconcile, suspend or resume"), Prefer),
    responses((status = 200, body = ReconcileOutcome), (status = 202, body = Accepted),
        (status = 204, description = "Suspended or resumed.")))]
async fn image_operation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name, operation)): Operation,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let object = named(Family::Images, &namespace, &kind, &name)?;
    operate(&state, &ctx, &headers, object, &operation).await
}

/// Notification providers, alerts and receivers in the caller's namespaces.
#[utoipa::path(get, path = "/o2dms/v1/notifications", tag = "notifications",
    responses((status = 200, body = Vec<FluxObject>)))]
async fn notifications(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Response, ApiError> {
    list(&state, &ctx, Family::Notifications).await
}

/// One notification object; for an Alert, the deployments it reports on.
#[utoipa::path(get, path = "/o2dms/v1/notifications/{namespace}/{kind}/{name}", tag = "notifications",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = FluxObjectDetail)))]
async fn notification(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name)): Named,
) -> Result<Response, ApiError> {
    detail(
        &state,
        &ctx,
        Family::Notifications,
        &namespace,
        &kind,
        &name,
    )
    .await
}

/// Suspends or resumes a notification object.
#[utoipa::path(post, path = "/o2dms/v1/notifications/{namespace}/{kind}/{name}/{operation}", tag = "notifications",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path),
        ("operation" = String, Path, description = "suspend or resume")),
    responses((status = 204, description = "Suspended or resumed.")))]
async fn notification_operation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name, operation)): Operation,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let object = named(Family::Notifications, &namespace, &kind, &name)?;
    operate(&state, &ctx, &headers, object, &operation).await
}

/// Creates a Git, Helm or OCI repository in one of the caller's namespaces; its Secret, if
/// any, must be in the same namespace.
#[utoipa::path(post, path = "/o2dms/v1/sources", tag = "sources", request_body = NewSource,
    responses((status = 201, body = FluxObject)))]
async fn create_source(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    headers: HeaderMap,
    Json(body): Json<NewSource>,
) -> Result<Response, ApiError> {
    create(&state, &ctx, &headers, NewToolkitObject::Sources(body)).await
}

/// Deletes a source.
#[utoipa::path(delete, path = "/o2dms/v1/sources/{namespace}/{kind}/{name}", tag = "sources",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted.")))]
async fn delete_source(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name)): Named,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    delete(
        &state,
        &ctx,
        &headers,
        named(Family::Sources, &namespace, &kind, &name)?,
    )
    .await
}

/// Creates an image policy following an ImageRepository in the same namespace.
#[utoipa::path(post, path = "/o2dms/v1/images", tag = "images", request_body = NewImagePolicy,
    responses((status = 201, body = FluxObject)))]
async fn create_image_policy(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    headers: HeaderMap,
    Json(body): Json<NewImagePolicy>,
) -> Result<Response, ApiError> {
    create(&state, &ctx, &headers, NewToolkitObject::Images(body)).await
}

/// Deletes an image object.
#[utoipa::path(delete, path = "/o2dms/v1/images/{namespace}/{kind}/{name}", tag = "images",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted.")))]
async fn delete_image(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name)): Named,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    delete(
        &state,
        &ctx,
        &headers,
        named(Family::Images, &namespace, &kind, &name)?,
    )
    .await
}

/// Creates an alert for the caller's deployments, sent through a Provider in its namespace.
#[utoipa::path(post, path = "/o2dms/v1/notifications", tag = "notifications", request_body = NewAlert,
    responses((status = 201, body = FluxObject)))]
async fn create_alert(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    headers: HeaderMap,
    Json(body): Json<NewAlert>,
) -> Result<Response, ApiError> {
    create(
        &state,
        &ctx,
        &headers,
        NewToolkitObject::Notifications(body),
    )
    .await
}

/// Deletes a notification object.
#[utoipa::path(delete, path = "/o2dms/v1/notifications/{namespace}/{kind}/{name}", tag = "notifications",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted.")))]
async fn delete_notification(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name)): Named,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    delete(
        &state,
        &ctx,
        &headers,
        named(Family::Notifications, &namespace, &kind, &name)?,
    )
    .await
}

/// The names of the Secrets a new source in `namespace` may use (never their data), for
/// those who may create sources there.
#[utoipa::path(get, path = "/o2dms/v1/secrets/{namespace}", tag = "sources",
    params(("namespace" = String, Path)),
    responses((status = 200, body = Vec<String>)))]
async fn secrets(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(namespace): Path<String>,
) -> Result<Response, ApiError> {
    let namespace = NamespaceRef::in_default(namespace).map_err(control::Error::from)?;
    Ok(Json(state.service.secret_names(&ctx, &namespace).await?).into_response())
}

/// The Flux check: objects stuck in the caller's namespaces; for platform-admins also the
/// CRDs (present, served versions, supported), the controllers and their lockdown.
#[utoipa::path(get, path = "/o2dms/v1/flux/check", tag = "sources",
    responses((status = 200, body = FluxCheck)))]
async fn flux_check(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.flux_check(&ctx).await?).into_response())
}

async fn create(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    object: NewToolkitObject,
) -> Result<Response, ApiError> {
    let change = create_toolkit(object)?;
    answer(state, ctx, headers, change, |outcome| {
        Ok((StatusCode::CREATED, Json(outcome.into_toolkit()?)).into_response())
    })
    .await
}

async fn delete(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    object: ToolkitRef,
) -> Result<Response, ApiError> {
    let change = Change::DeleteToolkit { source: object };
    answer(state, ctx, headers, change, |outcome| {
        outcome.into_done()?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

async fn list(
    state: &AppState,
    ctx: &RequestContext,
    family: Family,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_toolkit(ctx, family).await?).into_response())
}

async fn detail(
    state: &AppState,
    ctx: &RequestContext,
    family: Family,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Response, ApiError> {
    let object = named(family, namespace, kind, name)?;
    Ok(Json(state.service.toolkit_detail(ctx, &object).await?).into_response())
}

/// The object a path names, or 404 when its kind is not of the path's family.
fn named(family: Family, namespace: &str, kind: &str, name: &str) -> Result<ToolkitRef, ApiError> {
    let namespace = NamespaceRef::in_default(namespace).map_err(control::Error::from)?;
    let object = toolkit_ref(namespace, kind, name)?;
    if object.kind.family() != family {
        return Err(control::Error::not_found(
            family.noun(),
            format!(
                "{}: a {} is one of the {}, under /o2dms/v1/{}",
                object.describe(),
                object.kind,
                object.kind.family(),
                object.kind.family()
            ),
        )
        .into());
    }
    Ok(object)
}

async fn operate(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    object: ToolkitRef,
    operation: &str,
) -> Result<Response, ApiError> {
    match operation {
        "reconcile" => {
            let change = reconcile_toolkit(object)?;
            answer(state, ctx, headers, change, |outcome| {
                Ok(Json(outcome.into_reconcile()?).into_response())
            })
            .await
        }
        "suspend" | "resume" => {
            let change = Change::SuspendSource {
                source: object,
                suspend: operation == "suspend",
            };
            answer(state, ctx, headers, change, |outcome| {
                outcome.into_done()?;
                Ok(StatusCode::NO_CONTENT.into_response())
            })
            .await
        }
        other => Err(control::Error::invalid(
            "operation",
            format!("{other:?} is not reconcile, suspend or resume"),
        )
        .into()),
    }
}
