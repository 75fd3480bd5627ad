//! Looking at a deployment: its events, the Flux controllers' logs, and its clean YAML.

use super::kinds::FluxKind;
use control_core::{Error, Result};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::events::v1::Event as ModernEvent;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use model::deployment::DeploymentEvent;
use model::deployment::LogQuery;
use serde_json::Value;

/// The Flux controllers whose logs may be read, by their pods' `app` label.
pub const CONTROLLERS: [&str; 4] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

/// Events about one object, newest first: core/v1 Events by involvedObject and
/// events.k8s.io/v1 Events by `regarding`. A real API server shows the same event in both
/// groups, so they are merged by uid.
pub async fn events(
    client: &Client,
    kind: FluxKind,
    namespace: &str,
    name: &str,
) -> Result<Vec<DeploymentEvent>> {
    let core: Api<Event> = Api::namespaced(client.clone(), namespace);
    let selector = format!(
        "involvedObject.kind={},involvedObject.name={name}",
        kind.kind
    );
    let mut seen = std::collections::HashSet::new();
    let mut events: Vec<DeploymentEvent> = Vec::new();
    for e in core
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(control_core::adapters::cluster_error)?
        .items
    {
        seen.insert(e.metadata.uid.clone().unwrap_or_default());
        events.push(DeploymentEvent {
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
        });
    }
    let modern: Api<ModernEvent> = Api::namespaced(client.clone(), namespace);
    let selector = format!("regarding.kind={},regarding.name={name}", kind.kind);
    for e in modern
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(control_core::adapters::cluster_error)?
        .items
    {
        if e.metadata
            .uid
            .as_ref()
            .is_some_and(|uid| seen.contains(uid))
        {
            continue;
        }
        events.push(DeploymentEvent {
            kind: e.type_.unwrap_or_else(|| "Normal".into()),
            reason: e.reason.unwrap_or_default(),
            message: e.note.unwrap_or_default(),
            count: e.series.as_ref().map_or(1, |s| s.count),
            last_seen: e
                .series
                .map(|s| s.last_observed_time.0.to_string())
                .or_else(|| e.event_time.map(|t| t.0.to_string()))
                .or_else(|| e.deprecated_last_timestamp.map(|t| t.0.to_string())),
            source: e.reporting_controller.unwrap_or_default(),
        });
    }
    events.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
    Ok(events)
}

/// A Flux controller's log lines, from its pods in `flux_namespace` (found by their `app`
/// label), as `query` narrows them.
pub async fn controller_logs(
    client: &Client,
    flux_namespace: &str,
    controller: &str,
    query: &LogQuery,
) -> Result<String> {
    if !CONTROLLERS.contains(&controller) {
        return Err(Error::invalid(
            "controller",
            format!("{controller:?} is not one of {}", CONTROLLERS.join(", ")),
        ));
    }
    let tail = query.tail.unwrap_or(200);
    if !(1..=10_000).contains(&tail) {
        return Err(Error::invalid("tail", "must be between 1 and 10000 lines"));
    }
    if query.since_seconds.is_some_and(|s| s < 1) {
        return Err(Error::invalid("since", "must be at least one second"));
    }
    if let Some(container) = &query.container {
        control_core::validate::dns_label("container", container)?;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), flux_namespace);
    let found = pods
        .list(&ListParams::default().labels(&format!("app={controller}")))
        .await
        .map_err(control_core::adapters::cluster_error)?;
    let pod = found.items.into_iter().next().ok_or_else(|| {
        Error::not_found("controller pod", format!("{flux_namespace}/{controller}"))
    })?;
    let name = pod.metadata.name.unwrap_or_default();
    pods.logs(
        &name,
        &LogParams {
            tail_lines: Some(tail),
            since_seconds: query.since_seconds,
            container: query.container.clone(),
            ..LogParams::default()
        },
    )
    .await
    .map_err(|e| match e {
        kube::Error::Api(s) if s.code == 400 || s.code == 404 => {
            Error::invalid("container", s.message)
        }
        other => Error::Cluster(other.to_string()),
    })
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
