//! Deployments across adapters: every operation checks the caller's access to the namespace,
//! then (for changes) writes intent and outcome rows around one adapter call.

use super::{AuditTarget, RequestContext, Service};
use crate::access::policy;
use crate::access::{Action, NamespaceScope, Visible};
use crate::adapters::DeploymentAdapter;
use crate::adapters::flux::FluxAdapter;
use crate::adapters::helm::HelmAdapter;
use crate::{Error, Result};
use model::deployment::{
    Deployment, DeploymentDetail, DeploymentEvent, DeploymentFilter, DeploymentPage,
    DeploymentRequest, DeploymentRevision, DeploymentStatus, DeploymentUpdate, InventoryEntry,
    ReconcileOutcome, ReconcileRequest, RollbackOutcome,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The deployment adapters the service was built with.
#[derive(Clone, Default)]
pub struct Adapters {
    /// Flux (HelmReleases and Kustomizations).
    pub flux: Option<Arc<FluxAdapter>>,
    /// Helm releases and uploaded packages.
    pub helm: Option<Arc<HelmAdapter>>,
}

impl std::fmt::Debug for Adapters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapters")
            .field("flux", &self.flux.is_some())
            .field("helm", &self.helm.is_some())
            .finish()
    }
}

impl Adapters {
    fn all(&self) -> Vec<&dyn DeploymentAdapter> {
        let mut all: Vec<&dyn DeploymentAdapter> = Vec::new();
        if let Some(flux) = &self.flux {
            all.push(flux.as_ref());
        }
        if let Some(helm) = &self.helm {
            all.push(helm.as_ref());
        }
        all
    }

    /// The adapter that runs `namespace/name`: Flux first (a Flux HelmRelease also has a Helm
    /// release under it), then Helm.
    fn running(&self, namespace: &str, name: &str) -> Result<&dyn DeploymentAdapter> {
        let all = self.all();
        if all.is_empty() {
            return Err(no_adapter());
        }
        all.into_iter()
            .find(|a| a.get(namespace, name).is_ok())
            .ok_or_else(|| Error::not_found("deployment", name))
    }

    /// The adapter a create request is for: Helm when it names a package or a helm.chart.
    fn for_request(&self, request: &DeploymentRequest) -> Result<&dyn DeploymentAdapter> {
        let helm_request = request.package_id.is_some()
            || request.extensions.keys().any(|k| k.starts_with("helm."));
        let chosen: Option<&dyn DeploymentAdapter> = if helm_request {
            self.helm.as_deref().map(|h| h as &dyn DeploymentAdapter)
        } else {
            self.flux.as_deref().map(|f| f as &dyn DeploymentAdapter)
        };
        chosen.ok_or_else(|| {
            Error::AdapterUnhealthy(format!(
                "no {} adapter is configured",
                if helm_request { "Helm" } else { "Flux" }
            ))
        })
    }
}

fn no_adapter() -> Error {
    Error::AdapterUnhealthy(
        "no deployment adapter is configured: set a kubeconfig (flux.kubeconfig or KUBECONFIG)"
            .into(),
    )
}

impl Service {
    pub(super) fn flux(&self) -> Result<&FluxAdapter> {
        self.adapters.flux.as_deref().ok_or_else(no_adapter)
    }

    /// Authorizes a namespace-level action, auditing a denial, and returns the audit target.
    pub(super) async fn namespaced(
        &self,
        ctx: &RequestContext,
        action: Action,
        namespace: &str,
        name: Option<&str>,
        parameters: Value,
    ) -> Result<(NamespaceScope, AuditTarget)> {
        let grants = self.grants(ctx).await?;
        let target = AuditTarget {
            tenant: grants.namespace_owners.get(namespace).cloned(),
            namespace: Some(namespace.to_owned()),
            kind: Some("deployment"),
            name: name.map(str::to_owned),
            parameters,
        };
        match policy::authorize_namespace(&grants, action, namespace) {
            Ok(scope) => Ok((scope, target)),
            Err(denied) => Err(self.deny(ctx, action, &target, denied).await),
        }
    }

