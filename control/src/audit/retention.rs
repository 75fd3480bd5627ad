//! Retention without silent deletion: old rows are written to an archive, a checkpoint row
//! recording the last archived row's hash is appended, and only then are the rows removed, all
//! in one transaction. `verify` continues the chain from the checkpoint.

use super::chain::append_in;
use super::event::{NewEvent, Outcome, Phase};
use crate::store::audit as store;
use crate::{Error, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// What an archival did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveReport {
    /// Rows moved to the archive.
    pub archived_rows: u64,
    /// The last archived row, if any.
    pub through_seq: Option<i64>,
    /// SHA-256 of the archive's bytes, hex, as recorded in the checkpoint.
    pub archive_sha256: String,
    /// The checkpoint row appended, if any.
    pub checkpoint_seq: Option<i64>,
}

/// Moves every row older than `cutoff` to `out` as JSON Lines, behind a checkpoint row made from
/// `checkpoint` (its phase, parameters and outcome are filled in here). If anything fails,
/// nothing is removed.
pub async fn archive<W: AsyncWrite + Unpin>(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    out: &mut W,
    mut checkpoint: NewEvent,
) -> Result<ArchiveReport> {
    let mut tx = pool.begin().await?;
    store::lock_chain(&mut tx).await?;
    let through = store::last_before(&mut tx, cutoff).await?;
    let Some(through) = through else {
        return Ok(ArchiveReport {
            archived_rows: 0,
            through_seq: None,
            archive_sha256: hex::encode(Sha256::digest(b"")),
            checkpoint_seq: None,
        });
    };

    let mut digest = Sha256::new();
    let mut archived_rows = 0_u64;
    let mut through_hash = Vec::new();
    {
        let mut rows = store::through_in_order(&mut tx, through);
        while let Some(row) = rows.try_next().await? {
            through_hash.clone_from(&row.hash);
            let seq = row.seq;
            let event = row.into_event().map_err(|reason| {
                Error::Conflict(format!(
                    "audit row {seq} cannot be read ({reason}); run audit verify first"
                ))
            })?;
            let mut line = serde_json::to_vec(&event).unwrap_or_default();
            line.push(b'\n');
            digest.update(&line);
            out.write_all(&line).await.map_err(|source| Error::Write {
                what: "the audit archive",
                source,
            })?;
            archived_rows += 1;
        }
    }
    out.flush().await.map_err(|source| Error::Write {
        what: "the audit archive",
        source,
    })?;
    let archive_sha256 = hex::encode(digest.finalize());

    checkpoint.phase = Phase::Checkpoint;
    checkpoint.outcome = Some(Outcome::Success);
    checkpoint.parameters = json!({
        "throughSeq": through,
        "throughHash": hex::encode(&through_hash),
        "archivedRows": archived_rows,
        "archiveSha256": archive_sha256,
        "cutoff": cutoff.to_rfc3339_opts(SecondsFormat::Micros, true),
    });
    let stored = append_in(&mut tx, checkpoint).await?;

    store::delete_through(&mut tx, through).await?;
    tx.commit().await?;
    Ok(ArchiveReport {
        archived_rows,
        through_seq: Some(through),
        archive_sha256,
        checkpoint_seq: Some(stored.seq),
    })
}
