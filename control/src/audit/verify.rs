//! Recomputing the chain and naming the first broken row.

use super::canonical::{GENESIS, row_hash};
use crate::Result;
use crate::store::audit::{self as store, Row};
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::PgPool;

/// The first row where the chain breaks, and how.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokenRow {
    /// Its sequence number.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// What `verify` found.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Rows checked before stopping (all of them when the chain is whole).
    pub checked: u64,
    /// The first row present (earlier rows were archived behind a checkpoint).
    pub first_seq: Option<i64>,
    /// The last row checked.
    pub last_seq: Option<i64>,
    /// The newest hash, hex: anchor it elsewhere to detect a rewritten tail.
    pub head_hash: Option<String>,
    /// The first broken row, if any.
    pub broken: Option<BrokenRow>,
}

impl VerifyReport {
    /// Whether every row checked out.
    pub fn is_valid(&self) -> bool {
        self.broken.is_none()
    }
}

/// Recomputes every row's hash from its contents and its predecessor's hash.
pub async fn verify(pool: &PgPool) -> Result<VerifyReport> {
    let report = verify_chain(pool).await;
    crate::metrics::audit_verify(match &report {
        Ok(report) if report.broken.is_none() => "intact",
        Ok(_) => "broken",
        Err(_) => "error",
    });
    report
}

async fn verify_chain(pool: &PgPool) -> Result<VerifyReport> {
    let first_seq = store::first_seq(pool).await?;
    let mut report = VerifyReport {
        checked: 0,
        first_seq,
        last_seq: None,
        head_hash: None,
        broken: None,
    };
    let Some(first_seq) = first_seq else {
        return Ok(report);
    };
    let mut expected_prev = match first_seq {
        1 => GENESIS.to_vec(),
        _ => match store::checkpoint_hash(pool, first_seq - 1).await? {
            Some(hash) => hash,
            None => {
                report.broken = Some(BrokenRow {
                    seq: first_seq,
                    reason: format!(
                        "rows before {first_seq} are gone and no checkpoint row records them: they were deleted, not archived"
                    ),
                });
                return Ok(report);
            }
        },
    };
    let mut expected_seq = first_seq;
    let mut rows = store::all_in_order(pool);
    while let Some(row) = rows.try_next().await? {
        let (seq, hash) = (row.seq, row.hash.clone());
        if let Some(reason) = check_row(row, expected_seq, &expected_prev) {
            report.broken = Some(BrokenRow {
                seq: expected_seq.min(seq),
                reason,
            });
            return Ok(report);
        }
        report.checked += 1;
        report.last_seq = Some(seq);
        report.head_hash = Some(hex::encode(&hash));
        expected_seq = seq + 1;
        expected_prev = hash;
    }
    Ok(report)
}

fn check_row(row: Row, expected_seq: i64, expected_prev: &[u8]) -> Option<String> {
    if row.seq != expected_seq {
        return Some(format!(
            "row {expected_seq} is missing (the next row is {})",
            row.seq
        ));
    }
    if row.prev_hash != expected_prev {
        return Some(format!(
            "its previous hash does not match row {}'s hash",
            row.seq - 1
        ));
    }
    let (seq, occurred_at, prev) = (row.seq, row.occurred_at, row.prev_hash.clone());
    let stored_hash = row.hash.clone();
    let event = match row.into_event() {
        Ok(event) => event,
        Err(reason) => return Some(format!("unreadable: {reason}")),
    };
    if row_hash(&prev, seq, occurred_at, &event.event).as_slice() != stored_hash.as_slice() {
        return Some(
            "its contents do not match its hash: it was changed after it was written".into(),
        );
    }
    None
}
