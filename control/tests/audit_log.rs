//! The audit chain against real Postgres: concurrency, tampering, append-only, fail-closed,
//! redaction, queries, exports and archival.

mod support;

use control::Error;
use control::access::{GlobalRole, Grantee, TenantRole};
use control::audit::export::Format;
use control::audit::redact::REDACTED;
use control::audit::{Actor, AuditFilter, AuditLog, Channel, NewEvent, Outcome, Phase};
use futures::TryStreamExt;
use serde_json::json;
use sqlx::PgPool;
use support::{person, seeded};
use uuid::Uuid;

fn sample(action: &str, tenant: Option<&str>, parameters: serde_json::Value) -> NewEvent {
    NewEvent {
        operation_id: Uuid::new_v4(),
        phase: Phase::Intent,
        actor: Actor {
            issuer: "https://idp.test".into(),
            subject: "tester".into(),
            email: None,
        },
        channel: Channel::Api,
        request_id: None,
        client_addr: None,
        action: action.into(),
        cluster: Default::default(),
        tenant: tenant.map(str::to_owned),
        namespace: None,
        target_kind: Some("HelmRelease".into()),
        target_name: Some("web".into()),
        parameters,
        outcome: Some(Outcome::Pending),
        error: None,
    }
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn concurrent_appends_form_one_valid_chain(pool: PgPool) {
    let log = AuditLog::new(pool.clone());
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..500 {
                    log.append(sample(
                        "deployment.scale",
                        None,
                        json!({ "task": task, "i": i }),
                    ))
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let report = control::audit::verify::verify(&pool).await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.checked, 4000);
    assert_eq!((report.first_seq, report.last_seq), (Some(1), Some(4000)));
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn updates_and_deletes_are_rejected(pool: PgPool) {
    let log = AuditLog::new(pool.clone());
    log.append(sample("tenant.create", None, json!({})))
        .await
        .unwrap();
    for statement in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let error = sqlx::query(statement).execute(&pool).await.unwrap_err();
        assert!(
            error.to_string().contains("audit_log is append-only"),
            "{statement}: {error}"
        );
    }
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn verify_names_the_row_a_superuser_changed(pool: PgPool) {
    let log = AuditLog::new(pool.clone());
    for i in 0..5 {
        log.append(sample("deployment.scale", None, json!({ "replicas": i })))
            .await
            .unwrap();
    }
    // A superuser can get past the trigger; the chain still tells.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET parameters = '{\"replicas\": 99}' WHERE seq = 3")
        .execute(&mut *conn)
        .await
        .unwrap();
    let report = control::audit::verify::verify(&pool).await.unwrap();
    let broken = report.broken.expect("tampering must be detected");
    assert_eq!(broken.seq, 3);
    assert!(
        broken.reason.contains("changed after it was written"),
        "{}",
        broken.reason
    );
    assert_eq!(report.checked, 2);

    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET parameters = '{\"replicas\": 2}' WHERE seq = 3")
        .execute(&mut *conn)
        .await
        .unwrap();
    let broken = control::audit::verify::verify(&pool)
        .await
        .unwrap()
        .broken
        .unwrap();
    assert_eq!(broken.seq, 4);
    assert!(
        broken.reason.contains("row 4 is missing"),
        "{}",
        broken.reason
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_change_whose_intent_cannot_be_written_does_not_happen(pool: PgPool) {
    let service = seeded(pool.clone()).await;
    // Every new audit row now fails to insert.
    sqlx::query("ALTER TABLE audit_log ADD CONSTRAINT reject_all CHECK (false) NOT VALID")
        .execute(&pool)
        .await
        .unwrap();
    let admin = person("admin", &[]);
    let error = service
        .create_tenant(&admin, "team-c", "Team C")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AuditUnavailable(_)), "{error}");
    assert!(error.to_string().contains("audit log could not be written"));
    let error = service
        .add_membership(
            &admin,
            "team-a",
            &Grantee::User("zed".into()),
            TenantRole::Admin,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AuditUnavailable(_)), "{error}");

    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE slug = 'team-c'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tenants, 0);
    assert!(
        service
            .grants(&person("zed", &[]))
            .await
            .unwrap()
            .tenants
            .is_empty()
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn secrets_are_redacted_before_they_are_stored(pool: PgPool) {
    let log = AuditLog::new(pool.clone());
    let values = json!({
        "values": {"replicaCount": 2, "auth": {"password": "hunter2", "apiToken": "t0k3n"}},
        "secret": {"kind": "Secret", "data": {"tls.key": "LS0tLS1CRUdJTg=="}}
    });
    log.append(sample("deployment.update", None, values))
        .await
        .unwrap();
    let stored: String = sqlx::query_scalar("SELECT parameters::text FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !stored.contains("hunter2") && !stored.contains("t0k3n") && !stored.contains("LS0t"),
        "{stored}"
    );
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["values"]["auth"]["password"], REDACTED);
    assert_eq!(stored["values"]["replicaCount"], 2);
    assert!(
        control::audit::verify::verify(&pool)
            .await
            .unwrap()
            .is_valid()
    );
}

/// Postgres keeps no U+0000 in `text` or `jsonb`: a NUL that reaches the log is stored as the
/// six characters `\u0000` instead of failing the append (and the change it records).
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_nul_anywhere_in_an_event_is_stored_escaped(pool: PgPool) {
    let log = AuditLog::new(pool.clone());
    let mut event = sample(
        "deployment.update",
        Some("team\u{0}a"),
        json!({ "reason": "a\u{0}b", "k\u{0}ey": ["\u{0}"] }),
    );
    event.error = Some("failed\u{0}".into());
    event.actor.issuer = "https://idp\u{0}".into();
    let stored = log.append(event).await.expect("appended");
    assert_eq!(stored.event.parameters["reason"], "a\\u0000b");
    assert_eq!(stored.event.parameters["k\\u0000ey"][0], "\\u0000");
    assert_eq!(stored.event.error.as_deref(), Some("failed\\u0000"));
    assert_eq!(stored.event.tenant.as_deref(), Some("team\\u0000a"));
    assert!(
        control::audit::verify::verify(&pool)
            .await
            .unwrap()
            .is_valid()
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn queries_filter_paginate_and_respect_visibility(pool: PgPool) {
    let service = seeded(pool.clone()).await;
    let log = service.audit_log();
    for i in 0..7 {
        let tenant = if i % 2 == 0 { "team-a" } else { "team-b" };
        let mut event = sample(
            "deployment.scale",
            Some(tenant),
            json!({ "replicas": i, "note": "50% more" }),
        );
        event.target_name = Some(format!("web-{i}"));
        log.append(event).await.unwrap();
    }
    let admin = person("admin", &[]);
    let filter = AuditFilter {
        action: Some("deployment.scale".into()),
        limit: Some(3),
        ..Default::default()
    };
    let first = service.query_audit(&admin, &filter).await.unwrap();
    assert_eq!(first.events.len(), 3);
    assert_eq!(first.events[0].event.target_name.as_deref(), Some("web-6"));
    let second = service
        .query_audit(
            &admin,
            &AuditFilter {
                before: first.next_before,
                ..filter.clone()
            },
        )
        .await
        .unwrap();
    let third = service
        .query_audit(
            &admin,
            &AuditFilter {
                before: second.next_before,
                ..filter.clone()
            },
        )
        .await
        .unwrap();
    let names: Vec<String> = [first.events, second.events, third.events.clone()]
        .concat()
        .into_iter()
        .map(|e| e.event.target_name.unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "web-6", "web-5", "web-4", "web-3", "web-2", "web-1", "web-0"
        ]
    );
    assert_eq!(third.next_before, None);

    // Free text treats % literally and searches parameters.
    let text = AuditFilter {
        text: Some("50% MORE".into()),
        ..Default::default()
    };
    assert_eq!(
        service
            .query_audit(&admin, &text)
            .await
            .unwrap()
            .events
            .len(),
        7
    );
    let text = AuditFilter {
        text: Some("5_% more".into()),
        ..Default::default()
    };
    assert_eq!(
        service
            .query_audit(&admin, &text)
            .await
            .unwrap()
            .events
            .len(),
        0
    );
    let target = AuditFilter {
        target: Some("web-3".into()),
        ..Default::default()
    };
    assert_eq!(
        service
            .query_audit(&admin, &target)
            .await
            .unwrap()
            .events
            .len(),
        1
    );

    // A tenant admin sees only their tenant's rows; an operator none; an auditor all.
    service
        .add_membership(
            &admin,
            "team-b",
            &Grantee::User("dave".into()),
            TenantRole::Admin,
        )
        .await
        .unwrap();
    let dave = service
        .query_audit(&person("dave", &[]), &AuditFilter::default())
        .await
        .unwrap();
    assert!(!dave.events.is_empty());
    assert!(
        dave.events
            .iter()
            .all(|e| e.event.tenant.as_deref() == Some("team-b"))
    );
    assert!(matches!(
        service
            .query_audit(&person("alice", &[]), &AuditFilter::default())
            .await,
        Err(Error::Forbidden(_))
    ));
    service
        .grant_global_role(&admin, &Grantee::User("carol".into()), GlobalRole::Auditor)
        .await
        .unwrap();
    let all = AuditFilter {
        limit: Some(500),
        ..Default::default()
    };
    let carol = service
        .query_audit(&person("carol", &[]), &all)
        .await
        .unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(carol.events.len() as i64, total);

    let bad = AuditFilter {
        limit: Some(501),
        ..Default::default()
    };
    assert!(matches!(
        service.query_audit(&admin, &bad).await,
        Err(Error::Invalid { field: "limit", .. })
    ));
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn exports_stream_every_matching_row(pool: PgPool) {
    let service = seeded(pool.clone()).await;
    for i in 0..1203 {
        service
            .audit_log()
            .append(sample(
                "deployment.get",
                None,
                json!({ "i": i, "q": "a,\"b\"" }),
            ))
            .await
            .unwrap();
    }
    let admin = person("admin", &[]);
    let filter = AuditFilter {
        action: Some("deployment.get".into()),
        ..Default::default()
    };
    let chunks: Vec<String> = service
        .export_audit(&admin, filter.clone(), Format::JsonLines)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(chunks.len() >= 3, "streamed in pages");
    let lines: Vec<serde_json::Value> = chunks
        .concat()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1203);
    assert_eq!(lines[0]["parameters"]["i"], 1202);

    let csv: Vec<String> = service
        .export_audit(&admin, filter, Format::Csv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let csv = csv.concat();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("seq,occurred_at,operation_id")
    );
    assert_eq!(lines.count(), 1203);
    assert!(
        csv.contains(r#""{""i"":0,""q"":""a,\""b\""""}""#),
        "quoted JSON in CSV"
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn archival_moves_old_rows_behind_a_checkpoint_and_the_chain_still_verifies(pool: PgPool) {
    let service = seeded(pool.clone()).await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    let cutoff = chrono::Utc::now();
    service
        .audit_log()
        .append(sample("deployment.get", None, json!({ "after": true })))
        .await
        .unwrap();

    let admin = person("admin", &[]);
    let mut archive = Vec::new();
    let report = service
        .archive_audit(&admin, cutoff, &mut archive)
        .await
        .unwrap();
    assert_eq!(report.archived_rows as i64, before);
    assert_eq!(
        String::from_utf8(archive).unwrap().lines().count() as i64,
        before
    );

    let remaining: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, phase FROM audit_log ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(remaining.len(), 2, "the later row and the checkpoint");
    assert_eq!(remaining[1].1, "checkpoint");
    let verified = control::audit::verify::verify(&pool).await.unwrap();
    assert!(verified.is_valid(), "{verified:?}");
    assert_eq!(verified.first_seq, Some(before + 1));

    // Archival needs platform-admin; plain deletes stay impossible.
    let alice = person("alice", &[]);
    assert!(matches!(
        service.archive_audit(&alice, cutoff, &mut Vec::new()).await,
        Err(Error::Forbidden(_))
    ));
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(&pool)
            .await
            .is_err()
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn rows_deleted_without_a_checkpoint_are_reported(pool: PgPool) {
    let log = AuditLog::new(pool.clone());
    for _ in 0..3 {
        log.append(sample("deployment.get", None, json!({})))
            .await
            .unwrap();
    }
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 1")
        .execute(&mut *conn)
        .await
        .unwrap();
    let broken = control::audit::verify::verify(&pool)
        .await
        .unwrap()
        .broken
        .unwrap();
    assert_eq!(broken.seq, 2);
    assert!(
        broken.reason.contains("no checkpoint row records them"),
        "{}",
        broken.reason
    );
}
