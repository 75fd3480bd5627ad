//! Tenancy administration: tenants, namespace assignment, memberships, global roles, and the
//! permission explainer.

use super::{AuditTarget, RequestContext, Service};
use crate::access::explain::{Explanation, explain};
use crate::access::policy::{self, Target};
use crate::access::{Action, GlobalRole, Grantee, Principal, TenantRole};
use crate::adapters::namespaces;
use crate::store::tenancy::{self, GlobalGrant, Membership, Tenant};
use crate::{Error, Result, validate};
use model::reference::{NamespaceRef, TenantSlug};
use model::tenancy::{Administration, NamespaceOwner};
use serde_json::json;

impl Service {
    /// Tenants the caller has any role on (all of them for platform-admins).
    pub async fn list_tenants(&self, ctx: &RequestContext) -> Result<Vec<Tenant>> {
        let grants = self.grants(ctx).await?;
        tenancy::list_tenants(
            &self.pool,
            &policy::visible_tenants(&grants, TenantRole::Viewer),
        )
        .await
    }

    /// One tenant with its namespaces.
    pub async fn get_tenant(&self, ctx: &RequestContext, slug: &str) -> Result<Tenant> {
        let target = tenant_target(slug, json!({}));
        let scope = self.tenant(ctx, Action::TenantGet, &target).await?;
        tenancy::get_tenant(&self.pool, scope.tenant()).await
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
        let slug = tenant_slug(slug)?;
        self.audited_in_tx(ctx, Action::TenantCreate, &target, async |conn| {
            tenancy::create_tenant(conn, &slug, display_name).await
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
        let slug = tenant_slug(slug)?;
        self.audited_in_tx(ctx, Action::TenantRename, &target, async |conn| {
            tenancy::rename_tenant(conn, &slug, display_name).await
        })
        .await
    }

    /// Allows or forbids what a tenant applies (charts, Git content, its pods) to create Flux
    /// objects, and brings the identities of its namespaces in step at once. Off by default:
    /// a nested Kustomization or HelmRelease runs as whatever service account it names, or
    /// as the controller itself unless the controllers are locked down.
    pub async fn set_nested_flux(
        &self,
        ctx: &RequestContext,
        slug: &str,
        allowed: bool,
    ) -> Result<Tenant> {
        let target = tenant_target(slug, json!({ "nestedFlux": allowed }));
        self.platform(ctx, Action::TenantNestedFlux, &target)
            .await?;
        let typed = tenant_slug(slug)?;
        self.audited_in_tx(ctx, Action::TenantNestedFlux, &target, async |conn| {
            tenancy::set_nested_flux(conn, &typed, allowed).await
        })
        .await?;
        let tenancy = self.grants(ctx).await?.tenancy.clone();
        for (namespace, owner) in &tenancy.namespace_owners {
            if owner == slug {
                self.provision_identity(ctx, namespace, slug).await?;
            }
        }
        tenancy::get_tenant(&self.pool, slug).await
    }

    /// Deletes a tenant and its memberships; refused, naming them, while it owns namespaces.
    pub async fn delete_tenant(&self, ctx: &RequestContext, slug: &str) -> Result<()> {
        let target = tenant_target(slug, json!({}));
        self.platform(ctx, Action::TenantDelete, &target).await?;
        let slug = tenant_slug(slug)?;
        self.audited_in_tx(ctx, Action::TenantDelete, &target, async |conn| {
            tenancy::delete_tenant(conn, &slug).await
        })
        .await
    }

    /// What the Admin pages show the caller: the tenants they see, those they administer,
    /// and for platform-admins the namespaces and global roles. A cluster that cannot be
    /// listed is reported beside the rest rather than failing the page.
    pub async fn administration(&self, ctx: &RequestContext) -> Result<Administration> {
        let grants = self.grants(ctx).await?;
        let platform_admin = grants.global_role(GlobalRole::PlatformAdmin).is_some();
        let tenants = self.list_tenants(ctx).await?;
        let administered = tenants
            .iter()
            .filter(|t| {
                policy::decide(&grants, Action::MembershipList, Target::Tenant(&t.slug)).is_ok()
            })
            .map(|t| t.slug.clone())
            .collect();
        let mut view = Administration {
            platform_admin,
            tenants,
            administered,
            actions: Action::ALL.iter().map(|a| a.as_str().to_owned()).collect(),
            ..Administration::default()
        };
        if platform_admin {
            match self.list_namespaces(ctx).await {
                Ok(namespaces) => view.namespaces = namespaces,
                Err(error) => view.namespaces_error = Some(error.public_message()),
            }
            view.lockdown = self.controller_lockdown().await;
        }
        Ok(view)
    }

    /// Every namespace of the clusters with its owning tenant, and assigned namespaces the
    /// cluster does not have (yet), flagged as such.
    pub async fn list_namespaces(&self, ctx: &RequestContext) -> Result<Vec<NamespaceOwner>> {
        self.platform(ctx, Action::NamespaceList, &AuditTarget::default())
            .await?;
        let owners = self.grants(ctx).await?.tenancy.namespace_owners.clone();
        let mut listed = Vec::new();
        for cluster in self.registry.clusters() {
            let id = cluster.connection().id().clone();
            for name in namespaces::list(cluster.connection().client()).await? {
                let tenant = NamespaceRef::new(id.clone(), &name)
                    .ok()
                    .and_then(|r| owners.get(&r).cloned());
                listed.push(NamespaceOwner {
                    cluster: id.to_string(),
                    name,
                    tenant,
                    in_cluster: true,
                });
            }
        }
        for (reference, tenant) in owners {
            let known = listed
                .iter()
                .any(|n| n.cluster == reference.cluster().as_str() && n.name == reference.name());
            if !known {
                listed.push(NamespaceOwner {
                    cluster: reference.cluster().to_string(),
                    name: reference.name().to_owned(),
                    tenant: Some(tenant),
                    in_cluster: false,
                });
            }
        }
        listed.sort_by(|a, b| (&a.cluster, &a.name).cmp(&(&b.cluster, &b.name)));
        Ok(listed)
    }

    /// The same service refusing to give tenants any of `namespaces` (Kubernetes' own,
    /// Pilothouse's, the Flux controllers' and the configured ones).
    pub fn with_reserved_namespaces(mut self, namespaces: Vec<String>) -> Self {
        self.reserved_namespaces = std::sync::Arc::new(namespaces);
        self
    }

    /// 422 for a namespace no tenant may own: a tenant there could read the platform's
    /// Secrets or change its controllers with the tenant account's rights.
    fn refuse_reserved(&self, namespace: &str) -> Result<()> {
        if self.reserved_namespaces.iter().any(|r| r == namespace) {
            return Err(Error::invalid(
                "namespace",
                format!(
                    "{namespace} is reserved for the platform (Kubernetes, Flux or Pilothouse itself); no tenant may own it"
                ),
            ));
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
        self.refuse_reserved(namespace)?;
        validate::dns_label("tenant", tenant)?;
        let reference = NamespaceRef::in_default(namespace)?;
        self.audited_in_tx(ctx, Action::NamespaceAssign, &target, async |conn| {
            tenancy::assign_namespace(conn, &reference, &tenant_slug(tenant)?).await
        })
        .await?;
        // The assignment stands even if the cluster is unreachable now; the repair pass
        // makes the identity later, and the error says so.
        self.provision_identity(ctx, &reference, tenant)
            .await
            .map(drop)
            .map_err(|error| {
                Error::Cluster(format!(
                    "namespace {namespace} is assigned to {tenant}, but its service account could not be made yet ({error}); Pilothouse retries at start-up and every few minutes"
                ))
            })
    }

    /// Gives a namespace to `tenant` whoever owns it now; when it changes hands, its accounts
    /// are made anew for the new owner and the old ones' tokens stop working.
    pub async fn move_namespace(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        tenant: &str,
    ) -> Result<()> {
        let target = namespace_target(namespace, Some(tenant));
        self.platform(ctx, Action::NamespaceMove, &target).await?;
        validate::dns_label("namespace", namespace)?;
        self.refuse_reserved(namespace)?;
        validate::dns_label("tenant", tenant)?;
        let reference = NamespaceRef::in_default(namespace)?;
        let previous = self
            .audited_in_tx(ctx, Action::NamespaceMove, &target, async |conn| {
                tenancy::move_namespace(conn, &reference, &tenant_slug(tenant)?).await
            })
            .await?;
        // Tokens minted for the old tenant's accounts must stop working: the accounts are
        // made anew (new UIDs) and their token Secrets deleted.
        if let Some(previous) = previous.as_deref().filter(|p| *p != tenant) {
            self.rotate_identity(ctx, &reference, previous).await?;
        }
        self.provision_identity(ctx, &reference, tenant)
            .await
            .map(drop)
    }

    /// Takes a namespace from its tenant; with `from`, only if that tenant owns it (so a
    /// script naming the wrong tenant changes nothing).
    pub async fn unassign_namespace(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        from: Option<&str>,
    ) -> Result<()> {
        let target = namespace_target(namespace, from);
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
        if let Some(expected) = from
            && owner.as_deref() != Some(expected)
        {
            return Err(Error::not_found(
                "namespace assignment",
                format!("{namespace} of tenant {expected}"),
            ));
        }
        self.audited_in_tx(ctx, Action::NamespaceUnassign, &target, async |conn| {
            tenancy::unassign_namespace(conn, &reference).await
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
        tenancy::list_memberships(&self.pool, scope.tenant()).await
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
        self.audited_in_tx(ctx, Action::MembershipAdd, &target, async |conn| {
            tenancy::add_membership(conn, &tenant_slug(scope.tenant())?, grantee, role).await
        })
        .await
    }

    /// Changes the role of an existing membership (404 when there is none).
    pub async fn change_membership(
        &self,
        ctx: &RequestContext,
        tenant: &str,
        grantee: &Grantee,
        role: TenantRole,
    ) -> Result<()> {
        let target = membership_target(tenant, grantee, Some(role.as_str()));
        let scope = self.tenant(ctx, Action::MembershipAdd, &target).await?;
        self.audited_in_tx(ctx, Action::MembershipAdd, &target, async |conn| {
            tenancy::change_membership(conn, &tenant_slug(scope.tenant())?, grantee, role).await
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
        self.audited_in_tx(ctx, Action::MembershipRemove, &target, async |conn| {
            tenancy::remove_membership(conn, &tenant_slug(scope.tenant())?, grantee).await
        })
        .await
    }

    /// Every global role grant.
    pub async fn list_global_roles(&self, ctx: &RequestContext) -> Result<Vec<GlobalGrant>> {
        self.platform(ctx, Action::GlobalRoleList, &AuditTarget::default())
            .await?;
        tenancy::list_global(&self.pool).await
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
        self.audited_in_tx(ctx, Action::GlobalRoleGrant, &target, async |conn| {
            tenancy::grant_global(conn, grantee, role).await
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
        self.audited_in_tx(ctx, Action::GlobalRoleRevoke, &target, async |conn| {
            tenancy::revoke_global(conn, grantee, role).await
        })
        .await
    }

    /// Makes the configured first platform admin one, unless they already are. Runs at start-up
    /// as Pilothouse itself, and is audited like any grant.
    pub async fn bootstrap_platform_admin(&self, grantee: &Grantee) -> Result<()> {
        validate::text("bootstrap admin", grantee.name(), 255)?;
        let existing = tenancy::list_global(&self.pool).await?;
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
        self.audited_in_tx(&ctx, Action::GlobalRoleGrant, &target, async |conn| {
            tenancy::grant_global(conn, grantee, GlobalRole::PlatformAdmin).await
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
            // Claimed groups reveal what those groups hold, so they count as someone else.
            Some(other)
                if other.subject != ctx.principal.subject
                    || other.groups != ctx.principal.groups =>
            {
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
        // A check for a group names no user: the sentence is about the group's members.
        let who = match (&principal.email, principal.subject.as_str()) {
            (_, "") => format!("members of group {}", principal.groups.join(", ")),
            (Some(email), _) => email.clone(),
            (None, subject) => subject.to_owned(),
        };
        Ok(explain(&who, &grants, action, target))
    }
}

/// A tenant slug from a request: one that is not a DNS label names no tenant (404).
fn tenant_slug(slug: &str) -> Result<TenantSlug> {
    TenantSlug::new(slug).map_err(|_| Error::not_found("tenant", slug))
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
