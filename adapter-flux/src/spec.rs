//! What the Flux objects Pilothouse writes look like: built from a DeploymentRequest, the
//! desired state kept from a running object, and an update applied to it.

use super::config::FluxConfig;
use super::kinds::{FluxKind, HELM_RELEASE, KUSTOMIZATION};
use control_core::{Error, Result, validate};
use kube::api::DynamicObject;
use model::deployment::{DeploymentRequest, DeploymentUpdate};
use model::reference::DeploymentKind;
use serde_json::{Value, json};

/// Builds the Flux object a request describes, or says which extension is missing or wrong.
pub fn build(request: &DeploymentRequest, settings: &FluxConfig) -> Result<(FluxKind, Value)> {
    validate::dns_label("name", &request.name)?;
    validate::dns_label("namespace", &request.namespace)?;
    let ext = |key: &str| {
        request
            .extensions
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let kind = match control_core::adapters::requested_kind(request)? {
        DeploymentKind::Kustomization => KUSTOMIZATION,
        DeploymentKind::HelmRelease => HELM_RELEASE,
        DeploymentKind::Release => {
            return Err(Error::invalid(
                "packageId",
                "a packageId or helm.* extension makes this a Helm release, not a Flux object",
            ));
        }
    };
    // The reference names a HelmRelease's missing chart before its missing source.
    let chart = if kind == HELM_RELEASE {
        Some(ext("flux.chart").ok_or_else(|| {
            Error::invalid(
                "flux.chart",
                "flux.chart extension is required for HelmRelease",
            )
        })?)
    } else {
        None
    };
    let source = ext("flux.sourceRef").ok_or_else(|| {
        Error::invalid(
            "flux.sourceRef",
            format!("flux.sourceRef extension is required for {}", kind.kind),
        )
    })?;
    validate::dns_label("flux.sourceRef", source)?;
    let mut source_ref = json!({ "name": source });
    if let Some(ns) = ext("flux.sourceNamespace").or(settings.source_namespace.as_deref()) {
        validate::dns_label("flux.sourceNamespace", ns)?;
        source_ref["namespace"] = json!(ns);
    }
    let target_namespace = ext("flux.targetNamespace").or(settings.target_namespace.as_deref());
    let mut spec = json!({ "interval": settings.interval });
    if let Some(chart) = chart {
        source_ref["kind"] = json!(ext("flux.sourceKind").unwrap_or("HelmRepository"));
        let mut chart_spec = json!({ "chart": chart, "sourceRef": source_ref });
        if let Some(version) = ext("flux.chartVersion") {
            chart_spec["version"] = json!(version);
        }
        spec["chart"] = json!({ "spec": chart_spec });
        if !request.values.is_empty() {
            spec["values"] = Value::Object(request.values.clone());
        }
    } else {
        source_ref["kind"] = json!(ext("flux.sourceKind").unwrap_or("GitRepository"));
        spec["sourceRef"] = source_ref;
        spec["path"] = json!(ext("flux.path").unwrap_or("./"));
        spec["prune"] = json!(settings.prune);
        if settings.force {
            spec["force"] = json!(true);
        }
    }
    if kind == HELM_RELEASE && settings.force {
        spec["upgrade"] = json!({ "force": true });
    }
    if kind == HELM_RELEASE && ext("flux.targetRevision").is_some() {
        return Err(Error::invalid(
            "flux.targetRevision",
            "only Kustomizations follow a source revision; pin a HelmRelease with flux.chartVersion",
        ));
    }
    if settings.suspend {
        spec["suspend"] = json!(true);
    }
    if let Some(target) = target_namespace {
        validate::dns_label("flux.targetNamespace", target)?;
        spec["targetNamespace"] = json!(target);
    }
    extra_fields(kind, &request.extensions, &mut spec)?;
    let object = json!({
        "apiVersion": format!("{}/{}", kind.group, kind.version),
        "kind": kind.kind,
        "metadata": { "name": request.name, "namespace": request.namespace, "labels": request.labels },
        "spec": spec,
    });
    Ok((kind, object))
}

/// Every `flux.*` extension a create takes; any other is refused rather than dropped.
pub const CREATE_EXTENSIONS: [&str; 14] = [
    "flux.type",
    "flux.sourceRef",
    "flux.sourceKind",
    "flux.sourceNamespace",
    "flux.chart",
    "flux.chartVersion",
    "flux.path",
    "flux.targetNamespace",
    "flux.targetRevision",
    "flux.storageNamespace",
    "flux.serviceAccountName",
    "flux.dependsOn",
    "flux.kubeConfig",
    "flux.postRenderers",
];

/// The Flux fields a request may set beyond the reference's extensions: storage namespace,
/// service account, dependencies (`name` or `namespace/name`, a list or comma-separated),
/// a remote kubeConfig Secret and post-renderers (as Flux writes them). Lockdown decides
/// later whether a tenant may use them.
fn extra_fields(
    kind: FluxKind,
    extensions: &std::collections::BTreeMap<String, Value>,
    spec: &mut Value,
) -> Result<()> {
    if let Some(unknown) = extensions
        .keys()
        .find(|k| k.starts_with("flux.") && !CREATE_EXTENSIONS.contains(&k.as_str()))
    {
        return Err(Error::invalid(
            "extensions",
            format!(
                "{unknown} is not a Flux extension; a create takes {}",
                CREATE_EXTENSIONS.join(", ")
            ),
        ));
    }
    let text = |key: &'static str| -> Result<Option<&str>> {
        match extensions.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Error::invalid(key, "must be a string")),
        }
    };
    if let Some(ns) = text("flux.storageNamespace")? {
        if kind != HELM_RELEASE {
            return Err(Error::invalid(
                "flux.storageNamespace",
                "only HelmReleases keep release storage",
            ));
        }
        validate::dns_label("flux.storageNamespace", ns)?;
        spec["storageNamespace"] = json!(ns);
    }
    if let Some(account) = text("flux.serviceAccountName")? {
        validate::dns_label("flux.serviceAccountName", account)?;
        spec["serviceAccountName"] = json!(account);
    }
    if let Some(secret) = text("flux.kubeConfig")? {
        validate::dns_label("flux.kubeConfig", secret)?;
        spec["kubeConfig"] = json!({ "secretRef": { "name": secret } });
    }
    let dependencies: Vec<String> = match extensions.get("flux.dependsOn") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(list)) => list
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::invalid("flux.dependsOn", "lists names as strings"))
            })
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(Error::invalid(
                "flux.dependsOn",
                "must be a list of names or namespace/name",
            ));
        }
    };
    if !dependencies.is_empty() {
        let mut list = Vec::new();
        for dependency in &dependencies {
            let (namespace, name) = match dependency.split_once('/') {
                Some((ns, name)) => (Some(ns), name),
                None => (None, dependency.as_str()),
            };
            validate::dns_label("flux.dependsOn", name)?;
            let mut entry = json!({ "name": name });
            if let Some(ns) = namespace {
                validate::dns_label("flux.dependsOn", ns)?;
                entry["namespace"] = json!(ns);
            }
            list.push(entry);
        }
        spec["dependsOn"] = Value::Array(list);
    }
    match extensions.get("flux.postRenderers") {
        None | Some(Value::Null) => {}
        Some(renderers @ Value::Array(_)) if kind == HELM_RELEASE => {
            spec["postRenderers"] = renderers.clone();
        }
        Some(_) => {
            return Err(Error::invalid(
                "flux.postRenderers",
                "is a list of post-renderers, as a HelmRelease's spec.postRenderers",
            ));
        }
    }
    Ok(())
}

