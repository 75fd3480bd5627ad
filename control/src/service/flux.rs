//! Flux-only views and operations: trace from an object to its source, the controllers'
//! logs (filtered to the caller's namespaces), and the Flux sources the caller may see.
//! Fetching, suspending and resuming a source are [`Change`](super::change::Change)s.

use super::{AuditTarget, RequestContext, Service, permissions};
use crate::access::{Action, Namespaces, policy};
use crate::adapters::registry::no_cluster;
use crate::adapters::{ControllerLogs, Sources};
use crate::{Error, Result};
use model::deployment::{LogQuery, TraceStep};
use model::reference::{ClusterId, NamespaceRef};
use model::source::FluxSource;
use serde_json::{Value, json};

impl Service {
    /// The adapter in `namespace`'s cluster that serves sources.
    fn sources_in(&self, namespace: &NamespaceRef) -> Result<&dyn Sources> {
        self.registry
            .cluster(namespace.cluster())?
            .primaries()
            .find_map(|a| a.as_sources())
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
        self.sources_in(namespace)?
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

    /// Flux sources in the namespaces the caller may see.
    pub async fn list_sources(&self, ctx: &RequestContext) -> Result<Vec<FluxSource>> {
        let grants = self.grants(ctx).await?;
        let visible = policy::visible_namespaces(&grants, Action::SourceList);
        if self.registry.is_empty() {
            return Err(no_cluster());
        }
        let mut sources: Vec<FluxSource> = self
            .registry
            .primaries()
            .filter_map(|a| a.as_sources())
            .flat_map(|s| s.list_sources(&visible))
            .collect();
        let allowed = permissions::permissions_by_namespace(
            &grants,
            sources.iter().map(|s| s.namespace.as_str()),
            &permissions::SOURCE_ROW,
        );
        for source in &mut sources {
            source.permissions = allowed.get(&source.namespace).cloned().unwrap_or_default();
        }
        Ok(sources)
    }
}
