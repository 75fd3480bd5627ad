//! The adapter registry as `GET /o2dms/v1/plugins` shows it, and who may read `/metrics`.

use super::{AuditTarget, RequestContext, Service};
use crate::Result;
use crate::access::Action;
use crate::adapters::plugins::PluginInfo;

impl Service {
    /// Every configured adapter with its type, capabilities, health and version.
    pub async fn plugins(&self, ctx: &RequestContext) -> Result<Vec<PluginInfo>> {
        let target = AuditTarget {
            kind: Some("Plugin"),
            ..AuditTarget::default()
        };
        self.platform(ctx, Action::PluginList, &target).await?;
        Ok(self.registry.describe_plugins().await)
    }

    /// Allows reading the Prometheus metrics on the main listener: they count the whole
    /// fleet, so only platform-admins (a scraper's API token of one); the separate metrics
    /// listener, where one is configured, needs no sign-in.
    pub async fn authorize_metrics(&self, ctx: &RequestContext) -> Result<()> {
        let target = AuditTarget {
            kind: Some("metrics"),
            ..AuditTarget::default()
        };
        self.platform(ctx, Action::MetricsRead, &target)
            .await
            .map(drop)
    }
}
