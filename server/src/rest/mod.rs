//! The REST API under `/o2dms/v1`: the same `Service` methods as the UI, for scripts with a
//! bearer token (or a browser session).

use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use control::RequestContext;
use control::audit::AuditFilter;
use control::service::ExportFormat;
use futures::StreamExt;
use serde::Deserialize;

use app::ApiDescription;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod admin;
mod deployment_logs;
mod deployments;
mod events;
pub mod openapi;
mod operations;
mod packages;
mod tokens;
mod toolkit;
mod trace;
mod workloads;

pub use packages::UPLOAD_LIMIT;

/// Where the OpenAPI document is served (without authentication, like the health checks).
pub const OPENAPI_PATH: &str = "/o2dms/v1/openapi.json";

/// The API's routes and the OpenAPI document made from the same annotations.
pub fn api() -> (Router<AppState>, ApiDescription) {
    let (router, document) = OpenApiRouter::new()
        .merge(deployments::router())
        .merge(trace::router())
        .merge(toolkit::router())
        .merge(packages::router())
        .merge(admin::router())
        .merge(tokens::router())
        .merge(events::router())
        .merge(operations::router())
        .routes(routes!(me))
        .routes(routes!(plugins))
        .routes(routes!(audit_events))
        .routes(routes!(audit_export))
        .routes(routes!(audit_verify))
        .routes(routes!(openapi_json))
        .split_for_parts();
    let document = ApiDescription(Arc::new(openapi::finish(document)));
    let router = router
        .layer(Extension(document.clone()))
        .layer(axum::middleware::map_response(json_errors));
    (router, document)
}

/// Any other path under the API: the JSON 404, never the site's HTML page.
pub async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError(control::Error::not_found(
        "API route",
        format!(
            "{}; the routes are listed in /o2dms/v1/openapi.json",
            uri.path()
        ),
    ))
}

/// The most of a plain-text error body kept as the message.
const PLAIN_ERROR_LIMIT: usize = 4096;

/// Rewrites an error that is not the documented JSON body into it: axum's extractor
/// rejections (a query, path or header that cannot be read) answer in plain text. The status
/// and headers stay; the text becomes the message.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, PLAIN_ERROR_LIMIT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_lowercase()
    } else {
        text
    };
    let body = model::error::ErrorBody {
        code: model::error::ErrorCode::of_status(status.as_u16()),
        message,
        field: None,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, Body::from(bytes))
}

/// A JSON body that could not be read, as the API's invalid-request error.
fn body_error(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
    ApiError(control::Error::invalid("body", rejection.body_text()))
}

/// The authenticated caller, as the authentication gate attached it. A request that reaches
/// a handler without one gets 401 in the one error body, never a 500.
#[derive(Debug, Clone)]
pub struct Caller(pub RequestContext);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                ApiError(control::Error::Unauthenticated(
                    "sign in or send a bearer token".into(),
                ))
            })
    }
}

/// A control-plane error as the API shows it: status, a stable code, a readable message.
#[derive(Debug)]
pub struct ApiError(control::Error);

impl From<control::Error> for ApiError {
    fn from(error: control::Error) -> Self {
        Self(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
        }
        let body = self.0.body();
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.0.retry_after()
            && let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// This document.
#[utoipa::path(get, path = "/o2dms/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object)))]
async fn openapi_json(Extension(ApiDescription(document)): Extension<ApiDescription>) -> Response {
    Json(document.as_ref().clone()).into_response()
}

/// Who the caller is: the principal every check uses.
#[utoipa::path(get, path = "/o2dms/v1/me", tag = "meta",
    responses((status = 200, body = control::access::Principal)))]
async fn me(Caller(ctx): Caller) -> Json<control::access::Principal> {
    Json(ctx.principal)
}

/// The deployment adapters with their type, capabilities, health and version.
#[utoipa::path(get, path = "/o2dms/v1/plugins", tag = "meta",
    responses((status = 200, body = Vec<control::adapters::plugins::PluginInfo>)))]
async fn plugins(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<Vec<control::adapters::plugins::PluginInfo>>, ApiError> {
    Ok(Json(state.service.plugins(&ctx).await?))
}

/// Audit rows the caller may read, newest first, one page at a time.
#[utoipa::path(get, path = "/o2dms/v1/audit/events", tag = "audit", params(AuditFilter),
    responses((status = 200, body = control::audit::AuditPage)))]
async fn audit_events(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.query_audit(&ctx, &filter).await?).into_response())
}

/// `?format=` of the export. Read apart from the filter: serde's `flatten` reads query
/// values as strings only, so a flattened filter refused every number (`?before=5`).
#[derive(Debug, Deserialize)]
struct ExportParams {
    format: Option<String>,
}

/// Every matching audit row as JSON lines or CSV, streamed.
#[utoipa::path(get, path = "/o2dms/v1/audit/export", tag = "audit",
    params(("format" = Option<String>, Query, description = "`jsonl` (the default) or `csv`"), AuditFilter),
    responses((status = 200, description = "The rows, one per line.",
        content((String = "application/x-ndjson"), (String = "text/csv")))))]
async fn audit_export(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(params): Query<ExportParams>,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, ApiError> {
    let (format, content_type, extension) = match params.format.as_deref() {
        None | Some("jsonl") => (ExportFormat::JsonLines, "application/x-ndjson", "jsonl"),
        Some("csv") => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        Some(other) => {
            return Err(control::Error::invalid(
                "format",
                format!("{other:?} is not one of csv, jsonl"),
            )
            .into());
        }
    };
    let stream = state.service.export_audit(&ctx, filter, format).await?;
    let body = Body::from_stream(stream.map(|chunk| chunk.map(axum::body::Bytes::from)));
    let disposition = format!("attachment; filename=\"pilothouse-audit.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Recomputes the audit log's hash chain and reports the first broken row, if any.
#[utoipa::path(get, path = "/o2dms/v1/audit/verify", tag = "audit",
    responses((status = 200, body = control::audit::VerifyReport)))]
async fn audit_verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.verify_audit(&ctx).await?).into_response())
}
