//! The soak's report: faults, errors by status and latencies per route, what the audit log
//! says of every change, and RSS over time.

use super::USERS;
use super::checks::Checks;
use super::faults::Faults;
use super::users::Tally;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The report as Markdown.
pub fn render(
    tally: &Tally,
    faults: &Faults,
    checks: &Checks,
    rss: &[(Duration, [f64; 2])],
    settled: Duration,
    length: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nSoak: {USERS} users, each with its own API token (a fifth platform-admins, the rest operators of a tenant with 10 namespaces), for {} min against two release replicas; \
         every user holds a live stream; a HelmRelease status flaps every 100 ms.\n",
        length.as_secs() / 60
    );
    let _ = writeln!(out, "| at | fault |\n|---|---|");
    for (at, what) in &faults.log {
        let _ = writeln!(out, "| {:.0} s | {what} |", at.as_secs_f64());
    }
    let _ = writeln!(
        out,
        "\n| route | answers | p50 | p99 | by status |\n|---|---|---|---|---|"
    );
    let latencies = tally
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    let statuses = tally.statuses.lock().map(|s| s.clone()).unwrap_or_default();
    let routes: std::collections::BTreeSet<&str> = statuses.keys().map(|(r, _)| *r).collect();
    for route in routes {
        let mut times = latencies.get(route).cloned().unwrap_or_default();
        times.sort();
        let by_status: Vec<String> = statuses
            .iter()
            .filter(|((r, _), _)| *r == route)
            .map(|((_, code), n)| match code {
                0 => format!("no answer × {n}"),
                code => format!("{code} × {n}"),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {route} | {} | {} | {} | {} |",
            times.len(),
            ms(quantile(&times, 0.5)),
            ms(quantile(&times, 0.99)),
            by_status.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nlive events received: {}; streams resumed after ending: {}",
        tally.events.load(Ordering::Relaxed),
        tally.reconnects.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "\n| change answered | audit log | changes |\n|---|---|---|"
    );
    for ((seen, record), n) in &checks.outcomes {
        let _ = writeln!(out, "| {seen} | {record} | {n} |");
    }
    let _ = writeln!(
        out,
        "\nchanges lost (answered as done with no audited outcome, or an intent never ended): {}",
        checks.lost.len()
    );
    for line in checks.lost.iter().take(20) {
        let _ = writeln!(out, "- {line}");
    }
    let operations: Vec<String> = checks
        .operations
        .iter()
        .map(|(state, n)| format!("{state} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "operations: {} (all ended {:.0} s after the run)",
        operations.join(", "),
        settled.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "audit chain: {} ({})",
        if checks.chain_verified {
            "verified"
        } else {
            "**BROKEN**"
        },
        checks.chain
    );
    let _ = writeln!(
        out,
        "\n| at | RSS replica A | RSS replica B |\n|---|---|---|"
    );
    for (at, [a, b]) in rss.iter().step_by(3) {
        let _ = writeln!(
            out,
            "| {:.0} s | {a:.0} MiB | {b:.0} MiB |",
            at.as_secs_f64()
        );
    }
    // Flat after warm-up: replica A (never restarted) from the first fifth to the end.
    let warm: Vec<f64> = rss
        .iter()
        .filter(|(at, _)| *at >= length / 5)
        .map(|(_, [a, _])| *a)
        .collect();
    if let (Some(first), Some(last)) = (warm.first(), warm.last()) {
        let peak = warm.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "\nreplica A after warm-up: {first:.0} MiB → {last:.0} MiB (peak {peak:.0} MiB, {:+.1} %; goal: within 10 %)",
            (last - first) / first.max(1.0) * 100.0
        );
    }
    out
}
