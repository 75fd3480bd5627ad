//! Bulk actions: the list's selected rows as one tracked operation. Each row is its own
//! audited change with its own result; the bulk operation reports a step per row, so up to
//! [`MAX_BULK`] rows never hold a request, and can be followed, and cancelled between rows.

use super::change::{Change, Ended};
use super::tracked::{MAX_RUNNING_PER_PRINCIPAL, Wait};
use super::{RequestContext, Service, principal_key};
use crate::access::Action;
use crate::adapters::context::Progress;
use crate::{Error, Result};
use model::bulk::{BulkAction, BulkOutcome, BulkResult, MAX_BULK};
use model::deployment::ReconcileRequest;
use model::operation::Answered;
use model::reference::{ClusterId, DeploymentRef};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The `kind` a bulk operation is stored and shown with.
pub const BULK_KIND: &str = "bulk";

/// A bulk action as its operation row stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "bulk")]
pub struct BulkChange {
    /// The deployment ids, as given.
    pub ids: Vec<String>,
    /// What is done to each.
    pub action: BulkAction,
}

impl BulkChange {
    /// The audited action each row runs as.
    pub fn row_action(&self) -> Action {
        match self.action {
            BulkAction::Reconcile => Action::DeploymentReconcile,
            BulkAction::Suspend { .. } => Action::DeploymentSuspend,
            BulkAction::Resume => Action::DeploymentResume,
        }
    }

    /// The action's name, as operations show it.
    pub fn action_name(&self) -> &'static str {
        self.row_action().as_str()
    }
}

