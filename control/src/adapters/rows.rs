//! The cache event bus: deployment rows computed once per watch event (never per request),
//! kept in list order, indexed by namespace, with every change broadcast. Pages, live
//! updates, reconcile waits and outcome tracking all read or subscribe to the same rows.

use crate::access::Namespaces;
use crate::adapters::page;
use model::deployment::{Deployment, DeploymentFilter};
use model::reference::{ClusterId, DeploymentKind, DeploymentRef};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// Where a row sorts: cluster, namespace, name, kind (the order lists show).
pub type RowKey = (ClusterId, String, String, DeploymentKind);

/// The sort key of a row.
pub fn key_of(row: &Deployment) -> RowKey {
    (
        row.cluster.clone(),
        row.namespace.clone(),
        row.name.clone(),
        row.kind,
    )
}

/// The sort key of a reference.
pub fn key_of_ref(deployment: &DeploymentRef) -> RowKey {
    (
        deployment.cluster.clone(),
        deployment.namespace.clone(),
        deployment.name.clone(),
        deployment.kind,
    )
}

/// One change to the rows.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEvent {
    /// A row was added or changed.
    Upserted(Arc<Deployment>),
    /// A deployment is gone.
    Deleted(DeploymentRef),
}

/// How many changes a slow subscriber may fall behind before it is told it lagged.
const BUS_CAPACITY: usize = 4096;

#[derive(Default)]
struct Inner {
    rows: BTreeMap<RowKey, Arc<Deployment>>,
    by_namespace: HashMap<String, BTreeSet<RowKey>>,
}

/// Precomputed rows of one cluster and the bus their changes go out on.
pub struct RowIndex {
    cluster: ClusterId,
    inner: RwLock<Inner>,
    bus: broadcast::Sender<CacheEvent>,
}

impl std::fmt::Debug for RowIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowIndex")
            .field("rows", &self.len())
            .finish_non_exhaustive()
    }
}

impl RowIndex {
    /// An empty index of `cluster`'s rows.
    pub fn new(cluster: ClusterId) -> Self {
        Self {
            cluster,
            inner: RwLock::new(Inner::default()),
            bus: broadcast::channel(BUS_CAPACITY).0,
        }
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.bus.subscribe()
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.rows.len()).unwrap_or_default()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces a row; announces it only when it changed.
    pub fn upsert(&self, row: Deployment) {
        let key = key_of(&row);
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if inner.rows.get(&key).is_some_and(|old| **old == row) {
            return;
        }
        let row = Arc::new(row);
        inner.rows.insert(key.clone(), row.clone());
        inner
            .by_namespace
            .entry(key.1.clone())
            .or_default()
            .insert(key);
        drop(inner);
        // No subscriber is not an error: nobody is watching right now.
        let _ = self.bus.send(CacheEvent::Upserted(row));
    }

