//! `pilothouse audit verify` and `pilothouse audit archive`: maintenance with the server's own
//! database credentials, run by whoever operates the installation.

use crate::config::{AuditCommand, Config};
use anyhow::{Context, bail};
use control::Service;
use control::audit::Channel;
use std::io::Write;

/// Runs an audit command; `Ok(false)` means the chain is broken (exit status 1).
pub async fn run(config: &Config, command: &AuditCommand) -> anyhow::Result<bool> {
    // Maintenance reads what is there: it never migrates a schema under a running server.
    let pool = crate::open(config)?;
    control::store::check_ready(&pool)
        .await
        .context("the database is not ready for maintenance")?;
    let service = Service::new(pool);
    match command {
        AuditCommand::Verify => {
            let report = service
                .verify_audit_for_maintenance()
                .await
                .context("cannot read the audit log")?;
            print_json(&report)?;
            if let Some(broken) = &report.broken {
                tracing::error!(seq = broken.seq, reason = %broken.reason, "the audit chain is broken");
            }
            Ok(report.is_valid())
        }
        AuditCommand::Archive {
            older_than_days,
            out,
        } => {
            let Some(days) = older_than_days.or(config.audit.retention_days) else {
                bail!("say how old rows must be: --older-than-days N, or set audit.retentionDays");
            };
            let (report, file) = crate::retention::archive_once(
                &service,
                Channel::Cli,
                &config.audit.archive_dir,
                days,
                out.clone(),
            )
            .await?;
            print_json(&serde_json::json!({ "report": report, "file": file }))?;
            Ok(true)
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}
