//! What runs behind a deployment: the workloads among its applied objects (Deployments,
//! StatefulSets, DaemonSets, Jobs, CronJobs), their rollout, and their pods.

use crate::deployment::DeploymentEvent;
use serde::{Deserialize, Serialize};

/// The workload kinds shown, with the path segment that names them (as kubectl's plurals).
pub const WORKLOAD_KINDS: [(&str, &str); 5] = [
    ("Deployment", "deployments"),
    ("StatefulSet", "statefulsets"),
    ("DaemonSet", "daemonsets"),
    ("Job", "jobs"),
    ("CronJob", "cronjobs"),
];

/// One workload and its pods.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    /// Deployment, StatefulSet, DaemonSet, Job or CronJob.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Pods asked for (a Job's completions; none for a CronJob).
    pub desired: i32,
    /// Pods at the current template.
    pub updated: i32,
    /// Pods ready.
    pub ready: i32,
    /// Pods available (ready for `minReadySeconds`); a Job's succeeded.
    pub available: i32,
    /// How its rollout stands, in the controller's words (a condition's message), or why it
    /// is not there.
    pub message: String,
    /// Whether it is fully rolled out (a Job: complete; a CronJob: not suspended).
    pub healthy: bool,
    /// A CronJob's schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When a CronJob last ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule: Option<String>,
    /// Its pods (a CronJob's through its Jobs), crashing ones first.
    pub pods: Vec<PodSummary>,
}

/// One pod.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSummary {
    /// Its name.
    pub name: String,
    /// Pending, Running, Succeeded, Failed or Unknown; `CrashLoopBackOff` and the like when a
    /// container waits for that reason.
    pub phase: String,
    /// Ready containers of all, e.g. `1/2`.
    pub ready: String,
    /// Restarts of all its containers.
    pub restarts: i32,
    /// Why a container last terminated (`Error, exit code 1`, `OOMKilled`), when one did.
    pub last_termination: Option<String>,
    /// The node it runs on.
    pub node: Option<String>,
    /// When it started, RFC 3339.
    pub started_at: Option<String>,
    /// Its containers, in order, with their images.
    pub containers: Vec<ContainerSummary>,
    /// Events about it, newest first.
    pub events: Vec<DeploymentEvent>,
}

/// One container of a pod.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSummary {
    /// Its name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// Whether it is ready.
    pub ready: bool,
    /// How often it restarted.
    pub restarts: i32,
    /// Running, Waiting (with the reason) or Terminated (with the reason).
    pub state: String,
    /// Whether it ran before (so its previous log may be read).
    pub has_previous: bool,
}

/// Which pod log to read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodLogQuery {
    /// The container; the pod's only (or first) one when absent.
    pub container: Option<String>,
    /// The container's previous run (after a crash).
    #[serde(default)]
    pub previous: bool,
    /// The last this many lines (1–10,000; 200 by default).
    pub tail: Option<i64>,
}
