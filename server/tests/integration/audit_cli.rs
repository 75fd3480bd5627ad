//! `pilothouse audit verify` and `pilothouse audit archive`, run as the real binary against a
//! private Postgres, after the start-up bootstrap has written audit rows.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

use server::config::Config;
use std::process::{Command, Output};
use testkit::postgres::PrivatePostgres;

fn pilothouse(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilothouse"))
        .env("PILOTHOUSE_DATABASE_URL", url)
        .env("PILOTHOUSE_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test]
async fn verify_and_archive_from_the_command_line() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit-cli-pg");
    let pg = PrivatePostgres::start(&dir, true).unwrap();
    pg.ensure_database("pilothouse").unwrap();
    let url = pg.url("pilothouse");

    let mut config = Config::default();
    config.database.url = Some(url.clone());
    config.access.bootstrap_admin = Some("admin".into());
    config.access.bootstrap_admin_group = Some("platform-team".into());
    let pool = server::connect(&config).await.unwrap();
    let service = control::Service::new(pool.clone());
    server::bootstrap(&service, &config).await.unwrap();
    server::bootstrap(&service, &config).await.unwrap(); // idempotent: no new rows

    let verified = pilothouse(&url, &["audit", "verify"]);
    assert!(verified.status.success(), "{verified:?}");
    let report = json(&verified);
    assert_eq!(
        report["checked"], 4,
        "intent and outcome for each bootstrap grant: {report}"
    );
    assert_eq!(report["broken"], serde_json::Value::Null);

    let archive = dir.join("archive.jsonl");
    let archived = pilothouse(
        &url,
        &[
            "audit",
            "archive",
            "--older-than-days",
            "0",
            "--out",
            archive.to_str().unwrap(),
        ],
    );
    assert!(archived.status.success(), "{archived:?}");
    assert_eq!(json(&archived)["report"]["archivedRows"], 4);
    assert_eq!(
        std::fs::read_to_string(&archive).unwrap().lines().count(),
        4
    );
    let again = pilothouse(
        &url,
        &[
            "audit",
            "archive",
            "--older-than-days",
            "0",
            "--out",
            archive.to_str().unwrap(),
        ],
    );
    assert!(
        !again.status.success(),
        "an existing archive file is never overwritten"
    );

    let report = json(&pilothouse(&url, &["audit", "verify"]));
    assert_eq!(report["firstSeq"], 5, "{report}");
    assert_eq!(report["broken"], serde_json::Value::Null);

    // Tamper as a superuser past the trigger: verify exits 1 and names the row.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor_subject = 'someone-else' WHERE seq = 5")
        .execute(&mut *conn)
        .await
        .unwrap();
    let tampered = pilothouse(&url, &["audit", "verify"]);
    assert_eq!(tampered.status.code(), Some(1));
    assert_eq!(json(&tampered)["broken"]["seq"], 5);

    // Maintenance never migrates: against an empty database it says why and creates nothing.
    pg.ensure_database("empty").unwrap();
    let empty = pg.url("empty");
    let refused = pilothouse(&empty, &["audit", "verify"]);
    assert!(!refused.status.success(), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("not ready for maintenance"), "{stderr}");
    let untouched = sqlx::PgPool::connect(&empty).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&untouched)
    .await
    .unwrap();
    assert_eq!(tables, 0, "no migration was applied");
}
