//! Writing Flux objects: create from a DeploymentRequest (server-side apply under a fixed field
//! manager), delete, suspend and resume, and reconcile requests. Reads stay in the cache.

use super::config::FluxConfig;
use super::kinds::{FluxKind, HELM_RELEASE, KUSTOMIZATION};
use crate::adapters::values::set_path;
use crate::{Error, Result, validate};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use model::deployment::{DeploymentRequest, DeploymentUpdate};
use model::reference::DeploymentKind;
use serde_json::{Value, json};

/// The field manager of every write Pilothouse makes.
pub const FIELD_MANAGER: &str = "pilothouse";
/// The annotation that asks Flux to reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// Where the reason for a suspension is kept.
pub const SUSPEND_REASON: &str = "pilothouse.dev/suspend-reason";

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
    let kind = match crate::adapters::requested_kind(request)? {
        DeploymentKind::Kustomization => KUSTOMIZATION,
        DeploymentKind::HelmRelease => HELM_RELEASE,
        DeploymentKind::Release => {
            return Err(Error::invalid(
                "packageId",
                "a packageId or helm.* extension makes this a Helm release, not a Flux object",
            ));
        }
    };
    let source = ext("flux.sourceRef").ok_or_else(|| {
        Error::invalid(
            "flux.sourceRef",
            format!("flux.sourceRef extension is required for {}", kind.kind),
        )
    })?;
    let mut source_ref = json!({ "name": source });
    if let Some(ns) = settings.source_namespace.as_deref() {
        source_ref["namespace"] = json!(ns);
    }
    let target_namespace = ext("flux.targetNamespace").or(settings.target_namespace.as_deref());
    let mut spec = json!({ "interval": settings.interval });
    if kind == HELM_RELEASE {
        let chart = ext("flux.chart").ok_or_else(|| {
            Error::invalid(
                "flux.chart",
                "flux.chart extension is required for HelmRelease",
            )
        })?;
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
    let object = json!({
        "apiVersion": format!("{}/{}", kind.group, kind.version),
        "kind": kind.kind,
        "metadata": { "name": request.name, "namespace": request.namespace, "labels": request.labels },
        "spec": spec,
    });
    Ok((kind, object))
}

/// Writes Flux objects through the API server.
#[derive(Clone)]
pub struct FluxWriter {
    client: Client,
    settings: FluxConfig,
}

impl FluxWriter {
    /// A writer using `client`.
    pub fn new(client: Client, settings: FluxConfig) -> Self {
        Self { client, settings }
    }

    /// The same writer acting through `client` (one impersonating the tenant of the namespace
    /// written to).
    pub fn acting_as(&self, client: Client) -> Self {
        Self {
            client,
            settings: self.settings.clone(),
        }
    }

    pub(crate) fn api(&self, kind: FluxKind, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &kind.api_resource())
    }

    /// Creates the HelmRelease or Kustomization a request describes.
    pub async fn create(&self, request: &DeploymentRequest) -> Result<DynamicObject> {
        let (kind, object) = build(request, &self.settings)?;
        let api = self.api(kind, &request.namespace);
        if api.get_opt(&request.name).await.map_err(cluster)?.is_some() {
            return Err(Error::AlreadyExists {
                kind: "deployment",
                name: request.name.clone(),
            });
        }
        let params = PatchParams::apply(FIELD_MANAGER)
            .force()
            .validation_strict();
        api.patch(&request.name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| from_kube(e, &request.name))
    }

    /// Deletes a deployment of either kind.
    pub async fn delete(&self, kind: FluxKind, namespace: &str, name: &str) -> Result<()> {
        self.find(kind, namespace, name).await?;
        self.api(kind, namespace)
            .delete(name, &DeleteParams::default())
            .await
            .map_err(|e| from_kube(e, name))?;
        Ok(())
    }

    /// Suspends (with an optional reason, kept as an annotation) or resumes reconciliation,
    /// applying the whole desired object so that it takes `spec.suspend` from no other field
    /// manager unless `force`.
    pub async fn set_suspended(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        suspend: bool,
        reason: Option<&str>,
        force: bool,
    ) -> Result<DynamicObject> {
        let current = self.find(kind, namespace, name).await?;
        let mut desired = desired_state(&current)?;
        desired["spec"]["suspend"] = json!(suspend);
        match (suspend, reason) {
            (true, Some(reason)) => {
                desired["metadata"]["annotations"][SUSPEND_REASON] = json!(reason);
            }
            _ => {
                if let Some(annotations) = desired["metadata"]["annotations"].as_object_mut() {
                    annotations.remove(SUSPEND_REASON);
                }
            }
        }
        self.apply(kind, namespace, name, desired, force).await
    }

    /// Asks Flux to reconcile now, as `flux reconcile` does: sets the requestedAt annotation.
    pub async fn request_reconcile(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        at: &str,
    ) -> Result<DynamicObject> {
        self.find(kind, namespace, name).await?;
        let patch = json!({ "metadata": { "annotations": { REQUESTED_AT: at } } });
        self.api(kind, namespace)
            .patch(name, &merge_params(), &Patch::Merge(patch))
            .await
            .map_err(|e| from_kube(e, name))
    }

    /// Changes values, chart version or other extensions, re-applying the whole desired object
    /// under the pilothouse field manager (a partial apply would drop the fields it owns).
    pub async fn update(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        update: &DeploymentUpdate,
        force: bool,
    ) -> Result<DynamicObject> {
        let current = self.find(kind, namespace, name).await?;
        let mut desired = desired_state(&current)?;
        apply_update(kind, &mut desired, update)?;
        if let Some(version) = &update.resource_version {
            // The API server refuses the apply with 409 when the object moved on since.
            desired["metadata"]["resourceVersion"] = json!(version);
        }
        self.apply(kind, namespace, name, desired, force).await
    }

    /// Server-side applies a whole desired object under the pilothouse field manager. Without
    /// `force`, a field another manager owns with another value is a conflict naming it.
    pub(crate) async fn apply(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        desired: Value,
        force: bool,
    ) -> Result<DynamicObject> {
        let mut params = PatchParams::apply(FIELD_MANAGER).validation_strict();
        if force {
            params = params.force();
        }
        self.api(kind, namespace)
            .patch(name, &params, &Patch::Apply(desired))
            .await
            .map_err(|e| from_kube(e, name))
    }

    /// Merges `patch` into any Flux object (sources included), e.g. annotations or a ref.
    pub(crate) async fn merge(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        patch: Value,
    ) -> Result<DynamicObject> {
        self.api(kind, namespace)
            .patch(name, &merge_params(), &Patch::Merge(patch))
            .await
            .map_err(|e| match e {
                kube::Error::Api(s) if s.code == 404 => {
                    Error::not_found(kind_noun(kind), format!("{namespace}/{name}"))
                }
                other => from_kube(other, name),
            })
    }

    /// Sets the replica count in a HelmRelease's values: `replicaCount`, or the dotted path
    /// named by the `flux.replicasPath` extension.
    pub async fn scale(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        replicas: u32,
        path: Option<&str>,
        force: bool,
    ) -> Result<DynamicObject> {
        let current = self.find(kind, namespace, name).await?;
        if kind != HELM_RELEASE {
            return Err(Error::invalid(
                "replicas",
                "only HelmReleases scale here; a Kustomization's replicas live in its source repository",
            ));
        }
        let mut values = current
            .data
            .pointer("/spec/values")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        set_path(&mut values, path.unwrap_or("replicaCount"), json!(replicas))?;
        self.update(
            kind,
            namespace,
            name,
            &DeploymentUpdate {
                values: Some(values),
                ..DeploymentUpdate::default()
            },
            force,
        )
        .await
    }

    /// The deployment, read from the API server (writes need the latest).
    pub(crate) async fn find(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
    ) -> Result<DynamicObject> {
        self.api(kind, namespace)
            .get_opt(name)
            .await
            .map_err(cluster)?
            .ok_or_else(|| Error::not_found("deployment", name))
    }
}

