//! Grants kept in memory by two replicas of one database: a change made on one (or by the
//! CLI, straight in the database) reaches the other through Postgres LISTEN/NOTIFY, not the
//! 30 s expiry; and a replica that cannot listen caches nothing. The waits follow the cache's
//! own generation counter, with generous bounds, never the clock.

mod support;

use control::access::{Grantee, TenantRole};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use support::{person, seeded};

/// Waits until `check` holds; fails the test when `limit` (a generous bound) passes first.
async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} within {limit:?}");
}

/// The generous bound on a notification's arrival; far below nothing (the expiry of cached
/// grants is 30 s, but a notification is recognised by the generation it moves, not by time).
const NOTIFIED: Duration = Duration::from_secs(60);

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
    until(NOTIFIED, "the listener connects", async || {
        role_on_team_b(&other, "carol").await.is_none() && other.access_cache_is_live()
    })
    .await;
    // The other replica now holds carol's (empty) grants in memory.
    assert_eq!(role_on_team_b(&other, "carol").await, None);

    let admin = person("admin", &[]);
    let before = other.access_cache_generation();
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
    until(NOTIFIED, "the other replica is notified", async || {
        other.access_cache_generation() > before
    })
    .await;
    assert_eq!(
        role_on_team_b(&other, "carol").await,
        Some(TenantRole::Operator),
        "the other replica sees the new membership once notified"
    );

    // A change made outside any replica's service (a superuser, or a restore) is announced
    // by the triggers too.
    let before = other.access_cache_generation();
    sqlx::query("DELETE FROM memberships WHERE grantee = 'carol'")
        .execute(&pool)
        .await
        .expect("delete");
    until(NOTIFIED, "a removal is announced", async || {
        other.access_cache_generation() > before
    })
    .await;
    assert_eq!(
        role_on_team_b(&other, "carol").await,
        None,
        "a removal reaches the other replica once notified"
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
