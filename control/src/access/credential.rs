//! Whether the credential a request came with still stands. A request is checked once, as it
//! arrives; a stream (live events, a followed log) lives on, so it asks again at every
//! re-check and ends when the answer changes: a revoked API token, a signed-out session, an
//! expired JWT or client certificate.

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A credential that can say whether it still stands.
#[async_trait::async_trait]
pub trait CredentialCheck: Send + Sync {
    /// Why it no longer stands, or None while it does. A check that cannot be made (the
    /// database is down) says so: a stream ends rather than outliving a revocation.
    async fn lapsed(&self) -> Option<String>;
}

/// The credential of one request, shared by whatever it starts.
#[derive(Clone)]
pub struct Credential(Arc<dyn CredentialCheck>);

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential")
    }
}

impl Credential {
    /// A credential checked by `check`.
    pub fn new(check: impl CredentialCheck + 'static) -> Self {
        Self(Arc::new(check))
    }

    /// A credential that stands until `at` (a JWT's `exp`, a certificate's `notAfter`);
    /// `what` names it in the answer.
    pub fn until(at: DateTime<Utc>, what: &'static str) -> Self {
        Self::new(Until { at, what })
    }

    /// Why it no longer stands, or None while it does.
    pub async fn lapsed(&self) -> Option<String> {
        self.0.lapsed().await
    }
}

struct Until {
    at: DateTime<Utc>,
    what: &'static str,
}

#[async_trait::async_trait]
impl CredentialCheck for Until {
    async fn lapsed(&self) -> Option<String> {
        (Utc::now() >= self.at)
            .then(|| format!("the {} expired at {}", self.what, self.at.to_rfc3339()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_credential_with_an_end_lapses_then() {
        let past = Credential::until(Utc::now() - chrono::Duration::seconds(1), "JWT");
        assert!(
            past.lapsed()
                .await
                .is_some_and(|m| m.contains("JWT expired"))
        );
        let future = Credential::until(Utc::now() + chrono::Duration::hours(1), "JWT");
        assert_eq!(future.lapsed().await, None);
    }
}
