//! SIMULATED Flux controllers. Nothing here runs Flux: this loop gives Flux objects the statuses,
//! events and controller logs the real source-, kustomize- and helm-controllers would, so that
//! Pilothouse can be tested and demonstrated without a cluster.
//!
//! - Sources become Ready=True with an artifact revision.
//! - Kustomizations and HelmReleases go Reconciling → Ready=True ("Applied revision: …"),
//!   filling status.history, lastAppliedRevision (Kustomization; HelmRelease v2 has none and
//!   records lastAttemptedRevision) and lastHandledReconcileAt.
//! - `spec.suspend`, `spec.dependsOn` and the `reconcile.fluxcd.io/requestedAt` annotation are
//!   honoured.
//! - They act as `spec.serviceAccountName` when it is set, else as the `--default-service-account`
//!   of their Deployment in `flux-system`: content outside that account's rights fails with the
//!   API server's refusal, as under Flux's lockdown (`flux_rbac`). A Kustomization applies the
//!   documents its source's `sandbox.pilothouse.dev/manifests` annotation holds.
//! - Image repositories scan, image policies pick a tag, image update automations push, and
//!   receivers get a webhook path (`flux_addons`).
//! - Failure injection: the label `sandbox.pilothouse.dev/fail: "true"`, or a HelmRelease chart
//!   whose name starts with `fail`, makes a deployment fail.
//! - Events (core/v1) are written for every step, and the controller pods in `flux-system` carry
//!   their log lines (served at pods/log).

use crate::object::now;
use crate::resources::ResourceType;
use crate::store::{Store, WriteOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The label that makes a Kustomization or HelmRelease fail.
pub const FAIL_LABEL: &str = "sandbox.pilothouse.dev/fail";
/// The annotation that asks Flux to reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// Where the pods' log text lives.
pub const LOG_ANNOTATION: &str = "sandbox.pilothouse.dev/log";

const SOURCES: [(&str, &str); 5] = [
    ("gitrepositories", "GitRepository"),
    ("helmrepositories", "HelmRepository"),
    ("ocirepositories", "OCIRepository"),
    ("buckets", "Bucket"),
    ("helmcharts", "HelmChart"),
];

/// Runs the simulated controllers every `step` until the store is dropped.
pub fn spawn(store: Arc<Store>, step: Duration) -> tokio::task::JoinHandle<()> {
    crate::controller_pods::ensure_controller_pods(&store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(step);
        loop {
            tick.tick().await;
            if Arc::strong_count(&store) == 1 {
                return;
            }
            reconcile_all(&store);
        }
    })
}

/// One pass over every Flux object.
pub fn reconcile_all(store: &Store) {
    for (plural, _) in SOURCES {
        for (rt, object) in objects(store, "source.toolkit.fluxcd.io", plural) {
            reconcile_source(store, &rt, object);
        }
    }
    for (rt, object) in objects(store, "kustomize.toolkit.fluxcd.io", "kustomizations") {
        reconcile_deployment(store, &rt, object);
    }
    for (rt, object) in objects(store, "helm.toolkit.fluxcd.io", "helmreleases") {
        reconcile_deployment(store, &rt, object);
    }
    crate::flux_addons::reconcile_all(store);
    crate::pods::sync(store);
}

pub(crate) fn objects(store: &Store, group: &str, plural: &str) -> Vec<(ResourceType, Value)> {
    let Some(rt) = store
        .resources()
        .into_iter()
        .find(|r| r.group == group && r.plural == plural)
    else {
        return Vec::new();
    };
    let everything = crate::selectors::LabelSelector::default();
    let no_fields = crate::selectors::FieldSelector::default();
    match store.list(&rt, None, &everything, &no_fields, None, None) {
        Ok(page) => page.items.into_iter().map(|o| (rt.clone(), o)).collect(),
        Err(_) => Vec::new(),
    }
}

pub(crate) fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

/// Whether the object asks for work: a new generation or a new requestedAt.
pub(crate) fn wants_reconcile(object: &Value) -> bool {
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let observed = object
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    let requested = text(
        object,
        &format!("/metadata/annotations/{}", REQUESTED_AT.replace('/', "~1")),
    );
    let waiting_on_dependency = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["reason"] == "DependencyNotReady")
        });
    generation != observed
        || waiting_on_dependency
        || requested.is_some_and(|r| Some(r) != text(object, "/status/lastHandledReconcileAt"))
}

