//! Typed subsets of the Flux objects: the fields of HelmRelease v2, Kustomization v1 and the
//! source kinds that the adapter reads, named as in the CRDs. Everything else in an object
//! passes through untouched (objects stay `DynamicObject`s, so fields this build does not
//! know are never dropped on a write).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `spec.sourceRef` / `spec.chart.spec.sourceRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolkitRef {
    /// GitRepository, HelmRepository, OCIRepository, Bucket.
    pub kind: Option<String>,
    /// The source's name.
    #[serde(default)]
    pub name: String,
    /// The source's namespace (the object's own when absent).
    pub namespace: Option<String>,
}

/// One `status.history` snapshot of a HelmRelease (helm-controller's Snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmSnapshot {
    /// Helm's release revision.
    #[serde(default)]
    pub version: u32,
    /// deployed, superseded, failed, …
    #[serde(default)]
    pub status: String,
    /// The chart version that was installed.
    #[serde(default)]
    pub chart_version: String,
    /// helm-controller's digest of the values.
    pub config_digest: Option<String>,
    /// When it was deployed.
    pub last_deployed: Option<String>,
}

/// One `status.history` entry of a Kustomization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSnapshot {
    /// The artifact digest that was applied.
    pub digest: Option<String>,
    /// When it was last reconciled.
    pub last_reconciled: Option<String>,
    /// Metadata such as `revision` and `path`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// One `status.inventory.entries` item: `<namespace>_<name>_<group>_<kind>` and a version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct InventoryRef {
    /// The object id.
    #[serde(default)]
    pub id: String,
    /// Its API version.
    #[serde(default)]
    pub v: String,
}

/// `status.inventory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Inventory {
    /// The objects applied.
    #[serde(default)]
    pub entries: Vec<InventoryRef>,
}

/// The status fields the adapter reads, common to HelmRelease and Kustomization.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatusFields {
    /// Revisions, newest first (HelmSnapshot or KustomizationSnapshot).
    #[serde(default)]
    pub history: Vec<Value>,
    /// What was applied.
    pub inventory: Option<Inventory>,
    /// The last `reconcile.fluxcd.io/requestedAt` the controller handled.
    pub last_handled_reconcile_at: Option<String>,
    /// `namespace/name` of the HelmChart made for a HelmRelease.
    pub helm_chart: Option<String>,
}

impl DeploymentStatusFields {
    /// The status of a Flux object (empty when it has none or it does not parse).
    pub fn of(object: &Value) -> Self {
        object
            .get("status")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .unwrap_or_default()
    }

    /// The history as HelmRelease snapshots.
    pub fn helm_history(&self) -> Vec<HelmSnapshot> {
        self.history
            .iter()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }

    /// The history as Kustomization snapshots.
    pub fn kustomization_history(&self) -> Vec<KustomizationSnapshot> {
        self.history
            .iter()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }
}

/// The source a HelmRelease (`spec.chart.spec.sourceRef`) or Kustomization
/// (`spec.sourceRef`) names.
pub fn source_ref(object: &Value, helm_release: bool) -> Option<ToolkitRef> {
    let pointer = if helm_release {
        "/spec/chart/spec/sourceRef"
    } else {
        "/spec/sourceRef"
    };
    serde_json::from_value(object.pointer(pointer)?.clone()).ok()
}
