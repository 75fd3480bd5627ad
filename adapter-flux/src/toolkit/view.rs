//! Toolkit objects (sources, image automation, notifications) as rows and detail pages: what
//! each kind's spec and status say, in labelled values. Secrets are never shown: references
//! to them are named, and a provider's address is cut to its scheme and host.

use kube::ResourceExt;
use kube::api::DynamicObject;
use model::flux::{Artifact, Field, FluxObject};
use model::reference::ToolkitKind;
use serde_json::Value;

/// What an object's row shows.
pub fn row(kind: ToolkitKind, object: &DynamicObject) -> FluxObject {
    let data = &object.data;
    let text = |pointer: &str| str_at(data, pointer);
    let ready = data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let (url, revision, fields) = summary(kind, data);
    FluxObject {
        kind,
        family: kind.family(),
        name: object.name_any(),
        namespace: object.namespace().unwrap_or_default(),
        url,
        revision,
        ready: ready.and_then(|c| c["status"].as_str()).map(str::to_owned),
        message: ready
            .and_then(|c| c["message"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| waiting_for(kind).to_owned()),
        suspended: data.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
        last_update: ready
            .and_then(|c| c["lastTransitionTime"].as_str())
            .map(str::to_owned)
            .or_else(|| text("/status/artifact/lastUpdateTime")),
        fields,
        permissions: Default::default(),
    }
}

/// What a row says while the controller has reported nothing.
fn waiting_for(kind: ToolkitKind) -> &'static str {
    match kind {
        ToolkitKind::Provider | ToolkitKind::Alert => {
            "notification-controller keeps no status for this kind; it is used as events come"
        }
        ToolkitKind::ExternalArtifact => "waiting for the controller that produces it",
        ToolkitKind::ImageRepository | ToolkitKind::ImagePolicy => {
            "waiting for image-reflector-controller"
        }
        ToolkitKind::ImageUpdateAutomation => "waiting for image-automation-controller",
        ToolkitKind::Receiver => "waiting for notification-controller",
        _ => "waiting for source-controller",
    }
}

/// Where it points, its revision, and the kind's columns.
fn summary(kind: ToolkitKind, data: &Value) -> (String, Option<String>, Vec<Field>) {
    let text = |pointer: &str| str_at(data, pointer);
    let artifact = text("/status/artifact/revision");
    let mut fields = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.push(Field::new(label, value));
        }
    };
    let url = match kind {
        ToolkitKind::GitRepository => {
            push("Ref", git_ref(data, "/spec/ref"));
            text("/spec/url").unwrap_or_default()
        }
        ToolkitKind::HelmRepository => {
            push("Type", text("/spec/type").or(Some("default".into())));
            text("/spec/url").unwrap_or_default()
        }
        ToolkitKind::OciRepository => {
            push("Ref", git_ref(data, "/spec/ref"));
            text("/spec/url").unwrap_or_default()
        }
        ToolkitKind::Bucket => {
            push(
                "Provider",
                text("/spec/provider").or(Some("generic".into())),
            );
            format!(
                "{}/{}",
                text("/spec/endpoint").unwrap_or_default(),
                text("/spec/bucketName").unwrap_or_default()
            )
        }
        ToolkitKind::HelmChart => {
            push("Version", text("/spec/version").or(Some("*".into())));
            push("Source", reference(data, "/spec/sourceRef"));
            text("/spec/chart").unwrap_or_default()
        }
        ToolkitKind::ExternalArtifact => reference(data, "/spec/sourceRef").unwrap_or_default(),
        ToolkitKind::ImageRepository => {
            push("Last scan", text("/status/lastScanResult/scanTime"));
            push(
                "Tags",
                data.pointer("/status/lastScanResult/tagCount")
                    .and_then(Value::as_u64)
                    .map(|n| n.to_string()),
            );
            text("/spec/image").unwrap_or_default()
        }
        ToolkitKind::ImagePolicy => {
            push("Rule", Some(policy_rule(data)));
            push("Latest", latest_image(data));
            reference(data, "/spec/imageRepositoryRef")
                .map(|r| format!("ImageRepository/{r}"))
                .unwrap_or_default()
        }
        ToolkitKind::ImageUpdateAutomation => {
            push("Checkout", git_ref(data, "/spec/git/checkout/ref"));
            push("Push branch", push_branch(data));
            push("Last push", text("/status/lastPushTime"));
            reference(data, "/spec/sourceRef").unwrap_or_default()
        }
        ToolkitKind::Provider => {
            push("Type", text("/spec/type"));
            push("Channel", text("/spec/channel"));
            text("/spec/address")
                .map(|a| without_secrets(&a))
                .unwrap_or_default()
        }
        ToolkitKind::Alert => {
            push("Provider", text("/spec/providerRef/name"));
            push(
                "Severity",
                text("/spec/eventSeverity").or(Some("info".into())),
            );
            push("Event sources", Some(event_sources(data)));
            text("/spec/providerRef/name")
                .map(|p| format!("Provider/{p}"))
                .unwrap_or_default()
        }
        ToolkitKind::Receiver => {
            push("Type", text("/spec/type"));
            push("Resources", Some(list_of_refs(data, "/spec/resources")));
            text("/status/webhookPath").unwrap_or_default()
        }
    };
    let revision = match kind {
        ToolkitKind::ImagePolicy => latest_image(data),
        ToolkitKind::ImageUpdateAutomation => text("/status/lastPushCommit"),
        // A scan's revision is a digest of the tag list: nothing a person reads.
        ToolkitKind::ImageRepository => None,
        _ => artifact,
    };
    (url, revision, fields)
}

