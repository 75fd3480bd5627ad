//! Table `audit_log`: the chain lock, the head, inserts, searches, ordered reads for
//! verification and archival, and the delete behind a checkpoint. What goes into a row (its
//! redaction and its hash) is decided in `crate::audit`; this module only stores and reads.

use crate::Result;
use crate::access::Visible;
use crate::audit::event::{Actor, AuditEvent, Channel, NewEvent, Outcome, Phase};
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

/// Serialises writers: every append and archival holds this transaction-scoped advisory lock
/// while it reads the chain head and inserts, so concurrent writers still form one chain.
const CHAIN_LOCK: i64 = 0x5049_4c4f_5448_4f55; // "PILOTHOU"

/// Every column of `audit_log`, in the order `Row` reads them; a macro so that whole
/// statements can be `'static` strings for the streaming reads.
macro_rules! columns {
    () => {
        "seq, occurred_at, operation_id, phase, actor_issuer, actor_subject, actor_email, channel, \
         request_id, client_addr, action, tenant, namespace, target_kind, target_name, parameters, \
         outcome, error, prev_hash, hash, cluster"
    };
}

/// A row as Postgres returns it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Row {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub operation_id: Uuid,
    pub phase: String,
    pub actor_issuer: String,
    pub actor_subject: String,
    pub actor_email: Option<String>,
    pub channel: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub action: String,
    pub tenant: Option<String>,
    pub namespace: Option<String>,
    pub target_kind: Option<String>,
    pub target_name: Option<String>,
    pub parameters: serde_json::Value,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub cluster: String,
}

impl Row {
    /// The row as an event; names the column when a stored value is not one we write.
    pub fn into_event(self) -> std::result::Result<AuditEvent, String> {
        let phase =
            Phase::parse(&self.phase).ok_or_else(|| format!("unknown phase {:?}", self.phase))?;
        let channel = Channel::parse(&self.channel)
            .ok_or_else(|| format!("unknown channel {:?}", self.channel))?;
        let cluster = model::reference::ClusterId::new(self.cluster.clone())
            .map_err(|e| format!("cluster: {e}"))?;
        let outcome = match &self.outcome {
            Some(o) => Some(Outcome::parse(o).ok_or_else(|| format!("unknown outcome {o:?}"))?),
            None => None,
        };
        Ok(AuditEvent {
            seq: self.seq,
            occurred_at: self.occurred_at,
            event: NewEvent {
                operation_id: self.operation_id,
                phase,
                actor: Actor {
                    issuer: self.actor_issuer,
                    subject: self.actor_subject,
                    email: self.actor_email,
                },
                channel,
                request_id: self.request_id,
                client_addr: self.client_addr,
                action: self.action,
                tenant: self.tenant,
                cluster,
                namespace: self.namespace,
                target_kind: self.target_kind,
                target_name: self.target_name,
                parameters: self.parameters,
                outcome,
                error: self.error,
            },
            prev_hash: hex::encode(self.prev_hash),
            hash: hex::encode(self.hash),
        })
    }
}

/// Takes the chain lock for the rest of the caller's transaction.
pub(crate) async fn lock_chain(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CHAIN_LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The newest row's sequence number and hash; `None` on an empty log.
pub(crate) async fn head(conn: &mut PgConnection) -> Result<Option<(i64, Vec<u8>)>> {
    Ok(
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Where a new row sits in the chain.
pub(crate) struct Link<'a> {
    /// Its sequence number.
    pub seq: i64,
    /// Its time, as it enters the hash.
    pub occurred_at: DateTime<Utc>,
    /// The previous row's hash.
    pub prev_hash: &'a [u8],
    /// Its own hash.
    pub hash: &'a [u8],
}

/// Inserts `event` (already redacted) at `link`; the caller holds the chain lock.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    link: Link<'_>,
    event: &NewEvent,
) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO audit_log (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    ))
    .bind(link.seq)
    .bind(link.occurred_at)
    .bind(event.operation_id)
    .bind(event.phase.as_str())
    .bind(&event.actor.issuer)
    .bind(&event.actor.subject)
    .bind(&event.actor.email)
    .bind(event.channel.as_str())
    .bind(&event.request_id)
    .bind(&event.client_addr)
    .bind(&event.action)
    .bind(&event.tenant)
    .bind(&event.namespace)
    .bind(&event.target_kind)
    .bind(&event.target_name)
    .bind(&event.parameters)
    .bind(event.outcome.map(Outcome::as_str))
    .bind(&event.error)
    .bind(link.prev_hash)
    .bind(link.hash)
    .bind(event.cluster.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a search narrows to; every field is optional.
pub(crate) struct Search<'a> {
    /// Only rows of these tenants, unless every row is visible.
    pub tenants: &'a Visible,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
    /// The actor's subject or email.
    pub actor: Option<&'a str>,
    /// Exact matches on these columns.
    pub tenant: Option<&'a str>,
    /// The namespace.
    pub namespace: Option<&'a str>,
    /// The action's dotted name.
    pub action: Option<&'a str>,
    /// The target's name.
    pub target: Option<&'a str>,
    /// The outcome.
    pub outcome: Option<Outcome>,
    /// Free text, matched case-insensitively against several columns.
    pub text: Option<&'a str>,
    /// Only rows older than this sequence number.
    pub before: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
}

