//! The Flux adapter: reads from the watch caches, writes through the API server, and the
//! operations that combine both (reconcile and wait, rollback, source pinning).

use super::cache::{FluxCache, to_deployment};
use super::config::FluxConfig;
use super::history::{pinned_ref, revisions};
use super::kinds::{DEPLOYMENTS, FluxKind, HELM_RELEASE, KUSTOMIZATION, by_kind};
use super::observe::{self, LogQuery};
use super::record::SpecRecord;
use super::trace;
use super::types::source_ref;
use super::writes::{FluxWriter, build};
use crate::access::Visible;
use crate::adapters::DeploymentAdapter;
use crate::{Error, Result};
use kube::Client;
use kube::api::DynamicObject;
use kube::config::{KubeConfigOptions, Kubeconfig};
use model::deployment::{
    Deployment, DeploymentEvent, DeploymentFilter, DeploymentRequest, DeploymentRevision,
    DeploymentStatus, DeploymentUpdate, InventoryEntry, ReconcileOutcome, ReconcileRequest,
    RollbackOutcome, TraceStep,
};
use model::source::FluxSource;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use super::reconcile::{FORCE_AT, RESET_AT};
pub use super::rollback::PINNED_FROM;

/// The Flux adapter.
pub struct FluxAdapter {
    pub(super) client: Client,
    pub(super) config: FluxConfig,
    pub(super) cache: Arc<FluxCache>,
    pub(super) writer: FluxWriter,
    pub(super) record: SpecRecord,
}

impl std::fmt::Debug for FluxAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxAdapter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A kube client from the configured kubeconfig, or the in-cluster / `KUBECONFIG` default.
pub async fn connect(config: &FluxConfig) -> Result<Client> {
    let kube_config = match &config.kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|e| {
                Error::Cluster(format!("cannot read kubeconfig {}: {e}", path.display()))
            })?;
            kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| Error::Cluster(format!("kubeconfig {}: {e}", path.display())))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| Error::Cluster(format!("no kubeconfig and not in a cluster: {e}")))?,
    };
    Client::try_from(kube_config).map_err(|e| Error::Cluster(e.to_string()))
}

impl FluxAdapter {
    /// An adapter over `client`, starting its watch caches.
    pub fn new(client: Client, config: FluxConfig, record: SpecRecord) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            cache: Arc::new(FluxCache::start(&client)),
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

    /// Counts by kind and status among the namespaces in `visible`.
    pub fn stats(&self, visible: &Visible) -> BTreeMap<(String, DeploymentStatus), usize> {
        self.cache.stats(visible)
    }

    /// The sources in `visible`, as packages are listed.
    pub fn sources(&self, visible: &Visible) -> Vec<FluxSource> {
        self.cache.sources(visible)
    }

    /// What a Kustomization or HelmRelease applied.
    pub fn inventory(&self, namespace: &str, name: &str) -> Result<Vec<InventoryEntry>> {
        let (_, object) = self.cached(namespace, name)?;
        Ok(trace::inventory(&object.data))
    }

