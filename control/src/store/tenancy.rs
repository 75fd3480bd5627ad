//! Tenancy in Postgres: loading a principal's grants and the admin operations' statements.
//! Each change runs in the caller's transaction, so it commits together with its audit
//! outcome row or not at all. Constraint violations become domain errors here, at the
//! repository edge.

use crate::access::grants::{Grantee, Grants, Tenancy, Via};
use crate::access::principal::Principal;
use crate::access::role::{GlobalRole, TenantRole};
use crate::access::scope::Visible;
use crate::{Error, Result};
use model::reference::{ClusterId, NamespaceRef, TenantSlug};
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;

pub use model::tenancy::{GlobalGrant, Membership, Tenant};

/// Loads everything the policy needs for `principal`.
pub async fn load_grants(
    pool: &PgPool,
    principal: &Principal,
    tenancy: &TenancySnapshot,
) -> Result<Grants> {
    let mut grants = Grants::default();
    let memberships: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT tenant, grantee_kind, grantee, role FROM memberships \
         WHERE (grantee_kind = 'user' AND grantee = $1) OR (grantee_kind = 'group' AND grantee = ANY($2))",
    )
    .bind(&principal.subject)
    .bind(&principal.groups)
    .fetch_all(pool)
    .await?;
    for (tenant, kind, grantee, role) in memberships {
        if let Ok(role) = role.parse::<TenantRole>() {
            grants.add_tenant_role(&tenant, role, via(&kind, grantee));
        }
    }
    let global: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT grantee_kind, grantee, role FROM global_roles \
         WHERE (grantee_kind = 'user' AND grantee = $1) OR (grantee_kind = 'group' AND grantee = ANY($2)) \
         ORDER BY grantee_kind DESC",
    )
    .bind(&principal.subject)
    .bind(&principal.groups)
    .fetch_all(pool)
    .await?;
    for (kind, grantee, role) in global {
        if let Ok(role) = role.parse::<GlobalRole>()
            && grants.global_role(role).is_none()
        {
            grants.global.push((role, via(&kind, grantee)));
        }
    }
    grants.tenancy = tenancy.current(pool).await?;
    if let Some(narrowing) = &principal.narrowing {
        grants.narrow(narrowing);
    }
    Ok(grants)
}

/// The tenancy every request shares: reloaded only when `tenancy_version` says the
/// namespace assignments changed (on this replica or any other), then swapped whole.
#[derive(Debug, Default)]
pub struct TenancySnapshot {
    current: std::sync::RwLock<Option<(i64, Arc<Tenancy>)>>,
}

impl TenancySnapshot {
    /// The current snapshot, reloaded first if the assignments changed since it was taken.
    pub async fn current(&self, pool: &PgPool) -> Result<Arc<Tenancy>> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM tenancy_version")
            .fetch_one(pool)
            .await?;
        if let Ok(guard) = self.current.read()
            && let Some((held, tenancy)) = guard.as_ref()
            && *held == version
        {
            return Ok(tenancy.clone());
        }
        // Read the version again in the same snapshot as the rows, so a change racing this
        // load is caught by the next request instead of being cached under the new number.
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM tenancy_version")
            .fetch_one(&mut *tx)
            .await?;
        let rows = sqlx::query_as::<_, (String, String, String)>(
            "SELECT cluster, namespace, tenant FROM tenant_namespaces",
        )
        .fetch_all(&mut *tx)
        .await?;
        let nested_flux =
            sqlx::query_scalar::<_, String>("SELECT slug FROM tenants WHERE nested_flux")
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        tx.commit().await?;
        // The table's constraints only hold valid names; a row that is not one is skipped.
        let namespace_owners = rows
            .into_iter()
            .filter_map(|(cluster, namespace, tenant)| {
                let cluster = ClusterId::new(cluster).ok()?;
                Some((NamespaceRef::new(cluster, namespace).ok()?, tenant))
            })
            .collect();
        let tenancy = Arc::new(Tenancy {
            namespace_owners,
            nested_flux,
        });
        if let Ok(mut guard) = self.current.write() {
            *guard = Some((version, tenancy.clone()));
        }
        Ok(tenancy)
    }
}

