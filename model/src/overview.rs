//! The overview page: what needs attention in the caller's namespaces, at a glance.

use crate::audit::AuditRow;
use crate::deployment::Deployment;
use crate::flux::FluxObject;
use serde::{Deserialize, Serialize};

/// Everything the overview shows, for the namespaces the caller may see.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// Deployment counts per tenant (and for namespaces no tenant owns, tenant `None`).
    pub tenants: Vec<TenantCounts>,
    /// Failing deployments first, then suspended ones (at most 20).
    pub attention: Vec<Deployment>,
    /// Sources whose artifact is not ready.
    pub sources_not_ready: Vec<FluxObject>,
    /// Deployments and toolkit objects stuck for long (as the Flux check finds them).
    #[serde(default)]
    pub stuck: Vec<crate::flux::StuckObject>,
    /// The latest operations the caller may see in the audit log, newest first.
    pub recent: Vec<AuditRow>,
    /// Whose operations `recent` holds: "every operation", "your tenants' operations" or
    /// "your own operations".
    pub recent_scope: String,
    /// Each deployment adapter's state.
    pub adapters: Vec<AdapterHealth>,
    /// Why deployments could not be read, when they could not (no cluster configured).
    pub unavailable: Option<String>,
    /// Whether the Flux controllers run locked down for multi-tenancy (platform-admins only).
    pub lockdown: Option<crate::lockdown::FluxLockdown>,
}

/// How many deployments a tenant has, by status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantCounts {
    /// The tenant; none for namespaces that belong to no tenant.
    pub tenant: Option<String>,
    /// Ready.
    pub deployed: usize,
    /// Progressing.
    pub deploying: usize,
    /// Failed.
    pub failed: usize,
    /// Not reconciled yet.
    pub pending: usize,
    /// Suspended (counted in their status too).
    pub suspended: usize,
}

/// One deployment adapter as the overview shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterHealth {
    /// The adapter instance (`flux`, `helm`).
    pub name: String,
    /// Whether its caches have their first complete list.
    pub synced: bool,
    /// Deployments it holds in the namespaces the caller may see.
    pub objects: usize,
    /// What is wrong with it, when something is.
    pub last_error: Option<String>,
}
