//! `pilothouse seed-demo`: the demo's tenants, namespaces and memberships for its users
//! (admin, alice, bob, carol, dave), made through the same audited operations as any change.

use crate::config::Config;
use anyhow::Context;
use control::access::{GlobalRole, Grantee, Principal, TenantRole};
use control::audit::Channel;
use control::{Error, RequestContext, Service};

/// Tenants and the namespaces they own.
const TENANTS: [(&str, &str, &[&str]); 3] = [
    ("team-a", "Team A", &["team-a"]),
    ("team-b", "Team B", &["team-b"]),
    ("platform", "Platform", &["platform", "flux-system"]),
];

/// Who gets which role where.
const MEMBERSHIPS: [(&str, &str, TenantRole); 4] = [
    ("team-a", "alice", TenantRole::Operator),
    ("team-a", "bob", TenantRole::Viewer),
    ("team-b", "bob", TenantRole::Viewer),
    ("team-b", "dave", TenantRole::Admin),
];

/// Seeds the demo tenancy; safe to run again.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    let pool = crate::connect(config).await?;
    let service = Service::new(pool);
    crate::bootstrap(&service, config).await?;
    let admin = config
        .access
        .bootstrap_admin
        .clone()
        .context("the demo seed needs access.bootstrapAdmin")?;
    let ctx = RequestContext {
        principal: Principal {
            issuer: config.oidc.issuer.clone().unwrap_or_default(),
            subject: admin,
            email: None,
            name: None,
            groups: Vec::new(),
        },
        channel: Channel::Cli,
        request_id: None,
        client_addr: None,
    };
    for (slug, name, namespaces) in TENANTS {
        tolerate_existing(service.create_tenant(&ctx, slug, name).await.map(drop))?;
        for namespace in namespaces {
            service.assign_namespace(&ctx, namespace, slug).await?;
        }
    }
    for (tenant, user, role) in MEMBERSHIPS {
        service
            .add_membership(&ctx, tenant, &Grantee::User(user.into()), role)
            .await?;
    }
    service
        .grant_global_role(&ctx, &Grantee::User("carol".into()), GlobalRole::Auditor)
        .await?;
    tracing::info!("demo tenants and memberships are in place");
    Ok(())
}

fn tolerate_existing(result: control::Result<()>) -> anyhow::Result<()> {
    match result {
        Ok(()) | Err(Error::AlreadyExists { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
