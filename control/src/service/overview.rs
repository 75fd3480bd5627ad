//! The overview: per-tenant counts, what needs attention, sources that are not ready, the
//! latest operations the caller may see, and the adapters' state, in one read.

use super::{RequestContext, Service};
use crate::Result;
use crate::access::{Action, policy};
use crate::adapters::registry::no_cluster;
use crate::audit::query::{AuditFilter, query};
use model::deployment::{DeploymentFilter, DeploymentStatus};
use model::overview::{AdapterHealth, Overview, TenantCounts};
use model::reference::{Family, NamespaceRef};
use std::collections::BTreeMap;
use std::time::Duration;

/// How many rows of each list the overview shows.
const ATTENTION: usize = 20;
const RECENT: u32 = 10;

impl Service {
    /// The overview for the namespaces the caller may see. Reading it records nothing: a
    /// user who may not search the audit log sees their own operations instead.
    pub async fn overview(&self, ctx: &RequestContext) -> Result<Overview> {
        let grants = self.grants(ctx).await?;
        let visible = policy::visible_namespaces(&grants, Action::DeploymentList);
        let mut overview = Overview::default();
        if self.registry.is_empty() {
            overview.unavailable = Some(no_cluster().public_message());
        }
        let rows: Vec<_> = self
            .registry
            .primaries()
            .flat_map(|a| a.matching(&DeploymentFilter::default(), &visible))
            .collect();
        let mut counts: BTreeMap<Option<String>, TenantCounts> = BTreeMap::new();
        for row in &rows {
            let owner = NamespaceRef::new(row.cluster.clone(), &row.namespace)
                .ok()
                .and_then(|ns| grants.tenancy.namespace_owners.get(&ns).cloned());
            let entry = counts.entry(owner.clone()).or_insert_with(|| TenantCounts {
                tenant: owner,
                ..TenantCounts::default()
            });
            match row.state.status {
                DeploymentStatus::Deployed => entry.deployed += 1,
                DeploymentStatus::Deploying => entry.deploying += 1,
                DeploymentStatus::Failed => entry.failed += 1,
                DeploymentStatus::Pending => entry.pending += 1,
            }
            entry.suspended += usize::from(row.state.suspended);
        }
        overview.tenants = counts.into_values().collect();
        let mut attention: Vec<_> = rows
            .iter()
            .filter(|r| r.state.status == DeploymentStatus::Failed || r.state.suspended)
            .map(|r| (**r).clone())
            .collect();
        attention.sort_by_key(|d| {
            (
                d.state.status != DeploymentStatus::Failed,
                d.namespace.clone(),
                d.name.clone(),
            )
        });
        attention.truncate(ATTENTION);
        overview.attention = attention;
        let sources = policy::visible_namespaces(&grants, Action::SourceList);
        overview.sources_not_ready = self
            .registry
            .primaries()
            .filter_map(|a| a.as_toolkit())
            .flat_map(|s| s.list_toolkit(Family::Sources, &sources))
            .filter(|s| s.ready.as_deref() != Some("True"))
            .collect();
        let checked = policy::visible_namespaces(&grants, Action::FluxCheck);
        if let Some(toolkit) = self.registry.primaries().find_map(|a| a.as_toolkit()) {
            overview.stuck = toolkit.flux_check(&checked, false).await.stuck;
        }
        let (scope, filter, whose) = match policy::authorize_audit(&grants, Action::AuditQuery) {
            Ok(scope) => {
                let whose = match scope.tenants() {
                    crate::access::Visible::All => "every operation",
                    crate::access::Visible::Only(_) => "your tenants' operations",
                };
                (scope, AuditFilter::default(), whose)
            }
            Err(_) => (
                policy::own_audit_rows(),
                AuditFilter {
                    actor: Some(ctx.principal.subject.clone()),
                    ..AuditFilter::default()
                },
                "your own operations",
            ),
        };
        // An operation writes an intent row and, once done, an outcome row: the overview
        // shows each operation once, as its newest row says (still running, or its outcome).
        let filter = AuditFilter {
            limit: Some(RECENT * 4),
            ..filter
        };
        let mut seen = std::collections::HashSet::new();
        overview.recent = query(&self.pool, &scope, &filter)
            .await?
            .events
            .into_iter()
            .filter(|row| seen.insert(row.event.operation_id))
            .take(RECENT as usize)
            .map(model::audit::AuditRow::from)
            .collect();
        overview.recent_scope = whose.to_owned();
        for adapter in self.registry.adapters() {
            let synced = adapter
                .wait_until_ready(Duration::from_millis(1))
                .await
                .is_ok();
            overview.adapters.push(AdapterHealth {
                name: adapter.name().to_owned(),
                synced,
                // Only what the caller may see: a tenant learns nothing of the fleet's size.
                objects: adapter
                    .matching(&DeploymentFilter::default(), &visible)
                    .len(),
                // A synced watch cache means the cluster answers and the kinds are served; only
                // an adapter that is not there yet is asked why (helm health spawns helm).
                last_error: if synced {
                    None
                } else {
                    adapter.health().await.err().map(|e| e.public_message())
                },
            });
        }
        if grants
            .global_role(crate::access::GlobalRole::PlatformAdmin)
            .is_some()
        {
            overview.lockdown = self.controller_lockdown().await;
        }
        Ok(overview)
    }

    /// The Flux controllers' lockdown as the first Flux adapter reports it (one cluster, one
    /// set of controllers); none without a Flux adapter. Shown to platform-admins only.
    pub(super) async fn controller_lockdown(&self) -> Option<model::lockdown::FluxLockdown> {
        for adapter in self.registry.adapters() {
            if let Some(report) = adapter.controller_lockdown().await {
                return Some(report);
            }
        }
        None
    }
}
