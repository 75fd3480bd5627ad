//! Who a request comes from: its bearer token names the sandbox's administrator, a read-only
//! viewer or one of the configured users, and `Impersonate-*` headers (when the caller may
//! impersonate) replace that identity, as kube-apiserver's authentication filters do.

use crate::error::ApiError;
use crate::rbac::{self, UserInfo};
use crate::store::Store;
use axum::http::{HeaderMap, header};
use std::sync::Mutex;

/// A user the sandbox knows by its bearer token; RBAC decides what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUser {
    /// The bearer token it sends.
    pub token: String,
    /// Its user name (`system:serviceaccount:NS:NAME` for a service account).
    pub name: String,
    /// Its groups.
    pub groups: Vec<String>,
}

/// An `Impersonate-*` header set seen on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impersonation {
    /// Impersonate-User.
    pub user: String,
    /// Impersonate-Group values.
    pub groups: Vec<String>,
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The read-only token: reads only, whatever RBAC says.
    ReadOnly,
    /// Anyone else, as RBAC sees them.
    User(UserInfo),
}

/// The tokens a sandbox accepts.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// The administrator's token; without one, requests naming no known token are the
    /// administrator's.
    pub admin: Option<String>,
    /// A token that may only read.
    pub read_only: Option<String>,
    /// Users subject to RBAC.
    pub users: Vec<SandboxUser>,
    /// Whom a request without credentials acts as, when set (else the administrator, or 401
    /// when an administrator token is required).
    pub anonymous: Option<String>,
}

impl Tokens {
    /// The caller a request's `Authorization` header names, or 401.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(user) = self.users.iter().find(|u| Some(u.token.as_str()) == sent) {
            return Ok(Caller::User(UserInfo::user(&user.name, &user.groups)));
        }
        if sent.is_some() && sent == self.read_only.as_deref() {
            return Ok(Caller::ReadOnly);
        }
        if let (None, Some(anonymous)) = (sent, &self.anonymous) {
            return Ok(Caller::User(UserInfo::user(anonymous, &[])));
        }
        match &self.admin {
            Some(expected) if sent != Some(expected.as_str()) => Err(ApiError::unauthorized()),
            _ => Ok(Caller::User(UserInfo::admin())),
        }
    }
}

/// The identity a request acts as: the caller, or whom it impersonates when it may.
pub fn effective(
    store: &Store,
    caller: UserInfo,
    headers: &HeaderMap,
    seen: &Mutex<Vec<Impersonation>>,
) -> Result<UserInfo, ApiError> {
    let Some(user) = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(caller);
    };
    let groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Impersonation {
            user: user.to_owned(),
            groups: groups.clone(),
        });
    rbac::authorize_impersonation(store, &caller, user, &groups)?;
    Ok(UserInfo::user(user, &groups))
}
