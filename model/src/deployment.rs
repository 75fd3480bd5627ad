//! Deployments as every surface shows them, whichever adapter (Flux or Helm) runs them.

use crate::reference::{ClusterId, DeploymentKind, DeploymentRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A deployment's state (DESIGN.md, "Status mapping").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    /// Nothing reported yet.
    Pending,
    /// Being applied or reconciled.
    Deploying,
    /// Applied and ready.
    Deployed,
    /// The last attempt failed.
    Failed,
}

impl DeploymentStatus {
    /// The wire name, also used in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Deploying => "deploying",
            Self::Deployed => "deployed",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for DeploymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Kubernetes-style condition as the controller reported it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Ready, Reconciling, Stalled, …
    #[serde(rename = "type")]
    pub kind: String,
    /// True, False or Unknown.
    pub status: String,
    /// A CamelCase reason.
    pub reason: String,
    /// The controller's message.
    pub message: String,
    /// When the status last changed.
    pub last_transition_time: Option<String>,
}

/// Where a deployment stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentState {
    /// The mapped status.
    pub status: DeploymentStatus,
    /// Reconciliation is suspended (the status is the state it was left in).
    pub suspended: bool,
    /// 0–100.
    pub progress: u8,
    /// The Ready condition's message, or why there is none.
    pub message: String,
    /// Every condition, as reported.
    pub conditions: Vec<Condition>,
    /// Why it was suspended, when whoever suspended it said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend_reason: Option<String>,
}

/// One deployment in a list or on its page.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Its stable id (the text form of its [`DeploymentRef`]), for URLs and the API.
    pub id: String,
    /// The cluster it runs in.
    pub cluster: ClusterId,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// HelmRelease or Kustomization (Flux), or Release (Helm).
    pub kind: DeploymentKind,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Where it stands.
    pub state: DeploymentState,
    /// The revision last applied (a chart version or a source revision).
    pub revision: Option<String>,
    /// The chart, for Helm deployments.
    pub chart: Option<String>,
    /// `Kind/name` of the Flux source.
    pub source: Option<String>,
    /// The object's resourceVersion; an update that sends it back fails if the object changed.
    pub resource_version: Option<String>,
    /// The name of the adapter instance that runs it (`flux`, `helm`, or a configured name).
    pub adapter: String,
}

impl Deployment {
    /// The reference this row is about.
    pub fn reference(&self) -> DeploymentRef {
        DeploymentRef::from_valid_parts(
            self.cluster.clone(),
            self.namespace.clone(),
            self.kind,
            self.name.clone(),
        )
    }
}

/// What a deployment list asks for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeploymentFilter {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only this status.
    pub status: Option<DeploymentStatus>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only deployments carrying every one of these labels.
    pub labels: BTreeMap<String, String>,
    /// Free text over name, namespace, chart and source.
    pub text: Option<String>,
    /// Page size (default 50, at most 1000).
    pub limit: Option<usize>,
    /// How many to skip.
    pub offset: Option<usize>,
    /// Only rows after this deployment id, in list order (the previous page's `next`).
    pub after: Option<String>,
}

/// One page of deployments and how many match in all.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPage {
    /// This page.
    pub items: Vec<Deployment>,
    /// How many match the filter.
    pub total: usize,
    /// The cursor for the next page (`after`), when there are more rows.
    pub next: Option<String>,
    /// Set while the cache is reconnecting or re-listing: the time (RFC 3339) the rows were
    /// last known to be current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// What a create asks for: the reference adapters' DeploymentRequest.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeploymentRequest {
    /// The deployment's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Helm values.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Labels for the Flux object.
    pub labels: BTreeMap<String, String>,
    /// An uploaded package (`name-version`) to install with Helm, as in the reference.
    pub package_id: Option<String>,
    /// `flux.type`, `flux.chart`, `flux.chartVersion`, `flux.sourceRef`, `flux.sourceKind`,
    /// `flux.targetNamespace`, `flux.path`, `flux.targetRevision`.
    pub extensions: BTreeMap<String, serde_json::Value>,
    /// The `plugins.dms` adapter to create it with; none means the one its kind needs, or
    /// the default adapter when the request names no kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
}

/// A Kubernetes event about a deployment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEvent {
    /// Normal or Warning.
    pub kind: String,
    /// The CamelCase reason.
    pub reason: String,
    /// What happened.
    pub message: String,
    /// How often it happened.
    pub count: i32,
    /// When it last happened.
    pub last_seen: Option<String>,
    /// The component that reported it.
    pub source: String,
}

