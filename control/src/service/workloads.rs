//! What runs behind a deployment: its workloads and their pods, a container's log, and the
//! operator's actions (restart a rollout, delete a pod, run a CronJob now). Every read and
//! write goes to the API server as the namespace's tenant identity, so Kubernetes holds the
//! tenant to its namespaces as the policy does; only pods of the deployment's own workloads
//! are reachable (another one is a 404, whoever owns it).

use super::{RequestContext, Service};
use crate::access::{Action, Namespaces, policy};
use crate::adapters::context::{RunAs, TENANT_SERVICE_ACCOUNT};
use crate::adapters::workloads;
use crate::{Error, Result};
use futures::Stream;
use kube::Client;
use model::deployment::InventoryEntry;
use model::reference::{DeploymentRef, NamespaceRef};
use model::workload::{PodLogQuery, Workload};
use serde_json::json;
use std::collections::BTreeMap;

impl Service {
    /// The workloads among what `deployment` applied, with their pods (deployment viewers).
    pub async fn workloads(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<Vec<Workload>> {
        let (_, _, grants) = self
            .on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        let visible = policy::visible_namespaces(&grants, Action::DeploymentGet);
        let mut found = Vec::new();
        for (namespace, entries) in self.workload_entries(deployment, &visible)? {
            let client = self.tenant_client(&namespace)?;
            let entries: Vec<&InventoryEntry> = entries.iter().collect();
            found.extend(workloads::in_namespace(&client, namespace.name(), &entries).await?);
        }
        Ok(found)
    }

    /// A container's log in a pod of `deployment` (operators: logs tell more than status).
    pub async fn pod_logs(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        namespace: &str,
        pod: &str,
        query: &PodLogQuery,
    ) -> Result<String> {
        let (namespace, client) = self
            .pod_of(ctx, Action::DeploymentLogs, deployment, namespace, pod)
            .await?;
        workloads::pod_log(&client, namespace.name(), pod, query).await
    }

    /// A container's log as it is written, for as long as the caller follows it.
    pub async fn follow_pod_logs(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        namespace: &str,
        pod: &str,
        query: &PodLogQuery,
    ) -> Result<impl Stream<Item = String> + Send + 'static> {
        let (namespace, client) = self
            .pod_of(ctx, Action::DeploymentLogs, deployment, namespace, pod)
            .await?;
        let lines = workloads::follow_pod_log(&client, namespace.name(), pod, query).await?;
        self.counted(ctx, lines)
    }

    /// `kubectl rollout restart` of one of `deployment`'s workloads (`resource`:
    /// `deployments`, `statefulsets` or `daemonsets`).
    pub async fn restart_workload(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        resource: &str,
        name: &str,
    ) -> Result<()> {
        let kind = workloads::kind_of_resource(resource)?;
        let namespace = self.workload_namespace(deployment, kind, name)?;
        let on = (&namespace, kind, name, deployment);
        self.audited_action(ctx, Action::WorkloadRestart, on, async |client| {
            workloads::restart(&client, namespace.name(), kind, name).await
        })
        .await
    }

    /// Deletes a pod of `deployment`'s workloads; its controller makes a new one.
    pub async fn delete_pod(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        namespace: &str,
        pod: &str,
    ) -> Result<()> {
        let (namespace, _) = self
            .pod_of(ctx, Action::PodDelete, deployment, namespace, pod)
            .await?;
        let on = (&namespace, "Pod", pod, deployment);
        self.audited_action(ctx, Action::PodDelete, on, async |client| {
            workloads::delete_pod(&client, namespace.name(), pod).await
        })
        .await
    }

    /// Runs one of `deployment`'s CronJobs now; answers the Job's name.
    pub async fn run_cronjob(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        name: &str,
    ) -> Result<String> {
        let namespace = self.workload_namespace(deployment, "CronJob", name)?;
        let on = (&namespace, "CronJob", name, deployment);
        self.audited_action(ctx, Action::CronJobRun, on, async |client| {
            workloads::run_cronjob(&client, namespace.name(), name).await
        })
        .await
    }

