//! API tokens for automation: what a listing shows, what a request to make one carries, and
//! the one answer that shows the secret.

use serde::{Deserialize, Serialize};

/// The prefix every API token secret starts with, so scanners and the server can tell it
/// from a JWT.
pub const SECRET_PREFIX: &str = "ph_";

/// A token as listed: never its secret.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    /// Its id, for revoking it.
    pub id: String,
    /// What it is for, as its maker named it.
    pub name: String,
    /// The principal it acts as.
    pub subject: String,
    /// The tenant whose service principal it belongs to (service tokens only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_of: Option<String>,
    /// The only tenant it reaches, when narrowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Whether it may only read.
    pub read_only: bool,
    /// Who made it.
    pub created_by: String,
    /// RFC 3339 times.
    pub created_at: String,
    /// When it stops working.
    pub expires_at: String,
    /// When it was revoked, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// When it was last used, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// A request for a token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    /// What it is for.
    pub name: String,
    /// Days until it expires (at most the configured maximum; that maximum when absent).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// Narrow it to one tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Narrow it to reads.
    #[serde(default)]
    pub read_only: bool,
    /// Make it for this service principal of `tenant` instead of for oneself (tenant admins).
    #[serde(default)]
    pub service: Option<String>,
}

/// A token just made: the only time its secret is shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// The token as it will be listed.
    pub token: ApiToken,
    /// The secret to send as `Authorization: Bearer …`; not stored, not shown again.
    pub secret: String,
}

/// The subject a tenant's service principal acts as: memberships name it like a user.
pub fn service_subject(tenant: &str, service: &str) -> String {
    format!("service:{tenant}:{service}")
}
