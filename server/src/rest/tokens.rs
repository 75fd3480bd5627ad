//! API tokens over REST: one's own and the service tokens of tenants one administers. The
//! secret is in the creating answer only.

use super::{ApiError, body_error};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use control::RequestContext;
use model::tokens::NewToken;

/// The token routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/o2dms/v1/tokens", get(list).post(create))
        .route("/o2dms/v1/tokens/{id}", delete(revoke))
}

async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_tokens(&ctx).await?).into_response())
}

async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(body_error)?;
    let issued = state.service.create_token(&ctx, &body).await?;
    // The secret must not linger in caches between here and the caller.
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(issued),
    )
        .into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.service.revoke_token(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
