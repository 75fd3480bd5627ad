//! What the SIMULATED Flux controllers may do as a deployment's identity: like helm-controller
//! and kustomize-controller, they act as `spec.serviceAccountName`, or else as the account
//! their Deployment's `--default-service-account` names (Flux's lockdown), or else as
//! themselves (cluster-admin in a default Flux install). So a HelmRelease or Kustomization
//! whose content reaches outside that identity's rights fails with the API server's refusal.
//!
//! A Kustomization also applies what its source holds. The sandbox has no Git: a source's
//! content is the YAML documents in its annotation `sandbox.pilothouse.dev/manifests`, and the
//! simulated kustomize-controller creates or replaces each of them as its identity would.

use crate::rbac::{self, Attributes, UserInfo};
use crate::store::{Store, WriteOptions};
use serde::Deserialize;
use serde_json::Value;

/// The annotation on a source whose YAML documents stand for the content of its artifact.
pub const MANIFESTS_ANNOTATION: &str = "sandbox.pilothouse.dev/manifests";

fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

/// Whom `controller` acts as for `object`; None when it acts as itself.
fn acting_as(store: &Store, controller: &str, object: &Value) -> Option<UserInfo> {
    let namespace = text(object, "/metadata/namespace").unwrap_or("default");
    let account = text(object, "/spec/serviceAccountName")
        .map(str::to_owned)
        .or_else(|| crate::controller_pods::default_service_account(store, controller))?;
    Some(UserInfo::service_account(namespace, &account))
}

/// Why the deployment's identity may not apply it, as the controller reports it.
pub fn refusal(store: &Store, kind: &str, object: &Value) -> Option<(&'static str, String)> {
    let controller = if kind == "HelmRelease" {
        "helm-controller"
    } else {
        "kustomize-controller"
    };
    let user = acting_as(store, controller, object)?;
    let namespace = text(object, "/metadata/namespace").unwrap_or("default");
    let name = text(object, "/metadata/name").unwrap_or_default();
    let target = text(object, "/spec/targetNamespace").unwrap_or(namespace);
    let denied = |verb: &str, group: &str, resource: &str, in_namespace: &str| {
        let attributes = Attributes {
            verb,
            group,
            resource,
            subresource: None,
            namespace: Some(in_namespace),
            name: None,
        };
        (!rbac::allows(store, &user, &attributes)).then(|| rbac::forbidden(&user, &attributes))
    };
    if kind == "HelmRelease" {
        let storage = text(object, "/spec/storageNamespace").unwrap_or(namespace);
        let refused = denied("create", "", "secrets", storage)
            .or_else(|| denied("create", "apps", "deployments", target))?;
        let chart = text(object, "/spec/chart/spec/chart").unwrap_or("chart");
        let version = text(object, "/spec/chart/spec/version").unwrap_or("*");
        return Some((
            "InstallFailed",
            format!(
                "Helm install failed for release {target}/{name} with chart {chart}@{version}: {}",
                refused.message
            ),
        ));
    }
    let refused = denied("patch", "apps", "deployments", target)?;
    Some((
        "ReconciliationFailed",
        format!(
            "Deployment/{target}/{name} dry-run failed (Forbidden): {}",
            refused.message
        ),
    ))
}

/// Applies the documents of a Kustomization's source content as its identity would: each is
/// created, or replaced when it exists. The first one the identity may not write fails the
/// reconciliation with the API server's refusal, and nothing after it is applied.
pub fn apply_source_content(store: &Store, object: &Value) -> Result<(), (&'static str, String)> {
    let Some(documents) = source_content(store, object) else {
        return Ok(());
    };
    let user = acting_as(store, "kustomize-controller", object);
    let own = text(object, "/metadata/namespace").unwrap_or("default");
    let target = text(object, "/spec/targetNamespace").unwrap_or(own);
    for mut document in documents {
        let kind = text(&document, "/kind").unwrap_or_default().to_owned();
        let api_version = text(&document, "/apiVersion")
            .unwrap_or_default()
            .to_owned();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let Some(rt) = store
            .resources()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
        else {
            return Err((
                "ReconciliationFailed",
                format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
            ));
        };
        let name = text(&document, "/metadata/name")
            .unwrap_or_default()
            .to_owned();
        let namespace = rt.namespaced.then(|| {
            let ns = text(&document, "/metadata/namespace").unwrap_or(target);
            // kustomize's namespace transformer: targetNamespace wins when set.
            let ns = if object.pointer("/spec/targetNamespace").is_some() {
                target
            } else {
                ns
            };
            ns.to_owned()
        });
        if let Some(ns) = &namespace {
            document["metadata"]["namespace"] = Value::String(ns.clone());
        }
        let existing = store.get(&rt, namespace.as_deref(), &name).ok();
        if let Some(user) = &user {
            let attributes = Attributes {
                verb: if existing.is_some() {
                    "patch"
                } else {
                    "create"
                },
                group: &rt.group,
                resource: &rt.plural,
                subresource: None,
                namespace: namespace.as_deref(),
                name: existing.is_some().then_some(name.as_str()),
            };
            if !rbac::allows(store, user, &attributes) {
                let refused = rbac::forbidden(user, &attributes);
                let at = namespace
                    .as_deref()
                    .map_or(name.clone(), |ns| format!("{ns}/{name}"));
                return Err((
                    "ReconciliationFailed",
                    format!(
                        "{kind}/{at} dry-run failed (Forbidden): {}",
                        refused.message
                    ),
                ));
            }
        }
        let options = WriteOptions::by("kustomize-controller");
        let written = match existing {
            Some(current) => {
                document["metadata"]["resourceVersion"] =
                    current["metadata"]["resourceVersion"].clone();
                store.update(&rt, namespace.as_deref(), &name, document, options)
            }
            None => store.create(&rt, namespace.as_deref(), document, options),
        };
        if let Err(error) = written {
            return Err((
                "ReconciliationFailed",
                format!("{kind}/{name} apply failed: {}", error.message),
            ));
        }
    }
    Ok(())
}

/// The documents a Kustomization's source holds, if its source carries any.
fn source_content(store: &Store, object: &Value) -> Option<Vec<Value>> {
    let own = text(object, "/metadata/namespace").unwrap_or("default");
    let kind = text(object, "/spec/sourceRef/kind").unwrap_or("GitRepository");
    let name = text(object, "/spec/sourceRef/name")?;
    let namespace = text(object, "/spec/sourceRef/namespace").unwrap_or(own);
    let rt = store
        .resources()
        .into_iter()
        .find(|r| r.group == "source.toolkit.fluxcd.io" && r.kind == kind)?;
    let source = store.get(&rt, Some(namespace), name).ok()?;
    let pointer = format!(
        "/metadata/annotations/{}",
        MANIFESTS_ANNOTATION.replace('/', "~1")
    );
    let yaml = text(&source, &pointer)?;
    let documents = serde_yaml::Deserializer::from_str(yaml)
        .filter_map(|document| Value::deserialize(document).ok())
        .filter(|document| document.is_object())
        .collect();
    Some(documents)
}