fn via(kind: &str, grantee: String) -> Via {
    if kind == "group" {
        Via::Group(grantee)
    } else {
        Via::User
    }
}

/// Lists the tenants in `visible`, with their namespaces.
pub async fn list_tenants(pool: &PgPool, visible: &Visible) -> Result<Vec<Tenant>> {
    let rows: Vec<(String, String, bool, Vec<String>)> = sqlx::query_as(
        "SELECT t.slug, t.display_name, t.nested_flux, \
                coalesce(array_agg(n.namespace ORDER BY n.namespace) FILTER (WHERE n.namespace IS NOT NULL), '{}') \
         FROM tenants t LEFT JOIN tenant_namespaces n ON n.tenant = t.slug \
         GROUP BY t.slug, t.display_name, t.nested_flux ORDER BY t.slug",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(slug, ..)| visible.contains(slug))
        .map(|(slug, display_name, nested_flux, namespaces)| Tenant {
            slug,
            display_name,
            namespaces,
            nested_flux,
        })
        .collect())
}

/// Reads one tenant.
pub async fn get_tenant(pool: &PgPool, slug: &str) -> Result<Tenant> {
    let visible = Visible::Only([slug.to_owned()].into());
    list_tenants(pool, &visible)
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("tenant", slug))
}

/// Creates a tenant.
pub async fn create_tenant(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    display_name: &str,
) -> Result<Tenant> {
    let slug = slug.as_str();
    let inserted = sqlx::query(
        "INSERT INTO tenants (slug, display_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(slug)
    .bind(display_name)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Error::AlreadyExists {
            kind: "tenant",
            name: slug.to_owned(),
        });
    }
    Ok(Tenant {
        slug: slug.to_owned(),
        display_name: display_name.to_owned(),
        namespaces: Vec::new(),
        nested_flux: false,
    })
}

/// Allows or forbids a tenant's own content to write Flux objects.
pub async fn set_nested_flux(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    allowed: bool,
) -> Result<()> {
    let slug = slug.as_str();
    let updated = sqlx::query("UPDATE tenants SET nested_flux = $2 WHERE slug = $1")
        .bind(slug)
        .bind(allowed)
        .execute(&mut *conn)
        .await?;
    expect_one(updated.rows_affected(), "tenant", slug)
}

/// Changes a tenant's display name.
pub async fn rename_tenant(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    display_name: &str,
) -> Result<()> {
    let slug = slug.as_str();
    let updated = sqlx::query("UPDATE tenants SET display_name = $2 WHERE slug = $1")
        .bind(slug)
        .bind(display_name)
        .execute(&mut *conn)
        .await?;
    expect_one(updated.rows_affected(), "tenant", slug)
}

/// Deletes a tenant and its memberships; refused while it owns namespaces, so that no
/// namespace silently loses its owner (and its tenant identity) with it.
pub async fn delete_tenant(conn: &mut PgConnection, slug: &TenantSlug) -> Result<()> {
    let slug = slug.as_str();
    let exists: Option<String> =
        sqlx::query_scalar("SELECT slug FROM tenants WHERE slug = $1 FOR UPDATE")
            .bind(slug)
            .fetch_optional(&mut *conn)
            .await?;
    if exists.is_none() {
        return Err(Error::not_found("tenant", slug));
    }
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT namespace FROM tenant_namespaces WHERE tenant = $1 ORDER BY namespace",
    )
    .bind(slug)
    .fetch_all(&mut *conn)
    .await?;
    if !owned.is_empty() {
        return Err(Error::Conflict(format!(
            "tenant {slug} still owns namespaces {}; unassign them or move them to another tenant first",
            owned.join(", ")
        )));
    }
    sqlx::query("DELETE FROM tenants WHERE slug = $1")
        .bind(slug)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Gives `namespace` to `tenant`; refused when another tenant owns it.
