//! Helm releases from a watch of their Secrets (`owner=helm`, type `helm.sh/release.v1`), so
//! listing never runs `helm list` (which decodes every revision of every release). Only the
//! newest revision of each release is decoded, once per change; older revisions are only
//! remembered by number and decoded on demand (history).

use super::release::{self, RELEASE_TYPE, Release};
use control_core::Namespaces;
use control_core::adapters::rows::{CacheEvent, RowIndex};
use control_core::adapters::watch::{self, Step};

/// The release watch's name among the row index's feeds.
const FEED: &str = "helm releases";
use control_core::{Error, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;
use kube::runtime::watcher;
use model::deployment::{
    Condition, Deployment, DeploymentFilter, DeploymentState, DeploymentStatus,
};
use model::reference::{ClusterId, DeploymentKind, DeploymentRef};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

type Key = (String, String);

#[derive(Default)]
struct State {
    /// Every revision's Secret name, per release.
    revisions: HashMap<Key, BTreeMap<u32, String>>,
    /// The newest revision, decoded, with the resourceVersion it was decoded from.
    latest: HashMap<Key, (String, Arc<Release>)>,
}

/// The release watch and what it has decoded.
pub struct ReleaseCache {
    cluster: ClusterId,
    adapter: String,
    state: Arc<RwLock<State>>,
    rows: Arc<RowIndex>,
    synced: Arc<AtomicBool>,
    decodes: Arc<DecodeCounts>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ReleaseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseCache").finish_non_exhaustive()
    }
}

impl Drop for ReleaseCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReleaseCache {
    /// Starts watching release Secrets in every namespace.
    pub fn start(client: &Client, cluster: ClusterId, adapter: &str) -> Self {
        let state = Arc::new(RwLock::new(State::default()));
        let synced = Arc::new(AtomicBool::new(false));
        let decodes = Arc::new(DecodeCounts::default());
        let rows = Arc::new(RowIndex::new(cluster.clone()));
        let api: Api<Secret> = Api::all(client.clone());
        let selectors = watch::Selectors {
            labels: Some("owner=helm".into()),
            fields: Some(format!("type={RELEASE_TYPE}")),
        };
        let task = {
            let (state, synced, decodes) = (state.clone(), synced.clone(), decodes.clone());
            let feed = RowFeed {
                cluster: cluster.clone(),
                adapter: adapter.to_owned(),
                rows: rows.clone(),
            };
            tokio::spawn(async move {
                let mut steps = watch::start(api.clone(), selectors, "helm release Secrets");
                let mut pending: HashMap<Key, BTreeMap<u32, Secret>> = HashMap::new();
                while let Some(step) = steps.recv().await {
                    match step {
                        Step::Current => feed.rows.mark_current(FEED),
                        Step::Event(watcher::Event::Init) => {
                            feed.rows.mark_stale(FEED);
                            pending.clear();
                        }
                        Step::Event(watcher::Event::InitApply(secret)) => {
                            if let Some((key, version)) = key_of(&secret) {
                                // Keep only the newest Secret per release until the list is done.
                                let entry = pending.entry(key).or_default();
                                entry.insert(version, secret);
                                while entry.len() > 1 {
                                    let oldest = entry.keys().next().copied();
                                    if let Some(v) = oldest {
                                        entry.remove(&v);
                                    }
                                }
                            }
                        }
                        Step::Event(watcher::Event::InitDone) => {
                            let names = Self::list_revisions(&api).await;
                            let mut fresh = State {
                                revisions: names,
                                latest: HashMap::new(),
                            };
                            let old = state.read().map(|s| s.latest.clone()).unwrap_or_default();
                            for (key, secrets) in pending.drain() {
                                if let Some(secret) = secrets.into_values().next() {
                                    let rv = secret
                                        .metadata
                                        .resource_version
                                        .clone()
                                        .unwrap_or_default();
                                    match old.get(&key).filter(|(old_rv, _)| *old_rv == rv) {
                                        Some(kept) => {
                                            fresh.latest.insert(key, kept.clone());
                                        }
                                        None => {
                                            if let Some(decoded) = decode_counted(&secret, &decodes)
                                            {
                                                fresh.latest.insert(key, (rv, decoded));
                                            }
                                        }
                                    }
                                }
                            }
                            feed.replace_all(&fresh);
                            if let Ok(mut guard) = state.write() {
                                *guard = fresh;
                            }
                            feed.rows.mark_current(FEED);
                            synced.store(true, Ordering::SeqCst);
                        }
                        Step::Event(watcher::Event::Apply(secret)) => {
                            feed.rows.mark_current(FEED);
                            Self::apply(&state, &decodes, &secret);
                            feed.sync(&state, &secret);
                        }
                        Step::Event(watcher::Event::Delete(secret)) => {
                            let refetch = Self::delete(&state, &secret);
                            if let Some((key, name)) = refetch {
                                let api: Api<Secret> =
                                    Api::namespaced(api.clone().into_client(), &key.0);
                                if let Ok(Some(newest)) = api.get_opt(&name).await {
                                    Self::apply(&state, &decodes, &newest);
                                }
                            }
                            feed.sync(&state, &secret);
                        }
                        Step::Behind => {
                            feed.rows.mark_stale(FEED);
                        }
                    }
                }
            })
        };
        Self {
            cluster,
            adapter: adapter.to_owned(),
            state,
            rows,
            synced,
            decodes,
            task,
        }
    }

