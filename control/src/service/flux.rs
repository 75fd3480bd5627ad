//! Flux-only views and operations: trace from an object to its source, the controllers'
//! logs (filtered to the caller's namespaces), and Flux sources (list, fetch now, suspend,
//! resume).

use super::{AuditTarget, RequestContext, Service};
use crate::Result;
use crate::access::{Action, Visible};
use crate::adapters::flux::observe::LogQuery;
use model::deployment::{ReconcileOutcome, TraceStep};
use model::source::FluxSource;
use serde_json::{Value, json};

impl Service {
    /// From any object in a namespace the caller may read to the Flux objects behind it.
    /// Steps in namespaces the caller may not read are shown without their details.
    pub async fn trace(
        &self,
        ctx: &RequestContext,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<TraceStep>> {
        let (scope, _) = self
            .namespaced(ctx, Action::DeploymentGet, namespace, Some(name), json!({}))
            .await?;
        let visible = self.visible(ctx, Action::DeploymentGet).await?;
        let mut steps = self
            .flux()?
            .trace(api_version, kind, scope.namespace(), name)
            .await?;
        for step in &mut steps {
            if !step.namespace.is_empty() && !visible.contains(&step.namespace) {
                step.message = "in a namespace you cannot read".into();
                step.revision = None;
                step.ready = None;
            }
        }
        Ok(steps)
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
        if matches!(&visible, Visible::Only(set) if set.is_empty()) {
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
        let text = self.flux()?.controller_logs(controller, query).await?;
        if matches!(visible, Visible::All) {
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
                    .is_some_and(|ns| visible.contains(&ns))
            })
            .map(|line| format!("{line}\n"))
            .collect())
    }

    /// Flux sources in the namespaces the caller may see.
    pub async fn list_sources(&self, ctx: &RequestContext) -> Result<Vec<FluxSource>> {
        let visible = self.visible(ctx, Action::SourceList).await?;
        Ok(self.flux()?.sources(&visible))
    }

    /// Asks Flux to fetch a source now and reports the artifact it produced.
    pub async fn reconcile_source(
        &self,
        ctx: &RequestContext,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<ReconcileOutcome> {
        let (scope, mut target) = self
            .namespaced(
                ctx,
                Action::SourceReconcile,
                namespace,
                Some(name),
                json!({ "kind": kind }),
            )
            .await?;
        target.kind = Some("source");
        let flux = self.flux()?;
        self.audited(ctx, Action::SourceReconcile, &target, async || {
            flux.reconcile_source(kind, scope.namespace(), name).await
        })
        .await
    }

    /// Suspends or resumes a source.
    pub async fn set_source_suspended(
        &self,
        ctx: &RequestContext,
        kind: &str,
        namespace: &str,
        name: &str,
        suspend: bool,
    ) -> Result<()> {
        let action = if suspend {
            Action::SourceSuspend
        } else {
            Action::SourceResume
        };
        let (scope, mut target) = self
            .namespaced(ctx, action, namespace, Some(name), json!({ "kind": kind }))
            .await?;
        target.kind = Some("source");
        let flux = self.flux()?;
        self.audited(ctx, action, &target, async || {
            flux.set_source_suspended(kind, scope.namespace(), name, suspend)
                .await
        })
        .await
    }
}
