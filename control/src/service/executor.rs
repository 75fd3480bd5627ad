//! The executor: a [`Change`] is authorized, its intent audited, recorded in `operations`,
//! run by the adapter that owns its target with a write context, and its outcome recorded
//! in both places. `submit` runs it at once and waits, which is what every endpoint does
//! today.

use super::change::{Change, ChangeOutcome};
use super::{RequestContext, Service};
use crate::adapters::context::{Progress, ProgressSink, WriteCtx};
use crate::adapters::registry::ClusterHandle;
use crate::adapters::{DeploymentAdapter, Sources};
use crate::{Error, Result};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Who runs an operation: this process, as other replicas will see it.
fn owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "pilothouse".into());
    format!("{host}:{}", std::process::id())
}

/// The `operations` table.
#[derive(Debug, Clone)]
pub struct OperationLog {
    pool: PgPool,
}

/// One stored operation, as far as callers need it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationRecord {
    /// The audit operation id.
    pub id: Uuid,
    /// The change.
    pub change: Change,
    /// pending, running, succeeded, failed or cancelled.
    pub state: String,
    /// The steps it reported, oldest first.
    pub steps: Vec<Value>,
    /// Why it failed.
    pub error: Option<String>,
}

impl OperationLog {
    /// The table in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn start(&self, id: Uuid, change: &Change, ctx: &RequestContext) -> Result<()> {
        let namespace = change.namespace();
        let (kind, name) = change.target();
        let change =
            serde_json::to_value(change).map_err(|e| Error::invalid("change", e.to_string()))?;
        sqlx::query(
            "INSERT INTO operations (id, cluster, namespace, kind, name, change, state, requested_by, owner, heartbeat) \
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, now())",
        )
        .bind(id)
        .bind(namespace.cluster.as_str())
        .bind(namespace.name())
        .bind(kind)
        .bind(name)
        .bind(change)
        .bind(json!({
            "issuer": ctx.principal.issuer,
            "subject": ctx.principal.subject,
            "email": ctx.principal.email,
            "channel": ctx.channel.as_str(),
            "requestId": ctx.request_id,
        }))
        .bind(owner())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn finish(
        &self,
        id: Uuid,
        outcome: &Result<ChangeOutcome>,
        steps: &[Progress],
    ) -> Result<()> {
        let steps: Vec<Value> = steps
            .iter()
            .map(|s| json!({ "percent": s.percent, "step": s.step }))
            .collect();
        let (state, result, error) = match outcome {
            Ok(result) => ("succeeded", serde_json::to_value(result).ok(), None),
            Err(error) => ("failed", None, Some(error.to_string())),
        };
        sqlx::query(
            "UPDATE operations SET state = $2, steps = $3, result = $4, error = $5, \
             heartbeat = now(), updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(Value::Array(steps))
        .bind(result)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One operation by its audit operation id.
    pub async fn get(&self, id: Uuid) -> Result<OperationRecord> {
        let row: Option<(Value, String, Value, Option<String>)> =
            sqlx::query_as("SELECT change, state, steps, error FROM operations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (change, state, steps, error) =
            row.ok_or_else(|| Error::not_found("operation", id.to_string()))?;
        Ok(OperationRecord {
            id,
            change: serde_json::from_value(change)
                .map_err(|e| Error::Conflict(format!("operation {id} cannot be read: {e}")))?,
            state,
            steps: steps.as_array().cloned().unwrap_or_default(),
            error,
        })
    }
}

/// What runs a change: the adapter that owns its deployment, or the cluster's sources.
enum Runner<'a> {
    Deployment(&'a dyn DeploymentAdapter),
    Sources(&'a dyn Sources),
}

fn runner<'a>(cluster: &'a ClusterHandle, change: &Change) -> Result<Runner<'a>> {
    if let Change::CreateDeployment { kind, request, .. } = change {
        return cluster
            .adapter_for_create(request.adapter.as_deref(), *kind)
            .map(Runner::Deployment);
    }
    match change.kind() {
        Some(kind) => cluster
            .adapter_for(kind)
            .map(Runner::Deployment)
            .ok_or_else(|| Error::AdapterUnhealthy(format!("no adapter for {kind} is configured"))),
        None => cluster
            .primaries()
            .find_map(|a| a.as_sources())
            .map(Runner::Sources)
            .ok_or_else(|| Error::AdapterUnhealthy("no Flux adapter is configured".into())),
    }
}

async fn execute(runner: &Runner<'_>, write: &WriteCtx, change: &Change) -> Result<ChangeOutcome> {
    let deployment = |d: Deployment| ChangeOutcome::Deployment(Box::new(d));
    use model::deployment::Deployment;
    match (runner, change) {
        (Runner::Deployment(adapter), Change::CreateDeployment { kind, request, .. }) => {
            Ok(deployment(adapter.create(write, *kind, request).await?))
        }
        (
            Runner::Deployment(adapter),
            Change::UpdateDeployment {
                deployment: d,
                update,
            },
        ) => Ok(deployment(adapter.update(write, d, update).await?)),
        (Runner::Deployment(adapter), Change::DeleteDeployment { deployment: d }) => {
            adapter.delete(write, d).await?;
            Ok(ChangeOutcome::Done)
        }
        (
            Runner::Deployment(adapter),
            Change::ScaleDeployment {
                deployment: d,
                replicas,
                path,
                ..
            },
        ) => Ok(deployment(
            adapter.scale(write, d, *replicas, path.as_deref()).await?,
        )),
        (
            Runner::Deployment(adapter),
            Change::RollbackDeployment {
                deployment: d,
                revision,
            },
        ) => Ok(ChangeOutcome::Rollback(
            adapter.rollback(write, d, *revision).await?,
        )),
        (
            Runner::Deployment(adapter),
            Change::ReconcileDeployment {
                deployment: d,
                request,
            },
        ) => Ok(ChangeOutcome::Reconcile(
            adapter.reconcile(write, d, *request).await?,
        )),
        (
            Runner::Deployment(adapter),
            Change::SuspendDeployment {
                deployment: d,
                suspend,
                reason,
                ..
            },
        ) => Ok(deployment(
            adapter
                .set_suspended(write, d, *suspend, reason.as_deref())
                .await?,
        )),
        (
            Runner::Sources(sources),
            Change::ReconcileSource {
                namespace,
                kind,
                name,
            },
        ) => Ok(ChangeOutcome::Reconcile(
            sources
                .reconcile_source(write, kind, namespace, name)
                .await?,
        )),
        (
            Runner::Sources(sources),
            Change::SuspendSource {
                namespace,
                kind,
                name,
                suspend,
            },
        ) => {
            sources
                .set_source_suspended(write, kind, namespace, name, *suspend)
                .await?;
            Ok(ChangeOutcome::Done)
        }
        _ => Err(Error::AdapterUnhealthy(
            "internal error: the change was routed to the wrong kind of adapter".into(),
        )),
    }
}

impl Service {
    /// Runs `change` for the caller and waits for its outcome: authorize → intent →
    /// record → act → outcome. A denial is audited; no intent row, no change.
    pub async fn submit(&self, ctx: &RequestContext, change: Change) -> Result<ChangeOutcome> {
        let action = change.action();
        let namespace = change.namespace();
        let (kind, name) = change.target();
        let (scope, mut target, grants) = self
            .namespaced(
                ctx,
                action,
                &namespace,
                Some(name),
                change.audit_parameters(),
            )
            .await?;
        target.kind = Some(kind);
        if let Some(wait) = self
            .refusals
            .exhausted(&super::principal_key(&ctx.principal))
        {
            return Err(Error::TooManyRefusals {
                seconds: wait.as_secs().max(1),
            });
        }
        let cluster = self.registry.cluster(&namespace.cluster)?;
        let runner = runner(cluster, &change)?;
        self.audited(ctx, action, &target, async |operation| {
            let steps = Arc::new(Mutex::new(Vec::new()));
            let sink = {
                let steps = steps.clone();
                ProgressSink::new(move |step| {
                    if let Ok(mut steps) = steps.lock() {
                        steps.push(step);
                    }
                })
            };
            let write = self
                .write_ctx(ctx, operation, action, &scope, &grants, sink)
                .forcing(change.force());
            self.operations.start(operation, &change, ctx).await?;
            let outcome = execute(&runner, &write, &change).await;
            let steps = steps.lock().map(|s| s.clone()).unwrap_or_default();
            if let Err(error) = self.operations.finish(operation, &outcome, &steps).await {
                // The change is done; the audit outcome row still records it.
                tracing::error!(%error, %operation, "could not record an operation's end");
            }
            outcome
        })
        .await
    }
}
