//! The adapter registry's configuration (reference 001's `plugins.dms`) and what
//! `GET /o2dms/v1/plugins` reports about each configured adapter.

use super::DeploymentAdapter;
use super::flux::FluxConfig;
use super::helm::HelmConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One configured adapter instance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginConfig {
    /// The instance's name (unique; shown in `GET /plugins` and named by creates' `adapter`).
    pub name: String,
    /// Off means configured but not started.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The adapter for creates that name no `flux.type`, no `packageId` and no adapter.
    #[serde(default)]
    pub default: bool,
    /// Its type and its type's settings.
    #[serde(flatten)]
    pub settings: PluginSettings,
}

fn enabled_by_default() -> bool {
    true
}

/// An adapter's type (`type:`) with the settings of that type (`config:`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", content = "config", rename_all = "lowercase")]
pub enum PluginSettings {
    /// Flux: HelmReleases and Kustomizations (reference 000's settings).
    Flux(FluxConfig),
    /// Helm: releases run by the helm binary (reference 001's settings).
    Helm(HelmConfig),
}

impl PluginSettings {
    /// `flux` or `helm`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Flux(_) => "flux",
            Self::Helm(_) => "helm",
        }
    }

    /// The kubeconfig the adapter connects with (none: `KUBECONFIG` or in-cluster).
    pub fn kubeconfig(&self) -> Option<&PathBuf> {
        match self {
            Self::Flux(config) => config.kubeconfig.as_ref(),
            Self::Helm(config) => config.kubeconfig.as_ref(),
        }
    }
}

impl PluginConfig {
    /// The one-adapter-per-type shorthand: the `flux:` and `helm:` sections as the adapters
    /// `flux` (the default) and `helm`.
    pub fn shorthand(flux: &FluxConfig, helm: &HelmConfig) -> Vec<Self> {
        let mut helm = helm.clone();
        if helm.kubeconfig.is_none() {
            helm.kubeconfig = flux.kubeconfig.clone();
        }
        vec![
            Self {
                name: super::flux::DEFAULT_NAME.into(),
                enabled: true,
                default: true,
                settings: PluginSettings::Flux(flux.clone()),
            },
            Self {
                name: super::helm::DEFAULT_NAME.into(),
                enabled: true,
                default: false,
                settings: PluginSettings::Helm(helm),
            },
        ]
    }
}

/// Checks a whole `plugins.dms` list: names are DNS labels and unique, at most one default,
/// and (one cluster per Pilothouse for now) every enabled adapter uses the same kubeconfig.
pub fn validate(plugins: &[PluginConfig]) -> Result<()> {
    let mut names = std::collections::BTreeSet::new();
    for plugin in plugins {
        crate::validate::dns_label("plugins.dms.name", &plugin.name)?;
        if !names.insert(plugin.name.as_str()) {
            return Err(Error::invalid(
                "plugins.dms",
                format!("two adapters are named {}", plugin.name),
            ));
        }
        match &plugin.settings {
            PluginSettings::Flux(config) => config.validate()?,
            PluginSettings::Helm(config) => config.validate()?,
        }
    }
    let defaults: Vec<&str> = plugins
        .iter()
        .filter(|p| p.default)
        .map(|p| p.name.as_str())
        .collect();
    if defaults.len() > 1 {
        return Err(Error::invalid(
            "plugins.dms",
            format!(
                "only one adapter can be the default; {} all say default: true",
                defaults.join(", ")
            ),
        ));
    }
    if let Some(plugin) = plugins.iter().find(|p| p.default && !p.enabled) {
        return Err(Error::invalid(
            "plugins.dms",
            format!("the default adapter {} is not enabled", plugin.name),
        ));
    }
    let mut enabled = plugins.iter().filter(|p| p.enabled);
    if let Some(first) = enabled.next()
        && let Some(other) =
            enabled.find(|p| p.settings.kubeconfig() != first.settings.kubeconfig())
    {
        return Err(Error::invalid(
            "plugins.dms",
            format!(
                "adapters {} and {} name different kubeconfigs; every adapter of one Pilothouse manages the same cluster",
                first.name, other.name
            ),
        ));
    }
    Ok(())
}

/// What `GET /o2dms/v1/plugins` says about one adapter.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginInfo {
    /// The instance's name.
    pub name: String,
    /// `flux` or `helm`.
    #[serde(rename = "type")]
    pub plugin_type: String,
    /// Whether it was started.
    pub enabled: bool,
    /// Whether creates that choose nothing go to it.
    pub default: bool,
    /// The kinds of deployment it runs.
    pub kinds: Vec<String>,
    /// What it can do beyond create, read, update and delete.
    pub capabilities: Vec<String>,
    /// Its health, when it is enabled.
    pub health: Option<PluginHealth>,
    /// What it runs with (helm's version; the Flux API versions it writes).
    pub version: Option<String>,
}

/// An enabled adapter's health.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginHealth {
    /// Whether its watch caches have synced.
    pub cache_synced: bool,
    /// Whether its last health check passed.
    pub healthy: bool,
    /// Why the last health check failed.
    pub last_error: Option<String>,
    /// For Flux adapters: whether the controllers run with Flux's multi-tenancy lockdown
    /// flags, each flag of each controller.
    pub lockdown: Option<model::lockdown::FluxLockdown>,
}

