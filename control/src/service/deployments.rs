//! Deployments across adapters: every operation checks the caller's access to the namespace,
//! then (for changes) writes intent and outcome rows around one adapter call, which gets a
//! write context built here from the authorized scope.

use super::change::Change;
use super::permissions;
use super::{AuditTarget, RequestContext, Service};
use crate::access::policy;
use crate::access::{Action, GlobalRole, Grants, NamespaceScope, Namespaces};
use crate::adapters::context::{Boundary, ProgressSink, RunAs, TENANT_SERVICE_ACCOUNT, WriteCtx};
use crate::adapters::registry::no_cluster;
use crate::adapters::requested_kind;
use crate::adapters::{DeploymentAdapter, object_health, page};
use crate::audit::Actor;
use crate::{Error, Result};
use model::deployment::{
    Deployment, DeploymentDetail, DeploymentEvent, DeploymentFilter, DeploymentPage,
    DeploymentRequest, DeploymentRevision, DeploymentStatus, InventoryEntry,
};
use model::reference::{DeploymentKind, DeploymentRef, NamespaceRef};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

impl Service {
    /// Authorizes a namespace-level action, auditing a denial, and returns the audit target
    /// with the grants the decision was made on.
    pub(super) async fn namespaced(
        &self,
        ctx: &RequestContext,
        action: Action,
        namespace: &NamespaceRef,
        name: Option<&str>,
        parameters: Value,
    ) -> Result<(NamespaceScope, AuditTarget, Grants)> {
        let grants = self.grants(ctx).await?;
        let target = AuditTarget {
            tenant: grants.tenancy.namespace_owners.get(namespace).cloned(),
            cluster: Some(namespace.cluster().clone()),
            namespace: Some(namespace.name().to_owned()),
            kind: Some("deployment"),
            name: name.map(str::to_owned),
            parameters,
        };
        match policy::authorize_namespace(&grants, action, namespace) {
            Ok(scope) => Ok((scope, target, grants)),
            Err(denied) => Err(self.deny(ctx, action, &target, denied).await),
        }
    }

    /// Authorizes an action on one deployment, naming its kind in the audit row.
    pub(super) async fn on_deployment(
        &self,
        ctx: &RequestContext,
        action: Action,
        deployment: &DeploymentRef,
        parameters: Value,
    ) -> Result<(NamespaceScope, AuditTarget, Grants)> {
        let (scope, mut target, grants) = self
            .namespaced(
                ctx,
                action,
                &deployment.namespace_ref(),
                Some(deployment.name()),
                parameters,
            )
            .await?;
        target.kind = Some(deployment.kind().as_str());
        Ok((scope, target, grants))
    }

    pub(super) async fn visible(&self, ctx: &RequestContext, action: Action) -> Result<Namespaces> {
        Ok(policy::visible_namespaces(&self.grants(ctx).await?, action))
    }

    /// The context an adapter write runs in: the operation, the actor, the identity the
    /// cluster sees and how far the tenant reaches (its namespaces where the caller may do
    /// `action`). Only built from an authorized scope.
    pub(super) fn write_ctx(
        &self,
        ctx: &RequestContext,
        operation: Uuid,
        action: Action,
        scope: &NamespaceScope,
        grants: &Grants,
        progress: ProgressSink,
    ) -> WriteCtx {
        let cluster = &scope.namespace().cluster();
        let boundary = match scope.tenant() {
            Some(tenant) if grants.global_role(GlobalRole::PlatformAdmin).is_none() => {
                Boundary::Tenant {
                    tenant: tenant.to_owned(),
                    namespaces: grants
                        .tenancy
                        .namespace_owners
                        .iter()
                        // Of the tenant's namespaces, those where the caller may do the same
                        // action: a target or dependency elsewhere needs the same right.
                        .filter(|(namespace, owner)| {
                            *owner == tenant
                                && namespace.cluster() == *cluster
                                && policy::authorize_namespace(grants, action, namespace).is_ok()
                        })
                        .map(|(namespace, _)| namespace.clone())
                        .collect(),
                    shared_sources: Default::default(),
                }
            }
            _ => Boundary::Unrestricted,
        };
        // Every write acts as the tenant service account of the namespace it lands in, so the
        // API server holds the tenant to its namespaces too. A namespace no tenant owns has no
        // such account: the write goes as Pilothouse, which may write nothing there.
        let run_as = match grants.tenancy.namespace_owners.get(scope.namespace()) {
            Some(_) => RunAs::tenant(scope.namespace().name(), TENANT_SERVICE_ACCOUNT),
            None => RunAs::Pilothouse,
        };
        WriteCtx::new(
            operation,
            Actor::from(&ctx.principal),
            run_as,
            boundary,
            progress,
            CancellationToken::new(),
        )
    }

