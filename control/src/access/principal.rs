//! The signed-in identity, as established by OIDC, an API token or a client certificate.

use serde::{Deserialize, Serialize};

/// A user as the identity provider vouched for them: (issuer, subject) plus display claims.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The OIDC issuer URL.
    pub issuer: String,
    /// The subject identifier, unique per issuer.
    pub subject: String,
    /// The email claim, when given.
    pub email: Option<String>,
    /// The display name, when given.
    pub name: Option<String>,
    /// The groups claim.
    pub groups: Vec<String>,
    /// Set for requests made with an API token: the limits it puts on its owner's roles.
    /// None for sessions, JWTs and client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrowing: Option<Narrowing>,
}

/// What an API token may do of what its owner may: one tenant only, reads only, or both.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Narrowing {
    /// The only tenant the token reaches (global roles do not apply through it).
    pub tenant: Option<String>,
    /// Whether the token may only read.
    pub read_only: bool,
}

impl Principal {
    /// The identity Pilothouse itself acts as (bootstrap, retention jobs).
    pub fn system() -> Self {
        Self {
            issuer: "pilothouse".into(),
            subject: "system".into(),
            email: None,
            name: Some("Pilothouse".into()),
            groups: Vec::new(),
            narrowing: None,
        }
    }
}
