//! A small layered layout for the dependency graph (after Sugiyama): each node's layer is
//! the longest path to it from a node nothing points at, so every arrow points right; rows
//! within a layer are ordered by the mean row of their neighbours, sweeping both ways, which
//! untangles most crossings; arrows that would close a cycle are dropped from the layering.

use super::{Graph, GraphEdge, GraphNode, NODE_HEIGHT, NODE_WIDTH};

/// Space between layers, in SVG units.
const GAP_X: f32 = 90.0;
/// Space between rows, in SVG units.
const GAP_Y: f32 = 14.0;
/// Margin around the picture.
const MARGIN: f32 = 16.0;
/// Ordering sweeps (each one down and one up).
const SWEEPS: usize = 4;

/// The height a passing arrow takes in a layer, in SVG units.
const LANE: f32 = 10.0;

/// Places `nodes` (positions ignored) for `edges` and returns the finished graph.
pub fn layout(
    mut nodes: Vec<GraphNode>,
    mut edges: Vec<GraphEdge>,
    truncated: Option<String>,
) -> Graph {
    let n = nodes.len();
    edges.retain(|e| e.from < n && e.to < n && e.from != e.to);
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in &edges {
        incoming[edge.to].push(edge.from);
    }
    let mut layer = layers(&incoming);
    // An arrow across several layers gets a lane (a placeholder) in each layer between, which
    // the ordering moves like a node; `lanes[e]` lists edge e's placeholders in order.
    let mut lanes: Vec<Vec<usize>> = vec![Vec::new(); edges.len()];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, edge) in edges.iter().enumerate() {
        let mut previous = edge.from;
        if layer[edge.to] > layer[edge.from] {
            for l in layer[edge.from] + 1..layer[edge.to] {
                let lane = layer.len();
                layer.push(l);
                outgoing.push(Vec::new());
                incoming.push(Vec::new());
                outgoing[previous].push(lane);
                incoming[lane].push(previous);
                lanes[e].push(lane);
                previous = lane;
            }
        }
        outgoing[previous].push(edge.to);
        incoming[edge.to].push(previous);
    }
    let total = layer.len();
    let depth = layer.iter().copied().max().map_or(0, |d| d + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        (&nodes[a].namespace, &nodes[a].kind, &nodes[a].name).cmp(&(
            &nodes[b].namespace,
            &nodes[b].kind,
            &nodes[b].name,
        ))
    });
    for i in order.into_iter().chain(n..total) {
        rows[layer[i]].push(i);
    }
    let mut position = vec![0_f32; total];
    place(&rows, &mut position);
    for _ in 0..SWEEPS {
        for l in 1..depth {
            reorder(&mut rows[l], &incoming, &position);
            place(&rows, &mut position);
        }
        for l in (0..depth.saturating_sub(1)).rev() {
            reorder(&mut rows[l], &outgoing, &position);
            place(&rows, &mut position);
        }
    }
    let height_of = |i: usize| if i < n { NODE_HEIGHT } else { LANE };
    let column = |row: &Vec<usize>| {
        row.iter().map(|&i| height_of(i)).sum::<f32>() + row.len().saturating_sub(1) as f32 * GAP_Y
    };
    let tallest = rows.iter().map(column).fold(0.0_f32, f32::max);
    let mut centre = vec![[0.0_f32; 2]; total];
    for (l, row) in rows.iter().enumerate() {
        // Shorter layers are centred against the tallest.
        let mut y = MARGIN + (tallest - column(row)) / 2.0;
        let x = MARGIN + l as f32 * (NODE_WIDTH + GAP_X);
        for &i in row {
            if i < n {
                nodes[i].x = x;
                nodes[i].y = y;
            }
            centre[i] = [x + NODE_WIDTH / 2.0, y + height_of(i) / 2.0];
            y += height_of(i) + GAP_Y;
        }
    }
    for (edge, lanes) in edges.iter_mut().zip(lanes) {
        edge.points = lanes.into_iter().map(|lane| centre[lane]).collect();
    }
    Graph {
        nodes,
        edges,
        width: 2.0 * MARGIN + depth as f32 * (NODE_WIDTH + GAP_X)
            - if depth > 0 { GAP_X } else { 0.0 },
        height: 2.0 * MARGIN + tallest,
        truncated,
    }
}

/// Each node's row within its layer.
fn place(rows: &[Vec<usize>], position: &mut [f32]) {
    for row in rows {
        for (at, &i) in row.iter().enumerate() {
            position[i] = at as f32;
        }
    }
}