pub async fn assign_namespace(
    conn: &mut PgConnection,
    reference: &NamespaceRef,
    tenant: &TenantSlug,
) -> Result<()> {
    let tenant = tenant.as_str();
    let namespace = reference.name();
    let owner: Option<String> = sqlx::query_scalar(
        "SELECT tenant FROM tenant_namespaces WHERE cluster = $1 AND namespace = $2",
    )
    .bind(reference.cluster().as_str())
    .bind(namespace)
    .fetch_optional(&mut *conn)
    .await?;
    match owner {
        Some(owner) if owner == tenant => return Ok(()),
        Some(owner) => {
            return Err(Error::Conflict(format!(
                "namespace {namespace} already belongs to tenant {owner}; unassign it first"
            )));
        }
        None => {}
    }
    sqlx::query("INSERT INTO tenant_namespaces (cluster, namespace, tenant) VALUES ($1, $2, $3)")
        .bind(reference.cluster().as_str())
        .bind(namespace)
        .bind(tenant)
        .execute(&mut *conn)
        .await
        .map_err(|e| match constraint(&e) {
            Some("tenant_namespaces_tenant_fkey") => Error::not_found("tenant", tenant),
            Some("tenant_namespaces_pkey") => Error::Conflict(format!(
                "namespace {namespace} was just assigned to another tenant"
            )),
            _ => e.into(),
        })?;
    Ok(())
}

/// Gives `namespace` to `tenant` whoever owns it now; returns the previous owner.
pub async fn move_namespace(
    conn: &mut PgConnection,
    reference: &NamespaceRef,
    tenant: &TenantSlug,
) -> Result<Option<String>> {
    let tenant = tenant.as_str();
    let previous: Option<String> = sqlx::query_scalar(
        "SELECT tenant FROM tenant_namespaces WHERE cluster = $1 AND namespace = $2 FOR UPDATE",
    )
    .bind(reference.cluster().as_str())
    .bind(reference.name())
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO tenant_namespaces (cluster, namespace, tenant) VALUES ($1, $2, $3) \
         ON CONFLICT (cluster, namespace) DO UPDATE SET tenant = EXCLUDED.tenant, assigned_at = now()",
    )
    .bind(reference.cluster().as_str())
    .bind(reference.name())
    .bind(tenant)
    .execute(&mut *conn)
    .await
    .map_err(|e| match constraint(&e) {
        Some("tenant_namespaces_tenant_fkey") => Error::not_found("tenant", tenant),
        _ => e.into(),
    })?;
    Ok(previous)
}

/// Takes `namespace` away from whichever tenant owns it.
pub async fn unassign_namespace(conn: &mut PgConnection, reference: &NamespaceRef) -> Result<()> {
    let deleted =
        sqlx::query("DELETE FROM tenant_namespaces WHERE cluster = $1 AND namespace = $2")
            .bind(reference.cluster().as_str())
            .bind(reference.name())
            .execute(&mut *conn)
            .await?;
    expect_one(
        deleted.rows_affected(),
        "namespace assignment",
        reference.name(),
    )
}

/// Gives `grantee` `role` on `tenant`, replacing any role they had there.
pub async fn add_membership(
    conn: &mut PgConnection,
    tenant: &TenantSlug,
    grantee: &Grantee,
    role: TenantRole,
) -> Result<()> {
    let tenant = tenant.as_str();
    sqlx::query(
        "INSERT INTO memberships (tenant, grantee_kind, grantee, role) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant, grantee_kind, grantee) DO UPDATE SET role = EXCLUDED.role, granted_at = now()",
    )
    .bind(tenant)
    .bind(grantee.kind())
    .bind(grantee.name())
    .bind(role.as_str())
    .execute(&mut *conn)
    .await
    .map_err(|e| match constraint(&e) {
        Some("memberships_tenant_fkey") => Error::not_found("tenant", tenant),
        _ => e.into(),
    })?;
    Ok(())
}