    /// Every revision's Secret name (a metadata-only view of the same list).
    async fn list_revisions(api: &Api<Secret>) -> HashMap<Key, BTreeMap<u32, String>> {
        let mut names: HashMap<Key, BTreeMap<u32, String>> = HashMap::new();
        let params = kube::api::ListParams::default()
            .labels("owner=helm")
            .fields(&format!("type={RELEASE_TYPE}"));
        if let Ok(list) = api.list_metadata(&params).await {
            for meta in list.items {
                let labels = meta.metadata.labels.clone().unwrap_or_default();
                let (Some(release), Some(version), Some(ns), Some(name)) = (
                    labels.get("name"),
                    labels.get("version").and_then(|v| v.parse::<u32>().ok()),
                    meta.metadata.namespace.clone(),
                    meta.metadata.name.clone(),
                ) else {
                    continue;
                };
                names
                    .entry((ns, release.clone()))
                    .or_default()
                    .insert(version, name);
            }
        }
        names
    }

    fn apply(state: &RwLock<State>, decodes: &DecodeCounts, secret: &Secret) {
        let Some((key, version)) = key_of(secret) else {
            return;
        };
        let rv = secret.metadata.resource_version.clone().unwrap_or_default();
        let Ok(mut guard) = state.write() else {
            return;
        };
        guard
            .revisions
            .entry(key.clone())
            .or_default()
            .insert(version, secret.metadata.name.clone().unwrap_or_default());
        let newest = guard
            .revisions
            .get(&key)
            .and_then(|r| r.keys().next_back().copied());
        let current = guard
            .latest
            .get(&key)
            .map(|(rv, r)| (rv.clone(), r.version));
        let changed = match current {
            Some((old_rv, old_version)) => {
                version > old_version || (version == old_version && old_rv != rv)
            }
            None => true,
        };
        if newest == Some(version)
            && changed
            && let Some(decoded) = decode_counted(secret, decodes)
        {
            guard.latest.insert(key, (rv, decoded));
        }
    }

    /// Forgets a revision; returns the Secret to decode when the newest one went away.
    fn delete(state: &RwLock<State>, secret: &Secret) -> Option<(Key, String)> {
        let (key, version) = key_of(secret)?;
        let mut guard = state.write().ok()?;
        let revisions = guard.revisions.entry(key.clone()).or_default();
        revisions.remove(&version);
        let newest = revisions.iter().next_back().map(|(v, n)| (*v, n.clone()));
        if revisions.is_empty() {
            guard.revisions.remove(&key);
        }
        let was_latest = guard
            .latest
            .get(&key)
            .is_some_and(|(_, r)| r.version == version);
        if !was_latest {
            return None;
        }
        guard.latest.remove(&key);
        newest.map(|(_, name)| (key, name))
    }

