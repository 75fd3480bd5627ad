//! Searching the log: filters, the caller's visibility, newest first, keyset pagination.

use super::chain::{COLUMNS, Row};
use super::event::{AuditEvent, Outcome};
use crate::access::{AuditScope, Visible};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};

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
    /// Page size, at most 500.
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
    let mut qb =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM audit_log WHERE true"));
    push_conditions(&mut qb, scope.tenants(), filter);
    qb.push(" ORDER BY seq DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
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

fn push_conditions(qb: &mut QueryBuilder<'_, Postgres>, tenants: &Visible, filter: &AuditFilter) {
    if let Visible::Only(tenants) = tenants {
        let tenants: Vec<String> = tenants.iter().cloned().collect();
        qb.push(" AND tenant = ANY(").push_bind(tenants).push(")");
    }
    if let Some(from) = filter.from {
        qb.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        qb.push(" AND occurred_at < ").push_bind(to);
    }
    if let Some(actor) = &filter.actor {
        qb.push(" AND (actor_subject = ").push_bind(actor.clone());
        qb.push(" OR actor_email = ")
            .push_bind(actor.clone())
            .push(")");
    }
    for (column, value) in [
        ("tenant", &filter.tenant),
        ("namespace", &filter.namespace),
        ("action", &filter.action),
        ("target_name", &filter.target),
    ] {
        if let Some(value) = value {
            qb.push(format_args!(" AND {column} = "))
                .push_bind(value.clone());
        }
    }
    if let Some(outcome) = filter.outcome {
        qb.push(" AND outcome = ").push_bind(outcome.as_str());
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = format!("%{}%", escape_like(text.trim()));
        qb.push(" AND (");
        let columns = [
            "action",
            "target_name",
            "actor_subject",
            "actor_email",
            "error",
            "parameters::text",
        ];
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push(format_args!("{column} ILIKE "))
                .push_bind(pattern.clone());
        }
        qb.push(")");
    }
    if let Some(before) = filter.before {
        qb.push(" AND seq < ").push_bind(before);
    }
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("100%_done\\"), "100\\%\\_done\\\\");
    }
}