/// Changes the role of an existing membership.
pub async fn change_membership(
    conn: &mut PgConnection,
    tenant: &TenantSlug,
    grantee: &Grantee,
    role: TenantRole,
) -> Result<()> {
    let tenant = tenant.as_str();
    let updated = sqlx::query(
        "UPDATE memberships SET role = $4, granted_at = now() \
         WHERE tenant = $1 AND grantee_kind = $2 AND grantee = $3",
    )
    .bind(tenant)
    .bind(grantee.kind())
    .bind(grantee.name())
    .bind(role.as_str())
    .execute(&mut *conn)
    .await?;
    expect_one(
        updated.rows_affected(),
        "membership",
        format!("{grantee} on tenant {tenant}"),
    )
}

/// Removes `grantee`'s membership of `tenant`.
pub async fn remove_membership(
    conn: &mut PgConnection,
    tenant: &TenantSlug,
    grantee: &Grantee,
) -> Result<()> {
    let tenant = tenant.as_str();
    let deleted = sqlx::query(
        "DELETE FROM memberships WHERE tenant = $1 AND grantee_kind = $2 AND grantee = $3",
    )
    .bind(tenant)
    .bind(grantee.kind())
    .bind(grantee.name())
    .execute(&mut *conn)
    .await?;
    expect_one(
        deleted.rows_affected(),
        "membership",
        format!("{grantee} on tenant {tenant}"),
    )
}

/// Lists `tenant`'s memberships.
pub async fn list_memberships(pool: &PgPool, tenant: &str) -> Result<Vec<Membership>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT tenant, grantee_kind, grantee, role FROM memberships WHERE tenant = $1 \
         ORDER BY grantee_kind, grantee",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(tenant, grantee_kind, grantee, role)| {
            Some(Membership {
                tenant,
                grantee_kind,
                grantee,
                role: role.parse().ok()?,
            })
        })
        .collect())
}

/// Grants a global role (idempotent).
pub async fn grant_global(
    conn: &mut PgConnection,
    grantee: &Grantee,
    role: GlobalRole,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO global_roles (grantee_kind, grantee, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(grantee.kind())
    .bind(grantee.name())
    .bind(role.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Revokes a global role; the last platform-admin grant cannot go, or nobody could
/// administer Pilothouse any more.
pub async fn revoke_global(
    conn: &mut PgConnection,
    grantee: &Grantee,
    role: GlobalRole,
) -> Result<()> {
    // Locking every platform-admin row makes two concurrent revocations see each other.
    let admins: Vec<(String, String)> = sqlx::query_as(
        "SELECT grantee_kind, grantee FROM global_roles WHERE role = 'platform-admin' FOR UPDATE",
    )
    .fetch_all(&mut *conn)
    .await?;
    let is_this =
        |(kind, name): &(String, String)| kind == grantee.kind() && name == grantee.name();
    if role == GlobalRole::PlatformAdmin && admins.len() == 1 && admins.iter().all(is_this) {
        return Err(Error::Conflict(format!(
            "{grantee} is the last platform-admin; grant platform-admin to someone else first"
        )));
    }
    let deleted = sqlx::query(
        "DELETE FROM global_roles WHERE grantee_kind = $1 AND grantee = $2 AND role = $3",
    )
    .bind(grantee.kind())
    .bind(grantee.name())
    .bind(role.as_str())
    .execute(&mut *conn)
    .await?;
    expect_one(
        deleted.rows_affected(),
        "global role grant",
        format!("{role} for {grantee}"),
    )?;
    Ok(())
}

/// Lists every global role grant.
pub async fn list_global(pool: &PgPool) -> Result<Vec<GlobalGrant>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT grantee_kind, grantee, role FROM global_roles ORDER BY role, grantee_kind, grantee",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(grantee_kind, grantee, role)| {
            Some(GlobalGrant {
                grantee_kind,
                grantee,
                role: role.parse().ok()?,
            })
        })
        .collect())
}

fn expect_one(rows: u64, kind: &'static str, name: impl Into<String>) -> Result<()> {
    if rows == 0 {
        Err(Error::not_found(kind, name))
    } else {
        Ok(())
    }
}

fn constraint(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}
