//! Flux toolkit objects as a capability: list and read sources, image objects and
//! notification objects, reconcile, suspend or resume one, trace any object to the Flux
//! objects and source behind it, and check the installation as `flux check` does.

mod artifact;
mod build;
mod check;
mod usage;
pub mod view;

use super::adapter::FluxAdapter;
use super::kinds::{self, FluxKind};
use super::reconcile::now_token;
use super::status::{conditions, state_of};
use super::trace;
use super::writes::REQUESTED_AT;
use control_core::Namespaces;
use control_core::adapters::context::WriteCtx;
use control_core::adapters::{Link, ObjectKey, Toolkit};
use control_core::{Error, Result};
use kube::ResourceExt;
use kube::api::DynamicObject;
use model::deployment::{DeploymentStatus, ReconcileOutcome, TraceStep};
use model::flux::{FluxCheck, FluxObject, FluxObjectDetail, NewToolkitObject};
use model::reference::{DeploymentRef, Family, NamespaceRef, ToolkitKind, ToolkitRef};
use serde_json::{Value, json};
use std::sync::Arc;

/// How long a suspend or resume waits for the watch to bring the change, so that the page
/// reloaded after it shows it.
const CAUGHT_UP: std::time::Duration = std::time::Duration::from_secs(5);

impl FluxAdapter {
    /// The cached object a reference names, or 404 (also when its CRD is not served).
    fn cached_toolkit(&self, object: &ToolkitRef) -> Result<(FluxKind, Arc<DynamicObject>)> {
        let kind = kinds::of_toolkit(object.kind);
        let noun = object.kind.family().noun();
        if !self.cache.serves(kind) {
            return Err(Error::not_found(
                noun,
                format!(
                    "{} (the cluster does not serve the {} CRD; install its controller)",
                    object.describe(),
                    super::health::crd_name(kind)
                ),
            ));
        }
        self.cache
            .object(kind, object.namespace.name(), &object.name)
            .map(|found| (kind, found))
            .ok_or_else(|| Error::not_found(noun, object.describe()))
    }
}

