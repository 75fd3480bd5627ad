//! Paging the same for every adapter: the page size, the cursor, and one page (after the
//! cursor, or at an offset) merged in list order from the adapters' windows.

use super::rows::{RowKey, Window, key_of, key_of_ref};
use crate::{Error, Result};
use model::deployment::{Deployment, DeploymentFilter, DeploymentPage};
use model::reference::DeploymentRef;
use std::sync::Arc;

/// The default and the largest page size.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: usize = 1000;

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
