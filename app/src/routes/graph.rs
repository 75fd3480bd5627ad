//! The dependency graph: Kustomizations and HelmReleases with their `dependsOn` arrows and
//! sources, in one namespace or every namespace the caller sees, drawn as SVG on the server
//! and kept current by the live stream. Each box links to its object.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::graph::{Graph, GraphNode, NODE_HEIGHT, NODE_WIDTH, NodeRole};

/// The laid-out graph of `namespace`, or of all the caller's namespaces when it is empty.
#[server(prefix = "/api", endpoint = "load_graph")]
pub async fn load_graph(namespace: String) -> Result<Graph, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let namespace = match namespace.trim() {
        "" => None,
        name => Some(crate::server::namespace(name)?),
    };
    Ok(service.dependency_graph(&ctx, namespace.as_ref()).await?)
}

/// The graph page.
#[component]
pub fn GraphPage() -> impl IntoView {
    let query = use_query_map();
    let namespace = move || query.with(|q| q.get("namespace").unwrap_or_default());
    let live = crate::live::use_live(|_| true);
    let graph = Resource::new(
        move || (namespace(), live.changes.get()),
        |(namespace, _)| load_graph(namespace),
    );
    view! {
        <Title text="Dependency graph" />
        <div class="title-row">
            <h1>"Dependency graph"</h1>
            <crate::live::LiveMarker live />
        </div>
        <form method="get" action="/graph" class="filters" role="search">
            <input type="text" name="namespace" placeholder="Namespace (empty: all of yours)"
                aria-label="Namespace" prop:value=namespace />
            <button type="submit">"Show"</button>
        </form>
        <Transition fallback=|| view! { <p class="empty">"Drawing the graph…"</p> }>
            {move || graph.get().map(|result| match result {
                Ok(graph) if graph.nodes.is_empty() => view! {
                    <p class="empty">"No Kustomizations or HelmReleases here."</p>
                }.into_any(),
                Ok(graph) => view! { <Picture graph scope=namespace() /> }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Picture(graph: Graph, scope: String) -> impl IntoView {
    let title = if scope.is_empty() {
        "Dependencies across your namespaces".to_owned()
    } else {
        format!("Dependencies in {scope}")
    };
    let nodes = graph.nodes.clone();
    let arrows: Vec<(String, String)> = graph
        .edges
        .iter()
        .filter_map(|e| {
            Some((
                arrow(nodes.get(e.from)?, nodes.get(e.to)?),
                format!("edge {}", e.relation),
            ))
        })
        .collect();
    let labels: Vec<String> = graph
        .edges
        .iter()
        .filter_map(|e| {
            let (from, to) = (label(nodes.get(e.from)?), label(nodes.get(e.to)?));
            Some(match e.relation.as_str() {
                "image" => format!("{to} runs the image {from} follows"),
                "alert" => format!("{to} reports on {from}"),
                _ => format!("{to} needs {from}"),
            })
        })
        .collect();
    let (width, height) = (graph.width, graph.height);
    view! {
        {graph.truncated.map(|note| view! { <p class="notice stale" role="status">{note}</p> })}
        <p class="legend muted">
            <span class="swatch status-deployed"></span>"ready "
            <span class="swatch status-deploying"></span>"progressing "
            <span class="swatch status-failed"></span>"failed "
            <span class="swatch status-missing"></span>"missing "
            "· solid arrows: dependsOn · dashed: source · dotted: image policy, alert"
        </p>
        <div class="graph-scroll">
            <svg class="graph" data-testid="graph" role="group" aria-label=title.clone()
                viewBox=format!("0 0 {width} {height}") width=width.to_string() height=height.to_string()>
                <defs>
                    <marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
                    </marker>
                </defs>
                {arrows.into_iter().map(|(d, class)| view! {
                    <path d=d class=class marker-end="url(#arrowhead)" />
                }).collect_view()}
                {graph.nodes.into_iter().map(|node| view! { <g><Node node /></g> }).collect_view()}
            </svg>
        </div>
        <details class="graph-list">
            <summary>"The arrows as a list"</summary>
            <ul data-testid="graph-edges">
                {labels.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
            </ul>
        </details>
    }
}

/// One box: a link when it stands for an object Pilothouse shows.
#[component]
fn Node(node: GraphNode) -> impl IntoView {
    let role = match node.role {
        NodeRole::Deployment => "deployment",
        NodeRole::Source => "source",
        NodeRole::Image => "image",
        NodeRole::Notification => "notification",
        NodeRole::Missing => "missing",
    };
    let class = format!("node role-{role} status-{}", node.status);
    let caption = format!(
        "{} · {}{}",
        node.kind,
        node.namespace,
        if node.suspended { " · suspended" } else { "" }
    );
    let name = node.name.clone();
    let described = format!(
        "{} {}/{}: {}{}",
        node.kind,
        node.namespace,
        node.name,
        node.status,
        if node.suspended { ", suspended" } else { "" }
    );
    let shown = if name.chars().count() > 24 {
        format!("{}…", name.chars().take(23).collect::<String>())
    } else {
        name.clone()
    };
    let body = view! {
        <g class=class transform=format!("translate({} {})", node.x, node.y) data-testid="graph-node" data-kind=node.kind.clone() data-name=name>
            <rect width=NODE_WIDTH.to_string() height=NODE_HEIGHT.to_string() rx="6" />
            <text x="10" y="15" class="caption">{caption}</text>
            <text x="10" y="32" class="name">{shown}</text>
            <title>{described.clone()}</title>
        </g>
    };
    match node.href {
        Some(href) => view! { <g><a href=href aria-label=described>{body}</a></g> }.into_any(),
        None => body.into_any(),
    }
}

/// A curve from the right side of `from` to the left side of `to`.
fn arrow(from: &GraphNode, to: &GraphNode) -> String {
    let (x1, y1) = (from.x + NODE_WIDTH, from.y + NODE_HEIGHT / 2.0);
    let (x2, y2) = (to.x, to.y + NODE_HEIGHT / 2.0);
    let bend = ((x2 - x1) / 2.0).max(30.0);
    format!(
        "M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}",
        x1 + bend,
        x2 - bend
    )
}

fn label(node: &GraphNode) -> String {
    format!("{} {}/{}", node.kind, node.namespace, node.name)
}