/// What an update changes: the reference adapters' DeploymentUpdate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeploymentUpdate {
    /// New Helm values (replacing the old ones), when given.
    pub values: Option<serde_json::Map<String, serde_json::Value>>,
    /// Extensions to change, e.g. `flux.chartVersion`, `flux.path`, `flux.targetNamespace`.
    pub extensions: BTreeMap<String, serde_json::Value>,
    /// The resourceVersion the change was based on: when given and the object has changed
    /// since, the update is refused with a conflict instead of overwriting someone's change.
    pub resource_version: Option<String>,
    /// Take over fields another field manager owns (e.g. kustomize-controller applying the
    /// object from Git). Without it such a change is refused, naming the owner.
    pub force: bool,
}

/// One revision in a deployment's history, newest first in lists.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRevision {
    /// The number rollback takes: Helm's release version, or the position (oldest = 1) in a
    /// Kustomization's history.
    pub revision: u32,
    /// deployed, superseded, failed, … as the controller reported it.
    pub status: String,
    /// The chart version, or the source revision that was applied.
    pub version: String,
    /// When it was last deployed or reconciled.
    pub deployed_at: Option<String>,
    /// The values digest (HelmRelease) or artifact digest (Kustomization).
    pub digest: Option<String>,
}

/// How a reconcile is asked for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReconcileRequest {
    /// Reconcile the source first and wait for its new artifact.
    pub with_source: bool,
    /// HelmRelease only: force a one-off install or upgrade (`reconcile.fluxcd.io/forceAt`).
    pub force: bool,
    /// HelmRelease only: reset the failure counters (`reconcile.fluxcd.io/resetAt`).
    pub reset: bool,
    /// Return at once instead of waiting for the outcome.
    pub no_wait: bool,
}

/// What a reconcile came to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileOutcome {
    /// The controller handled the request within the timeout.
    pub finished: bool,
    /// The state after it (or when the wait ended).
    pub state: DeploymentState,
    /// The revision applied, when known.
    pub revision: Option<String>,
    /// One sentence for the user.
    pub message: String,
}

/// What a rollback did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackOutcome {
    /// The revision restored.
    pub revision: u32,
    /// What was restored (chart version and values, or the source revision).
    pub restored: String,
    /// What was changed and why the next reconciliation keeps it, in plain words.
    pub explanation: String,
    /// Objects Pilothouse suspended to keep the rollback, as `Kind/namespace/name`.
    pub suspended: Vec<String>,
}

/// One step in a trace from an object to the Flux objects that manage it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceStep {
    /// How this step relates to the one before: object, managed by, source, chart.
    pub relation: String,
    /// apiVersion.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Ready condition status, for Flux objects.
    pub ready: Option<String>,
    /// The Ready message or revision.
    pub message: String,
    /// Revision applied or stored.
    pub revision: Option<String>,
}

/// One object a deployment applied.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryEntry {
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// How the object is doing, for kinds whose status says so (deployment pages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<ObjectHealth>,
}

/// An applied object's health, as Argo CD words it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectHealth {
    /// Healthy, Progressing, Degraded, Suspended or Missing.
    pub status: String,
    /// Why, in a few words ("1/2 replicas ready").
    pub message: String,
}

/// Everything a deployment's page shows, read in one round trip.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentDetail {
    /// The deployment and its state.
    pub deployment: Deployment,
    /// Its revisions, newest first.
    pub history: Vec<DeploymentRevision>,
    /// Events about it, newest first.
    pub events: Vec<DeploymentEvent>,
    /// What it applied.
    pub inventory: Vec<InventoryEntry>,
    /// Its object as clean YAML.
    pub yaml: String,
    /// Whether the caller may run each operation on it, and why (by action name, such as
    /// `deployment.scale`), so pages show what is not allowed instead of hiding it.
    #[serde(default)]
    pub permissions: std::collections::BTreeMap<String, crate::tenancy::Explanation>,
    /// The configured deep links (dashboards, log searches) filled in for it.
    #[serde(default)]
    pub links: Vec<DeepLink>,
}

/// A link to another tool about one deployment, from the `ui.links` templates.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepLink {
    /// What it opens, e.g. `Grafana`.
    pub title: String,
    /// The URL, its values filled in and encoded.
    pub url: String,
}

/// Which controller log lines to read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogQuery {
    /// The last this many lines (1–10000, default 200).
    pub tail: Option<i64>,
    /// Only lines from the last this many seconds.
    pub since_seconds: Option<i64>,
    /// The container, when the pod has more than one.
    pub container: Option<String>,
}

/// A change to preview.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Preview {
    /// New values (when given) and/or chart version.
    Upgrade {
        /// The values after the change; the running ones when `None`.
        values: Option<serde_json::Map<String, serde_json::Value>>,
        /// The chart version after the change.
        version: Option<String>,
    },
    /// A new replica count.
    Scale {
        /// The replica count after the change.
        replicas: u32,
        /// The chart version after the change.
        version: Option<String>,
    },
    /// Back to a revision.
    Rollback(u32),
}