    /// The workloads `deployment` applied in namespaces in `visible`, by namespace.
    fn workload_entries(
        &self,
        deployment: &DeploymentRef,
        visible: &Namespaces,
    ) -> Result<BTreeMap<NamespaceRef, Vec<InventoryEntry>>> {
        let adapter = self.adapter_for(deployment)?;
        let Some(inventory) = adapter.as_inventory() else {
            return Ok(BTreeMap::new());
        };
        let mut by_namespace: BTreeMap<NamespaceRef, Vec<InventoryEntry>> = BTreeMap::new();
        for entry in inventory.inventory(deployment)? {
            if !workloads::is_workload(&entry) {
                continue;
            }
            let Ok(namespace) = NamespaceRef::new(deployment.cluster().clone(), &entry.namespace)
            else {
                continue;
            };
            if visible.contains(&namespace) {
                by_namespace.entry(namespace).or_default().push(entry);
            }
        }
        Ok(by_namespace)
    }

    /// Where `deployment` applied the workload `kind`/`name`; 404 when it applied none.
    fn workload_namespace(
        &self,
        deployment: &DeploymentRef,
        kind: &str,
        name: &str,
    ) -> Result<NamespaceRef> {
        let adapter = self.adapter_for(deployment)?;
        let entries = match adapter.as_inventory() {
            Some(inventory) => inventory.inventory(deployment)?,
            None => Vec::new(),
        };
        entries
            .into_iter()
            .find(|e| workloads::is_workload(e) && e.kind == kind && e.name == name)
            .and_then(|e| NamespaceRef::new(deployment.cluster().clone(), &e.namespace).ok())
            .ok_or_else(|| {
                Error::not_found(
                    "workload",
                    format!(
                        "{kind} {name} is not among what {} applied",
                        deployment.describe()
                    ),
                )
            })
    }

    /// Authorizes `action` on `deployment` and finds `pod` among its pods: its namespace and
    /// the tenant client to reach it with. A pod of anything else is 404.
    async fn pod_of(
        &self,
        ctx: &RequestContext,
        action: Action,
        deployment: &DeploymentRef,
        namespace: &str,
        pod: &str,
    ) -> Result<(NamespaceRef, Client)> {
        let (_, _, grants) = self
            .on_deployment(ctx, action, deployment, json!({ "pod": pod }))
            .await?;
        let visible = policy::visible_namespaces(&grants, Action::DeploymentGet);
        let not_found = || {
            Error::not_found(
                "pod",
                format!("{namespace}/{pod} of {}", deployment.describe()),
            )
        };
        let entries = self.workload_entries(deployment, &visible)?;
        let (namespace, entries) = entries
            .into_iter()
            .find(|(ns, _)| ns.name() == namespace)
            .ok_or_else(not_found)?;
        let client = self.tenant_client(&namespace)?;
        let entries: Vec<&InventoryEntry> = entries.iter().collect();
        let found = workloads::in_namespace(&client, namespace.name(), &entries).await?;
        if !found.iter().flat_map(|w| &w.pods).any(|p| p.name == pod) {
            return Err(not_found());
        }
        Ok((namespace, client))
    }

    /// The namespace's tenant identity in the cluster.
    fn tenant_client(&self, namespace: &NamespaceRef) -> Result<Client> {
        self.registry
            .cluster(namespace.cluster())?
            .connection()
            .client_as(&RunAs::tenant(namespace.name(), TENANT_SERVICE_ACCOUNT))
    }

    /// Authorizes `action` on a workload object (namespace, kind, name) of `deployment`, and
    /// runs `act` with the namespace's tenant client, recorded in the audit log.
    async fn audited_action<T>(
        &self,
        ctx: &RequestContext,
        action: Action,
        (namespace, kind, name, deployment): (&NamespaceRef, &'static str, &str, &DeploymentRef),
        act: impl AsyncFnOnce(Client) -> Result<T>,
    ) -> Result<T> {
        let (_, mut target, _) = self
            .namespaced(
                ctx,
                action,
                namespace,
                Some(name),
                json!({ "kind": kind, "deployment": deployment.to_string() }),
            )
            .await?;
        target.kind = Some(kind);
        let client = self.tenant_client(namespace)?;
        self.audited(ctx, action, &target, async |_| act(client).await)
            .await
    }
}