pub(crate) fn suspended(object: &Value) -> bool {
    object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)
}

fn reconcile_source(store: &Store, rt: &ResourceType, mut object: Value) {
    if suspended(&object) || !wants_reconcile(&object) {
        return;
    }
    let name = text(&object, "/metadata/name")
        .unwrap_or_default()
        .to_owned();
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let namespace = text(&object, "/metadata/namespace")
        .unwrap_or_default()
        .to_owned();
    let bytes = crate::artifacts::build(&rt.kind, &object);
    let digest = crate::artifacts::sha256(&bytes);
    let revision = match rt.kind.as_str() {
        "GitRepository" => {
            let reference = text(&object, "/spec/ref/tag")
                .or_else(|| text(&object, "/spec/ref/branch"))
                .unwrap_or("main");
            match text(&object, "/spec/ref/commit") {
                Some(commit) => format!("{reference}@sha1:{commit}"),
                None => format!("{reference}@sha1:{}", &digest[..40]),
            }
        }
        "OCIRepository" => format!(
            "{}@sha256:{digest}",
            text(&object, "/spec/ref/tag").unwrap_or("latest")
        ),
        _ => format!("sha256:{digest}"),
    };
    let path = crate::artifacts::path(&rt.kind, &namespace, &name, &digest);
    let message = format!("stored artifact for revision '{revision}'");
    let status = json!({
        "observedGeneration": generation,
        "conditions": [ready("True", "Succeeded", &message)],
        "artifact": { "revision": revision, "digest": format!("sha256:{digest}"), "lastUpdateTime": now(),
                      "size": bytes.len(), "path": path,
                      "url": format!("http://source-controller.flux-system.svc.cluster.local./{path}") },
        "url": format!("http://source-controller.flux-system.svc.cluster.local./{path}"),
        "lastHandledReconcileAt": requested_at(&object),
    });
    write_status(store, rt, &mut object, status);
    emit(
        store,
        &object,
        "Normal",
        "NewArtifact",
        &message,
        "source-controller",
    );
}

fn reconcile_deployment(store: &Store, rt: &ResourceType, mut object: Value) {
    if suspended(&object) {
        return;
    }
    let reconciling = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Reconciling" && c["status"] == "True")
        });
    let controller = if rt.kind == "HelmRelease" {
        "helm-controller"
    } else {
        "kustomize-controller"
    };
    if !reconciling {
        // kustomize-controller watches its sources and applies a new artifact at once.
        let source_moved = rt.kind == "Kustomization"
            && source_revision(store, &object).as_deref()
                != text(&object, "/status/lastAppliedRevision")
            && object.pointer("/status/lastAppliedRevision").is_some();
        if !wants_reconcile(&object) && !source_moved {
            return;
        }
        // Step one: Progressing, as Flux reports while it works.
        let mut status = object.get("status").cloned().unwrap_or_else(|| json!({}));
        status["conditions"] = json!([
            { "type": "Reconciling", "status": "True", "reason": "Progressing", "message": "Reconciliation in progress", "lastTransitionTime": now() },
            ready("Unknown", "Progressing", "Reconciliation in progress"),
        ]);
        write_status(store, rt, &mut object, status);
        emit(
            store,
            &object,
            "Normal",
            "Progressing",
            "Reconciliation in progress",
            controller,
        );
        return;
    }
    // Step two: the outcome.
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut status = object.get("status").cloned().unwrap_or_else(|| json!({}));
    status["observedGeneration"] = json!(generation);
    status["lastHandledReconcileAt"] = requested_at(&object);
    // kustomize-controller applies its source's content only when nothing else failed.
    let failed = failure(store, rt, &object).or_else(|| {
        (rt.kind == "Kustomization")
            .then(|| crate::flux_rbac::apply_source_content(store, &object).err())
            .flatten()
    });
    let outcome = match failed {
        Some((reason, message)) => {
            status["conditions"] = json!([ready("False", reason, &message)]);
            if rt.kind == "HelmRelease" {
                status["failures"] =
                    json!(status.get("failures").and_then(Value::as_i64).unwrap_or(0) + 1);
            }
            Err((reason, message))
        }
        None => {
            let (revision, message) = if rt.kind == "HelmRelease" {
                helm_success(&object, &mut status)
            } else {
                kustomize_success(store, &object, &mut status)
            };
            let replicas = [
                "/spec/values/replicaCount",
                "/spec/values/controller/replicaCount",
            ]
            .iter()
            .find_map(|p| object.pointer(p).and_then(Value::as_i64))
            .unwrap_or(1);
            // The demo's crash-looping workload: its Flux object carries the crash label.
            let crash = object
                .pointer(&format!(
                    "/metadata/labels/{}",
                    crate::pods::CRASH_ANNOTATION.replace('/', "~1")
                ))
                .and_then(Value::as_str)
                == Some("true");
            crate::applied::apply(
                store,
                text(&object, "/metadata/namespace").unwrap_or("default"),
                text(&object, "/metadata/name").unwrap_or_default(),
                replicas,
                crash,
                controller,
            );
            let reason = match rt.kind.as_str() {
                "HelmRelease" if message.starts_with("Helm install") => "InstallSucceeded",
                "HelmRelease" => "UpgradeSucceeded",
                _ => "ReconciliationSucceeded",
            };
            status["conditions"] = json!([ready("True", reason, &message)]);
            Ok((revision, message))
        }
    };
    write_status(store, rt, &mut object, status);
    match outcome {
        Ok((_, message)) => emit(
            store,
            &object,
            "Normal",
            "ReconciliationSucceeded",
            &message,
            controller,
        ),
        Err((reason, message)) => emit(store, &object, "Warning", reason, &message, controller),
    }
}

