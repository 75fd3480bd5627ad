//! Audit append throughput and latency against a real Postgres (`cargo xtask bench`).
//! Not a test: it reports figures and asserts nothing about time.

mod support;

use control::audit::{Actor, AuditLog, Channel, NewEvent, Outcome, Phase};
use serde_json::json;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SEQUENTIAL: usize = 2_000;
const TASKS: usize = 8;
const PER_TASK: usize = 500;

fn event(i: usize) -> NewEvent {
    NewEvent {
        operation_id: Uuid::new_v4(),
        phase: Phase::Intent,
        actor: Actor {
            issuer: "https://idp.bench".into(),
            subject: "bench".into(),
            email: None,
        },
        channel: Channel::Api,
        request_id: Some(format!("req-{i}")),
        client_addr: Some("127.0.0.1".into()),
        action: "deployment.scale".into(),
        cluster: Default::default(),
        tenant: Some("team-a".into()),
        namespace: Some("a-prod".into()),
        target_kind: Some("HelmRelease".into()),
        target_name: Some("web".into()),
        parameters: json!({ "replicas": i % 10, "values": { "image": { "tag": "1.2.3" }, "password": "x" } }),
        outcome: Some(Outcome::Pending),
        error: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(name: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort();
    eprintln!(
        "{name:<28} {:>6} appends  {:>8.0} appends/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let database = support::BenchDatabase::create("audit_bench").await?;
    let pool = database.pool.clone();
    let log = AuditLog::new(pool.clone());

    let started = Instant::now();
    let mut latencies = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let t = Instant::now();
        log.append(event(i)).await?;
        latencies.push(t.elapsed());
    }
    report("sequential, 1 writer", latencies, started.elapsed());

    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(PER_TASK);
                for i in 0..PER_TASK {
                    let t = Instant::now();
                    log.append(event(task * PER_TASK + i))
                        .await
                        .map_err(|e| e.to_string())?;
                    latencies.push(t.elapsed());
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(TASKS * PER_TASK);
    for task in tasks {
        all.extend(task.await??);
    }
    report(
        &format!("concurrent, {TASKS} writers"),
        all,
        started.elapsed(),
    );

    let started = Instant::now();
    let verified = control::audit::verify::verify(&pool).await?;
    eprintln!(
        "verify                       {:>6} rows     {:>8.0} rows/s     valid: {}",
        verified.checked,
        verified.checked as f64 / started.elapsed().as_secs_f64(),
        verified.is_valid()
    );

    database.drop_database().await
}