/// Merge patches (annotations, suspend, source pins) carry the same field manager as the
/// applies; a partial apply would drop the fields the full applies own.
fn merge_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// How errors name a kind: deployments by their name, sources as "source".
fn kind_noun(kind: FluxKind) -> &'static str {
    if kind == HELM_RELEASE || kind == KUSTOMIZATION {
        "deployment"
    } else {
        "source"
    }
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
fn apply_update(kind: FluxKind, desired: &mut Value, update: &DeploymentUpdate) -> Result<()> {
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

pub(crate) use crate::adapters::cluster_error as cluster;

/// The API server's answer as a control error: 404 and 409 keep their meaning, 422 names the
/// field, anything else means the cluster could not do it.
pub(crate) fn from_kube(error: kube::Error, name: &str) -> Error {
    match &error {
        kube::Error::Api(status) if status.code == 404 => Error::not_found("deployment", name),
        kube::Error::Api(status) if status.code == 409 && !owners(status).is_empty() => {
            Error::OwnedElsewhere(owned_elsewhere(&owners(status)))
        }
        kube::Error::Api(status) if status.code == 409 => Error::Conflict(format!(
            "{name} was changed by someone else since it was read; reload it and make the change again ({})",
            status.message
        )),
        kube::Error::Api(status) if status.code == 422 => {
            Error::invalid("spec", status.message.clone())
        }
        _ => cluster(error),
    }
}

/// The (manager, field) pairs of a server-side apply conflict.
fn owners(status: &kube::core::Status) -> Vec<(String, String)> {
    status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .filter(|c| c.reason == "FieldManagerConflict")
        .map(|c| {
            let manager = c
                .message
                .split('"')
                .nth(1)
                .unwrap_or("another field manager")
                .to_owned();
            (manager, c.field.trim_start_matches('.').to_owned())
        })
        .collect()
}

/// What a conflict means for the user, and what to do: Flux's controllers apply what the
/// source holds, so a change to their fields would be reverted.
fn owned_elsewhere(owners: &[(String, String)]) -> String {
    let mut by_manager: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (manager, field) in owners {
        by_manager.entry(manager).or_default().push(field);
    }
    let parts: Vec<String> = by_manager
        .into_iter()
        .map(|(manager, fields)| {
            let why = match manager {
                "kustomize-controller" => {
                    "applies this from Git, so its next reconciliation would revert the change"
                }
                "helm-controller" => {
                    "manages this, so its next reconciliation would revert the change"
                }
                _ => "manages this field",
            };
            format!(
                "{} {}: {manager} {why}",
                if fields.len() == 1 { "field" } else { "fields" },
                fields.join(", ")
            )
        })
        .collect();
    format!(
        "{}. Change it where that manager takes it from, or repeat with force to take it over.",
        parts.join("; ")
    )
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
