//! Tenancy administration: tenants, namespace assignment, memberships, global roles, and the
//! permission explainer.

use super::{AuditTarget, RequestContext, Service};
use crate::access::explain::{Explanation, explain};
use crate::access::policy::{self, Target};
use crate::access::repo::{self, GlobalGrant, Membership, Tenant};
use crate::access::{Action, GlobalRole, Grantee, Principal, TenantRole};
use crate::{Error, Result, validate};
use model::reference::NamespaceRef;
use serde_json::json;

impl Service {
    /// Tenants the caller has any role on (all of them for platform-admins).
    pub async fn list_tenants(&self, ctx: &RequestContext) -> Result<Vec<Tenant>> {
        let grants = self.grants(ctx).await?;
        repo::list_tenants(
            &self.pool,
            &policy::visible_tenants(&grants, TenantRole::Viewer),
        )
        .await
    }

    /// One tenant with its namespaces.
    pub async fn get_tenant(&self, ctx: &RequestContext, slug: &str) -> Result<Tenant> {
        let target = tenant_target(slug, json!({}));
        let scope = self.tenant(ctx, Action::TenantGet, &target).await?;
        repo::get_tenant(&self.pool, scope.tenant()).await
    }

    /// Creates a tenant.
    pub async fn create_tenant(
        &self,
        ctx: &RequestContext,
        slug: &str,
        display_name: &str,
    ) -> Result<Tenant> {
        let target = tenant_target(slug, json!({ "displayName": display_name }));
        self.platform(ctx, Action::TenantCreate, &target).await?;
        validate::dns_label("tenant", slug)?;
        validate::text("display name", display_name, 200)?;
        self.audited(ctx, Action::TenantCreate, &target, async |_| {
            repo::create_tenant(&self.pool, slug, display_name).await
        })
        .await
    }

    /// Changes a tenant's display name.
    pub async fn rename_tenant(
        &self,
        ctx: &RequestContext,
        slug: &str,
        display_name: &str,
    ) -> Result<()> {
        let target = tenant_target(slug, json!({ "displayName": display_name }));
        self.platform(ctx, Action::TenantRename, &target).await?;
        validate::text("display name", display_name, 200)?;
        self.audited(ctx, Action::TenantRename, &target, async |_| {
            repo::rename_tenant(&self.pool, slug, display_name).await
        })
        .await
    }

    /// Deletes a tenant, its memberships and its namespace assignments (not the namespaces).
    pub async fn delete_tenant(&self, ctx: &RequestContext, slug: &str) -> Result<()> {
        let target = tenant_target(slug, json!({}));
        self.platform(ctx, Action::TenantDelete, &target).await?;
        let namespaces = repo::get_tenant(&self.pool, slug).await?.namespaces;
        self.audited(ctx, Action::TenantDelete, &target, async |_| {
            repo::delete_tenant(&self.pool, slug).await
        })
        .await?;
        for namespace in namespaces {
            let reference = NamespaceRef::in_default(&namespace)?;
            self.retire_identity(ctx, &reference, Some(slug)).await?;
        }
        Ok(())
    }

    /// Gives a namespace to a tenant.
    pub async fn assign_namespace(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        tenant: &str,
    ) -> Result<()> {
        let target = namespace_target(namespace, Some(tenant));
        self.platform(ctx, Action::NamespaceAssign, &target).await?;
        validate::dns_label("namespace", namespace)?;
        validate::dns_label("tenant", tenant)?;
        self.audited(ctx, Action::NamespaceAssign, &target, async |_| {
            repo::assign_namespace(&self.pool, namespace, tenant).await
        })
        .await?;
        // The assignment stands even if the cluster is unreachable now; the repair pass
        // makes the identity later, and the error says so.
        self.provision_identity(ctx, &NamespaceRef::in_default(namespace)?, tenant)
            .await
            .map(drop)
            .map_err(|error| {
                Error::Cluster(format!(
                    "namespace {namespace} is assigned to {tenant}, but its service account could not be made yet ({error}); Pilothouse retries at start-up and every few minutes"
                ))
            })
    }

    /// Takes a namespace from its tenant.
    pub async fn unassign_namespace(&self, ctx: &RequestContext, namespace: &str) -> Result<()> {
        let target = namespace_target(namespace, None);
        self.platform(ctx, Action::NamespaceUnassign, &target)
            .await?;
        let reference = NamespaceRef::in_default(namespace)?;
        let owner = self
            .grants(ctx)
            .await?
            .tenancy
            .namespace_owners
            .get(&reference)
            .cloned();
        self.audited(ctx, Action::NamespaceUnassign, &target, async |_| {
            repo::unassign_namespace(&self.pool, namespace).await
        })
        .await?;
        self.retire_identity(ctx, &reference, owner.as_deref())
            .await
            .map(drop)
    }

    /// A tenant's memberships.
    pub async fn list_memberships(
        &self,
        ctx: &RequestContext,
        tenant: &str,
    ) -> Result<Vec<Membership>> {
        let scope = self
            .tenant(
                ctx,
                Action::MembershipList,
                &tenant_target(tenant, json!({})),
            )
            .await?;
        repo::list_memberships(&self.pool, scope.tenant()).await
    }

