//! Grants kept in memory by two replicas of one database: a change made on one (or by the
//! CLI, straight in the database) is effective on the other within a second, through
//! Postgres LISTEN/NOTIFY; and a replica that cannot listen caches nothing.

mod support;

use control::access::{Grantee, TenantRole};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use support::{person, seeded};

/// Waits until `check` holds, for at most `limit`; how long it took.
async fn within(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn role_on_team_b(service: &control::Service, subject: &str) -> Option<TenantRole> {
    let grants = service.grants(&person(subject, &[])).await.expect("grants");
    grants.tenants.get("team-b").map(|t| t.role)
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_change_on_one_replica_reaches_the_other_within_a_second(pool: PgPool) {
    let one = seeded(pool.clone()).await;
    let other = control::Service::new(pool.clone());
    one.watch_access_changes();
    other.watch_access_changes();
    // Both listen once their first request finds the cache live.
    let live = within(Duration::from_secs(5), async || {
        role_on_team_b(&other, "carol").await.is_none() && other.access_cache_is_live()
    })
    .await;
    assert!(live.is_some(), "the listener connects");
    // The other replica now holds carol's (empty) grants in memory.
    assert_eq!(role_on_team_b(&other, "carol").await, None);

    let admin = person("admin", &[]);
    one.add_membership(
        &admin,
        "team-b",
        &Grantee::User("carol".into()),
        TenantRole::Operator,
    )
    .await
    .expect("membership");
    assert_eq!(
        role_on_team_b(&one, "carol").await,
        Some(TenantRole::Operator),
        "the replica that made the change sees it at once"
    );
    let took = within(Duration::from_secs(1), async || {
        role_on_team_b(&other, "carol").await == Some(TenantRole::Operator)
    })
    .await;
    assert!(
        took.is_some(),
        "the other replica sees the new membership within 1 s"
    );

    // A change made outside any replica's service (a superuser, or a restore) is announced
    // by the triggers too.
    sqlx::query("DELETE FROM memberships WHERE grantee = 'carol'")
        .execute(&pool)
        .await
        .expect("delete");
    let took = within(Duration::from_secs(1), async || {
        role_on_team_b(&other, "carol").await.is_none()
    })
    .await;
    assert!(
        took.is_some(),
        "a removal reaches the other replica within 1 s"
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn without_a_listener_every_request_reads_the_database(pool: PgPool) {
    let service = seeded(pool.clone()).await;
    assert_eq!(role_on_team_b(&service, "carol").await, None);
    sqlx::query(
        "INSERT INTO memberships (tenant, grantee_kind, grantee, role) VALUES ('team-b', 'user', 'carol', 'viewer')",
    )
    .execute(&pool)
    .await
    .expect("insert");
    assert_eq!(
        role_on_team_b(&service, "carol").await,
        Some(TenantRole::Viewer)
    );
    assert!(!service.access_cache_is_live());
}
