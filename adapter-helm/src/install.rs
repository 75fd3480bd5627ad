//! Installing, upgrading and reading back Helm releases: helm runs as the tenant, with
//! values in a private file and the wait and rollback within the configured timeout.

use super::adapter::HelmAdapter;
use super::args;
use super::binary::{Operation, TempFile};
use super::release::{self, Release};
use super::source::ChartSource;
use control_core::adapters::context::{RunAs, WriteCtx};
use control_core::{Error, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use model::deployment::{Deployment, DeploymentRequest};
use serde_json::{Map, Value};
use std::ffi::OsString;

impl HelmAdapter {
    /// install or upgrade, with values in a private file and wait/rollback within the timeout.
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one helm command line"
    )]
    pub(super) async fn install_or_upgrade(
        &self,
        run_as: &RunAs,
        operation: Operation,
        namespace: &str,
        name: &str,
        source: &ChartSource,
        version: Option<&str>,
        values: &Map<String, Value>,
        dry_run: bool,
    ) -> Result<Vec<u8>> {
        args::release_name(name)?;
        control_core::validate::dns_label("namespace", namespace)?;
        if let Some(version) = version {
            args::chart_version(version)?;
        }
        let (chart, archive) = self.chart_argument(namespace, source, version).await?;
        let values_text = serde_yaml::to_string(&Value::Object(values.clone()))
            .map_err(|e| Error::invalid("values", e.to_string()))?;
        let values_file = TempFile::write(&self.helm.work_dir(), ".yaml", values_text.as_bytes())?;
        let verb = match operation {
            Operation::Install => "install",
            Operation::Template => "template",
            _ => "upgrade",
        };
        let mut argv: Vec<OsString> = vec![
            verb.into(),
            name.into(),
            chart,
            "--namespace".into(),
            namespace.into(),
        ];
        argv.push("--values".into());
        argv.push(values_file.path().as_os_str().to_owned());
        // A chart already fetched (a package, or a repository's archive fetched by
        // Pilothouse) is the version it is; helm picks one only where it fetches itself.
        if let Some(version) = version.filter(|_| archive.is_none()) {
            argv.push("--version".into());
            argv.push(version.into());
        }
        if operation == Operation::Template {
            argv.push("--skip-tests".into());
        } else {
            argv.push("--wait=watcher".into());
            argv.push("--rollback-on-failure".into());
            argv.push("--timeout".into());
            argv.push(format!("{}s", self.timeout.as_secs()).into());
            argv.push("--output".into());
            argv.push("json".into());
            if operation == Operation::Upgrade {
                argv.push("--history-max".into());
                argv.push(self.config.max_history.to_string().into());
            }
            if dry_run {
                argv.push("--dry-run=server".into());
            }
        }
        // helm's "not found" names the release; the user needs to know which chart is missing.
        self.helm
            .run(operation, name, &argv, run_as, self.timeout)
            .await
            .map_err(|e| match e {
                Error::NotFound { kind: "chart", .. } => Error::NotFound {
                    kind: "chart",
                    name: match version {
                        Some(v) => format!("{} {v}", source.reference()),
                        None => source.reference().to_owned(),
                    },
                },
                // The objects were applied but never became ready: say what helm undid.
                Error::Helm(message) if message.contains("context deadline exceeded") => {
                    Error::Helm(match operation {
                        Operation::Install => format!(
                            "{message}; the objects did not become ready within {} s, so helm rolled the install back and removed the release (--rollback-on-failure)",
                            self.timeout.as_secs()
                        ),
                        Operation::Upgrade => format!(
                            "{message}; the objects did not become ready within {} s, so helm rolled back to the previous revision (--rollback-on-failure)",
                            self.timeout.as_secs()
                        ),
                        _ => message,
                    })
                }
                other => other,
            })
    }

    /// The step a helm run that waits reports: what it does, then how long it may wait.
    pub(super) fn waiting(&self, doing: &str) -> String {
        format!(
            "{doing}, then waiting up to {} s for them to become ready",
            self.timeout.as_secs()
        )
    }

    pub(super) async fn upgrade_with(
        &self,
        ctx: &WriteCtx,
        namespace: &str,
        name: &str,
        values: &Map<String, Value>,
        source: Option<ChartSource>,
        version: Option<String>,
    ) -> Result<Deployment> {
        let current = self.latest(namespace, name)?;
        let (source, version) = match source {
            Some(source) => (
                source,
                version.or_else(|| Some(current.chart_version.clone())),
            ),
            None => {
                let (source, _) = self.remembered_source(namespace, name).await?.ok_or_else(|| {
                    Error::invalid("helm.chart", format!("{name} was not installed by Pilothouse, so its chart is unknown; name it with helm.chart or packageId"))
                })?;
                // Keep the running chart version unless asked for another; an uploaded package
                // is one chart version, so another version is another package.
                let version = version.unwrap_or_else(|| current.chart_version.clone());
                let source = match source {
                    ChartSource::Package(_) => {
                        args::chart_version(&version)?;
                        ChartSource::Package(format!("{}-{version}", current.chart))
                    }
                    source => source,
                };
                (source, Some(version))
            }
        };
        ctx.progress(
            20,
            self.waiting("helm upgrade: applying the chart's objects"),
        );
        let run_as = ctx.run_as_in(namespace);
        let run = self.install_or_upgrade(
            &run_as,
            Operation::Upgrade,
            namespace,
            name,
            &source,
            version.as_deref(),
            values,
            false,
        );
        let out = self
            .reporting_readiness(ctx, namespace, name, current.version, run)
            .await?;
        self.remember_source(namespace, name, &source, version.as_deref())
            .await?;
        Ok(self.cache.row(&release::from_json(&out)?))
    }

    /// One revision of a release, decoded from its Secret.
    pub async fn revision(&self, namespace: &str, name: &str, revision: u32) -> Result<Release> {
        let revisions = self.cache.revisions(namespace, name);
        let secret_name = revisions
            .iter()
            .find(|(v, _)| *v == revision)
            .map(|(_, n)| n.clone())
            .ok_or_else(|| {
                Error::invalid(
                    "revision",
                    format!("revision {revision} of {name} does not exist"),
                )
            })?;
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = api
            .get(&secret_name)
            .await
            .map_err(control_core::adapters::cluster_error)?;
        release::decode(&secret)
    }

    /// Installs an uploaded package or repository chart (see [`DeploymentAdapter::create`]).
    pub async fn install(&self, ctx: &WriteCtx, request: &DeploymentRequest) -> Result<Deployment> {
        let source = Self::source_of(request.package_id.as_deref(), &request.extensions)?
            .ok_or_else(|| {
                Error::invalid(
                    "packageId",
                    "packageId or helm.chart is required for a Helm release",
                )
            })?;
        if let ChartSource::Package(id) = &source
            && !self.packages.exists(&request.namespace, id).await?
        {
            return Err(Error::not_found("chart", id.clone()));
        }
        let version = request
            .extensions
            .get("helm.chartVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if self
            .cache
            .release(&request.namespace, &request.name)
            .is_some()
        {
            return Err(Error::AlreadyExists {
                kind: "release",
                name: request.name.clone(),
            });
        }
        ctx.progress(
            20,
            self.waiting("helm install: applying the chart's objects"),
        );
        let run_as = ctx.run_as_in(&request.namespace);
        let run = self.install_or_upgrade(
            &run_as,
            Operation::Install,
            &request.namespace,
            &request.name,
            &source,
            version.as_deref(),
            &request.values,
            false,
        );
        let out = self
            .reporting_readiness(ctx, &request.namespace, &request.name, 0, run)
            .await?;
        self.remember_source(
            &request.namespace,
            &request.name,
            &source,
            version.as_deref(),
        )
        .await?;
        Ok(self.cache.row(&release::from_json(&out)?))
    }
}
