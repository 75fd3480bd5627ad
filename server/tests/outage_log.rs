//! An API server outage in Pilothouse's log, through the server's own default filter: each
//! watch cache says once that it failed and once that it works again, and kube's client adds
//! no ERROR line per refused request.
//!
//! Its own test binary: the logger is global to a process, and lines from other tests would
//! mix with these.

use kube::{Client, Config};
use sandbox::{Sandbox, SandboxOptions};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A log writer that keeps what is written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|kept| String::from_utf8_lossy(&kept).into_owned())
            .unwrap_or_default()
    }
}

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
    let log = Captured::default();
    let writer = log.clone();
    let filter = server::telemetry::filter(&server::config::LogConfig::default().filter)
        .expect("the default filter");
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only logger here");

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
    let failed = |log: &Captured| per_kind(&log.text(), "watch failed");
    let again = |log: &Captured| per_kind(&log.text(), "watch works again");
    assert!(
        eventually(Duration::from_secs(60), || {
            let failed = failed(&log);
            !failed.is_empty() && again(&log).keys().eq(failed.keys())
        })
        .await,
        "every watch that failed said it works again:\n{}",
        log.text()
    );
    let text = log.text();
    let failed = failed(&log);
    assert!(
        failed.values().all(|n| *n == 1),
        "one warning per watch per outage: {failed:?}\n{text}"
    );
    assert!(
        again(&log).values().all(|n| *n == 1),
        "one line per watch when it is back:\n{text}"
    );
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "no ERROR line per refused request: {errors:#?}");
    drop(sandbox);
}
