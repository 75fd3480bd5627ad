//! Reading, listing and cancelling tracked operations, and marking the ones a stopped server
//! left open as interrupted, with what the cluster shows of their target.

use super::tracked::HEARTBEAT;
use super::{AuditTarget, RequestContext, Service, principal_key};
use crate::access::{Action, GlobalRole, policy};
use crate::audit::{Channel, Outcome};
use crate::store::operations::OperationRow;
use crate::{Error, Result};
use model::operation::Operation;
use model::reference::{ClusterId, DeploymentRef};
use serde_json::json;
use uuid::Uuid;

/// The most operations one list answers.
pub const MAX_OPERATIONS_LISTED: i64 = 200;

/// An operation id from a URL; one that is not a UUID names no operation (404).
pub fn parse_operation_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id)
        .map_err(|_| Error::not_found("operation", id.chars().take(64).collect::<String>()))
}

impl Service {
    /// One operation: its requester, and whoever may read its namespace, see it; to anyone
    /// else it does not exist.
    pub async fn get_operation(&self, ctx: &RequestContext, id: Uuid) -> Result<Operation> {
        let row = self.operations.get(id).await?;
        if !self.may_see(ctx, &row).await? {
            return Err(Error::not_found("operation", id.to_string()));
        }
        Ok(row.to_operation())
    }

    /// Recent operations, newest first: the caller's own (`mine`), or all in the namespaces
    /// the caller may read.
    pub async fn list_operations(
        &self,
        ctx: &RequestContext,
        mine: bool,
    ) -> Result<Vec<Operation>> {
        if mine {
            let rows = self
                .operations
                .recent(Some(&ctx.principal), MAX_OPERATIONS_LISTED)
                .await?;
            return Ok(rows.iter().map(OperationRow::to_operation).collect());
        }
        let visible = self.visible(ctx, Action::DeploymentGet).await?;
        let rows = self.operations.recent(None, MAX_OPERATIONS_LISTED).await?;
        Ok(rows
            .iter()
            .filter(|row| {
                row.requested_by(&ctx.principal)
                    || ClusterId::new(row.cluster.clone())
                        .is_ok_and(|c| visible.contains_in(&c, &row.namespace))
            })
            .map(OperationRow::to_operation)
            .collect())
    }

    /// Cancels a running operation: its requester may, and a tenant admin of its namespace.
    /// helm is stopped as Ctrl-C would stop it, so its own rollback applies. Audited.
    pub async fn cancel_operation(&self, ctx: &RequestContext, id: Uuid) -> Result<Operation> {
        let row = self.operations.get(id).await?;
        if !self.may_see(ctx, &row).await? {
            return Err(Error::not_found("operation", id.to_string()));
        }
        // A bulk operation acts in many namespaces and has none of its own.
        let namespace = ClusterId::new(row.cluster.clone())
            .and_then(|c| model::reference::NamespaceRef::new(c, row.namespace.clone()))
            .ok();
        let target = if row.requested_by(&ctx.principal) {
            let grants = self.grants(ctx).await?;
            AuditTarget {
                tenant: namespace
                    .as_ref()
                    .and_then(|n| grants.tenancy.namespace_owners.get(n).cloned()),
                cluster: ClusterId::new(row.cluster.clone()).ok(),
                namespace: namespace.as_ref().map(|n| n.name().to_owned()),
                kind: Some("operation"),
                name: Some(id.to_string()),
                parameters: json!({}),
            }
        } else {
            let Some(namespace) = namespace else {
                return Err(Error::not_found("operation", id.to_string()));
            };
            let (_, mut target, _) = self
                .namespaced(
                    ctx,
                    Action::OperationCancel,
                    &namespace,
                    Some(&id.to_string()),
                    json!({}),
                )
                .await?;
            target.kind = Some("operation");
            target
        };
        self.audited(ctx, Action::OperationCancel, &target, async |_| {
            let state = row.to_operation().state;
            if state.is_final() {
                return Err(Error::Conflict(format!(
                    "operation {id} has already ended ({})",
                    state.as_str()
                )));
            }
            if !self.running.cancel(id) {
                return Err(Error::Conflict(format!(
                    "operation {id} runs on another Pilothouse replica; cancel it there, or wait for it"
                )));
            }
            Ok(())
        })
        .await?;
        Ok(self.operations.get(id).await?.to_operation())
    }

