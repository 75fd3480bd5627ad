//! `…/deployments/{id}/workloads` and `…/pods/…`: what runs behind a deployment, a
//! container's log (read once or followed), and restart, delete-pod and run-now.

use super::ApiError;
use super::Caller;
use super::deployments::{KindParam, Selected};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use model::live::LOG_EVENT;
use model::workload::{PodLogQuery, Workload};
use serde::Deserialize;
use std::convert::Infallible;

/// A container's log, as the query names it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PodLogParams {
    /// The container; the pod's first when absent.
    container: Option<String>,
    /// The container's previous run (after a crash).
    previous: Option<bool>,
    /// The last this many lines (1–10,000; 200 by default).
    tail: Option<i64>,
}

impl From<PodLogParams> for PodLogQuery {
    fn from(params: PodLogParams) -> Self {
        Self {
            container: params.container,
            previous: params.previous.unwrap_or(false),
            tail: params.tail,
        }
    }
}

/// Its Deployments, StatefulSets, DaemonSets, Jobs and CronJobs with their rollout and
/// pods (each pod's containers, restarts, last termination and events).
#[utoipa::path(get, path = "/workloads", tag = "deployments", params(KindParam),
    responses((status = 200, body = Vec<Workload>)))]
pub(super) async fn workloads(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.workloads(&ctx, &deployment).await?).into_response())
}

/// A container's log (operators), as plain text; only pods of this deployment's workloads.
#[utoipa::path(get, path = "/pods/{namespace}/{pod}/logs", tag = "deployments",
    params(KindParam, ("namespace" = String, Path), ("pod" = String, Path), PodLogParams),
    responses((status = 200, description = "Log lines.", content_type = "text/plain", body = String)))]
pub(super) async fn pod_logs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Path(path): Path<std::collections::HashMap<String, String>>,
    Query(params): Query<PodLogParams>,
) -> Result<Response, ApiError> {
    let (namespace, pod) = pod_in(&path)?;
    let text = state
        .service
        .pod_logs(&ctx, &deployment, namespace, pod, &params.into())
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// A container's log as it is written (`text/event-stream`, one `log` event per line).
#[utoipa::path(get, path = "/pods/{namespace}/{pod}/logs/stream", tag = "deployments",
    params(KindParam, ("namespace" = String, Path), ("pod" = String, Path), PodLogParams),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`log` events, each one line.")))]
pub(super) async fn follow_pod_logs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Path(path): Path<std::collections::HashMap<String, String>>,
    Query(params): Query<PodLogParams>,
) -> Result<Response, ApiError> {
    let (namespace, pod) = pod_in(&path)?;
    let lines = state
        .service
        .follow_pod_logs(&ctx, &deployment, namespace, pod, &params.into())
        .await?;
    let events = crate::metrics::counted("pod-logs", lines)
        .map(|line| Ok::<_, Infallible>(Event::default().event(LOG_EVENT).data(line)))
        .take_until(state.streams_end.clone().cancelled_owned());
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Deletes a pod of this deployment's workloads; its controller makes a new one.
#[utoipa::path(delete, path = "/pods/{namespace}/{pod}", tag = "deployments",
    params(KindParam, ("namespace" = String, Path), ("pod" = String, Path)),
    responses((status = 204, description = "Deleted.")))]
pub(super) async fn delete_pod(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Path(path): Path<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (namespace, pod) = pod_in(&path)?;
    state
        .service
        .delete_pod(&ctx, &deployment, namespace, pod)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Restarts a Deployment, StatefulSet or DaemonSet this deployment applied, as `kubectl
/// rollout restart` does.
#[utoipa::path(post, path = "/workloads/{resource}/{workload}/restart", tag = "deployments",
    params(KindParam, ("resource" = String, Path, description = "deployments, statefulsets or daemonsets"),
        ("workload" = String, Path)),
    responses((status = 204, description = "The rollout restarts.")))]
pub(super) async fn restart(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Path(path): Path<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (resource, workload) = (named(&path, "resource")?, named(&path, "workload")?);
    state
        .service
        .restart_workload(&ctx, &deployment, resource, workload)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The Job a run of a CronJob made.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct JobStarted {
    /// Its name.
    job: String,
}

/// Runs a CronJob this deployment applied now, as `kubectl create job --from=cronjob/…`.
#[utoipa::path(post, path = "/cronjobs/{cronjob}/run", tag = "deployments",
    params(KindParam, ("cronjob" = String, Path)),
    responses((status = 201, body = JobStarted)))]
pub(super) async fn run_cronjob(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Path(path): Path<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let job = state
        .service
        .run_cronjob(&ctx, &deployment, named(&path, "cronjob")?)
        .await?;
    Ok((StatusCode::CREATED, Json(JobStarted { job })).into_response())
}

fn named<'a>(
    path: &'a std::collections::HashMap<String, String>,
    key: &str,
) -> Result<&'a str, ApiError> {
    path.get(key)
        .map(String::as_str)
        .ok_or_else(|| control::Error::invalid("path", format!("no {key} in the path")).into())
}

fn pod_in(path: &std::collections::HashMap<String, String>) -> Result<(&str, &str), ApiError> {
    Ok((named(path, "namespace")?, named(path, "pod")?))
}
