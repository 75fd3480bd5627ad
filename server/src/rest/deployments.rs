//! `/o2dms/v1/deployments`, `/sources`, `/trace` and controller logs: each handler reads its
//! input, calls one `Service` method and returns its result as JSON.

use super::{ApiError, body_error};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use control::RequestContext;
use model::deployment::{
    DeploymentFilter, DeploymentRequest, DeploymentStatus, DeploymentUpdate, LogQuery,
    ReconcileRequest,
};
use model::reference::{DeploymentKind, DeploymentRef, NamespaceRef};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

const BASE: &str = "/o2dms/v1/deployments";

/// The deployment and source routes. Every per-deployment route answers under the id
/// (`/deployments/{id}/…`) and under `/deployments/{namespace}/{name}/…` (with `?kind=` when
/// several kinds share the name).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}/stats"), get(stats))
        .nest(&format!("{BASE}/{{first}}"), one_deployment())
        .nest(&format!("{BASE}/{{first}}/{{second}}"), one_deployment())
        .route("/o2dms/v1/sources", get(sources))
        .route(
            "/o2dms/v1/sources/{namespace}/{kind}/{name}/{operation}",
            post(source_operation),
        )
        .route("/o2dms/v1/trace", get(trace))
        .route("/o2dms/v1/controllers/{controller}/logs", get(logs))
}

/// The routes of one deployment, relative to however it was named.
fn one_deployment() -> Router<AppState> {
    Router::new()
        .route("/", get(one).patch(update).delete(remove))
        .route("/status", get(status))
        .route("/history", get(history))
        .route("/events", get(events))
        .route("/inventory", get(inventory))
        .route("/yaml", get(yaml))
        .route("/values", get(values))
        .route("/scale", post(scale))
        .route("/rollback", post(rollback))
        .route("/reconcile", post(reconcile))
        .route("/suspend", post(suspend))
        .route("/resume", post(resume))
        .route("/preview", post(super::packages::preview))
}

/// `?kind=` on the `{namespace}/{name}` routes.
#[derive(Debug, Default, Deserialize)]
struct KindParam {
    kind: Option<String>,
}

/// The deployment a per-deployment route names: its id, or its namespace and name resolved
/// against what the caller may see.
pub(super) struct Selected(pub(super) DeploymentRef);

impl FromRequestParts<AppState> for Selected {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::from(control::Error::invalid("path", e.body_text())))?;
        let bad = |e: model::reference::RefError| ApiError::from(control::Error::from(e));
        match (params.get("first"), params.get("second")) {
            (Some(id), None) if id.contains('~') => Ok(Self(id.parse().map_err(bad)?)),
            (Some(name), None) => {
                // A bare name, as the reference's examples use: the one the caller can see.
                let ctx = principal(parts)?;
                Ok(Self(state.service.find_deployment(&ctx, name).await?))
            }
            (Some(namespace), Some(name)) => {
                let ctx = principal(parts)?;
                let Query(KindParam { kind }) =
                    Query::<KindParam>::from_request_parts(parts, state)
                        .await
                        .unwrap_or_default();
                let kind = kind
                    .as_deref()
                    .map(str::parse::<DeploymentKind>)
                    .transpose()
                    .map_err(bad)?;
                let namespace = NamespaceRef::in_default(namespace.as_str()).map_err(bad)?;
                Ok(Self(
                    state
                        .service
                        .resolve_deployment(&ctx, &namespace, name, kind)
                        .await?,
                ))
            }
            _ => Err(control::Error::invalid("path", "no deployment named").into()),
        }
    }
}

fn principal(parts: &Parts) -> Result<RequestContext, ApiError> {
    parts
        .extensions
        .get::<RequestContext>()
        .cloned()
        .ok_or_else(|| {
            ApiError::from(control::Error::AdapterUnhealthy(
                "the request carries no principal".into(),
            ))
        })
}

/// The list's query string: the filter, with labels as `labels=k=v,k2=v2`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    namespace: Option<String>,
    status: Option<DeploymentStatus>,
    kind: Option<String>,
    labels: Option<String>,
    text: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    after: Option<String>,
}

fn labels(text: Option<&str>) -> Result<BTreeMap<String, String>, ApiError> {
    let mut labels = BTreeMap::new();
    for pair in text
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            ApiError::from(control::Error::invalid(
                "labels",
                format!("{pair:?} is not key=value"),
            ))
        })?;
        labels.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(labels)
}

async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let filter = DeploymentFilter {
        labels: labels(params.labels.as_deref())?,
        namespace: params.namespace,
        status: params.status,
        kind: params.kind,
        text: params.text,
        limit: params.limit,
        offset: params.offset,
        after: params.after,
    };
    Ok(Json(state.service.list_deployments(&ctx, &filter).await?).into_response())
}

async fn stats(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    let counts = state.service.deployment_stats(&ctx).await?;
    let rows: Vec<_> = counts
        .into_iter()
        .map(|((kind, status), count)| serde_json::json!({ "kind": kind, "status": status, "count": count }))
        .collect();
    Ok(Json(rows).into_response())
}

