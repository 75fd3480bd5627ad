//! The Flux adapter's settings, as reference 000 names them, each with a default.

use control_core::{Error, Result};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// How the Flux adapter connects and what the objects it writes look like.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct FluxConfig {
    /// Kubeconfig file; empty means in-cluster config (or `KUBECONFIG`, as kubectl does).
    pub kubeconfig: Option<PathBuf>,
    /// Where the Flux controllers run (their logs are read there).
    pub namespace: String,
    /// Namespace of sources a request names without one. Empty means the deployment's own
    /// namespace: Flux's multi-tenancy lockdown refuses cross-namespace source references.
    pub source_namespace: Option<String>,
    /// How long a reconcile waits for the controller's outcome, e.g. `10m`.
    #[serde(with = "duration_text")]
    pub reconcile_timeout: Duration,
    /// Reconcile interval written into new objects (Flux duration syntax).
    pub interval: String,
    /// New objects are created suspended.
    pub suspend: bool,
    /// Kustomizations prune what they no longer contain.
    pub prune: bool,
    /// Kustomizations recreate immutable objects; HelmReleases force upgrades.
    pub force: bool,
    /// Target namespace written when a request names none. Empty means none is written, so a
    /// tenant's objects land in the deployment's namespace.
    pub target_namespace: Option<String>,
    /// Namespaces whose sources every tenant may reference (read-only: only platform-admins
    /// reconcile, suspend or pin them). Empty means tenants use only their own sources.
    /// Such references cross namespaces, so they fail on controllers locked down with
    /// `--no-cross-namespace-refs`: the two settings exclude each other.
    pub shared_source_namespaces: Vec<String>,
    /// Readiness fails while the Flux controllers run without the multi-tenancy lockdown
    /// flags (`--no-cross-namespace-refs`, `--default-service-account`, `--no-remote-bases`).
    pub require_controller_lockdown: bool,
    /// The Flux check lists objects suspended for longer than this, e.g. `168h`.
    #[serde(with = "duration_text")]
    pub suspended_warn_after: Duration,
}

impl Default for FluxConfig {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            namespace: "flux-system".into(),
            source_namespace: None,
            reconcile_timeout: Duration::from_secs(600),
            interval: "5m".into(),
            suspend: false,
            prune: true,
            force: false,
            target_namespace: None,
            shared_source_namespaces: Vec::new(),
            require_controller_lockdown: false,
            suspended_warn_after: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl FluxConfig {
    /// Checks the values a config file may get wrong.
    pub fn validate(&self) -> Result<()> {
        parse_duration(&self.interval).map_err(|m| Error::invalid("flux.interval", m))?;
        control_core::validate::dns_label("flux.namespace", &self.namespace)?;
        if let Some(ns) = &self.source_namespace {
            control_core::validate::dns_label("flux.sourceNamespace", ns)?;
        }
        for ns in &self.shared_source_namespaces {
            control_core::validate::dns_label("flux.sharedSourceNamespaces", ns)?;
        }
        if let Some(ns) = &self.target_namespace {
            control_core::validate::dns_label("flux.targetNamespace", ns)?;
        }
        if self.require_controller_lockdown && !self.shared_source_namespaces.is_empty() {
            return Err(Error::invalid(
                "flux.requireControllerLockdown",
                "conflicts with flux.sharedSourceNamespaces: locked-down controllers refuse the cross-namespace source references that shared sources are; choose per-tenant sources and the lockdown, or shared sources without it",
            ));
        }
        Ok(())
    }
}

pub use control_core::duration::parse_duration;

mod duration_text {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_flux_writes_them() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "5", "m", "5x", "-5m", "1h 5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_reads_the_reference_names() {
        let config: FluxConfig = serde_yaml::from_str(
            "kubeconfig: /etc/kube/config\nsourceNamespace: flux-system\nreconcileTimeout: 2m\nprune: false\nforce: true\n",
        )
        .expect("config");
        assert_eq!(config.reconcile_timeout, Duration::from_secs(120));
        assert_eq!(config.source_namespace.as_deref(), Some("flux-system"));
        assert!(config.force && !config.prune && !config.suspend);
        assert_eq!(config.interval, "5m");
        assert!(config.validate().is_ok());
        let wrong = FluxConfig {
            interval: "often".into(),
            ..FluxConfig::default()
        };
        assert!(matches!(
            wrong.validate(),
            Err(Error::Invalid {
                field: "flux.interval",
                ..
            })
        ));
        let error = serde_yaml::from_str::<FluxConfig>("reconcileTimeout: soon\n").unwrap_err();
        assert!(
            error.to_string().contains("\"soon\" is not a duration"),
            "{error}"
        );
        let error = serde_yaml::from_str::<FluxConfig>("pruning: true\n").unwrap_err();
        assert!(
            error.to_string().contains("unknown field `pruning`"),
            "{error}"
        );
    }
}
