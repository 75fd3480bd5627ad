//! What every deployment adapter implements and what they share: the [`DeploymentAdapter`]
//! trait and the optional capability traits, the write context, cluster connections, tenant
//! identities, and the watch-cache kit (rows, pages, watches). The service calls adapters only
//! through these traits, after the access check; the adapter crates depend on this and never
//! on the service.

pub mod connection;
pub mod context;
pub mod identity;
pub mod namespaces;
pub mod object_health;
pub mod page;
pub mod records;
pub mod rows;
mod text_index;
pub mod values;
pub mod watch;
pub mod workloads;

use crate::Namespaces;
use crate::{Error, Result};
use context::WriteCtx;
use model::deployment::{
    Deployment, DeploymentEvent, DeploymentFilter, DeploymentPage, DeploymentRequest,
    DeploymentRevision, DeploymentStatus, DeploymentUpdate, InventoryEntry, LogQuery, Preview,
    ReconcileOutcome, ReconcileRequest, RollbackOutcome, TraceStep,
};
use model::flux::{FluxCheck, FluxObject, FluxObjectDetail, NewToolkitObject};
use model::reference::{DeploymentKind, DeploymentRef, Family, NamespaceRef, ToolkitRef};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// An API server error that is not about one object: a refusal stays a refusal (403, with
/// the API server's own message); anything else means the cluster could not be reached.
pub fn cluster_error(error: kube::Error) -> Error {
    match &error {
        kube::Error::Api(status) if status.code == 403 => {
            Error::ClusterForbidden(status.message.clone())
        }
        _ => Error::Cluster(error.to_string()),
    }
}

