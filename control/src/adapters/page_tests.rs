//! Paging by cursor against a naive filter of the same rows.

use super::*;
use model::deployment::{DeploymentState, DeploymentStatus};
use model::reference::{ClusterId, DeploymentKind};
use proptest::prelude::*;
use std::collections::BTreeMap;

const STATUSES: [DeploymentStatus; 4] = [
    DeploymentStatus::Pending,
    DeploymentStatus::Deploying,
    DeploymentStatus::Deployed,
    DeploymentStatus::Failed,
];

fn row(namespace: u8, name: u8, kind: u8, status: u8) -> Deployment {
    let kind = DeploymentKind::ALL[usize::from(kind) % 3];
    let reference = DeploymentRef {
        cluster: ClusterId::default(),
        namespace: format!("team-{}", char::from(b'a' + namespace % 3)),
        kind,
        name: format!("app-{name}"),
    };
    Deployment {
        id: reference.to_string(),
        cluster: reference.cluster.clone(),
        name: reference.name.clone(),
        namespace: reference.namespace.clone(),
        kind,
        labels: BTreeMap::new(),
        state: DeploymentState {
            status: STATUSES[usize::from(status) % 4],
            suspended: false,
            progress: 0,
            message: String::new(),
            conditions: Vec::new(),
        },
        revision: None,
        chart: name.is_multiple_of(2).then(|| format!("chart-{name}")),
        source: None,
        resource_version: None,
        adapter: "flux".into(),
    }
}

/// What a page walk must return: the rows that pass, in list order.
fn naive(rows: &[Deployment], filter: &DeploymentFilter) -> Vec<String> {
    let text = filter.text.clone().map(|t| t.to_lowercase());
    let mut kept: Vec<&Deployment> = rows
        .iter()
        .filter(|d| filter.status.is_none_or(|s| d.state.status == s))
        .filter(|d| {
            text.as_deref().is_none_or(|t| {
                d.name.contains(t)
                    || d.namespace.contains(t)
                    || d.chart.as_deref().is_some_and(|c| c.contains(t))
            })
        })
        .collect();
    kept.sort_by_key(|d| {
        (
            d.cluster.clone(),
            d.namespace.clone(),
            d.name.clone(),
            d.kind,
        )
    });
    kept.into_iter().map(|d| d.id.clone()).collect()
}

proptest! {
    #[test]
    fn walking_pages_by_cursor_returns_every_match_once_in_order(
        spec in proptest::collection::vec((0u8..3, 0u8..12, 0u8..3, 0u8..4), 0..60),
        status in proptest::option::of(0u8..4),
        text in proptest::option::of(prop_oneof![Just("app-1"), Just("team-b"), Just("chart"), Just("zzz")]),
        limit in 1usize..7,
    ) {
        let mut unique = BTreeMap::new();
        for (ns, name, kind, st) in spec {
            let d = row(ns, name, kind, st);
            unique.insert(d.id.clone(), d);
        }
        let rows: Vec<Deployment> = unique.into_values().collect();
        let mut filter = DeploymentFilter {
            status: status.map(|s| STATUSES[usize::from(s)]),
            text: text.map(str::to_owned),
            limit: Some(limit),
            ..DeploymentFilter::default()
        };
        let expected = naive(&rows, &filter);
        let mut walked = Vec::new();
        for _ in 0..=rows.len() {
            let candidates: Vec<Arc<Deployment>> = rows.iter().cloned().map(Arc::new).collect();
            let page = select(candidates, &filter).unwrap();
            prop_assert_eq!(page.total, expected.len());
            prop_assert!(page.items.len() <= limit);
            walked.extend(page.items.iter().map(|d| d.id.clone()));
            match page.next {
                Some(next) => filter.after = Some(next),
                None => break,
            }
        }
        prop_assert_eq!(walked, expected);
    }

    #[test]
    fn an_offset_page_is_the_same_slice_of_the_naive_list(
        spec in proptest::collection::vec((0u8..3, 0u8..12, 0u8..3, 0u8..4), 0..40),
        offset in 0usize..45,
        limit in 1usize..10,
    ) {
        let rows: Vec<Deployment> = spec.into_iter().map(|(a, b, c, d)| row(a, b, c, d)).collect();
        let mut unique = BTreeMap::new();
        for d in rows {
            unique.insert(d.id.clone(), d);
        }
        let rows: Vec<Deployment> = unique.into_values().collect();
        let filter = DeploymentFilter {
            offset: Some(offset),
            limit: Some(limit),
            ..DeploymentFilter::default()
        };
        let expected: Vec<String> = naive(&rows, &filter).into_iter().skip(offset).take(limit).collect();
        let page = select(rows.into_iter().map(Arc::new).collect(), &filter).unwrap();
        let got: Vec<String> = page.items.iter().map(|d| d.id.clone()).collect();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn a_malformed_cursor_is_a_bad_request() {
    let filter = DeploymentFilter {
        after: Some("team-a/web".into()),
        ..DeploymentFilter::default()
    };
    let error = select(Vec::new(), &filter).unwrap_err();
    assert_eq!(error.status(), 400, "{error}");
}
