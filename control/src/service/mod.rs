//! One entry point per operation, the same for UI, REST and CLI:
//! authorize → audit intent → act → audit outcome. Denials are audited too.

mod admin;
mod audit;
pub mod bulk;
pub mod change;
mod deployment_logs;
mod deployments;
pub mod executor;
mod flux;
mod graph;
mod identities;
mod live;
mod operations;
mod overview;
mod packages;
mod permissions;
mod plugins;
mod rates;
mod refusals;
mod reveal;
mod schedule;
mod streams;
mod timeline;
mod tokens;
pub mod tracked;
mod values;
mod workloads;

pub use live::LiveItem;
pub use operations::parse_operation_id;
pub use rates::{Cost, RateLimits};
pub use streams::MAX_STREAMS_PER_PRINCIPAL;

pub use tokens::{DEFAULT_MAX_LIFETIME_DAYS, DEFAULT_MAX_LIVE_TOKENS, TOKEN_ISSUER_PREFIX};

pub use crate::adapters::requested_kind;

use crate::access::policy;
use crate::access::{Action, AuditScope, Denied, Grants, PlatformScope, Principal, TenantScope};
use crate::adapters::registry::ClusterRegistry;
use crate::audit::{Actor, AuditLog, Channel, NewEvent, Outcome, Phase};
use crate::store::tenancy;
use crate::{Error, Result};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Who is asking, and how the request arrived.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The signed-in principal.
    pub principal: Principal,
    /// UI, API, CLI or system.
    pub channel: Channel,
    /// The request id, for correlating audit rows with logs.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The credential the request came with, asked again by streams that outlive the
    /// request; None where nothing can lapse (Pilothouse itself, the CLI).
    pub credential: Option<crate::access::Credential>,
}

impl RequestContext {
    /// Pilothouse acting on its own behalf (bootstrap, scheduled retention).
    pub fn system() -> Self {
        Self {
            principal: Principal::system(),
            channel: Channel::System,
            request_id: None,
            client_addr: None,
            credential: None,
        }
    }

    /// Why the request's credential no longer stands (revoked, signed out, expired), or None.
    pub async fn credential_lapsed(&self) -> Option<String> {
        match &self.credential {
            Some(credential) => credential.lapsed().await,
            None => None,
        }
    }
}

/// What an audited operation is about.
#[derive(Debug, Clone, Default)]
pub struct AuditTarget {
    /// The tenant concerned.
    pub tenant: Option<String>,
    /// The cluster concerned (the default cluster when not set).
    pub cluster: Option<model::reference::ClusterId>,
    /// The namespace concerned.
    pub namespace: Option<String>,
    /// The kind of object.
    pub kind: Option<&'static str>,
    /// The object's name.
    pub name: Option<String>,
    /// The request's parameters (redacted before they are stored).
    pub parameters: Value,
}

/// The control plane: every operation goes through here.
#[derive(Debug, Clone)]
pub struct Service {
    pool: PgPool,
    audit: AuditLog,
    operations: crate::store::operations::OperationLog,
    tenancy: std::sync::Arc<tenancy::TenancySnapshot>,
    registry: ClusterRegistry,
    refusals: std::sync::Arc<refusals::RefusalBudget>,
    token_max_days: u32,
    token_max_live: u32,
    reserved_namespaces: std::sync::Arc<Vec<String>>,
    rates: std::sync::Arc<rates::Rates>,
    access_cache: std::sync::Arc<crate::access::cache::AccessCache>,
    live: std::sync::Arc<crate::live::LiveHub>,
    running: std::sync::Arc<tracked::Running>,
    streams: std::sync::Arc<streams::Streams>,
    links: std::sync::Arc<Vec<crate::links::LinkTemplate>>,
}

