//! Filtering and paging a list of deployments, the same for every adapter: status and free
//! text, sorted by cluster, namespace, name and kind, one page (after a cursor, or at an
//! offset) with the total.

use super::rows::{RowKey, Window, key_of, key_of_ref};
use crate::{Error, Result};
use model::deployment::{Deployment, DeploymentFilter, DeploymentPage};
use model::reference::DeploymentRef;
use std::sync::Arc;

/// The default and the largest page size.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: usize = 500;

/// The page size a filter asks for, or why it is refused.
pub fn limit(filter: &DeploymentFilter) -> Result<usize> {
    match filter.limit {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(Error::invalid("limit", "must be at least 1")),
        Some(n) if n > MAX_LIMIT => Err(Error::invalid(
            "limit",
            format!("must be at most {MAX_LIMIT}"),
        )),
        Some(n) => Ok(n),
    }
}

/// Whether a deployment passes the filter's namespace, kind and label conditions (the ones
/// an adapter can check before building the row).
pub fn admits(
    filter: &DeploymentFilter,
    namespace: &str,
    kind: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    filter.namespace.as_deref().is_none_or(|ns| ns == namespace)
        && filter
            .kind
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case(kind))
        && filter.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Applies the status and text conditions, sorts, and cuts the page after the cursor (and
/// offset). Only the rows of the page are copied out of the cache.
pub fn select(
    candidates: Vec<Arc<Deployment>>,
    filter: &DeploymentFilter,
) -> Result<DeploymentPage> {
    let limit = limit(filter)?;
    let after = filter
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| a.parse::<DeploymentRef>().map(|r| key_of_ref(&r)))
        .transpose()?;
    let text = filter
        .text
        .as_deref()
        .map(str::to_lowercase)
        .filter(|t| !t.trim().is_empty());
    let mut matching: Vec<(RowKey, Arc<Deployment>)> = candidates
        .into_iter()
        .filter(|d| filter.status.is_none_or(|s| d.state.status == s))
        .filter(|d| text.as_deref().is_none_or(|t| matches_text(d, t)))
        .map(|d| (key_of(&d), d))
        .collect();
    // Each adapter hands over its rows already in order, so this mostly merges runs.
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let total = matching.len();
    let start = match &after {
        Some(cursor) => matching.partition_point(|(key, _)| key <= cursor),
        None => 0,
    };
    let mut rest = matching[start..].iter().skip(filter.offset.unwrap_or(0));
    let items: Vec<Deployment> = rest
        .by_ref()
        .take(limit)
        .map(|(_, d)| Deployment::clone(d))
        .collect();
    let next = match (rest.next(), items.last()) {
        (Some(_), Some(last)) => Some(last.id.clone()),
        _ => None,
    };
    Ok(DeploymentPage {
        items,
        total,
        next,
        as_of: None,
    })
}

fn matches_text(deployment: &Deployment, text: &str) -> bool {
    [
        Some(&deployment.name),
        Some(&deployment.namespace),
        deployment.chart.as_ref(),
        deployment.source.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|field| field.to_lowercase().contains(text))
}

/// The row key a filter's `after` cursor names.
pub fn cursor(filter: &DeploymentFilter) -> Result<Option<RowKey>> {
    Ok(filter
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| a.parse::<DeploymentRef>().map(|r| key_of_ref(&r)))
        .transpose()?)
}

/// How many rows each adapter hands over for one page: the offset, the page, and one more
/// to tell whether there is a next page.
pub fn wanted(filter: &DeploymentFilter) -> Result<usize> {
    Ok(filter
        .offset
        .unwrap_or(0)
        .saturating_add(limit(filter)?)
        .saturating_add(1))
}

/// The page made of the adapters' windows: merged in list order, the offset skipped, cut to
/// the limit, with the sum of their totals.
pub fn merge(windows: Vec<Window>, filter: &DeploymentFilter) -> Result<DeploymentPage> {
    let limit = limit(filter)?;
    let total = windows.iter().map(|w| w.total).sum();
    let as_of = windows
        .iter()
        .filter_map(|w| w.stale_since)
        .min()
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let mut rows: Vec<(RowKey, Arc<Deployment>)> = windows
        .into_iter()
        .flat_map(|w| w.rows)
        .map(|d| (key_of(&d), d))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rest = rows.into_iter().skip(filter.offset.unwrap_or(0));
    let items: Vec<Deployment> = rest
        .by_ref()
        .take(limit)
        .map(|(_, d)| Deployment::clone(&d))
        .collect();
    let next = match (rest.next(), items.last()) {
        (Some(_), Some(last)) => Some(last.id.clone()),
        _ => None,
    };
    Ok(DeploymentPage {
        items,
        total,
        next,
        as_of,
    })
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
