//! A deployment's timeline: revisions, audited operations on it and reconcile outcomes.

use super::{RequestContext, Service};
use crate::Result;
use crate::access::{Action, policy};
use crate::audit::Phase;
use crate::audit::query::{AuditFilter, query};
use model::reference::DeploymentRef;
use model::timeline::{Moment, TimelineEntry};
use serde_json::json;

/// Audit rows read per timeline.
const CHANGES: u32 = 50;

impl Service {
    /// Newest first. Operations come from the audit log as far as the caller may search it
    /// (their own operations only, for those who may not).
    pub async fn deployment_timeline(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<Vec<TimelineEntry>> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        let adapter = self.adapter_for(deployment)?;
        let mut entries: Vec<TimelineEntry> = adapter
            .history(deployment)
            .await?
            .into_iter()
            .filter_map(|r| {
                Some(TimelineEntry {
                    at: r.deployed_at?,
                    moment: Moment::Revision,
                    title: format!("Revision {} ({})", r.revision, r.version),
                    who: None,
                    outcome: r.status,
                    detail: r.digest.unwrap_or_default(),
                })
            })
            .collect();
        entries.extend(
            adapter
                .events(deployment)
                .await?
                .into_iter()
                .filter_map(|e| {
                    Some(TimelineEntry {
                        at: e.last_seen?,
                        moment: Moment::Reconcile,
                        title: e.reason,
                        who: Some(e.source).filter(|s| !s.is_empty()),
                        outcome: e.kind.to_lowercase(),
                        detail: e.message,
                    })
                }),
        );
        let grants = self.grants(ctx).await?;
        let (scope, actor) = match policy::authorize_audit(&grants, Action::AuditQuery) {
            Ok(scope) => (scope, None),
            Err(_) => (
                policy::own_audit_rows(),
                Some(ctx.principal.subject.clone()),
            ),
        };
        let filter = AuditFilter {
            actor,
            namespace: Some(deployment.namespace().to_owned()),
            target: Some(deployment.name().to_owned()),
            limit: Some(CHANGES),
            ..AuditFilter::default()
        };
        let kind = deployment.kind().as_str();
        entries.extend(
            query(&self.pool, &scope, &filter)
                .await?
                .events
                .into_iter()
                .filter(|row| {
                    row.event.phase != Phase::Intent
                        && row.event.target_kind.as_deref().is_none_or(|k| k == kind)
                })
                .map(|row| TimelineEntry {
                    at: row.occurred_at.to_rfc3339(),
                    moment: Moment::Change,
                    title: row.event.action.clone(),
                    who: Some(
                        row.event
                            .actor
                            .email
                            .clone()
                            .unwrap_or_else(|| row.event.actor.subject.clone()),
                    ),
                    outcome: row
                        .event
                        .outcome
                        .map_or_else(|| "pending".to_owned(), |o| o.as_str().to_owned()),
                    detail: row.event.error.clone().unwrap_or_default(),
                }),
        );
        // RFC 3339 in UTC sorts as text; newest first.
        entries.sort_by(|a, b| b.at.cmp(&a.at));
        Ok(entries)
    }
}
