//! The kinds the sandbox serves: the core kinds ordinary charts and Pilothouse use, plus every
//! kind a CustomResourceDefinition adds at run time.

use crate::error::ApiError;
use serde_json::{Value, json};

/// One served resource: where it lives in the API and how it behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name in paths.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Whether `/status` is a separate subresource.
    pub status_subresource: bool,
    /// The CRD's openAPIV3Schema, validated on every write.
    pub schema: Option<Value>,
    /// Short names (`cm`, `hr`, …).
    pub short_names: Vec<String>,
}

impl ResourceType {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    status: bool,
    short: &[&str],
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced,
        status_subresource: status,
        schema: None,
        short_names: short.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The built-in kinds.
pub fn builtins() -> Vec<ResourceType> {
    vec![
        builtin("", "v1", "Namespace", "namespaces", false, true, &["ns"]),
        builtin("", "v1", "ConfigMap", "configmaps", true, false, &["cm"]),
        builtin("", "v1", "Secret", "secrets", true, false, &[]),
        builtin("", "v1", "Service", "services", true, true, &["svc"]),
        builtin(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            false,
            &["sa"],
        ),
        builtin("", "v1", "Pod", "pods", true, true, &["po"]),
        builtin("", "v1", "Event", "events", true, false, &["ev"]),
        builtin(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            true,
            false,
            &["ev"],
        ),
        builtin(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            true,
            &["deploy"],
        ),
        builtin(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            true,
            true,
            &["sts"],
        ),
        builtin("apps", "v1", "DaemonSet", "daemonsets", true, true, &["ds"]),
        builtin(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            true,
            &["rs"],
        ),
        builtin("batch", "v1", "Job", "jobs", true, true, &[]),
        builtin("batch", "v1", "CronJob", "cronjobs", true, true, &["cj"]),
        builtin(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
            true,
            &["pdb"],
        ),
        builtin(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
            false,
            &["netpol"],
        ),
        builtin(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            false,
            &[],
        ),
        // Stored, not enforced: the sandbox runs no admission policies.
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicy",
            "validatingadmissionpolicies",
            false,
            true,
            &[],
        ),
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
            false,
            false,
            &[],
        ),
        builtin(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            true,
            true,
            &["ing"],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            false,
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            false,
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            false,
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            false,
            &[],
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            true,
            &["crd"],
        ),
    ]
}

/// The resource types a CRD object serves (one per served version).
pub fn from_crd(crd: &Value) -> Result<Vec<ResourceType>, String> {
    let spec = crd.get("spec").ok_or("spec is required")?;
    let group = spec
        .get("group")
        .and_then(Value::as_str)
        .ok_or("spec.group is required")?;
    let names = spec.get("names").ok_or("spec.names is required")?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let kind = text(names, "kind").ok_or("spec.names.kind is required")?;
    let plural = text(names, "plural").ok_or("spec.names.plural is required")?;
    let singular = text(names, "singular").unwrap_or_else(|| kind.to_lowercase());
    let short_names: Vec<String> = names
        .get("shortNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .ok_or("spec.versions is required")?;
    Ok(versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(false))
        .filter_map(|v| {
            Some(ResourceType {
                group: group.to_owned(),
                version: v.get("name")?.as_str()?.to_owned(),
                kind: kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                namespaced,
                status_subresource: v.pointer("/subresources/status").is_some(),
                schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                short_names: short_names.clone(),
            })
        })
        .collect())
}

/// Adds (or replaces) the resource types a CRD defines and marks it established, as the
/// API server does when it accepts one.
pub(crate) fn register_crd(
    resources: &mut Vec<ResourceType>,
    crd: &mut Value,
) -> Result<(), ApiError> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let types = from_crd(crd).map_err(|message| {
        ApiError::invalid(
            "CustomResourceDefinition",
            &name,
            vec![("spec".into(), message)],
        )
    })?;
    for rt in types {
        resources
            .retain(|r| !(r.group == rt.group && r.version == rt.version && r.plural == rt.plural));
        resources.push(rt);
    }
    let accepted = json!({ "type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": crate::object::now() });
    let names = json!({ "type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": crate::object::now() });
    crd["status"] = json!({ "conditions": [names, accepted], "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or_default(), "storedVersions": [] });
    Ok(())
}
