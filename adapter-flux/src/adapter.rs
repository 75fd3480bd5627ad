//! The Flux adapter: reads from the watch caches, writes through the API server, and the
//! operations that combine both (reconcile and wait, rollback, source pinning).

use super::cache::{FluxCache, to_deployment};
use super::config::FluxConfig;
use super::history::{pinned_ref, revisions};
use super::kinds::{self, FluxKind, HELM_RELEASE, KUSTOMIZATION, by_kind};
use super::lockdown::Lockdown;
use super::observe;
use super::record::SpecRecord;
use super::spec::build;
use super::trace;
use super::types::source_ref;
use super::writes::FluxWriter;
use control_core::Namespaces;
use control_core::adapters::connection::ClusterConnection;
use control_core::adapters::context::{Boundary, RunAs, WriteCtx};
use control_core::adapters::identity::flux_writer;
use control_core::adapters::rows::CacheEvent;
use control_core::adapters::{ControllerLogs, DeploymentAdapter, Inventory, Stats, Toolkit};
use control_core::{Error, Result};
use kube::Client;
use kube::api::DynamicObject;
use kube::config::{KubeConfigOptions, Kubeconfig};
use model::deployment::{
    Deployment, DeploymentEvent, DeploymentFilter, DeploymentRequest, DeploymentRevision,
    DeploymentStatus, DeploymentUpdate, InventoryEntry, LogQuery, ReconcileOutcome,
    ReconcileRequest, RollbackOutcome,
};
use model::reference::{ClusterId, DeploymentKind, DeploymentRef, NamespaceRef};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

pub use super::reconcile::{FORCE_AT, RESET_AT};
pub use super::rollback::PINNED_FROM;

/// The adapter instance name when the configuration gives none.
pub const DEFAULT_NAME: &str = "flux";

/// The Flux adapter.
pub struct FluxAdapter {
    pub(super) name: String,
    pub(super) cluster: ClusterId,
    pub(super) connection: Arc<ClusterConnection>,
    pub(super) client: Client,
    pub(super) config: FluxConfig,
    pub(super) cache: Arc<FluxCache>,
    pub(super) writer: FluxWriter,
    pub(super) record: SpecRecord,
}

impl std::fmt::Debug for FluxAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxAdapter")
            .field("name", &self.name)
            .field("cluster", &self.cluster)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The cluster's `kube::Config` from the configured kubeconfig, or the in-cluster /
/// `KUBECONFIG` default.
pub async fn kube_config(kubeconfig: Option<&PathBuf>) -> Result<kube::Config> {
    match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|e| {
                Error::Cluster(format!("cannot read kubeconfig {}: {e}", path.display()))
            })?;
            kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| Error::Cluster(format!("kubeconfig {}: {e}", path.display())))
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| Error::Cluster(format!("no kubeconfig and not in a cluster: {e}"))),
    }
}

impl FluxAdapter {
    /// An adapter called `flux` for `cluster`, starting its watch caches.
    pub fn new(
        cluster: &Arc<ClusterConnection>,
        config: FluxConfig,
        record: SpecRecord,
    ) -> Result<Self> {
        Self::named(cluster, DEFAULT_NAME, config, record)
    }

    /// An adapter instance called `name` (a `plugins.dms` entry) for `cluster`.
    pub fn named(
        cluster: &Arc<ClusterConnection>,
        name: &str,
        config: FluxConfig,
        record: SpecRecord,
    ) -> Result<Self> {
        config.validate()?;
        let client = cluster.client().clone();
        Ok(Self {
            name: name.to_owned(),
            cluster: cluster.id().clone(),
            connection: cluster.clone(),
            cache: Arc::new(FluxCache::start(&client, cluster.id().clone(), name)),
            writer: FluxWriter::new(client.clone(), config.clone()),
            client,
            config,
            record,
        })
    }

    /// The watch caches (the adapter is ready once they have synced).
    pub fn cache(&self) -> &FluxCache {
        &self.cache
    }

