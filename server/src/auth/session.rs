//! What Pilothouse keeps in a browser session, and its timeouts.

use super::AuthError;
use control::access::Principal;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

const USER: &str = "user";
const PENDING: &str = "pending_login";
const CSRF: &str = "csrf";

/// A login started here and not yet finished at the provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The `state` sent to the provider.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier for the code exchange.
    pub pkce_verifier: String,
    /// Where to go afterwards (already sanitized).
    pub return_to: String,
    /// When the login started (Unix seconds).
    pub started_at: i64,
}

/// The signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionUser {
    /// Who they are.
    pub principal: Principal,
    /// The raw ID token, for the logout hint.
    pub id_token: String,
    /// When they signed in (Unix seconds), for the absolute timeout.
    pub login_at: i64,
}

/// A signed-in session asked again by a stream that outlives its request: still in the store,
/// still signed in, not past its inactivity expiry or its absolute timeout.
pub struct SessionCheck {
    store: tower_sessions_sqlx_store::PostgresStore,
    id: tower_sessions::session::Id,
    ends_at: i64,
}

impl SessionCheck {
    /// The check of `session`, signed in at `login_at`, ending `absolute_timeout_secs` later.
    pub fn new(
        pool: sqlx::PgPool,
        session: &Session,
        login_at: i64,
        absolute_timeout_secs: i64,
    ) -> Option<Self> {
        Some(Self {
            store: tower_sessions_sqlx_store::PostgresStore::new(pool),
            id: session.id()?,
            ends_at: login_at.saturating_add(absolute_timeout_secs),
        })
    }
}

#[async_trait::async_trait]
impl control::access::CredentialCheck for SessionCheck {
    async fn lapsed(&self) -> Option<String> {
        use tower_sessions::SessionStore;
        let now = time::OffsetDateTime::now_utc();
        if now.unix_timestamp() > self.ends_at {
            return Some("the session reached its absolute timeout; sign in again".into());
        }
        match self.store.load(&self.id).await {
            Ok(Some(record)) if record.data.contains_key(USER) && record.expiry_date > now => None,
            Ok(_) => Some("the session ended (signed out or expired); sign in again".into()),
            Err(error) => Some(format!("the session could not be checked again: {error}")),
        }
    }
}

fn store_error(error: tower_sessions::session::Error) -> AuthError {
    AuthError::Session(error.to_string())
}

/// Remembers a login in progress.
pub async fn set_pending(session: &Session, pending: &PendingLogin) -> Result<(), AuthError> {
    session.insert(PENDING, pending).await.map_err(store_error)
}

/// Takes the login in progress out of the session, so a callback can be used only once.
pub async fn take_pending(session: &Session) -> Result<Option<PendingLogin>, AuthError> {
    session.remove(PENDING).await.map_err(store_error)
}

/// Signs the user in: a new session id (against fixation) and a fresh CSRF token.
pub async fn sign_in(session: &Session, user: &SessionUser) -> Result<(), AuthError> {
    session.cycle_id().await.map_err(store_error)?;
    session.insert(USER, user).await.map_err(store_error)?;
    session
        .insert(CSRF, random_token())
        .await
        .map_err(store_error)
}

/// The signed-in user, unless there is none or the absolute timeout has passed (then the
/// session is ended).
pub async fn current_user(
    session: &Session,
    absolute_timeout_secs: i64,
) -> Result<Option<SessionUser>, AuthError> {
    let Some(user) = session
        .get::<SessionUser>(USER)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    if chrono::Utc::now().timestamp() - user.login_at > absolute_timeout_secs {
        session.flush().await.map_err(store_error)?;
        return Ok(None);
    }
    Ok(Some(user))
}

/// The session's CSRF token.
pub async fn csrf_token(session: &Session) -> Result<Option<String>, AuthError> {
    session.get::<String>(CSRF).await.map_err(store_error)
}

/// Ends the session (the cookie is cleared and the stored record deleted).
pub async fn sign_out(session: &Session) -> Result<(), AuthError> {
    session.flush().await.map_err(store_error)
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