/// Every labelled value the detail page shows beyond the row's columns.
pub fn details(kind: ToolkitKind, data: &Value) -> Vec<Field> {
    let text = |pointer: &str| str_at(data, pointer);
    let mut fields = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.push(Field::new(label, value));
        }
    };
    push("Interval", text("/spec/interval"));
    push("Timeout", text("/spec/timeout"));
    // Named, never read: the Secret stays in the namespace.
    push("Secret", text("/spec/secretRef/name"));
    push("Certificate secret", text("/spec/certSecretRef/name"));
    push("Service account", text("/spec/serviceAccountName"));
    match kind {
        ToolkitKind::ImageRepository => {
            push("Canonical name", text("/status/canonicalImageName"));
            push(
                "Latest tags",
                joined(data, "/status/lastScanResult/latestTags"),
            );
            push("Excluded tags", joined(data, "/spec/exclusionList"));
        }
        ToolkitKind::ImagePolicy => {
            push("Filter", text("/spec/filterTags/pattern"));
            push("Extract", text("/spec/filterTags/extract"));
            push("Digest", text("/status/latestRef/digest"));
            push(
                "Previous",
                image_ref(data.pointer("/status/observedPreviousRef")),
            );
        }
        ToolkitKind::ImageUpdateAutomation => {
            push("Last push commit", text("/status/lastPushCommit"));
            push("Last run", text("/status/lastAutomationRunTime"));
            push("Update path", text("/spec/update/path"));
            push("Strategy", text("/spec/update/strategy"));
            push("Source revision", text("/status/observedSourceRevision"));
        }
        ToolkitKind::Alert => {
            push("Inclusions", joined(data, "/spec/inclusionList"));
            push("Exclusions", joined(data, "/spec/exclusionList"));
            push("Summary", text("/spec/summary"));
        }
        ToolkitKind::Receiver => {
            push("Events", joined(data, "/spec/events"));
        }
        _ => {}
    }
    fields
}

