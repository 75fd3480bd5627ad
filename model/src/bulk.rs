//! Bulk actions on the deployments list: one action for many rows, each its own audited
//! operation with its own result.

use serde::{Deserialize, Serialize};

/// The most rows one bulk request may name (a full page of the list, with room).
pub const MAX_BULK: usize = 100;

/// What to do to every selected row.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum BulkAction {
    /// Ask Flux to reconcile now (without waiting for the outcome).
    Reconcile,
    /// Suspend reconciliation, with the reason shown while suspended.
    Suspend {
        /// Why; shown on the list and the deployment page.
        reason: Option<String>,
    },
    /// Resume reconciliation.
    Resume,
}

impl BulkAction {
    /// The verb, for confirmations and results.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Reconcile => "reconcile",
            Self::Suspend { .. } => "suspend",
            Self::Resume => "resume",
        }
    }
}

/// How one row's action ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BulkOutcome {
    /// The change was made.
    Done,
    /// Policy or the API server refused it; nothing changed.
    Refused,
    /// It was allowed but did not succeed.
    Failed,
}

impl BulkOutcome {
    /// The outcome in one word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// One row's result.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    /// The deployment's id, as given.
    pub id: String,
    /// Done, refused or failed.
    pub outcome: BulkOutcome,
    /// What happened, or why not and what to do.
    pub message: String,
}
