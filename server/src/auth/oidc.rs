//! The OpenID Connect relying party: discovery, the authorization code flow with PKCE (S256),
//! state and nonce, ID token and bearer token verification against the issuer's JWKS (cached,
//! refreshed when an unknown key id appears), userinfo, groups, and RP-initiated logout.

use super::AuthError;
use super::session::{PendingLogin, random_token};
use crate::config::Config;
use base64::Engine;
use control::access::Principal;
use openidconnect::OAuth2TokenResponse as _;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, NonceVerifier,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, SignatureVerificationError, TokenResponse as _,
};
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A JWKS is fetched again for an unknown key id at most this often.
const JWKS_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(10);
/// How long a started login may take at the provider.
pub const LOGIN_TIMEOUT_SECS: i64 = 600;

/// What discovery told us, fetched on first use and kept.
struct Discovered {
    client: Client,
    metadata: ProviderMetadataWithLogout,
    /// The keys, and when they were last fetched again after an unknown key id.
    keys: RwLock<(CoreJsonWebKeySet, Option<Instant>)>,
}

/// The relying party; one per server, shared by all requests.
pub struct Oidc {
    issuer: Option<IssuerUrl>,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect_url: RedirectUrl,
    post_logout_url: PostLogoutRedirectUrl,
    scopes: Vec<String>,
    groups_claim: String,
    userinfo: bool,
    audience: String,
    http: openidconnect::reqwest::Client,
    discovered: RwLock<Option<Arc<Discovered>>>,
    /// Principals of bearer tokens verified already, by the token's SHA-256, until the
    /// token expires: a script's every request need not check a signature again.
    verified: std::sync::Mutex<HashMap<[u8; 32], Verified>>,
}

/// A verified bearer token's principal and expiry.
type Verified = (Principal, chrono::DateTime<chrono::Utc>);

/// Verified bearer tokens kept at most (the map is emptied when it is full).
const MAX_VERIFIED: usize = 10_000;

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn bad_url(what: &'static str, value: &str, reason: impl ToString) -> AuthError {
    AuthError::BadUrl {
        what,
        value: value.to_owned(),
        reason: reason.to_string(),
    }
}

