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

/// An uploaded chart archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `name-version`, as the reference adapter forms package ids.
    pub id: String,
    /// The namespace it was uploaded to (whose tenant may use it).
    pub namespace: String,
    /// Chart name.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// The chart's appVersion.
    pub app_version: Option<String>,
    /// The chart's description.
    pub description: Option<String>,
    /// SHA-256 of the archive.
    pub digest: String,
    /// Archive size in bytes.
    pub size: i32,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When, RFC 3339.
    pub uploaded_at: String,
}
