//! `/o2dms/v1/sources`, `/trace` and controller logs: what Flux deploys from, and how it is
//! doing.

use super::ApiError;
use super::Caller;
use super::operations::{Prefer, answer};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use control::service::change::Change;
use model::deployment::{LogQuery, ReconcileOutcome, TraceStep};
use model::operation::Accepted;
use model::reference::NamespaceRef;
use model::source::FluxSource;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The source, trace and log routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sources))
        .routes(routes!(source_operation))
        .routes(routes!(trace))
        .routes(routes!(logs))
}

/// Flux sources in the namespaces the caller may see.
#[utoipa::path(get, path = "/o2dms/v1/sources", tag = "sources",
    responses((status = 200, body = Vec<FluxSource>)))]
async fn sources(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_sources(&ctx).await?).into_response())
}

/// Reconciles (answering with the outcome, or `202` with the operation to follow when it
/// takes longer than the caller's `Prefer: wait`), suspends or resumes a source.
#[utoipa::path(post, path = "/o2dms/v1/sources/{namespace}/{kind}/{name}/{operation}", tag = "sources",
    params(("namespace" = String, Path), ("kind" = String, Path, description = "GitRepository, HelmRepository, OCIRepository, Bucket or HelmChart"),
        ("name" = String, Path), ("operation" = String, Path, description = "reconcile, suspend or resume"), Prefer),
    responses((status = 200, body = ReconcileOutcome), (status = 202, body = Accepted),
        (status = 204, description = "Suspended or resumed.")))]
async fn source_operation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((namespace, kind, name, operation)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let namespace = NamespaceRef::in_default(namespace).map_err(control::Error::from)?;
    let source = control::service::change::source_ref(namespace, &kind, &name)?;
    match operation.as_str() {
        "reconcile" => {
            let change = Change::ReconcileSource { source };
            answer(&state, &ctx, &headers, change, |outcome| {
                Ok(Json(outcome.into_reconcile()?).into_response())
            })
            .await
        }
        "suspend" | "resume" => {
            let change = Change::SuspendSource {
                source,
                suspend: operation == "suspend",
            };
            answer(&state, &ctx, &headers, change, |outcome| {
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct TraceParams {
    api_version: String,
    kind: String,
    namespace: String,
    name: String,
}

/// Which Flux objects manage an object, from it up to its source.
#[utoipa::path(get, path = "/o2dms/v1/trace", tag = "sources", params(TraceParams),
    responses((status = 200, body = Vec<TraceStep>)))]
async fn trace(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(params): Query<TraceParams>,
) -> Result<Response, ApiError> {
    let steps = state
        .service
        .trace(
            &ctx,
            &params.api_version,
            &params.kind,
            &NamespaceRef::in_default(params.namespace.as_str()).map_err(control::Error::from)?,
            &params.name,
        )
        .await?;
    Ok(Json(steps).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LogParams {
    tail: Option<i64>,
    since: Option<i64>,
    container: Option<String>,
}

/// A Flux controller's recent log lines.
#[utoipa::path(get, path = "/o2dms/v1/controllers/{controller}/logs", tag = "sources",
    params(("controller" = String, Path, description = "helm-controller, kustomize-controller or source-controller"), LogParams),
    responses((status = 200, description = "Log lines.", content_type = "text/plain", body = String)))]
async fn logs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(controller): Path<String>,
    Query(params): Query<LogParams>,
) -> Result<Response, ApiError> {
    let query = LogQuery {
        tail: params.tail,
        since_seconds: params.since,
        container: params.container,
    };
    let text = state
        .service
        .controller_logs(&ctx, &controller, &query)
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
