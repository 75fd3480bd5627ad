//! Flux-only views and operations: trace from an object to its source, the controllers'
//! logs (filtered to the caller's namespaces), the toolkit objects (sources, image and
//! notification objects) the caller may see, and the Flux check. Reconciling, suspending
//! and resuming a toolkit object are [`Change`](super::change::Change)s.

use super::{AuditTarget, RequestContext, Service, permissions};
use crate::access::{Action, Namespaces, policy};
use crate::adapters::registry::no_cluster;
use crate::adapters::{ControllerLogs, Toolkit};
use crate::{Error, Result};
use model::action::ToolkitVerb;
use model::deployment::{LogQuery, TraceStep};
use model::flux::{FluxCheck, FluxObject, FluxObjectDetail};
use model::reference::{ClusterId, Family, NamespaceRef, ToolkitRef};
use serde_json::{Value, json};

impl Service {
    /// The adapter in `namespace`'s cluster that serves toolkit objects.
    fn toolkit_in(&self, namespace: &NamespaceRef) -> Result<&dyn Toolkit> {
        self.registry
            .cluster(namespace.cluster())?
            .primaries()
            .find_map(|a| a.as_toolkit())
            .ok_or_else(|| Error::AdapterUnhealthy("no Flux adapter is configured".into()))
    }

    /// The adapter that serves controller logs, and its cluster.
    pub(super) fn logs(&self) -> Result<(&ClusterId, &dyn ControllerLogs)> {
        if self.registry.is_empty() {
            return Err(no_cluster());
        }
        self.registry
            .clusters()
            .find_map(|cluster| {
                cluster
                    .primaries()
                    .find_map(|a| a.as_controller_logs())
                    .map(|logs| (cluster.connection().id(), logs))
            })
            .ok_or_else(|| Error::AdapterUnhealthy("no Flux adapter is configured".into()))
    }

    /// From any object in a namespace the caller may read to the Flux objects behind it.
    /// The trace stops at the first step in a namespace the caller may not read.
    pub async fn trace(
        &self,
        ctx: &RequestContext,
        api_version: &str,
        kind: &str,
        namespace: &NamespaceRef,
        name: &str,
    ) -> Result<Vec<TraceStep>> {
        let (_, _, grants) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        let visible = crate::access::policy::visible_namespaces(&grants, Action::DeploymentGet);
        self.toolkit_in(namespace)?
            .trace(api_version, kind, namespace, name, &visible)
            .await
    }

