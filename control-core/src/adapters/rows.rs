//! The cache event bus: deployment rows computed once per watch event (never per request),
//! kept in list order, indexed by namespace, counted by namespace, kind and status, each with
//! its lowercase search text (and that text's trigrams), and every change broadcast. Pages walk keys in order and hand
//! out only their own rows; live updates, reconcile waits and outcome tracking subscribe to
//! the same rows.

use super::text_index::{Slot, TextIndex};
use crate::Namespaces;
use model::deployment::DeploymentStatus;
use model::deployment::{Deployment, DeploymentFilter};
use model::reference::{ClusterId, DeploymentKind, DeploymentRef};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
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
        deployment.cluster().clone(),
        deployment.namespace().to_owned(),
        deployment.name().to_owned(),
        deployment.kind(),
    )
}

/// One change to the rows.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEvent {
    /// A row was added or changed.
    Upserted(Arc<Deployment>),
    /// A deployment is gone.
    Deleted(DeploymentRef),
    /// A toolkit object (a source, an image or notification object) was added or changed.
    Toolkit(Arc<model::flux::FluxObject>),
    /// A toolkit object is gone.
    ToolkitDeleted(model::reference::ToolkitRef),
}

/// How many changes a slow subscriber may fall behind before it is told it lagged.
const BUS_CAPACITY: usize = 4096;

/// The most rows a window preallocates for (deep offsets walk further without it).
const MAX_WINDOW: usize = 1024;

/// A row and what free-text search matches against.
struct Entry {
    row: Arc<Deployment>,
    /// Name, namespace, chart and source, lowercase, one per line.
    search: String,
    /// Where the text index knows this row.
    slot: Slot,
}

impl Entry {
    fn search_text(row: &Deployment) -> String {
        [
            Some(&row.name),
            Some(&row.namespace),
            row.chart.as_ref(),
            row.source.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|field| field.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n")
    }
}

/// Counts of one namespace's rows by kind and status.
type Counts = HashMap<(DeploymentKind, DeploymentStatus), usize>;

#[derive(Default)]
struct Inner {
    rows: BTreeMap<RowKey, Entry>,
    by_namespace: HashMap<String, BTreeSet<RowKey>>,
    counts: HashMap<String, Counts>,
    text: TextIndex,
}

impl Inner {
    /// The rows in namespaces `in_scope` admits that pass `test`, in list order, read from
    /// the rows its text's trigrams point to; None when there is no text of three bytes or
    /// more to narrow by.
    fn text_hits<'i>(
        &'i self,
        test: &Test<'_>,
        in_scope: impl Fn(&str) -> bool,
    ) -> Option<Vec<(&'i RowKey, &'i Entry)>> {
        let found = self.text.candidates(test.text.as_deref()?)?;
        Some(
            found
                .into_iter()
                .filter(|key| in_scope(&key.1))
                .filter_map(|key| Some((key, self.rows.get(key)?)))
                .filter(|(_, entry)| test.passes(entry))
                .collect(),
        )
    }

    fn count(&mut self, row: &Deployment, delta: isize) {
        let counts = self.counts.entry(row.namespace.clone()).or_default();
        let slot = counts.entry((row.kind, row.state.status)).or_insert(0);
        *slot = slot.saturating_add_signed(delta);
        if *slot == 0 {
            counts.remove(&(row.kind, row.state.status));
        }
        if counts.is_empty() {
            self.counts.remove(&row.namespace);
        }
    }
}

/// One adapter's part of a page: its first rows after the cursor, and its total.
#[derive(Debug, Default)]
pub struct Window {
    /// Rows in list order, at most as many as asked for.
    pub rows: Vec<Arc<Deployment>>,
    /// How many rows pass the filter in all.
    pub total: usize,
    /// Since when the rows may be out of date (a watch is reconnecting or re-listing).
    pub stale_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// A filter's conditions, prepared once per request.
struct Test<'a> {
    filter: &'a DeploymentFilter,
    text: Option<String>,
}

impl<'a> Test<'a> {
    fn new(filter: &'a DeploymentFilter) -> Self {
        let text = filter
            .text
            .as_deref()
            .map(str::to_lowercase)
            .filter(|t| !t.trim().is_empty());
        Self { filter, text }
    }

    /// Whether the total must be counted row by row (labels and text have no counters).
    fn by_row(&self) -> bool {
        !self.filter.labels.is_empty() || self.text.is_some()
    }

    fn counts(&self, kind: DeploymentKind, status: DeploymentStatus) -> bool {
        self.filter
            .kind
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case(kind.as_str()))
            && self.filter.status.is_none_or(|s| s == status)
    }

    fn passes(&self, entry: &Entry) -> bool {
        let row = &entry.row;
        self.counts(row.kind, row.state.status)
            && self
                .filter
                .labels
                .iter()
                .all(|(k, v)| row.labels.get(k) == Some(v))
            && self
                .text
                .as_deref()
                .is_none_or(|t| entry.search.contains(t))
    }
}

