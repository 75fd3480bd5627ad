//! The clusters Pilothouse manages and the adapters that run deployments in each.
//!
//! Each cluster has one [`ClusterConnection`] (its `kube::Config`, the base client and the
//! impersonating clients made from it) and the adapter instances configured for it, by name.
//! A deployment's kind says which adapter runs it, so routing never guesses.

use super::DeploymentAdapter;
use super::context::RunAs;
use super::flux::{FluxAdapter, FluxConfig, record::SpecRecord};
use super::helm::{HelmAdapter, HelmConfig};
use crate::{Error, Result};
use kube::Client;
use model::reference::{ClusterId, DeploymentKind, DeploymentRef};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How Pilothouse reaches one cluster.
pub struct ClusterConnection {
    id: ClusterId,
    config: kube::Config,
    client: Client,
    impersonating: Mutex<HashMap<RunAs, Client>>,
}

impl std::fmt::Debug for ClusterConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConnection")
            .field("id", &self.id)
            .field("server", &self.config.cluster_url.to_string())
            .finish_non_exhaustive()
    }
}

impl ClusterConnection {
    /// A connection to cluster `id` with `config`.
    pub fn new(id: ClusterId, config: kube::Config) -> Result<Self> {
        let client = Client::try_from(config.clone()).map_err(|e| Error::Cluster(e.to_string()))?;
        Ok(Self {
            id,
            config,
            client,
            impersonating: Mutex::new(HashMap::new()),
        })
    }

    /// The cluster's id.
    pub fn id(&self) -> &ClusterId {
        &self.id
    }

    /// The configuration it was made from.
    pub fn config(&self) -> &kube::Config {
        &self.config
    }

    /// The client acting as Pilothouse itself (reads, watches, provisioning).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A client whose requests the API server treats as `run_as`; made once per identity.
    /// Only the user is impersonated: the API server adds a service account's groups itself,
    /// so Pilothouse needs `impersonate` on the tenant accounts and nothing on groups.
    pub fn client_as(&self, run_as: &RunAs) -> Result<Client> {
        let Some(user) = run_as.user_name() else {
            return Ok(self.client.clone());
        };
        let mut clients = self
            .impersonating
            .lock()
            .map_err(|_| Error::Cluster("the client cache is poisoned".into()))?;
        if let Some(client) = clients.get(run_as) {
            return Ok(client.clone());
        }
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user);
        let client = Client::try_from(config).map_err(|e| Error::Cluster(e.to_string()))?;
        clients.insert(run_as.clone(), client.clone());
        Ok(client)
    }
}

/// One cluster: its connection and its adapters by instance name.
#[derive(Clone)]
pub struct ClusterHandle {
    connection: Arc<ClusterConnection>,
    adapters: Vec<Arc<dyn DeploymentAdapter>>,
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
        }
    }

    /// Adds an adapter instance; refused when its name or one of its kinds is taken.
    pub fn with_adapter(mut self, adapter: Arc<dyn DeploymentAdapter>) -> Result<Self> {
        if self.adapter(adapter.name()).is_some() {
            return Err(Error::invalid(
                "plugins.dms",
                format!("two adapters are named {}", adapter.name()),
            ));
        }
        if let Some(kind) = adapter
            .kinds()
            .iter()
            .find(|k| self.adapter_for(**k).is_some())
        {
            return Err(Error::invalid(
                "plugins.dms",
                format!(
                    "{kind} is already run by another adapter in cluster {}",
                    self.connection.id()
                ),
            ));
        }
        self.adapters.push(adapter);
        Ok(self)
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

    /// The adapter that runs deployments of `kind`.
    pub fn adapter_for(&self, kind: DeploymentKind) -> Option<&dyn DeploymentAdapter> {
        self.adapters().find(|a| a.kinds().contains(&kind))
    }
}

/// Every cluster, by id.
#[derive(Clone, Debug, Default)]
pub struct ClusterRegistry {
    clusters: BTreeMap<ClusterId, ClusterHandle>,
}

impl ClusterRegistry {
    /// The one cluster of today's configuration (the `flux` and `helm` sections), its
    /// connection from the configured kubeconfig, and a Flux and a Helm adapter for it.
    pub async fn connect_default(
        flux: &FluxConfig,
        mut helm: HelmConfig,
        pool: &PgPool,
        helm_home: PathBuf,
    ) -> Result<Self> {
        flux.validate()?;
        let connection = Arc::new(ClusterConnection::new(
            ClusterId::default(),
            super::flux::kube_config(flux).await?,
        )?);
        let flux_adapter =
            FluxAdapter::new(&connection, flux.clone(), SpecRecord::new(pool.clone()))?;
        if helm.kubeconfig.is_none() {
            helm.kubeconfig = flux.kubeconfig.clone();
        }
        let helm_adapter = HelmAdapter::new(&connection, helm, pool.clone(), helm_home)?;
        let cluster = ClusterHandle::new(connection)
            .with_adapter(Arc::new(flux_adapter))?
            .with_adapter(Arc::new(helm_adapter))?;
        Ok(Self::single(cluster))
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

    /// The adapter that runs `deployment`, or why there is none.
    pub fn adapter_for(&self, deployment: &DeploymentRef) -> Result<&dyn DeploymentAdapter> {
        self.cluster(&deployment.cluster)?
            .adapter_for(deployment.kind)
            .ok_or_else(|| {
                Error::AdapterUnhealthy(format!(
                    "no adapter for {} is configured in cluster {}",
                    deployment.kind, deployment.cluster
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
