//! Where an object comes from and what a deployment applied: a trace from any object to the
//! Kustomization or HelmRelease that manages it (Flux's ownership labels) and on to its
//! source, and a deployment's inventory (`status.inventory`).

use super::kinds::{FluxKind, HELM_CHART, HELM_RELEASE, KUSTOMIZATION, by_kind};
use super::types::DeploymentStatusFields;
use control_core::{Error, Result};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::{Client, ResourceExt};
use model::deployment::{InventoryEntry, TraceStep};
use serde_json::Value;

/// The labels kustomize-controller and helm-controller put on what they apply.
const OWNER_LABELS: [(&str, &str, FluxKind); 2] = [
    (
        "kustomize.toolkit.fluxcd.io/name",
        "kustomize.toolkit.fluxcd.io/namespace",
        KUSTOMIZATION,
    ),
    (
        "helm.toolkit.fluxcd.io/name",
        "helm.toolkit.fluxcd.io/namespace",
        HELM_RELEASE,
    ),
];

/// How deep a trace goes before it stops (a Kustomization may manage another).
const MAX_STEPS: usize = 8;

/// Follows `object` (any kind, found through discovery) to its Flux owner and on to the source,
/// one step per object, starting with the object itself. Labels are set by whoever applies an
/// object, so a link into a namespace that is not `readable` ends the trace: that step shows
/// only its relation and kind, and nothing beyond it is read.
pub async fn trace(
    client: &Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
    readable: impl Fn(&str) -> bool,
) -> Result<Vec<TraceStep>> {
    let resource = resolve(client, api_version, kind).await?;
    let first = get(client, &resource, namespace, name)
        .await?
        .ok_or_else(|| Error::not_found("object", format!("{kind} {namespace}/{name}")))?;
    let mut steps = vec![step("object", &resource, &first)];
    let mut current = first;
    while steps.len() < MAX_STEPS {
        let Some((relation, next_kind, next_ns, next_name)) = next_link(&current) else {
            break;
        };
        let next_resource = next_kind.api_resource();
        if !readable(&next_ns) {
            steps.push(TraceStep {
                relation: relation.to_owned(),
                api_version: next_resource.api_version.clone(),
                kind: next_kind.kind.to_owned(),
                namespace: String::new(),
                name: String::new(),
                ready: None,
                message: "leads outside the namespaces you can read; the trace stops here".into(),
                revision: None,
            });
            break;
        }
        match get(client, &next_resource, &next_ns, &next_name).await? {
            Some(next) => {
                steps.push(step(relation, &next_resource, &next));
                current = next;
            }
            None => {
                steps.push(TraceStep {
                    relation: relation.to_owned(),
                    api_version: next_resource.api_version.clone(),
                    kind: next_kind.kind.to_owned(),
                    namespace: next_ns,
                    name: next_name,
                    ready: None,
                    message: "not found: it was deleted or never created".to_owned(),
                    revision: None,
                });
                break;
            }
        }
    }
    Ok(steps)
}