/// The artifact a source last produced.
pub fn artifact(data: &Value) -> Option<Artifact> {
    let artifact = data.pointer("/status/artifact")?;
    Some(Artifact {
        revision: artifact.get("revision")?.as_str()?.to_owned(),
        digest: artifact
            .get("digest")
            .and_then(Value::as_str)
            .map(str::to_owned),
        size: artifact.get("size").and_then(Value::as_u64),
        last_update_time: artifact
            .get("lastUpdateTime")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The images a policy's `latestRef` names: `name:tag`.
pub fn latest_image(data: &Value) -> Option<String> {
    image_ref(data.pointer("/status/latestRef"))
}

/// An Alert's event sources, as `Kind/name` (`*` for every object of a kind).
pub fn event_sources(data: &Value) -> String {
    list_of_refs(data, "/spec/eventSources")
}

fn image_ref(value: Option<&Value>) -> Option<String> {
    let value = value?;
    let name = value.get("name")?.as_str()?;
    match value.get("tag").and_then(Value::as_str) {
        Some(tag) => Some(format!("{name}:{tag}")),
        None => Some(name.to_owned()),
    }
}

fn str_at(data: &Value, pointer: &str) -> Option<String> {
    data.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The strings of the list at `pointer`, comma-separated.
fn joined(data: &Value, pointer: &str) -> Option<String> {
    data.pointer(pointer)
        .and_then(Value::as_array)
        .map(|values| strings(values).join(", "))
}

fn strings(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// A `sourceRef`-like reference as `Kind/name` (`Kind/namespace/name` across namespaces).
fn reference(data: &Value, pointer: &str) -> Option<String> {
    let reference = data.pointer(pointer)?;
    let name = reference.get("name")?.as_str()?;
    let kind = reference.get("kind").and_then(Value::as_str);
    let namespace = reference.get("namespace").and_then(Value::as_str);
    Some(match (kind, namespace) {
        (Some(kind), Some(ns)) => format!("{kind}/{ns}/{name}"),
        (Some(kind), None) => format!("{kind}/{name}"),
        (None, Some(ns)) => format!("{ns}/{name}"),
        (None, None) => name.to_owned(),
    })
}

fn list_of_refs(data: &Value, pointer: &str) -> String {
    data.pointer(pointer)
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| {
                    let kind = r.get("kind")?.as_str()?;
                    let name = r.get("name")?.as_str()?;
                    Some(match r.get("namespace").and_then(Value::as_str) {
                        Some(ns) => format!("{kind}/{ns}/{name}"),
                        None => format!("{kind}/{name}"),
                    })
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// A Git or OCI ref: branch, tag, semver range, commit or digest, whichever is set.
fn git_ref(data: &Value, pointer: &str) -> Option<String> {
    let reference = data.pointer(pointer)?;
    ["branch", "tag", "semver", "name", "commit", "digest"]
        .into_iter()
        .find_map(|key| {
            reference
                .get(key)
                .and_then(Value::as_str)
                .map(|v| format!("{key} {v}"))
        })
}

fn push_branch(data: &Value) -> Option<String> {
    str_at(data, "/spec/git/push/branch")
        .or_else(|| str_at(data, "/spec/git/push/refspec"))
        .or_else(|| str_at(data, "/spec/git/checkout/ref/branch"))
}

/// How an ImagePolicy picks a tag, in words.
fn policy_rule(data: &Value) -> String {
    let policy = data.pointer("/spec/policy");
    let order = |key: &str| {
        policy
            .and_then(|p| p.pointer(&format!("/{key}/order")))
            .and_then(Value::as_str)
            .unwrap_or("asc")
            .to_owned()
    };
    match policy {
        Some(p) if p.get("semver").is_some() => format!(
            "semver {}",
            p.pointer("/semver/range")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
        Some(p) if p.get("alphabetical").is_some() => {
            format!("alphabetical {}", order("alphabetical"))
        }
        Some(p) if p.get("numerical").is_some() => format!("numerical {}", order("numerical")),
        _ => "none".to_owned(),
    }
}

/// A provider's address as scheme and host only: webhook URLs carry their token in the path
/// or query.
fn without_secrets(address: &str) -> String {
    let Some((scheme, rest)) = address.split_once("://") else {
        return String::new();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_providers_address_shows_no_token() {
        assert_eq!(
            without_secrets("https://hooks.slack.com/services/T000/B000/XXXX?x=1"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            without_secrets("https://user:secret@example.com/hook"),
            "https://example.com"
        );
        assert_eq!(without_secrets("not a url"), "");
    }

    #[test]
    fn a_policy_reads_as_its_rule_and_latest_image() {
        let data = json!({
            "spec": { "imageRepositoryRef": { "name": "web" }, "policy": { "semver": { "range": ">=1.0.0" } } },
            "status": { "latestRef": { "name": "ghcr.io/acme/web", "tag": "1.4.2", "digest": "sha256:ab" } }
        });
        let (url, revision, fields) = summary(ToolkitKind::ImagePolicy, &data);
        assert_eq!(url, "ImageRepository/web");
        assert_eq!(revision.as_deref(), Some("ghcr.io/acme/web:1.4.2"));
        assert_eq!(fields[0], Field::new("Rule", "semver >=1.0.0"));
        let numerical = json!({ "spec": { "policy": { "numerical": { "order": "desc" } } } });
        assert_eq!(policy_rule(&numerical), "numerical desc");
    }
}