    /// The writer for a write in `namespace`, holding what it applies to Flux's lockdown when
    /// a tenant writes: the object runs as that namespace's tenant account, and the write
    /// itself goes to the API server as the namespace's Flux writer account (the tenant
    /// account may not write Flux objects, so that nothing it applies can plant one).
    pub(super) fn writer_in(&self, ctx: &WriteCtx, namespace: &str) -> Result<FluxWriter> {
        let run_as = ctx.run_as_in(namespace);
        let lockdown = Lockdown::for_write(&run_as, self.boundary(ctx), &self.cluster);
        let writes_as = match run_as {
            RunAs::Pilothouse => RunAs::Pilothouse,
            RunAs::ServiceAccount { .. } => {
                flux_writer(self.connection.home_namespace(), namespace)
            }
        };
        let client = self.connection.client_as(&writes_as)?;
        Ok(self.writer.acting_as(client, lockdown))
    }

    /// How far a write reaches: the service's boundary with this adapter's shared source
    /// namespaces.
    pub(super) fn boundary(&self, ctx: &WriteCtx) -> Boundary {
        let shared = self
            .config
            .shared_source_namespaces
            .iter()
            .filter_map(|ns| NamespaceRef::new(self.cluster.clone(), ns).ok());
        ctx.boundary().clone().sharing(shared)
    }

    /// A namespace of this adapter's cluster.
    pub(super) fn namespace_ref(&self, namespace: &str) -> Result<NamespaceRef> {
        Ok(NamespaceRef::new(self.cluster.clone(), namespace)?)
    }

    /// The row every surface shows for a Flux object.
    pub(super) fn row(&self, kind: FluxKind, object: &DynamicObject) -> Deployment {
        to_deployment(&self.cluster, &self.name, kind, object)
    }

    pub(super) fn cached(
        &self,
        deployment: &DeploymentRef,
    ) -> Result<(FluxKind, Arc<DynamicObject>)> {
        let kind = kinds::of(deployment.kind())?;
        self.cache
            .object(kind, deployment.namespace(), deployment.name())
            .map(|object| (kind, object))
            .ok_or_else(|| Error::not_found("deployment", deployment.name()))
    }

    /// The source a deployment reads from, as (kind, namespace, name).
    pub(super) fn source_of(
        kind: FluxKind,
        object: &DynamicObject,
    ) -> Result<(FluxKind, String, String)> {
        let reference = source_ref(&object.data, kind == HELM_RELEASE)
            .filter(|r| !r.name.is_empty())
            .ok_or_else(|| Error::invalid("flux.sourceRef", "the object names no source"))?;
        let source_kind = reference.kind.as_deref().and_then(by_kind).ok_or_else(|| {
            Error::invalid("flux.sourceKind", "the object names no known source kind")
        })?;
        let namespace = reference
            .namespace
            .or_else(|| object.metadata.namespace.clone())
            .unwrap_or_default();
        Ok((source_kind, namespace, reference.name))
    }

    /// Refuses a deployment whose source does not exist, before anything is written.
    async fn require_source(&self, kind: FluxKind, object: &Value) -> Result<()> {
        let object: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| Error::invalid("spec", e.to_string()))?;
        let (source_kind, namespace, name) = Self::source_of(kind, &object)?;
        let found = self
            .writer
            .api(source_kind, &namespace)
            .get_opt(&name)
            .await
            .map_err(super::writes::cluster)?;
        if found.is_none() {
            return Err(Error::invalid(
                "flux.sourceRef",
                format!(
                    "{} {namespace}/{name} not found; create the source first or name an existing one",
                    source_kind.kind
                ),
            ));
        }
        Ok(())
    }

    pub(super) async fn remember(&self, object: &DynamicObject) -> Result<()> {
        let values = object
            .data
            .pointer("/spec/values")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let version = object
            .data
            .pointer("/spec/chart/spec/version")
            .and_then(Value::as_str);
        self.record
            .remember(
                object.metadata.namespace.as_deref().unwrap_or_default(),
                object.metadata.name.as_deref().unwrap_or_default(),
                version,
                &values,
            )
            .await
    }
}

impl Inventory for FluxAdapter {
    fn inventory(&self, deployment: &DeploymentRef) -> Result<Vec<InventoryEntry>> {
        let (_, object) = self.cached(deployment)?;
        Ok(trace::inventory(&object.data))
    }
}

impl Stats for FluxAdapter {
    fn stats(&self, visible: &Namespaces) -> BTreeMap<(String, DeploymentStatus), usize> {
        self.cache.stats(visible)
    }
}

#[async_trait::async_trait]
impl ControllerLogs for FluxAdapter {
    async fn controller_logs(&self, controller: &str, query: &LogQuery) -> Result<String> {
        observe::controller_logs(&self.client, &self.config.namespace, controller, query).await
    }
}