    /// Gives a user or group a role on a tenant (replacing their previous role there).
    pub async fn add_membership(
        &self,
        ctx: &RequestContext,
        tenant: &str,
        grantee: &Grantee,
        role: TenantRole,
    ) -> Result<()> {
        let target = membership_target(tenant, grantee, Some(role.as_str()));
        let scope = self.tenant(ctx, Action::MembershipAdd, &target).await?;
        validate::text("grantee", grantee.name(), 255)?;
        self.audited(ctx, Action::MembershipAdd, &target, async |_| {
            repo::add_membership(&self.pool, scope.tenant(), grantee, role).await
        })
        .await
    }

    /// Removes a membership.
    pub async fn remove_membership(
        &self,
        ctx: &RequestContext,
        tenant: &str,
        grantee: &Grantee,
    ) -> Result<()> {
        let target = membership_target(tenant, grantee, None);
        let scope = self.tenant(ctx, Action::MembershipRemove, &target).await?;
        self.audited(ctx, Action::MembershipRemove, &target, async |_| {
            repo::remove_membership(&self.pool, scope.tenant(), grantee).await
        })
        .await
    }

    /// Every global role grant.
    pub async fn list_global_roles(&self, ctx: &RequestContext) -> Result<Vec<GlobalGrant>> {
        self.platform(ctx, Action::GlobalRoleList, &AuditTarget::default())
            .await?;
        repo::list_global(&self.pool).await
    }

    /// Grants platform-admin or auditor.
    pub async fn grant_global_role(
        &self,
        ctx: &RequestContext,
        grantee: &Grantee,
        role: GlobalRole,
    ) -> Result<()> {
        let target = global_target(grantee, role);
        self.platform(ctx, Action::GlobalRoleGrant, &target).await?;
        validate::text("grantee", grantee.name(), 255)?;
        self.audited(ctx, Action::GlobalRoleGrant, &target, async |_| {
            repo::grant_global(&self.pool, grantee, role).await
        })
        .await
    }

    /// Revokes a global role.
    pub async fn revoke_global_role(
        &self,
        ctx: &RequestContext,
        grantee: &Grantee,
        role: GlobalRole,
    ) -> Result<()> {
        let target = global_target(grantee, role);
        self.platform(ctx, Action::GlobalRoleRevoke, &target)
            .await?;
        self.audited(ctx, Action::GlobalRoleRevoke, &target, async |_| {
            repo::revoke_global(&self.pool, grantee, role).await
        })
        .await
    }

    /// Makes the configured first platform admin one, unless they already are. Runs at start-up
    /// as Pilothouse itself, and is audited like any grant.
    pub async fn bootstrap_platform_admin(&self, grantee: &Grantee) -> Result<()> {
        validate::text("bootstrap admin", grantee.name(), 255)?;
        let existing = repo::list_global(&self.pool).await?;
        let present = existing.iter().any(|g| {
            g.role == GlobalRole::PlatformAdmin
                && g.grantee_kind == grantee.kind()
                && g.grantee == grantee.name()
        });
        if present {
            return Ok(());
        }
        let ctx = RequestContext::system();
        let target = global_target(grantee, GlobalRole::PlatformAdmin);
        self.audited(&ctx, Action::GlobalRoleGrant, &target, async |_| {
            repo::grant_global(&self.pool, grantee, GlobalRole::PlatformAdmin).await
        })
        .await
    }

    /// Says whether `subject` (the caller when None) may do `action` on `target`, and why.
    /// Explaining someone else's permissions is for platform-admins.
    pub async fn explain(
        &self,
        ctx: &RequestContext,
        subject: Option<&Principal>,
        action: Action,
        target: Target<'_>,
    ) -> Result<Explanation> {
        let principal = match subject {
            Some(other) if other.subject != ctx.principal.subject => {
                let audit = AuditTarget {
                    name: Some(other.subject.clone()),
                    ..AuditTarget::default()
                };
                self.platform(ctx, Action::AccessExplain, &audit).await?;
                other
            }
            _ => &ctx.principal,
        };
        let grants = self.grants_of(principal).await?;
        let who = principal.email.as_deref().unwrap_or(&principal.subject);
        Ok(explain(who, &grants, action, target))
    }
}

fn tenant_target(slug: &str, parameters: serde_json::Value) -> AuditTarget {
    AuditTarget {
        tenant: Some(slug.to_owned()),
        kind: Some("Tenant"),
        name: Some(slug.to_owned()),
        parameters,
        ..AuditTarget::default()
    }
}

fn namespace_target(namespace: &str, tenant: Option<&str>) -> AuditTarget {
    AuditTarget {
        tenant: tenant.map(str::to_owned),
        namespace: Some(namespace.to_owned()),
        kind: Some("Namespace"),
        name: Some(namespace.to_owned()),
        parameters: json!({}),
        ..AuditTarget::default()
    }
}

fn membership_target(tenant: &str, grantee: &Grantee, role: Option<&str>) -> AuditTarget {
    AuditTarget {
        tenant: Some(tenant.to_owned()),
        kind: Some("Membership"),
        name: Some(grantee.to_string()),
        parameters: json!({ "granteeKind": grantee.kind(), "grantee": grantee.name(), "role": role }),
        ..AuditTarget::default()
    }
}

fn global_target(grantee: &Grantee, role: GlobalRole) -> AuditTarget {
    AuditTarget {
        kind: Some("GlobalRole"),
        name: Some(grantee.to_string()),
        parameters: json!({ "granteeKind": grantee.kind(), "grantee": grantee.name(), "role": role.as_str() }),
        ..AuditTarget::default()
    }
}
