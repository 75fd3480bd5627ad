//! Tenant roles (ordered: each includes the one before) and global roles.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role on one tenant; `Admin` includes `Operator`, which includes `Viewer`.
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(pub String);

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
        assert!("root".parse::<TenantRole>().is_err());
    }
}
