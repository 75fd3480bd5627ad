//! Writing Flux objects: create from a DeploymentRequest (server-side apply under a fixed field
//! manager), delete, suspend and resume, and reconcile requests. Reads stay in the cache;
//! what the objects look like is in `spec`.

use super::config::FluxConfig;
use super::kinds::{FluxKind, HELM_RELEASE, KUSTOMIZATION};
use super::lockdown::Lockdown;
use super::spec::{apply_update, build, desired_state};
use control_core::adapters::values::set_path;
use control_core::{Error, Result};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use model::deployment::{DeploymentRequest, DeploymentUpdate};
use serde_json::{Value, json};

/// The field manager of every write Pilothouse makes.
pub const FIELD_MANAGER: &str = "pilothouse";
/// The annotation that asks Flux to reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// Where the reason for a suspension is kept.
pub const SUSPEND_REASON: &str = "pilothouse.dev/suspend-reason";
/// When Pilothouse suspended the object, RFC 3339 (Flux records no such time; the health
/// check warns about objects suspended for long).
pub const SUSPENDED_AT: &str = "pilothouse.dev/suspended-at";

/// Writes Flux objects through the API server.
#[derive(Clone)]
pub struct FluxWriter {
    client: Client,
    settings: FluxConfig,
    lockdown: Option<Lockdown>,
}

impl FluxWriter {
    /// A writer using `client`.
    pub fn new(client: Client, settings: FluxConfig) -> Self {
        Self {
            client,
            settings,
            lockdown: None,
        }
    }

    /// The same writer acting through `client` (one impersonating the tenant of the namespace
    /// written to), holding every object it applies to `lockdown` when a tenant writes.
    pub fn acting_as(&self, client: Client, lockdown: Option<Lockdown>) -> Self {
        Self {
            client,
            settings: self.settings.clone(),
            lockdown,
        }
    }

    /// Refuses `object` when it breaks the lockdown, before anything else is looked up, so a
    /// tenant learns nothing from the answer about what exists outside its namespaces.
    pub fn check(&self, kind: FluxKind, object: &Value) -> Result<()> {
        self.locked_down(kind, &mut object.clone())
    }

    fn locked_down(&self, kind: FluxKind, object: &mut Value) -> Result<()> {
        match &self.lockdown {
            Some(lockdown) => lockdown.enforce(kind, object),
            None => Ok(()),
        }
    }

    pub(crate) fn api(&self, kind: FluxKind, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &kind.api_resource())
    }

    /// Creates the HelmRelease or Kustomization a request describes.
    pub async fn create(&self, request: &DeploymentRequest) -> Result<DynamicObject> {
        let (kind, mut object) = build(request, &self.settings)?;
        self.locked_down(kind, &mut object)?;
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

    /// Creates a toolkit object: held to the lockdown, refused when one of that name exists,
    /// applied with strict field validation (the API server checks it against the CRD).
    pub async fn create_object(&self, kind: FluxKind, mut object: Value) -> Result<DynamicObject> {
        self.locked_down(kind, &mut object)?;
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let api = self.api(kind, &namespace);
        if api.get_opt(&name).await.map_err(cluster)?.is_some() {
            return Err(Error::AlreadyExists {
                kind: "object",
                name,
            });
        }
        let params = PatchParams::apply(FIELD_MANAGER)
            .force()
            .validation_strict();
        api.patch(&name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| from_kube(e, &name))
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
        if suspend {
            desired["metadata"]["annotations"][SUSPENDED_AT] = json!(suspended_at(&current));
        } else if let Some(annotations) = desired["metadata"]["annotations"].as_object_mut() {
            annotations.remove(SUSPENDED_AT);
        }
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

    /// Sets `spec.suspend` of a toolkit object with a merge patch, keeping when it was first
    /// suspended.
    pub async fn set_toolkit_suspended(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        suspend: bool,
    ) -> Result<DynamicObject> {
        let current = self.find(kind, namespace, name).await?;
        let at = if suspend {
            json!(suspended_at(&current))
        } else {
            Value::Null
        };
        let patch = json!({
            "metadata": { "annotations": { SUSPENDED_AT: at } },
            "spec": { "suspend": suspend },
        });
        self.merge(kind, namespace, name, patch).await
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
        let Some(version) = &update.resource_version else {
            return self.apply(kind, namespace, name, desired, force).await;
        };
        // The API server refuses the apply with 409 when the object moved on since.
        desired["metadata"]["resourceVersion"] = json!(version);
        match self.apply(kind, namespace, name, desired, force).await {
            Err(Error::Conflict(_)) => Err(Error::Stale(format!(
                "{name} changed since version {version} was read (it is at {}); reload it and make the change again",
                current
                    .metadata
                    .resource_version
                    .as_deref()
                    .unwrap_or("a newer version")
            ))),
            other => other,
        }
    }

    /// Server-side applies a whole desired object under the pilothouse field manager. Without
    /// `force`, a field another manager owns with another value is a conflict naming it.
    pub(crate) async fn apply(
        &self,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        mut desired: Value,
        force: bool,
    ) -> Result<DynamicObject> {
        self.locked_down(kind, &mut desired)?;
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

pub(crate) use control_core::adapters::cluster_error as cluster;

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

/// When the object was suspended: kept from an earlier suspension, else now.
fn suspended_at(current: &DynamicObject) -> String {
    let already = current
        .data
        .pointer("/spec/suspend")
        .and_then(Value::as_bool)
        == Some(true);
    current
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SUSPENDED_AT))
        .filter(|_| already)
        .cloned()
        .unwrap_or_else(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}