    pub(super) fn adapter_for(&self, deployment: &DeploymentRef) -> Result<&dyn DeploymentAdapter> {
        self.registry.adapter_for(deployment)
    }

    /// The deployments called `name` in `namespace` that the caller may read: one, or a 409
    /// naming each kind when several kinds share the name (ask again with the kind or the id).
    pub async fn resolve_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
        name: &str,
        kind: Option<DeploymentKind>,
    ) -> Result<DeploymentRef> {
        self.namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        let cluster = self.registry.cluster(namespace.cluster())?;
        let mut found = Vec::new();
        for candidate in DeploymentKind::ALL
            .into_iter()
            .filter(|k| kind.is_none_or(|wanted| wanted == *k))
        {
            let reference = DeploymentRef::new(namespace, candidate, name)?;
            if let Some(adapter) = cluster.adapter_for(candidate)
                && adapter.get(&reference).is_ok()
            {
                found.push(reference);
            }
        }
        match found.len() {
            0 => Err(Error::not_found("deployment", name)),
            1 => Ok(found.remove(0)),
            _ => Err(Error::Conflict(format!(
                "{} deployments are called {name} in {}: {}; name the kind (?kind=…) or use the id",
                found.len(),
                namespace.name(),
                found
                    .iter()
                    .map(|r| format!("{} (id {r})", r.kind()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The one deployment called `name` among those the caller may see (a bare name, as the
    /// reference's examples use): 404 when there is none, 409 naming the visible candidates
    /// when there are several. Only visible deployments count, so the answer is the same
    /// whether or not someone else has one of that name.
    pub async fn find_deployment(&self, ctx: &RequestContext, name: &str) -> Result<DeploymentRef> {
        let visible = self.visible(ctx, Action::DeploymentGet).await?;
        if self.registry.is_empty() {
            return Err(no_cluster());
        }
        let mut found: Vec<DeploymentRef> = self
            .registry
            .primaries()
            .flat_map(|adapter| adapter.matching(&DeploymentFilter::default(), &visible))
            .filter(|d| d.name == name)
            .map(|d| d.reference())
            .collect();
        found.sort_by(|a, b| {
            (&a.namespace(), a.kind().as_str()).cmp(&(&b.namespace(), b.kind().as_str()))
        });
        found.dedup();
        match found.len() {
            0 => Err(Error::not_found("deployment", name)),
            1 => Ok(found.remove(0)),
            n => Err(Error::Conflict(format!(
                "{n} deployments you can see are called {name}: {}; name one as namespace/name or by its id",
                found
                    .iter()
                    .map(|r| format!("{}/{} ({}, id {r})", r.namespace(), r.name(), r.kind()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Ok when every configured adapter has filled its caches (readiness).
    pub async fn adapters_ready(&self) -> Result<()> {
        for adapter in self.registry.adapters() {
            adapter
                .readiness(std::time::Duration::from_millis(200))
                .await?;
        }
        Ok(())
    }

    /// Deployments in the namespaces the caller may see, one page at a time, across adapters.
    pub async fn list_deployments(
        &self,
        ctx: &RequestContext,
        filter: &DeploymentFilter,
    ) -> Result<DeploymentPage> {
        let visible = self.visible(ctx, Action::DeploymentList).await?;
        if self.registry.is_empty() {
            return Err(no_cluster());
        }
        let after = page::cursor(filter)?;
        let want = page::wanted(filter)?;
        let windows = self
            .registry
            .primaries()
            .map(|adapter| adapter.window(filter, &visible, after.as_ref(), want))
            .collect();
        page::merge(windows, filter)
    }

    /// Counts by kind and status in the namespaces the caller may see.
    pub async fn deployment_stats(
        &self,
        ctx: &RequestContext,
    ) -> Result<BTreeMap<(String, DeploymentStatus), usize>> {
        let visible = self.visible(ctx, Action::DeploymentList).await?;
        let mut counts = BTreeMap::new();
        for stats in self.registry.primaries().filter_map(|a| a.as_stats()) {
            for (key, count) in stats.stats(&visible) {
                *counts.entry(key).or_insert(0) += count;
            }
        }
        Ok(counts)
    }

    /// One deployment with its status, progress and conditions.
    pub async fn get_deployment(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<Deployment> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        self.adapter_for(deployment)?.get(deployment)
    }

    /// Everything a deployment's page shows: state, history, events, inventory and YAML.
    pub async fn deployment_detail(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<DeploymentDetail> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        let adapter = self.adapter_for(deployment)?;
        let row = adapter.get(deployment)?;
        let grants = self.grants(ctx).await?;
        let inventory = match adapter.as_inventory() {
            Some(inventory) => {
                let visible = policy::visible_namespaces(&grants, Action::DeploymentGet);
                let entries = inventory.inventory(deployment)?;
                // Health is the cluster's to tell, whichever adapter applied the objects.
                let client = self
                    .registry
                    .cluster(deployment.cluster())?
                    .connection()
                    .client();
                object_health::with_health(client, deployment.cluster(), entries, &visible).await
            }
            None => Vec::new(),
        };
        let permissions = permissions::permissions_in(
            &grants,
            &deployment.namespace_ref(),
            &permissions::DEPLOYMENT_PAGE,
        );
        let links = self.links.iter().filter_map(|l| l.render(&row)).collect();
        Ok(DeploymentDetail {
            links,
            deployment: row,
            history: adapter.history(deployment).await?,
            events: adapter.events(deployment).await?,
            inventory,
            yaml: adapter.export_yaml(deployment).await?,
            permissions,
        })
    }

    /// The revisions kept, newest first.
    pub async fn deployment_history(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<Vec<DeploymentRevision>> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        self.adapter_for(deployment)?.history(deployment).await
    }

    /// Events about a deployment.
    pub async fn deployment_events(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<Vec<DeploymentEvent>> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        self.adapter_for(deployment)?.events(deployment).await
    }

    /// The values a deployment runs with, secret-looking ones redacted unless `reveal`
    /// (operators, recorded).
    pub async fn deployment_values(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        reveal: bool,
    ) -> Result<serde_json::Map<String, Value>> {
        let values = self.raw_values(ctx, deployment).await?;
        if reveal {
            self.record_reveal(ctx, deployment, "values").await?;
            return Ok(values);
        }
        Ok(super::reveal::redacted_values(&values))
    }

    /// The values as they are, for the previews and updates computed from them (never shown).
    pub(super) async fn raw_values(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<serde_json::Map<String, Value>> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        self.adapter_for(deployment)?.values(deployment)
    }

    /// A deployment's object as clean YAML (a Helm release: its rendered manifest), with
    /// Secret data and secret-looking values redacted unless `reveal` (operators, recorded).
    pub async fn export_deployment(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        reveal: bool,
    ) -> Result<String> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        let text = self
            .adapter_for(deployment)?
            .export_yaml(deployment)
            .await?;
        if reveal {
            self.record_reveal(ctx, deployment, "yaml").await?;
            return Ok(text);
        }
        Ok(super::reveal::redacted_yaml(&text))
    }

    /// What a deployment applied.
    pub async fn deployment_inventory(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<Vec<InventoryEntry>> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        match self.adapter_for(deployment)?.as_inventory() {
            Some(inventory) => inventory.inventory(deployment),
            None => Ok(Vec::new()),
        }
    }

    /// The change that creates `request` in `namespace`, checked.
    pub fn create_change(
        &self,
        namespace: &NamespaceRef,
        request: &DeploymentRequest,
    ) -> Result<Change> {
        if request.namespace != namespace.name() {
            return Err(Error::invalid(
                "namespace",
                format!(
                    "the request names namespace {:?}, but the deployment is created in {}",
                    request.namespace,
                    namespace.name()
                ),
            ));
        }
        Ok(Change::CreateDeployment {
            namespace: namespace.clone(),
            kind: self.kind_to_create(namespace, request)?,
            request: request.clone(),
        })
    }

    /// The kind a create makes: the one its `packageId`, `helm.*` or `flux.type` says, within
    /// what the adapter it names (or, naming nothing, the default adapter) runs.
    fn kind_to_create(
        &self,
        namespace: &NamespaceRef,
        request: &DeploymentRequest,
    ) -> Result<DeploymentKind> {
        let requested = requested_kind(request)?;
        let names_a_kind = request.package_id.is_some()
            || request
                .extensions
                .keys()
                .any(|k| k.starts_with("helm.") || k == "flux.type");
        let Ok(cluster) = self.registry.cluster(namespace.cluster()) else {
            return Ok(requested);
        };
        let chosen = match request.adapter.as_deref() {
            Some(name) => cluster.adapter(name),
            None if !names_a_kind => cluster.default_adapter(),
            None => None,
        };
        Ok(match chosen.map(|a| a.kinds()) {
            Some([only]) if *only != requested => *only,
            _ => requested,
        })
    }
}
