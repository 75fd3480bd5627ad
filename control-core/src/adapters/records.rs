//! What the adapters keep in the control plane's database, as traits its store implements:
//! the adapter crates hold no SQL, and the store keeps every query in one place.

use crate::Result;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Where the Helm adapter reads the uploaded chart archives it installs by package id.
#[async_trait::async_trait]
pub trait PackageArchives: Send + Sync + std::fmt::Debug {
    /// Whether package `id` was uploaded to `namespace`.
    async fn exists(&self, namespace: &str, id: &str) -> Result<bool>;
    /// The archive of package `id` uploaded to `namespace`.
    async fn archive(&self, namespace: &str, id: &str) -> Result<Vec<u8>>;
}

/// Where a Helm release's chart came from, as remembered for its next upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedChart {
    /// `package`, `oci` or `repository`.
    pub kind: String,
    /// The package id, `oci://` reference or chart name.
    pub reference: String,
    /// The chart version asked for, if one was.
    pub version: Option<String>,
}

/// Where the Helm adapter remembers each release's chart source.
#[async_trait::async_trait]
pub trait ChartSources: Send + Sync + std::fmt::Debug {
    /// The chart release `release` in `namespace` was installed from.
    async fn get(&self, namespace: &str, release: &str) -> Result<Option<RememberedChart>>;
    /// Remembers (or replaces) where release `release` came from.
    async fn remember(&self, namespace: &str, release: &str, chart: &RememberedChart)
    -> Result<()>;
    /// Forgets an uninstalled release.
    async fn forget(&self, namespace: &str, release: &str) -> Result<()>;
}

/// What the Helm adapter keeps in the database.
#[derive(Debug, Clone)]
pub struct HelmRecords {
    /// Uploaded packages.
    pub packages: Arc<dyn PackageArchives>,
    /// Each release's chart source.
    pub charts: Arc<dyn ChartSources>,
}

/// Where the Flux adapter remembers the values it applied to HelmReleases, by
/// helm-controller's digest of them, so that a rollback can restore them.
#[async_trait::async_trait]
pub trait AppliedSpecs: Send + Sync + std::fmt::Debug {
    /// Remembers `values` (and the chart version) applied to a HelmRelease under `digest`.
    async fn remember(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
        chart_version: Option<&str>,
        values: &Map<String, Value>,
    ) -> Result<()>;
    /// The values last applied to this HelmRelease under `digest`.
    async fn values_for(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
    ) -> Result<Option<Map<String, Value>>>;
}
