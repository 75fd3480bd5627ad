//! Previews: what an upgrade, scale or rollback would change, as a unified diff of the
//! rendered manifest (`helm template`, or an earlier revision's manifest) against the running
//! one. Nothing is applied.

use super::adapter::HelmAdapter;
use super::args;
use super::binary::Operation;
use super::release::Release;
use super::source::ChartSource;
use control_core::adapters::RemoteChart;
use control_core::adapters::context::RunAs;
use control_core::adapters::values::with_replicas;
use control_core::{Error, Result};
use model::deployment::{InventoryEntry, Preview};
use serde_json::{Map, Value};

/// The objects in a rendered manifest (multi-document YAML); documents that do not parse
/// as objects are skipped.
pub fn manifest_objects(manifest: &str, namespace: &str) -> Vec<InventoryEntry> {
    use serde::Deserialize;
    let mut entries: Vec<InventoryEntry> = serde_yaml::Deserializer::from_str(manifest)
        .filter_map(|doc| Value::deserialize(doc).ok())
        .filter_map(|doc| {
            let text = |p: &str| doc.pointer(p).and_then(Value::as_str).map(str::to_owned);
            let api_version = text("/apiVersion")?;
            let (group, version) = match api_version.rsplit_once('/') {
                Some((g, v)) => (g.to_owned(), v.to_owned()),
                None => (String::new(), api_version),
            };
            Some(InventoryEntry {
                group,
                version,
                kind: text("/kind")?,
                namespace: text("/metadata/namespace").unwrap_or_else(|| namespace.to_owned()),
                name: text("/metadata/name")?,
                health: None,
            })
        })
        .collect();
    entries.sort();
    entries
}

/// `diff -u` of two manifests.
pub fn unified_diff(current: &str, proposed: &str) -> String {
    similar::TextDiff::from_lines(current, proposed)
        .unified_diff()
        .context_radius(3)
        .header("running", "proposed")
        .to_string()
}

impl HelmAdapter {
    /// A unified diff of the manifest an upgrade (values, chart version), scale or rollback
    /// would apply against the running one; nothing is changed.
    pub async fn preview(&self, namespace: &str, name: &str, change: &Preview) -> Result<String> {
        let current = self.latest(namespace, name)?;
        let proposed = match change {
            Preview::Rollback(revision) => {
                self.revision(namespace, name, *revision).await?.manifest
            }
            Preview::Upgrade { values, version } => {
                let values = values.clone().unwrap_or_else(|| current.values.clone());
                self.render(namespace, name, &current, &values, version.clone())
                    .await?
            }
            Preview::Scale { replicas, version } => {
                let values = with_replicas(&current.values, *replicas, None)?;
                self.render(namespace, name, &current, &values, version.clone())
                    .await?
            }
        };
        Ok(unified_diff(&current.manifest, &proposed))
    }

    /// The manifest `helm template` renders for a chart helm fetches itself (a Flux
    /// HelmRelease's, from its HelmRepository or OCI registry) with `values`.
    pub async fn render_remote(
        &self,
        chart: &RemoteChart,
        values: &Map<String, Value>,
    ) -> Result<String> {
        let source = match &chart.repository {
            Some(repository) => {
                args::repository_url("spec.url", repository)?;
                args::chart_name(&chart.chart)?;
                ChartSource::Remote {
                    repository: repository.clone(),
                    chart: chart.chart.clone(),
                }
            }
            None => {
                args::oci_reference(&chart.chart)?;
                ChartSource::Oci(chart.chart.clone())
            }
        };
        let out = self
            .install_or_upgrade(
                &RunAs::Pilothouse,
                Operation::Template,
                &chart.namespace,
                &chart.release,
                &source,
                chart.version.as_deref(),
                values,
                false,
            )
            .await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The manifest `helm template` renders for the release's chart with `values`.
    async fn render(
        &self,
        namespace: &str,
        name: &str,
        current: &Release,
        values: &Map<String, Value>,
        version: Option<String>,
    ) -> Result<String> {
        let (source, _) = self
            .remembered_source(namespace, name)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "helm.chart",
                    format!("{name} was not installed by Pilothouse; its chart is unknown"),
                )
            })?;
        let version = version.unwrap_or_else(|| current.chart_version.clone());
        let source = match source {
            ChartSource::Package(_) => ChartSource::Package(format!("{}-{version}", current.chart)),
            other => other,
        };
        let out = self
            // `helm template` renders without the cluster, so no identity is needed.
            .install_or_upgrade(
                &RunAs::Pilothouse,
                Operation::Template,
                namespace,
                name,
                &source,
                Some(&version),
                values,
                false,
            )
            .await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
