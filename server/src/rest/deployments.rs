//! `/o2dms/v1/deployments`: each handler reads its input, calls one `Service` method and
//! returns its result as JSON.

use super::Caller;
use super::operations::{Prefer, answer};
use super::{ApiError, body_error};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use control::RequestContext;
use control::service::change::Change;
use model::bulk::{BulkAction, BulkResult};
use model::deployment::{
    Deployment, DeploymentEvent, DeploymentFilter, DeploymentPage, DeploymentRequest,
    DeploymentRevision, DeploymentState, DeploymentStatus, DeploymentUpdate, InventoryEntry,
    ReconcileOutcome, ReconcileRequest, RollbackOutcome,
};
use model::operation::Accepted;
use model::reference::{DeploymentKind, DeploymentRef, NamespaceRef};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const BASE: &str = "/o2dms/v1/deployments";

/// The deployment routes. Every per-deployment route answers under the id
/// (`/deployments/{id}/…`) and under `/deployments/{namespace}/{name}/…` (with `?kind=` when
/// several kinds share the name).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(stats))
        .routes(routes!(bulk))
        .nest(&format!("{BASE}/{{first}}"), one_deployment())
        .nest(&format!("{BASE}/{{first}}/{{second}}"), one_deployment())
}

/// The routes of one deployment, relative to however it was named.
fn one_deployment() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(one, update, remove))
        .routes(routes!(status))
        .routes(routes!(history))
        .routes(routes!(events))
        .routes(routes!(inventory))
        .routes(routes!(yaml))
        .routes(routes!(values))
        .routes(routes!(scale))
        .routes(routes!(rollback))
        .routes(routes!(reconcile))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(super::packages::preview))
        .routes(routes!(super::deployment_logs::logs))
        .routes(routes!(super::deployment_logs::follow))
        .routes(routes!(super::workloads::workloads))
        .routes(routes!(super::workloads::pod_logs))
        .routes(routes!(super::workloads::follow_pod_logs))
        .routes(routes!(super::workloads::delete_pod))
        .routes(routes!(super::workloads::restart))
        .routes(routes!(super::workloads::run_cronjob))
}

/// `?kind=` on the `{namespace}/{name}` routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct KindParam {
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    /// Only this namespace.
    namespace: Option<String>,
    /// Only this status.
    status: Option<DeploymentStatus>,
    /// Only this kind (`HelmRelease`, `Kustomization` or `Release`, in any case).
    kind: Option<String>,
    /// Only deployments carrying every one of these labels: `key=value,key2=value2`.
    labels: Option<String>,
    /// Free text over name, namespace, chart and source.
    text: Option<String>,
    /// Page size: 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// How many to skip.
    offset: Option<usize>,
    /// Only rows after this deployment id (the previous page's `next`).
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

/// Deployments in the namespaces the caller may see, filtered, one page at a time.
#[utoipa::path(get, path = "/o2dms/v1/deployments", tag = "deployments", params(ListParams),
    responses((status = 200, body = DeploymentPage)))]
async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// One row of `/deployments/stats`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct StatsRow {
    /// HelmRelease, Kustomization or Release.
    kind: String,
    /// The status.
    status: DeploymentStatus,
    /// How many.
    count: usize,
}

/// Counts of visible deployments by kind and status.
#[utoipa::path(get, path = "/o2dms/v1/deployments/stats", tag = "deployments",
    responses((status = 200, body = Vec<StatsRow>)))]
async fn stats(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    let counts = state.service.deployment_stats(&ctx).await?;
    let rows: Vec<_> = counts
        .into_iter()
        .map(|((kind, status), count)| StatsRow {
            kind,
            status,
            count,
        })
        .collect();
    Ok(Json(rows).into_response())
}

/// Creates a deployment: a HelmRelease or Kustomization from the `flux.*` extensions, or a
/// Helm release from `packageId`.
#[utoipa::path(post, path = "/o2dms/v1/deployments", tag = "deployments",
    request_body = DeploymentRequest, params(Prefer),
    responses((status = 201, body = Deployment), (status = 202, body = Accepted)))]
async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    headers: header::HeaderMap,
    body: Result<Json<DeploymentRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(body_error)?;
    let namespace = NamespaceRef::in_default(request.namespace.as_str())
        .map_err(|e| control::Error::invalid("namespace", e.reason))?;
    let change = state.service.create_change(&namespace, &request)?;
    answer(&state, &ctx, &headers, change, |outcome| {
        Ok((StatusCode::CREATED, Json(outcome.into_deployment()?)).into_response())
    })
    .await
}