fn ext<'a>(extensions: &'a BTreeMap<String, Value>, key: &str) -> Option<&'a str> {
    extensions.get(key).and_then(Value::as_str)
}

#[async_trait::async_trait]
impl DeploymentAdapter for FluxAdapter {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &'static [DeploymentKind] {
        &[DeploymentKind::HelmRelease, DeploymentKind::Kustomization]
    }

    fn capabilities(&self) -> &'static [&'static str] {
        &[
            "rollback",
            "scale",
            "reconcile",
            "suspend",
            "history",
            "events",
            "inventory",
            "sources",
            "logs",
            "gitops",
        ]
    }

    async fn version(&self) -> Option<String> {
        Some(
            [HELM_RELEASE, KUSTOMIZATION]
                .map(|k| format!("{}/{}", k.group, k.version))
                .join(", "),
        )
    }

    async fn health(&self) -> Result<()> {
        super::health::check(&self.client).await
    }

    async fn controller_lockdown(&self) -> Option<model::lockdown::FluxLockdown> {
        let mut report = super::controllers::lockdown(&self.client, &self.config.namespace).await;
        let refuses_crossing = report.controllers.iter().any(|c| {
            c.installed
                && c.flags
                    .iter()
                    .any(|f| f.flag == "--no-cross-namespace-refs" && f.ok)
        });
        if refuses_crossing && !self.config.shared_source_namespaces.is_empty() {
            report.summary.push_str(&format!(
                "; flux.sharedSourceNamespaces ({}) conflicts with --no-cross-namespace-refs: deployments that use a shared source fail to reconcile",
                self.config.shared_source_namespaces.join(", ")
            ));
        }
        Some(report)
    }

    async fn readiness(&self, limit: Duration) -> Result<()> {
        self.cache.wait_until_ready(limit).await?;
        if !self.config.require_controller_lockdown {
            return Ok(());
        }
        match self.controller_lockdown().await {
            Some(report) if !report.locked_down => Err(Error::Cluster(format!(
                "flux.requireControllerLockdown is set and {}",
                report.summary
            ))),
            _ => Ok(()),
        }
    }

    async fn wait_until_ready(&self, limit: Duration) -> Result<()> {
        self.cache.wait_until_ready(limit).await
    }

    fn changes(&self) -> broadcast::Receiver<CacheEvent> {
        self.cache.subscribe()
    }

    fn matching(&self, filter: &DeploymentFilter, visible: &Namespaces) -> Vec<Arc<Deployment>> {
        self.cache.matching(filter, visible)
    }

    fn window(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
        after: Option<&control_core::adapters::rows::RowKey>,
        want: usize,
    ) -> control_core::adapters::rows::Window {
        self.cache.window(filter, visible, after, want)
    }

    fn get(&self, deployment: &DeploymentRef) -> Result<Deployment> {
        self.cache
            .get(deployment)
            .ok_or_else(|| Error::not_found("deployment", deployment.name()))
    }

    async fn create(
        &self,
        ctx: &WriteCtx,
        kind: DeploymentKind,
        request: &DeploymentRequest,
    ) -> Result<Deployment> {
        // `build` reads the kind from the request exactly as the service did.
        let (flux_kind, object) = build(request, &self.config)?;
        // The lockdown first: a source in another tenant's namespace is refused the same
        // whether it exists or not.
        let writer = self.writer_in(ctx, &request.namespace)?;
        writer.check(flux_kind, &object)?;
        let revision = ext(&request.extensions, "flux.targetRevision").filter(|r| !r.is_empty());
        let built: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| Error::invalid("spec", e.to_string()))?;
        if let Some(revision) = revision {
            let (source_kind, _, _) = self.pin_target(ctx, &built)?;
            pinned_ref(source_kind, &json!({}), revision)?;
        }
        self.require_source(flux_kind, &object).await?;
        ctx.progress(
            30,
            format!("creating {kind} {}/{}", request.namespace, request.name),
        );
        let created = writer.create(request).await?;
        if flux_kind == HELM_RELEASE {
            self.remember(&created).await?;
        }
        if let Some(revision) = revision {
            self.pin_source(ctx, &created, revision).await?;
        }
        Ok(self.row(flux_kind, &created))
    }

    async fn update(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        update: &DeploymentUpdate,
    ) -> Result<Deployment> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        let revision = ext(&update.extensions, "flux.targetRevision");
        let kind = kinds::of(deployment.kind())?;
        let current = self.writer.find(kind, namespace, name).await?;
        if revision.is_some() && kind != KUSTOMIZATION {
            return Err(Error::invalid(
                "flux.targetRevision",
                "only Kustomizations follow a source revision; pin a HelmRelease with flux.chartVersion",
            ));
        }
        let pin = match revision.filter(|r| !r.is_empty()) {
            Some(revision) => {
                let (source_kind, _, _) = self.pin_target(ctx, &current)?;
                pinned_ref(source_kind, &json!({}), revision)?;
                true
            }
            // Unpinning writes the source too: the same boundary applies.
            None if revision.is_some() => {
                self.pin_target(ctx, &current)?;
                true
            }
            None => false,
        };
        let updated = self
            .writer_in(ctx, namespace)?
            .update(kind, namespace, name, update, ctx.force())
            .await?;
        if kind == HELM_RELEASE {
            self.remember(&updated).await?;
        }
        if let (true, Some(revision)) = (pin, revision) {
            self.pin_source(ctx, &updated, revision).await?;
        }
        Ok(self.row(kind, &updated))
    }

    async fn delete(&self, ctx: &WriteCtx, deployment: &DeploymentRef) -> Result<()> {
        self.writer_in(ctx, deployment.namespace())?
            .delete(
                kinds::of(deployment.kind())?,
                deployment.namespace(),
                deployment.name(),
            )
            .await
    }

    async fn scale(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        replicas: u32,
        path: Option<&str>,
    ) -> Result<Deployment> {
        let kind = kinds::of(deployment.kind())?;
        let scaled = self
            .writer_in(ctx, deployment.namespace())?
            .scale(
                kind,
                deployment.namespace(),
                deployment.name(),
                replicas,
                path,
                ctx.force(),
            )
            .await?;
        self.remember(&scaled).await?;
        Ok(self.row(HELM_RELEASE, &scaled))
    }

    async fn rollback(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let kind = kinds::of(deployment.kind())?;
        let current = self
            .writer
            .find(kind, deployment.namespace(), deployment.name())
            .await?;
        if kind == HELM_RELEASE {
            self.rollback_release(ctx, deployment, current, revision)
                .await
        } else {
            self.rollback_kustomization(ctx, deployment, current, revision)
                .await
        }
    }

    async fn reconcile(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        request: ReconcileRequest,
    ) -> Result<ReconcileOutcome> {
        self.reconcile_and_wait(ctx, deployment, request).await
    }

    async fn set_suspended(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        suspend: bool,
        reason: Option<&str>,
    ) -> Result<Deployment> {
        if let Some(reason) = reason {
            control_core::validate::text("reason", reason, 500)?;
        }
        let kind = kinds::of(deployment.kind())?;
        let object = self
            .writer_in(ctx, deployment.namespace())?
            .set_suspended(
                kind,
                deployment.namespace(),
                deployment.name(),
                suspend,
                reason,
                ctx.force(),
            )
            .await?;
        Ok(self.row(kind, &object))
    }

    async fn history(&self, deployment: &DeploymentRef) -> Result<Vec<DeploymentRevision>> {
        let (kind, object) = self.cached(deployment)?;
        Ok(revisions(kind, &object.data))
    }

    async fn events(&self, deployment: &DeploymentRef) -> Result<Vec<DeploymentEvent>> {
        let (kind, _) = self.cached(deployment)?;
        observe::events(
            &self.client,
            kind,
            deployment.namespace(),
            deployment.name(),
        )
        .await
    }

    fn values(&self, deployment: &DeploymentRef) -> Result<Map<String, Value>> {
        let (_, object) = self.cached(deployment)?;
        Ok(object
            .data
            .pointer("/spec/values")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    async fn export_yaml(&self, deployment: &DeploymentRef) -> Result<String> {
        let object = self
            .writer
            .find(
                kinds::of(deployment.kind())?,
                deployment.namespace(),
                deployment.name(),
            )
            .await?;
        observe::export_yaml(&object)
    }

    fn as_inventory(&self) -> Option<&dyn Inventory> {
        Some(self)
    }

    fn as_stats(&self) -> Option<&dyn Stats> {
        Some(self)
    }

    fn as_toolkit(&self) -> Option<&dyn Toolkit> {
        Some(self)
    }

    fn as_controller_logs(&self) -> Option<&dyn ControllerLogs> {
        Some(self)
    }
}
