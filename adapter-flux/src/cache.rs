//! In-memory watch caches of the Flux deployment kinds: one kube reflector per kind, shared by
//! every request, with managedFields stripped. Lists, gets and statuses are answered here, so a
//! page makes no LIST call to the API server; filtering and pagination run over the cache.

use super::kinds::{self, DEPLOYMENTS, FluxKind, deployment_kind};
use super::status::state_of;
use control_core::Namespaces;
use control_core::adapters::page;
use control_core::adapters::rows::{CacheEvent, RowIndex, RowKey, Window, key_of, key_of_ref};
use control_core::adapters::watch::{self, Step};
use control_core::{Error, Result};
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use model::deployment::{
    Deployment, DeploymentFilter, DeploymentPage, DeploymentState, DeploymentStatus,
};
use model::flux::FluxObject;
use model::reference::{ClusterId, DeploymentRef, Family, ToolkitKind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often a watch of an optional kind looks again for its CRD while it is missing.
const CRD_POLL: Duration = Duration::from_secs(30);

/// Watch caches for HelmReleases, Kustomizations and the toolkit kinds in every namespace,
/// and the deployment rows computed from them once per watch event.
pub struct FluxCache {
    cluster: ClusterId,
    stores: Vec<(FluxKind, Store<DynamicObject>)>,
    /// For each optional kind, whether its CRD was found and its watch runs; none until the
    /// first look.
    watching: Vec<(FluxKind, tokio::sync::watch::Receiver<Option<bool>>)>,
    rows: Arc<RowIndex>,
    rows_ready: Vec<(FluxKind, tokio::sync::watch::Receiver<bool>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for FluxCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxCache")
            .field("kinds", &self.stores.len())
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

/// Keeps the rows of one deployment kind in step with its watch: every applied object is
/// a row, every deleted one goes, and a re-list (after a disconnect) drops what it lacks.
struct RowFeed {
    cluster: ClusterId,
    adapter: String,
    kind: FluxKind,
    rows: Arc<RowIndex>,
    relisted: Option<Vec<Deployment>>,
    /// True once the rows hold a first complete list (the store alone is not enough: the
    /// rows are fed after it).
    synced: tokio::sync::watch::Sender<bool>,
}

impl RowFeed {
    fn on(&mut self, event: &watcher::Event<DynamicObject>) {
        let row =
            |object: &DynamicObject| to_deployment(&self.cluster, &self.adapter, self.kind, object);
        match event {
            watcher::Event::Apply(object) => {
                self.rows.mark_current(self.kind.kind);
                self.rows.upsert(row(object));
            }
            watcher::Event::Delete(object) => {
                self.rows.mark_current(self.kind.kind);
                self.rows.remove(&key_of(&row(object)));
            }
            watcher::Event::Init => {
                // Readers keep the old rows until the new list is complete, and are told so.
                self.rows.mark_stale(self.kind.kind);
                self.relisted = Some(Vec::new());
            }
            watcher::Event::InitApply(object) => {
                let row = row(object);
                if let Some(list) = &mut self.relisted {
                    list.push(row);
                }
            }
            watcher::Event::InitDone => {
                let (cluster, kind) = (self.cluster.clone(), deployment_kind(self.kind));
                let list = self.relisted.take().unwrap_or_default();
                self.rows
                    .replace(|key| key.0 == cluster && key.3 == kind, list);
                self.rows.mark_current(self.kind.kind);
                self.synced.send_replace(true);
            }
        }
    }
}

impl FluxCache {
    /// Starts one watch per kind; they run until the cache is dropped, resuming after errors
    /// and re-listing when the API server no longer has the history.
    pub fn start(client: &Client, cluster: ClusterId, adapter: &str) -> Self {
        let rows = Arc::new(RowIndex::new(cluster.clone()));
        let mut rows_ready = Vec::new();
        let mut stores = Vec::new();
        let mut tasks = Vec::new();
        let mut watching = Vec::new();
        for kind in kinds::all() {
            let resource = kind.api_resource();
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            let mut writer = reflector::store::Writer::new(resource);
            let reader = writer.as_reader();
            let (found, present) = tokio::sync::watch::channel(None);
            if !kinds::required(kind) {
                watching.push((kind, present));
            }
            let client = client.clone();
            let (bus, cluster_id) = (rows.clone(), cluster.clone());
            let mut feed = DEPLOYMENTS.contains(&kind).then(|| {
                let (synced, ready) = tokio::sync::watch::channel(false);
                rows_ready.push((kind, ready));
                RowFeed {
                    cluster: cluster.clone(),
                    adapter: adapter.to_owned(),
                    kind,
                    rows: rows.clone(),
                    relisted: None,
                    synced,
                }
            });
            tasks.push(tokio::spawn(async move {
                if !kinds::required(kind) {
                    // A watch of a kind the cluster does not serve would fail forever; an
                    // optional controller installed later is picked up here.
                    while !super::health::crd(&client, kind)
                        .await
                        .is_ok_and(|crd| crd.ok)
                    {
                        found.send_replace(Some(false));
                        tokio::time::sleep(CRD_POLL).await;
                    }
                    found.send_replace(Some(true));
                }
                let mut steps = watch::start(api, watch::Selectors::default(), kind.kind);
                while let Some(step) = steps.recv().await {
                    match (step, &mut feed) {
                        (Step::Event(event), feed) => {
                            // No page shows who wrote which field; keeping it would double
                            // the memory.
                            let event = event.modify(|o| o.managed_fields_mut().clear());
                            writer.apply_watcher_event(&event);
                            if let Some(feed) = feed {
                                feed.on(&event);
                            } else if let Some(toolkit) = kinds::toolkit_kind(kind) {
                                announce(&bus, &cluster_id, toolkit, &event);
                            }
                        }
                        (Step::Current, Some(feed)) => feed.rows.mark_current(kind.kind),
                        (Step::Behind, feed) => {
                            if let Some(feed) = feed {
                                feed.rows.mark_stale(kind.kind);
                            }
                        }
                        (Step::Current, None) => {}
                    }
                }
            }));
            stores.push((kind, reader));
        }
        Self {
            cluster,
            stores,
            watching,
            rows,
            rows_ready,
            tasks,
        }
    }

    /// Every change to the deployment rows from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.rows.subscribe()
    }

    /// Whether the kind's CRD was found, so that its cache is filled (always, for the
    /// required kinds).
    pub fn serves(&self, kind: FluxKind) -> bool {
        self.watching
            .iter()
            .find(|(k, _)| *k == kind)
            .is_none_or(|(_, present)| *present.borrow() == Some(true))
    }

    /// Waits until every optional kind's CRD has been looked for and every cache of a served
    /// kind has its first complete list.
    pub async fn wait_until_ready(&self, limit: Duration) -> Result<()> {
        for (kind, present) in &self.watching {
            let mut present = present.clone();
            tokio::time::timeout(limit, present.wait_for(Option::is_some))
                .await
                .map_err(|_| {
                    Error::Cluster(format!(
                        "the {} CRD could not be looked up within {} s",
                        kind.kind,
                        limit.as_secs()
                    ))
                })?
                .map_err(|_| Error::Cluster(format!("the {} watch stopped", kind.kind)))?;
        }
        for (kind, store) in self.stores.iter().filter(|(k, _)| self.serves(*k)) {
            tokio::time::timeout(limit, store.wait_until_ready())
                .await
                .map_err(|_| {
                    Error::Cluster(format!(
                        "the {} cache did not fill within {} s",
                        kind.kind,
                        limit.as_secs()
                    ))
                })?
                .map_err(|_| Error::Cluster(format!("the {} watch stopped", kind.kind)))?;
        }
        for (kind, ready) in &self.rows_ready {
            let mut ready = ready.clone();
            tokio::time::timeout(limit, ready.wait_for(|synced| *synced))
                .await
                .map_err(|_| {
                    Error::Cluster(format!(
                        "the {} rows did not fill within {} s",
                        kind.kind,
                        limit.as_secs()
                    ))
                })?
                .map_err(|_| Error::Cluster(format!("the {} watch stopped", kind.kind)))?;
        }
        Ok(())
    }

    /// Deployments matching `filter` among the namespaces in `visible`, sorted by namespace,
    /// name and kind, one page at a time, with the total.
    pub fn list(&self, filter: &DeploymentFilter, visible: &Namespaces) -> Result<DeploymentPage> {
        let window = self.window(
            filter,
            visible,
            page::cursor(filter)?.as_ref(),
            page::wanted(filter)?,
        );
        page::merge(vec![window], filter)
    }

    /// The rows of one page and the total (see [`RowIndex::window`]).
    pub fn window(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
        after: Option<&RowKey>,
        want: usize,
    ) -> Window {
        self.rows.window(filter, visible, after, want)
    }

    /// Every precomputed row in `visible` that passes the filter, in list order.
    pub fn matching(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
    ) -> Vec<Arc<Deployment>> {
        self.rows.matching(filter, visible)
    }

    /// How many deployments there are, by kind and status, among the namespaces in `visible`.
    pub fn stats(&self, visible: &Namespaces) -> BTreeMap<(String, DeploymentStatus), usize> {
        self.rows.counts(visible)
    }

    /// One deployment's row.
    pub fn get(&self, deployment: &DeploymentRef) -> Option<Deployment> {
        self.rows
            .get(&key_of_ref(deployment))
            .map(|row| Deployment::clone(&row))
    }

    /// The cached object of one kind, as the last watch event left it.
    pub fn object(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<DynamicObject>> {
        let (_, store) = self.stores.iter().find(|(k, _)| *k == kind)?;
        store.get(&reflector::ObjectRef::new_with(name, kind.api_resource()).within(namespace))
    }

    /// Waits (at most `limit`) until the cached object of one kind is at `resource_version`,
    /// so that a page reloaded after a write shows it. Gives up quietly: the watch will bring
    /// it, and the write has succeeded either way.
    pub async fn caught_up(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        resource_version: Option<&str>,
        limit: Duration,
    ) {
        let Some(wanted) = resource_version else {
            return;
        };
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            let cached = self.object(kind, namespace, name);
            if cached.is_some_and(|o| o.metadata.resource_version.as_deref() == Some(wanted)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The cluster the cache watches.
    pub fn cluster(&self) -> &ClusterId {
        &self.cluster
    }

    /// Every cached object of one kind.
    pub fn objects(&self, kind: FluxKind) -> Vec<Arc<DynamicObject>> {
        self.stores
            .iter()
            .filter(|(k, _)| *k == kind)
            .flat_map(|(_, store)| store.state())
            .collect()
    }

    /// The toolkit objects of `family` among the namespaces in `visible`, sorted by
    /// namespace, kind and name.
    pub fn toolkit(&self, family: Family, visible: &Namespaces) -> Vec<FluxObject> {
        let mut objects: Vec<FluxObject> = ToolkitKind::of(family)
            .map(|kind| (kind, kinds::of_toolkit(kind)))
            .flat_map(|(kind, flux)| self.objects(flux).into_iter().map(move |o| (kind, o)))
            .filter(|(_, o)| visible.contains_in(&self.cluster, &o.namespace().unwrap_or_default()))
            .map(|(kind, object)| super::toolkit::view::row(kind, &object))
            .collect();
        objects.sort_by(|a, b| {
            (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name))
        });
        objects
    }
}

/// Tells the bus about a toolkit object that was applied or deleted (a re-list is not
/// announced: pages that follow the stream reload on a resync).
fn announce(
    bus: &RowIndex,
    cluster: &ClusterId,
    kind: ToolkitKind,
    event: &watcher::Event<DynamicObject>,
) {
    match event {
        watcher::Event::Apply(object) => {
            bus.announce(CacheEvent::Toolkit(Arc::new(super::toolkit::view::row(
                kind, object,
            ))));
        }
        watcher::Event::Delete(object) => {
            let namespace = object.namespace().unwrap_or_default();
            if let Ok(namespace) = model::reference::NamespaceRef::new(cluster.clone(), &namespace)
                && let Ok(reference) =
                    model::reference::ToolkitRef::new(namespace, kind, object.name_any())
            {
                bus.announce(CacheEvent::ToolkitDeleted(reference));
            }
        }
        _ => {}
    }
}

impl Drop for FluxCache {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A Flux object as the deployment every surface shows.
pub(crate) fn to_deployment(
    cluster: &ClusterId,
    adapter: &str,
    kind: FluxKind,
    object: &DynamicObject,
) -> Deployment {
    // `data` holds spec and status; serialising the whole object per row would dominate a list.
    let value = &object.data;
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (chart, source, revision) = if kind.kind == "HelmRelease" {
        let chart = text("/spec/chart/spec/chart");
        let source = text("/spec/chart/spec/sourceRef/name").map(|name| {
            format!(
                "{}/{name}",
                text("/spec/chart/spec/sourceRef/kind").unwrap_or_else(|| "HelmRepository".into())
            )
        });
        let revision = value
            .pointer("/status/history/0/chartVersion")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| text("/status/lastAttemptedRevision"));
        (chart, source, revision)
    } else {
        let source = text("/spec/sourceRef/name").map(|name| {
            format!(
                "{}/{name}",
                text("/spec/sourceRef/kind").unwrap_or_else(|| "GitRepository".into())
            )
        });
        (None, source, text("/status/lastAppliedRevision"))
    };
    let name = object.name_any();
    let namespace = object.namespace().unwrap_or_default();
    let kind = deployment_kind(kind);
    Deployment {
        id: DeploymentRef::id_text(cluster, &namespace, kind, &name),
        cluster: cluster.clone(),
        name,
        namespace,
        kind,
        labels: object.labels().clone(),
        state: DeploymentState {
            suspend_reason: suspend_reason(object),
            ..state_of(value)
        },
        revision,
        chart,
        source,
        resource_version: object.metadata.resource_version.clone(),
        adapter: adapter.to_owned(),
    }
}

/// Why the object was suspended (the annotation Pilothouse writes), while it is.
fn suspend_reason(object: &DynamicObject) -> Option<String> {
    let suspended = object
        .data
        .pointer("/spec/suspend")
        .and_then(Value::as_bool)
        == Some(true);
    object
        .annotations()
        .get(super::writes::SUSPEND_REASON)
        .filter(|_| suspended)
        .cloned()
}