/// The kind of deployment a create request describes: a Helm release when it names a package
/// or a `helm.*` extension, otherwise the Flux kind in `flux.type` (HelmRelease by default).
pub fn requested_kind(request: &DeploymentRequest) -> Result<DeploymentKind> {
    if request.package_id.is_some() || request.extensions.keys().any(|k| k.starts_with("helm.")) {
        return Ok(DeploymentKind::Release);
    }
    let flux_type = request
        .extensions
        .get("flux.type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("helmrelease");
    match flux_type.to_ascii_lowercase().as_str() {
        "helmrelease" => Ok(DeploymentKind::HelmRelease),
        "kustomization" => Ok(DeploymentKind::Kustomization),
        other => Err(Error::invalid(
            "flux.type",
            format!("{other:?} is not helmrelease or kustomization"),
        )),
    }
}

/// What every deployment adapter does, in the reference adapters' terms.
#[async_trait::async_trait]
pub trait DeploymentAdapter: Send + Sync {
    /// The adapter instance's name in configuration and on every row it serves.
    fn name(&self) -> &str;
    /// The kinds of deployment it runs.
    fn kinds(&self) -> &'static [DeploymentKind];
    /// What it can do beyond create, read, update and delete, for `GET /plugins`.
    fn capabilities(&self) -> &'static [&'static str];
    /// What it runs with, for `GET /plugins`; none when that cannot be told right now.
    async fn version(&self) -> Option<String>;
    /// Ok when the adapter can work; otherwise an error saying what is missing.
    async fn health(&self) -> Result<()>;
    /// Whether the controllers that apply its objects run with Flux's multi-tenancy lockdown
    /// flags; none for adapters whose objects no Flux controller applies.
    async fn controller_lockdown(&self) -> Option<model::lockdown::FluxLockdown> {
        None
    }
    /// Ok once its caches have their first complete list.
    async fn wait_until_ready(&self, limit: Duration) -> Result<()>;
    /// Ok when the adapter may serve (readiness): its caches are synced and nothing its
    /// configuration requires is missing.
    async fn readiness(&self, limit: Duration) -> Result<()> {
        self.wait_until_ready(limit).await
    }
    /// Every deployment in the namespaces in `visible` that passes the filter's namespace,
    /// kind and label conditions, unsorted and unpaged.
    fn matching(&self, filter: &DeploymentFilter, visible: &Namespaces) -> Vec<Arc<Deployment>>;
    /// One page of deployments in the namespaces in `visible`, with the total.
    fn list(&self, filter: &DeploymentFilter, visible: &Namespaces) -> Result<DeploymentPage> {
        let after = page::cursor(filter)?;
        page::merge(
            vec![self.window(filter, visible, after.as_ref(), page::wanted(filter)?)],
            filter,
        )
    }
    /// The first `want` rows that pass `filter` in `visible` after `after`, in list order,
    /// with how many pass in all (one adapter's part of a page).
    fn window(
        &self,
        filter: &DeploymentFilter,
        visible: &Namespaces,
        after: Option<&rows::RowKey>,
        want: usize,
    ) -> rows::Window;
    /// One deployment, with its status, progress and conditions.
    fn get(&self, deployment: &DeploymentRef) -> Result<Deployment>;
    /// Every change to its rows from now on (the cache event bus).
    fn changes(&self) -> broadcast::Receiver<rows::CacheEvent>;
    /// Creates a deployment of `kind` in the request's namespace (checked by the service
    /// against the authorized one).
    async fn create(
        &self,
        ctx: &WriteCtx,
        kind: DeploymentKind,
        request: &DeploymentRequest,
    ) -> Result<Deployment>;
    /// Changes values, chart version or extensions.
    async fn update(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        update: &DeploymentUpdate,
    ) -> Result<Deployment>;
    /// Deletes a deployment.
    async fn delete(&self, ctx: &WriteCtx, deployment: &DeploymentRef) -> Result<()>;
    /// Sets the replica count (`replicaCount`, or the values path given).
    async fn scale(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        replicas: u32,
        path: Option<&str>,
    ) -> Result<Deployment>;
    /// Restores an earlier revision (0: the one before the current).
    async fn rollback(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        revision: u32,
    ) -> Result<RollbackOutcome>;
    /// Asks for a reconciliation and (unless told not to) waits for its outcome.
    async fn reconcile(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        request: ReconcileRequest,
    ) -> Result<ReconcileOutcome>;
    /// Suspends (with an optional reason) or resumes a deployment.
    async fn set_suspended(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        suspend: bool,
        reason: Option<&str>,
    ) -> Result<Deployment>;
    /// The revisions kept, newest first.
    async fn history(&self, deployment: &DeploymentRef) -> Result<Vec<DeploymentRevision>>;
    /// Events about the deployment, newest first.
    async fn events(&self, deployment: &DeploymentRef) -> Result<Vec<DeploymentEvent>>;
    /// The values it runs with (a HelmRelease's `spec.values`, a Helm release's user values).
    fn values(
        &self,
        deployment: &DeploymentRef,
    ) -> Result<serde_json::Map<String, serde_json::Value>>;
    /// The deployment's object as clean YAML.
    async fn export_yaml(&self, deployment: &DeploymentRef) -> Result<String>;
    /// The chart's `values.schema.json`, when the adapter holds the chart.
    fn values_schema(&self, _deployment: &DeploymentRef) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }

    /// What it applied, when the adapter can tell.
    fn as_inventory(&self) -> Option<&dyn Inventory> {
        None
    }
    /// Counts by kind and status, when the adapter keeps them.
    fn as_stats(&self) -> Option<&dyn Stats> {
        None
    }
    /// Flux toolkit objects (sources, image automation, notifications), tracing through
    /// them, and the Flux installation's health.
    fn as_toolkit(&self) -> Option<&dyn Toolkit> {
        None
    }
    /// The logs of the controllers that run its deployments.
    fn as_controller_logs(&self) -> Option<&dyn ControllerLogs> {
        None
    }
    /// Which releases run a chart, and previews of chart changes.
    fn as_charts(&self) -> Option<&dyn Charts> {
        None
    }
}

/// The objects a deployment applied.
pub trait Inventory: Send + Sync {
    /// What `deployment` applied.
    fn inventory(&self, deployment: &DeploymentRef) -> Result<Vec<InventoryEntry>>;
}

/// Counts of deployments.
pub trait Stats: Send + Sync {
    /// Counts by kind and status among the namespaces in `visible`.
    fn stats(&self, visible: &Namespaces) -> BTreeMap<(String, DeploymentStatus), usize>;
}

/// An object named by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectKey {
    /// Its kind (`Kustomization`, `GitRepository`, …).
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// One arrow of the dependency graph: `needing` cannot be ready without `needed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// What is depended on.
    pub needed: ObjectKey,
    /// What depends on it.
    pub needing: ObjectKey,
    /// `dependsOn`, `source`, `image` (a policy's image runs in the deployment) or `alert`
    /// (the Alert reports on the deployment).
    pub relation: &'static str,
}

