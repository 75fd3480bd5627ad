//! SIMULATED image-reflector-, image-automation- and notification-controllers, beside the
//! source, kustomize and helm ones in `flux`. Nothing here scans a registry or pushes to Git:
//!
//! - An ImageRepository "scans" on a new generation or requestedAt: its tags are the
//!   `sandbox.pilothouse.dev/tags` annotation (comma-separated), else `1.0.0,1.1.0,1.2.0`.
//! - An ImagePolicy picks from its repository's tags as Flux would: the highest version
//!   within a semver range, or the first tag in alphabetical or numerical order, after
//!   `filterTags`; it follows its repository's later scans.
//! - An ImageUpdateAutomation whose Git source exists "pushes" a commit recording the
//!   policies in its namespace.
//! - A Receiver gets its webhook path. Providers and Alerts (v1beta3) keep no status.
//!
//! Each of these kinds is simulated only when its CRD is loaded.

use crate::flux::{
    emit, fake_digest, objects, ready, requested_at, suspended, text, wants_reconcile, write_status,
};
use crate::object::now;
use crate::resources::ResourceType;
use crate::store::Store;
use serde_json::{Value, json};

/// The annotation that sets an ImageRepository's simulated tags.
pub const TAGS_ANNOTATION: &str = "sandbox.pilothouse.dev/tags";

const IMAGE: &str = "image.toolkit.fluxcd.io";

/// One pass over the image and notification objects.
pub fn reconcile_all(store: &Store) {
    for (rt, object) in objects(store, IMAGE, "imagerepositories") {
        scan(store, &rt, object);
    }
    for (rt, object) in objects(store, IMAGE, "imagepolicies") {
        choose(store, &rt, object);
    }
    for (rt, object) in objects(store, IMAGE, "imageupdateautomations") {
        push(store, &rt, object);
    }
    for (rt, object) in objects(store, "notification.toolkit.fluxcd.io", "receivers") {
        receive(store, &rt, object);
    }
}

/// The (namespace, name) the reference at `pointer` names: the object's own namespace when
/// it names none.
fn referenced(object: &Value, pointer: &str) -> (String, String) {
    let own = text(object, "/metadata/namespace").unwrap_or_default();
    let name = text(object, &format!("{pointer}/name")).unwrap_or_default();
    let namespace = text(object, &format!("{pointer}/namespace")).unwrap_or(own);
    (namespace.to_owned(), name.to_owned())
}

