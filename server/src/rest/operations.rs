//! `/o2dms/v1/operations`: long changes answer `202 Accepted` with the operation to follow
//! here (state, timed steps, result or error, the audit operation id), unless the caller sent
//! `Prefer: wait=N` (RFC 7240) and the change ended within N seconds.

use super::ApiError;
use super::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use control::RequestContext;
use control::service::change::{Change, ChangeOutcome};
use control::service::tracked::Wait;
use model::operation::{Accepted, Answered, Operation, OperationState, operation_path};
use serde::Deserialize;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The longest `Prefer: wait` honoured; longer asks wait this long.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// How long a long change is waited for without `Prefer`: refusals found before helm starts
/// (a stale `If-Match`, invalid values) still get their own status instead of a 202.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// The operation routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
        .routes(routes!(cancel))
}

/// `Prefer: wait=N` (RFC 7240): for changes that answer 202 (Helm releases, reconciles that
/// wait), the final answer instead when it comes within N seconds (at most 300). Only its
/// description in the OpenAPI document: the header is read by [`answer`].
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(super) struct Prefer {
    /// For example `wait=30`.
    #[param(rename = "Prefer")]
    prefer: Option<String>,
}

/// Runs `change` as the caller prefers: to its end when it is short or ends within their
/// `Prefer: wait`, answered by `done`; otherwise `202 Accepted` with the operation.
pub async fn answer(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    change: Change,
    done: impl FnOnce(ChangeOutcome) -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    answer_with(
        headers,
        |wait| state.service.change(ctx, change, wait),
        done,
    )
    .await
}

/// Runs what `run` starts for as long as the caller prefers to wait (see [`answer`]):
/// `done` answers an outcome that came within it, else `202 Accepted` with the operation.
pub async fn answer_with<T, F>(
    headers: &HeaderMap,
    run: impl FnOnce(Wait) -> F,
    done: impl FnOnce(T) -> Result<Response, ApiError>,
) -> Result<Response, ApiError>
where
    F: std::future::Future<Output = control::Result<Answered<T>>>,
{
    let preferred = prefer_wait(headers)?;
    let wait = Wait::UpTo(preferred.unwrap_or(DEFAULT_WAIT));
    match run(wait).await? {
        Answered::Done(outcome) => {
            let mut response = done(outcome)?;
            if let Some(applied) = preferred.and_then(wait_applied) {
                response.headers_mut().insert(PREFERENCE_APPLIED, applied);
            }
            Ok(response)
        }
        Answered::Running(id) => Ok(accepted(&id, preferred)),
    }
}

fn wait_applied(wait: Duration) -> Option<HeaderValue> {
    (!wait.is_zero())
        .then(|| HeaderValue::from_str(&format!("wait={}", wait.as_secs())).ok())
        .flatten()
}

/// `202 Accepted` naming the operation in `Location` and the body.
fn accepted(id: &str, preferred: Option<Duration>) -> Response {
    let location = operation_path(id);
    let body = Accepted {
        operation_id: id.to_owned(),
        location: location.clone(),
        state: OperationState::Running,
    };
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if let Some(applied) = preferred.and_then(wait_applied) {
        response.headers_mut().insert(PREFERENCE_APPLIED, applied);
    }
    response
}

const PREFERENCE_APPLIED: header::HeaderName =
    header::HeaderName::from_static("preference-applied");

/// The `wait=N` preference (RFC 7240), at most [`MAX_WAIT`]; `respond-async` is zero; none
/// when neither was sent.
fn prefer_wait(headers: &HeaderMap) -> Result<Option<Duration>, ApiError> {
    for value in headers.get_all("prefer") {
        let text = value
            .to_str()
            .map_err(|_| control::Error::invalid("Prefer", "is not text"))?;
        for preference in text.split(',') {
            if preference.trim().eq_ignore_ascii_case("respond-async") {
                return Ok(Some(Duration::ZERO));
            }
            let Some((key, seconds)) = preference.split(';').next().and_then(|p| p.split_once('='))
            else {
                continue;
            };
            if !key.trim().eq_ignore_ascii_case("wait") {
                continue;
            }
            let seconds: u64 = seconds.trim().trim_matches('"').parse().map_err(|_| {
                control::Error::invalid("Prefer", "wait=N takes a whole number of seconds")
            })?;
            return Ok(Some(Duration::from_secs(seconds).min(MAX_WAIT)));
        }
    }
    Ok(None)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
struct ListQuery {
    /// Only the caller's own operations.
    mine: bool,
}

/// Recent operations, newest first: the caller's own (`mine=true`), or all in the namespaces
/// the caller may read.
#[utoipa::path(get, path = "/o2dms/v1/operations", tag = "operations", params(ListQuery),
    responses((status = 200, body = Vec<Operation>)))]
async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Operation>>, ApiError> {
    Ok(Json(state.service.list_operations(&ctx, query.mine).await?))
}

/// One operation: state, steps with their times, and the result or the error.
#[utoipa::path(get, path = "/o2dms/v1/operations/{id}", tag = "operations",
    params(("id" = String, Path, description = "The operation id (also its audit operation id).")),
    responses((status = 200, body = Operation)))]
async fn one(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Operation>, ApiError> {
    Ok(Json(
        state.service.get_operation(&ctx, parse_id(&id)?).await?,
    ))
}

/// Cancels a running operation (its requester, or an admin of its tenant): helm is stopped
/// as Ctrl-C would stop it, so its own rollback applies.
#[utoipa::path(post, path = "/o2dms/v1/operations/{id}/cancel", tag = "operations",
    params(("id" = String, Path, description = "The operation id.")),
    responses((status = 200, body = Operation)))]
async fn cancel(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Operation>, ApiError> {
    Ok(Json(
        state.service.cancel_operation(&ctx, parse_id(&id)?).await?,
    ))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Ok(control::service::parse_operation_id(id)?)
}
