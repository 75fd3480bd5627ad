//! The adapter registry as `GET /o2dms/v1/plugins` shows it.

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
}