    /// Removes a row; announces it when there was one.
    pub fn remove(&self, key: &RowKey) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        let Some(removed) = inner.rows.remove(key) else {
            return;
        };
        if let Some(keys) = inner.by_namespace.get_mut(&key.1) {
            keys.remove(key);
            if keys.is_empty() {
                inner.by_namespace.remove(&key.1);
            }
        }
        drop(inner);
        let _ = self.bus.send(CacheEvent::Deleted(removed.reference()));
    }

    /// Makes the rows `owned` selects exactly `rows` (after a full re-list): rows gone
    /// from the list are removed, new and changed ones upserted, each change announced.
    pub fn replace(&self, owned: impl Fn(&RowKey) -> bool, rows: Vec<Deployment>) {
        let fresh: BTreeSet<RowKey> = rows.iter().map(key_of).collect();
        let stale: Vec<RowKey> = self
            .inner
            .read()
            .map(|inner| {
                inner
                    .rows
                    .keys()
                    .filter(|k| owned(k) && !fresh.contains(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for key in &stale {
            self.remove(key);
        }
        for row in rows {
            self.upsert(row);
        }
    }

    /// One row.
    pub fn get(&self, key: &RowKey) -> Option<Arc<Deployment>> {
        self.inner.read().ok()?.rows.get(key).cloned()
    }

    /// Every row in the namespaces in `visible` that passes the filter's namespace, kind
    /// and label conditions, in list order. Only the visible namespaces are walked.
    pub fn matching(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
    ) -> Vec<Arc<Deployment>> {
        let Ok(inner) = self.inner.read() else {
            return Vec::new();
        };
        let admit = |row: &Arc<Deployment>| {
            page::admits(filter, &row.namespace, row.kind.as_str(), &row.labels)
        };
        let in_namespace = |namespace: &str| -> Vec<Arc<Deployment>> {
            inner
                .by_namespace
                .get(namespace)
                .into_iter()
                .flatten()
                .filter_map(|key| inner.rows.get(key))
                .filter(|row| admit(row))
                .cloned()
                .collect()
        };
        match (filter.namespace.as_deref(), visible) {
            (Some(namespace), _) if visible.contains_in(&self.cluster, namespace) => {
                in_namespace(namespace)
            }
            (Some(_), _) => Vec::new(),
            (None, Namespaces::All) => inner.rows.values().filter(|r| admit(r)).cloned().collect(),
            (None, Namespaces::Only(namespaces)) => namespaces
                .iter()
                .filter(|ns| ns.cluster == self.cluster)
                .flat_map(|ns| in_namespace(ns.name()))
                .collect(),
        }
    }

    /// Every row in the namespaces in `visible`.
    pub fn visible(&self, visible: &Namespaces) -> Vec<Arc<Deployment>> {
        self.matching(&DeploymentFilter::default(), visible)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::deployment::{DeploymentState, DeploymentStatus};

    fn row(namespace: &str, name: &str, kind: DeploymentKind, revision: &str) -> Deployment {
        let reference = DeploymentRef {
            cluster: ClusterId::default(),
            namespace: namespace.into(),
            kind,
            name: name.into(),
        };
        Deployment {
            id: reference.to_string(),
            cluster: ClusterId::default(),
            name: name.into(),
            namespace: namespace.into(),
            kind,
            labels: Default::default(),
            state: DeploymentState {
                status: DeploymentStatus::Deployed,
                suspended: false,
                progress: 100,
                message: String::new(),
                conditions: Vec::new(),
            },
            revision: Some(revision.into()),
            chart: None,
            source: None,
            resource_version: None,
            adapter: "flux".into(),
        }
    }

    #[test]
    fn the_bus_announces_adds_changes_and_deletes_once_each() {
        let index = RowIndex::new(ClusterId::default());
        let mut bus = index.subscribe();
        index.upsert(row("team-a", "web", DeploymentKind::HelmRelease, "1"));
        index.upsert(row("team-a", "web", DeploymentKind::HelmRelease, "1"));
        index.upsert(row("team-a", "web", DeploymentKind::HelmRelease, "2"));
        index.remove(&key_of(&row(
            "team-a",
            "web",
            DeploymentKind::HelmRelease,
            "2",
        )));
        index.remove(&key_of(&row(
            "team-a",
            "web",
            DeploymentKind::HelmRelease,
            "2",
        )));
        let mut seen = Vec::new();
        while let Ok(event) = bus.try_recv() {
            seen.push(match event {
                CacheEvent::Upserted(row) => format!("up {}", row.revision.clone().unwrap()),
                CacheEvent::Deleted(r) => format!("del {r}"),
            });
        }
        assert_eq!(seen, ["up 1", "up 2", "del default~team-a~HelmRelease~web"]);
    }

    #[test]
    fn replace_removes_what_the_new_list_lacks_and_only_in_its_scope() {
        let index = RowIndex::new(ClusterId::default());
        index.upsert(row("team-a", "gone", DeploymentKind::HelmRelease, "1"));
        index.upsert(row("team-a", "kept", DeploymentKind::HelmRelease, "1"));
        index.upsert(row("team-a", "other", DeploymentKind::Kustomization, "1"));
        index.replace(
            |k| k.3 == DeploymentKind::HelmRelease,
            vec![row("team-a", "kept", DeploymentKind::HelmRelease, "2")],
        );
        let names: Vec<String> = index
            .visible(&Namespaces::All)
            .iter()
            .map(|r| format!("{}={}", r.name, r.revision.clone().unwrap()))
            .collect();
        assert_eq!(names, ["kept=2", "other=1"]);
    }

    #[test]
    fn matching_walks_only_visible_namespaces() {
        let index = RowIndex::new(ClusterId::default());
        for ns in ["team-a", "team-b", "team-c"] {
            index.upsert(row(ns, "web", DeploymentKind::HelmRelease, "1"));
        }
        let visible = Namespaces::only_in_default(["team-b", "team-c"]);
        let seen: Vec<String> = index
            .visible(&visible)
            .iter()
            .map(|r| r.namespace.clone())
            .collect();
        assert_eq!(seen, ["team-b", "team-c"]);
        let one = DeploymentFilter {
            namespace: Some("team-a".into()),
            ..DeploymentFilter::default()
        };
        assert!(index.matching(&one, &visible).is_empty());
    }
}
