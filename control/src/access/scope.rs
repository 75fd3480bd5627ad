//! Capabilities handed out by the policy. Their fields are private to `access`, so the only
//! way to hold one is to pass an access check.

use super::action::Action;
pub use control_core::namespaces::Namespaces;
use model::reference::NamespaceRef;
use std::collections::BTreeSet;

/// Permission to perform `action` in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceScope {
    pub(in crate::access) action: Action,
    pub(in crate::access) namespace: NamespaceRef,
    pub(in crate::access) tenant: Option<String>,
}

impl NamespaceScope {
    /// The permitted action.
    pub fn action(&self) -> Action {
        self.action
    }
    /// The namespace.
    pub fn namespace(&self) -> &NamespaceRef {
        &self.namespace
    }
    /// The tenant owning it (None only for a platform-admin in an unassigned namespace).
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
}

/// Permission to perform `action` on one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    pub(in crate::access) action: Action,
    pub(in crate::access) tenant: String,
}

impl TenantScope {
    /// The permitted action.
    pub fn action(&self) -> Action {
        self.action
    }
    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
}

/// Permission to perform a platform-wide `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformScope {
    pub(in crate::access) action: Action,
}

impl PlatformScope {
    /// The permitted action.
    pub fn action(&self) -> Action {
        self.action
    }
}

/// A set of things the caller may see: everything, or only the listed names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    /// No restriction.
    All,
    /// Only these names (namespaces for lists, tenants for the audit log).
    Only(BTreeSet<String>),
}

impl Visible {
    /// Whether `name` is visible.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.contains(name),
        }
    }
}

/// Permission to read the audit log, limited to some tenants' rows or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditScope {
    pub(in crate::access) action: Action,
    pub(in crate::access) tenants: Visible,
}

impl AuditScope {
    /// The permitted action.
    pub fn action(&self) -> Action {
        self.action
    }
    /// Whose rows may be read.
    pub fn tenants(&self) -> &Visible {
        &self.tenants
    }
}
