//! Appending to the chain: redaction, the link to the previous row, and its hash.

use super::canonical::{GENESIS, row_hash, stored_time};
use super::event::{AuditEvent, NewEvent, Outcome};
use super::redact::{bounded, redact, redact_text, storable};
use crate::Result;
use crate::store::audit as store;
use chrono::Utc;
use sqlx::{PgConnection, PgPool};

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
    storable(&mut event);
    store::lock_chain(conn).await?;
    let (seq, prev_hash) = match store::head(conn).await? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    // Taken under the lock, so times follow the sequence.
    let occurred_at = stored_time(Utc::now());
    let hash = row_hash(&prev_hash, seq, occurred_at, &event);
    let link = store::Link {
        seq,
        occurred_at,
        prev_hash: &prev_hash,
        hash: hash.as_slice(),
    };
    store::insert(conn, link, &event).await?;
    Ok(AuditEvent {
        seq,
        occurred_at,
        event,
        prev_hash: hex::encode(prev_hash),
        hash: hex::encode(hash),
    })
}
