//! A Flux deployment's controller log lines: read once, or followed as server-sent events.

use super::ApiError;
use super::Caller;
use super::deployments::{KindParam, Selected};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use model::deployment::LogQuery;
use model::live::LOG_EVENT;
use serde::Deserialize;
use std::convert::Infallible;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LogParams {
    /// The last this many lines of the controller's log are searched (default 200).
    tail: Option<i64>,
    /// Only lines from the last this many seconds.
    since: Option<i64>,
}

/// What its controller (helm-controller or kustomize-controller) logged about it, oldest
/// first, as JSON lines in a list.
#[utoipa::path(get, path = "/logs", tag = "deployments", params(KindParam, LogParams),
    responses((status = 200, body = Vec<String>)))]
pub(super) async fn logs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Query(params): Query<LogParams>,
) -> Result<Response, ApiError> {
    let query = LogQuery {
        tail: params.tail,
        since_seconds: params.since,
        container: None,
    };
    let lines = state
        .service
        .deployment_logs(&ctx, &deployment, &query)
        .await?;
    Ok(Json(lines).into_response())
}

/// New log lines about it as its controller writes them (`text/event-stream`, one `log`
/// event per line). Ends at shutdown.
#[utoipa::path(get, path = "/logs/stream", tag = "deployments", params(KindParam),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`log` events, each one JSON log line.")))]
pub(super) async fn follow(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    let lines = state
        .service
        .follow_deployment_logs(&ctx, &deployment)
        .await?;
    let events = crate::metrics::counted("logs", lines)
        .map(|line| Ok::<_, Infallible>(Event::default().event(LOG_EVENT).data(line)))
        .take_until(state.streams_end.clone().cancelled_owned());
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