async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Result<Json<DeploymentRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(body_error)?;
    let namespace = NamespaceRef::in_default(request.namespace.as_str())
        .map_err(|e| control::Error::invalid("namespace", e.reason))?;
    let created = state
        .service
        .create_deployment(&ctx, &namespace, &request)
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn one(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    let deployment = state.service.get_deployment(&ctx, &deployment).await?;
    // The version to send back in If-Match, so a script's update fails rather than overwrites.
    let etag = deployment
        .resource_version
        .as_ref()
        .and_then(|v| header::HeaderValue::from_str(&format!("\"{v}\"")).ok());
    let mut response = Json(deployment).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

async fn status(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    let deployment = state.service.get_deployment(&ctx, &deployment).await?;
    Ok(Json(deployment.state).into_response())
}

async fn update(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
    body: Result<Json<DeploymentUpdate>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(mut update) = body.map_err(body_error)?;
    if let Some(version) = if_match(&headers)? {
        update.resource_version = Some(version);
    }
    let updated = state
        .service
        .update_deployment(&ctx, &deployment, &update)
        .await?;
    Ok(Json(updated).into_response())
}

/// The resourceVersion an `If-Match` header names (`"123"`, `W/"123"` or `123`).
fn if_match(headers: &header::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| control::Error::invalid("If-Match", "is not text"))?
        .trim();
    let version = text.trim_start_matches("W/").trim_matches('"');
    if version.is_empty()
        || version == "*"
        || version.contains(',')
        || !version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(control::Error::invalid(
            "If-Match",
            "names one resourceVersion, as the ETag of GET /o2dms/v1/deployments/{id} gives it",
        )
        .into());
    }
    Ok(Some(version.to_owned()))
}

async fn remove(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    state.service.delete_deployment(&ctx, &deployment).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn history(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.deployment_history(&ctx, &deployment).await?).into_response())
}

async fn events(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.deployment_events(&ctx, &deployment).await?).into_response())
}

async fn inventory(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    Ok(Json(
        state
            .service
            .deployment_inventory(&ctx, &deployment)
            .await?,
    )
    .into_response())
}

async fn values(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.deployment_values(&ctx, &deployment).await?).into_response())
}

async fn yaml(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    let text = state.service.export_deployment(&ctx, &deployment).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        text,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScaleBody {
    replicas: u32,
    path: Option<String>,
    #[serde(default)]
    force: bool,
}

async fn scale(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
    body: Result<Json<ScaleBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let scaled = state
        .service
        .scale_deployment(
            &ctx,
            &deployment,
            body.replicas,
            body.path.as_deref(),
            body.force,
        )
        .await?;
    Ok(Json(scaled).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RollbackBody {
    revision: u32,
}

async fn rollback(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
    body: Result<Json<RollbackBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let outcome = state
        .service
        .rollback_deployment(&ctx, &deployment, body.revision)
        .await?;
    Ok(Json(outcome).into_response())
}

async fn reconcile(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
    body: Result<Json<ReconcileRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(body_error)?;
    let outcome = state
        .service
        .reconcile_deployment(&ctx, &deployment, request)
        .await?;
    Ok(Json(outcome).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SuspendBody {
    reason: Option<String>,
    force: bool,
}

/// `POST …/resume`: optionally `{"force": true}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ResumeBody {
    force: bool,
}

async fn suspend(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
    body: Result<Json<SuspendBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let suspended = state
        .service
        .set_deployment_suspended(&ctx, &deployment, true, body.reason.as_deref(), body.force)
        .await?;
    Ok(Json(suspended).into_response())
}

async fn resume(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Selected(deployment): Selected,
    body: Option<Json<ResumeBody>>,
) -> Result<Response, ApiError> {
    let force = body.is_some_and(|Json(b)| b.force);
    let resumed = state
        .service
        .set_deployment_suspended(&ctx, &deployment, false, None, force)
        .await?;
    Ok(Json(resumed).into_response())
}

async fn sources(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_sources(&ctx).await?).into_response())
}

async fn source_operation(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((namespace, kind, name, operation)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let service = &state.service;
    let namespace = NamespaceRef::in_default(namespace).map_err(control::Error::from)?;
    match operation.as_str() {
        "reconcile" => Ok(Json(
            service
                .reconcile_source(&ctx, &kind, &namespace, &name)
                .await?,
        )
        .into_response()),
        "suspend" | "resume" => {
            service
                .set_source_suspended(&ctx, &kind, &namespace, &name, operation == "suspend")
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        other => Err(control::Error::invalid(
            "operation",
            format!("{other:?} is not reconcile, suspend or resume"),
        )
        .into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TraceParams {
    api_version: String,
    kind: String,
    namespace: String,
    name: String,
}

async fn trace(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
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

#[derive(Debug, Deserialize)]
struct LogParams {
    tail: Option<i64>,
    since: Option<i64>,
    container: Option<String>,
}

async fn logs(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
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