impl Oidc {
    /// Reads the settings; nothing is fetched until the first sign-in or bearer token.
    pub fn new(config: &Config) -> Result<Self, AuthError> {
        let oidc = &config.oidc;
        let issuer = match &oidc.issuer {
            Some(issuer) => Some(
                IssuerUrl::new(issuer.clone()).map_err(|e| bad_url("oidc.issuer", issuer, e))?,
            ),
            None => None,
        };
        let public = &config.server.public_url;
        let redirect = format!("{public}/auth/callback");
        let redirect_url = RedirectUrl::new(redirect.clone())
            .map_err(|e| bad_url("server.publicUrl", &redirect, e))?;
        let post_logout = format!("{public}/auth/signed-out");
        let post_logout_url = PostLogoutRedirectUrl::new(post_logout.clone())
            .map_err(|e| bad_url("server.publicUrl", &post_logout, e))?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects from the provider would open a server-side request forgery path.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            // Calls to the provider are rare; a pooled connection may be long dead by the next one.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        Ok(Self {
            issuer,
            client_id: ClientId::new(oidc.client_id.clone()),
            client_secret: oidc.client_secret.clone().map(ClientSecret::new),
            redirect_url,
            post_logout_url,
            scopes: oidc.scopes.clone(),
            groups_claim: oidc.groups_claim.clone(),
            userinfo: oidc.userinfo,
            audience: oidc
                .audience
                .clone()
                .unwrap_or_else(|| oidc.client_id.clone()),
            http,
            discovered: RwLock::new(None),
            verified: Default::default(),
        })
    }

    /// Whether an issuer is configured.
    pub fn is_configured(&self) -> bool {
        self.issuer.is_some()
    }

    async fn discovered(&self) -> Result<Arc<Discovered>, AuthError> {
        if let Some(found) = self.discovered.read().await.as_ref() {
            return Ok(found.clone());
        }
        let issuer = self.issuer.clone().ok_or(AuthError::NotConfigured)?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| AuthError::Unavailable(format!("discovery failed: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect_url.clone());
        let keys = metadata.jwks().clone();
        let found = Arc::new(Discovered {
            client,
            metadata,
            keys: RwLock::new((keys, None)),
        });
        *self.discovered.write().await = Some(found.clone());
        Ok(found)
    }

    /// Starts a login: the provider URL to send the browser to, and what to remember.
    pub async fn begin_login(
        &self,
        return_to: String,
    ) -> Result<(url::Url, PendingLogin), AuthError> {
        let provider = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new(random_token()),
            || Nonce::new(random_token()),
        );
        for scope in self.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            started_at: chrono::Utc::now().timestamp(),
        };
        Ok((url, pending))
    }

    /// Finishes a login: exchanges the code (with the PKCE verifier), verifies the ID token
    /// (signature, issuer, audience, expiry, nonce) and reads the user's claims.
    pub async fn finish_login(
        &self,
        pending: &PendingLogin,
        code: String,
    ) -> Result<(Principal, String), AuthError> {
        let provider = self.discovered().await?;
        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| AuthError::Unavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| AuthError::CodeExchange(describe_token_error(&e)))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| AuthError::InvalidToken("the provider sent no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let (mut principal, _) = self
            .verify(&provider, id_token, &self.client_id, &nonce)
            .await?;
        if self.userinfo {
            self.merge_userinfo(&provider, response.access_token().secret(), &mut principal)
                .await?;
        }
        Ok((principal, id_token.to_string()))
    }

    /// Verifies an `Authorization: Bearer` JWT from the issuer for the configured audience.
    pub async fn verify_bearer(
        &self,
        token: &str,
    ) -> Result<(Principal, chrono::DateTime<chrono::Utc>), AuthError> {
        let key = control::store::tokens::secret_hash(token);
        if let Ok(verified) = self.verified.lock()
            && let Some((principal, expires)) = verified.get(&key)
            && chrono::Utc::now() < *expires
        {
            return Ok((principal.clone(), *expires));
        }
        let (principal, expires) = self.verify_bearer_once(token).await?;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
            verified.insert(key, (principal.clone(), expires));
        }
        Ok((principal, expires))
    }

    async fn verify_bearer_once(
        &self,
        token: &str,
    ) -> Result<(Principal, chrono::DateTime<chrono::Utc>), AuthError> {
        let provider = self.discovered().await?;
        let token = CoreIdToken::from_str(token)
            .map_err(|e| AuthError::InvalidToken(format!("not a JWT: {e}")))?;
        let no_nonce = |_: Option<&Nonce>| Ok(());
        self.verify(
            &provider,
            &token,
            &ClientId::new(self.audience.clone()),
            no_nonce,
        )
        .await
    }

    async fn verify<N: NonceVerifier + Clone>(
        &self,
        provider: &Discovered,
        token: &CoreIdToken,
        audience: &ClientId,
        nonce: N,
    ) -> Result<(Principal, chrono::DateTime<chrono::Utc>), AuthError> {
        let attempt = |keys: CoreJsonWebKeySet| {
            let verifier = CoreIdTokenVerifier::new_public_client(
                audience.clone(),
                provider.metadata.issuer().clone(),
                keys,
            );
            token.claims(&verifier, nonce.clone()).map(|claims| {
                (
                    claims.issuer().to_string(),
                    claims.subject().to_string(),
                    claims.email().map(|e| e.to_string()),
                    claims
                        .name()
                        .and_then(|n| n.get(None))
                        .map(|n| n.to_string()),
                    claims.expiration(),
                )
            })
        };
        let keys = provider.keys.read().await.0.clone();
        let verified = match attempt(keys) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // The provider may have rotated its keys since we fetched them.
                let keys = self.refresh_keys(provider).await?;
                attempt(keys)
            }
            other => other,
        };
        let (issuer, subject, email, name, expires) =
            verified.map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let groups = groups_from_payload(&token.to_string(), &self.groups_claim);
        let principal = Principal {
            issuer,
            subject,
            email,
            name,
            groups,
            narrowing: None,
        }
        .vouched_by_provider()
        .ok_or_else(|| {
            AuthError::InvalidToken(
                "the subject is in the x509: namespace, which only client certificates sign in as"
                    .into(),
            )
        })?;
        Ok((principal, expires))
    }

    async fn refresh_keys(&self, provider: &Discovered) -> Result<CoreJsonWebKeySet, AuthError> {
        let mut keys = provider.keys.write().await;
        if keys
            .1
            .is_none_or(|at| at.elapsed() >= JWKS_REFRESH_MIN_INTERVAL)
        {
            let fresh = CoreJsonWebKeySet::fetch_async(provider.metadata.jwks_uri(), &self.http)
                .await
                .map_err(|e| {
                    AuthError::Unavailable(format!(
                        "cannot fetch the provider's keys: {}",
                        describe_token_error(&e)
                    ))
                })?;
            *keys = (fresh, Some(Instant::now()));
            // A key the provider stopped publishing no longer vouches for the tokens it
            // signed: those are verified again against the new set.
            if let Ok(mut verified) = self.verified.lock() {
                verified.clear();
            }
        }
        Ok(keys.0.clone())
    }

    async fn merge_userinfo(
        &self,
        provider: &Discovered,
        access_token: &str,
        principal: &mut Principal,
    ) -> Result<(), AuthError> {
        let Some(endpoint) = provider.metadata.userinfo_endpoint() else {
            return Ok(());
        };
        let claims: Value = self
            .http
            .get(endpoint.url().clone())
            .bearer_auth(access_token)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| AuthError::Unavailable(format!("userinfo failed: {e}")))?
            .bytes()
            .await
            .map_err(|e| AuthError::Unavailable(format!("userinfo failed: {e}")))
            .and_then(|body| {
                serde_json::from_slice(&body)
                    .map_err(|e| AuthError::Unavailable(format!("userinfo is not JSON: {e}")))
            })?;
        if claims.get("sub").and_then(Value::as_str) != Some(principal.subject.as_str()) {
            return Err(AuthError::InvalidToken(
                "userinfo describes a different subject".into(),
            ));
        }
        if let Some(email) = claims.get("email").and_then(Value::as_str) {
            principal.email = Some(email.to_owned());
        }
        if let Some(name) = claims.get("name").and_then(Value::as_str) {
            principal.name = Some(name.to_owned());
        }
        if let Some(groups) = claims.get(&self.groups_claim) {
            // Groups in the certificate namespace are not the provider's to give.
            principal.groups = string_list(groups)
                .into_iter()
                .filter(|group| !group.starts_with(control::access::X509_PREFIX))
                .collect();
        }
        Ok(())
    }

    /// Where to send the browser to end the provider session too, if it supports that.
    pub async fn logout_url(&self, id_token: Option<&str>) -> Option<url::Url> {
        let provider = self.discovered().await.ok()?;
        let endpoint = provider
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_post_logout_redirect_uri(self.post_logout_url.clone());
        if let Some(token) = id_token.and_then(|t| CoreIdToken::from_str(t).ok()) {
            request = request.set_id_token_hint(&token);
        }
        request = request.set_client_id(self.client_id.clone());
        Some(request.http_get_url())
    }
}

/// The groups claim of an already verified JWT (the core claim types do not carry it).
fn groups_from_payload(jwt: &str, claim: &str) -> Vec<String> {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|claims| claims.get(claim).map(string_list))
        .unwrap_or_default()
}

/// A claim that is a list of strings, or one string.
fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(one) => vec![one.clone()],
        _ => Vec::new(),
    }
}

fn describe_token_error<E: std::error::Error>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_from_the_configured_claim() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"a","roles":["x","y"],"team":"z"}"#);
        let jwt = format!("h.{payload}.s");
        assert_eq!(groups_from_payload(&jwt, "roles"), ["x", "y"]);
        assert_eq!(groups_from_payload(&jwt, "team"), ["z"]);
        assert!(groups_from_payload(&jwt, "groups").is_empty());
        assert!(groups_from_payload("garbage", "groups").is_empty());
    }
}
