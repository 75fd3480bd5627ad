//! Fixtures shared by the control crate's database tests.

use control::RequestContext;
use control::access::{Grantee, Principal, TenantRole};
use control::audit::Channel;
use control::testing::{TenantSeed, seed};
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
    let tenants = [
        TenantSeed {
            slug: "team-a",
            display_name: "TEAM-A",
            namespaces: &["a-prod", "a-dev"],
            members: vec![(Grantee::User("alice".into()), TenantRole::Operator)],
        },
        TenantSeed {
            slug: "team-b",
            display_name: "TEAM-B",
            namespaces: &["b-prod"],
            members: vec![(Grantee::Group("b-viewers".into()), TenantRole::Viewer)],
        },
    ];
    seed(&service, &admin, &tenants).await.expect("tenants");
    service
}
