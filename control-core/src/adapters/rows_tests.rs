//! The indexed window against a naive filter over the same rows, after random adds, changes
//! and deletes, for every filter, visibility and page size.

use super::*;
use crate::adapters::page;
use model::deployment::{DeploymentState, DeploymentStatus};
use model::reference::NamespaceRef;
use proptest::prelude::*;

const STATUSES: [DeploymentStatus; 4] = [
    DeploymentStatus::Pending,
    DeploymentStatus::Deploying,
    DeploymentStatus::Deployed,
    DeploymentStatus::Failed,
];

fn row(namespace: u8, name: u8, kind: u8, status: u8, label: bool) -> Deployment {
    let kind = DeploymentKind::ALL[usize::from(kind) % 3];
    let namespace = NamespaceRef::in_default(format!("team-{}", char::from(b'a' + namespace % 4)))
        .expect("namespace");
    let reference = DeploymentRef::new(&namespace, kind, format!("app-{name}")).expect("reference");
    Deployment {
        id: reference.to_string(),
        cluster: reference.cluster().clone(),
        name: reference.name().to_owned(),
        namespace: reference.namespace().to_owned(),
        kind,
        labels: if label {
            BTreeMap::from([("tier".to_owned(), "web".to_owned())])
        } else {
            BTreeMap::new()
        },
        state: DeploymentState {
            status: STATUSES[usize::from(status) % 4],
            suspended: false,
            progress: 0,
            message: String::new(),
            conditions: Vec::new(),
            suspend_reason: None,
        },
        revision: None,
        chart: name.is_multiple_of(3).then(|| format!("Chart-{name}")),
        // Changes with the status, so an upsert can change a row's search text.
        source: (status % 4 == 1).then(|| "GitRepository/flux-system".to_owned()),
        resource_version: None,
        adapter: "flux".into(),
    }
}

fn naive(
    rows: &BTreeMap<RowKey, Deployment>,
    filter: &DeploymentFilter,
    visible: &Namespaces,
) -> Vec<String> {
    let text = filter.text.as_deref().map(str::to_lowercase);
    rows.values()
        .filter(|d| visible.contains_in(&d.cluster, &d.namespace))
        .filter(|d| {
            filter
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == d.namespace)
        })
        .filter(|d| {
            filter
                .kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(d.kind.as_str()))
        })
        .filter(|d| filter.status.is_none_or(|s| s == d.state.status))
        .filter(|d| {
            filter
                .labels
                .iter()
                .all(|(k, v)| d.labels.get(k) == Some(v))
        })
        .filter(|d| {
            text.as_deref().is_none_or(|t| {
                [
                    Some(&d.name),
                    Some(&d.namespace),
                    d.chart.as_ref(),
                    d.source.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|f| f.to_lowercase().contains(t))
            })
        })
        .map(|d| d.id.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn pages_walked_from_two_indexes_are_the_naive_list(
        ops in proptest::collection::vec((any::<bool>(), 0u8..4, 0u8..10, 0u8..3, 0u8..4, any::<bool>()), 0..80),
        namespace in proptest::option::of(0u8..4),
        kind in proptest::option::of(0u8..3),
        status in proptest::option::of(0u8..4),
        labelled in any::<bool>(),
        text in proptest::option::of(prop_oneof![Just("app-1"), Just("team-b"), Just("chart"), Just("zzz"), Just("Flux-"), Just("b"), Just("-1"), Just("P-1")]),
        only in proptest::option::of(proptest::collection::btree_set(0u8..4, 0..4)),
        limit in 1usize..8,
        offset in proptest::option::of(0usize..6),
    ) {
        // Two indexes, as two adapters: HelmReleases and Kustomizations in one, releases in
        // the other.
        let flux = RowIndex::new(ClusterId::default());
        let helm = RowIndex::new(ClusterId::default());
        let mut expected_rows = BTreeMap::new();
        for (upsert, ns, name, k, st, label) in ops {
            let d = row(ns, name, k, st, label);
            let index = if d.kind == DeploymentKind::Release { &helm } else { &flux };
            let key = key_of(&d);
            if upsert {
                index.upsert(d.clone());
                expected_rows.insert(key, d);
            } else {
                index.remove(&key);
                expected_rows.remove(&key);
            }
        }
        let visible = match only {
            None => Namespaces::All,
            Some(set) => {
                let names: Vec<String> =
                    set.into_iter().map(|n| format!("team-{}", char::from(b'a' + n))).collect();
                Namespaces::only_in_default(names.iter().map(String::as_str))
            }
        };
        let mut filter = DeploymentFilter {
            namespace: namespace.map(|n| format!("team-{}", char::from(b'a' + n))),
            kind: kind.map(|k| DeploymentKind::ALL[usize::from(k)].as_str().to_lowercase()),
            status: status.map(|s| STATUSES[usize::from(s)]),
            labels: if labelled { BTreeMap::from([("tier".to_owned(), "web".to_owned())]) } else { BTreeMap::new() },
            text: text.map(str::to_owned),
            limit: Some(limit),
            offset,
            ..DeploymentFilter::default()
        };
        let expected = naive(&expected_rows, &filter, &visible);
        let mut walked = Vec::new();
        for _ in 0..=expected_rows.len() + 1 {
            let after = page::cursor(&filter).unwrap();
            let want = page::wanted(&filter).unwrap();
            let windows = [&flux, &helm].map(|index| index.window(&filter, &visible, after.as_ref(), want));
            let page = page::merge(windows.into(), &filter).unwrap();
            prop_assert_eq!(page.total, expected.len());
            prop_assert!(page.items.len() <= limit);
            walked.extend(page.items.iter().map(|d| d.id.clone()));
            match page.next {
                Some(next) => {
                    filter.after = Some(next);
                    filter.offset = None;
                }
                None => break,
            }
        }
        let skipped: Vec<String> = expected.into_iter().skip(offset.unwrap_or(0)).collect();
        prop_assert_eq!(walked, skipped);
    }
}

#[test]
fn counters_follow_changes_and_deletes() {
    let index = RowIndex::new(ClusterId::default());
    index.upsert(row(0, 1, 0, 3, false));
    index.upsert(row(0, 2, 0, 3, false));
    index.upsert(row(0, 1, 0, 2, false));
    index.remove(&key_of(&row(0, 2, 0, 0, false)));
    let counts = index.counts(&Namespaces::All);
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [(("HelmRelease".to_owned(), DeploymentStatus::Deployed), 1)]
    );
}

#[test]
fn a_page_says_since_when_its_rows_may_be_out_of_date() {
    let index = RowIndex::new(ClusterId::default());
    index.upsert(row(0, 1, 0, 2, false));
    let filter = DeploymentFilter::default();
    let page_now = |index: &RowIndex| {
        let window = index.window(
            &filter,
            &Namespaces::All,
            None,
            page::wanted(&filter).unwrap(),
        );
        page::merge(vec![window], &filter).unwrap()
    };
    assert_eq!(page_now(&index).as_of, None, "current rows carry no marker");
    index.mark_stale("HelmRelease");
    let first = index.stale_since().expect("stale");
    index.mark_stale("HelmRelease");
    assert_eq!(index.stale_since(), Some(first), "the earliest time stays");
    let page = page_now(&index);
    assert_eq!(page.items.len(), 1, "the old rows are still served");
    assert!(page.as_of.is_some_and(|at| at.ends_with('Z')));
    index.mark_current("HelmRelease");
    assert_eq!(page_now(&index).as_of, None);
}
