//! The dependency graph: Flux deployments, their `dependsOn` edges and their sources, laid
//! out in layers (sources on the left, what depends on something to its right).

pub mod layout;

use serde::{Deserialize, Serialize};

/// What a node stands for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeRole {
    /// A Kustomization or HelmRelease.
    Deployment,
    /// A GitRepository, OCIRepository, HelmRepository, Bucket, HelmChart or ExternalArtifact.
    Source,
    /// An ImagePolicy whose image a deployment runs.
    Image,
    /// An Alert that reports on a deployment.
    Notification,
    /// Named by a `dependsOn` or `sourceRef` but not in the cluster.
    Missing,
}

/// One box in the picture.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphNode {
    /// Deployment, source or missing.
    pub role: NodeRole,
    /// The object's kind.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The status word its colour comes from: deployed, deploying, failed, pending,
    /// ready, not-ready, missing.
    pub status: String,
    /// Whether reconciliation is suspended.
    pub suspended: bool,
    /// Where clicking it goes.
    pub href: Option<String>,
    /// Left edge, in SVG units.
    pub x: f32,
    /// Top edge, in SVG units.
    pub y: f32,
}

/// One arrow: `from` is needed by `to`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEdge {
    /// The needed node's index.
    pub from: usize,
    /// The needing node's index.
    pub to: usize,
    /// `dependsOn`, `source`, `image` or `alert`.
    pub relation: String,
    /// Where an arrow that skips layers passes through them (centres, in SVG units), so it
    /// goes between boxes rather than under them.
    #[serde(default)]
    pub points: Vec<[f32; 2]>,
}

/// The laid-out graph.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Graph {
    /// The boxes.
    pub nodes: Vec<GraphNode>,
    /// The arrows.
    pub edges: Vec<GraphEdge>,
    /// The picture's width, in SVG units.
    pub width: f32,
    /// The picture's height, in SVG units.
    pub height: f32,
    /// Set when there were more deployments than one picture holds.
    pub truncated: Option<String>,
}

/// A node's box width, in SVG units.
pub const NODE_WIDTH: f32 = 200.0;
/// A node's box height, in SVG units.
pub const NODE_HEIGHT: f32 = 40.0;
