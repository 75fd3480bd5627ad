//! Bulk actions: the list's selected rows, one audited operation each, every row answered.

use super::{RequestContext, Service};
use crate::{Error, Result};
use model::bulk::{BulkAction, BulkOutcome, BulkResult, MAX_BULK};
use model::deployment::ReconcileRequest;
use model::reference::DeploymentRef;

impl Service {
    /// Runs `action` on each deployment in turn; a refusal or failure on one row is that
    /// row's result and the others go on.
    pub async fn bulk_deployments(
        &self,
        ctx: &RequestContext,
        ids: &[String],
        action: &BulkAction,
    ) -> Result<Vec<BulkResult>> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(Error::invalid(
                "ids",
                format!(
                    "select between 1 and {MAX_BULK} deployments (got {})",
                    ids.len()
                ),
            ));
        }
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            let outcome = match id.parse::<DeploymentRef>() {
                Ok(target) => self.bulk_one(ctx, &target, action).await,
                Err(error) => Err(Error::from(error)),
            };
            results.push(match outcome {
                Ok(message) => BulkResult {
                    id: id.clone(),
                    outcome: BulkOutcome::Done,
                    message,
                },
                Err(error) => BulkResult {
                    id: id.clone(),
                    outcome: if error.status() == 403 {
                        BulkOutcome::Refused
                    } else {
                        BulkOutcome::Failed
                    },
                    message: error.to_string(),
                },
            });
        }
        Ok(results)
    }

    async fn bulk_one(
        &self,
        ctx: &RequestContext,
        target: &DeploymentRef,
        action: &BulkAction,
    ) -> Result<String> {
        match action {
            BulkAction::Reconcile => {
                let request = ReconcileRequest {
                    no_wait: true,
                    ..ReconcileRequest::default()
                };
                let outcome = self.reconcile_deployment(ctx, target, request).await?;
                Ok(outcome.message)
            }
            BulkAction::Suspend { reason } => {
                let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
                self.set_deployment_suspended(ctx, target, true, reason, false)
                    .await?;
                Ok("suspended".into())
            }
            BulkAction::Resume => {
                self.set_deployment_suspended(ctx, target, false, None, false)
                    .await?;
                Ok("resumed".into())
            }
        }
    }
}
