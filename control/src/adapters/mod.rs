//! The deployment adapters behind one trait: Flux (HelmReleases and Kustomizations through the
//! Kubernetes API) and, with its own issue, Helm. The service calls them only through
//! [`DeploymentAdapter`], after the access check.

pub mod flux;
pub mod helm;
pub mod page;
pub mod values;

use crate::Result;
use crate::access::Visible;

use model::deployment::{
    Deployment, DeploymentEvent, DeploymentFilter, DeploymentPage, DeploymentRequest,
    DeploymentRevision, DeploymentUpdate, ReconcileOutcome, ReconcileRequest, RollbackOutcome,
};

/// What every deployment adapter does, in the reference adapters' terms.
#[async_trait::async_trait]
pub trait DeploymentAdapter: Send + Sync {
    /// The adapter's name in configuration and in the UI ("flux", "helm").
    fn name(&self) -> &'static str;
    /// Ok when the adapter can work; otherwise an error saying what is missing.
    async fn health(&self) -> Result<()>;
    /// Every deployment in the namespaces in `visible` that passes the filter's namespace,
    /// kind and label conditions, unsorted and unpaged.
    fn matching(&self, filter: &DeploymentFilter, visible: &Visible) -> Vec<Deployment>;
    /// One page of deployments in the namespaces in `visible`, with the total.
    fn list(&self, filter: &DeploymentFilter, visible: &Visible) -> Result<DeploymentPage> {
        page::select(self.matching(filter, visible), filter)
    }
    /// One deployment, with its status, progress and conditions.
    fn get(&self, namespace: &str, name: &str) -> Result<Deployment>;
    /// Creates a deployment.
    async fn create(&self, request: &DeploymentRequest) -> Result<Deployment>;
    /// Changes values, chart version or extensions.
    async fn update(
        &self,
        namespace: &str,
        name: &str,
        update: &DeploymentUpdate,
    ) -> Result<Deployment>;
    /// Deletes a deployment.
    async fn delete(&self, namespace: &str, name: &str) -> Result<()>;
    /// Sets the replica count (`replicaCount`, or the values path given).
    async fn scale(
        &self,
        namespace: &str,
        name: &str,
        replicas: u32,
        path: Option<&str>,
    ) -> Result<Deployment>;
    /// Restores an earlier revision (0: the one before the current).
    async fn rollback(&self, namespace: &str, name: &str, revision: u32)
    -> Result<RollbackOutcome>;
    /// Asks for a reconciliation and (unless told not to) waits for its outcome.
    async fn reconcile(
        &self,
        namespace: &str,
        name: &str,
        request: ReconcileRequest,
    ) -> Result<ReconcileOutcome>;
    /// Suspends (with an optional reason) or resumes a deployment.
    async fn set_suspended(
        &self,
        namespace: &str,
        name: &str,
        suspend: bool,
        reason: Option<&str>,
    ) -> Result<Deployment>;
    /// The revisions kept, newest first.
    async fn history(&self, namespace: &str, name: &str) -> Result<Vec<DeploymentRevision>>;
    /// Events about the deployment, newest first.
    async fn events(&self, namespace: &str, name: &str) -> Result<Vec<DeploymentEvent>>;
    /// The values it runs with (a HelmRelease's `spec.values`, a Helm release's user values).
    fn values(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>>;
    /// The deployment's object as clean YAML.
    async fn export_yaml(&self, namespace: &str, name: &str) -> Result<String>;
}
