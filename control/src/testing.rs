//! Tenancy fixtures for tests (feature `testing`): the tenants, namespaces and members a test
//! starts from, made through the service as a platform-admin would, so the control crate's
//! tests and the server's start from the same kind of seed.

use crate::access::{Grantee, TenantRole};
use crate::{RequestContext, Result, Service};

/// One tenant to make, with the namespaces it owns and its members.
#[derive(Debug, Clone)]
pub struct TenantSeed<'a> {
    /// Its slug.
    pub slug: &'a str,
    /// Its display name.
    pub display_name: &'a str,
    /// Namespaces assigned to it.
    pub namespaces: &'a [&'a str],
    /// Users and groups with their roles.
    pub members: Vec<(Grantee, TenantRole)>,
}

/// Makes each tenant of `tenants` as `admin`, in order, stopping at the first refusal.
pub async fn seed(
    service: &Service,
    admin: &RequestContext,
    tenants: &[TenantSeed<'_>],
) -> Result<()> {
    for tenant in tenants {
        service
            .create_tenant(admin, tenant.slug, tenant.display_name)
            .await?;
        for namespace in tenant.namespaces {
            service
                .assign_namespace(admin, namespace, tenant.slug)
                .await?;
        }
        for (grantee, role) in &tenant.members {
            service
                .add_membership(admin, tenant.slug, grantee, *role)
                .await?;
        }
    }
    Ok(())
}