impl FluxAdapter {
    /// Refuses a request whose Secret, image repository or provider is not in its namespace,
    /// before anything is written (Flux would only report it later, as not ready).
    async fn require_references(&self, request: &NewToolkitObject) -> Result<()> {
        let namespace = request.namespace();
        if let Some(secret) = build::secret_of(request) {
            let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
                kube::Api::namespaced(self.client.clone(), namespace);
            // Only whether it exists: its data is never read into Pilothouse.
            let found = secrets
                .get_metadata_opt(secret)
                .await
                .map_err(control_core::adapters::cluster_error)?;
            if found.is_none() {
                return Err(Error::invalid(
                    "secretRef",
                    format!("no Secret {secret:?} in {namespace}; create it there first"),
                ));
            }
        }
        let needed = match request {
            NewToolkitObject::Images(policy) => Some((
                kinds::IMAGE_REPOSITORY,
                "imageRepository",
                &policy.image_repository,
            )),
            NewToolkitObject::Notifications(alert) => {
                Some((kinds::PROVIDER, "provider", &alert.provider))
            }
            NewToolkitObject::Sources(_) => None,
        };
        if let Some((kind, field, name)) = needed
            && self.cache.object(kind, namespace, name).is_none()
        {
            return Err(Error::invalid(
                field,
                format!(
                    "no {} {name:?} in {namespace}; create it there first",
                    kind.kind
                ),
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Toolkit for FluxAdapter {
    fn list_toolkit(&self, family: Family, visible: &Namespaces) -> Vec<FluxObject> {
        self.cache.toolkit(family, visible)
    }

    async fn toolkit_detail(
        &self,
        object: &ToolkitRef,
        visible: &Namespaces,
    ) -> Result<FluxObjectDetail> {
        let (kind, found) = self.cached_toolkit(object)?;
        let events =
            super::observe::events(&self.client, kind, object.namespace.name(), &object.name)
                .await?;
        let used_by = usage::used_by(self, object, &found, visible).await;
        Ok(FluxObjectDetail {
            object: view::row(object.kind, &found),
            details: view::details(object.kind, &found.data),
            artifact: view::artifact(&found.data),
            conditions: conditions(&found.data),
            events,
            used_by,
        })
    }

    fn links(&self, visible: &Namespaces) -> Vec<control_core::adapters::Link> {
        super::links::links(&self.cache, visible)
    }

    async fn toolkit_links(&self, visible: &Namespaces) -> Vec<Link> {
        let mut links = Vec::new();
        let policies = usage::policy_images(self, visible);
        if !policies.is_empty() {
            let run = usage::images_run(self, visible).await;
            for (policy, image) in policies {
                for user in run.get(&image).into_iter().flatten() {
                    links.push(Link {
                        needed: policy.clone(),
                        needing: ObjectKey {
                            kind: user.kind.clone(),
                            namespace: user.namespace.clone(),
                            name: user.name.clone(),
                        },
                        relation: "image",
                    });
                }
            }
        }
        for alert in self.cache.objects(kinds::ALERT) {
            let namespace = alert.namespace().unwrap_or_default();
            if !visible.contains_in(&self.cluster, &namespace) {
                continue;
            }
            let needing = ObjectKey {
                kind: "Alert".to_owned(),
                namespace,
                name: alert.name_any(),
            };
            for user in usage::reported_on(self, &alert, visible) {
                links.push(Link {
                    needed: ObjectKey {
                        kind: user.kind,
                        namespace: user.namespace,
                        name: user.name,
                    },
                    needing: needing.clone(),
                    relation: "alert",
                });
            }
        }
        links
    }

    fn remote_chart(
        &self,
        deployment: &DeploymentRef,
    ) -> Result<control_core::adapters::RemoteChart> {
        super::chart::remote_chart(&self.cache, deployment)
    }

    /// Asks the object's controller to reconcile now and waits for the outcome.
    async fn reconcile_toolkit(
        &self,
        ctx: &WriteCtx,
        object: &ToolkitRef,
    ) -> Result<ReconcileOutcome> {
        if !object.kind.reconciles() {
            return Err(Error::invalid(
                "operation",
                format!(
                    "a {} is not reconciled on request; suspend or resume it instead",
                    object.kind
                ),
            ));
        }
        let noun = object.kind.family().noun();
        self.boundary(ctx)
            .check_source_write(noun_field(object.kind), &object.namespace)?;
        self.cached_toolkit(object)?;
        let (namespace, name) = (object.namespace.name(), object.name.as_str());
        let kind = kinds::of_toolkit(object.kind);
        let token = now_token();
        let annotations = json!({ REQUESTED_AT: token });
        let handled = self
            .request_and_wait(ctx, kind, namespace, name, annotations, true)
            .await?;
        let found = match &handled {
            Some(found) => found.clone(),
            None => self
                .cache
                .object(kind, namespace, name)
                .ok_or_else(|| Error::not_found(noun, format!("{namespace}/{name}")))?,
        };
        let state = state_of(&found.data);
        let row = view::row(object.kind, &found);
        // A source's reconcile is a fetch, as `flux reconcile source` words it.
        let done = if object.kind.family() == Family::Sources {
            "fetched"
        } else {
            "reconciled"
        };
        let message = match (&handled, state.status) {
            (None, _) => format!(
                "requested; {name} has not finished within {} s",
                self.config.reconcile_timeout.as_secs()
            ),
            (Some(_), DeploymentStatus::Failed) => {
                format!("{done} with an error: {}", state.message)
            }
            (Some(_), _) => format!("{done}: {}", state.message),
        };
        Ok(ReconcileOutcome {
            finished: handled.is_some(),
            state,
            revision: row.revision,
            message,
        })
    }

    async fn create_toolkit(
        &self,
        ctx: &WriteCtx,
        request: &NewToolkitObject,
    ) -> Result<FluxObject> {
        let kind = request.kind();
        let namespace = self.namespace_ref(request.namespace())?;
        self.boundary(ctx)
            .check_source_write(noun_field(kind), &namespace)?;
        let flux = kinds::of_toolkit(kind);
        if !self.cache.serves(flux) {
            return Err(Error::invalid(
                "kind",
                format!(
                    "the cluster does not serve the {} CRD; install its controller first",
                    super::health::crd_name(flux)
                ),
            ));
        }
        let (flux, object) = build::build(request, &self.config.interval)?;
        let writer = self.writer_in(ctx, namespace.name())?;
        // The lockdown before any lookup: a refusal tells nothing about other namespaces.
        writer.check(flux, &object)?;
        self.require_references(request).await?;
        let created = writer.create_object(flux, object).await?;
        let version = created.metadata.resource_version.as_deref();
        self.cache
            .caught_up(flux, namespace.name(), request.name(), version, CAUGHT_UP)
            .await;
        Ok(view::row(kind, &created))
    }

    async fn secret_names(&self, namespace: &NamespaceRef) -> Result<Vec<String>> {
        let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(self.client.clone(), namespace.name());
        let listed = secrets
            .list_metadata(
                &kube::api::ListParams::default()
                    .fields("type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token"),
            )
            .await
            .map_err(control_core::adapters::cluster_error)?;
        let mut names: Vec<String> = listed
            .items
            .into_iter()
            .filter_map(|s| s.metadata.name)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn artifact(&self, source: &ToolkitRef) -> Result<(String, Vec<u8>)> {
        let (_, found) = self.cached_toolkit(source)?;
        artifact::fetch(self, source, &found).await
    }

    async fn delete_toolkit(&self, ctx: &WriteCtx, object: &ToolkitRef) -> Result<()> {
        self.boundary(ctx)
            .check_source_write(noun_field(object.kind), &object.namespace)?;
        let (kind, _) = self.cached_toolkit(object)?;
        self.writer_in(ctx, object.namespace.name())?
            .delete(kind, object.namespace.name(), &object.name)
            .await
    }

    /// Suspends or resumes a toolkit object.
    async fn set_toolkit_suspended(
        &self,
        ctx: &WriteCtx,
        object: &ToolkitRef,
        suspend: bool,
    ) -> Result<()> {
        if !object.kind.suspends() {
            return Err(Error::invalid(
                "operation",
                format!("a {} has no spec.suspend to set", object.kind),
            ));
        }
        self.boundary(ctx)
            .check_source_write(noun_field(object.kind), &object.namespace)?;
        self.cached_toolkit(object)?;
        let (namespace, name) = (object.namespace.name(), object.name.as_str());
        let kind = kinds::of_toolkit(object.kind);
        let written = self
            .writer_in(ctx, namespace)?
            .set_toolkit_suspended(kind, namespace, name, suspend)
            .await?;
        let version = written.metadata.resource_version.as_deref();
        self.cache
            .caught_up(kind, namespace, name, version, CAUGHT_UP)
            .await;
        Ok(())
    }

    fn missing_families(&self) -> Vec<Family> {
        Family::ALL
            .into_iter()
            .filter(|family| {
                !ToolkitKind::of(*family).any(|k| self.cache.serves(kinds::of_toolkit(k)))
            })
            .collect()
    }

    async fn flux_check(&self, visible: &Namespaces, installation: bool) -> FluxCheck {
        check::check(self, visible, installation).await
    }

    async fn trace(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &NamespaceRef,
        name: &str,
        visible: &Namespaces,
    ) -> Result<Vec<TraceStep>> {
        let readable = |ns: &str| visible.contains_in(&self.cluster, ns);
        trace::trace(
            &self.client,
            api_version,
            kind,
            namespace.name(),
            name,
            readable,
        )
        .await
    }
}

/// The field a boundary refusal names for a kind's family.
fn noun_field(kind: ToolkitKind) -> &'static str {
    match kind.family() {
        Family::Sources => "source",
        Family::Images => "image",
        Family::Notifications => "notification",
    }
}

/// A text at `pointer`.
fn text(data: &Value, pointer: &str) -> Option<String> {
    data.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}