    /// From any object to the Flux objects that manage it and their source.
    pub async fn trace(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<TraceStep>> {
        trace::trace(&self.client, api_version, kind, namespace, name).await
    }

    /// A Flux controller's log lines.
    pub async fn controller_logs(&self, controller: &str, query: &LogQuery) -> Result<String> {
        observe::controller_logs(&self.client, &self.config.namespace, controller, query).await
    }

    pub(super) fn cached(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(FluxKind, Arc<DynamicObject>)> {
        DEPLOYMENTS
            .into_iter()
            .find_map(|kind| {
                self.cache
                    .object(kind, namespace, name)
                    .map(|object| (kind, object))
            })
            .ok_or_else(|| Error::not_found("deployment", name))
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

fn ext<'a>(extensions: &'a BTreeMap<String, Value>, key: &str) -> Option<&'a str> {
    extensions.get(key).and_then(Value::as_str)
}

#[async_trait::async_trait]
impl DeploymentAdapter for FluxAdapter {
    fn name(&self) -> &'static str {
        "flux"
    }

    async fn health(&self) -> Result<()> {
        super::health::check(&self.client).await
    }

    fn matching(&self, filter: &DeploymentFilter, visible: &Visible) -> Vec<Deployment> {
        self.cache.matching(filter, visible)
    }

    fn get(&self, namespace: &str, name: &str) -> Result<Deployment> {
        self.cache
            .get(namespace, name)
            .ok_or_else(|| Error::not_found("deployment", name))
    }

    async fn create(&self, request: &DeploymentRequest) -> Result<Deployment> {
        let (kind, object) = build(request, &self.config)?;
        let revision = ext(&request.extensions, "flux.targetRevision").filter(|r| !r.is_empty());
        if let Some(revision) = revision {
            let (source_kind, _, _) = Self::source_of(
                kind,
                &serde_json::from_value(object.clone())
                    .map_err(|e| Error::invalid("spec", e.to_string()))?,
            )?;
            pinned_ref(source_kind, &json!({}), revision)?;
        }
        self.require_source(kind, &object).await?;
        let created = self.writer.create(request).await?;
        if kind == HELM_RELEASE {
            self.remember(&created).await?;
        }
        if let Some(revision) = revision {
            self.pin_source(&created, revision).await?;
        }
        Ok(to_deployment(kind, &created))
    }

    async fn update(
        &self,
        namespace: &str,
        name: &str,
        update: &DeploymentUpdate,
    ) -> Result<Deployment> {
        let revision = ext(&update.extensions, "flux.targetRevision");
        let (kind, current) = self.writer.find(namespace, name).await?;
        if revision.is_some() && kind != KUSTOMIZATION {
            return Err(Error::invalid(
                "flux.targetRevision",
                "only Kustomizations follow a source revision; pin a HelmRelease with flux.chartVersion",
            ));
        }
        if let Some(revision) = revision.filter(|r| !r.is_empty()) {
            let (source_kind, _, _) = Self::source_of(kind, &current)?;
            pinned_ref(source_kind, &json!({}), revision)?;
        }
        let updated = self.writer.update(namespace, name, update).await?;
        if kind == HELM_RELEASE {
            self.remember(&updated).await?;
        }
        if let Some(revision) = revision {
            self.pin_source(&updated, revision).await?;
        }
        Ok(to_deployment(kind, &updated))
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<()> {
        self.writer.delete(namespace, name).await
    }

    async fn scale(
        &self,
        namespace: &str,
        name: &str,
        replicas: u32,
        path: Option<&str>,
    ) -> Result<Deployment> {
        let scaled = self.writer.scale(namespace, name, replicas, path).await?;
        self.remember(&scaled).await?;
        Ok(to_deployment(HELM_RELEASE, &scaled))
    }

    async fn rollback(
        &self,
        namespace: &str,
        name: &str,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let (kind, current) = self.writer.find(namespace, name).await?;
        if kind == HELM_RELEASE {
            self.rollback_release(namespace, name, current, revision)
                .await
        } else {
            self.rollback_kustomization(namespace, name, current, revision)
                .await
        }
    }

    async fn reconcile(
        &self,
        namespace: &str,
        name: &str,
        request: ReconcileRequest,
    ) -> Result<ReconcileOutcome> {
        self.reconcile_and_wait(namespace, name, request).await
    }

    async fn set_suspended(
        &self,
        namespace: &str,
        name: &str,
        suspend: bool,
        reason: Option<&str>,
    ) -> Result<Deployment> {
        if let Some(reason) = reason {
            crate::validate::text("reason", reason, 500)?;
        }
        let (kind, _) = self.writer.find(namespace, name).await?;
        let object = self
            .writer
            .set_suspended(namespace, name, suspend, reason)
            .await?;
        Ok(to_deployment(kind, &object))
    }

    async fn history(&self, namespace: &str, name: &str) -> Result<Vec<DeploymentRevision>> {
        let (kind, object) = self.cached(namespace, name)?;
        Ok(revisions(kind, &object.data))
    }

    async fn events(&self, namespace: &str, name: &str) -> Result<Vec<DeploymentEvent>> {
        let (kind, _) = self.cached(namespace, name)?;
        observe::events(&self.client, kind, namespace, name).await
    }

    fn values(&self, namespace: &str, name: &str) -> Result<Map<String, Value>> {
        let (_, object) = self.cached(namespace, name)?;
        Ok(object
            .data
            .pointer("/spec/values")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    async fn export_yaml(&self, namespace: &str, name: &str) -> Result<String> {
        let (_, object) = self.writer.find(namespace, name).await?;
        observe::export_yaml(&object)
    }
}