fn generation(object: &Value) -> i64 {
    object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn scan(store: &Store, rt: &ResourceType, mut object: Value) {
    if suspended(&object) || !wants_reconcile(&object) {
        return;
    }
    let tags = tags_of(&object);
    let image = text(&object, "/spec/image").unwrap_or_default().to_owned();
    let message = format!("successful scan: found {} tags", tags.len());
    let mut latest = tags.clone();
    latest.sort_by(|a, b| b.cmp(a));
    latest.truncate(10);
    let status = json!({
        "observedGeneration": generation(&object),
        "canonicalImageName": image,
        "conditions": [ready("True", "Succeeded", &message)],
        "lastScanResult": { "tagCount": tags.len(), "scanTime": now(), "latestTags": latest,
                            "revision": fake_digest(&tags.join(",")) },
        "lastHandledReconcileAt": requested_at(&object),
    });
    write_status(store, rt, &mut object, status);
    emit(
        store,
        &object,
        "Normal",
        "Succeeded",
        &message,
        "image-reflector-controller",
    );
}

/// The tags of an ImageRepository's last scan, with its image.
fn scanned(store: &Store, namespace: &str, name: &str) -> Option<(String, Vec<String>)> {
    let rt = store.resource(IMAGE, "v1", "imagerepositories").ok()?;
    let repository = store.get(&rt, Some(namespace), name).ok()?;
    // Not scanned yet: nothing to choose from.
    repository.pointer("/status/lastScanResult")?;
    Some((
        text(&repository, "/spec/image")?.to_owned(),
        tags_of(&repository),
    ))
}

/// The tags an ImageRepository's registry "holds": its annotation's, else three versions.
fn tags_of(repository: &Value) -> Vec<String> {
    let annotation = format!(
        "/metadata/annotations/{}",
        TAGS_ANNOTATION.replace('/', "~1")
    );
    text(repository, &annotation)
        .unwrap_or("1.0.0,1.1.0,1.2.0")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn choose(store: &Store, rt: &ResourceType, mut object: Value) {
    if suspended(&object) {
        return;
    }
    let (repository_namespace, repository) = referenced(&object, "/spec/imageRepositoryRef");
    let (status, event) = match scanned(store, &repository_namespace, &repository) {
        None => {
            let message = format!(
                "referenced ImageRepository {repository_namespace}/{repository} not found or not scanned yet"
            );
            (
                json!({ "observedGeneration": generation(&object),
                        "conditions": [ready("False", "DependencyNotReady", &message)] }),
                None,
            )
        }
        Some((image, tags)) => match pick(&object, &tags) {
            Ok(tag) => {
                let message = format!("Latest image tag for {image} resolved to {tag}");
                let previous = object.pointer("/status/latestRef").cloned();
                let latest = json!({ "name": image, "tag": tag,
                                     "digest": format!("sha256:{}", fake_digest(&format!("{image}:{tag}"))) });
                let changed = previous.as_ref() != Some(&latest);
                let mut status = json!({ "observedGeneration": generation(&object),
                        "conditions": [ready("True", "Succeeded", &message)], "latestRef": latest,
                        "lastHandledReconcileAt": requested_at(&object) });
                if changed && let Some(previous) = previous {
                    status["observedPreviousRef"] = previous;
                }
                (status, changed.then_some(message))
            }
            Err(message) => (
                json!({ "observedGeneration": generation(&object),
                        "conditions": [ready("False", "ReconciliationFailed", &message)],
                        "lastHandledReconcileAt": requested_at(&object) }),
                Some(message),
            ),
        },
    };
    // Written only when something changed: a steady cluster keeps its resource versions.
    let same = |a: &Value, b: &Value| {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(conditions) = v.get_mut("conditions").and_then(Value::as_array_mut) {
                for c in conditions {
                    c.as_object_mut().map(|c| c.remove("lastTransitionTime"));
                }
            }
            v
        };
        strip(a) == strip(b)
    };
    if object
        .get("status")
        .is_some_and(|current| same(current, &status))
    {
        return;
    }
    write_status(store, rt, &mut object, status);
    if let Some(message) = event {
        let kind = if message.starts_with("Latest") {
            "Normal"
        } else {
            "Warning"
        };
        emit(
            store,
            &object,
            kind,
            "Succeeded",
            &message,
            "image-reflector-controller",
        );
    }
}

/// The tag a policy chooses among `tags`, or why none.
fn pick(policy: &Value, tags: &[String]) -> Result<String, String> {
    let pattern = text(policy, "/spec/filterTags/pattern");
    let extract = text(policy, "/spec/filterTags/extract").unwrap_or("$0");
    let filter = match pattern {
        Some(p) => {
            Some(regex::Regex::new(p).map_err(|e| format!("invalid filterTags.pattern: {e}"))?)
        }
        None => None,
    };
    // (the value compared, the tag)
    let candidates: Vec<(String, &String)> = tags
        .iter()
        .filter_map(|tag| match &filter {
            None => Some((tag.clone(), tag)),
            Some(re) => re.captures(tag).map(|c| {
                let mut value = String::new();
                c.expand(extract, &mut value);
                (value, tag)
            }),
        })
        .collect();
    let policy_spec = policy.pointer("/spec/policy").cloned().unwrap_or_default();
    let chosen = if let Some(range) = policy_spec.pointer("/semver/range").and_then(Value::as_str) {
        let range = if range.contains(',') {
            range.to_owned()
        } else {
            range.split_whitespace().collect::<Vec<_>>().join(", ")
        };
        let requirement = semver::VersionReq::parse(&range)
            .map_err(|e| format!("invalid semver range {range:?}: {e}"))?;
        candidates
            .iter()
            .filter_map(|(value, tag)| {
                let version = semver::Version::parse(value.trim_start_matches('v')).ok()?;
                requirement.matches(&version).then_some((version, *tag))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, tag)| tag.clone())
    } else if let Some(order) = policy_spec
        .pointer("/numerical/order")
        .and_then(Value::as_str)
        .or(policy_spec.get("numerical").map(|_| "asc"))
    {
        let numbers = candidates
            .iter()
            .filter_map(|(v, t)| v.parse::<f64>().ok().map(|n| (n, *t)));
        let best = if order == "desc" {
            numbers.min_by(|a, b| a.0.total_cmp(&b.0))
        } else {
            numbers.max_by(|a, b| a.0.total_cmp(&b.0))
        };
        best.map(|(_, tag)| tag.clone())
    } else {
        let order = policy_spec
            .pointer("/alphabetical/order")
            .and_then(Value::as_str)
            .unwrap_or("asc");
        let values = candidates.iter();
        let best = if order == "desc" {
            values.min_by(|a, b| a.0.cmp(&b.0))
        } else {
            values.max_by(|a, b| a.0.cmp(&b.0))
        };
        best.map(|(_, tag)| (*tag).clone())
    };
    chosen.ok_or_else(|| "no tag matches the policy".to_owned())
}

fn push(store: &Store, rt: &ResourceType, mut object: Value) {
    if suspended(&object) || !wants_reconcile(&object) {
        return;
    }
    let namespace = text(&object, "/metadata/namespace")
        .unwrap_or_default()
        .to_owned();
    let (source_namespace, source) = referenced(&object, "/spec/sourceRef");
    let found = store
        .resource("source.toolkit.fluxcd.io", "v1", "gitrepositories")
        .ok()
        .and_then(|rt| store.get(&rt, Some(&source_namespace), &source).ok());
    let Some(repository) = found else {
        let message = format!("referenced GitRepository {source_namespace}/{source} not found");
        let status = json!({ "observedGeneration": generation(&object),
            "conditions": [ready("False", "DependencyNotReady", &message)],
            "lastHandledReconcileAt": requested_at(&object) });
        write_status(store, rt, &mut object, status);
        emit(
            store,
            &object,
            "Warning",
            "DependencyNotReady",
            &message,
            "image-automation-controller",
        );
        return;
    };
    let branch = text(&object, "/spec/git/push/branch")
        .or_else(|| text(&object, "/spec/git/checkout/ref/branch"))
        .or_else(|| text(&repository, "/spec/ref/branch"))
        .unwrap_or("main")
        .to_owned();
    let policies: serde_json::Map<String, Value> = store
        .resource(IMAGE, "v1", "imagepolicies")
        .ok()
        .and_then(|rt| {
            let everything = crate::selectors::LabelSelector::default();
            let no_fields = crate::selectors::FieldSelector::default();
            store
                .list(&rt, Some(&namespace), &everything, &no_fields, None, None)
                .ok()
        })
        .map(|page| {
            page.items
                .into_iter()
                .filter_map(|p| {
                    let name = text(&p, "/metadata/name")?.to_owned();
                    Some((name, p.pointer("/status/latestRef")?.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    let commit = fake_digest(&format!(
        "{namespace}/{source}/{}",
        Value::Object(policies.clone())
    ))[..40]
        .to_owned();
    let message = format!("pushed commit '{}' to branch '{branch}'", &commit[..7]);
    let at = now();
    let status = json!({ "observedGeneration": generation(&object),
        "conditions": [ready("True", "Succeeded", &message)],
        "lastAutomationRunTime": at, "lastPushCommit": commit, "lastPushTime": at,
        "observedPolicies": policies,
        "observedSourceRevision": repository.pointer("/status/artifact/revision").cloned().unwrap_or(Value::Null),
        "lastHandledReconcileAt": requested_at(&object) });
    write_status(store, rt, &mut object, status);
    emit(
        store,
        &object,
        "Normal",
        "Succeeded",
        &message,
        "image-automation-controller",
    );
}

fn receive(store: &Store, rt: &ResourceType, mut object: Value) {
    if suspended(&object) || !wants_reconcile(&object) {
        return;
    }
    let namespace = text(&object, "/metadata/namespace").unwrap_or_default();
    let name = text(&object, "/metadata/name").unwrap_or_default();
    let path = format!("/hook/{}", fake_digest(&format!("{namespace}/{name}")));
    let message = format!("Receiver initialized for path: {path}");
    let status = json!({ "observedGeneration": generation(&object),
        "conditions": [ready("True", "Succeeded", &message)], "webhookPath": path,
        "lastHandledReconcileAt": requested_at(&object) });
    write_status(store, rt, &mut object, status);
    emit(
        store,
        &object,
        "Normal",
        "Succeeded",
        &message,
        "notification-controller",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn policies_pick_as_flux_does() {
        let all = tags(&["1.0.0", "1.2.0", "1.10.1", "2.0.0-rc.1", "latest"]);
        let semver = json!({ "spec": { "policy": { "semver": { "range": ">=1.0.0 <2.0.0" } } } });
        assert_eq!(pick(&semver, &all), Ok("1.10.1".into()));
        let alphabetical = json!({ "spec": { "policy": { "alphabetical": { "order": "asc" } } } });
        assert_eq!(pick(&alphabetical, &all), Ok("latest".into()));
        let numerical = json!({ "spec": { "filterTags": { "pattern": "^main-(?P<ts>[0-9]+)$", "extract": "$ts" },
                                          "policy": { "numerical": { "order": "asc" } } } });
        assert_eq!(
            pick(&numerical, &tags(&["main-9", "main-10", "dev-99"])),
            Ok("main-10".into())
        );
        let none = json!({ "spec": { "policy": { "semver": { "range": ">=3.0.0" } } } });
        assert!(pick(&none, &all).is_err());
    }
}