impl Service {
    /// Runs `action` on each deployment in turn as one tracked operation; a refusal or
    /// failure on one row is that row's result and the others go on. Each row is made
    /// through [`Service::change`]. Answers the results when they are all in within `wait`,
    /// otherwise the operation to follow.
    pub async fn bulk_deployments(
        &self,
        ctx: &RequestContext,
        ids: &[String],
        action: &BulkAction,
        wait: Wait,
    ) -> Result<Answered<Vec<BulkResult>>> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(Error::invalid(
                "ids",
                format!(
                    "select between 1 and {MAX_BULK} deployments (got {})",
                    ids.len()
                ),
            ));
        }
        let key = principal_key(&ctx.principal);
        if self.running.count(&key) >= MAX_RUNNING_PER_PRINCIPAL {
            return Err(Error::TooManyOperations(MAX_RUNNING_PER_PRINCIPAL));
        }
        let bulk = BulkChange {
            ids: ids.to_vec(),
            action: action.clone(),
        };
        let cluster = ids
            .iter()
            .find_map(|id| id.parse::<DeploymentRef>().ok())
            .map_or_else(ClusterId::default_cluster, |d| d.cluster().clone());
        let id = Uuid::new_v4();
        self.operations
            .start_bulk(id, cluster.as_str(), &bulk, ctx)
            .await?;
        self.announce_operation(id).await;
        let cancel = CancellationToken::new();
        self.running.insert(id, key, cancel.clone());
        let (send, mut results) = oneshot::channel();
        let this = self.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let run = this.run_bulk(&ctx, id, &bulk, &cancel);
            let outcome = this.run_alive(id, &cancel, run).await;
            let stored = match &outcome {
                Ok(results) => this.end_bulk(id, results, cancel.is_cancelled()).await,
                Err(error) => {
                    this.operations
                        .end(id, "failed", None, Some(error.to_string()))
                        .await
                }
            };
            if let Err(error) = stored {
                tracing::error!(%error, operation = %id, "could not record a bulk operation's end");
            }
            this.running.remove(id);
            this.announce_operation(id).await;
            let _ = send.send(outcome);
        });
        let running = Answered::Running(id.to_string());
        let limit = match wait {
            Wait::UpTo(limit) if limit.is_zero() => return Ok(running),
            Wait::UpTo(limit) => limit,
            Wait::ToTheEnd => Duration::MAX,
        };
        match tokio::time::timeout(limit, &mut results).await {
            Ok(Ok(outcome)) => outcome.map(Answered::Done),
            // The task ended without an answer (it panicked) or the wait ran out: the
            // operation's row says how it ended.
            Ok(Err(_)) | Err(_) => Ok(running),
        }
    }

    /// Each row in turn, a step per row; rows not reached when cancelled are answered so.
    async fn run_bulk(
        &self,
        ctx: &RequestContext,
        id: Uuid,
        bulk: &BulkChange,
        cancel: &CancellationToken,
    ) -> Result<Vec<BulkResult>> {
        let total = bulk.ids.len();
        let mut results = Vec::with_capacity(total);
        for (done, row) in bulk.ids.iter().enumerate() {
            let result = if cancel.is_cancelled() {
                BulkResult {
                    id: row.clone(),
                    outcome: BulkOutcome::Failed,
                    message: "not started: the bulk operation was cancelled".into(),
                }
            } else {
                self.bulk_row(ctx, row, &bulk.action).await
            };
            let step = Progress {
                percent: u8::try_from((done + 1) * 100 / total).unwrap_or(100),
                step: format!(
                    "{} {}: {} ({})",
                    bulk.action.verb(),
                    describe(row),
                    result.outcome.as_str(),
                    result.message
                ),
            };
            if let Err(error) = self.operations.add_step(id, &step).await {
                tracing::warn!(%error, operation = %id, "could not store a step");
            }
            self.announce_operation(id).await;
            results.push(result);
        }
        Ok(results)
    }

    /// Stores the results: succeeded when every row was done, else failed saying how many
    /// were not (the results name each).
    async fn end_bulk(&self, id: Uuid, results: &[BulkResult], cancelled: bool) -> Result<()> {
        let missed = results
            .iter()
            .filter(|r| r.outcome != BulkOutcome::Done)
            .count();
        let value = serde_json::to_value(results).ok();
        let (state, error) = match (missed, cancelled) {
            (0, _) => ("succeeded", None),
            (_, true) => (
                "cancelled",
                Some(format!(
                    "cancelled; {missed} of {} rows were not done",
                    results.len()
                )),
            ),
            _ => (
                "failed",
                Some(format!(
                    "{missed} of {} rows were refused or failed; each row's step says why",
                    results.len()
                )),
            ),
        };
        self.operations.end(id, state, value, error).await
    }

    /// One row: its own audited change, its outcome as a result.
    async fn bulk_row(&self, ctx: &RequestContext, id: &str, action: &BulkAction) -> BulkResult {
        let outcome = match id.parse::<DeploymentRef>() {
            Ok(target) => self.bulk_one(ctx, &target, action).await,
            Err(error) => Err(Error::from(error)),
        };
        match outcome {
            Ok(message) => BulkResult {
                id: id.to_owned(),
                outcome: BulkOutcome::Done,
                message,
            },
            Err(error) => BulkResult {
                id: id.to_owned(),
                outcome: if error.status() == 403 {
                    BulkOutcome::Refused
                } else {
                    BulkOutcome::Failed
                },
                message: error.to_string(),
            },
        }
    }

    async fn bulk_one(
        &self,
        ctx: &RequestContext,
        target: &DeploymentRef,
        action: &BulkAction,
    ) -> Result<String> {
        let deployment = target.clone();
        let change = match action {
            BulkAction::Reconcile => Change::ReconcileDeployment {
                deployment,
                request: ReconcileRequest {
                    no_wait: true,
                    ..ReconcileRequest::default()
                },
            },
            BulkAction::Suspend { reason } => Change::SuspendDeployment {
                deployment,
                suspend: true,
                reason: reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                force: false,
            },
            BulkAction::Resume => Change::SuspendDeployment {
                deployment,
                suspend: false,
                reason: None,
                force: false,
            },
        };
        let outcome = self.change(ctx, change, Wait::ToTheEnd).await?.ended()?;
        Ok(match action {
            BulkAction::Reconcile => outcome.into_reconcile()?.message,
            BulkAction::Suspend { .. } => "suspended".into(),
            BulkAction::Resume => "resumed".into(),
        })
    }
}

/// A row's `namespace/name`, or the id as given when it does not parse (shortened).
fn describe(id: &str) -> String {
    id.parse::<DeploymentRef>().map_or_else(
        |_| id.chars().take(80).collect(),
        |d| format!("{}/{}", d.namespace(), d.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_change_is_stored_tagged_and_names_its_rows_action() {
        let bulk = BulkChange {
            ids: vec!["default~team-a~Kustomization~shop".into()],
            action: BulkAction::Suspend {
                reason: Some("freeze".into()),
            },
        };
        let stored = serde_json::to_value(&bulk).unwrap();
        assert_eq!(stored["type"], "bulk");
        assert_eq!(serde_json::from_value::<BulkChange>(stored).unwrap(), bulk);
        assert_eq!(bulk.action_name(), "deployment.suspend");
        assert_eq!(describe("default~team-a~Kustomization~shop"), "team-a/shop");
        assert_eq!(describe("not an id"), "not an id");
    }
}
