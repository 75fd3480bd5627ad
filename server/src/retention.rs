//! Scheduled audit retention: once a day, rows older than `audit.retentionDays` are archived
//! to a new JSON Lines file in `audit.archiveDir`, behind a checkpoint row. Only the leader
//! runs it, and each run is claimed in Postgres, so a new leader does not repeat the day's.

use crate::config::AuditConfig;
use anyhow::Context;
use control::Service;
use control::audit::Channel;
use control::audit::retention::ArchiveReport;
use control::leader::Leadership;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the archival runs.
const PERIOD: Duration = Duration::from_secs(24 * 60 * 60);
/// How often the leader looks whether a run is due.
const CHECK: Duration = Duration::from_secs(60);
/// The run's name in `scheduled_runs`.
pub const TASK: &str = "audit-retention";

/// Starts the daily archival on the leader when a retention period is configured.
pub fn spawn(service: Service, config: &AuditConfig, leadership: &Leadership) {
    let Some(days) = config.retention_days else {
        return;
    };
    let dir = config.archive_dir.clone();
    leadership.spawn_while_leading("audit retention", move || {
        let (service, dir) = (service.clone(), dir.clone());
        async move {
            loop {
                match service.claim_scheduled_run(TASK, PERIOD).await {
                    Ok(true) => run(&service, &dir, days).await,
                    Ok(false) => tracing::debug!("audit retention ran less than a day ago"),
                    Err(error) => tracing::error!(%error, "audit retention: cannot claim a run"),
                }
                tokio::time::sleep(CHECK).await;
            }
        }
    });
}

async fn run(service: &Service, dir: &Path, days: u32) {
    match archive_once(service, Channel::System, dir, days, None).await {
        Ok((report, Some(file))) => {
            tracing::info!(rows = report.archived_rows, file = %file.display(), "audit rows archived");
        }
        Ok((_, None)) => tracing::info!("audit retention ran: no rows old enough to archive"),
        Err(error) => tracing::error!("audit archival failed: {error:#}"),
    }
}

/// Archives rows older than `days` into `out` (or a new file in `dir`); returns the report and
/// the file written, if any rows were archived.
pub async fn archive_once(
    service: &Service,
    channel: Channel,
    dir: &Path,
    days: u32,
    out: Option<PathBuf>,
) -> anyhow::Result<(ArchiveReport, Option<PathBuf>)> {
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    let path = match out {
        Some(path) => path,
        None => {
            tokio::fs::create_dir_all(dir).await.with_context(|| {
                format!(
                    "cannot create the audit archive directory {}",
                    dir.display()
                )
            })?;
            dir.join(format!(
                "audit-{}.jsonl",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
            ))
        }
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    let report = service
        .archive_audit_for_retention(channel, cutoff, &mut file)
        .await;
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(error).context("audit archival failed; nothing was removed");
        }
    };
    if report.archived_rows == 0 {
        tokio::fs::remove_file(&path).await.ok();
        return Ok((report, None));
    }
    file.sync_all()
        .await
        .with_context(|| format!("cannot sync {}", path.display()))?;
    Ok((report, Some(path)))
}
