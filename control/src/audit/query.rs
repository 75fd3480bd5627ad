//! Searching the log: filters, the caller's visibility, newest first, keyset pagination.

use super::event::{AuditEvent, Outcome};
use crate::access::AuditScope;
use crate::store::audit as store;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// The default and the largest page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 500;

/// What to look for; every field narrows the search.
#[derive(utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AuditFilter {
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
    /// The actor's subject or email.
    pub actor: Option<String>,
    /// The tenant.
    pub tenant: Option<String>,
    /// The namespace.
    pub namespace: Option<String>,
    /// The action's dotted name.
    pub action: Option<String>,
    /// The outcome.
    pub outcome: Option<Outcome>,
    /// The target's name.
    pub target: Option<String>,
    /// Free text, matched case-insensitively against action, target, actor, error and parameters.
    pub text: Option<String>,
    /// Keyset cursor: only rows older than this sequence number (from the previous page).
    pub before: Option<i64>,
    /// Page size: 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    #[schema(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// One page of results, newest first.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    /// The rows.
    pub events: Vec<AuditEvent>,
    /// The cursor for the next page, when there is one.
    pub next_before: Option<i64>,
}

/// Runs a search limited to what `scope` may see.
pub async fn query(pool: &PgPool, scope: &AuditScope, filter: &AuditFilter) -> Result<AuditPage> {
    let limit = match filter.limit {
        None => DEFAULT_LIMIT,
        Some(0) => return Err(Error::invalid("limit", "must be at least 1")),
        Some(n) if n > MAX_LIMIT => {
            return Err(Error::invalid(
                "limit",
                format!("must be at most {MAX_LIMIT}"),
            ));
        }
        Some(n) => n,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(Error::invalid("from", "must be earlier than `to`"));
    }
    let search = store::Search {
        tenants: scope.tenants(),
        from: filter.from,
        to: filter.to,
        actor: filter.actor.as_deref(),
        tenant: filter.tenant.as_deref(),
        namespace: filter.namespace.as_deref(),
        action: filter.action.as_deref(),
        target: filter.target.as_deref(),
        outcome: filter.outcome,
        text: filter.text.as_deref(),
        before: filter.before,
        // One more than a page, to know whether another page follows.
        limit: i64::from(limit) + 1,
    };
    let rows = store::search(pool, &search).await?;
    let more = rows.len() > limit as usize;
    let mut events = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.into_iter().take(limit as usize) {
        let seq = row.seq;
        events.push(row.into_event().map_err(|reason| {
            Error::Conflict(format!(
                "audit row {seq} cannot be read ({reason}); run audit verify"
            ))
        })?);
    }
    let next_before = if more {
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(AuditPage {
        events,
        next_before,
    })
}
