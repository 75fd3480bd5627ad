//! `/o2dms/v1/trace` and controller logs: which Flux objects stand behind an object, and what
//! the controllers say.

use super::ApiError;
use super::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use model::deployment::{LogQuery, TraceStep};
use model::reference::NamespaceRef;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The trace and log routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trace))
        .routes(routes!(logs))
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
