//! An audit chain written before the cluster column existed still verifies after migration
//! 0006, and a row that names another cluster is tamper-evident in that field too.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use control::audit::canonical::canonical_json;
use control::audit::{Actor, AuditLog, Channel, NewEvent, Outcome, Phase};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use std::path::{Path, PathBuf};

/// The migrations as they were before clusters: 0001–0005, copied from the repository.
async fn migrations_before_clusters() -> Migrator {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("migrations-before-clusters-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version: u32 = name[..4].parse().unwrap();
        if version <= 5 {
            std::fs::copy(&path, dir.join(&name)).unwrap();
        }
    }
    Migrator::new(dir.as_path()).await.unwrap()
}

/// How rows were hashed before 0006 (the field set of that release, written out here so the
/// test does not depend on the code it checks).
fn hash_before_clusters(prev: &[u8], seq: i64, at: &str, action: &str, replicas: i64) -> Vec<u8> {
    let fields = json!({
        "seq": seq, "occurredAt": at, "operationId": format!("00000000-0000-0000-0000-00000000000{seq}"),
        "phase": "intent", "actorIssuer": "https://idp.test", "actorSubject": "alice",
        "actorEmail": null, "channel": "api", "requestId": null, "clientAddr": null,
        "action": action, "tenant": "team-a", "namespace": "team-a", "targetKind": "HelmRelease",
        "targetName": "web", "parameters": { "replicas": replicas }, "outcome": "pending", "error": null,
    });
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical_json(&fields).as_bytes());
    hasher.finalize().to_vec()
}

#[sqlx::test(migrations = false)]
async fn an_old_chain_verifies_after_the_cluster_migration(pool: PgPool) {
    migrations_before_clusters().await.run(&pool).await.unwrap();
    let mut prev = vec![0u8; 32];
    for seq in 1..=3i64 {
        let at = format!("2026-11-0{seq}T10:00:00.000000Z");
        let hash = hash_before_clusters(&prev, seq, &at, "deployment.scale", seq);
        sqlx::query(
            "INSERT INTO audit_log (seq, occurred_at, operation_id, phase, actor_issuer, actor_subject, \
             channel, action, tenant, namespace, target_kind, target_name, parameters, outcome, prev_hash, hash) \
             VALUES ($1, $2::timestamptz, $3::uuid, 'intent', 'https://idp.test', 'alice', 'api', \
             'deployment.scale', 'team-a', 'team-a', 'HelmRelease', 'web', $4, 'pending', $5, $6)",
        )
        .bind(seq)
        .bind(&at)
        .bind(format!("00000000-0000-0000-0000-00000000000{seq}"))
        .bind(json!({ "replicas": seq }))
        .bind(&prev)
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
        prev = hash;
    }

    control::store::MIGRATOR.run(&pool).await.unwrap();
    let report = control::audit::verify::verify(&pool).await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.checked, 3);

    // New rows chain on, one of them about another cluster.
    let log = AuditLog::new(pool.clone());
    let mut event = NewEvent {
        operation_id: uuid::Uuid::new_v4(),
        phase: Phase::Intent,
        actor: Actor {
            issuer: "https://idp.test".into(),
            subject: "alice".into(),
            email: None,
        },
        channel: Channel::Api,
        request_id: None,
        client_addr: None,
        action: "deployment.scale".into(),
        tenant: Some("team-a".into()),
        cluster: Default::default(),
        namespace: Some("team-a".into()),
        target_kind: Some("HelmRelease".into()),
        target_name: Some("web".into()),
        parameters: json!({ "replicas": 4 }),
        outcome: Some(Outcome::Pending),
        error: None,
    };
    log.append(event.clone()).await.unwrap();
    event.cluster = "prod-eu".parse().unwrap();
    let other = log.append(event).await.unwrap();
    let report = control::audit::verify::verify(&pool).await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.checked, 5);

    // The cluster is covered by the hash: moving the row to another cluster is caught.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET cluster = 'default' WHERE seq = $1")
        .bind(other.seq)
        .execute(&mut *conn)
        .await
        .unwrap();
    let report = control::audit::verify::verify(&pool).await.unwrap();
    let broken = report.broken.expect("a changed cluster must be detected");
    assert_eq!(broken.seq, other.seq);
}
