//! The executor: how a [`Change`] is run by the adapter that owns its target, with a write
//! context. Accepting, running and finishing one is in `tracked`; its row in `operations` is
//! kept by `store::operations`.

use super::change::{Change, ChangeOutcome};
use crate::adapters::context::WriteCtx;
use crate::adapters::registry::ClusterHandle;
use crate::adapters::{DeploymentAdapter, Toolkit};
use crate::{Error, Result};

/// What runs a change: the adapter that owns its deployment, or the cluster's toolkit
/// objects.
pub(super) enum Runner<'a> {
    Deployment(&'a dyn DeploymentAdapter),
    /// The toolkit of the first primary adapter that has one, with that adapter's name.
    Toolkit(&'a str, &'a dyn Toolkit),
}

pub(super) fn runner<'a>(cluster: &'a ClusterHandle, change: &Change) -> Result<Runner<'a>> {
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
            .find_map(|a| Some(Runner::Toolkit(a.name(), a.as_toolkit()?)))
            .ok_or_else(|| Error::AdapterUnhealthy("no Flux adapter is configured".into())),
    }
}

/// Runs `change` with its adapter, counted and timed by adapter, operation and outcome.
pub(super) async fn execute(
    runner: &Runner<'_>,
    write: &WriteCtx,
    change: &Change,
) -> Result<ChangeOutcome> {
    let started = std::time::Instant::now();
    let outcome = run(runner, write, change).await;
    let adapter = match runner {
        Runner::Deployment(adapter) => adapter.name(),
        Runner::Toolkit(name, _) => name,
    };
    crate::metrics::adapter_operation(
        adapter,
        change.action().as_str(),
        crate::metrics::outcome(&outcome),
        started.elapsed(),
    );
    outcome
}

async fn run(runner: &Runner<'_>, write: &WriteCtx, change: &Change) -> Result<ChangeOutcome> {
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
        ) => {
            // Values read redacted and sent back keep the secrets left as `[REDACTED]`.
            let mut update = update.clone();
            if let (Some(values), Ok(current)) = (update.values.as_mut(), adapter.values(d)) {
                *values = super::reveal::restored(std::mem::take(values), &current);
            }
            Ok(deployment(adapter.update(write, d, &update).await?))
        }
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
        (Runner::Toolkit(_, toolkit), Change::ReconcileSource { source }) => Ok(
            ChangeOutcome::Reconcile(toolkit.reconcile_toolkit(write, source).await?),
        ),
        (Runner::Toolkit(_, toolkit), Change::CreateToolkit { object, .. }) => Ok(
            ChangeOutcome::Toolkit(Box::new(toolkit.create_toolkit(write, object).await?)),
        ),
        (Runner::Toolkit(_, toolkit), Change::DeleteToolkit { source }) => {
            toolkit.delete_toolkit(write, source).await?;
            Ok(ChangeOutcome::Done)
        }
        (Runner::Toolkit(_, toolkit), Change::SuspendSource { source, suspend }) => {
            toolkit
                .set_toolkit_suspended(write, source, *suspend)
                .await?;
            Ok(ChangeOutcome::Done)
        }
        _ => Err(Error::internal(
            "the change was routed to the wrong kind of adapter",
        )),
    }
}
