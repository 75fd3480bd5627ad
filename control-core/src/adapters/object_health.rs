//! The health of the objects a deployment applied, read from the cluster for the kinds whose
//! status tells (workloads, claims, Flux objects), in the words Argo CD uses. Other kinds
//! (ConfigMaps, Services, …) have none to report.

use crate::Namespaces;
use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use model::deployment::{InventoryEntry, ObjectHealth};
use model::reference::ClusterId;
use serde_json::Value;

/// The most objects read per page (the rest are shown without health).
const MAX_READS: usize = 100;
/// Reads at once.
const PARALLEL: usize = 8;

/// The kinds read, with their plural.
const KINDS: [(&str, &str, &str); 8] = [
    ("apps", "Deployment", "deployments"),
    ("apps", "StatefulSet", "statefulsets"),
    ("apps", "DaemonSet", "daemonsets"),
    ("batch", "Job", "jobs"),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ("", "Pod", "pods"),
    (
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "kustomizations",
    ),
    ("helm.toolkit.fluxcd.io", "HelmRelease", "helmreleases"),
];

/// `entries` with the health of those whose kind reports one, in namespaces in `visible`.
pub async fn with_health(
    client: &Client,
    cluster: &ClusterId,
    mut entries: Vec<InventoryEntry>,
    visible: &Namespaces,
) -> Vec<InventoryEntry> {
    let wanted: Vec<(usize, ApiResource)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.namespace.is_empty() && visible.contains_in(cluster, &e.namespace))
        .filter_map(|(i, e)| {
            let (group, kind, plural) = KINDS
                .iter()
                .find(|(g, k, _)| *g == e.group && *k == e.kind)?;
            let api_version = if group.is_empty() {
                e.version.clone()
            } else {
                format!("{group}/{}", e.version)
            };
            Some((
                i,
                ApiResource {
                    group: (*group).to_owned(),
                    version: e.version.clone(),
                    api_version,
                    kind: (*kind).to_owned(),
                    plural: (*plural).to_owned(),
                },
            ))
        })
        .take(MAX_READS)
        .collect();
    let reads = futures::stream::iter(wanted.into_iter().map(|(i, resource)| {
        let (namespace, name) = (entries[i].namespace.clone(), entries[i].name.clone());
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
        async move {
            let health = match api.get_opt(&name).await {
                Ok(Some(object)) => assess(&resource.kind, &object.data),
                Ok(None) => Some(health("Missing", "not in the cluster")),
                // Unreadable (RBAC, connection): shown without health rather than failing the page.
                Err(_) => None,
            };
            (i, health)
        }
    }))
    .buffer_unordered(PARALLEL)
    .collect::<Vec<_>>()
    .await;
    for (i, health) in reads {
        entries[i].health = health;
    }
    entries
}

fn health(status: &str, message: impl Into<String>) -> ObjectHealth {
    ObjectHealth {
        status: status.to_owned(),
        message: message.into(),
    }
}

/// An object's health from its status.
pub fn assess(kind: &str, object: &Value) -> Option<ObjectHealth> {
    let int = |pointer: &str| object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0);
    let replicas = |wanted: i64, ready: i64| {
        let message = format!("{ready}/{wanted} ready");
        if wanted == 0 {
            health("Suspended", "scaled to zero")
        } else if ready >= wanted {
            health("Healthy", message)
        } else {
            health("Progressing", message)
        }
    };
    match kind {
        "Deployment" | "StatefulSet" => {
            let wanted = object
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            Some(replicas(wanted, int("/status/readyReplicas")))
        }
        "DaemonSet" => Some(replicas(
            int("/status/desiredNumberScheduled"),
            int("/status/numberReady"),
        )),
        "Job" if int("/status/failed") > 0 => Some(health("Degraded", "failed")),
        "Job" if int("/status/succeeded") > 0 => Some(health("Healthy", "completed")),
        "Job" => Some(health("Progressing", "running")),
        "PersistentVolumeClaim" | "Pod" => {
            let phase = object
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("Pending");
            let status = match phase {
                "Bound" | "Running" | "Succeeded" => "Healthy",
                "Failed" | "Lost" => "Degraded",
                _ => "Progressing",
            };
            Some(health(status, phase))
        }
        _ => {
            // Flux objects: their Ready condition.
            if object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
                return Some(health("Suspended", "suspended"));
            }
            let ready = object
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))?;
            let message = ready["message"].as_str().unwrap_or_default().to_owned();
            Some(match ready["status"].as_str() {
                Some("True") => health("Healthy", message),
                Some("False") => health("Degraded", message),
                _ => health("Progressing", message),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_reads_as_health() {
        let deployment = json!({ "spec": { "replicas": 2 }, "status": { "readyReplicas": 1 } });
        assert_eq!(
            assess("Deployment", &deployment),
            Some(health("Progressing", "1/2 ready"))
        );
        let ready = json!({ "spec": { "replicas": 2 }, "status": { "readyReplicas": 2 } });
        assert_eq!(
            assess("Deployment", &ready).map(|h| h.status),
            Some("Healthy".into())
        );
        let zero = json!({ "spec": { "replicas": 0 } });
        assert_eq!(
            assess("StatefulSet", &zero).map(|h| h.status),
            Some("Suspended".into())
        );
        assert_eq!(
            assess("Job", &json!({ "status": { "failed": 1 } })).map(|h| h.status),
            Some("Degraded".into())
        );
        assert_eq!(
            assess(
                "PersistentVolumeClaim",
                &json!({ "status": { "phase": "Bound" } })
            )
            .map(|h| h.status),
            Some("Healthy".into())
        );
        let flux = json!({ "status": { "conditions": [{ "type": "Ready", "status": "False", "message": "boom" }] } });
        assert_eq!(
            assess("Kustomization", &flux),
            Some(health("Degraded", "boom"))
        );
        assert_eq!(
            assess("Kustomization", &json!({})),
            None,
            "no condition yet: nothing to say"
        );
    }
}
