//! SIMULATED kube-controller-manager and kubelet for the Deployments the simulated Flux
//! controllers apply: each gets a ReplicaSet for its current pod template (named by the
//! template's hash, so a `kubectl.kubernetes.io/restartedAt` change rolls it) and that many
//! pods, owned as the real controllers own them, with statuses and log lines. A template
//! annotated `sandbox.pilothouse.dev/crash: "true"` crash-loops: its container waits in
//! CrashLoopBackOff, with restarts, a last termination and a previous log. A pod deleted is
//! made again.

use crate::flux::{LOG_ANNOTATION, fake_digest};
use crate::object::now;
use crate::store::{Store, WriteOptions};
use serde_json::{Value, json};

/// The pod-template annotation that makes the simulated containers crash.
pub const CRASH_ANNOTATION: &str = "sandbox.pilothouse.dev/crash";
/// Where a pod keeps its containers' previous log.
pub const PREVIOUS_LOG_ANNOTATION: &str = "sandbox.pilothouse.dev/previous-log";

/// The namespaces whose Deployments are not simulated here (the Flux controllers' own pods
/// are made by `controller_pods`).
const SKIPPED: [&str; 2] = ["flux-system", "kube-system"];

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// One pass: every Deployment's ReplicaSet and pods in step with its spec.
pub fn sync(store: &Store) {
    let (Ok(deployments), Ok(replica_sets), Ok(pods)) = (
        store.resource("apps", "v1", "deployments"),
        store.resource("apps", "v1", "replicasets"),
        store.resource("", "v1", "pods"),
    ) else {
        return;
    };
    let everything = crate::selectors::LabelSelector::default();
    let no_fields = crate::selectors::FieldSelector::default();
    let list = |rt| {
        store
            .list(rt, None, &everything, &no_fields, None, None)
            .map(|page| page.items)
            .unwrap_or_default()
    };
    let all_sets = list(&replica_sets);
    let all_pods = list(&pods);
    let owned = |items: &[Value], uid: &str| -> Vec<Value> {
        items
            .iter()
            .filter(|o| {
                o.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
            })
            .cloned()
            .collect()
    };
    for deployment in list(&deployments) {
        let namespace = text(&deployment, "/metadata/namespace").to_owned();
        if SKIPPED.contains(&namespace.as_str()) {
            continue;
        }
        let name = text(&deployment, "/metadata/name").to_owned();
        let uid = text(&deployment, "/metadata/uid").to_owned();
        let template = deployment
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_default();
        let hash = fake_digest(&template.to_string())[..10].to_owned();
        let set_name = format!("{name}-{hash}");
        let replicas = deployment
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let options = WriteOptions::by("kube-controller-manager");
        // Old templates' sets and pods go: the rollout is immediate here.
        for old in owned(&all_sets, &uid) {
            let old_name = text(&old, "/metadata/name");
            if old_name != set_name {
                for pod in owned(&all_pods, text(&old, "/metadata/uid")) {
                    let _ = store.delete(&pods, Some(&namespace), text(&pod, "/metadata/name"));
                }
                let _ = store.delete(&replica_sets, Some(&namespace), old_name);
            }
        }
        let set = match store.get(&replica_sets, Some(&namespace), &set_name) {
            Ok(set) => set,
            Err(_) => {
                let object = json!({ "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": { "name": set_name, "namespace": namespace,
                        "labels": template.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                        "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                            "uid": uid, "controller": true, "blockOwnerDeletion": true }] },
                    "spec": { "replicas": replicas,
                        "selector": deployment.pointer("/spec/selector").cloned().unwrap_or(json!({})),
                        "template": template } });
                match store.create(&replica_sets, Some(&namespace), object, options) {
                    Ok(set) => set,
                    Err(_) => continue,
                }
            }
        };
        let set_uid = text(&set, "/metadata/uid").to_owned();
        let mut running = owned(&all_pods, &set_uid);
        running.sort_by(|a, b| text(a, "/metadata/name").cmp(text(b, "/metadata/name")));
        let wanted = usize::try_from(replicas).unwrap_or(0);
        for extra in running.iter().skip(wanted) {
            let _ = store.delete(&pods, Some(&namespace), text(extra, "/metadata/name"));
        }
        for _ in running.len()..wanted {
            // A new name each time, as the ReplicaSet controller's random suffix.
            let suffix = &uuid::Uuid::new_v4().simple().to_string()[..5];
            let pod = pod(&set_name, &set_uid, &namespace, &template, suffix);
            let _ = create_with_status(store, &pods, &namespace, pod);
        }
    }
}

/// A pod of `set` from `template`, crash-looping when the template says so.
fn pod(set: &str, set_uid: &str, namespace: &str, template: &Value, suffix: &str) -> Value {
    let crash = template
        .pointer(&format!(
            "/metadata/annotations/{}",
            CRASH_ANNOTATION.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        == Some("true");
    let containers = template
        .pointer("/spec/containers")
        .cloned()
        .unwrap_or(json!([]));
    let statuses: Vec<Value> = containers
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let name = c["name"].clone();
            let image = c["image"].clone();
            if crash {
                json!({ "name": name, "image": image, "ready": false, "restartCount": 4,
                    "state": { "waiting": { "reason": "CrashLoopBackOff",
                        "message": "back-off 1m20s restarting failed container" } },
                    "lastState": { "terminated": { "reason": "Error", "exitCode": 1, "finishedAt": now() } } })
            } else {
                json!({ "name": name, "image": image, "ready": true, "restartCount": 0,
                    "state": { "running": { "startedAt": now() } } })
            }
        })
        .collect();
    let log = if crash {
        "starting\nloading configuration from /etc/app/config.yaml\n"
    } else {
        "starting\nlistening on :8080\nready\n"
    };
    let mut annotations = json!({ LOG_ANNOTATION: log });
    if crash {
        annotations[PREVIOUS_LOG_ANNOTATION] = json!(
            "starting\nloading configuration from /etc/app/config.yaml\npanic: DATABASE_URL is not set\nexit status 1\n"
        );
    }
    json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": format!("{set}-{suffix}"), "namespace": namespace,
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
            "annotations": annotations,
            "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": set,
                "uid": set_uid, "controller": true, "blockOwnerDeletion": true }] },
        "spec": { "containers": containers, "nodeName": "sandbox-node-1" },
        "status": { "phase": "Running", "startTime": now(), "containerStatuses": statuses,
            "conditions": [{ "type": "Ready", "status": if crash { "False" } else { "True" } }] } })
}

/// Creates `pod` and writes its status, as the kubelet would report it; a crash-looping one
/// gets the kubelet's back-off event.
fn create_with_status(
    store: &Store,
    pods: &crate::resources::ResourceType,
    namespace: &str,
    pod: Value,
) -> Option<()> {
    let status = pod.get("status").cloned()?;
    let mut created = store
        .create(
            pods,
            Some(namespace),
            pod,
            WriteOptions::by("kube-controller-manager"),
        )
        .ok()?;
    created["status"] = status;
    let options = WriteOptions {
        subresource: Some("status"),
        ..WriteOptions::by("kubelet")
    };
    let name = text(&created, "/metadata/name").to_owned();
    let written = store
        .update(pods, Some(namespace), &name, created, options)
        .ok()?;
    let waiting = written
        .pointer("/status/containerStatuses/0/state/waiting/reason")
        .and_then(Value::as_str);
    if waiting == Some("CrashLoopBackOff") {
        crate::flux::emit(
            store,
            &written,
            "Warning",
            "BackOff",
            "Back-off restarting failed container app",
            "kubelet",
        );
    }
    Some(())
}
