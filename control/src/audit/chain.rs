//! Appending to the chain, and reading rows back as events.

use super::CHAIN_LOCK;
use super::canonical::{GENESIS, row_hash, stored_time};
use super::event::{Actor, AuditEvent, Channel, NewEvent, Outcome, Phase};
use super::redact::{bounded, redact, redact_text};
use crate::Result;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The audit log in Postgres.
#[derive(Debug, Clone)]
pub struct AuditLog {
    pool: PgPool,
}

impl AuditLog {
    /// The log stored in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool it writes to.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Appends one row in its own transaction and returns it as stored.
    pub async fn append(&self, event: NewEvent) -> Result<AuditEvent> {
        let started = std::time::Instant::now();
        let stored = async {
            let mut tx = self.pool.begin().await?;
            let stored = append_in(&mut tx, event).await?;
            tx.commit().await?;
            Ok(stored)
        }
        .await;
        crate::metrics::audit_append(crate::metrics::outcome(&stored), started.elapsed());
        stored
    }
}

/// Appends one row inside the caller's transaction, after taking the chain lock. Secrets in
/// the parameters are redacted here, so no path can store them.
pub(crate) async fn append_in(conn: &mut PgConnection, mut event: NewEvent) -> Result<AuditEvent> {
    redact(&mut event.parameters);
    event.error = event.error.as_deref().map(redact_text);
    if event.outcome == Some(Outcome::Denied) {
        event.parameters = bounded(std::mem::take(&mut event.parameters));
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CHAIN_LOCK)
        .execute(&mut *conn)
        .await?;
    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    // Taken under the lock, so times follow the sequence.
    let occurred_at = stored_time(Utc::now());
    let hash = row_hash(&prev_hash, seq, occurred_at, &event);
    sqlx::query(
        "INSERT INTO audit_log (seq, occurred_at, operation_id, phase, actor_issuer, actor_subject, \
         actor_email, channel, request_id, client_addr, action, tenant, namespace, target_kind, \
         target_name, parameters, outcome, error, prev_hash, hash, cluster) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(seq)
    .bind(occurred_at)
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
    .bind(&prev_hash)
    .bind(hash.as_slice())
    .bind(event.cluster.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(AuditEvent {
        seq,
        occurred_at,
        event,
        prev_hash: hex::encode(prev_hash),
        hash: hex::encode(hash),
    })
}

/// Every column of `audit_log`, in the order `Row` reads them.
pub(crate) const COLUMNS: &str = "seq, occurred_at, operation_id, phase, actor_issuer, actor_subject, \
    actor_email, channel, request_id, client_addr, action, tenant, namespace, target_kind, target_name, \
    parameters, outcome, error, prev_hash, hash, cluster";

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
