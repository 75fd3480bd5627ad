//! What the SIMULATED controllers apply: the Deployment and Service each successful
//! reconcile lists in its inventory, with a Deployment status as if its pods were ready, so
//! inventories name objects that exist and whose health can be read.

use crate::object::now;
use crate::store::{Store, WriteOptions};
use serde_json::{Value, json};

/// Creates (or rescales) `namespace/name`'s Deployment and Service, applied by `manager`.
pub fn apply(
    store: &Store,
    namespace: &str,
    name: &str,
    replicas: i64,
    crash: bool,
    manager: &'static str,
) {
    let options = |subresource| WriteOptions {
        force: true,
        subresource,
        ..WriteOptions::by(manager)
    };
    let labels = json!({ "app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": manager });
    if let Ok(services) = store.resource("", "v1", "services")
        && store.get(&services, Some(namespace), name).is_err()
    {
        let service = json!({ "apiVersion": "v1", "kind": "Service",
            "metadata": { "name": name, "labels": labels },
            "spec": { "selector": { "app.kubernetes.io/name": name }, "ports": [{ "port": 80, "targetPort": 8080 }] } });
        let _ = store.create(&services, Some(namespace), service, options(None));
    }
    let Ok(deployments) = store.resource("apps", "v1", "deployments") else {
        return;
    };
    let current = store.get(&deployments, Some(namespace), name).ok();
    let crash_annotation = format!(
        "/spec/template/metadata/annotations/{}",
        crate::pods::CRASH_ANNOTATION.replace('/', "~1")
    );
    let unchanged = current.as_ref().is_some_and(|d| {
        d.pointer("/spec/replicas").and_then(Value::as_i64) == Some(replicas)
            && (d.pointer(&crash_annotation).is_some() == crash)
    });
    if unchanged {
        // No write when nothing changed: a steady cluster keeps its resource versions.
        return;
    }
    let template_annotations = if crash {
        json!({ crate::pods::CRASH_ANNOTATION: "true" })
    } else {
        json!({})
    };
    let spec = json!({ "replicas": replicas,
        "selector": { "matchLabels": { "app.kubernetes.io/name": name } },
        "template": { "metadata": { "labels": { "app.kubernetes.io/name": name }, "annotations": template_annotations },
            "spec": { "containers": [{ "name": "app", "image": format!("registry.example/{name}:latest") }] } } });
    let written = match current {
        Some(mut object) => {
            object["spec"] = spec;
            store.update(&deployments, Some(namespace), name, object, options(None))
        }
        None => store.create(
            &deployments,
            Some(namespace),
            json!({ "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": { "name": name, "labels": labels }, "spec": spec }),
            options(None),
        ),
    };
    if let Ok(mut object) = written {
        // Crash-looping pods are never ready, so neither is the Deployment.
        let ready = if crash { 0 } else { replicas };
        let available = if crash {
            json!({ "type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                "message": "Deployment does not have minimum availability.", "lastTransitionTime": now() })
        } else {
            json!({ "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.", "lastTransitionTime": now() })
        };
        object["status"] = json!({ "observedGeneration": object.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
            "replicas": replicas, "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": replicas,
            "conditions": [available] });
        let _ = store.update(
            &deployments,
            Some(namespace),
            name,
            object,
            options(Some("status")),
        );
    }
}
