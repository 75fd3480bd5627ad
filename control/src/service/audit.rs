//! Reading, exporting, verifying and archiving the audit log.

use super::{AuditTarget, RequestContext, Service, event};
use crate::Result;
use crate::access::Action;
use crate::audit::export::{Format, export};
use crate::audit::query::{AuditFilter, AuditPage, query};
use crate::audit::retention::{ArchiveReport, archive};
use crate::audit::verify::{VerifyReport, verify};
use crate::audit::{Channel, Outcome, Phase};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde_json::json;
use tokio::io::AsyncWrite;
use uuid::Uuid;

/// The export formats offered to callers.
pub type ExportFormat = Format;

impl Service {
    /// One page of audit rows the caller may see, newest first.
    pub async fn query_audit(
        &self,
        ctx: &RequestContext,
        filter: &AuditFilter,
    ) -> Result<AuditPage> {
        let scope = self.audit_scope(ctx, Action::AuditQuery).await?;
        query(&self.pool, &scope, filter).await
    }

    /// Every matching row the caller may see, streamed as CSV or JSON Lines.
    pub async fn export_audit(
        &self,
        ctx: &RequestContext,
        filter: AuditFilter,
        format: Format,
    ) -> Result<impl Stream<Item = Result<String>> + Send + 'static> {
        let scope = self.audit_scope(ctx, Action::AuditQuery).await?;
        self.spend(ctx, super::Cost::ExpensiveRead)?;
        Ok(export(self.pool.clone(), scope, filter, format))
    }

    /// Recomputes the chain (auditors and platform-admins).
    pub async fn verify_audit(&self, ctx: &RequestContext) -> Result<VerifyReport> {
        self.audit_scope(ctx, Action::AuditVerify).await?;
        verify(&self.pool).await
    }

    /// Recomputes the chain for maintenance run with the server's own database credentials
    /// (`pilothouse audit verify`): whoever holds those may read the whole log anyway.
    pub async fn verify_audit_for_maintenance(&self) -> Result<VerifyReport> {
        verify(&self.pool).await
    }

    /// Moves rows older than `cutoff` to `out` behind a checkpoint row (platform-admins).
    pub async fn archive_audit<W: AsyncWrite + Unpin>(
        &self,
        ctx: &RequestContext,
        cutoff: DateTime<Utc>,
        out: &mut W,
    ) -> Result<ArchiveReport> {
        self.audit_scope(ctx, Action::AuditArchive).await?;
        self.archive_checked(ctx, cutoff, out).await
    }

    /// Retention run by Pilothouse itself: the daily job, or `pilothouse audit archive` run with
    /// the server's own database credentials. The checkpoint row names the channel.
    pub async fn archive_audit_for_retention<W: AsyncWrite + Unpin>(
        &self,
        channel: Channel,
        cutoff: DateTime<Utc>,
        out: &mut W,
    ) -> Result<ArchiveReport> {
        let ctx = RequestContext {
            channel,
            ..RequestContext::system()
        };
        self.archive_checked(&ctx, cutoff, out).await
    }

    /// The archival itself, once the caller is known to be allowed.
    async fn archive_checked<W: AsyncWrite + Unpin>(
        &self,
        ctx: &RequestContext,
        cutoff: DateTime<Utc>,
        out: &mut W,
    ) -> Result<ArchiveReport> {
        let target = AuditTarget {
            kind: Some("AuditLog"),
            parameters: json!({ "cutoff": cutoff.to_rfc3339() }),
            ..AuditTarget::default()
        };
        let checkpoint = event(
            ctx,
            Uuid::new_v4(),
            Phase::Checkpoint,
            Action::AuditArchive,
            &target,
            Outcome::Success,
            None,
        );
        archive(&self.pool, cutoff, out, checkpoint).await
    }
}