/// The report for one configured adapter; `adapter` is its running instance, if enabled.
pub async fn describe(
    plugin: &PluginConfig,
    adapter: Option<&dyn DeploymentAdapter>,
) -> PluginInfo {
    let (health, version, kinds, capabilities) = match adapter {
        Some(adapter) => {
            let cache_synced = adapter
                .wait_until_ready(std::time::Duration::ZERO)
                .await
                .is_ok();
            let last_error = adapter.health().await.err().map(|e| e.to_string());
            let health = PluginHealth {
                cache_synced,
                healthy: last_error.is_none(),
                last_error,
                lockdown: adapter.controller_lockdown().await,
            };
            (
                Some(health),
                adapter.version().await,
                adapter.kinds().iter().map(|k| k.to_string()).collect(),
                adapter.capabilities(),
            )
        }
        None => {
            let health = plugin.enabled.then(|| PluginHealth {
                cache_synced: false,
                healthy: false,
                last_error: Some(super::registry::no_cluster().to_string()),
                lockdown: None,
            });
            (health, None, Vec::new(), &[][..])
        }
    };
    PluginInfo {
        name: plugin.name.clone(),
        plugin_type: plugin.settings.type_name().into(),
        enabled: plugin.enabled,
        default: plugin.default,
        kinds,
        capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        health,
        version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Vec<PluginConfig> {
        serde_yaml::from_str(yaml).expect("plugins parse")
    }

    #[test]
    fn the_references_shape_parses_with_type_and_config() {
        let plugins = parse(
            "- name: helm-deployer\n  type: helm\n  enabled: true\n  default: true\n  config:\n    namespace: deployments\n    timeout: 5m\n- name: flux\n  type: flux\n  config: {}\n",
        );
        assert_eq!(plugins[0].name, "helm-deployer");
        assert!(plugins[0].default);
        let PluginSettings::Helm(helm) = &plugins[0].settings else {
            panic!("helm-deployer is a helm adapter");
        };
        assert_eq!(helm.namespace, "deployments");
        assert_eq!(helm.timeout, "5m");
        assert!(plugins[1].enabled, "enabled is the default");
        assert_eq!(plugins[1].settings.type_name(), "flux");
        validate(&plugins).expect("valid");
    }

    #[test]
    fn a_type_that_is_not_flux_or_helm_is_refused() {
        let error =
            serde_yaml::from_str::<Vec<PluginConfig>>("- name: a\n  type: argo\n  config: {}\n")
                .expect_err("argo is not a type");
        assert!(error.to_string().contains("argo"), "{error}");
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let error = serde_yaml::from_str::<Vec<PluginConfig>>(
            "- name: a\n  type: helm\n  config:\n    repoUrl: x\n",
        )
        .expect_err("repoUrl is not a setting");
        assert!(error.to_string().contains("repoUrl"), "{error}");
    }

    #[test]
    fn duplicate_names_two_defaults_and_two_clusters_are_refused() {
        let twice =
            parse("- name: a\n  type: helm\n  config: {}\n- name: a\n  type: flux\n  config: {}\n");
        assert!(
            validate(&twice)
                .unwrap_err()
                .to_string()
                .contains("two adapters are named a")
        );
        let defaults = parse(
            "- name: a\n  type: helm\n  default: true\n  config: {}\n- name: b\n  type: helm\n  default: true\n  config: {}\n",
        );
        assert!(
            validate(&defaults)
                .unwrap_err()
                .to_string()
                .contains("a, b")
        );
        let clusters = parse(
            "- name: a\n  type: helm\n  config: {kubeconfig: /one}\n- name: b\n  type: helm\n  config: {kubeconfig: /two}\n",
        );
        assert!(
            validate(&clusters)
                .unwrap_err()
                .to_string()
                .contains("different kubeconfigs")
        );
        let off =
            parse("- name: a\n  type: helm\n  enabled: false\n  default: true\n  config: {}\n");
        assert!(
            validate(&off)
                .unwrap_err()
                .to_string()
                .contains("not enabled")
        );
    }

    #[test]
    fn two_adapters_of_one_type_with_different_settings_are_valid() {
        let plugins = parse(
            "- name: helm-internal\n  type: helm\n  config: {repositoryUrl: 'https://charts.internal.example'}\n- name: helm-partner\n  type: helm\n  config: {repositoryUrl: 'https://charts.partner.example', repositoryUsername: p}\n",
        );
        validate(&plugins).expect("two helm adapters");
    }

    #[test]
    fn the_shorthand_is_flux_as_default_and_helm_sharing_its_kubeconfig() {
        let flux = FluxConfig {
            kubeconfig: Some("/k".into()),
            ..FluxConfig::default()
        };
        let plugins = PluginConfig::shorthand(&flux, &HelmConfig::default());
        assert_eq!(
            plugins
                .iter()
                .map(|p| (p.name.as_str(), p.default))
                .collect::<Vec<_>>(),
            [("flux", true), ("helm", false)]
        );
        assert_eq!(plugins[1].settings.kubeconfig(), Some(&PathBuf::from("/k")));
        validate(&plugins).expect("valid");
    }
}
