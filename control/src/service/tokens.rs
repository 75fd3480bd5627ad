//! API tokens: made by a signed-in user for themself or by a tenant admin for one of the
//! tenant's service principals, listed, revoked, and exchanged for a principal on each call.

use super::{AuditTarget, RequestContext, Service};
use crate::access::policy::{self, Target};
use crate::access::{Action, Credential, CredentialCheck, Principal, TenantRole};
use crate::store::tokens::{self, TokenRow};
use crate::{Error, Result, validate};
use model::tokens::{ApiToken, IssuedToken, NewToken, service_subject};
use serde_json::json;

/// The issuer recorded for token principals, followed by the token's id, so audit rows say
/// which token acted.
pub const TOKEN_ISSUER_PREFIX: &str = "pilothouse:token:";

/// The longest lifetime a token gets when settings name none.
pub const DEFAULT_MAX_LIFETIME_DAYS: u32 = 90;
/// How many live (unrevoked, unexpired) tokens one subject may hold by default.
pub const DEFAULT_MAX_LIVE_TOKENS: u32 = 20;

impl Service {
    /// The same service with another cap on token lifetimes.
    pub fn with_token_lifetime(mut self, max_days: u32) -> Self {
        self.token_max_days = max_days;
        self
    }

    /// The same service with another cap on the live tokens one subject may hold.
    pub fn with_token_cap(mut self, max_live: u32) -> Self {
        self.token_max_live = max_live;
        self
    }

    /// Makes a token for the caller, or for a service principal of `request.tenant`. The
    /// secret is in the answer and nowhere else.
    pub async fn create_token(
        &self,
        ctx: &RequestContext,
        request: &NewToken,
    ) -> Result<IssuedToken> {
        let service = request.service.as_deref();
        let tenant = request.tenant.as_deref();
        let (action, target) = match service {
            Some(name) => (
                Action::ServiceTokenCreate,
                token_target(tenant, json!({ "name": request.name, "service": name })),
            ),
            None => (
                Action::TokenCreate,
                token_target(tenant, json!({ "name": request.name })),
            ),
        };
        match service {
            Some(_) => {
                let tenant = tenant.ok_or_else(|| {
                    Error::invalid("tenant", "a service token needs the tenant it belongs to")
                })?;
                validate::dns_label("tenant", tenant)?;
                self.tenant(ctx, action, &target).await?;
            }
            None => self.own(ctx, action, &target).await?,
        }
        validate::text("name", &request.name, 100)?;
        if let Some(name) = service {
            validate::dns_label("service", name)?;
        }
        if let Some(tenant) = tenant {
            validate::dns_label("tenant", tenant)?;
        }
        let days = request.expires_in_days.unwrap_or(self.token_max_days);
        if days == 0 || days > self.token_max_days {
            return Err(Error::invalid(
                "expires in days",
                format!("must be between 1 and {} days", self.token_max_days),
            ));
        }
        let subject = match (service, tenant) {
            (Some(name), Some(tenant)) => service_subject(tenant, name),
            _ => ctx.principal.subject.clone(),
        };
        let row = TokenRow {
            subject: &subject,
            service_of: service.and(tenant),
            name: request.name.trim(),
            tenant,
            read_only: request.read_only,
            created_by: &ctx.principal.subject,
            expires_at: chrono::Utc::now() + chrono::Duration::days(i64::from(days)),
        };
        self.audited(ctx, action, &target, async |_| {
            let secret = tokens::new_secret();
            let token = tokens::insert(&self.pool, &row, &secret, self.token_max_live).await?;
            Ok(IssuedToken { token, secret })
        })
        .await
    }

    /// The caller's own tokens, and the service tokens of the tenants they administer.
    pub async fn list_tokens(&self, ctx: &RequestContext) -> Result<Vec<ApiToken>> {
        let grants = self.grants(ctx).await?;
        let mut listed = tokens::list_own(&self.pool, &ctx.principal.subject).await?;
        let visible = policy::visible_tenants(&grants, TenantRole::Admin);
        listed.extend(tokens::list_service(&self.pool, &visible).await?);
        Ok(listed)
    }

    /// Revokes one of the caller's tokens, or a service token of a tenant they administer.
    pub async fn revoke_token(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let token = tokens::get(&self.pool, id).await?;
        let (action, target) = match &token.service_of {
            Some(tenant) => (
                Action::ServiceTokenRevoke,
                token_target(Some(tenant), json!({ "id": id, "name": token.name })),
            ),
            None => (
                Action::TokenRevoke,
                token_target(None, json!({ "id": id, "name": token.name })),
            ),
        };
        match &token.service_of {
            Some(_) => {
                self.tenant(ctx, action, &target).await?;
            }
            None if token.subject == ctx.principal.subject => {
                self.own(ctx, action, &target).await?;
            }
            // Someone else's token: the same answer as for no token at all.
            None => return Err(Error::not_found("API token", id)),
        }
        self.audited(ctx, action, &target, async |_| {
            tokens::revoke(&self.pool, id).await
        })
        .await
    }

    /// The principal a `ph_…` secret stands for, or a 401 saying why not.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Principal> {
        let hash = tokens::secret_hash(secret);
        if let Some(principal) = self.access_cache.token(&hash) {
            return Ok(principal);
        }
        let generation = self.access_cache.generation();
        let (principal, expires) =
            tokens::authenticate(&self.pool, TOKEN_ISSUER_PREFIX, secret).await?;
        self.access_cache
            .keep_token(hash, generation, principal.clone(), expires);
        Ok(principal)
    }

    /// The credential of a request made with an API token (its principal's issuer names the
    /// token), for streams that must end when the token is revoked; None for other principals.
    pub fn token_credential(&self, principal: &Principal) -> Option<Credential> {
        let id = principal
            .issuer
            .strip_prefix(TOKEN_ISSUER_PREFIX)
            .and_then(|id| uuid::Uuid::parse_str(id).ok())?;
        Some(Credential::new(TokenCheck {
            pool: self.pool.clone(),
            id,
        }))
    }

    async fn own(&self, ctx: &RequestContext, action: Action, target: &AuditTarget) -> Result<()> {
        let grants = self.grants(ctx).await?;
        match policy::decide(&grants, action, Target::Own) {
            Ok(_) => Ok(()),
            Err(denied) => Err(self.deny(ctx, action, target, denied).await),
        }
    }
}

fn token_target(tenant: Option<&str>, parameters: serde_json::Value) -> AuditTarget {
    AuditTarget {
        tenant: tenant.map(str::to_owned),
        kind: Some("ApiToken"),
        parameters,
        ..AuditTarget::default()
    }
}

/// An API token asked again: revoked, expired or deleted since the request began?
struct TokenCheck {
    pool: sqlx::PgPool,
    id: uuid::Uuid,
}

#[async_trait::async_trait]
impl CredentialCheck for TokenCheck {
    async fn lapsed(&self) -> Option<String> {
        match tokens::lapsed(&self.pool, self.id).await {
            Ok(lapsed) => lapsed,
            Err(error) => Some(format!("the API token could not be checked again: {error}")),
        }
    }
}
