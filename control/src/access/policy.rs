//! The one policy function, `decide`, and the typed checks built on it.

use super::action::{Action, Requirement, TargetKind};
use super::grants::{Grants, Via};
use super::role::{GlobalRole, TenantRole};
use super::scope::{AuditScope, NamespaceScope, Namespaces, PlatformScope, TenantScope, Visible};
use model::reference::NamespaceRef;
use std::collections::BTreeSet;
use std::fmt;

pub use model::action::{Denied, Missing};

/// What an action is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A namespace.
    Namespace(&'a NamespaceRef),
    /// A tenant.
    Tenant(&'a str),
    /// The installation.
    Platform,
    /// The audit log.
    AuditLog,
    /// The caller's own things.
    Own,
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Namespace(ns) if ns.cluster().is_default() => {
                write!(f, "namespace {}", ns.name())
            }
            Self::Namespace(ns) => write!(f, "namespace {} of cluster {}", ns.name(), ns.cluster()),
            Self::Tenant(tenant) => write!(f, "tenant {tenant}"),
            Self::Platform => f.write_str("the platform"),
            Self::AuditLog => f.write_str("the audit log"),
            Self::Own => f.write_str("your own tokens"),
        }
    }
}

/// Why an action is allowed: the grant that allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A global role allows it.
    Global {
        /// The role.
        role: GlobalRole,
        /// How the principal holds it.
        via: Via,
    },
    /// A role on the target's tenant allows it.
    Tenant {
        /// The tenant.
        tenant: String,
        /// The role held there.
        role: TenantRole,
        /// How the principal holds it.
        via: Via,
    },
    /// Everyone manages their own tokens.
    Own,
    /// Tenant admins read their own tenants' audit rows.
    TenantAuditRows {
        /// The tenants whose rows are visible.
        tenants: BTreeSet<String>,
    },
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Global { role, via } => write!(f, "global role {role}, held {via}"),
            Self::Own => f.write_str("being signed in"),
            Self::Tenant { tenant, role, via } => {
                write!(f, "role {role} on tenant {tenant}, held {via}")
            }
            Self::TenantAuditRows { tenants } => {
                let list: Vec<&str> = tenants.iter().map(String::as_str).collect();
                write!(
                    f,
                    "role admin on tenant(s) {}, limited to their rows",
                    list.join(", ")
                )
            }
        }
    }
}

/// Decides whether `grants` allow `action` on `target`, and by which grant.
pub fn decide(grants: &Grants, action: Action, target: Target<'_>) -> Result<Decision, Denied> {
    let deny = |missing: Missing| Denied {
        action,
        target: target.to_string(),
        needs: action.requirement().to_string(),
        missing,
    };
    if !kind_matches(action.target_kind(), target) {
        return Err(deny(Missing::WrongTarget(format!(
            "{action} does not apply to {target}"
        ))));
    }
    if grants.read_only && action.is_change() {
        return Err(deny(Missing::ReadOnlyToken));
    }
    if grants.by_token && action.manages_tokens() {
        return Err(deny(Missing::ByToken));
    }
    if let Some(via) = grants.global_role(GlobalRole::PlatformAdmin) {
        return Ok(Decision::Global {
            role: GlobalRole::PlatformAdmin,
            via: via.clone(),
        });
    }
    match action.requirement() {
        Requirement::PlatformAdmin => Err(deny(Missing::NotPlatformAdmin)),
        Requirement::SignedIn | Requirement::Anyone => Ok(Decision::Own),
        Requirement::AuditorOnly => auditor(grants).ok_or_else(|| deny(Missing::NotAuditor)),
        Requirement::AuditRead => auditor(grants)
            .or_else(|| {
                let tenants = tenants_with(grants, TenantRole::Admin);
                (!tenants.is_empty()).then_some(Decision::TenantAuditRows { tenants })
            })
            .ok_or_else(|| deny(Missing::NoAuditAccess)),
        Requirement::Tenant(needed) => {
            let tenant = match target {
                Target::Tenant(tenant) => tenant,
                Target::Namespace(ns) => match grants.tenancy.namespace_owners.get(ns) {
                    Some(tenant) => tenant.as_str(),
                    None => {
                        return Err(deny(Missing::UnownedNamespace(ns.name().to_owned())));
                    }
                },
                Target::Platform | Target::AuditLog | Target::Own => {
                    return Err(deny(Missing::WrongTarget(format!(
                        "{action} does not apply to {target}"
                    ))));
                }
            };
            match grants.tenants.get(tenant) {
                Some(grant) if grant.role >= needed => Ok(Decision::Tenant {
                    tenant: tenant.to_owned(),
                    role: grant.role,
                    via: grant.via.clone(),
                }),
                Some(grant) => Err(deny(Missing::OnlyRole(grant.role, tenant.to_owned()))),
                None => Err(deny(Missing::NoRole {
                    tenant: tenant.to_owned(),
                    namespace: match target {
                        Target::Namespace(ns) => Some(ns.name().to_owned()),
                        _ => None,
                    },
                })),
            }
        }
    }
}

