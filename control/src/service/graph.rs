//! The dependency graph of the Flux deployments a caller may see: one namespace, or every
//! namespace of theirs at once (the tenant-wide view).

use super::{RequestContext, Service};
use crate::Result;
use crate::access::{Action, Namespaces};
use crate::adapters::ObjectKey;
use crate::adapters::page::MAX_LIMIT;
use model::deployment::DeploymentFilter;
use model::graph::layout::layout;
use model::graph::{Graph, GraphEdge, GraphNode, NodeRole};
use model::reference::{ClusterId, DeploymentKind, Family, NamespaceRef, ToolkitKind};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

impl Service {
    /// Kustomizations and HelmReleases with their `dependsOn` arrows and sources, laid out;
    /// objects named but absent are drawn as missing.
    pub async fn dependency_graph(
        &self,
        ctx: &RequestContext,
        namespace: Option<&NamespaceRef>,
    ) -> Result<Graph> {
        let visible = match namespace {
            Some(namespace) => {
                // Refused (and audited) as a list there would be.
                self.namespaced(ctx, Action::DeploymentList, namespace, None, json!({}))
                    .await?;
                Namespaces::Only(BTreeSet::from([namespace.clone()]))
            }
            None => self.visible(ctx, Action::DeploymentList).await?,
        };
        let filter = DeploymentFilter {
            namespace: namespace.map(|n| n.name().to_owned()),
            limit: Some(MAX_LIMIT),
            ..DeploymentFilter::default()
        };
        let page = self.list_deployments(ctx, &filter).await?;
        let mut nodes = Vec::new();
        let mut index: BTreeMap<ObjectKey, usize> = BTreeMap::new();
        for d in page
            .items
            .iter()
            .filter(|d| d.kind != DeploymentKind::Release)
        {
            index.insert(key(&d.kind.to_string(), &d.namespace, &d.name), nodes.len());
            nodes.push(GraphNode {
                role: NodeRole::Deployment,
                kind: d.kind.to_string(),
                namespace: d.namespace.clone(),
                name: d.name.clone(),
                status: d.state.status.as_str().to_owned(),
                suspended: d.state.suspended,
                href: Some(format!("/deployments/{}", d.id)),
                x: 0.0,
                y: 0.0,
            });
        }
        let mut sources = Vec::new();
        for family in Family::ALL {
            sources.extend(self.list_toolkit(ctx, family).await?);
        }
        let mut links = Vec::new();
        for adapter in self.registry.primaries().filter_map(|a| a.as_toolkit()) {
            links.extend(adapter.links(&visible));
            links.extend(adapter.toolkit_links(&visible).await);
        }
        // One cluster per Pilothouse for now (plugins.dms validation enforces it).
        let cluster = ClusterId::default();
        // Toolkit objects are drawn when an arrow touches them: a source or image policy a
        // deployment needs, an Alert that reports on one.
        let used: BTreeSet<&ObjectKey> =
            links.iter().flat_map(|l| [&l.needed, &l.needing]).collect();
        for source in sources.iter().filter(|s| {
            visible.contains_in(&cluster, &s.namespace)
                && used.contains(&key(s.kind.as_str(), &s.namespace, &s.name))
        }) {
            index.insert(
                key(source.kind.as_str(), &source.namespace, &source.name),
                nodes.len(),
            );
            nodes.push(GraphNode {
                role: match source.family {
                    Family::Sources => NodeRole::Source,
                    Family::Images => NodeRole::Image,
                    Family::Notifications => NodeRole::Notification,
                },
                kind: source.kind.to_string(),
                namespace: source.namespace.clone(),
                name: source.name.clone(),
                status: match source.ready.as_deref() {
                    Some("True") => "ready",
                    Some(_) => "not-ready",
                    // Providers and Alerts keep no status: configuration, ready as written.
                    None if matches!(source.kind, ToolkitKind::Provider | ToolkitKind::Alert) => {
                        "ready"
                    }
                    None => "pending",
                }
                .to_owned(),
                suspended: source.suspended,
                href: Some(format!(
                    "/{}/{}/{}/{}",
                    source.family, source.namespace, source.kind, source.name
                )),
                x: 0.0,
                y: 0.0,
            });
        }
        let mut edges = Vec::new();
        for link in links {
            let Some(&to) = index.get(&link.needing) else {
                continue;
            };
            let from = match index.get(&link.needed) {
                Some(&from) => from,
                // Named but not there: often why the dependent is not ready.
                None if visible.contains_in(&cluster, &link.needed.namespace) => {
                    index.insert(link.needed.clone(), nodes.len());
                    nodes.push(GraphNode {
                        role: NodeRole::Missing,
                        kind: link.needed.kind.clone(),
                        namespace: link.needed.namespace.clone(),
                        name: link.needed.name.clone(),
                        status: "missing".into(),
                        suspended: false,
                        href: None,
                        x: 0.0,
                        y: 0.0,
                    });
                    nodes.len() - 1
                }
                None => continue,
            };
            edges.push(GraphEdge {
                from,
                to,
                relation: link.relation.to_owned(),
                points: Vec::new(),
            });
        }
        let truncated = (page.total > page.items.len()).then(|| {
            format!(
                "Showing the first {} of {} deployments; choose a namespace to see all of its own.",
                page.items.len(),
                page.total
            )
        });
        Ok(layout(nodes, edges, truncated))
    }
}

fn key(kind: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}
