//! Looking at a deployment: its events, the Flux controllers' logs, and its clean YAML.

use super::kinds::FluxKind;
use crate::{Error, Result};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use model::deployment::DeploymentEvent;
use serde_json::Value;

/// The Flux controllers whose logs may be read, by their pods' `app` label.
pub const CONTROLLERS: [&str; 4] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

/// Events (core/v1) about one object, newest first.
pub async fn events(
    client: &Client,
    kind: FluxKind,
    namespace: &str,
    name: &str,
) -> Result<Vec<DeploymentEvent>> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let selector = format!(
        "involvedObject.kind={},involvedObject.name={name}",
        kind.kind
    );
    let list = api
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(|e| Error::Cluster(e.to_string()))?;
    let mut events: Vec<DeploymentEvent> = list
        .items
        .into_iter()
        .map(|e| DeploymentEvent {
            kind: e.type_.unwrap_or_else(|| "Normal".into()),
            reason: e.reason.unwrap_or_default(),
            message: e.message.unwrap_or_default(),
            count: e.count.unwrap_or(1),
            last_seen: e
                .last_timestamp
                .map(|t| t.0.to_string())
                .or_else(|| e.event_time.map(|t| t.0.to_string())),
            source: e
                .source
                .and_then(|s| s.component)
                .or(e.reporting_component)
                .unwrap_or_default(),
        })
        .collect();
    events.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
    Ok(events)
}

/// The last `tail` lines of a Flux controller's log, from its pods in `flux_namespace`.
pub async fn controller_logs(
    client: &Client,
    flux_namespace: &str,
    controller: &str,
    tail: i64,
) -> Result<String> {
    if !CONTROLLERS.contains(&controller) {
        return Err(Error::invalid(
            "controller",
            format!("{controller:?} is not one of {}", CONTROLLERS.join(", ")),
        ));
    }
    if !(1..=10_000).contains(&tail) {
        return Err(Error::invalid("tail", "must be between 1 and 10000 lines"));
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), flux_namespace);
    let found = pods
        .list(&ListParams::default().labels(&format!("app={controller}")))
        .await
        .map_err(|e| Error::Cluster(e.to_string()))?;
    let pod = found.items.into_iter().next().ok_or_else(|| {
        Error::not_found("controller pod", format!("{flux_namespace}/{controller}"))
    })?;
    let name = pod.metadata.name.unwrap_or_default();
    pods.logs(
        &name,
        &LogParams {
            tail_lines: Some(tail),
            ..LogParams::default()
        },
    )
    .await
    .map_err(|e| Error::Cluster(e.to_string()))
}

/// The object as clean YAML: no status, managedFields or server-set metadata.
pub fn export_yaml(object: &DynamicObject) -> Result<String> {
    let mut value =
        serde_json::to_value(object).map_err(|e| Error::Conflict(format!("cannot export: {e}")))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "managedFields",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "selfLink",
        ] {
            metadata.remove(field);
        }
    }
    serde_yaml::to_string(&value).map_err(|e| Error::Conflict(format!("cannot export: {e}")))
}