/// One deployment; its ETag is the resourceVersion to send in If-Match.
#[utoipa::path(get, path = "/", tag = "deployments", params(KindParam),
    responses((status = 200, body = Deployment,
        headers(("ETag" = String, description = "The resourceVersion, quoted.")))))]
async fn one(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// The deployment's status as the reference's status mapping gives it.
#[utoipa::path(get, path = "/status", tag = "deployments", params(KindParam),
    responses((status = 200, body = DeploymentState)))]
async fn status(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    let deployment = state.service.get_deployment(&ctx, &deployment).await?;
    Ok(Json(deployment.state).into_response())
}

/// Changes values, chart version or extensions; `If-Match` guards against lost updates.
#[utoipa::path(patch, path = "/", tag = "deployments", params(KindParam,
        ("If-Match" = Option<String>, Header, description = "The resourceVersion the change is based on.")),
    request_body = DeploymentUpdate, params(Prefer),
    responses((status = 200, body = Deployment), (status = 202, body = Accepted)))]
async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
    body: Result<Json<DeploymentUpdate>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(mut update) = body.map_err(body_error)?;
    if let Some(version) = if_match(&headers)? {
        update.resource_version = Some(version);
    }
    let change = Change::UpdateDeployment { deployment, update };
    answer(&state, &ctx, &headers, change, |outcome| {
        Ok(Json(outcome.into_deployment()?).into_response())
    })
    .await
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

/// Deletes the deployment.
#[utoipa::path(delete, path = "/", tag = "deployments", params(KindParam),
    params(Prefer), responses((status = 204, description = "Deleted."), (status = 202, body = Accepted)))]
async fn remove(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
) -> Result<Response, ApiError> {
    let change = Change::DeleteDeployment { deployment };
    answer(&state, &ctx, &headers, change, |outcome| {
        outcome.into_done()?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// Its revisions, newest first.
#[utoipa::path(get, path = "/history", tag = "deployments", params(KindParam),
    responses((status = 200, body = Vec<DeploymentRevision>)))]
async fn history(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.deployment_history(&ctx, &deployment).await?).into_response())
}

/// Kubernetes events about it.
#[utoipa::path(get, path = "/events", tag = "deployments", params(KindParam),
    responses((status = 200, body = Vec<DeploymentEvent>)))]
async fn events(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.deployment_events(&ctx, &deployment).await?).into_response())
}

/// The objects it applied.
#[utoipa::path(get, path = "/inventory", tag = "deployments", params(KindParam),
    responses((status = 200, body = Vec<InventoryEntry>)))]
async fn inventory(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// `?reveal=true` on the values and YAML routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RevealParam {
    /// Show Secret data and secret-looking values unredacted (operators and admins; recorded
    /// in the audit log as deployment.reveal).
    #[serde(default)]
    reveal: bool,
}

/// Its Helm values, secret-looking ones redacted unless `reveal=true`.
#[utoipa::path(get, path = "/values", tag = "deployments", params(KindParam, RevealParam),
    responses((status = 200, body = Object)))]
async fn values(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Revealed(reveal): Revealed,
) -> Result<Response, ApiError> {
    Ok(Json(
        state
            .service
            .deployment_values(&ctx, &deployment, reveal)
            .await?,
    )
    .into_response())
}

/// Whether the caller asked for `reveal=true` (read beside `kind`; anything but a boolean is
/// a 422).
struct Revealed(bool);

impl FromRequestParts<AppState> for Revealed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Query::<RevealParam>::from_request_parts(parts, state)
            .await
            .map(|Query(p)| Self(p.reveal))
            .map_err(|e| ApiError::from(control::Error::invalid("reveal", e.body_text())))
    }
}

/// The object as YAML, without status and managed fields; Secret data and secret-looking
/// values redacted unless `reveal=true`.
#[utoipa::path(get, path = "/yaml", tag = "deployments", params(KindParam, RevealParam),
    responses((status = 200, description = "The object.", content_type = "application/yaml", body = String)))]
