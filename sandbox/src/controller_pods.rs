//! The SIMULATED controllers' pods in `flux-system`, one per controller, whose log lines
//! are kept in an annotation and served at `pods/log`.

use crate::flux::LOG_ANNOTATION;
use crate::object::now;
use crate::store::{Store, WriteOptions};
use serde_json::json;

/// The simulated controller pods in `flux-system`, one per controller.
pub(crate) fn ensure_controller_pods(store: &Store) {
    let Ok(pods) = store.resource("", "v1", "pods") else {
        return;
    };
    for controller in [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
    ] {
        let pod = json!({
            "metadata": { "name": format!("{controller}-5d8f7c6b9-sim"), "namespace": "flux-system",
                          "labels": { "app": controller, "app.kubernetes.io/part-of": "flux", "sandbox.pilothouse.dev/simulated": "true" },
                          "annotations": { LOG_ANNOTATION: format!("{{\"level\":\"info\",\"ts\":\"{}\",\"msg\":\"starting simulated {controller} (sandbox, not a real Flux controller)\"}}\n", now()) } },
            "spec": { "containers": [{ "name": "manager", "image": format!("ghcr.io/fluxcd/{controller}:simulated") }] },
        });
        let options = WriteOptions::by("sandbox");
        let _ = store.create(&pods, Some("flux-system"), pod, options);
    }
}

/// Appends a line to a controller pod's log, keeping the last 500 lines.
pub(crate) fn append_log(store: &Store, controller: &str, line: &str) {
    let Ok(pods) = store.resource("", "v1", "pods") else {
        return;
    };
    let name = format!("{controller}-5d8f7c6b9-sim");
    let Ok(mut pod) = store.get(&pods, Some("flux-system"), &name) else {
        return;
    };
    let pointer = format!(
        "/metadata/annotations/{}",
        LOG_ANNOTATION.replace('/', "~1")
    );
    let mut log = pod
        .pointer(&pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    log.push_str(line);
    log.push('\n');
    let lines: Vec<&str> = log.lines().collect();
    let kept = lines[lines.len().saturating_sub(500)..].join("\n") + "\n";
    pod["metadata"]["annotations"][LOG_ANNOTATION] = json!(kept);
    let options = WriteOptions::by(controller);
    let _ = store.update(&pods, Some("flux-system"), &name, pod, options);
}
