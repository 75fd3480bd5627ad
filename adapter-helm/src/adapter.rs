//! The Helm adapter: releases read from the Secret watch, changes made by the helm binary.

use super::args;
use super::binary::{HelmBinary, Operation, supported};
use super::cache::ReleaseCache;
use super::config::HelmConfig;
use super::registries::RegistryPolicy;
use super::release::Release;
use control_core::Namespaces;
use control_core::adapters::connection::ClusterConnection;
use control_core::adapters::context::WriteCtx;
use control_core::adapters::records::{ChartSources, HelmRecords, PackageArchives};
use control_core::adapters::rows::CacheEvent;
use control_core::adapters::{Charts, DeploymentAdapter, Inventory, Stats};
use control_core::{Error, Result};
use kube::Client;
use model::deployment::{
    Deployment, DeploymentEvent, DeploymentFilter, DeploymentRequest, DeploymentRevision,
    DeploymentUpdate, ReconcileOutcome, ReconcileRequest, RollbackOutcome,
};
use model::reference::{DeploymentKind, DeploymentRef};
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

pub use super::preview::{manifest_objects, unified_diff};

/// The adapter instance name when the configuration gives none.
pub const DEFAULT_NAME: &str = "helm";
pub use super::source::ChartSource;

/// The Helm adapter.
pub struct HelmAdapter {
    pub(super) name: String,
    pub(super) client: Client,
    pub(super) config: HelmConfig,
    pub(super) helm: HelmBinary,
    pub(super) cache: Arc<ReleaseCache>,
    pub(super) packages: Arc<dyn PackageArchives>,
    pub(super) charts: Arc<dyn ChartSources>,
    pub(super) timeout: Duration,
    pub(super) registries: RegistryPolicy,
}

impl std::fmt::Debug for HelmAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelmAdapter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Drop for HelmAdapter {
    /// The private Helm home holds repository credentials: it goes with the adapter.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.helm.home());
    }
}

impl HelmAdapter {
    /// An adapter called `helm` for `cluster` running helm with its files under `home`,
    /// keeping its packages and chart sources in `records`.
    pub fn new(
        cluster: &Arc<ClusterConnection>,
        config: HelmConfig,
        records: HelmRecords,
        home: PathBuf,
    ) -> Result<Self> {
        Self::named(cluster, DEFAULT_NAME, config, records, home)
    }

    /// An adapter instance called `name` (a `plugins.dms` entry); `home` is its own.
    pub fn named(
        cluster: &Arc<ClusterConnection>,
        name: &str,
        config: HelmConfig,
        records: HelmRecords,
        home: PathBuf,
    ) -> Result<Self> {
        let client = cluster.client().clone();
        config.validate()?;
        let helm = HelmBinary::new(
            config.binary.clone(),
            config.kubeconfig.clone(),
            home,
            config.debug,
        );
        if let Some(url) = &config.repository_url {
            helm.configure_repository(
                url,
                config.repository_username.as_deref(),
                config.repository_password.as_deref(),
            )?;
        }
        Ok(Self {
            cache: Arc::new(ReleaseCache::start(&client, cluster.id().clone(), name)),
            name: name.to_owned(),
            packages: records.packages,
            timeout: config.timeout()?,
            registries: RegistryPolicy::new(
                &config.allowed_registries,
                &config.plain_http_registries,
            ),
            client,
            config,
            helm,
            charts: records.charts,
        })
    }

    /// The release cache (the adapter is ready once it has synced).
    pub fn cache(&self) -> &ReleaseCache {
        &self.cache
    }

    pub(super) fn latest(&self, namespace: &str, name: &str) -> Result<Arc<Release>> {
        self.cache
            .release(namespace, name)
            .ok_or_else(|| Error::not_found("deployment", name))
    }
}

#[async_trait::async_trait]
impl DeploymentAdapter for HelmAdapter {
    fn name(&self) -> &str {
        &self.name
    }

