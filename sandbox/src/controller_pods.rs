//! The SIMULATED controllers' pods in `flux-system`, one per controller, whose log lines
//! are kept in an annotation and served at `pods/log`, and their Deployments, whose container
//! arguments carry Flux's multi-tenancy lockdown flags or not.

use crate::flux::LOG_ANNOTATION;
use crate::object::now;
use crate::store::{Store, WriteOptions};
use serde_json::json;

/// The controllers the sandbox simulates.
const SIMULATED: [&str; 6] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
];

/// Whether the cluster runs a controller: the add-on controllers only where their CRDs are
/// loaded, as `flux install --components-extra` would leave them.
fn installed(store: &Store, controller: &str) -> bool {
    let (group, version, plural) = match controller {
        "notification-controller" => ("notification.toolkit.fluxcd.io", "v1beta3", "alerts"),
        "image-reflector-controller" => ("image.toolkit.fluxcd.io", "v1", "imagepolicies"),
        "image-automation-controller" => {
            ("image.toolkit.fluxcd.io", "v1", "imageupdateautomations")
        }
        _ => return true,
    };
    store.resource(group, version, plural).is_ok()
}

/// The simulated controller pods in `flux-system`, one per controller.
pub(crate) fn ensure_controller_pods(store: &Store) {
    let Ok(pods) = store.resource("", "v1", "pods") else {
        return;
    };
    for controller in SIMULATED.into_iter().filter(|c| installed(store, c)) {
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

/// The lockdown flags Flux's multi-tenancy guide adds, per controller.
pub fn lockdown_flags(controller: &str) -> Vec<&'static str> {
    match controller {
        "kustomize-controller" => vec![
            "--no-cross-namespace-refs=true",
            "--no-remote-bases=true",
            "--default-service-account=default",
        ],
        "helm-controller" => vec![
            "--no-cross-namespace-refs=true",
            "--default-service-account=default",
        ],
        "notification-controller"
        | "image-reflector-controller"
        | "image-automation-controller" => vec!["--no-cross-namespace-refs=true"],
        _ => Vec::new(),
    }
}

/// A controller's Deployment in `flux-system` as `flux install` makes it, with the lockdown
/// flags when `locked_down`.
pub fn controller_deployment(controller: &str, locked_down: bool) -> serde_json::Value {
    let mut args = vec![
        "--events-addr=http://notification-controller.flux-system.svc.cluster.local./".to_owned(),
        "--watch-all-namespaces=true".to_owned(),
        "--log-level=info".to_owned(),
        "--log-encoding=json".to_owned(),
        "--enable-leader-election".to_owned(),
    ];
    if locked_down {
        args.extend(lockdown_flags(controller).into_iter().map(str::to_owned));
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": controller, "namespace": "flux-system",
                      "labels": { "app": controller, "app.kubernetes.io/part-of": "flux", "sandbox.pilothouse.dev/simulated": "true" } },
        "spec": { "replicas": 1, "selector": { "matchLabels": { "app": controller } },
                  "template": { "metadata": { "labels": { "app": controller } },
                                "spec": { "serviceAccountName": controller,
                                          "containers": [{ "name": "manager", "image": format!("ghcr.io/fluxcd/{controller}:simulated"), "args": args }] } } },
    })
}

/// Creates the simulated controllers' Deployments in `flux-system` where they are missing.
pub fn ensure_controller_deployments(store: &Store, locked_down: bool) {
    let Ok(deployments) = store.resource("apps", "v1", "deployments") else {
        return;
    };
    for controller in SIMULATED.into_iter().filter(|c| installed(store, c)) {
        let object = controller_deployment(controller, locked_down);
        let Ok(mut created) = store.create(
            &deployments,
            Some("flux-system"),
            object,
            WriteOptions::by("sandbox"),
        ) else {
            continue;
        };
        // Its pod runs and is ready, as the controller's would be.
        created["status"] = json!({ "observedGeneration": 1, "replicas": 1, "readyReplicas": 1,
            "availableReplicas": 1, "updatedReplicas": 1 });
        let _ = store.update(
            &deployments,
            Some("flux-system"),
            controller,
            created,
            WriteOptions {
                subresource: Some("status"),
                ..WriteOptions::by("sandbox")
            },
        );
    }
}

/// The `--default-service-account` a controller's Deployment names, if it names one: the
/// account it acts as for objects that name none.
pub(crate) fn default_service_account(store: &Store, controller: &str) -> Option<String> {
    let deployments = store.resource("apps", "v1", "deployments").ok()?;
    let deployment = store
        .get(&deployments, Some("flux-system"), controller)
        .ok()?;
    deployment
        .pointer("/spec/template/spec/containers/0/args")?
        .as_array()?
        .iter()
        .filter_map(serde_json::Value::as_str)
        .find_map(|arg| arg.strip_prefix("--default-service-account="))
        .map(str::to_owned)
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