impl Service {
    /// A service over `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self {
            audit: AuditLog::new(pool.clone()),
            operations: crate::store::operations::OperationLog::new(pool.clone()),
            tenancy: Default::default(),
            refusals: Default::default(),
            pool,
            registry: ClusterRegistry::default(),
            token_max_days: DEFAULT_MAX_LIFETIME_DAYS,
            token_max_live: tokens::DEFAULT_MAX_LIVE_TOKENS,
            reserved_namespaces: std::sync::Arc::new(
                [
                    "kube-system",
                    "kube-public",
                    "kube-node-lease",
                    "flux-system",
                    "pilothouse",
                ]
                .map(str::to_owned)
                .into(),
            ),
            rates: Default::default(),
            links: Default::default(),
            access_cache: Default::default(),
            live: Default::default(),
            running: Default::default(),
            streams: Default::default(),
        }
    }

    /// Keeps grants and token principals in memory from now on, dropping them whenever
    /// Postgres announces an access change (from any replica or the CLI). Without this (the
    /// CLI, short-lived tools) every request reads them from the database.
    pub fn watch_access_changes(&self) {
        tokio::spawn(crate::access::cache::listen(
            self.pool.clone(),
            self.access_cache.clone(),
        ));
    }

    /// The same service with the clusters and adapters it manages.
    pub fn with_registry(mut self, registry: ClusterRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// The same service with other per-principal request rates.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rates = std::sync::Arc::new(rates::Rates::new(limits));
        self
    }

    /// The deep links (`ui.links`) deployment pages show, filled in per deployment.
    pub fn with_links(mut self, links: Vec<crate::links::LinkTemplate>) -> Self {
        self.links = std::sync::Arc::new(links);
        self
    }

    /// Spends one of the caller's requests of `cost`; 429 with the wait when none is left.
    pub(crate) fn spend(&self, ctx: &RequestContext, cost: Cost) -> Result<()> {
        self.rates.admit(&ctx.principal.subject, ctx.channel, cost)
    }

    /// The audit log it writes to.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// The caller's grants: their roles fresh from the database, with the shared tenancy.
    pub async fn grants(&self, ctx: &RequestContext) -> Result<Grants> {
        self.grants_of(&ctx.principal).await
    }

    /// Anyone's grants (for explanations about them).
    pub(crate) async fn grants_of(&self, principal: &Principal) -> Result<Grants> {
        if let Some(grants) = self.access_cache.grants(principal) {
            return Ok(Grants::clone(&grants));
        }
        let generation = self.access_cache.generation();
        let grants = tenancy::load_grants(&self.pool, principal, &self.tenancy).await?;
        self.access_cache
            .keep_grants(principal, generation, std::sync::Arc::new(grants.clone()));
        Ok(grants)
    }

    /// The live hub, for benchmarks that feed it directly (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn live_hub(&self) -> &std::sync::Arc<crate::live::LiveHub> {
        &self.live
    }

    /// Whether grants and token principals are being kept in memory (the listener is up).
    pub fn access_cache_is_live(&self) -> bool {
        self.access_cache.is_live()
    }

    /// How many times this replica's cached access was dropped (by a notification or its own
    /// change): tests wait on it instead of on the clock.
    pub fn access_cache_generation(&self) -> u64 {
        self.access_cache.generation()
    }

    /// Drops this replica's cached access at once after a change to it (other replicas
    /// follow on the notification).
    pub(crate) fn access_changed(&self) {
        self.access_cache.invalidate();
    }

    async fn platform(
        &self,
        ctx: &RequestContext,
        action: Action,
        target: &AuditTarget,
    ) -> Result<PlatformScope> {
        let grants = self.grants(ctx).await?;
        match policy::authorize_platform(&grants, action) {
            Ok(scope) => Ok(scope),
            Err(denied) => Err(self.deny(ctx, action, target, denied).await),
        }
    }

    async fn tenant(
        &self,
        ctx: &RequestContext,
        action: Action,
        target: &AuditTarget,
    ) -> Result<TenantScope> {
        let grants = self.grants(ctx).await?;
        let tenant = target.tenant.as_deref().unwrap_or_default();
        match policy::authorize_tenant(&grants, action, tenant) {
            Ok(scope) => Ok(scope),
            Err(denied) => Err(self.deny(ctx, action, target, denied).await),
        }
    }

    async fn audit_scope(&self, ctx: &RequestContext, action: Action) -> Result<AuditScope> {
        let grants = self.grants(ctx).await?;
        match policy::authorize_audit(&grants, action) {
            Ok(scope) => Ok(scope),
            Err(denied) => Err(self
                .deny(ctx, action, &AuditTarget::default(), denied)
                .await),
        }
    }

    /// Records a denial and turns it into the error the caller sees.
    async fn deny(
        &self,
        ctx: &RequestContext,
        action: Action,
        target: &AuditTarget,
        denied: Denied,
    ) -> Error {
        let event = event(
            ctx,
            Uuid::new_v4(),
            Phase::Denied,
            action,
            target,
            Outcome::Denied,
            Some(denied.to_string()),
        );
        self.record_refusal(ctx, event).await;
        Error::Forbidden(denied)
    }

    /// Appends a refusal row within the caller's budget of recorded refusals (noting how many
    /// were not recorded before it); over the budget it is only logged.
    async fn record_refusal(&self, ctx: &RequestContext, mut event: NewEvent) {
        let who = principal_key(&ctx.principal);
        let suppressed = match self.refusals.admit(&who) {
            refusals::Admission::Record { suppressed } => suppressed,
            refusals::Admission::Suppress => {
                tracing::warn!(principal = %who, action = %event.action, "refused again; over the audit budget for refusals, not recorded");
                return;
            }
        };
        if let (true, Some(parameters)) = (suppressed > 0, event.parameters.as_object_mut()) {
            parameters.insert("unrecordedRefusalsBefore".into(), suppressed.into());
        }
        let action = event.action.clone();
        if let Err(error) = self.audit.append(event).await {
            tracing::error!(%error, %action, "could not record a refusal in the audit log");
        }
    }

    /// Records a request refused at the edge for the text it carried (`refusal`, an
    /// [`Error::Unreadable`]), within the caller's budget of recorded refusals. Nothing it
    /// carried is stored but where it was and why; the path is stored escaped.
    pub async fn record_unreadable_request(
        &self,
        ctx: &RequestContext,
        method: &str,
        path: &str,
        refusal: &Error,
    ) {
        let field = match refusal {
            Error::Unreadable { field, .. } => field.as_str(),
            _ => "",
        };
        let event = NewEvent {
            operation_id: Uuid::new_v4(),
            phase: Phase::Denied,
            actor: Actor::from(&ctx.principal),
            channel: ctx.channel,
            request_id: ctx.request_id.clone(),
            client_addr: ctx.client_addr.clone(),
            action: UNREADABLE_REQUEST.to_owned(),
            tenant: None,
            cluster: Default::default(),
            namespace: None,
            target_kind: None,
            target_name: None,
            parameters: serde_json::json!({
                "method": method,
                "path": path.escape_debug().to_string(),
                "field": field,
            }),
            outcome: Some(Outcome::Denied),
            error: Some(refusal.to_string()),
        };
        self.record_refusal(ctx, event).await;
    }

    /// Runs a change between an intent row and an outcome row. No intent row, no change.
    /// The change is handed the operation id both rows carry.
    async fn audited<T, F>(
        &self,
        ctx: &RequestContext,
        action: Action,
        target: &AuditTarget,
        change: F,
    ) -> Result<T>
    where
        F: AsyncFnOnce(Uuid) -> Result<T>,
    {
        let operation = self.begin_audit(ctx, action, target).await?;
        let result = change(operation).await;
        self.end_audit(ctx, operation, action, target, result.as_ref().map(drop))
            .await;
        result
    }

    /// Runs a database change between an intent row and an outcome row, the change and the
    /// outcome row in one transaction: both are stored or neither (a failure's outcome row
    /// is then written on its own). No intent row, no change.
    async fn audited_in_tx<T, F>(
        &self,
        ctx: &RequestContext,
        action: Action,
        target: &AuditTarget,
        change: F,
    ) -> Result<T>
    where
        F: for<'c> AsyncFnOnce(&'c mut sqlx::PgConnection) -> Result<T>,
    {
        let operation = self.begin_audit(ctx, action, target).await?;
        let committed = async {
            let mut tx = self.pool.begin().await?;
            let value = change(&mut tx).await?;
            let outcome = event(
                ctx,
                operation,
                Phase::Outcome,
                action,
                target,
                Outcome::Success,
                None,
            );
            let started = std::time::Instant::now();
            let appended = crate::audit::chain::append_in(&mut tx, outcome).await;
            crate::metrics::audit_append(crate::metrics::outcome(&appended), started.elapsed());
            appended?;
            tx.commit().await?;
            Ok(value)
        }
        .await;
        match &committed {
            Ok(_) if action.changes_access() => self.access_changed(),
            Ok(_) => {}
            Err(error) => {
                self.end_audit(ctx, operation, action, target, Err(error))
                    .await;
            }
        }
        committed
    }

    /// Spends the caller's change budget and writes the intent row; answers the operation id.
    async fn begin_audit(
        &self,
        ctx: &RequestContext,
        action: Action,
        target: &AuditTarget,
    ) -> Result<Uuid> {
        self.spend(ctx, Cost::Change)?;
        let operation = Uuid::new_v4();
        let intent = event(
            ctx,
            operation,
            Phase::Intent,
            action,
            target,
            Outcome::Pending,
            None,
        );
        self.audit
            .append(intent)
            .await
            .map_err(|error| match error {
                Error::Database(db) => Error::AuditUnavailable(db),
                other => other,
            })?;
        Ok(operation)
    }

    /// Writes the outcome row of `operation`; a refusal also spends the refusal budget, and
    /// a successful change of who may do what drops the cached grants.
    async fn end_audit(
        &self,
        ctx: &RequestContext,
        operation: Uuid,
        action: Action,
        target: &AuditTarget,
        result: std::result::Result<(), &Error>,
    ) {
        if result.is_ok() && action.changes_access() {
            self.access_changed();
        }
        let (outcome, error) = match result {
            Ok(()) => (Outcome::Success, None),
            Err(error) if error.is_refusal() => {
                // The intent row is written already; the refusal still spends the budget.
                let _ = self.refusals.admit(&principal_key(&ctx.principal));
                (Outcome::Denied, Some(error.to_string()))
            }
            Err(error) => (Outcome::Failure, Some(error.to_string())),
        };
        self.write_outcome(ctx, operation, action, target, outcome, error)
            .await;
    }

    /// Writes the outcome row of `operation` as given.
    async fn write_outcome(
        &self,
        ctx: &RequestContext,
        operation: Uuid,
        action: Action,
        target: &AuditTarget,
        outcome: Outcome,
        error: Option<String>,
    ) {
        let outcome = event(
            ctx,
            operation,
            Phase::Outcome,
            action,
            target,
            outcome,
            error,
        );
        if let Err(error) = self.audit.append(outcome).await {
            // The change is done and cannot be undone here; the intent row stays as the record.
            tracing::error!(%error, %action, %operation, "could not record an operation's outcome in the audit log");
        }
    }
}

