//! Flux sources (Git, Helm and OCI repositories, buckets, charts) as packages are shown.

use serde::{Deserialize, Serialize};

/// A Flux source and the artifact it last produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxSource {
    /// GitRepository, HelmRepository, OCIRepository, Bucket or HelmChart.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Where it fetches from (URL, or chart name for a HelmChart).
    pub url: String,
    /// The artifact revision, once there is one.
    pub revision: Option<String>,
    /// Ready condition: True, False or Unknown; None before the first reconciliation.
    pub ready: Option<String>,
    /// The Ready message.
    pub message: String,
    /// Reconciliation is suspended.
    pub suspended: bool,
}
