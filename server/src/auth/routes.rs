//! `/auth/login`, `/auth/callback`, `/auth/logout` and `/auth/signed-out`.

use super::error::html_escape;
use super::oidc::LOGIN_TIMEOUT_SECS;
use super::session::{self, SessionUser};
use super::{AuthError, csrf, return_to};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

/// The sign-in routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route("/auth/signed-out", get(signed_out))
}

#[derive(Debug, Deserialize)]
struct LoginParams {
    return_to: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<LoginParams>,
) -> Result<Response, AuthError> {
    let return_to = return_to::sanitize(params.return_to.as_deref());
    let (url, pending) = state.oidc.begin_login(return_to).await?;
    session::set_pending(&session, &pending).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Debug, Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Finishes a sign-in, counted by outcome.
async fn callback(
    state: State<AppState>,
    session: Session,
    params: Query<CallbackParams>,
) -> Result<Response, AuthError> {
    let answer = finish_sign_in(state, session, params).await;
    control::metrics::sign_in(match &answer {
        Ok(_) => "ok",
        Err(AuthError::Refused(_) | AuthError::StateMismatch | AuthError::NoPendingLogin) => {
            "denied"
        }
        Err(_) => "error",
    });
    answer
}

async fn finish_sign_in(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Result<Response, AuthError> {
    // Taken out, so the same response cannot be replayed.
    let pending = session::take_pending(&session)
        .await?
        .ok_or(AuthError::NoPendingLogin)?;
    if chrono::Utc::now().timestamp() - pending.started_at > LOGIN_TIMEOUT_SECS {
        return Err(AuthError::NoPendingLogin);
    }
    let sent_state = params.state.unwrap_or_default();
    if !csrf::constant_time_eq(sent_state.as_bytes(), pending.state.as_bytes()) {
        return Err(AuthError::StateMismatch);
    }
    if let Some(error) = params.error {
        let description = params.error_description.unwrap_or_default();
        return Err(AuthError::Refused(
            format!("{error} {description}").trim().to_owned(),
        ));
    }
    let code = params
        .code
        .ok_or_else(|| AuthError::Refused("no authorization code".into()))?;
    let (principal, id_token) = state.oidc.finish_login(&pending, code).await?;
    tracing::info!(subject = %principal.subject, "signed in");
    let user = SessionUser {
        principal,
        id_token,
        login_at: chrono::Utc::now().timestamp(),
    };
    session::sign_in(&session, &user).await?;
    Ok(Redirect::to(&pending.return_to).into_response())
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    csrf_token: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, AuthError> {
    let token = session::csrf_token(&session).await?;
    if !csrf::is_same_site(
        &headers,
        &state.auth.public_origin,
        token.as_deref(),
        form.csrf_token.as_deref(),
    ) {
        return Err(AuthError::Csrf);
    }
    let user = session::current_user(&session, i64::MAX).await?;
    session::sign_out(&session).await?;
    let id_token = user.as_ref().map(|u| u.id_token.as_str());
    match state.oidc.logout_url(id_token).await {
        Some(url) => Ok(Redirect::to(url.as_str()).into_response()),
        None => Ok(Redirect::to("/auth/signed-out").into_response()),
    }
}

async fn signed_out() -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out · Pilothouse</title>\
         <link rel=\"stylesheet\" href=\"/pkg/pilothouse.css\"></head><body><main class=\"main\">\
         <h1>{}</h1><p>You are signed out of Pilothouse.</p><p><a href=\"/auth/login\">Sign in again</a></p>\
         </main></body></html>",
        html_escape("Signed out")
    ))
}
