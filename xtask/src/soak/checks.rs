//! The checks after the run: every change either applied and audited with its outcome, or
//! refused and audited; no operation left open; the audit chain intact.

use super::DATABASE;
use super::users::Tally;
use crate::fleet::Stack;
use crate::step;
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testkit::postgres::PrivatePostgres;

/// Waits until no operation is pending or running (at most 3 minutes); how long it took.
pub fn wait_settled(pg: &PrivatePostgres) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let open = pg.query(
            DATABASE,
            "SELECT count(*) FROM operations WHERE state IN ('pending', 'running')",
        )?;
        if open.trim() == "0" {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!(
                "{} operations were still open 3 minutes after the soak",
                open.trim()
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// What the checks after the run found.
pub struct Checks {
    /// Changes by what the client saw and what the audit log holds.
    pub outcomes: BTreeMap<(String, String), u64>,
    /// Changes answered as done or accepted with no audited outcome, and audited intents with
    /// no outcome: each a loss.
    pub lost: Vec<String>,
    /// Operations by final state.
    pub operations: Vec<(String, u64)>,
    /// Whether `pilothouse audit verify` passed.
    pub chain_verified: bool,
    /// Its output.
    pub chain: String,
}

/// Checks every change the users sent against the audit log (by its request id), counts the
/// operations by how they ended, and verifies the audit chain.
pub fn check(
    pg: &PrivatePostgres,
    tally: &Tally,
    stack: &Stack,
    url: &str,
) -> anyhow::Result<Checks> {
    step("checking every change against the audit log");
    // request id → phases and outcomes audited for it.
    let mut audited: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let rows = pg.query(
        DATABASE,
        "SELECT request_id, phase, coalesce(outcome, '') FROM audit_log \
         WHERE request_id LIKE 'soak-%' ORDER BY seq",
    )?;
    for line in rows.lines() {
        let mut fields = line.split('|');
        if let (Some(id), Some(phase), Some(outcome)) =
            (fields.next(), fields.next(), fields.next())
        {
            audited
                .entry(id.to_owned())
                .or_default()
                .push((phase.to_owned(), outcome.to_owned()));
        }
    }
    let mut outcomes = BTreeMap::new();
    let mut lost = Vec::new();
    let changes = tally.changes.lock().map(|c| c.clone()).unwrap_or_default();
    for change in &changes {
        let rows = audited.get(&change.request_id).cloned().unwrap_or_default();
        let ended = |outcome: &str| rows.iter().any(|(p, o)| p == "outcome" && o == outcome);
        let record = if rows
            .iter()
            .any(|(p, o)| p == "denied" || (p == "outcome" && o == "denied"))
        {
            "refused (audited as denied)"
        } else if ended("success") {
            "applied (audited success)"
        } else if ended("failure") {
            "failed (audited failure)"
        } else if rows.iter().any(|(p, _)| p == "intent") {
            "intent audited, no outcome"
        } else if change.status == Some(429) {
            // Throttled before anything was decided: the client is told to retry.
            "throttled (not audited: nothing was decided)"
        } else {
            "nothing audited"
        };
        let seen = match change.status {
            None => "no answer".to_owned(),
            Some(code) => format!("{}xx", code / 100),
        };
        *outcomes
            .entry((seen.clone(), record.to_owned()))
            .or_insert(0) += 1;
        let answered_done = matches!(change.status, Some(200..=299));
        if (answered_done && matches!(record, "nothing audited" | "refused (audited as denied)"))
            || record == "intent audited, no outcome"
        {
            lost.push(format!(
                "{} ({}): answered {seen}, {record}",
                change.request_id, change.what
            ));
        }
    }
    let operations = pg
        .query(
            DATABASE,
            "SELECT CASE WHEN error LIKE 'interrupted%' THEN 'interrupted' ELSE state END, count(*) \
             FROM operations GROUP BY 1 ORDER BY 1",
        )?
        .lines()
        .filter_map(|l| {
            let (state, n) = l.split_once('|')?;
            Some((state.to_owned(), n.trim().parse().ok()?))
        })
        .collect();
    let verify = std::process::Command::new(&stack.binary)
        .args(["audit", "verify"])
        .env("PILOTHOUSE_DATABASE_URL", url)
        .envs(stack.env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .context("cannot run pilothouse audit verify")?;
    Ok(Checks {
        outcomes,
        lost,
        operations,
        chain_verified: verify.status.success(),
        chain: format!(
            "{}{}",
            String::from_utf8_lossy(&verify.stdout).trim(),
            String::from_utf8_lossy(&verify.stderr).trim()
        ),
    })
}