    fn kinds(&self) -> &'static [DeploymentKind] {
        &[DeploymentKind::Release]
    }

    async fn wait_until_ready(&self, limit: Duration) -> Result<()> {
        self.cache.wait_until_ready(limit).await
    }

    fn capabilities(&self) -> &'static [&'static str] {
        &[
            "packages",
            "rollback",
            "scale",
            "history",
            "events",
            "inventory",
            "preview",
        ]
    }

    async fn version(&self) -> Option<String> {
        self.helm.version().await.ok().map(|v| format!("helm {v}"))
    }

    async fn health(&self) -> Result<()> {
        let version = self.helm.version().await?;
        if !supported(&version) {
            return Err(Error::AdapterUnhealthy(format!(
                "helm adapter not healthy: helm {version} is too old; 3.14 or later is needed"
            )));
        }
        self.client.apiserver_version().await.map_err(|e| {
            Error::AdapterUnhealthy(format!(
                "helm adapter not healthy: the cluster is unreachable: {e}"
            ))
        })?;
        Ok(())
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
        Ok(self
            .cache
            .row(&*self.latest(deployment.namespace(), deployment.name())?))
    }

    async fn create(
        &self,
        ctx: &WriteCtx,
        _kind: DeploymentKind,
        request: &DeploymentRequest,
    ) -> Result<Deployment> {
        ctx.progress(
            10,
            format!("installing {}/{}", request.namespace, request.name),
        );
        self.install(ctx, request).await
    }

    async fn update(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        update: &DeploymentUpdate,
    ) -> Result<Deployment> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        if let Some(expected) = &update.resource_version {
            let current = self.get(deployment)?.resource_version.unwrap_or_default();
            if &current != expected {
                return Err(Error::Stale(format!(
                    "{name} changed since revision {expected} was read (it is at revision {current}); reload it and make the change again"
                )));
            }
        }
        ctx.progress(10, format!("upgrading {}", deployment.describe()));
        const KNOWN: [&str; 2] = ["helm.chart", "helm.chartVersion"];
        if let Some(unknown) = update
            .extensions
            .keys()
            .find(|k| !KNOWN.contains(&k.as_str()))
        {
            return Err(Error::invalid(
                "extensions",
                format!(
                    "{unknown} cannot be changed here; a Helm release takes {}",
                    KNOWN.join(", ")
                ),
            ));
        }
        let values = match &update.values {
            Some(values) => values.clone(),
            None => self.values(deployment)?,
        };
        let source = Self::source_of(None, &update.extensions)?;
        let version = update
            .extensions
            .get("helm.chartVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.upgrade_with(ctx, namespace, name, &values, source, version)
            .await
    }

    async fn delete(&self, ctx: &WriteCtx, deployment: &DeploymentRef) -> Result<()> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        args::release_name(name)?;
        control_core::validate::dns_label("namespace", namespace)?;
        self.latest(namespace, name)?;
        let argv: Vec<OsString> = vec![
            "uninstall".into(),
            name.into(),
            "--namespace".into(),
            namespace.into(),
            "--wait".into(),
            "--timeout".into(),
            format!("{}s", self.timeout.as_secs()).into(),
        ];
        ctx.progress(
            20,
            format!(
                "helm uninstall: removing the release's objects, waiting up to {} s for them to go",
                self.timeout.as_secs()
            ),
        );
        self.helm
            .run(
                Operation::Uninstall,
                name,
                &argv,
                &ctx.run_as_in(namespace),
                self.timeout,
            )
            .await?;
        self.charts.forget(namespace, name).await?;
        Ok(())
    }

    async fn scale(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        replicas: u32,
        path: Option<&str>,
    ) -> Result<Deployment> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        let values = control_core::adapters::values::with_replicas(
            &self.values(deployment)?,
            replicas,
            path,
        )?;
        self.upgrade_with(ctx, namespace, name, &values, None, None)
            .await
    }

    async fn rollback(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        args::release_name(name)?;
        control_core::validate::dns_label("namespace", namespace)?;
        let current = self.latest(namespace, name)?;
        let target = if revision == 0 {
            self.cache
                .revisions(namespace, name)
                .iter()
                .rev()
                .map(|(v, _)| *v)
                .find(|v| *v < current.version)
                .ok_or_else(|| {
                    Error::invalid(
                        "revision",
                        format!("{name} has no earlier revision to roll back to"),
                    )
                })?
        } else {
            revision
        };
        let mut argv: Vec<OsString> = vec![
            "rollback".into(),
            name.into(),
            target.to_string().into(),
            "--namespace".into(),
            namespace.into(),
        ];
        argv.extend([
            "--wait=watcher".into(),
            "--timeout".into(),
            format!("{}s", self.timeout.as_secs()).into(),
        ]);
        argv.extend([
            "--history-max".into(),
            self.config.max_history.to_string().into(),
        ]);
        ctx.progress(
            20,
            self.waiting(&format!(
                "helm rollback to revision {target}: applying its objects"
            )),
        );
        let run_as = ctx.run_as_in(namespace);
        let run = self
            .helm
            .run(Operation::Rollback, name, &argv, &run_as, self.timeout);
        self.reporting_readiness(ctx, namespace, name, current.version, run)
            .await?;
        Ok(RollbackOutcome {
            revision: target,
            restored: format!("the chart and values of revision {target}"),
            explanation: format!(
                "helm rolled {namespace}/{name} back to revision {target} as a new revision; nothing reconciles Helm releases, so it stays until the next upgrade."
            ),
            suspended: Vec::new(),
        })
    }

    async fn reconcile(
        &self,
        _ctx: &WriteCtx,
        deployment: &DeploymentRef,
        _request: ReconcileRequest,
    ) -> Result<ReconcileOutcome> {
        let name = &deployment.name();
        Err(Error::invalid(
            "reconcile",
            format!(
                "{name} is a Helm release: no controller reconciles it; upgrade it to apply a change"
            ),
        ))
    }

    async fn set_suspended(
        &self,
        _ctx: &WriteCtx,
        deployment: &DeploymentRef,
        _suspend: bool,
        _reason: Option<&str>,
    ) -> Result<Deployment> {
        let name = &deployment.name();
        Err(Error::invalid(
            "suspend",
            format!(
                "{name} is a Helm release: nothing reconciles it, so there is nothing to suspend"
            ),
        ))
    }

    async fn history(&self, deployment: &DeploymentRef) -> Result<Vec<DeploymentRevision>> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        self.latest(namespace, name)?;
        let mut revisions = Vec::new();
        for (version, _) in self.cache.revisions(namespace, name).into_iter().rev() {
            let release = self.revision(namespace, name, version).await?;
            revisions.push(DeploymentRevision {
                revision: release.version,
                status: release.status,
                version: release.chart_version,
                deployed_at: release.last_deployed,
                digest: None,
            });
        }
        Ok(revisions)
    }

    async fn events(&self, _deployment: &DeploymentRef) -> Result<Vec<DeploymentEvent>> {
        Ok(Vec::new())
    }

    fn values(&self, deployment: &DeploymentRef) -> Result<Map<String, Value>> {
        Ok(self
            .latest(deployment.namespace(), deployment.name())?
            .values
            .clone())
    }

    fn values_schema(&self, deployment: &DeploymentRef) -> Result<Option<Value>> {
        Ok(self
            .latest(deployment.namespace(), deployment.name())?
            .values_schema
            .clone())
    }

    async fn export_yaml(&self, deployment: &DeploymentRef) -> Result<String> {
        Ok(self
            .latest(deployment.namespace(), deployment.name())?
            .manifest
            .clone())
    }

    fn as_inventory(&self) -> Option<&dyn Inventory> {
        Some(self)
    }

    fn as_stats(&self) -> Option<&dyn Stats> {
        Some(self)
    }

    fn as_charts(&self) -> Option<&dyn Charts> {
        Some(self)
    }
}