/// What we want the object to be: its apiVersion, kind, name, namespace, labels,
/// annotations and spec; nothing the server or controllers own.
pub(crate) fn desired_state(current: &DynamicObject) -> Result<Value> {
    let value = serde_json::to_value(current)
        .map_err(|e| Error::Conflict(format!("cannot read the object: {e}")))?;
    let mut metadata = json!({ "name": value.pointer("/metadata/name"), "namespace": value.pointer("/metadata/namespace") });
    for field in ["labels", "annotations"] {
        if let Some(v) = value.pointer(&format!("/metadata/{field}")) {
            metadata[field] = v.clone();
        }
    }
    Ok(
        json!({ "apiVersion": value["apiVersion"], "kind": value["kind"], "metadata": metadata, "spec": value["spec"] }),
    )
}

/// The extensions an update may carry (`flux.targetRevision` moves the source, not the object).
pub const UPDATABLE: [&str; 5] = [
    "flux.chartVersion",
    "flux.path",
    "flux.targetNamespace",
    "flux.targetRevision",
    "flux.replicasPath",
];

/// Applies an update's values and extensions to a desired object.
pub(crate) fn apply_update(
    kind: FluxKind,
    desired: &mut Value,
    update: &DeploymentUpdate,
) -> Result<()> {
    if let Some(unknown) = update
        .extensions
        .keys()
        .find(|k| !UPDATABLE.contains(&k.as_str()))
    {
        return Err(Error::invalid(
            "extensions",
            format!(
                "{unknown} cannot be changed here; the extensions an update takes are {}",
                UPDATABLE.join(", ")
            ),
        ));
    }
    let ext = |key: &str| update.extensions.get(key).and_then(Value::as_str);
    if let Some(values) = &update.values {
        if kind != HELM_RELEASE {
            return Err(Error::invalid("values", "only HelmReleases take values"));
        }
        desired["spec"]["values"] = Value::Object(values.clone());
    }
    if let Some(version) = ext("flux.chartVersion") {
        if kind != HELM_RELEASE {
            return Err(Error::invalid(
                "flux.chartVersion",
                "only HelmReleases have a chart version",
            ));
        }
        desired["spec"]["chart"]["spec"]["version"] = json!(version);
    }
    if let Some(path) = ext("flux.path") {
        if kind != KUSTOMIZATION {
            return Err(Error::invalid(
                "flux.path",
                "only Kustomizations have a path",
            ));
        }
        desired["spec"]["path"] = json!(path);
    }
    if let Some(target) = ext("flux.targetNamespace") {
        validate::dns_label("flux.targetNamespace", target)?;
        desired["spec"]["targetNamespace"] = json!(target);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extensions: Value) -> DeploymentRequest {
        serde_json::from_value(
            json!({ "name": "nginx", "namespace": "production", "extensions": extensions }),
        )
        .unwrap_or_default()
    }

    #[test]
    fn the_reference_errors() {
        let error = build(
            &request(json!({ "flux.type": "helmrelease", "flux.sourceRef": "bitnami" })),
            &FluxConfig::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid flux.chart: flux.chart extension is required for HelmRelease"
        );
        let error = build(
            &request(json!({ "flux.type": "kustomization" })),
            &FluxConfig::default(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("flux.sourceRef extension is required for Kustomization")
        );
        let error = build(
            &request(json!({ "flux.type": "argo" })),
            &FluxConfig::default(),
        )
        .unwrap_err();
        assert!(matches!(
            error,
            Error::Invalid {
                field: "flux.type",
                ..
            }
        ));
        let mut bad = request(json!({ "flux.chart": "x", "flux.sourceRef": "y" }));
        bad.name = "Bad_Name".into();
        assert!(matches!(
            build(&bad, &FluxConfig::default()),
            Err(Error::Invalid { field: "name", .. })
        ));
    }

    #[test]
    fn builds_both_kinds() {
        let (kind, object) = build(
            &request(json!({ "flux.chart": "nginx", "flux.sourceRef": "bitnami", "flux.chartVersion": "13.2.0", "flux.targetNamespace": "web" })),
            &FluxConfig::default(),
        )
        .unwrap();
        assert_eq!(kind, HELM_RELEASE);
        assert_eq!(object["spec"]["chart"]["spec"]["version"], "13.2.0");
        assert_eq!(
            object["spec"]["chart"]["spec"]["sourceRef"],
            json!({ "name": "bitnami", "kind": "HelmRepository" })
        );
        assert_eq!(object["spec"]["targetNamespace"], "web");
        let (kind, object) = build(
            &request(json!({ "flux.type": "kustomization", "flux.path": "./infra", "flux.sourceRef": "infra-repo" })),
            &FluxConfig::default(),
        )
        .unwrap();
        assert_eq!(kind, KUSTOMIZATION);
        assert_eq!(
            (
                object["spec"]["path"].as_str(),
                object["spec"]["prune"].as_bool()
            ),
            (Some("./infra"), Some(true))
        );
    }
}
