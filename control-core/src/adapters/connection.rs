//! How Pilothouse reaches one cluster: its `kube::Config`, the client acting as Pilothouse
//! itself, and the clients impersonating the tenant identities, made once each.

use super::context::RunAs;
use super::identity::ClusterRoles;
use crate::{Error, Result};
use kube::Client;
use model::reference::ClusterId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Pilothouse's own place in a cluster: where its Flux writer accounts live, and what its
/// ClusterRoles are called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Its namespace, where the Flux writer accounts live.
    pub namespace: String,
    /// The names of its ClusterRoles.
    pub roles: ClusterRoles,
}

impl Default for Home {
    /// deploy/rbac.yaml's: namespace `pilothouse`, ClusterRoles `pilothouse-…`.
    fn default() -> Self {
        Self {
            namespace: super::identity::DEFAULT_HOME_NAMESPACE.to_owned(),
            roles: ClusterRoles::default(),
        }
    }
}

/// How Pilothouse reaches one cluster.
pub struct ClusterConnection {
    id: ClusterId,
    config: kube::Config,
    client: Client,
    home: Home,
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
            home: Home::default(),
            impersonating: Mutex::new(HashMap::new()),
        })
    }

    /// The same connection with Pilothouse's own place in this cluster set to `home`.
    #[must_use]
    pub fn with_home(mut self, home: Home) -> Self {
        self.home = home;
        self
    }

    /// Pilothouse's own namespace in this cluster.
    pub fn home_namespace(&self) -> &str {
        &self.home.namespace
    }

    /// The names of Pilothouse's ClusterRoles in this cluster.
    pub fn cluster_roles(&self) -> &ClusterRoles {
        &self.home.roles
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
