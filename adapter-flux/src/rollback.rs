//! Rollback that really restores: a HelmRelease gets an earlier revision's chart version and
//! recorded values; a Kustomization's source is pinned to an earlier revision. When a
//! Kustomization applies the changed object itself, it is suspended so that it does not undo
//! the rollback.

use super::adapter::FluxAdapter;
use super::history::{describe_ref, pinned_ref, revisions, target};
use super::kinds::{FluxKind, HELM_RELEASE, KUSTOMIZATION};
use super::reconcile::now_token;
use super::record::config_digest;
use super::spec::desired_state;
use super::trace::owner;
use super::writes::REQUESTED_AT;
use control_core::adapters::context::WriteCtx;
use control_core::{Error, Result};
use kube::api::DynamicObject;
use model::deployment::RollbackOutcome;
use model::reference::DeploymentRef;
use serde_json::{Map, Value, json};

/// Where a pinned source keeps the ref it had before, so that unpinning restores it.
pub const PINNED_FROM: &str = "pilothouse.dev/pinned-from";

impl FluxAdapter {
    /// Pins a Kustomization's source to `revision` (or, when it is empty, restores the ref
    /// it had before it was pinned). Returns the source and what its ref was.
    pub(super) async fn pin_source(
        &self,
        ctx: &WriteCtx,
        kustomization: &DynamicObject,
        revision: &str,
    ) -> Result<(FluxKind, String, String, String)> {
        let (kind, namespace, name) = self.pin_target(ctx, kustomization)?;
        let source = self
            .writer
            .api(kind, &namespace)
            .get_opt(&name)
            .await
            .map_err(super::writes::cluster)?
            .ok_or_else(|| Error::not_found("source", format!("{namespace}/{name}")))?;
        let current = source
            .data
            .pointer("/spec/ref")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let saved = source
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PINNED_FROM))
            .cloned();
        let patch = if revision.is_empty() {
            let Some(saved) = saved else {
                return Err(Error::invalid(
                    "flux.targetRevision",
                    format!(
                        "{} {namespace}/{name} is not pinned by Pilothouse",
                        kind.kind
                    ),
                ));
            };
            let original: Value = serde_json::from_str(&saved)
                .map_err(|e| Error::Conflict(format!("the saved ref cannot be read: {e}")))?;
            let mut reference = Map::new();
            for key in current.as_object().into_iter().flatten().map(|(k, _)| k) {
                reference.insert(key.clone(), Value::Null);
            }
            for (key, value) in original.as_object().into_iter().flatten() {
                reference.insert(key.clone(), value.clone());
            }
            json!({ "metadata": { "annotations": { PINNED_FROM: null } }, "spec": { "ref": reference } })
        } else {
            let pinned = pinned_ref(kind, &current, revision)?;
            let keep = saved.unwrap_or_else(|| current.to_string());
            json!({ "metadata": { "annotations": { PINNED_FROM: keep } }, "spec": { "ref": pinned } })
        };
        self.writer_in(ctx, &namespace)?
            .merge(kind, &namespace, &name, patch)
            .await?;
        Ok((kind, namespace, name, describe_ref(&current)))
    }

    /// The source a pin of `kustomization` would change, once the boundary allows it.
    pub(super) fn pin_target(
        &self,
        ctx: &WriteCtx,
        kustomization: &DynamicObject,
    ) -> Result<(FluxKind, String, String)> {
        let (kind, namespace, name) = Self::source_of(KUSTOMIZATION, kustomization)?;
        // A pin changes the source for everyone who reads it: only the tenant's own.
        self.boundary(ctx)
            .check_source_write("flux.sourceRef", &self.namespace_ref(&namespace)?)?;
        Ok((kind, namespace, name))
    }

    /// The Kustomization that applies `object` (found by the labels kustomize-controller
    /// sets), once the boundary allows suspending it; checked before anything is written.
    fn owner_to_hold(
        &self,
        ctx: &WriteCtx,
        object: &DynamicObject,
    ) -> Result<Option<(String, String)>> {
        match owner(object) {
            Some((kind, namespace, name)) if kind == KUSTOMIZATION => {
                self.boundary(ctx)
                    .check("the owning Kustomization", &self.namespace_ref(&namespace)?)?;
                Ok(Some((namespace, name)))
            }
            _ => Ok(None),
        }
    }

    /// Suspends the Kustomization `owner` so that it does not overwrite what a rollback
    /// changed. Returns `Kind/namespace/name` of what was suspended.
    async fn hold(
        &self,
        ctx: &WriteCtx,
        owner: Option<(String, String)>,
        why: &str,
    ) -> Result<Option<String>> {
        let Some((namespace, name)) = owner else {
            return Ok(None);
        };
        self.writer_in(ctx, &namespace)?
            // The hold is the rollback's own explicit step: it takes spec.suspend over.
            .set_suspended(KUSTOMIZATION, &namespace, &name, true, Some(why), true)
            .await?;
        Ok(Some(format!("Kustomization/{namespace}/{name}")))
    }

    pub(super) async fn rollback_release(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        current: DynamicObject,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        let owner = self.owner_to_hold(ctx, &current)?;
        let history = revisions(HELM_RELEASE, &current.data);
        let wanted = target(name, &history, revision)?;
        let current_values = current
            .data
            .pointer("/spec/values")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let digest = wanted.digest.clone().unwrap_or_default();
        let values = if config_digest(&current_values) == digest {
            current_values
        } else {
            self.record
                .values_for(namespace, name, &digest)
                .await?
                .ok_or_else(|| {
                    Error::Conflict(format!(
                        "revision {} of {name} has values Pilothouse never applied (digest {digest}), so it cannot restore them; roll back with the values at hand or set them with an update",
                        wanted.revision
                    ))
                })?
        };
        let before = current
            .data
            .pointer("/spec/chart/spec/version")
            .and_then(Value::as_str)
            .unwrap_or("the latest")
            .to_owned();
        let mut desired = desired_state(&current)?;
        desired["spec"]["chart"]["spec"]["version"] = json!(wanted.version);
        if values.is_empty() {
            if let Some(spec) = desired["spec"].as_object_mut() {
                spec.remove("values");
            }
        } else {
            desired["spec"]["values"] = Value::Object(values);
        }
        ctx.check_cancelled()?;
        ctx.progress(
            40,
            format!(
                "applying revision {} to {}",
                wanted.revision,
                deployment.describe()
            ),
        );
        let applied = self
            .writer_in(ctx, namespace)?
            // Restoring a revision is the caller's explicit choice: it takes the fields over,
            // and the owning Kustomization is held so it does not put them back.
            .apply(HELM_RELEASE, namespace, name, desired, true)
            .await?;
        self.remember(&applied).await?;
        let why = format!(
            "holds the rollback of HelmRelease {namespace}/{name} to revision {}",
            wanted.revision
        );
        let held = self.hold(ctx, owner, &why).await?;
        let mut explanation = format!(
            "HelmRelease {namespace}/{name} now asks for chart version {} (was {before}) with the values of revision {}; helm-controller upgrades the release to them, and later reconciliations keep them because they are now the object's desired state. Set flux.chartVersion to move on.",
            wanted.version, wanted.revision
        );
        if let Some(held) = &held {
            explanation.push_str(&format!(
                " Its spec is applied by {held}, which would put the old spec back on its next reconciliation, so Pilothouse suspended it; resume it once its source holds the version you want."
            ));
        }
        Ok(RollbackOutcome {
            revision: wanted.revision,
            restored: format!(
                "chart version {} and the values of revision {}",
                wanted.version, wanted.revision
            ),
            explanation,
            suspended: held.into_iter().collect(),
        })
    }

    pub(super) async fn rollback_kustomization(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        current: DynamicObject,
        revision: u32,
    ) -> Result<RollbackOutcome> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        let history = revisions(KUSTOMIZATION, &current.data);
        let wanted = target(name, &history, revision)?;
        // Everything the rollback will touch is checked before the first write.
        let (source_kind, source_ns, source_name) = self.pin_target(ctx, &current)?;
        let source = self
            .writer
            .api(source_kind, &source_ns)
            .get_opt(&source_name)
            .await
            .map_err(super::writes::cluster)?
            .ok_or_else(|| Error::not_found("source", format!("{source_ns}/{source_name}")))?;
        let owner = self.owner_to_hold(ctx, &source)?;
        ctx.progress(
            30,
            format!("pinning {} {source_ns}/{source_name}", source_kind.kind),
        );
        let (kind, source_ns, source_name, before) =
            self.pin_source(ctx, &current, &wanted.version).await?;
        let token = now_token();
        for (k, ns, n) in [
            (kind, source_ns.as_str(), source_name.as_str()),
            (KUSTOMIZATION, namespace, name),
        ] {
            self.writer_in(ctx, ns)?
                .merge(
                    k,
                    ns,
                    n,
                    json!({ "metadata": { "annotations": { REQUESTED_AT: token } } }),
                )
                .await?;
        }
        let boundary = self.boundary(ctx);
        let sharing: Vec<String> = self
            .cache
            .objects(KUSTOMIZATION)
            .iter()
            .filter(|k| {
                k.metadata.name.as_deref() != Some(name)
                    || k.metadata.namespace.as_deref() != Some(namespace)
            })
            .filter(|k| {
                Self::source_of(KUSTOMIZATION, k)
                    .is_ok_and(|(sk, sns, sn)| sk == kind && sns == source_ns && sn == source_name)
            })
            // Only what the caller may see is named: a tenant is not told which Kustomizations
            // of other tenants read a shared source.
            .filter(|k| {
                let namespace = k.metadata.namespace.as_deref().unwrap_or_default();
                self.namespace_ref(namespace)
                    .is_ok_and(|ns| boundary.check("sharing", &ns).is_ok())
            })
            .map(|k| {
                format!(
                    "{}/{}",
                    k.metadata.namespace.as_deref().unwrap_or_default(),
                    k.metadata.name.as_deref().unwrap_or_default()
                )
            })
            .collect();
        let why = format!(
            "holds the pin of {} {source_ns}/{source_name} for the rollback of Kustomization {namespace}/{name}",
            kind.kind
        );
        let held = self.hold(ctx, owner, &why).await?;
        let mut explanation = format!(
            "{} {source_ns}/{source_name} is pinned to {} (it followed {before}); Kustomization {namespace}/{name} applies that revision now, and every later reconciliation applies it again because the source no longer moves. Clear flux.targetRevision with an update to follow {before} again.",
            kind.kind, wanted.version
        );
        if !sharing.is_empty() {
            explanation.push_str(&format!(
                " The same source feeds {}, which move to that revision too.",
                sharing.join(", ")
            ));
        }
        if let Some(held) = &held {
            explanation.push_str(&format!(" The source itself is applied by {held}, which would undo the pin, so Pilothouse suspended it."));
        }
        Ok(RollbackOutcome {
            revision: wanted.revision,
            restored: format!("source revision {}", wanted.version),
            explanation,
            suspended: held.into_iter().collect(),
        })
    }
}
