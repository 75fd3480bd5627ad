//! The REST API under `/o2dms/v1`: the same `Service` methods as the UI, for scripts with a
//! bearer token (or a browser session).

use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use control::RequestContext;
use control::audit::AuditFilter;
use control::service::ExportFormat;
use futures::StreamExt;
use serde::Deserialize;

mod admin;
mod deployments;
mod packages;
mod tokens;

pub use packages::UPLOAD_LIMIT;

/// The API's routes.
pub fn router() -> Router<AppState> {
    deployments::router()
        .merge(packages::router())
        .merge(admin::router())
        .merge(tokens::router())
        .route("/o2dms/v1/me", get(me))
        .route("/o2dms/v1/plugins", get(plugins))
        .route("/o2dms/v1/audit/events", get(audit_events))
        .route("/o2dms/v1/audit/export", get(audit_export))
        .route("/o2dms/v1/audit/verify", get(audit_verify))
}

/// A JSON body that could not be read, as the API's invalid-request error.
fn body_error(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
    ApiError(control::Error::invalid("body", rejection.body_text()))
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
        let code = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PRECONDITION_FAILED => "precondition_failed",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            StatusCode::BAD_GATEWAY => "backend_failed",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::UNAUTHORIZED => "unauthorized",
            _ => "internal",
        };
        let mut body = serde_json::json!({ "error": code, "message": self.0.public_message() });
        if let control::Error::Invalid { field, .. }
        | control::Error::OutsideBoundary { field, .. } = &self.0
        {
            body["field"] = serde_json::Value::from(*field);
        }
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

async fn me(Extension(ctx): Extension<RequestContext>) -> Json<control::access::Principal> {
    Json(ctx.principal)
}

async fn plugins(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Json<Vec<control::adapters::plugins::PluginInfo>>, ApiError> {
    Ok(Json(state.service.plugins(&ctx).await?))
}

async fn audit_events(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.query_audit(&ctx, &filter).await?).into_response())
}

#[derive(Debug, Deserialize)]
struct ExportParams {
    format: Option<String>,
    #[serde(flatten)]
    filter: AuditFilter,
}

async fn audit_export(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(params): Query<ExportParams>,
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
    let stream = state
        .service
        .export_audit(&ctx, params.filter, format)
        .await?;
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

async fn audit_verify(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.verify_audit(&ctx).await?).into_response())
}
