//! The signed-in identity, as established by OIDC.

use serde::{Deserialize, Serialize};

/// A user as the identity provider vouched for them: (issuer, subject) plus display claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        }
    }
}
