//! The audit row: what happened, who did it, through which channel, and its place in the chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where in an operation a row was written.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the change is attempted.
    Intent,
    /// After it, with its result.
    Outcome,
    /// A refused attempt.
    Denied,
    /// An archival step: older rows moved out, the chain continues from here.
    Checkpoint,
}

/// How the request arrived.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The browser UI.
    Ui,
    /// The REST API.
    Api,
    /// The command line.
    Cli,
    /// Pilothouse itself (bootstrap, retention).
    System,
}

/// What came of it.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Intent recorded, result not yet known.
    Pending,
    /// It worked.
    Success,
    /// It failed; `error` says why.
    Failure,
    /// It was refused by the policy.
    Denied,
}

macro_rules! str_names {
    ($ty:ty { $($variant:ident = $name:literal),* }) => {
        impl $ty {
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)* _ => None }
            }
        }
    };
}
str_names!(Phase { Intent = "intent", Outcome = "outcome", Denied = "denied", Checkpoint = "checkpoint" });
str_names!(Channel { Ui = "ui", Api = "api", Cli = "cli", System = "system" });
str_names!(Outcome { Pending = "pending", Success = "success", Failure = "failure", Denied = "denied" });

pub use model::audit::Actor;

impl From<&crate::access::Principal> for Actor {
    fn from(principal: &crate::access::Principal) -> Self {
        Self {
            issuer: principal.issuer.clone(),
            subject: principal.subject.clone(),
            email: principal.email.clone(),
        }
    }
}

/// A row to append; sequence, time and hashes are assigned by the log.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    /// Shared by an operation's intent and outcome rows.
    pub operation_id: Uuid,
    /// Where in the operation.
    pub phase: Phase,
    /// Who acted.
    pub actor: Actor,
    /// How the request arrived.
    pub channel: Channel,
    /// The request's id, for correlating with logs.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The action's dotted name.
    pub action: String,
    /// The tenant concerned.
    pub tenant: Option<String>,
    /// The cluster concerned (`default` for rows of one-cluster installations).
    #[serde(default)]
    pub cluster: model::reference::ClusterId,
    /// The namespace concerned.
    pub namespace: Option<String>,
    /// The kind of the target object.
    pub target_kind: Option<String>,
    /// The target object's name.
    pub target_name: Option<String>,
    /// The request's parameters, already redacted.
    pub parameters: serde_json::Value,
    /// What came of it.
    pub outcome: Option<Outcome>,
    /// The error, on failure or denial.
    pub error: Option<String>,
}

/// A stored row.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was written (microsecond precision, as stored).
    pub occurred_at: DateTime<Utc>,
    /// The row's contents.
    #[serde(flatten)]
    pub event: NewEvent,
    /// The previous row's hash, hex.
    pub prev_hash: String,
    /// This row's hash, hex.
    pub hash: String,
}

impl From<AuditEvent> for model::audit::AuditRow {
    /// A row as pages show it: times in UTC, the target as `namespace/name` or
    /// `tenant: name`, the actor by email when known.
    fn from(row: AuditEvent) -> Self {
        let ev = row.event;
        let target = match (&ev.namespace, &ev.target_name, &ev.tenant) {
            (Some(ns), Some(name), _) if ns != name => format!("{ns}/{name}"),
            (_, Some(name), Some(tenant)) if tenant != name => format!("{tenant}: {name}"),
            (_, Some(name), _) => name.clone(),
            (_, None, Some(tenant)) => tenant.clone(),
            _ => String::new(),
        };
        Self {
            seq: row.seq,
            time: row.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            actor: ev.actor.email.unwrap_or(ev.actor.subject),
            channel: ev.channel.as_str().into(),
            phase: ev.phase.as_str().into(),
            action: ev.action,
            target,
            outcome: ev
                .outcome
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            error: ev.error,
            operation: ev.operation_id.to_string(),
        }
    }
}
