//! A deployment's timeline: its revisions, the operations people ran on it (from the audit
//! log) and each reconcile's outcome (from its events), newest first.

use serde::{Deserialize, Serialize};

/// What kind of moment an entry is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Moment {
    /// A revision was deployed.
    Revision,
    /// Someone ran an operation (an audit row).
    Change,
    /// The controller reported an outcome.
    Reconcile,
}

/// One entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    /// RFC 3339 time.
    pub at: String,
    /// Revision, change or reconcile.
    pub moment: Moment,
    /// What happened, in a few words.
    pub title: String,
    /// Who did it, for changes.
    pub who: Option<String>,
    /// `success`, `failure`, `denied`, a revision's status, or an event's type.
    pub outcome: String,
    /// More about it (an error, an event's message).
    pub detail: String,
}
