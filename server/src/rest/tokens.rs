//! API tokens over REST: one's own and the service tokens of tenants one administers. The
//! secret is in the creating answer only.

use super::Caller;
use super::{ApiError, body_error};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::tokens::{ApiToken, IssuedToken, NewToken};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The token routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

/// The caller's own tokens and the service tokens of tenants they administer (no secrets).
#[utoipa::path(get, path = "/o2dms/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<ApiToken>)))]
async fn list(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_tokens(&ctx).await?).into_response())
}

/// Makes a token; the answer holds its secret, which is shown this once.
#[utoipa::path(post, path = "/o2dms/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = IssuedToken)))]
async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
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

/// Revokes a token at once.
#[utoipa::path(delete, path = "/o2dms/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id.")),
    responses((status = 204, description = "Revoked.")))]
async fn revoke(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.service.revoke_token(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
