//! The signed-in identity, as established by OIDC, an API token or a client certificate.

use serde::{Deserialize, Serialize};

/// What every client-certificate identity starts with: its issuer `x509:<CA>`, its subject
/// `x509:<CA>/<CN>` and its groups `x509:<CA>/<O>`. No other sign-in may produce a subject or
/// a group in this namespace, so a certificate never becomes an OIDC user or group.
pub const X509_PREFIX: &str = "x509:";

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
    /// Drops what an OpenID provider may not claim: groups in the certificate namespace.
    /// Returns None for a subject in that namespace (an identity a provider cannot hold).
    pub fn vouched_by_provider(mut self) -> Option<Self> {
        if self.subject.starts_with(X509_PREFIX) || self.issuer.starts_with(X509_PREFIX) {
            return None;
        }
        self.groups.retain(|group| !group.starts_with(X509_PREFIX));
        Some(self)
    }

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