/// Why a deployment fails now, if it does.
fn failure(store: &Store, rt: &ResourceType, object: &Value) -> Option<(&'static str, String)> {
    let injected = text(
        object,
        &format!("/metadata/labels/{}", FAIL_LABEL.replace('/', "~1")),
    ) == Some("true")
        || text(object, "/spec/chart/spec/chart").is_some_and(|c| c.starts_with("fail"));
    if injected {
        let message = if rt.kind == "HelmRelease" {
            "Helm install failed for release: context deadline exceeded (simulated failure)"
                .to_owned()
        } else {
            "kustomize build failed: accumulating resources: missing Resource metadata (simulated failure)".to_owned()
        };
        let reason = if rt.kind == "HelmRelease" {
            "InstallFailed"
        } else {
            "BuildFailed"
        };
        return Some((reason, message));
    }
    if let Some(refused) = crate::flux_rbac::refusal(store, &rt.kind, object) {
        return Some(refused);
    }
    let namespace = text(object, "/metadata/namespace").unwrap_or("default");
    for dependency in object
        .pointer("/spec/dependsOn")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let dep_name = text(dependency, "/name").unwrap_or_default();
        let dep_ns = text(dependency, "/namespace").unwrap_or(namespace);
        let ready = store
            .get(rt, Some(dep_ns), dep_name)
            .ok()
            .and_then(|d| {
                d.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .cloned()
            })
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        if !ready {
            return Some((
                "DependencyNotReady",
                format!("dependency '{dep_ns}/{dep_name}' is not ready"),
            ));
        }
    }
    None
}