/// Rows matching `search`, newest first.
pub(crate) async fn search(pool: &PgPool, search: &Search<'_>) -> Result<Vec<Row>> {
    let mut qb =
        QueryBuilder::<Postgres>::new(concat!("SELECT ", columns!(), " FROM audit_log WHERE true"));
    if let Visible::Only(tenants) = search.tenants {
        let tenants: Vec<String> = tenants.iter().cloned().collect();
        qb.push(" AND tenant = ANY(").push_bind(tenants).push(")");
    }
    if let Some(from) = search.from {
        qb.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = search.to {
        qb.push(" AND occurred_at < ").push_bind(to);
    }
    if let Some(actor) = search.actor {
        qb.push(" AND (actor_subject = ")
            .push_bind(actor.to_owned());
        qb.push(" OR actor_email = ")
            .push_bind(actor.to_owned())
            .push(")");
    }
    for (column, value) in [
        ("tenant", search.tenant),
        ("namespace", search.namespace),
        ("action", search.action),
        ("target_name", search.target),
    ] {
        if let Some(value) = value {
            qb.push(format_args!(" AND {column} = "))
                .push_bind(value.to_owned());
        }
    }
    if let Some(outcome) = search.outcome {
        qb.push(" AND outcome = ").push_bind(outcome.as_str());
    }
    if let Some(text) = search.text.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(text));
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
    if let Some(before) = search.before {
        qb.push(" AND seq < ").push_bind(before);
    }
    qb.push(" ORDER BY seq DESC LIMIT ").push_bind(search.limit);
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The oldest row still present.
pub(crate) async fn first_seq(pool: &PgPool) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT min(seq) FROM audit_log")
        .fetch_one(pool)
        .await?)
}

/// Every row, oldest first, fetched as the stream is read.
pub(crate) fn all_in_order(pool: &PgPool) -> BoxStream<'_, sqlx::Result<Row>> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM audit_log ORDER BY seq"
    ))
    .fetch(pool)
}

/// The hash of row `through` as recorded by the checkpoint that archived it.
pub(crate) async fn checkpoint_hash(pool: &PgPool, through: i64) -> Result<Option<Vec<u8>>> {
    let hash: Option<String> = sqlx::query_scalar(
        "SELECT parameters->>'throughHash' FROM audit_log \
         WHERE phase = 'checkpoint' AND (parameters->>'throughSeq')::bigint = $1 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(through)
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(hash.and_then(|h| hex::decode(h).ok()))
}

/// The newest row older than `cutoff`.
pub(crate) async fn last_before(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT max(seq) FROM audit_log WHERE occurred_at < $1")
            .bind(cutoff)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Rows up to and including `through`, oldest first, fetched as the stream is read.
pub(crate) fn through_in_order(
    conn: &mut PgConnection,
    through: i64,
) -> BoxStream<'_, sqlx::Result<Row>> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM audit_log WHERE seq <= $1 ORDER BY seq"
    ))
    .bind(through)
    .fetch(conn)
}

/// Deletes rows up to and including `through`. The database refuses deletes unless this
/// transaction first names how far an archival reaches (migration trigger), so nothing else
/// can remove rows.
pub(crate) async fn delete_through(conn: &mut PgConnection, through: i64) -> Result<()> {
    sqlx::query("SELECT set_config('pilothouse.audit_archive_through', $1, true)")
        .bind(through.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
        .bind(through)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("100%_done\\"), "100\\%\\_done\\\\");
    }
}
