//! Where a release's chart comes from (an uploaded package, the configured repository, an
//! OCI reference), how it is named on helm's command line, and Pilothouse's record of it so
//! that later upgrades and scales use the same chart.

use super::adapter::HelmAdapter;
use super::args;
use super::binary::{Operation, TempFile};
use control_core::adapters::context::RunAs;
use control_core::adapters::records::RememberedChart;
use control_core::{Error, Result};
use serde_json::Value;
use std::ffi::OsString;

/// Where a release's chart comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSource {
    /// An uploaded package, by id, in the release's namespace.
    Package(String),
    /// A chart in the configured repository.
    Repository(String),
    /// An `oci://` reference.
    Oci(String),
    /// A chart in a repository named by URL (`helm --repo`); only rendered, never remembered.
    Remote {
        /// The repository's `https://` or `http://` URL.
        repository: String,
        /// The chart's name in it.
        chart: String,
    },
}

impl ChartSource {
    fn kind(&self) -> &'static str {
        match self {
            Self::Package(_) => "package",
            Self::Repository(_) => "repository",
            Self::Oci(_) => "oci",
            Self::Remote { .. } => "remote",
        }
    }

    pub(super) fn reference(&self) -> &str {
        match self {
            Self::Package(r) | Self::Repository(r) | Self::Oci(r) => r,
            Self::Remote { chart, .. } => chart,
        }
    }
}

impl HelmAdapter {
    pub(super) fn source_of(
        request_package: Option<&str>,
        extensions: &std::collections::BTreeMap<String, Value>,
    ) -> Result<Option<ChartSource>> {
        let chart = extensions
            .get("helm.chart")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty());
        match (request_package.filter(|p| !p.is_empty()), chart) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "packageId",
                "name either packageId or helm.chart, not both",
            )),
            (Some(id), None) => {
                args::plain("packageId", id)?;
                Ok(Some(ChartSource::Package(id.to_owned())))
            }
            (None, Some(chart)) if chart.starts_with("oci://") => {
                args::oci_reference(chart)?;
                Ok(Some(ChartSource::Oci(chart.to_owned())))
            }
            (None, Some(chart)) => {
                args::chart_name(chart)?;
                Ok(Some(ChartSource::Repository(chart.to_owned())))
            }
            (None, None) => Ok(None),
        }
    }

    pub(super) async fn remembered_source(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<(ChartSource, Option<String>)>> {
        let remembered = self.charts.get(namespace, name).await?;
        Ok(remembered.map(|chart| {
            let source = match chart.kind.as_str() {
                "package" => ChartSource::Package(chart.reference),
                "oci" => ChartSource::Oci(chart.reference),
                _ => ChartSource::Repository(chart.reference),
            };
            (source, chart.version)
        }))
    }

    pub(super) async fn remember_source(
        &self,
        namespace: &str,
        name: &str,
        source: &ChartSource,
        version: Option<&str>,
    ) -> Result<()> {
        let chart = RememberedChart {
            kind: source.kind().to_owned(),
            reference: source.reference().to_owned(),
            version: version.map(str::to_owned),
        };
        self.charts.remember(namespace, name, &chart).await?;
        Ok(())
    }

    /// The chart argument (and the file that must live while helm runs).
    pub(super) async fn chart_argument(
        &self,
        namespace: &str,
        source: &ChartSource,
        version: Option<&str>,
    ) -> Result<(OsString, Option<TempFile>)> {
        match source {
            ChartSource::Package(id) => {
                let archive = self.packages.archive(namespace, id).await?;
                let file = TempFile::write(&self.helm.work_dir(), ".tgz", &archive)?;
                Ok((file.path().as_os_str().to_owned(), Some(file)))
            }
            ChartSource::Oci(reference) => {
                // Fetched here, as a repository's charts are: the policy holds for every host
                // reached (the registry, its token service, its blob storage).
                let archive = super::fetch::oci_chart(
                    &self.registries,
                    &super::fetch::SystemResolver,
                    reference,
                    version,
                )
                .await?;
                let file = TempFile::write(&self.helm.work_dir(), ".tgz", &archive)?;
                Ok((file.path().as_os_str().to_owned(), Some(file)))
            }
            ChartSource::Remote { repository, chart } => {
                // Fetched here, where the policy holds for the addresses reached and every
                // redirect; helm gets the archive.
                let archive = super::fetch::chart(
                    &self.registries,
                    &super::fetch::SystemResolver,
                    repository,
                    chart,
                    version,
                )
                .await?;
                let file = TempFile::write(&self.helm.work_dir(), ".tgz", &archive)?;
                Ok((file.path().as_os_str().to_owned(), Some(file)))
            }
            ChartSource::Repository(chart) => {
                if self.config.repository_url.is_none() {
                    return Err(Error::invalid(
                        "helm.chart",
                        "no chart repository is configured (helm.repositoryUrl); upload the chart or use an oci:// reference",
                    ));
                }
                let update: Vec<OsString> = ["repo", "update", "pilothouse"]
                    .map(OsString::from)
                    .to_vec();
                self.helm
                    .run(
                        Operation::Other,
                        chart,
                        &update,
                        &RunAs::Pilothouse,
                        self.timeout,
                    )
                    .await
                    .map_err(|e| match e {
                        Error::Helm(m) if !m.starts_with("failed to locate chart") => {
                            Error::Helm(format!("failed to locate chart: {m}"))
                        }
                        other => other,
                    })?;
                Ok((format!("pilothouse/{chart}").into(), None))
            }
        }
    }
}