async fn yaml(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    Revealed(reveal): Revealed,
) -> Result<Response, ApiError> {
    let text = state
        .service
        .export_deployment(&ctx, &deployment, reveal)
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        text,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ScaleBody {
    replicas: u32,
    path: Option<String>,
    #[serde(default)]
    force: bool,
}

/// Sets the replica count (in `replicaCount`, or the values path `path`).
#[utoipa::path(post, path = "/scale", tag = "deployments", params(KindParam),
    request_body = ScaleBody, params(Prefer),
    responses((status = 200, body = Deployment), (status = 202, body = Accepted)))]
async fn scale(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
    body: Result<Json<ScaleBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let change = Change::ScaleDeployment {
        deployment,
        replicas: body.replicas,
        path: body.path,
        force: body.force,
    };
    answer(&state, &ctx, &headers, change, |outcome| {
        Ok(Json(outcome.into_deployment()?).into_response())
    })
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct RollbackBody {
    revision: u32,
}

/// Rolls back to an earlier revision (0: the previous one).
#[utoipa::path(post, path = "/rollback", tag = "deployments", params(KindParam),
    request_body = RollbackBody, params(Prefer),
    responses((status = 200, body = RollbackOutcome), (status = 202, body = Accepted)))]
async fn rollback(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
    body: Result<Json<RollbackBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let change = Change::RollbackDeployment {
        deployment,
        revision: body.revision,
    };
    answer(&state, &ctx, &headers, change, |outcome| {
        Ok(Json(outcome.into_rollback()?).into_response())
    })
    .await
}

/// Asks Flux to reconcile now and waits for the outcome.
#[utoipa::path(post, path = "/reconcile", tag = "deployments", params(KindParam),
    request_body = ReconcileRequest, params(Prefer),
    responses((status = 200, body = ReconcileOutcome), (status = 202, body = Accepted)))]
async fn reconcile(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
    body: Result<Json<ReconcileRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(body_error)?;
    let change = Change::ReconcileDeployment {
        deployment,
        request,
    };
    answer(&state, &ctx, &headers, change, |outcome| {
        Ok(Json(outcome.into_reconcile()?).into_response())
    })
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct SuspendBody {
    reason: Option<String>,
    force: bool,
}

/// `POST …/resume`: optionally `{"force": true}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct ResumeBody {
    force: bool,
}

/// Suspends reconciliation, with a reason.
#[utoipa::path(post, path = "/suspend", tag = "deployments", params(KindParam),
    request_body = SuspendBody, responses((status = 200, body = Deployment)))]
async fn suspend(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
    body: Result<Json<SuspendBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let change = Change::SuspendDeployment {
        deployment,
        suspend: true,
        reason: body.reason,
        force: body.force,
    };
    answer(&state, &ctx, &headers, change, |outcome| {
        Ok(Json(outcome.into_deployment()?).into_response())
    })
    .await
}

/// Resumes reconciliation.
#[utoipa::path(post, path = "/resume", tag = "deployments", params(KindParam),
    request_body(content = Option<ResumeBody>), responses((status = 200, body = Deployment)))]
async fn resume(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Selected(deployment): Selected,
    headers: header::HeaderMap,
    body: Option<Json<ResumeBody>>,
) -> Result<Response, ApiError> {
    let change = Change::SuspendDeployment {
        deployment,
        suspend: false,
        reason: None,
        force: body.is_some_and(|Json(b)| b.force),
    };
    answer(&state, &ctx, &headers, change, |outcome| {
        Ok(Json(outcome.into_deployment()?).into_response())
    })
    .await
}

/// `POST /o2dms/v1/deployments/bulk`: one action for many deployments.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    /// The deployment ids (at most 100).
    ids: Vec<String>,
    /// What to do to each: `{"action": "reconcile"}`, `{"action": "suspend", "reason": …}`
    /// or `{"action": "resume"}`.
    action: BulkAction,
}

/// Runs one action on many deployments as one tracked operation with a step per row; each
/// row is its own audited change, and a refusal or failure is that row's result.
#[utoipa::path(post, path = "/o2dms/v1/deployments/bulk", tag = "deployments",
    request_body = BulkBody, params(Prefer),
    responses((status = 200, body = Vec<BulkResult>), (status = 202, body = Accepted)))]
async fn bulk(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    headers: header::HeaderMap,
    body: Result<Json<BulkBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    super::operations::answer_with(
        &headers,
        |wait| {
            state
                .service
                .bulk_deployments(&ctx, &body.ids, &body.action, wait)
        },
        |results| Ok(Json(results).into_response()),
    )
    .await
}