fn helm_success(object: &Value, status: &mut Value) -> (String, String) {
    let chart = text(object, "/spec/chart/spec/chart")
        .unwrap_or("chart")
        .to_owned();
    let version = text(object, "/spec/chart/spec/version")
        .unwrap_or("1.0.0")
        .trim_start_matches(['^', '~', '>', '=', ' '])
        .to_owned();
    let version = if version.is_empty() || version.contains('*') {
        "1.0.0".to_owned()
    } else {
        version
    };
    let name = text(object, "/metadata/name").unwrap_or_default();
    let namespace = text(object, "/spec/targetNamespace")
        .or_else(|| text(object, "/metadata/namespace"))
        .unwrap_or("default");
    let history = status
        .get("history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let release_version = history
        .first()
        .and_then(|h| h["version"].as_i64())
        .unwrap_or(0)
        + 1;
    let values = object
        .pointer("/spec/values")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let annotation = |key: &str| {
        text(
            object,
            &format!("/metadata/annotations/{}", key.replace('/', "~1")),
        )
        .map(str::to_owned)
    };
    let force = annotation("reconcile.fluxcd.io/forceAt");
    let forced = force.is_some() && force.as_deref() != text(status, "/lastHandledForceAt");
    if let Some(force) = force {
        status["lastHandledForceAt"] = json!(force);
    }
    if let Some(reset) = annotation("reconcile.fluxcd.io/resetAt") {
        status["lastHandledResetAt"] = json!(reset);
    }
    // helm-controller leaves an in-sync release alone: no new revision unless the chart,
    // the values or a forceAt asks for one.
    if let Some(current) = history.first().filter(|h| {
        h["chartVersion"] == json!(version)
            && h["configDigest"] == json!(config_digest(&values))
            && h["status"] == "deployed"
            && !forced
    }) {
        let message = format!(
            "Helm release {namespace}/{name}.v{} is in sync with chart {chart}@{version}",
            current["version"]
        );
        return (version, message);
    }
    let snapshot = json!({
        "name": name, "namespace": namespace, "version": release_version, "status": "deployed",
        "chartName": chart, "chartVersion": version, "appVersion": version,
        "configDigest": config_digest(&values),
        "digest": format!("sha256:{}", fake_digest(&format!("{chart}{version}{values}"))),
        "firstDeployed": history.last().and_then(|h| h["firstDeployed"].as_str()).map_or_else(now, str::to_owned),
        "lastDeployed": now(),
    });
    let mut new_history = vec![snapshot];
    for mut old in history.into_iter().take(4) {
        old["status"] = json!("superseded");
        new_history.push(old);
    }
    let revision = version.clone();
    status["history"] = json!(new_history);
    status["inventory"] = json!({ "entries": [
        { "id": format!("{namespace}_{name}_apps_Deployment"), "v": "v1" },
        { "id": format!("{namespace}_{name}__Service"), "v": "v1" },
    ] });
    status["lastAppliedRevision"] = json!(revision);
    status["lastAttemptedRevision"] = json!(revision);
    status["lastAttemptedGeneration"] = object
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    status["failures"] = json!(0);
    let verb = if release_version == 1 {
        "install"
    } else {
        "upgrade"
    };
    (
        revision,
        format!(
            "Helm {verb} succeeded for release {namespace}/{name}.v{release_version} with chart {chart}@{version}"
        ),
    )
}

fn kustomize_success(store: &Store, object: &Value, status: &mut Value) -> (String, String) {
    let namespace = text(object, "/metadata/namespace").unwrap_or("default");
    let name = text(object, "/spec/sourceRef/name").unwrap_or_default();
    let revision = source_revision(store, object)
        .unwrap_or_else(|| format!("main@sha1:{}", &fake_digest(name)[..40]));
    status["lastAppliedRevision"] = json!(revision);
    status["lastAttemptedRevision"] = json!(revision);
    let path = text(object, "/spec/path").unwrap_or("./");
    status["inventory"] = json!({ "entries": [
        { "id": format!("{namespace}_{}_apps_Deployment", text(object, "/metadata/name").unwrap_or("app")), "v": "v1" },
        { "id": format!("{namespace}_{}__Service", text(object, "/metadata/name").unwrap_or("app")), "v": "v1" },
    ] });
    let history = status
        .get("history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut entries = vec![
        json!({ "digest": format!("sha256:{}", fake_digest(&revision)), "firstReconciled": now(), "lastReconciled": now(),
        "lastReconciledDuration": "1.2s", "lastReconciledStatus": "ReconciliationSucceeded", "totalReconciliations": 1, "metadata": { "revision": revision, "path": path } }),
    ];
    entries.extend(history.into_iter().take(4));
    status["history"] = json!(entries);
    (revision.clone(), format!("Applied revision: {revision}"))
}

/// The artifact revision of a Kustomization's source, once it has one.
fn source_revision(store: &Store, object: &Value) -> Option<String> {
    let namespace = text(object, "/metadata/namespace").unwrap_or("default");
    let kind = text(object, "/spec/sourceRef/kind").unwrap_or("GitRepository");
    let name = text(object, "/spec/sourceRef/name").unwrap_or_default();
    let source_ns = text(object, "/spec/sourceRef/namespace").unwrap_or(namespace);
    let plural = SOURCES
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("gitrepositories", |(p, _)| p);
    store
        .resources()
        .into_iter()
        .find(|r| r.group == "source.toolkit.fluxcd.io" && r.plural == plural)
        .and_then(|rt| store.get(&rt, Some(source_ns), name).ok())
        .and_then(|source| text(&source, "/status/artifact/revision").map(str::to_owned))
}

pub(crate) fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!({ "type": "Ready", "status": status, "reason": reason, "message": message, "lastTransitionTime": now() })
}