    /// Waits until the first full list has been decoded.
    pub async fn wait_until_ready(&self, limit: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.synced.load(Ordering::SeqCst) {
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Cluster(format!(
                    "the Helm release cache did not fill within {} s",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// How many release Secrets have been decoded since start (each change decodes one).
    pub fn decodes(&self) -> u64 {
        self.decodes.decoded.load(Ordering::SeqCst)
    }

    /// How many release Secrets were refused (unreadable, or larger than the decode cap).
    pub fn refused(&self) -> u64 {
        self.decodes.refused.load(Ordering::SeqCst)
    }

    /// The newest revision of a release.
    pub fn release(&self, namespace: &str, name: &str) -> Option<Arc<Release>> {
        let guard = self.state.read().ok()?;
        guard
            .latest
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|(_, r)| r.clone())
    }

    /// Every release's newest revision.
    pub fn releases(&self) -> Vec<Arc<Release>> {
        self.state
            .read()
            .map(|g| g.latest.values().map(|(_, r)| r.clone()).collect())
            .unwrap_or_default()
    }

    /// The Secret names of a release's revisions, oldest first.
    pub fn revisions(&self, namespace: &str, name: &str) -> Vec<(u32, String)> {
        self.state
            .read()
            .ok()
            .and_then(|g| {
                g.revisions
                    .get(&(namespace.to_owned(), name.to_owned()))
                    .map(|r| r.iter().map(|(v, n)| (*v, n.clone())).collect())
            })
            .unwrap_or_default()
    }

    /// Every release in `visible` that passes the filter, in list order.
    pub fn matching(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
    ) -> Vec<Arc<Deployment>> {
        self.rows.matching(filter, visible)
    }

    /// The rows of one page and the total (see [`RowIndex::window`]).
    pub fn window(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
        after: Option<&control_core::adapters::rows::RowKey>,
        want: usize,
    ) -> control_core::adapters::rows::Window {
        self.rows.window(filter, visible, after, want)
    }

    /// Counts by kind and status among the namespaces in `visible`.
    pub fn counts(&self, visible: &Namespaces) -> BTreeMap<(String, DeploymentStatus), usize> {
        self.rows.counts(visible)
    }

    /// The cluster the releases are in.
    pub fn cluster(&self) -> &ClusterId {
        &self.cluster
    }

    /// Every change to the release rows from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.rows.subscribe()
    }

    /// A release as every surface shows deployments.
    pub fn row(&self, release: &Release) -> Deployment {
        to_deployment(&self.cluster, &self.adapter, release)
    }
}

/// Keeps the release rows in step with the decoded newest revisions.
struct RowFeed {
    cluster: ClusterId,
    adapter: String,
    rows: Arc<RowIndex>,
}

impl RowFeed {
    /// After an event about `secret`: the row of its release as the state now has it.
    fn sync(&self, state: &RwLock<State>, secret: &Secret) {
        let Some((key, _)) = key_of(secret) else {
            return;
        };
        let latest = state
            .read()
            .ok()
            .and_then(|s| s.latest.get(&key).map(|(_, r)| r.clone()));
        match latest {
            Some(release) => {
                self.rows
                    .upsert(to_deployment(&self.cluster, &self.adapter, &release))
            }
            None => {
                self.rows
                    .remove(&(self.cluster.clone(), key.0, key.1, DeploymentKind::Release))
            }
        }
    }

    /// After a full list: exactly the releases `state` holds.
    fn replace_all(&self, state: &State) {
        let rows = state
            .latest
            .values()
            .map(|(_, r)| to_deployment(&self.cluster, &self.adapter, r))
            .collect();
        let cluster = self.cluster.clone();
        self.rows.replace(
            |key| key.0 == cluster && key.3 == DeploymentKind::Release,
            rows,
        );
    }
}

/// The kind Helm releases are listed as.
pub const KIND: &str = "Release";

fn key_of(secret: &Secret) -> Option<(Key, u32)> {
    let (name, version) = release::labels_of(secret)?;
    Some(((secret.metadata.namespace.clone()?, name), version))
}

/// Release Secrets decoded and refused since start.
#[derive(Debug, Default)]
struct DecodeCounts {
    decoded: AtomicU64,
    refused: AtomicU64,
}

fn decode_counted(secret: &Secret, decodes: &DecodeCounts) -> Option<Arc<Release>> {
    decodes.decoded.fetch_add(1, Ordering::SeqCst);
    match release::decode(secret) {
        // Where the Secret lives is what Kubernetes vouches for; the payload says what
        // whoever wrote it chose, so it never decides which namespace a release is in.
        Ok(mut release) => {
            release.namespace = secret.metadata.namespace.clone().unwrap_or_default();
            if let Some((name, _)) = release::labels_of(secret) {
                release.name = name;
            }
            Some(Arc::new(release))
        }
        Err(error) => {
            let refused = decodes.refused.fetch_add(1, Ordering::SeqCst) + 1;
            tracing::warn!(%error, refused, namespace = ?secret.metadata.namespace, "skipping a release Secret");
            None
        }
    }
}

/// Helm's release states as Pilothouse statuses.
pub fn state_of(release: &Release) -> DeploymentState {
    let (status, progress) = match release.status.as_str() {
        "deployed" | "superseded" => (DeploymentStatus::Deployed, 100),
        "failed" => (DeploymentStatus::Failed, 100),
        "pending-install" | "pending-upgrade" | "pending-rollback" | "uninstalling" => {
            (DeploymentStatus::Deploying, 50)
        }
        _ => (DeploymentStatus::Pending, 0),
    };
    DeploymentState {
        status,
        suspended: false,
        progress,
        message: release.description.clone(),
        conditions: vec![Condition {
            kind: "Released".into(),
            status: release.status.clone(),
            reason: format!("revision {}", release.version),
            message: release.description.clone(),
            last_transition_time: release.last_deployed.clone(),
        }],
        suspend_reason: None,
    }
}

/// A release as every surface shows deployments.
fn to_deployment(cluster: &ClusterId, adapter: &str, release: &Release) -> Deployment {
    Deployment {
        id: DeploymentRef::id_text(
            cluster,
            &release.namespace,
            DeploymentKind::Release,
            &release.name,
        ),
        cluster: cluster.clone(),
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        kind: DeploymentKind::Release,
        labels: BTreeMap::new(),
        state: state_of(release),
        revision: Some(release.version.to_string()),
        chart: Some(format!("{}-{}", release.chart, release.chart_version)),
        source: None,
        // A release's version is its revision: If-Match with it guards an upgrade.
        resource_version: Some(release.version.to_string()),
        adapter: adapter.to_owned(),
    }
}
