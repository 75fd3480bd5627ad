//! Tenancy as pages and API clients see it: roles (tenant roles ordered, each including the
//! one before; global roles), tenants with their namespaces, memberships, global grants, and
//! the cluster's namespaces with their owners.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role on one tenant; `Admin` includes `Operator`, which includes `Viewer`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantRole {
    /// Reads the tenant's deployments, packages and sources.
    Viewer,
    /// Viewer, plus changes deployments and reads controller logs.
    Operator,
    /// Operator, plus packages and the tenant's memberships.
    Admin,
}

/// A role over the whole installation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GlobalRole {
    /// Everything, including tenants and namespaces.
    PlatformAdmin,
    /// Reads the whole audit log and changes nothing.
    Auditor,
}

impl TenantRole {
    /// Every tenant role, weakest first.
    pub const ALL: [Self; 3] = [Self::Viewer, Self::Operator, Self::Admin];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
}

impl GlobalRole {
    /// Every global role.
    pub const ALL: [Self; 2] = [Self::PlatformAdmin, Self::Auditor];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "platform-admin",
            Self::Auditor => "auditor",
        }
    }
}

impl fmt::Display for TenantRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for GlobalRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of the known roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown role {:?}", self.0)
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for TenantRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl FromStr for GlobalRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// A tenant and the namespaces it owns.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// The DNS-label identifier.
    pub slug: String,
    /// The name shown to people.
    pub display_name: String,
    /// Namespaces it owns, sorted.
    pub namespaces: Vec<String>,
    /// Whether what the tenant applies may itself create Flux objects (nested Kustomizations
    /// and HelmReleases); off unless a platform-admin allows it.
    #[serde(default)]
    pub nested_flux: bool,
}

/// A role on a tenant given to a user or group.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// The tenant.
    pub tenant: String,
    /// `user` or `group`.
    pub grantee_kind: String,
    /// Subject or group name.
    pub grantee: String,
    /// The role.
    pub role: TenantRole,
}

/// A global role given to a user or group.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalGrant {
    /// `user` or `group`.
    pub grantee_kind: String,
    /// Subject or group name.
    pub grantee: String,
    /// The role.
    pub role: GlobalRole,
}

/// A namespace as the Admin pages list it: in the cluster, assigned, or both.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceOwner {
    /// The cluster it is in.
    pub cluster: String,
    /// Its name.
    pub name: String,
    /// The tenant that owns it; none means only platform-admins act in it.
    pub tenant: Option<String>,
    /// Whether the cluster has it (an assignment may name a namespace not created yet).
    pub in_cluster: bool,
}

/// What the Admin pages show the caller: what they may administer, and the forms' choices.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Administration {
    /// Whether the caller is a platform-admin (tenants, namespaces, global roles).
    pub platform_admin: bool,
    /// The tenants the caller has any role on (every tenant for platform-admins).
    pub tenants: Vec<Tenant>,
    /// The tenants whose memberships the caller manages.
    pub administered: Vec<String>,
    /// The clusters' namespaces with their owners (platform-admins only).
    pub namespaces: Vec<NamespaceOwner>,
    /// Why the namespaces could not be listed, when they could not.
    pub namespaces_error: Option<String>,
    /// Every action's dotted name, for the access check.
    pub actions: Vec<String>,
    /// Whether the Flux controllers run locked down for multi-tenancy (platform-admins only).
    pub lockdown: Option<crate::lockdown::FluxLockdown>,
}

/// Whether someone may do something, and the one sentence that says why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// The sentence for the user.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_roles_are_ordered_by_power() {
        assert!(TenantRole::Viewer < TenantRole::Operator);
        assert!(TenantRole::Operator < TenantRole::Admin);
    }

    #[test]
    fn names_round_trip() {
        for role in TenantRole::ALL {
            assert_eq!(role.as_str().parse::<TenantRole>(), Ok(role));
        }
        for role in GlobalRole::ALL {
            assert_eq!(role.as_str().parse::<GlobalRole>(), Ok(role));
        }
        assert_eq!(
            "root".parse::<TenantRole>(),
            Err(UnknownRole("root".into()))
        );
    }
}
