//! The audit log as pages show it.

use serde::{Deserialize, Serialize};

/// What the audit page searches for; every field is optional and comes from the URL.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AuditSearch {
    /// Free text over action, target, actor, error and parameters.
    pub text: Option<String>,
    /// `success`, `failure`, `denied` or `pending`.
    pub outcome: Option<String>,
    /// The action's dotted name.
    pub action: Option<String>,
    /// Only rows older than this sequence number (the next page).
    pub before: Option<i64>,
}

/// One row of the audit table.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    /// Position in the chain.
    pub seq: i64,
    /// RFC 3339 time.
    pub time: String,
    /// Email or subject of who acted.
    pub actor: String,
    /// ui, api, cli or system.
    pub channel: String,
    /// intent, outcome, denied or checkpoint.
    pub phase: String,
    /// The action's dotted name.
    pub action: String,
    /// `namespace/name` or the tenant, whichever applies.
    pub target: String,
    /// The outcome, if known.
    pub outcome: String,
    /// The error, on failure or denial.
    pub error: Option<String>,
    /// The operation the row belongs to (an intent and its outcome share it).
    #[serde(default)]
    pub operation: String,
}

/// One page of rows, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRows {
    /// The rows.
    pub rows: Vec<AuditRow>,
    /// The cursor for older rows, when there are more.
    pub next_before: Option<i64>,
}

/// Who acted.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// OIDC issuer.
    pub issuer: String,
    /// OIDC subject.
    pub subject: String,
    /// Email claim, when known.
    pub email: Option<String>,
}
