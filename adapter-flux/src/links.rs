//! The dependency graph's arrows as Flux records them: `spec.dependsOn` (same kind, same
//! namespace unless one is given) and the source a Kustomization or HelmRelease reads
//! (`spec.sourceRef`, `spec.chart.spec.sourceRef` or `spec.chartRef`).

use super::cache::FluxCache;
use super::kinds::{DEPLOYMENTS, FluxKind};
use control_core::Namespaces;
use control_core::adapters::{Link, ObjectKey};
use kube::ResourceExt;
use kube::api::DynamicObject;
use serde_json::Value;

/// Every arrow into the deployments in `visible`.
pub fn links(cache: &FluxCache, visible: &Namespaces) -> Vec<Link> {
    let mut links = Vec::new();
    for kind in DEPLOYMENTS {
        for object in cache.objects(kind) {
            let namespace = object.namespace().unwrap_or_default();
            if !visible.contains_in(cache.cluster(), &namespace) {
                continue;
            }
            links.extend(of(kind, &object, &namespace));
        }
    }
    links
}

fn of(kind: FluxKind, object: &DynamicObject, namespace: &str) -> Vec<Link> {
    let needing = ObjectKey {
        kind: kind.kind.to_owned(),
        namespace: namespace.to_owned(),
        name: object.name_any(),
    };
    let named = |reference: &Value, kind: &str| -> Option<ObjectKey> {
        Some(ObjectKey {
            kind: kind.to_owned(),
            namespace: reference
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(namespace)
                .to_owned(),
            name: reference.get("name").and_then(Value::as_str)?.to_owned(),
        })
    };
    let mut links: Vec<Link> = object
        .data
        .pointer("/spec/dependsOn")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| named(d, kind.kind))
        .map(|needed| Link {
            needed,
            needing: needing.clone(),
            relation: "dependsOn",
        })
        .collect();
    let source = [
        "/spec/sourceRef",
        "/spec/chart/spec/sourceRef",
        "/spec/chartRef",
    ]
    .into_iter()
    .find_map(|pointer| object.data.pointer(pointer));
    if let Some(reference) = source {
        let source_kind = reference
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("GitRepository");
        if let Some(needed) = named(reference, source_kind) {
            links.push(Link {
                needed,
                needing,
                relation: "source",
            });
        }
    }
    links
}
