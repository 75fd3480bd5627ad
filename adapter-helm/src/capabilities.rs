//! What the Helm adapter offers beyond the deployment operations: the objects a release
//! applied, counts, and uploaded charts with previews of chart changes.

use super::adapter::HelmAdapter;

use super::preview::manifest_objects;
use control_core::Namespaces;
use control_core::Result;
use control_core::adapters::{Charts, Inventory, RemoteChart, Stats};
use model::deployment::{DeploymentStatus, InventoryEntry, Preview};
use model::reference::DeploymentRef;
use std::collections::BTreeMap;

impl Inventory for HelmAdapter {
    fn inventory(&self, deployment: &DeploymentRef) -> Result<Vec<InventoryEntry>> {
        Ok(manifest_objects(
            &self
                .latest(deployment.namespace(), deployment.name())?
                .manifest,
            deployment.namespace(),
        ))
    }
}

impl Stats for HelmAdapter {
    fn stats(&self, visible: &Namespaces) -> BTreeMap<(String, DeploymentStatus), usize> {
        self.cache.counts(visible)
    }
}

#[async_trait::async_trait]
impl Charts for HelmAdapter {
    fn chart_in_use(&self, chart: &str, version: &str, visible: &Namespaces) -> Vec<String> {
        self.cache
            .releases()
            .iter()
            .filter(|r| visible.contains_in(self.cache.cluster(), &r.namespace))
            .filter(|r| r.chart == chart && r.chart_version == version && r.status != "uninstalled")
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect()
    }

    async fn preview(&self, deployment: &DeploymentRef, change: &Preview) -> Result<String> {
        HelmAdapter::preview(self, deployment.namespace(), deployment.name(), change).await
    }

    async fn render_remote(
        &self,
        chart: &RemoteChart,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String> {
        HelmAdapter::render_remote(self, chart, values).await
    }
}