/// A chart as helm can fetch it itself, and the release it would be rendered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteChart {
    /// The Helm repository's `https://` (or `http://`) URL; none for an `oci://` chart.
    pub repository: Option<String>,
    /// The chart's name in the repository, or its whole `oci://` reference.
    pub chart: String,
    /// The version (or range, or tag) asked for; none for the latest.
    pub version: Option<String>,
    /// The release name.
    pub release: String,
    /// The namespace it is rendered into.
    pub namespace: String,
    /// Whether the release also takes values from ConfigMaps or Secrets (`valuesFrom`),
    /// which a render from its `spec.values` leaves out.
    pub values_from: bool,
}

/// Flux toolkit objects: list and read them, reconcile, suspend and resume them, trace an
/// object to its source, and check the Flux installation.
#[async_trait::async_trait]
pub trait Toolkit: Send + Sync {
    /// The objects of `family` in `visible`.
    fn list_toolkit(&self, family: Family, visible: &Namespaces) -> Vec<FluxObject>;
    /// One object with its conditions, artifact and events, and the deployments in
    /// `visible` that use it.
    async fn toolkit_detail(
        &self,
        object: &ToolkitRef,
        visible: &Namespaces,
    ) -> Result<FluxObjectDetail>;
    /// Asks its controller to reconcile now and waits for the outcome.
    async fn reconcile_toolkit(
        &self,
        ctx: &WriteCtx,
        object: &ToolkitRef,
    ) -> Result<ReconcileOutcome>;
    /// Creates a source, an image policy or an alert, held to the tenant's lockdown and
    /// checked against the CRD's schema by the API server (strict field validation).
    async fn create_toolkit(&self, ctx: &WriteCtx, object: &NewToolkitObject)
    -> Result<FluxObject>;
    /// The names of the Secrets in `namespace` a source may use (not Helm's release records
    /// or service-account tokens); never their data.
    async fn secret_names(&self, namespace: &NamespaceRef) -> Result<Vec<String>>;
    /// A source's last artifact, as source-controller serves it (through the API server's
    /// service proxy), checked against the digest in its status: a file name and the bytes.
    async fn artifact(&self, source: &ToolkitRef) -> Result<(String, Vec<u8>)>;
    /// Deletes an object.
    async fn delete_toolkit(&self, ctx: &WriteCtx, object: &ToolkitRef) -> Result<()>;
    /// Suspends or resumes an object.
    async fn set_toolkit_suspended(
        &self,
        ctx: &WriteCtx,
        object: &ToolkitRef,
        suspend: bool,
    ) -> Result<()>;
    /// The families whose CRDs the cluster does not serve (their pages are hidden).
    fn missing_families(&self) -> Vec<Family>;
    /// The Flux installation as `flux check` sees it: CRDs, controllers and lockdown when
    /// `installation` is asked for, and the objects stuck in `visible`.
    async fn flux_check(&self, visible: &Namespaces, installation: bool) -> FluxCheck;
    /// The `dependsOn` and source arrows of the deployments in `visible`.
    fn links(&self, visible: &Namespaces) -> Vec<Link>;
    /// The arrows of image policies (to the deployments that run their image, `image`) and
    /// Alerts (from the deployments they report on, `alert`) in `visible`.
    async fn toolkit_links(&self, visible: &Namespaces) -> Vec<Link>;
    /// Where a HelmRelease's chart is, as helm can fetch it; says why when it cannot.
    fn remote_chart(&self, deployment: &DeploymentRef) -> Result<RemoteChart>;
    /// From any object to the objects that manage it and their source, stopping at the first
    /// step outside `visible` (shown without its namespace or name).
    async fn trace(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &NamespaceRef,
        name: &str,
        visible: &Namespaces,
    ) -> Result<Vec<TraceStep>>;
}

/// Controller logs.
#[async_trait::async_trait]
pub trait ControllerLogs: Send + Sync {
    /// A controller's log lines.
    async fn controller_logs(&self, controller: &str, query: &LogQuery) -> Result<String>;
}

/// Which releases run a chart, and previews of chart changes.
#[async_trait::async_trait]
pub trait Charts: Send + Sync {
    /// Releases (as `namespace/name`) in `visible` that run this chart name and version.
    fn chart_in_use(&self, chart: &str, version: &str, visible: &Namespaces) -> Vec<String>;
    /// A unified diff of what `change` would do to `deployment`; nothing is applied.
    async fn preview(&self, deployment: &DeploymentRef, change: &Preview) -> Result<String>;
    /// The manifest `helm template` renders for `chart` with `values`, fetching the chart
    /// itself (within the registry policy).
    async fn render_remote(
        &self,
        chart: &RemoteChart,
        values: &serde_json::Map<String, Value>,
    ) -> Result<String>;
}
