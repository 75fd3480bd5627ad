//! What a principal holds: global roles, tenant roles and who owns which namespace.

use super::role::{GlobalRole, TenantRole};
use model::reference::NamespaceRef;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Who a grant is given to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grantee {
    /// One user, by OIDC subject of the configured issuer.
    User(String),
    /// Everyone in an OIDC group.
    Group(String),
}

impl Grantee {
    /// `user` or `group`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Group(_) => "group",
        }
    }

    /// The subject or group name.
    pub fn name(&self) -> &str {
        match self {
            Self::User(name) | Self::Group(name) => name,
        }
    }
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.name())
    }
}

/// How a grant reached the principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Granted to the user directly.
    User,
    /// Granted to a group the user is in.
    Group(String),
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User => f.write_str("directly"),
            Self::Group(group) => write!(f, "through group {group}"),
        }
    }
}

/// A role on one tenant and how it was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantGrant {
    /// The strongest role held on the tenant.
    pub role: TenantRole,
    /// How it was obtained.
    pub via: Via,
}

/// Who owns which namespace: one snapshot shared by every request, replaced whole when
/// the tenancy changes (never edited in place while someone reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tenancy {
    /// Owner tenant of every assigned namespace.
    pub namespace_owners: BTreeMap<NamespaceRef, String>,
    /// The tenants whose own content may write Flux objects (nested Flux allowed).
    pub nested_flux: BTreeSet<String>,
}

/// Everything the policy needs to decide for one principal: its own roles and the shared
/// tenancy snapshot.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Global roles held, with how each was obtained.
    pub global: Vec<(GlobalRole, Via)>,
    /// The strongest role held per tenant.
    pub tenants: BTreeMap<String, TenantGrant>,
    /// Who owns which namespace (shared, not per principal).
    pub tenancy: Arc<Tenancy>,
    /// Set for read-only API tokens: every change is refused whatever the roles say.
    pub read_only: bool,
    /// Set when the request came with an API token (which may not manage tokens).
    pub by_token: bool,
}

impl Grants {
    /// Adds a tenant role, keeping the strongest one per tenant.
    pub fn add_tenant_role(&mut self, tenant: &str, role: TenantRole, via: Via) {
        match self.tenants.get(tenant) {
            Some(existing) if existing.role >= role => {}
            _ => {
                self.tenants
                    .insert(tenant.to_owned(), TenantGrant { role, via });
            }
        }
    }

    /// Applies an API token's limits. Narrowed to a tenant, the token keeps only its role
    /// there; a platform-admin's token becomes admin of that tenant and nothing else.
    pub fn narrow(&mut self, narrowing: &super::Narrowing) {
        if let Some(tenant) = &narrowing.tenant {
            let platform_admin = self.global_role(GlobalRole::PlatformAdmin).cloned();
            let kept = self.tenants.remove(tenant);
            self.global.clear();
            self.tenants.clear();
            if let Some(grant) = kept {
                self.tenants.insert(tenant.clone(), grant);
            }
            if let Some(via) = platform_admin {
                self.add_tenant_role(tenant, TenantRole::Admin, via);
            }
        }
        self.read_only |= narrowing.read_only;
        self.by_token = true;
    }

    /// How the principal holds `role` globally, if they do.
    pub fn global_role(&self, role: GlobalRole) -> Option<&Via> {
        self.global
            .iter()
            .find(|(held, _)| *held == role)
            .map(|(_, via)| via)
    }
}