    /// Flux controller log lines about namespaces the caller may operate in (all lines for
    /// platform-admins): the controllers serve every tenant.
    pub async fn controller_logs(
        &self,
        ctx: &RequestContext,
        controller: &str,
        query: &LogQuery,
    ) -> Result<String> {
        let visible = self.visible(ctx, Action::DeploymentLogs).await?;
        if visible.is_none() {
            let target = AuditTarget {
                kind: Some("controller"),
                name: Some(controller.to_owned()),
                ..AuditTarget::default()
            };
            let denied = crate::access::Denied {
                action: Action::DeploymentLogs,
                target: format!("the {controller} logs"),
                needs: Action::DeploymentLogs.requirement().to_string(),
                missing: crate::access::policy::Missing::NoTenantWith(
                    crate::access::TenantRole::Operator,
                ),
            };
            return Err(self
                .deny(ctx, Action::DeploymentLogs, &target, denied)
                .await);
        }
        self.spend(ctx, super::Cost::ExpensiveRead)?;
        let (cluster, logs) = self.logs()?;
        let text = logs.controller_logs(controller, query).await?;
        if matches!(visible, Namespaces::All) {
            return Ok(text);
        }
        Ok(text
            .lines()
            .filter(|line| {
                serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| {
                        v.get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .is_some_and(|ns| visible.contains_in(cluster, &ns))
            })
            .map(|line| format!("{line}\n"))
            .collect())
    }

    /// The toolkit objects of `family` in the namespaces the caller may see, each with what
    /// the caller may do to it.
    pub async fn list_toolkit(
        &self,
        ctx: &RequestContext,
        family: Family,
    ) -> Result<Vec<FluxObject>> {
        let grants = self.grants(ctx).await?;
        let list = Action::on_toolkit(family, ToolkitVerb::List).unwrap_or(Action::SourceList);
        let visible = policy::visible_namespaces(&grants, list);
        if self.registry.is_empty() {
            return Err(no_cluster());
        }
        let mut objects: Vec<FluxObject> = self
            .registry
            .primaries()
            .filter_map(|a| a.as_toolkit())
            .flat_map(|s| s.list_toolkit(family, &visible))
            .collect();
        let allowed = permissions::permissions_by_namespace(
            &grants,
            objects.iter().map(|s| s.namespace.as_str()),
            &permissions::toolkit_row(family),
        );
        for object in &mut objects {
            object.permissions = allowed.get(&object.namespace).cloned().unwrap_or_default();
        }
        Ok(objects)
    }

    /// One toolkit object with its conditions, artifact, events and the deployments (in the
    /// caller's namespaces) that use it.
    pub async fn toolkit_detail(
        &self,
        ctx: &RequestContext,
        object: &ToolkitRef,
    ) -> Result<FluxObjectDetail> {
        let get =
            Action::on_toolkit(object.kind.family(), ToolkitVerb::Get).unwrap_or(Action::SourceGet);
        let (_, _, grants) = self
            .namespaced(
                ctx,
                get,
                &object.namespace,
                Some(&object.name),
                json!({ "kind": object.kind }),
            )
            .await?;
        let visible = policy::visible_namespaces(&grants, Action::DeploymentGet);
        let mut detail = self
            .toolkit_in(&object.namespace)?
            .toolkit_detail(object, &visible)
            .await?;
        detail.object.permissions = permissions::permissions_in(
            &grants,
            &object.namespace,
            &permissions::toolkit_row(object.kind.family()),
        );
        Ok(detail)
    }

    /// The Flux check: the objects stuck in the caller's namespaces, and for platform-admins
    /// the CRDs, controllers and lockdown of the installation.
    pub async fn flux_check(&self, ctx: &RequestContext) -> Result<FluxCheck> {
        let grants = self.grants(ctx).await?;
        let visible = policy::visible_namespaces(&grants, Action::FluxCheck);
        let installation = grants
            .global_role(crate::access::GlobalRole::PlatformAdmin)
            .is_some();
        if self.registry.is_empty() {
            return Err(no_cluster());
        }
        let toolkit = self
            .registry
            .primaries()
            .find_map(|a| a.as_toolkit())
            .ok_or_else(|| Error::AdapterUnhealthy("no Flux adapter is configured".into()))?;
        Ok(toolkit.flux_check(&visible, installation).await)
    }

    /// A source's artifact, for its tenant's operators: a file name and the bytes. Each
    /// download is recorded, since it hands out what Flux fetched with the tenant's
    /// credentials.
    pub async fn download_artifact(
        &self,
        ctx: &RequestContext,
        source: &ToolkitRef,
    ) -> Result<(String, Vec<u8>)> {
        let (_, mut target, _) = self
            .namespaced(
                ctx,
                Action::SourceDownload,
                &source.namespace,
                Some(&source.name),
                json!({ "kind": source.kind }),
            )
            .await?;
        target.kind = Some(source.kind.as_str());
        let toolkit = self.toolkit_in(&source.namespace)?;
        self.audited(ctx, Action::SourceDownload, &target, async |_| {
            toolkit.artifact(source).await
        })
        .await
    }

    /// The Secrets a source in `namespace` may name, for a form's picker: only for those who
    /// may create sources there, and only their names.
    pub async fn secret_names(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
    ) -> Result<Vec<String>> {
        self.namespaced(ctx, Action::SourceCreate, namespace, None, json!({}))
            .await?;
        self.toolkit_in(namespace)?.secret_names(namespace).await
    }

    /// The families whose CRDs the cluster does not serve, so pages can hide them.
    pub fn missing_families(&self) -> Vec<Family> {
        self.registry
            .primaries()
            .find_map(|a| a.as_toolkit())
            .map(|t| t.missing_families())
            .unwrap_or_default()
    }
}