/// Builds an audit row for `ctx` (the log redacts the parameters when it appends).
fn event(
    ctx: &RequestContext,
    operation_id: Uuid,
    phase: Phase,
    action: Action,
    target: &AuditTarget,
    outcome: Outcome,
    error: Option<String>,
) -> NewEvent {
    let parameters = match &target.parameters {
        Value::Null => Value::Object(Default::default()),
        other => other.clone(),
    };
    NewEvent {
        operation_id,
        phase,
        actor: Actor::from(&ctx.principal),
        channel: ctx.channel,
        request_id: ctx.request_id.clone(),
        client_addr: ctx.client_addr.clone(),
        action: action.as_str().to_owned(),
        tenant: target.tenant.clone(),
        cluster: target.cluster.clone().unwrap_or_default(),
        namespace: target.namespace.clone(),
        target_kind: target.kind.map(str::to_owned),
        target_name: target.name.clone(),
        parameters,
        outcome: Some(outcome),
        error,
    }
}

pub use audit::ExportFormat;

/// The audit action of a request refused at the edge for the text it carried; it names no
/// operation, since none was read.
pub const UNREADABLE_REQUEST: &str = "request.unreadable";

/// The key a principal's budgets (refusals, streams, running operations) are kept under:
/// the owning subject, so that the API tokens one person mints share that person's budget
/// instead of multiplying it (a token's issuer names the token; its subject, its owner).
/// Subjects of different sign-ins cannot meet: one OpenID issuer, and client certificates
/// in their own `x509:` namespace.
pub(crate) fn principal_key(principal: &Principal) -> String {
    principal.subject.clone()
}