/// Checks a namespace-level action.
pub fn authorize_namespace(
    grants: &Grants,
    action: Action,
    namespace: &NamespaceRef,
) -> Result<NamespaceScope, Denied> {
    decide(grants, action, Target::Namespace(namespace))?;
    Ok(NamespaceScope {
        action,
        namespace: namespace.clone(),
        tenant: grants.tenancy.namespace_owners.get(namespace).cloned(),
    })
}

/// Checks a tenant-level action.
pub fn authorize_tenant(
    grants: &Grants,
    action: Action,
    tenant: &str,
) -> Result<TenantScope, Denied> {
    decide(grants, action, Target::Tenant(tenant))?;
    Ok(TenantScope {
        action,
        tenant: tenant.to_owned(),
    })
}

/// Checks a platform-level action.
pub fn authorize_platform(grants: &Grants, action: Action) -> Result<PlatformScope, Denied> {
    decide(grants, action, Target::Platform)?;
    Ok(PlatformScope { action })
}

/// Checks an audit-log action and says whose rows may be read.
pub fn authorize_audit(grants: &Grants, action: Action) -> Result<AuditScope, Denied> {
    let tenants = match decide(grants, action, Target::AuditLog)? {
        Decision::TenantAuditRows { tenants } => Visible::Only(tenants),
        Decision::Global { .. } | Decision::Tenant { .. } | Decision::Own => Visible::All,
    };
    Ok(AuditScope { action, tenants })
}

/// The scope of a query that reads only the caller's own rows (the overview's recent
/// operations for users who may not search the log): everyone may see what they did. The
/// query must filter by the caller's subject.
pub fn own_audit_rows() -> AuditScope {
    AuditScope {
        action: Action::AuditQuery,
        tenants: Visible::All,
    }
}

/// The namespaces in which a namespace-level `action` (typically a list) is allowed.
pub fn visible_namespaces(grants: &Grants, action: Action) -> Namespaces {
    if grants.read_only && action.is_change() {
        return Namespaces::Only(BTreeSet::new());
    }
    if grants.global_role(GlobalRole::PlatformAdmin).is_some() {
        return Namespaces::All;
    }
    let Requirement::Tenant(needed) = action.requirement() else {
        return Namespaces::Only(BTreeSet::new());
    };
    let tenants = tenants_with(grants, needed);
    Namespaces::Only(
        grants
            .tenancy
            .namespace_owners
            .iter()
            .filter(|(_, tenant)| tenants.contains(*tenant))
            .map(|(ns, _)| ns.clone())
            .collect(),
    )
}

/// The tenants whose rows or objects the principal may see with `action`-level access.
pub fn visible_tenants(grants: &Grants, needed: TenantRole) -> Visible {
    if grants.global_role(GlobalRole::PlatformAdmin).is_some() {
        return Visible::All;
    }
    Visible::Only(tenants_with(grants, needed))
}

fn auditor(grants: &Grants) -> Option<Decision> {
    grants
        .global_role(GlobalRole::Auditor)
        .map(|via| Decision::Global {
            role: GlobalRole::Auditor,
            via: via.clone(),
        })
}

fn tenants_with(grants: &Grants, needed: TenantRole) -> BTreeSet<String> {
    grants
        .tenants
        .iter()
        .filter(|(_, g)| g.role >= needed)
        .map(|(t, _)| t.clone())
        .collect()
}

fn kind_matches(kind: TargetKind, target: Target<'_>) -> bool {
    matches!(
        (kind, target),
        (TargetKind::Namespace, Target::Namespace(_))
            | (TargetKind::Tenant, Target::Tenant(_))
            | (TargetKind::Platform, Target::Platform)
            | (TargetKind::AuditLog, Target::AuditLog)
            | (TargetKind::Own, Target::Own)
    )
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