/// The object a step leads to: its Flux owner by label, or a Flux object's source.
fn next_link(object: &DynamicObject) -> Option<(&'static str, FluxKind, String, String)> {
    let own_namespace = object.namespace().unwrap_or_default();
    let kind = object
        .types
        .as_ref()
        .map(|t| t.kind.as_str())
        .unwrap_or_default();
    let text = |p: &str| {
        object
            .data
            .pointer(p)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let source_ref = |base: &str| -> Option<(FluxKind, String, String)> {
        let kind = by_kind(&text(&format!("{base}/kind"))?)?;
        let ns = text(&format!("{base}/namespace")).unwrap_or_else(|| own_namespace.clone());
        Some((kind, ns, text(&format!("{base}/name"))?))
    };
    match kind {
        "Kustomization"
            if object
                .types
                .as_ref()
                .is_some_and(|t| t.api_version.starts_with("kustomize.toolkit")) =>
        {
            source_ref("/spec/sourceRef").map(|(k, ns, n)| ("source", k, ns, n))
        }
        "HelmRelease" => {
            // helm-controller names the chart it made in status.helmChart ("namespace/name").
            if let Some((ns, name)) = text("/status/helmChart")
                .and_then(|c| c.split_once('/').map(|(a, b)| (a.to_owned(), b.to_owned())))
            {
                return Some(("chart", HELM_CHART, ns, name));
            }
            source_ref("/spec/chart/spec/sourceRef")
                .or_else(|| source_ref("/spec/chartRef"))
                .map(|(k, ns, n)| ("source", k, ns, n))
        }
        "HelmChart" => source_ref("/spec/sourceRef").map(|(k, ns, n)| ("source", k, ns, n)),
        _ => owner(object).map(|(k, ns, n)| ("managed by", k, ns, n)),
    }
    .or_else(|| {
        // A Flux object (or a source) may itself be applied by a Kustomization.
        matches!(kind, "Kustomization" | "HelmRelease" | "HelmChart")
            .then(|| owner(object))
            .flatten()
            .map(|(k, ns, n)| ("managed by", k, ns, n))
    })
}

/// The Kustomization or HelmRelease that applied `object`, from Flux's labels.
pub fn owner(object: &DynamicObject) -> Option<(FluxKind, String, String)> {
    let labels = object.labels();
    OWNER_LABELS.iter().find_map(|(name, namespace, kind)| {
        Some((
            *kind,
            labels.get(*namespace)?.clone(),
            labels.get(*name)?.clone(),
        ))
    })
}

fn step(relation: &str, resource: &ApiResource, object: &DynamicObject) -> TraceStep {
    let ready = object
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let revision = [
        "/status/lastAppliedRevision",
        "/status/artifact/revision",
        "/status/history/0/chartVersion",
    ]
    .iter()
    .find_map(|p| object.data.pointer(p).and_then(Value::as_str))
    .map(str::to_owned);
    TraceStep {
        relation: relation.to_owned(),
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
        namespace: object.namespace().unwrap_or_default(),
        name: object.name_any(),
        ready: ready.and_then(|c| c["status"].as_str()).map(str::to_owned),
        message: ready
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_owned(),
        revision,
    }
}

async fn resolve(client: &Client, api_version: &str, kind: &str) -> Result<ApiResource> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let valid = |s: &str| {
        s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    if version.is_empty()
        || !valid(group)
        || !valid(version)
        || kind.is_empty()
        || !kind.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Error::invalid(
            "kind",
            format!("{api_version:?} {kind:?} is not an apiVersion and kind"),
        ));
    }
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| match e {
            // A kind the cluster does not serve is named but not there: 404, as for objects.
            kube::Error::Api(status) if status.code == 404 => Error::not_found(
                "kind",
                format!("{kind} in {api_version}: the cluster does not serve it; check the apiVersion and kind, or install the CRD that defines it"),
            ),
            kube::Error::Discovery(_) => Error::not_found(
                "kind",
                format!("{kind} in {api_version}: the cluster does not serve it; check the apiVersion and kind, or install the CRD that defines it"),
            ),
            other => Error::Cluster(other.to_string()),
        })?;
    Ok(resource)
}

async fn get(
    client: &Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
) -> Result<Option<DynamicObject>> {
    let api: Api<DynamicObject> = if namespace.is_empty() {
        Api::all_with(client.clone(), resource)
    } else {
        Api::namespaced_with(client.clone(), namespace, resource)
    };
    api.get_opt(name)
        .await
        .map_err(control_core::adapters::cluster_error)
}

/// What a Kustomization or HelmRelease applied, from its `status.inventory`
/// (entries `<namespace>_<name>_<group>_<kind>` with a version).
pub fn inventory(object: &Value) -> Vec<InventoryEntry> {
    let mut entries: Vec<InventoryEntry> = DeploymentStatusFields::of(object)
        .inventory
        .unwrap_or_default()
        .entries
        .into_iter()
        .filter_map(|entry| {
            let id = entry.id.as_str();
            // Names and namespaces cannot hold '_', so the first two splits are safe; a
            // group may be empty (the core group).
            let mut parts = id.splitn(4, '_');
            let (namespace, name, group, kind) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            Some(InventoryEntry {
                group: group.to_owned(),
                version: entry.v.clone(),
                kind: kind.to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                health: None,
            })
        })
        .collect();
    entries.sort();
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inventory_ids_are_split_into_their_parts() {
        let object = json!({ "status": { "inventory": { "entries": [
            { "id": "team-a_web_apps_Deployment", "v": "v1" },
            { "id": "_team-a__Namespace", "v": "v1" },
            { "id": "broken" },
        ] } } });
        let entries = inventory(&object);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (
                entries[0].namespace.as_str(),
                entries[0].kind.as_str(),
                entries[0].group.as_str()
            ),
            ("", "Namespace", "")
        );
        assert_eq!(
            (entries[1].group.as_str(), entries[1].name.as_str()),
            ("apps", "web")
        );
    }
}
