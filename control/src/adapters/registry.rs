//! The clusters Pilothouse manages and the adapters that run deployments in each.
//!
//! Each cluster has one [`ClusterConnection`] (its `kube::Config`, the base client and the
//! impersonating clients made from it) and the adapter instances configured for it, by name.
//! A deployment's kind says which adapter runs it, so routing never guesses.

use super::DeploymentAdapter;
pub use super::connection::{ClusterConnection, Home};
use super::flux::{FluxAdapter, FluxConfig};
use super::helm::{HelmAdapter, HelmConfig};
use super::plugins::{PluginConfig, PluginInfo, PluginSettings};
use crate::store::records::{helm_records, spec_record};
use crate::{Error, Result};
use model::reference::{ClusterId, DeploymentKind, DeploymentRef};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One cluster: its connection and its adapters by instance name.
#[derive(Clone)]
pub struct ClusterHandle {
    connection: Arc<ClusterConnection>,
    adapters: Vec<Arc<dyn DeploymentAdapter>>,
    default: Option<String>,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHandle")
            .field("connection", &self.connection)
            .field(
                "adapters",
                &self.adapters.iter().map(|a| a.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ClusterHandle {
    /// A cluster with no adapters yet.
    pub fn new(connection: Arc<ClusterConnection>) -> Self {
        Self {
            connection,
            adapters: Vec::new(),
            default: None,
        }
    }

    /// Adds an adapter instance; refused when its name is taken. Several adapters may run
    /// one kind (two Helm adapters with different repositories): existing deployments of
    /// that kind go to the default adapter if it runs the kind, else to the first added,
    /// and a create may name any of them.
    pub fn with_adapter(mut self, adapter: Arc<dyn DeploymentAdapter>) -> Result<Self> {
        if self.adapter(adapter.name()).is_some() {
            return Err(Error::invalid(
                "plugins.dms",
                format!("two adapters are named {}", adapter.name()),
            ));
        }
        self.adapters.push(adapter);
        Ok(self)
    }

    /// Makes the adapter called `name` the default for creates that choose none.
    pub fn with_default(mut self, name: &str) -> Result<Self> {
        if self.adapter(name).is_none() {
            return Err(Error::invalid(
                "plugins.dms",
                format!("the default adapter {name} is not configured"),
            ));
        }
        self.default = Some(name.to_owned());
        Ok(self)
    }

    /// The default adapter: the configured one, else the first added.
    pub fn default_adapter(&self) -> Option<&dyn DeploymentAdapter> {
        self.default
            .as_deref()
            .and_then(|name| self.adapter(name))
            .or_else(|| self.adapters().next())
    }

    /// The connection.
    pub fn connection(&self) -> &Arc<ClusterConnection> {
        &self.connection
    }

    /// Every adapter, in the order they were added.
    pub fn adapters(&self) -> impl Iterator<Item = &dyn DeploymentAdapter> {
        self.adapters.iter().map(|a| a.as_ref())
    }

    /// The adapter instance called `name`.
    pub fn adapter(&self, name: &str) -> Option<&dyn DeploymentAdapter> {
        self.adapters().find(|a| a.name() == name)
    }

    /// The adapter that runs existing deployments of `kind`.
    pub fn adapter_for(&self, kind: DeploymentKind) -> Option<&dyn DeploymentAdapter> {
        self.default_adapter()
            .filter(|a| a.kinds().contains(&kind))
            .or_else(|| self.adapters().find(|a| a.kinds().contains(&kind)))
    }

    /// The adapters that run some kind's existing deployments: each object is read through
    /// exactly one of them, however many adapters share its kind.
    pub fn primaries(&self) -> impl Iterator<Item = &dyn DeploymentAdapter> {
        self.adapters().filter(|a| {
            a.kinds()
                .iter()
                .any(|k| self.adapter_for(*k).is_some_and(|p| p.name() == a.name()))
        })
    }

    /// The adapter a create goes to: the one it names, else the one its kind needs.
    pub fn adapter_for_create(
        &self,
        named: Option<&str>,
        kind: DeploymentKind,
    ) -> Result<&dyn DeploymentAdapter> {
        match named {
            Some(name) => {
                // Naming an adapter that is not configured is naming something that does not
                // exist (404), like any other name.
                let adapter = self.adapter(name).ok_or_else(|| {
                    Error::not_found(
                        "adapter",
                        format!(
                            "{name} (configured: {})",
                            self.adapters()
                                .map(|a| a.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
                if !adapter.kinds().contains(&kind) {
                    return Err(Error::invalid(
                        "adapter",
                        format!("adapter {name} does not run {kind}"),
                    ));
                }
                Ok(adapter)
            }
            None => self.adapter_for(kind).ok_or_else(|| {
                Error::AdapterUnhealthy(format!(
                    "no adapter for {kind} is configured: add one under plugins.dms"
                ))
            }),
        }
    }
}

/// Every cluster, by id, and the adapters configured for them.
#[derive(Clone, Debug, Default)]
pub struct ClusterRegistry {
    clusters: BTreeMap<ClusterId, ClusterHandle>,
    plugins: Vec<PluginConfig>,
}

impl ClusterRegistry {
    /// The one cluster of the `flux` and `helm` sections (the shorthand for two adapters).
    pub async fn connect_default(
        flux: &FluxConfig,
        helm: HelmConfig,
        pool: &PgPool,
        helm_home: PathBuf,
    ) -> Result<Self> {
        let plugins = PluginConfig::shorthand(flux, &helm);
        Self::connect(&plugins, pool, helm_home, &Home::default()).await
    }

    /// The adapters of `plugins.dms`, every enabled one started against the one cluster
    /// their kubeconfig names. Each Helm adapter keeps its repository settings in its own
    /// directory under `helm_home`; `home` says where Pilothouse itself lives there.
    pub async fn connect(
        plugins: &[PluginConfig],
        pool: &PgPool,
        helm_home: PathBuf,
        home: &Home,
    ) -> Result<Self> {
        super::plugins::validate(plugins)?;
        let enabled: Vec<&PluginConfig> = plugins.iter().filter(|p| p.enabled).collect();
        let Some(first) = enabled.first() else {
            return Ok(Self::unconnected(plugins));
        };
        let connection = Arc::new(
            ClusterConnection::new(
                ClusterId::default(),
                super::flux::kube_config(first.settings.kubeconfig()).await?,
            )?
            .with_home(home.clone()),
        );
        let mut cluster = ClusterHandle::new(connection.clone());
        for plugin in &enabled {
            let adapter: Arc<dyn DeploymentAdapter> = match &plugin.settings {
                PluginSettings::Flux(config) => Arc::new(FluxAdapter::named(
                    &connection,
                    &plugin.name,
                    config.clone(),
                    spec_record(pool),
                )?),
                PluginSettings::Helm(config) => Arc::new(HelmAdapter::named(
                    &connection,
                    &plugin.name,
                    config.clone(),
                    helm_records(pool),
                    helm_home.join(&plugin.name),
                )?),
            };
            cluster = cluster.with_adapter(adapter)?;
        }
        if let Some(plugin) = enabled.iter().find(|p| p.default) {
            cluster = cluster.with_default(&plugin.name)?;
        }
        let mut registry = Self::single(cluster);
        registry.plugins = plugins.to_vec();
        Ok(registry)
    }

    /// No cluster, with the adapters that would run in one (so that they can be reported).
    pub fn unconnected(plugins: &[PluginConfig]) -> Self {
        Self {
            plugins: plugins.to_vec(),
            ..Self::default()
        }
    }

    /// What `GET /o2dms/v1/plugins` shows: every configured adapter, enabled or not.
    pub async fn describe_plugins(&self) -> Vec<PluginInfo> {
        let mut infos = Vec::new();
        for plugin in &self.plugins {
            let running = self.clusters.values().find_map(|c| c.adapter(&plugin.name));
            infos.push(super::plugins::describe(plugin, running).await);
        }
        infos
    }

    /// A registry with one cluster.
    pub fn single(handle: ClusterHandle) -> Self {
        let mut registry = Self::default();
        registry.insert(handle);
        registry
    }

    /// Adds (or replaces) a cluster.
    pub fn insert(&mut self, handle: ClusterHandle) {
        self.clusters.insert(handle.connection.id().clone(), handle);
    }

    /// Whether no cluster is configured.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Every cluster.
    pub fn clusters(&self) -> impl Iterator<Item = &ClusterHandle> {
        self.clusters.values()
    }

    /// One cluster, or why there is none.
    pub fn cluster(&self, id: &ClusterId) -> Result<&ClusterHandle> {
        if self.clusters.is_empty() {
            return Err(no_cluster());
        }
        self.clusters
            .get(id)
            .ok_or_else(|| Error::not_found("cluster", id.as_str()))
    }

    /// Every adapter of every cluster.
    pub fn adapters(&self) -> impl Iterator<Item = &dyn DeploymentAdapter> {
        self.clusters.values().flat_map(ClusterHandle::adapters)
    }

    /// The adapters every deployment is read through once (see [`ClusterHandle::primaries`]).
    pub fn primaries(&self) -> impl Iterator<Item = &dyn DeploymentAdapter> {
        self.clusters.values().flat_map(ClusterHandle::primaries)
    }

    /// The adapter that runs `deployment`, or why there is none.
    pub fn adapter_for(&self, deployment: &DeploymentRef) -> Result<&dyn DeploymentAdapter> {
        self.cluster(deployment.cluster())?
            .adapter_for(deployment.kind())
            .ok_or_else(|| {
                Error::AdapterUnhealthy(format!(
                    "no adapter for {} is configured in cluster {}",
                    deployment.kind(),
                    deployment.cluster()
                ))
            })
    }
}

/// The error every deployment operation gives when no cluster is configured.
pub fn no_cluster() -> Error {
    Error::AdapterUnhealthy(
        "no deployment adapter is configured: set a kubeconfig (flux.kubeconfig or KUBECONFIG)"
            .into(),
    )
}