/// Longest-path layers; a node on a cycle is layered as if the arrow closing it were absent.
fn layers(incoming: &[Vec<usize>]) -> Vec<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let n = incoming.len();
    let mut layer = vec![0; n];
    let mut mark = vec![Mark::New; n];
    for start in 0..n {
        if mark[start] != Mark::New {
            continue;
        }
        // Depth-first without recursion: (node, next predecessor to look at).
        let mut stack = vec![(start, 0_usize)];
        mark[start] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&pred) = incoming[node].get(*next) {
                *next += 1;
                if mark[pred] == Mark::New {
                    mark[pred] = Mark::Open;
                    stack.push((pred, 0));
                }
                continue;
            }
            layer[node] = incoming[node]
                .iter()
                .filter(|&&p| mark[p] == Mark::Done)
                .map(|&p| layer[p] + 1)
                .max()
                .unwrap_or(0);
            mark[node] = Mark::Done;
            stack.pop();
        }
    }
    layer
}

/// Sorts a layer by the mean position of each node's neighbours in the layer before it;
/// nodes without any keep their place.
fn reorder(row: &mut [usize], neighbours: &[Vec<usize>], position: &[f32]) {
    let mut keyed: Vec<(f32, usize)> = row
        .iter()
        .map(|&i| {
            let around = &neighbours[i];
            let key = if around.is_empty() {
                position[i]
            } else {
                around.iter().map(|&j| position[j]).sum::<f32>() / around.len() as f32
            };
            (key, i)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, i)) in row.iter_mut().zip(keyed) {
        *slot = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::NodeRole;

    fn node(name: &str) -> GraphNode {
        GraphNode {
            role: NodeRole::Deployment,
            kind: "Kustomization".into(),
            namespace: "team-b".into(),
            name: name.into(),
            status: "deployed".into(),
            suspended: false,
            href: None,
            x: 0.0,
            y: 0.0,
        }
    }

    fn edge(from: usize, to: usize) -> GraphEdge {
        GraphEdge {
            from,
            to,
            relation: "dependsOn".into(),
            points: Vec::new(),
        }
    }

    #[test]
    fn every_arrow_points_right() {
        // source → db → app → web, and source → app directly.
        let nodes = ["source", "db", "app", "web"].map(node).to_vec();
        let edges = vec![edge(0, 1), edge(1, 2), edge(2, 3), edge(0, 2)];
        let graph = layout(nodes, edges, None);
        let x: Vec<f32> = graph.nodes.iter().map(|n| n.x).collect();
        assert!(x[0] < x[1] && x[1] < x[2] && x[2] < x[3], "{x:?}");
        assert!(graph.width >= x[3] + NODE_WIDTH);
        // source → app skips db's layer: it passes through a lane there, clear of db's box.
        let skip = &graph.edges[3];
        assert_eq!(skip.points.len(), 1, "{skip:?}");
        let [px, py] = skip.points[0];
        let db = &graph.nodes[1];
        assert!(px > db.x && px < db.x + NODE_WIDTH);
        assert!(
            py < db.y || py > db.y + NODE_HEIGHT,
            "the lane is above or below db"
        );
        assert!(graph.edges[..3].iter().all(|e| e.points.is_empty()));
    }

    #[test]
    fn cycles_and_self_loops_do_not_hang() {
        let nodes = ["a", "b", "c"].map(node).to_vec();
        let edges = vec![edge(0, 1), edge(1, 2), edge(2, 0), edge(1, 1)];
        let graph = layout(nodes, edges, None);
        assert_eq!(graph.nodes.len(), 3);
        let columns: std::collections::BTreeSet<i32> =
            graph.nodes.iter().map(|n| n.x as i32).collect();
        assert_eq!(columns.len(), 3, "a chain of three, one arrow dropped");
    }

    #[test]
    fn two_hundred_nodes_lay_out_without_overlap() {
        let nodes: Vec<GraphNode> = (0..200).map(|i| node(&format!("app-{i:03}"))).collect();
        // Ten chains of twenty.
        let edges: Vec<GraphEdge> = (0..200)
            .filter(|i| i % 20 != 19)
            .map(|i| edge(i, i + 1))
            .collect();
        let graph = layout(nodes, edges, None);
        let mut boxes: Vec<(i32, i32)> = graph
            .nodes
            .iter()
            .map(|n| (n.x as i32, n.y as i32))
            .collect();
        boxes.sort_unstable();
        boxes.dedup();
        assert_eq!(boxes.len(), 200, "no two nodes share a place");
        // Each chain stays on one row: the ordering keeps neighbours level.
        for chain in graph.nodes.chunks(20) {
            assert!(
                chain.iter().all(|n| n.y == chain[0].y),
                "chain {} bends",
                chain[0].name
            );
        }
    }
}