    pub(super) async fn visible(&self, ctx: &RequestContext, action: Action) -> Result<Visible> {
        Ok(policy::visible_namespaces(&self.grants(ctx).await?, action))
    }

    /// Ok when every configured adapter has filled its caches (readiness).
    pub async fn adapters_ready(&self) -> Result<()> {
        if let Some(flux) = &self.adapters.flux {
            flux.cache()
                .wait_until_ready(std::time::Duration::from_millis(200))
                .await?;
        }
        if let Some(helm) = &self.adapters.helm {
            helm.cache()
                .wait_until_ready(std::time::Duration::from_millis(200))
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
        let all = self.adapters.all();
        if all.is_empty() {
            return Err(no_adapter());
        }
        let rows = all
            .into_iter()
            .flat_map(|adapter| adapter.matching(filter, &visible))
            .collect();
        crate::adapters::page::select(rows, filter)
    }

    /// Counts by kind and status in the namespaces the caller may see.
    pub async fn deployment_stats(
        &self,
        ctx: &RequestContext,
    ) -> Result<BTreeMap<(String, DeploymentStatus), usize>> {
        let visible = self.visible(ctx, Action::DeploymentList).await?;
        let mut counts = match &self.adapters.flux {
            Some(flux) => flux.stats(&visible),
            None => BTreeMap::new(),
        };
        if let Some(helm) = &self.adapters.helm {
            for release in helm.cache().releases() {
                if visible.contains(&release.namespace) {
                    let status = crate::adapters::helm::cache::state_of(&release).status;
                    *counts
                        .entry((crate::adapters::helm::cache::KIND.to_owned(), status))
                        .or_insert(0) += 1;
                }
            }
        }
        Ok(counts)
    }

    /// One deployment with its status, progress and conditions.
    pub async fn get_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<Deployment> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        self.adapters
            .running(scope.namespace(), name)?
            .get(scope.namespace(), name)
    }

    /// Everything a deployment's page shows: state, history, events, inventory and YAML.
    pub async fn deployment_detail(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<DeploymentDetail> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        let namespace = scope.namespace();
        let adapter = self.adapters.running(namespace, name)?;
        let deployment = adapter.get(namespace, name)?;
        let inventory = match (&self.adapters.flux, &self.adapters.helm) {
            (Some(flux), _) if deployment.adapter == "flux" => flux.inventory(namespace, name)?,
            (_, Some(helm)) if deployment.adapter == "helm" => helm.inventory(namespace, name)?,
            _ => Vec::new(),
        };
        Ok(DeploymentDetail {
            deployment,
            history: adapter.history(namespace, name).await?,
            events: adapter.events(namespace, name).await?,
            inventory,
            yaml: adapter.export_yaml(namespace, name).await?,
        })
    }

    /// The revisions kept, newest first.
    pub async fn deployment_history(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<DeploymentRevision>> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        self.adapters
            .running(scope.namespace(), name)?
            .history(scope.namespace(), name)
            .await
    }

    /// Events about a deployment.
    pub async fn deployment_events(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<DeploymentEvent>> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        self.adapters
            .running(scope.namespace(), name)?
            .events(scope.namespace(), name)
            .await
    }

    /// The values a deployment runs with.
    pub async fn deployment_values(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<serde_json::Map<String, Value>> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        self.adapters
            .running(scope.namespace(), name)?
            .values(scope.namespace(), name)
    }

