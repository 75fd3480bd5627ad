//! The Flux adapter: reads from the watch caches, writes through the API server, and the
//! operations that combine both (reconcile and wait, rollback, source pinning).

use super::cache::{FluxCache, to_deployment};
use super::config::FluxConfig;
use super::history::{describe_ref, pinned_ref, revisions, target};
use super::kinds::{DEPLOYMENTS, FluxKind, HELM_CHART, HELM_RELEASE, KUSTOMIZATION, by_kind};
use super::observe::{self, LogQuery};
use super::record::{SpecRecord, config_digest};
use super::status::state_of;
use super::trace::{self, owner};
use super::types::{DeploymentStatusFields, source_ref};
use super::writes::{FluxWriter, REQUESTED_AT, build, desired_state};
use crate::access::Visible;
use crate::adapters::DeploymentAdapter;
use crate::{Error, Result};
use chrono::{SecondsFormat, Utc};
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
use std::time::Duration;
use tokio::time::Instant;

/// Where a pinned source keeps the ref it had before, so that unpinning restores it.
pub const PINNED_FROM: &str = "pilothouse.dev/pinned-from";
/// HelmRelease: force a one-off install or upgrade.
pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
/// HelmRelease: reset the install and upgrade failure counters.
pub const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";

/// How often a waiting reconcile looks at the cache.
const POLL: Duration = Duration::from_millis(200);

/// The Flux adapter.
pub struct FluxAdapter {
    client: Client,
    config: FluxConfig,
    cache: Arc<FluxCache>,
    writer: FluxWriter,
    record: SpecRecord,
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