pub(crate) fn requested_at(object: &Value) -> Value {
    text(
        object,
        &format!("/metadata/annotations/{}", REQUESTED_AT.replace('/', "~1")),
    )
    .map_or(Value::Null, |r| json!(r))
}

pub(crate) fn write_status(store: &Store, rt: &ResourceType, object: &mut Value, status: Value) {
    object["status"] = status;
    let name = text(object, "/metadata/name")
        .unwrap_or_default()
        .to_owned();
    let namespace = text(object, "/metadata/namespace").map(str::to_owned);
    let options = WriteOptions {
        subresource: Some("status"),
        ..WriteOptions::by(controller_of(rt))
    };
    if let Ok(updated) = store.update(rt, namespace.as_deref(), &name, object.clone(), options) {
        *object = updated;
    }
}

fn controller_of(rt: &ResourceType) -> &'static str {
    match rt.group.as_str() {
        "helm.toolkit.fluxcd.io" => "helm-controller",
        "kustomize.toolkit.fluxcd.io" => "kustomize-controller",
        "notification.toolkit.fluxcd.io" => "notification-controller",
        "image.toolkit.fluxcd.io" if rt.kind == "ImageUpdateAutomation" => {
            "image-automation-controller"
        }
        "image.toolkit.fluxcd.io" => "image-reflector-controller",
        _ => "source-controller",
    }
}

/// Writes a core/v1 Event about `object` and a log line in its controller's pod.
pub(crate) fn emit(
    store: &Store,
    object: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    controller: &str,
) {
    let Ok(events) = store.resource("", "v1", "events") else {
        return;
    };
    let namespace = text(object, "/metadata/namespace")
        .unwrap_or("default")
        .to_owned();
    let name = text(object, "/metadata/name")
        .unwrap_or_default()
        .to_owned();
    let event = json!({
        "metadata": { "generateName": format!("{name}."), "namespace": namespace },
        "involvedObject": { "kind": object["kind"], "apiVersion": object["apiVersion"], "name": name, "namespace": namespace,
                            "uid": object.pointer("/metadata/uid").cloned().unwrap_or_default(),
                            "resourceVersion": object.pointer("/metadata/resourceVersion").cloned().unwrap_or_default() },
        "reason": reason, "message": message, "type": kind, "count": 1,
        "source": { "component": controller }, "reportingComponent": format!("flux-system/{controller}"),
        "firstTimestamp": now(), "lastTimestamp": now(),
    });
    let options = WriteOptions::by(controller);
    let _ = store.create(&events, Some(&namespace), event, options);
    let level = if kind == "Warning" { "error" } else { "info" };
    let line = json!({ "level": level, "ts": now(), "msg": message, "controller": object["kind"].as_str().unwrap_or_default().to_lowercase(),
                       "controllerKind": object["kind"], "name": name, "namespace": namespace, "reason": reason });
    crate::controller_pods::append_log(store, controller, &line.to_string());
}

/// helm-controller's digest of a release's values: SHA-256 over Go's JSON encoding (sorted keys,
/// `<`, `>` and `&` escaped, a trailing newline); empty values digest as no input at all.
fn config_digest(values: &Value) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    if values.as_object().is_some_and(|m| !m.is_empty()) {
        let text = values
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        hasher.update(text.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// A stable 64-hex-digit stand-in for a content digest.
pub(crate) fn fake_digest(input: &str) -> String {
    use std::hash::{Hash, Hasher};
    (0..4)
        .map(|salt| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (salt, input).hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}