    /// Tells live followers (the requester, and whoever may list its namespace) what
    /// operation `id` looks like now.
    pub(super) async fn announce_operation(&self, id: Uuid) {
        let Ok(row) = self.operations.get(id).await else {
            return;
        };
        let namespace = ClusterId::new(row.cluster.clone())
            .and_then(|c| model::reference::NamespaceRef::new(c, row.namespace.clone()))
            .ok();
        self.live.publish_operation(
            namespace,
            principal_key(&row.requester()),
            row.to_operation(),
        );
    }

    async fn may_see(&self, ctx: &RequestContext, row: &OperationRow) -> Result<bool> {
        if row.requested_by(&ctx.principal) {
            return Ok(true);
        }
        let grants = self.grants(ctx).await?;
        if grants.global_role(GlobalRole::Auditor).is_some() {
            return Ok(true);
        }
        let Ok(namespace) = ClusterId::new(row.cluster.clone())
            .and_then(|c| model::reference::NamespaceRef::new(c, row.namespace.clone()))
        else {
            return Ok(false);
        };
        Ok(policy::authorize_namespace(&grants, Action::DeploymentGet, &namespace).is_ok())
    }

    /// Marks operations whose server stopped (silent for three heartbeats) interrupted,
    /// with their target's state as the cluster shows it now, and writes their audit outcome.
    /// Answers how many it marked.
    pub async fn interrupt_abandoned(&self) -> Result<usize> {
        let mut marked = 0;
        for row in self.operations.abandoned(HEARTBEAT * 3).await? {
            let known = self.target_state(&row);
            let error = format!(
                "interrupted: the Pilothouse server running it stopped before it finished; {known}"
            );
            if !self.operations.interrupt(row.id, &error).await? {
                continue;
            }
            marked += 1;
            self.announce_operation(row.id).await;
            let Ok(change) = row.change() else { continue };
            let requester = RequestContext {
                principal: row.requester(),
                channel: Channel::System,
                request_id: None,
                client_addr: None,
                credential: None,
            };
            let (kind, name) = change.target();
            let namespace = change.namespace();
            let tenant = self
                .grants_of(&requester.principal)
                .await
                .ok()
                .and_then(|g| g.tenancy.namespace_owners.get(&namespace).cloned());
            let target = AuditTarget {
                tenant,
                cluster: Some(namespace.cluster().clone()),
                namespace: Some(row.namespace.clone()),
                kind: Some(kind),
                name: Some(name.to_owned()),
                parameters: json!({}),
            };
            self.write_outcome(
                &requester,
                row.id,
                change.action(),
                &target,
                Outcome::Failure,
                Some(error),
            )
            .await;
        }
        Ok(marked)
    }

    /// Marks abandoned operations interrupted now and then every heartbeat, for as long as
    /// the process runs (any replica may: marking is one conditional update).
    pub fn watch_abandoned_operations(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match this.interrupt_abandoned().await {
                    Ok(0) => {}
                    Ok(marked) => tracing::warn!(
                        marked,
                        "operations left open by a stopped server were marked interrupted"
                    ),
                    Err(error) => tracing::warn!(%error, "could not look for abandoned operations"),
                }
                tokio::time::sleep(HEARTBEAT).await;
            }
        });
    }

    /// What the cluster shows of an operation's deployment now.
    fn target_state(&self, row: &OperationRow) -> String {
        let Some(deployment) = row.change().ok().and_then(|change| {
            DeploymentRef::new(&change.namespace(), change.kind()?, row.name.clone()?).ok()
        }) else {
            return "its target is not a deployment".into();
        };
        match self
            .registry
            .adapter_for(&deployment)
            .and_then(|adapter| adapter.get(&deployment))
        {
            Ok(found) => format!(
                "{} is now at revision {} ({})",
                deployment.describe(),
                found.revision.as_deref().unwrap_or("none"),
                found.state.status.as_str()
            ),
            Err(Error::NotFound { .. }) => format!("{} does not exist now", deployment.describe()),
            Err(error) => format!("the state of {} is unknown: {error}", deployment.describe()),
        }
    }
}