    /// A deployment's object as clean YAML.
    pub async fn export_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<String> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        self.adapters
            .running(scope.namespace(), name)?
            .export_yaml(scope.namespace(), name)
            .await
    }

    /// What a deployment applied.
    pub async fn deployment_inventory(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<InventoryEntry>> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        self.flux()?.inventory(scope.namespace(), name)
    }

    /// Creates a deployment.
    pub async fn create_deployment(
        &self,
        ctx: &RequestContext,
        request: &DeploymentRequest,
    ) -> Result<Deployment> {
        let parameters = json!({ "values": request.values, "labels": request.labels, "extensions": request.extensions });
        let (_, target) = self
            .namespaced(
                ctx,
                Action::DeploymentCreate,
                &request.namespace,
                Some(&request.name),
                parameters,
            )
            .await?;
        let adapter = self.adapters.for_request(request)?;
        self.audited(ctx, Action::DeploymentCreate, &target, async || {
            adapter.create(request).await
        })
        .await
    }

    /// Changes values, chart version or extensions.
    pub async fn update_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        update: &DeploymentUpdate,
    ) -> Result<Deployment> {
        let parameters = json!({ "values": update.values, "extensions": update.extensions });
        let (scope, target) = self
            .namespaced(
                ctx,
                Action::DeploymentUpdate,
                namespace,
                Some(name),
                parameters,
            )
            .await?;
        let adapter = self.adapters.running(scope.namespace(), name)?;
        self.audited(ctx, Action::DeploymentUpdate, &target, async || {
            adapter.update(scope.namespace(), name, update).await
        })
        .await
    }

    /// Deletes a deployment.
    pub async fn delete_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<()> {
        let (scope, target) = self
            .namespaced(
                ctx,
                Action::DeploymentDelete,
                namespace,
                Some(name),
                json!({}),
            )
            .await?;
        let adapter = self.adapters.running(scope.namespace(), name)?;
        self.audited(ctx, Action::DeploymentDelete, &target, async || {
            adapter.delete(scope.namespace(), name).await
        })
        .await
    }

    /// Sets the replica count.
    pub async fn scale_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        replicas: u32,
        path: Option<&str>,
    ) -> Result<Deployment> {
        let parameters = json!({ "replicas": replicas, "path": path });
        let (scope, target) = self
            .namespaced(
                ctx,
                Action::DeploymentScale,
                namespace,
                Some(name),
                parameters,
            )
            .await?;
        let adapter = self.adapters.running(scope.namespace(), name)?;
        self.audited(ctx, Action::DeploymentScale, &target, async || {
            adapter.scale(scope.namespace(), name, replicas, path).await
        })
        .await
    }

    /// Restores an earlier revision (0: the previous one).
    pub async fn rollback_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let (scope, target) = self
            .namespaced(
                ctx,
                Action::DeploymentRollback,
                namespace,
                Some(name),
                json!({ "revision": revision }),
            )
            .await?;
        let adapter = self.adapters.running(scope.namespace(), name)?;
        self.audited(ctx, Action::DeploymentRollback, &target, async || {
            adapter.rollback(scope.namespace(), name, revision).await
        })
        .await
    }

    /// Asks Flux to reconcile and reports the outcome.
    pub async fn reconcile_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        request: ReconcileRequest,
    ) -> Result<ReconcileOutcome> {
        let parameters = serde_json::to_value(request).unwrap_or_default();
        let (scope, target) = self
            .namespaced(
                ctx,
                Action::DeploymentReconcile,
                namespace,
                Some(name),
                parameters,
            )
            .await?;
        let adapter = self.adapters.running(scope.namespace(), name)?;
        self.audited(ctx, Action::DeploymentReconcile, &target, async || {
            adapter.reconcile(scope.namespace(), name, request).await
        })
        .await
    }

    /// Suspends (with an optional reason) or resumes reconciliation.
    pub async fn set_deployment_suspended(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        suspend: bool,
        reason: Option<&str>,
    ) -> Result<Deployment> {
        let action = if suspend {
            Action::DeploymentSuspend
        } else {
            Action::DeploymentResume
        };
        let (scope, target) = self
            .namespaced(
                ctx,
                action,
                namespace,
                Some(name),
                json!({ "reason": reason }),
            )
            .await?;
        let adapter = self.adapters.running(scope.namespace(), name)?;
        self.audited(ctx, action, &target, async || {
            adapter
                .set_suspended(scope.namespace(), name, suspend, reason)
                .await
        })
        .await
    }
}
