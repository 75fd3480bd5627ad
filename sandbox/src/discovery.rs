//! Discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{group}` and
//! `/apis/{group}/{version}`, covering the built-in kinds and every CRD served so far.

use crate::resources::ResourceType;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.0-sandbox", "gitCommit": "sandbox",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
        "compiler": "gc", "platform": "linux/amd64"
    })
}

/// `/api`.
pub fn core_versions() -> Value {
    json!({ "kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1" }] })
}

/// `/apis`: every named group with its versions.
pub fn groups(resources: &[ResourceType]) -> Value {
    let groups: Vec<Value> = group_versions(resources)
        .into_iter()
        .map(|(group, versions)| group_json(&group, &versions))
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `/apis/{group}`.
pub fn group(resources: &[ResourceType], name: &str) -> Option<Value> {
    group_versions(resources)
        .into_iter()
        .find(|(g, _)| g == name)
        .map(|(g, versions)| {
            let mut value = group_json(&g, &versions);
            value["apiVersion"] = json!("v1");
            value
        })
}

/// `/api/v1` or `/apis/{group}/{version}`: the resources served there.
pub fn resource_list(resources: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let served: Vec<&ResourceType> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for r in served {
        list.push(json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": r.short_names,
        }));
        if r.status_subresource {
            list.push(json!({ "name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"] }));
        }
        if r.plural == "pods" && r.group.is_empty() {
            list.push(json!({ "name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"] }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list }),
    )
}

fn group_versions(resources: &[ResourceType]) -> BTreeMap<String, Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        let versions = groups.entry(r.group.clone()).or_default();
        if !versions.contains(&r.version) {
            versions.push(r.version.clone());
        }
    }
    groups
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{group}/{v}"), "version": v }))
        .collect();
    let preferred = versions.first().cloned().unwrap_or_default();
    json!({ "kind": "APIGroup", "name": group, "versions": versions, "preferredVersion": preferred })
}

/// The Accept header value that asks for aggregated discovery.
pub const AGGREGATED: &str = "as=APIGroupDiscoveryList";
/// Its response Content-Type.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Aggregated discovery (apidiscovery.k8s.io/v2): the core group for `/api`, every named group
/// for `/apis`, each with its resources, as kubectl and helm ask for it.
pub fn aggregated(resources: &[ResourceType], core: bool) -> Value {
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    for r in resources.iter().filter(|r| r.group.is_empty() == core) {
        let response_kind = json!({ "group": r.group, "version": r.version, "kind": r.kind });
        let mut subresources = Vec::new();
        if r.status_subresource {
            subresources.push(json!({ "subresource": "status", "responseKind": response_kind, "verbs": ["get", "patch", "update"] }));
        }
        if r.plural == "pods" && r.group.is_empty() {
            subresources.push(json!({ "subresource": "log", "responseKind": { "group": "", "version": "v1", "kind": "Pod" }, "verbs": ["get"] }));
        }
        let resource = json!({
            "resource": r.plural, "responseKind": response_kind, "singularResource": r.singular,
            "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": r.short_names, "subresources": subresources,
        });
        groups
            .entry(r.group.clone())
            .or_default()
            .entry(r.version.clone())
            .or_default()
            .push(resource);
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .into_iter()
                .map(|(version, resources)| json!({ "version": version, "resources": resources, "freshness": "Current" }))
                .collect();
            json!({ "metadata": { "name": group }, "versions": versions })
        })
        .collect();
    json!({ "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items })
}