/// Precomputed rows of one cluster and the bus their changes go out on.
pub struct RowIndex {
    cluster: ClusterId,
    inner: RwLock<Inner>,
    bus: broadcast::Sender<CacheEvent>,
    /// Watches that are disconnected or re-listing, with the time their rows were last known
    /// to be current.
    stale: std::sync::Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
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
            stale: Default::default(),
        }
    }

    /// The watch `feed` lost its connection or started a re-list: its rows are as of now
    /// (or of when it first fell behind) until [`Self::mark_current`].
    pub fn mark_stale(&self, feed: &str) {
        if let Ok(mut stale) = self.stale.lock() {
            stale
                .entry(feed.to_owned())
                .or_insert_with(chrono::Utc::now);
        }
    }

    /// The watch `feed` is current again.
    pub fn mark_current(&self, feed: &str) {
        if let Ok(mut stale) = self.stale.lock() {
            stale.remove(feed);
        }
    }

    /// Since when some of the rows may be out of date, if they may.
    pub fn stale_since(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.stale.lock().ok()?.values().min().copied()
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.bus.subscribe()
    }

    /// Sends a change that is not about a row (a toolkit object's) on the same bus.
    pub fn announce(&self, event: CacheEvent) {
        let _ = self.bus.send(event);
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
        let Ok(mut guard) = self.inner.write() else {
            return;
        };
        // Through a plain reference, so the rows and the text index borrow apart.
        let inner = &mut *guard;
        if inner.rows.get(&key).is_some_and(|old| *old.row == row) {
            return;
        }
        let row = Arc::new(row);
        let search = Entry::search_text(&row);
        let slot = match inner.rows.get(&key) {
            Some(old) => {
                inner.text.change(old.slot, &old.search, &search);
                old.slot
            }
            None => inner.text.add(key.clone(), &search),
        };
        let entry = Entry {
            row: row.clone(),
            search,
            slot,
        };
        if let Some(old) = inner.rows.insert(key.clone(), entry) {
            inner.count(&old.row, -1);
        }
        inner.count(&row, 1);
        inner
            .by_namespace
            .entry(key.1.clone())
            .or_default()
            .insert(key);
        drop(guard);
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
        inner.count(&removed.row, -1);
        inner.text.remove(removed.slot, &removed.search);
        if let Some(keys) = inner.by_namespace.get_mut(&key.1) {
            keys.remove(key);
            if keys.is_empty() {
                inner.by_namespace.remove(&key.1);
            }
        }
        drop(inner);
        let _ = self.bus.send(CacheEvent::Deleted(removed.row.reference()));
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
        Some(self.inner.read().ok()?.rows.get(key)?.row.clone())
    }

    /// How many rows there are by kind and status among the namespaces in `visible`, from
    /// the counters.
    pub fn counts(&self, visible: &Namespaces) -> BTreeMap<(String, DeploymentStatus), usize> {
        let mut out = BTreeMap::new();
        let Ok(inner) = self.inner.read() else {
            return out;
        };
        for (namespace, counts) in &inner.counts {
            if !visible.contains_in(&self.cluster, namespace) {
                continue;
            }
            for ((kind, status), n) in counts {
                *out.entry((kind.as_str().to_owned(), *status)).or_insert(0) += n;
            }
        }
        out
    }

    /// The first `want` rows that pass `filter` among the namespaces in `visible`, after
    /// `after` in list order, and how many pass in all. Keys are walked in order and only the
    /// page's rows are handed out; the total comes from the per-namespace counters, unless
    /// labels or text must be checked row by row. A text of three bytes or more reads only the
    /// rows its trigrams point to.
    pub fn window(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
        after: Option<&RowKey>,
        want: usize,
    ) -> Window {
        let Ok(inner) = self.inner.read() else {
            return Window::default();
        };
        let mut namespaces: Vec<&str> = match (filter.namespace.as_deref(), visible) {
            (Some(ns), _) if visible.contains_in(&self.cluster, ns) => vec![ns],
            (Some(_), _) => return Window::default(),
            (None, Namespaces::All) => inner.by_namespace.keys().map(String::as_str).collect(),
            (None, Namespaces::Only(set)) => set
                .iter()
                .filter(|ns| *ns.cluster() == self.cluster)
                .map(|ns| ns.name())
                .collect(),
        };
        namespaces.sort_unstable();
        let test = Test::new(filter);
        if let Some(hits) = inner.text_hits(&test, |ns| namespaces.binary_search(&ns).is_ok()) {
            let rows = hits
                .iter()
                .filter(|(key, _)| after.is_none_or(|cursor| *key > cursor))
                .take(want)
                .map(|(_, entry)| entry.row.clone())
                .collect();
            return Window {
                rows,
                total: hits.len(),
                stale_since: self.stale_since(),
            };
        }
        let total = if test.by_row() {
            namespaces
                .iter()
                .filter_map(|ns| inner.by_namespace.get(*ns))
                .flatten()
                .filter_map(|key| inner.rows.get(key))
                .filter(|entry| test.passes(entry))
                .count()
        } else {
            namespaces
                .iter()
                .filter_map(|ns| inner.counts.get(*ns))
                .flatten()
                .filter(|((kind, status), _)| test.counts(*kind, *status))
                .map(|(_, n)| *n)
                .sum()
        };
        // Without a per-row test, the counters tell which namespaces hold no match at all
        // (a kind this adapter does not run, a status nobody has there): skip their keys.
        let may_match = |namespace: &str| {
            test.by_row()
                || inner.counts.get(namespace).is_some_and(|counts| {
                    counts
                        .iter()
                        .any(|((kind, status), n)| *n > 0 && test.counts(*kind, *status))
                })
        };
        let mut rows = Vec::with_capacity(want.min(MAX_WINDOW));
        for namespace in namespaces {
            if rows.len() >= want {
                break;
            }
            if after.is_some_and(|cursor| namespace < cursor.1.as_str()) || !may_match(namespace) {
                continue;
            }
            let Some(keys) = inner.by_namespace.get(namespace) else {
                continue;
            };
            let start = match after {
                Some(cursor) if cursor.1 == namespace => Bound::Excluded(cursor),
                _ => Bound::Unbounded,
            };
            rows.extend(
                keys.range::<RowKey, _>((start, Bound::Unbounded))
                    .filter_map(|key| inner.rows.get(key))
                    .filter(|entry| test.passes(entry))
                    .take(want - rows.len())
                    .map(|entry| entry.row.clone()),
            );
        }
        Window {
            rows,
            total,
            stale_since: self.stale_since(),
        }
    }

    /// Every row in the namespaces in `visible` that passes the filter, in list order. Only the
    /// visible namespaces are walked.
    pub fn matching(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
    ) -> Vec<Arc<Deployment>> {
        let Ok(inner) = self.inner.read() else {
            return Vec::new();
        };
        let test = Test::new(filter);
        let in_scope = |namespace: &str| {
            visible.contains_in(&self.cluster, namespace)
                && filter.namespace.as_deref().is_none_or(|ns| ns == namespace)
        };
        if let Some(hits) = inner.text_hits(&test, in_scope) {
            return hits
                .into_iter()
                .map(|(_, entry)| entry.row.clone())
                .collect();
        }
        let admit = |entry: &&Entry| test.passes(entry);
        let in_namespace = |namespace: &str| -> Vec<Arc<Deployment>> {
            inner
                .by_namespace
                .get(namespace)
                .into_iter()
                .flatten()
                .filter_map(|key| inner.rows.get(key))
                .filter(admit)
                .map(|entry| entry.row.clone())
                .collect()
        };
        match (filter.namespace.as_deref(), visible) {
            (Some(namespace), _) if visible.contains_in(&self.cluster, namespace) => {
                in_namespace(namespace)
            }
            (Some(_), _) => Vec::new(),
            (None, Namespaces::All) => inner
                .rows
                .values()
                .filter(admit)
                .map(|entry| entry.row.clone())
                .collect(),
            (None, Namespaces::Only(namespaces)) => namespaces
                .iter()
                .filter(|ns| *ns.cluster() == self.cluster)
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
#[path = "rows_tests.rs"]
mod window_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use model::deployment::{DeploymentState, DeploymentStatus};

    fn row(namespace: &str, name: &str, kind: DeploymentKind, revision: &str) -> Deployment {
        Deployment {
            id: DeploymentRef::id_text(&ClusterId::default(), namespace, kind, name),
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
                suspend_reason: None,
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
                other => format!("{other:?}"),
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
    fn text_search_follows_a_row_whose_source_changes() {
        let index = RowIndex::new(ClusterId::default());
        index.upsert(row("team-a", "web", DeploymentKind::HelmRelease, "1"));
        let by_text = |text: &str| {
            let filter = DeploymentFilter {
                text: Some(text.into()),
                ..DeploymentFilter::default()
            };
            let window = index.window(&filter, &Namespaces::All, None, 10);
            let names: Vec<String> = window.rows.iter().map(|r| r.name.clone()).collect();
            let matching: Vec<String> = index
                .matching(&filter, &Namespaces::All)
                .iter()
                .map(|r| r.name.clone())
                .collect();
            assert_eq!(names, matching, "window and matching agree on {text:?}");
            (window.total, names)
        };
        assert_eq!(by_text("flux-system"), (0, vec![]));
        let mut moved = row("team-a", "web", DeploymentKind::HelmRelease, "2");
        moved.source = Some("GitRepository/flux-system".into());
        index.upsert(moved);
        assert_eq!(by_text("Flux-System"), (1, vec!["web".to_owned()]));
        index.upsert(row("team-a", "web", DeploymentKind::HelmRelease, "3"));
        assert_eq!(by_text("flux-system"), (0, vec![]));
        assert_eq!(by_text("web"), (1, vec!["web".to_owned()]));
        index.remove(&key_of(&row(
            "team-a",
            "web",
            DeploymentKind::HelmRelease,
            "3",
        )));
        assert_eq!(by_text("web"), (0, vec![]));
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
