//! The gate in front of everything that is not public: a bearer token (an OIDC JWT or a
//! Pilothouse API token), a verified client certificate, or a signed-in session,
//! CSRF checks for session-authenticated changes, and the `RequestContext` for what follows.

use super::session::{self, csrf_token};
use super::{AuthError, csrf};
use crate::state::AppState;
use crate::tls::ClientCertificate;
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use control::RequestContext;
use control::access::Credential;
use control::audit::Channel;
use model::error::{ErrorBody, ErrorCode};
use std::net::SocketAddr;
use tower_sessions::Session;

/// Settings the gate needs.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Scheme, host and port users reach us at (for the Origin check).
    pub public_origin: String,
    /// Seconds after login when a session ends regardless of activity.
    pub absolute_timeout_secs: i64,
}

/// Paths anyone may reach: health, static assets, the API's description, and the sign-in
/// routes themselves. `/metrics` on the main listener is not one of them: it needs a
/// platform-admin (the separate metrics listener needs no sign-in).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/favicon.ico" | crate::rest::OPENAPI_PATH
    ) || path.starts_with("/pkg/")
        || path.starts_with("/auth/")
}

/// Paths answered with JSON (401) rather than a redirect to sign-in.
pub(super) fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/o2dms/") || path == "/metrics"
}

/// The middleware: authenticates, checks CSRF, and attaches the request context.
pub async fn authenticate(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if is_public(&path) {
        return next.run(request).await;
    }
    let client_addr = client_addr(&request);
    let request_id = request_id(request.headers());

    if let Some(token) = bearer(request.headers()) {
        let verified = if token.starts_with(model::tokens::SECRET_PREFIX) {
            state
                .service
                .authenticate_token(&token)
                .await
                .map(|principal| {
                    let credential = state.service.token_credential(&principal);
                    (principal, credential)
                })
                .map_err(|error| match error {
                    control::Error::Unauthenticated(why) => AuthError::InvalidToken(why),
                    other => AuthError::Unavailable(other.public_message()),
                })
        } else {
            state
                .oidc
                .verify_bearer(&token)
                .await
                .map(|(principal, expires)| (principal, Some(Credential::until(expires, "JWT"))))
        };
        return match verified {
            Ok((principal, credential)) => {
                let ctx = RequestContext {
                    principal,
                    channel: Channel::Api,
                    request_id,
                    client_addr,
                    credential,
                };
                request.extensions_mut().insert(ctx);
                next.run(request).await
            }
            Err(error @ AuthError::InvalidToken(_)) => unauthorized(&error),
            // A token that could not be checked (the database is down) is not a bad token:
            // 503, so clients retry instead of discarding their credentials.
            Err(error) => error.answer_for(&path),
        };
    }

    if let Some(ClientCertificate(identity)) = request.extensions().get::<ClientCertificate>() {
        let (principal, not_after) = match identity {
            Ok(identity) => identity.clone(),
            Err(why) => return unauthorized(&AuthError::InvalidToken(why.clone())),
        };
        // A browser offers its certificate to any site's form as it sends cookies, so a
        // change from another origin is refused; scripts send no Origin.
        if csrf::needs_check(request.method())
            && request
                .headers()
                .get(header::ORIGIN)
                .is_some_and(|origin| origin.as_bytes() != state.auth.public_origin.as_bytes())
        {
            return AuthError::Csrf.answer_for(&path);
        }
        let ctx = RequestContext {
            principal,
            channel: Channel::Api,
            request_id,
            client_addr,
            credential: Some(Credential::until(not_after, "client certificate")),
        };
        request.extensions_mut().insert(ctx);
        return next.run(request).await;
    }

    let user = match session::current_user(&session, state.auth.absolute_timeout_secs).await {
        Ok(user) => user,
        Err(error) => return error.answer_for(&path),
    };
    let Some(user) = user else {
        if is_api(&path) {
            return unauthorized(&AuthError::InvalidToken(
                "sign in or send a bearer token".into(),
            ));
        }
        let target = request
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &target)
            .finish();
        return Redirect::to(&format!("/auth/login?{query}")).into_response();
    };
    if csrf::needs_check(request.method()) {
        let token = csrf_token(&session).await.ok().flatten();
        if !csrf::is_same_site(
            request.headers(),
            &state.auth.public_origin,
            token.as_deref(),
            None,
        ) {
            return AuthError::Csrf.answer_for(&path);
        }
    }
    let credential = session::SessionCheck::new(
        state.pool.clone(),
        &session,
        user.login_at,
        state.auth.absolute_timeout_secs,
    )
    .map(Credential::new);
    let ctx = RequestContext {
        principal: user.principal,
        channel: Channel::Ui,
        request_id,
        client_addr,
        credential,
    };
    request.extensions_mut().insert(ctx);
    next.run(request).await
}

/// The longest request id kept as sent.
const REQUEST_ID_MAX: usize = 128;

/// The caller's `x-request-id`, kept for the audit and operations rows when it is at most
/// 128 characters of `[A-Za-z0-9._-]`; anything else is replaced by a fresh id, so a caller
/// cannot write large or hostile text into the record.
fn request_id(headers: &HeaderMap) -> Option<String> {
    let sent = headers.get("x-request-id")?;
    let fits = |text: &str| {
        !text.is_empty()
            && text.len() <= REQUEST_ID_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    match sent.to_str() {
        Ok(text) if fits(text) => Some(text.to_owned()),
        _ => Some(uuid::Uuid::new_v4().to_string()),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The peer's address as the listener saw it (forwarded headers are not trusted).
fn client_addr(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

fn unauthorized(error: &AuthError) -> Response {
    tracing::info!(%error, "request refused");
    let body = ErrorBody::new(ErrorCode::Unauthorized, error.to_string());
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(body),
    )
        .into_response()
}
