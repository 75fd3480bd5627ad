//! Fixtures shared by the control crate's database tests.

use control::RequestContext;
use control::access::{Grantee, Principal, TenantRole};
use control::audit::Channel;
use sqlx::PgPool;

/// A principal as the identity provider would describe them.
pub fn person(subject: &str, groups: &[&str]) -> RequestContext {
    RequestContext {
        principal: Principal {
            issuer: "https://idp.test".into(),
            subject: subject.into(),
            email: Some(format!("{subject}@example.test")),
            name: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            narrowing: None,
        },
        channel: Channel::Api,
        request_id: Some(format!("req-{subject}")),
        client_addr: Some("127.0.0.1".into()),
        credential: None,
    }
}

/// A service with `admin` as platform-admin, tenants team-a (namespaces a-prod, a-dev) and
/// team-b (b-prod), alice operator of team-a, group `b-viewers` viewer of team-b.
pub async fn seeded(pool: PgPool) -> control::Service {
    let service = control::Service::new(pool);
    service
        .bootstrap_platform_admin(&Grantee::User("admin".into()))
        .await
        .expect("bootstrap");
    let admin = person("admin", &[]);
    for (tenant, namespaces) in [
        ("team-a", &["a-prod", "a-dev"][..]),
        ("team-b", &["b-prod"][..]),
    ] {
        service
            .create_tenant(&admin, tenant, &tenant.to_uppercase())
            .await
            .expect("tenant");
        for ns in namespaces {
            service
                .assign_namespace(&admin, ns, tenant)
                .await
                .expect("namespace");
        }
    }
    service
        .add_membership(
            &admin,
            "team-a",
            &Grantee::User("alice".into()),
            TenantRole::Operator,
        )
        .await
        .expect("alice");
    service
        .add_membership(
            &admin,
            "team-b",
            &Grantee::Group("b-viewers".into()),
            TenantRole::Viewer,
        )
        .await
        .expect("b-viewers");
    service
}