    fn cached(&self, namespace: &str, name: &str) -> Result<(FluxKind, Arc<DynamicObject>)> {
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
    fn source_of(kind: FluxKind, object: &DynamicObject) -> Result<(FluxKind, String, String)> {
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

    async fn remember(&self, object: &DynamicObject) -> Result<()> {
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

    /// Pins a Kustomization's source to `revision` (or, when it is empty, restores the ref
    /// it had before it was pinned). Returns the source and what its ref was.
    async fn pin_source(
        &self,
        kustomization: &DynamicObject,
        revision: &str,
    ) -> Result<(FluxKind, String, String, String)> {
        let (kind, namespace, name) = Self::source_of(KUSTOMIZATION, kustomization)?;
        let source = self
            .writer
            .api(kind, &namespace)
            .get_opt(&name)
            .await
            .map_err(super::writes::cluster)?
            .ok_or_else(|| Error::not_found("source", format!("{namespace}/{name}")))?;
        let current = source
            .data
            .pointer("/spec/ref")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let saved = source
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PINNED_FROM))
            .cloned();
        let patch = if revision.is_empty() {
            let Some(saved) = saved else {
                return Err(Error::invalid(
                    "flux.targetRevision",
                    format!(
                        "{} {namespace}/{name} is not pinned by Pilothouse",
                        kind.kind
                    ),
                ));
            };
            let original: Value = serde_json::from_str(&saved)
                .map_err(|e| Error::Conflict(format!("the saved ref cannot be read: {e}")))?;
            let mut reference = Map::new();
            for key in current.as_object().into_iter().flatten().map(|(k, _)| k) {
                reference.insert(key.clone(), Value::Null);
            }
            for (key, value) in original.as_object().into_iter().flatten() {
                reference.insert(key.clone(), value.clone());
            }
            json!({ "metadata": { "annotations": { PINNED_FROM: null } }, "spec": { "ref": reference } })
        } else {
            let pinned = pinned_ref(kind, &current, revision)?;
            let keep = saved.unwrap_or_else(|| current.to_string());
            json!({ "metadata": { "annotations": { PINNED_FROM: keep } }, "spec": { "ref": pinned } })
        };
        self.writer.merge(kind, &namespace, &name, patch).await?;
        Ok((kind, namespace, name, describe_ref(&current)))
    }

    /// Suspends the Kustomization that applies `object`, if one does, so that it does not
    /// overwrite what a rollback changed. Returns `Kind/namespace/name` of what was suspended.
    async fn hold_owner(&self, object: &DynamicObject, why: &str) -> Result<Option<String>> {
        let Some((kind, namespace, name)) = owner(object) else {
            return Ok(None);
        };
        if kind != KUSTOMIZATION {
            return Ok(None);
        }
        self.writer
            .set_suspended(&namespace, &name, true, Some(why))
            .await?;
        Ok(Some(format!("Kustomization/{namespace}/{name}")))
    }

    async fn rollback_release(
        &self,
        namespace: &str,
        name: &str,
        current: DynamicObject,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let history = revisions(HELM_RELEASE, &current.data);
        let wanted = target(name, &history, revision)?;
        let current_values = current
            .data
            .pointer("/spec/values")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let digest = wanted.digest.clone().unwrap_or_default();
        let values = if config_digest(&current_values) == digest {
            current_values
        } else {
            self.record
                .values_for(namespace, name, &digest)
                .await?
                .ok_or_else(|| {
                    Error::Conflict(format!(
                        "revision {} of {name} has values Pilothouse never applied (digest {digest}), so it cannot restore them; roll back with the values at hand or set them with an update",
                        wanted.revision
                    ))
                })?
        };
        let before = current
            .data
            .pointer("/spec/chart/spec/version")
            .and_then(Value::as_str)
            .unwrap_or("the latest")
            .to_owned();
        let mut desired = desired_state(&current)?;
        desired["spec"]["chart"]["spec"]["version"] = json!(wanted.version);
        if values.is_empty() {
            if let Some(spec) = desired["spec"].as_object_mut() {
                spec.remove("values");
            }
        } else {
            desired["spec"]["values"] = Value::Object(values);
        }
        let applied = self
            .writer
            .apply(HELM_RELEASE, namespace, name, desired)
            .await?;
        self.remember(&applied).await?;
        let why = format!(
            "holds the rollback of HelmRelease {namespace}/{name} to revision {}",
            wanted.revision
        );
        let held = self.hold_owner(&current, &why).await?;
        let mut explanation = format!(
            "HelmRelease {namespace}/{name} now asks for chart version {} (was {before}) with the values of revision {}; helm-controller upgrades the release to them, and later reconciliations keep them because they are now the object's desired state. Set flux.chartVersion to move on.",
            wanted.version, wanted.revision
        );
        if let Some(held) = &held {
            explanation.push_str(&format!(
                " Its spec is applied by {held}, which would put the old spec back on its next reconciliation, so Pilothouse suspended it; resume it once its source holds the version you want."
            ));
        }
        Ok(RollbackOutcome {
            revision: wanted.revision,
            restored: format!(
                "chart version {} and the values of revision {}",
                wanted.version, wanted.revision
            ),
            explanation,
            suspended: held.into_iter().collect(),
        })
    }

    async fn rollback_kustomization(
        &self,
        namespace: &str,
        name: &str,
        current: DynamicObject,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let history = revisions(KUSTOMIZATION, &current.data);
        let wanted = target(name, &history, revision)?;
        let (kind, source_ns, source_name, before) =
            self.pin_source(&current, &wanted.version).await?;
        let token = now_token();
        for (k, ns, n) in [
            (kind, source_ns.as_str(), source_name.as_str()),
            (KUSTOMIZATION, namespace, name),
        ] {
            self.writer
                .merge(
                    k,
                    ns,
                    n,
                    json!({ "metadata": { "annotations": { REQUESTED_AT: token } } }),
                )
                .await?;
        }
        let sharing: Vec<String> = self
            .cache
            .objects(KUSTOMIZATION)
            .iter()
            .filter(|k| {
                k.metadata.name.as_deref() != Some(name)
                    || k.metadata.namespace.as_deref() != Some(namespace)
            })
            .filter(|k| {
                Self::source_of(KUSTOMIZATION, k)
                    .is_ok_and(|(sk, sns, sn)| sk == kind && sns == source_ns && sn == source_name)
            })
            .map(|k| {
                format!(
                    "{}/{}",
                    k.metadata.namespace.as_deref().unwrap_or_default(),
                    k.metadata.name.as_deref().unwrap_or_default()
                )
            })
            .collect();
        let source = self
            .writer
            .api(kind, &source_ns)
            .get(&source_name)
            .await
            .map_err(super::writes::cluster)?;
        let why = format!(
            "holds the pin of {} {source_ns}/{source_name} for the rollback of Kustomization {namespace}/{name}",
            kind.kind
        );
        let held = self.hold_owner(&source, &why).await?;
        let mut explanation = format!(
            "{} {source_ns}/{source_name} is pinned to {} (it followed {before}); Kustomization {namespace}/{name} applies that revision now, and every later reconciliation applies it again because the source no longer moves. Clear flux.targetRevision with an update to follow {before} again.",
            kind.kind, wanted.version
        );
        if !sharing.is_empty() {
            explanation.push_str(&format!(
                " The same source feeds {}, which move to that revision too.",
                sharing.join(", ")
            ));
        }
        if let Some(held) = &held {
            explanation.push_str(&format!(" The source itself is applied by {held}, which would undo the pin, so Pilothouse suspended it."));
        }
        Ok(RollbackOutcome {
            revision: wanted.revision,
            restored: format!("source revision {}", wanted.version),
            explanation,
            suspended: held.into_iter().collect(),
        })
    }

    /// Sets requestedAt (and any extra annotations) and, unless `no_wait`, waits until the
    /// controller has handled it or the reconcile timeout passes.
    async fn request_and_wait(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        annotations: Value,
        token: &str,
        wait: bool,
    ) -> Result<Option<Arc<DynamicObject>>> {
        self.writer
            .merge(
                kind,
                namespace,
                name,
                json!({ "metadata": { "annotations": annotations } }),
            )
            .await?;
        if !wait {
            return Ok(None);
        }
        let deadline = Instant::now() + self.config.reconcile_timeout;
        loop {
            if let Some(object) = self.cache.object(kind, namespace, name) {
                let handled = DeploymentStatusFields::of(&object.data)
                    .last_handled_reconcile_at
                    .as_deref()
                    == Some(token);
                if handled && state_of(&object.data).status != DeploymentStatus::Deploying {
                    return Ok(Some(object));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Flux's reconcile token: the time, as `flux reconcile` writes it.
fn now_token() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true)
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
        let (kind, current) = self.writer.find(namespace, name).await?;
        if kind != HELM_RELEASE && (request.force || request.reset) {
            return Err(Error::invalid(
                "force",
                "force and reset apply to HelmReleases only",
            ));
        }
        if current
            .data
            .pointer("/spec/suspend")
            .and_then(Value::as_bool)
            == Some(true)
        {
            return Err(Error::Conflict(format!(
                "{name} is suspended; resume it before reconciling"
            )));
        }
        let token = now_token();
        let wait = !request.no_wait;
        if request.with_source {
            let (source_kind, source_ns, source_name) = match current
                .data
                .pointer("/status/helmChart")
                .and_then(Value::as_str)
                .and_then(|c| c.split_once('/'))
            {
                Some((ns, chart)) if kind == HELM_RELEASE => {
                    (HELM_CHART, ns.to_owned(), chart.to_owned())
                }
                _ => Self::source_of(kind, &current)?,
            };
            let annotations = json!({ REQUESTED_AT: token });
            let source = self
                .request_and_wait(
                    source_kind,
                    &source_ns,
                    &source_name,
                    annotations,
                    &token,
                    true,
                )
                .await?;
            let failed = source
                .as_ref()
                .map(|s| state_of(&s.data))
                .filter(|s| s.status == DeploymentStatus::Failed);
            if source.is_none() || failed.is_some() {
                let state = state_of(&current.data);
                let message = match failed {
                    Some(s) => format!(
                        "{} {source_ns}/{source_name} failed: {}; {name} was not reconciled",
                        source_kind.kind, s.message
                    ),
                    None => format!(
                        "{} {source_ns}/{source_name} did not finish within {} s; {name} was not reconciled",
                        source_kind.kind,
                        self.config.reconcile_timeout.as_secs()
                    ),
                };
                return Ok(ReconcileOutcome {
                    finished: false,
                    state,
                    revision: None,
                    message,
                });
            }
        }
        let mut annotations = json!({ REQUESTED_AT: token });
        if request.force {
            annotations[FORCE_AT] = json!(token);
        }
        if request.reset {
            annotations[RESET_AT] = json!(token);
        }
        let outcome = self
            .request_and_wait(kind, namespace, name, annotations, &token, wait)
            .await?;
        Ok(match outcome {
            Some(object) => {
                let deployment = to_deployment(kind, &object);
                let message = match deployment.state.status {
                    DeploymentStatus::Failed => {
                        format!("reconciliation failed: {}", deployment.state.message)
                    }
                    _ => format!("reconciled: {}", deployment.state.message),
                };
                ReconcileOutcome {
                    finished: true,
                    state: deployment.state,
                    revision: deployment.revision,
                    message,
                }
            }
            None => {
                let deployment = self.get(namespace, name)?;
                let message = if wait {
                    format!(
                        "requested; {name} has not finished within {} s. Flux keeps working on it: watch its events",
                        self.config.reconcile_timeout.as_secs()
                    )
                } else {
                    "requested; Flux reconciles it shortly".to_owned()
                };
                ReconcileOutcome {
                    finished: false,
                    state: deployment.state,
                    revision: deployment.revision,
                    message,
                }
            }
        })
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
