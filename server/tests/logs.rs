//! What reaches the logs. An API server outage, through the server's own default filter: each
//! watch cache says once that it failed and once that it works again, and kube's client adds
//! no ERROR line per refused request. And no API token's secret, at any level.
//!
//! Its own test binary: the logger is global to a process. A logger set for one test's thread
//! only misses lines when other tests run beside it (tracing caches which call sites anyone
//! listens to), so both captures are process-wide and each test looks for its own lines.

#[path = "integration/support/mod.rs"]
mod support;

use axum::http::StatusCode;
use control::audit::AuditFilter;
use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use support::TestEnv;
use support::tokens::{make, read_only_token, secret_of, service_token};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

/// A log writer that keeps what is written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written from byte `from` on.
    fn since(&self, from: usize) -> String {
        self.0
            .lock()
            .map(|kept| String::from_utf8_lossy(kept.get(from..).unwrap_or_default()).into_owned())
            .unwrap_or_default()
    }

    /// Everything written.
    fn text(&self) -> String {
        self.since(0)
    }

    /// How many bytes were written so far.
    fn len(&self) -> usize {
        self.0.lock().map(|kept| kept.len()).unwrap_or_default()
    }
}

/// The tests here take turns: each one's lines must not be read as the other's (a server that
/// stops has watches that fail).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut kept) = self.0.lock() {
            kept.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's two captures: what the server's default filter lets through, and every line
/// at every level.
struct Captures {
    filtered: Captured,
    everything: Captured,
}

/// Installs the process's logger once and returns its captures.
fn captures() -> &'static Captures {
    static CAPTURES: OnceLock<Captures> = OnceLock::new();
    CAPTURES.get_or_init(|| {
        let captures = Captures {
            filtered: Captured::default(),
            everything: Captured::default(),
        };
        let filter = server::telemetry::filter(&server::config::LogConfig::default().filter)
            .expect("the default filter");
        let (filtered, everything) = (captures.filtered.clone(), captures.everything.clone());
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || filtered.clone())
                    .with_filter(filter),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || everything.clone())
                    .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
            );
        tracing::subscriber::set_global_default(subscriber).expect("the only logger here");
        captures
    })
}

/// How many lines with `message` each watched kind wrote.
fn per_kind(log: &str, message: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains(message)) {
        let kind = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("kind="))
            .unwrap_or("?")
            .to_owned();
        *counts.entry(kind).or_insert(0) += 1;
    }
    counts
}

/// Polls `check` every 50 ms for up to `limit` (a generous bound on a condition); true once
/// it holds.
async fn eventually(limit: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

#[tokio::test]
async fn an_outage_is_one_line_when_it_starts_and_one_when_it_ends() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let log = &captures().filtered;
    let start = log.len();

    let sandbox = Sandbox::start(SandboxOptions {
        crds: vec![sandbox::vendored_crds()],
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    sandbox::demo::seed_and_settle(sandbox.store(), 2).expect("demo data");
    let client =
        Client::try_from(Config::new(sandbox.url().parse().expect("url"))).expect("client");
    let cache = control::adapters::flux::FluxCache::start(
        &client,
        model::reference::ClusterId::default(),
        "flux",
    );
    cache
        .wait_until_ready(Duration::from_secs(30))
        .await
        .expect("synced");

    // Long enough for kube's client to be refused many times per watch.
    sandbox.restart(Duration::from_secs(3), false);
    let failed = |log: &Captured| per_kind(&log.since(start), "watch failed");
    let again = |log: &Captured| per_kind(&log.since(start), "watch works again");
    assert!(
        eventually(Duration::from_secs(60), || {
            let failed = failed(log);
            !failed.is_empty() && again(log).keys().eq(failed.keys())
        })
        .await,
        "every watch that failed said it works again:\n{}",
        log.since(start)
    );
    let text = log.since(start);
    let failed = failed(log);
    assert!(
        failed.values().all(|n| *n == 1),
        "one warning per watch per outage: {failed:?}\n{text}"
    );
    assert!(
        again(log).values().all(|n| *n == 1),
        "one line per watch when it is back:\n{text}"
    );
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "no ERROR line per refused request: {errors:#?}"
    );
    drop(sandbox);
}

/// Only hashes are stored; the audit log has every make and revoke, and neither it nor the logs
/// hold a secret, through making, using and revoking personal, read-only and service tokens.
#[tokio::test]
async fn secrets_reach_neither_the_database_nor_the_audit_log_nor_the_logs() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let logs = &captures().everything;
    let env = TestEnv::start_with_cluster("token-secrets").await;
    let alice = env.bearer("alice");
    let (alices, alices_id) = secret_of(&make(&env, &alice, json!({ "name": "laptop" })).await);
    let reader = read_only_token(&env, &alice).await;
    let (dave, service, service_id) = service_token(&env).await;
    for secret in [&alices, &reader, &service] {
        env.get_bearer("/o2dms/v1/deployments", secret).await;
    }
    for (id, by) in [(&alices_id, &alice), (&service_id, &dave)] {
        let answer = env
            .send_bearer("DELETE", &format!("/o2dms/v1/tokens/{id}"), by, json!({}))
            .await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    }

    let pool = sqlx::PgPool::connect(env.config.database.url.as_deref().expect("url"))
        .await
        .expect("pool");
    let stored: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT secret_hash FROM api_tokens")
        .fetch_all(&pool)
        .await
        .expect("rows");
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|(hash,)| hash.len() == 32));
    let rows = env
        .service
        .query_audit(&env.admin(), &AuditFilter::default())
        .await
        .expect("audit");
    let text = serde_json::to_string(&rows).expect("rows");
    for action in [
        "token.create",
        "service-token.create",
        "token.revoke",
        "service-token.revoke",
    ] {
        assert!(text.contains(action), "{action} is audited");
    }
    let logged = logs.text();
    assert!(!logged.is_empty(), "the capture works");
    for secret in [&alices, &reader, &service] {
        assert!(!text.contains(secret.as_str()), "a secret in the audit log");
        assert!(!logged.contains(secret.as_str()), "a secret in the logs");
    }
}
