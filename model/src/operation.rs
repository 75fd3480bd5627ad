//! Tracked operations: a long change answers at once with an operation id, and its state,
//! steps and result are read (or followed live) from `/o2dms/v1/operations/{id}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where an operation is in its life.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationState {
    /// Accepted, not started yet.
    Queued,
    /// Running now.
    Running,
    /// Finished as asked.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped on request.
    Cancelled,
    /// The server that ran it stopped before it finished.
    Interrupted,
}

impl OperationState {
    /// The state's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// The state stored as `text` (the executor's older `pending` is queued).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" | "pending" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            _ => return None,
        })
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// One step an operation reported.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStep {
    /// When (RFC 3339).
    pub at: String,
    /// 0–100.
    pub percent: u8,
    /// What was happening, such as "waiting for Deployment team-b/web".
    pub step: String,
}

/// A tracked operation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Its id, which is also the audit operation id of its intent and outcome rows.
    pub id: String,
    /// The audited action, such as `deployment.create`.
    pub action: String,
    /// Where it acts.
    pub namespace: String,
    /// The kind of object it acts on.
    pub kind: Option<String>,
    /// The object's name.
    pub name: Option<String>,
    /// The deployment's id, when it acts on one (for a link once it exists).
    pub deployment: Option<String>,
    /// Where it is.
    pub state: OperationState,
    /// The steps it reported, oldest first.
    pub steps: Vec<OperationStep>,
    /// What it produced, once it succeeded.
    pub result: Option<Value>,
    /// What went wrong and what to do, once it failed, was cancelled or interrupted.
    pub error: Option<String>,
    /// Who asked (their subject).
    pub requested_by: String,
    /// When it was asked for (RFC 3339).
    pub created_at: String,
    /// When it ended (RFC 3339).
    pub finished_at: Option<String>,
}

/// The answer to a change that runs as a tracked operation: `202 Accepted`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The operation's id.
    pub operation_id: String,
    /// Where to read it: `/o2dms/v1/operations/{id}`.
    pub location: String,
    /// Its state when the answer was sent.
    pub state: OperationState,
}

/// The path of an operation's resource.
pub fn operation_path(id: &str) -> String {
    format!("/o2dms/v1/operations/{id}")
}

/// How a change was answered: done within the caller's wait, or running on as the tracked
/// operation with this id (to follow at `/o2dms/v1/operations/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Answered<T> {
    /// It ended: its outcome.
    Done(T),
    /// It runs on as this operation.
    Running(String),
}

impl<T> Answered<T> {
    /// The outcome turned by `f` (which may refuse it); a running operation stays one.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Answered<U>, E> {
        Ok(match self {
            Self::Done(outcome) => Answered::Done(f(outcome)?),
            Self::Running(id) => Answered::Running(id),
        })
    }

    /// The outcome turned by `f`; a running operation stays one.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answered<U> {
        match self {
            Self::Done(outcome) => Answered::Done(f(outcome)),
            Self::Running(id) => Answered::Running(id),
        }
    }
}
