//! The Helm adapter's settings, as reference 001 names them, each with a default.

use control_core::duration::parse_duration;
use control_core::{Error, Result};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// How the Helm adapter finds helm, the cluster and the chart repository.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmConfig {
    /// The helm binary (the set-up installs the pinned version).
    pub binary: PathBuf,
    /// Kubeconfig file; empty means `KUBECONFIG` or in-cluster, as for Flux.
    pub kubeconfig: Option<PathBuf>,
    /// Namespace for deployments that name none.
    pub namespace: String,
    /// The chart repository installs may name charts from (HTTP index or `oci://`).
    pub repository_url: Option<String>,
    /// Repository user name.
    pub repository_username: Option<String>,
    /// Repository password; never logged, never passed on a command line.
    pub repository_password: Option<String>,
    /// How long an install, upgrade or rollback may take, e.g. `10m`.
    pub timeout: String,
    /// Revisions kept per release.
    pub max_history: u32,
    /// helm's verbose output in the server log.
    pub debug: bool,
    /// Largest chart archive accepted, in bytes.
    pub max_package_bytes: usize,
    /// Registries an `oci://` chart may come from (`host`, `host:port`, `*.domain`). Empty
    /// means any public host; internal addresses and names are refused either way unless
    /// listed here.
    pub allowed_registries: Vec<String>,
    /// Registries helm talks to over plain HTTP (`--plain-http`); none by default.
    pub plain_http_registries: Vec<String>,
}

impl std::fmt::Debug for HelmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelmConfig")
            .field("binary", &self.binary)
            .field("kubeconfig", &self.kubeconfig)
            .field("namespace", &self.namespace)
            .field("repository_url", &self.repository_url)
            .field(
                "repository_username",
                &self.repository_username.as_ref().map(|_| "<set>"),
            )
            .field(
                "repository_password",
                &self.repository_password.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .field("max_history", &self.max_history)
            .field("allowed_registries", &self.allowed_registries)
            .field("plain_http_registries", &self.plain_http_registries)
            .finish_non_exhaustive()
    }
}

impl Default for HelmConfig {
    fn default() -> Self {
        Self {
            binary: PathBuf::from("helm"),
            kubeconfig: None,
            namespace: "default".into(),
            repository_url: None,
            repository_username: None,
            repository_password: None,
            timeout: "10m".into(),
            max_history: 10,
            debug: false,
            max_package_bytes: 10 * 1024 * 1024,
            allowed_registries: Vec::new(),
            plain_http_registries: Vec::new(),
        }
    }
}

impl HelmConfig {
    /// The operation timeout.
    pub fn timeout(&self) -> Result<Duration> {
        parse_duration(&self.timeout).map_err(|m| Error::invalid("helm.timeout", m))
    }

    /// Checks what a configuration file may get wrong.
    pub fn validate(&self) -> Result<()> {
        self.timeout()?;
        control_core::validate::dns_label("helm.namespace", &self.namespace)?;
        if let Some(url) = &self.repository_url {
            super::args::repository_url("helm.repositoryUrl", url)?;
        }
        if self.repository_password.is_some() && self.repository_username.is_none() {
            return Err(Error::invalid(
                "helm.repositoryUsername",
                "a repository password needs a user name",
            ));
        }
        Ok(())
    }
}
