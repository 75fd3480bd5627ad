//! The Flux installation as `flux check` sees it, and the objects that have not been well for
//! too long: not Ready for more than three of their intervals, or suspended for longer than
//! `flux.suspendedWarnAfter`.

use super::super::adapter::FluxAdapter;
use super::super::config::parse_duration;
use super::super::kinds::{self, FluxKind};
use super::super::writes::SUSPENDED_AT;
use super::text;
use control_core::Namespaces;
use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use model::flux::{ControllerCheck, FluxCheck, StuckObject};
use model::reference::{ClusterId, DeploymentRef};
use serde_json::Value;
use std::time::Duration;

/// The controllers a full Flux installation runs, in `flux check`'s order.
pub const CONTROLLERS: [&str; 6] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
];

/// How many stuck objects the check lists (longest first).
const STUCK_SHOWN: usize = 200;

/// The check, with the installation's parts when `installation` (platform-admins).
pub(super) async fn check(
    adapter: &FluxAdapter,
    visible: &Namespaces,
    installation: bool,
) -> FluxCheck {
    let mut report = FluxCheck {
        cluster: adapter.cluster.to_string(),
        missing_families: control_core::adapters::Toolkit::missing_families(adapter),
        ..FluxCheck::default()
    };
    if installation {
        match super::super::health::crds(&adapter.client).await {
            Ok(crds) => report.crds = crds,
            Err(error) => report
                .errors
                .push(format!("the Flux CRDs could not be read: {error}")),
        }
        match controllers(adapter).await {
            Ok(found) => report.controllers = found,
            Err(error) => report.errors.push(error),
        }
        report.lockdown = Some(
            super::super::controllers::lockdown(&adapter.client, &adapter.config.namespace).await,
        );
    }
    let now = chrono::Utc::now();
    report.stuck = stuck(adapter, visible, now, adapter.config.suspended_warn_after);
    report.ok = report.errors.is_empty()
        && report.stuck.is_empty()
        && report.crds.iter().all(|c| c.ok || !c.required)
        && report
            .controllers
            .iter()
            .filter(|c| c.installed)
            .all(|c| c.ok);
    report
}

/// The controllers' Deployments in `flux.namespace`.
async fn controllers(adapter: &FluxAdapter) -> Result<Vec<ControllerCheck>, String> {
    let namespace = &adapter.config.namespace;
    let api: Api<Deployment> = Api::namespaced(adapter.client.clone(), namespace);
    let mut found = Vec::new();
    for name in CONTROLLERS {
        let deployment = api.get_opt(name).await.map_err(|e| {
            format!(
                "the controllers in {namespace} could not be read: {}",
                control_core::adapters::cluster_error(e)
            )
        })?;
        found.push(controller(name, deployment.as_ref()));
    }
    Ok(found)
}

fn controller(name: &str, deployment: Option<&Deployment>) -> ControllerCheck {
    let Some(deployment) = deployment else {
        return ControllerCheck {
            name: name.to_owned(),
            installed: false,
            ready_replicas: 0,
            replicas: 0,
            image: None,
            version: None,
            ok: false,
        };
    };
    let containers = deployment
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let image = containers
        .iter()
        .find(|c| c.name == "manager")
        .or(containers.first())
        .and_then(|c| c.image.clone());
    let version = image.as_deref().and_then(|i| {
        let bare = i.split('@').next().unwrap_or(i);
        let tag = bare.rsplit_once(':').map(|(_, tag)| tag)?;
        (!tag.contains('/')).then(|| tag.to_owned())
    });
    let replicas = deployment.spec.replicas.unwrap_or(1);
    let ready_replicas = deployment
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    ControllerCheck {
        name: name.to_owned(),
        installed: true,
        ready_replicas,
        replicas,
        image,
        version,
        ok: ready_replicas >= replicas && replicas > 0,
    }
}

/// The deployments and toolkit objects in `visible` stuck as of `now`, longest first.
fn stuck(
    adapter: &FluxAdapter,
    visible: &Namespaces,
    now: chrono::DateTime<chrono::Utc>,
    suspended_after: Duration,
) -> Vec<StuckObject> {
    let cluster = adapter.cache.cluster();
    let mut found: Vec<StuckObject> = kinds::all()
        .filter(|kind| adapter.cache.serves(*kind))
        .flat_map(|kind| {
            adapter
                .cache
                .objects(kind)
                .into_iter()
                .map(move |o| (kind, o))
        })
        .filter(|(_, o)| visible.contains_in(cluster, &o.namespace().unwrap_or_default()))
        .filter_map(|(kind, object)| assess(cluster, kind, &object, now, suspended_after))
        .collect();
    found.sort_by(|a, b| b.for_seconds.cmp(&a.for_seconds).then(a.name.cmp(&b.name)));
    found.truncate(STUCK_SHOWN);
    found
}

/// Whether one object is stuck, and for how long.
pub(super) fn assess(
    cluster: &ClusterId,
    kind: FluxKind,
    object: &DynamicObject,
    now: chrono::DateTime<chrono::Utc>,
    suspended_after: Duration,
) -> Option<StuckObject> {
    let data = &object.data;
    let ready = data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let since = |at: Option<&str>| -> Option<u64> {
        let at = chrono::DateTime::parse_from_rfc3339(at?).ok()?;
        u64::try_from((now - at.with_timezone(&chrono::Utc)).num_seconds()).ok()
    };
    let suspended = data.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    let (reason, for_seconds) = if suspended {
        // Flux records no suspension time: Pilothouse's own annotation, else the last
        // transition (it was suspended at least that long ago, or later).
        let at = object
            .annotations()
            .get(SUSPENDED_AT)
            .map(String::as_str)
            .or_else(|| ready.and_then(|r| r["lastTransitionTime"].as_str()));
        let seconds = since(at)?;
        (seconds > suspended_after.as_secs()).then_some(("suspended", seconds))?
    } else {
        let ready = ready?;
        if ready["status"] == "True" {
            return None;
        }
        let interval = text(data, "/spec/interval")
            .and_then(|i| parse_duration(&i).ok())
            .unwrap_or(Duration::from_secs(600));
        let seconds = since(ready["lastTransitionTime"].as_str())?;
        (seconds > 3 * interval.as_secs()).then_some(("not-ready", seconds))?
    };
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let deployment_id = kinds::DEPLOYMENTS
        .contains(&kind)
        .then(|| DeploymentRef::id_text(cluster, &namespace, kinds::deployment_kind(kind), &name));
    Some(StuckObject {
        kind: kind.kind.to_owned(),
        namespace,
        name,
        reason: reason.to_owned(),
        for_seconds,
        message: ready
            .and_then(|r| r["message"].as_str())
            .unwrap_or_default()
            .to_owned(),
        deployment_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(spec: Value, status: Value, annotations: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": { "name": "shop", "namespace": "team-a", "annotations": annotations },
            "spec": spec, "status": status,
        }))
        .expect("object")
    }

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn not_ready_for_three_intervals_is_stuck_and_less_is_not() {
        let cluster = ClusterId::default();
        let failing = object(
            json!({ "interval": "1m", "url": "https://example.com/x" }),
            json!({ "conditions": [{ "type": "Ready", "status": "False", "reason": "GitOperationFailed",
                "message": "auth failed", "lastTransitionTime": "2026-12-07T10:00:00Z" }] }),
            json!({}),
        );
        let week = Duration::from_secs(7 * 86_400);
        let kind = kinds::GIT_REPOSITORY;
        assert!(assess(&cluster, kind, &failing, at("2026-12-07T10:02:59Z"), week).is_none());
        let stuck =
            assess(&cluster, kind, &failing, at("2026-12-07T10:03:01Z"), week).expect("stuck");
        assert_eq!(
            (stuck.reason.as_str(), stuck.for_seconds),
            ("not-ready", 181)
        );
        assert_eq!(stuck.message, "auth failed");
        assert_eq!(stuck.deployment_id, None);
    }

    #[test]
    fn suspended_longer_than_the_setting_is_stuck_from_when_pilothouse_suspended_it() {
        let cluster = ClusterId::default();
        let suspended = object(
            json!({ "interval": "1m", "suspend": true }),
            json!({ "conditions": [{ "type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z" }] }),
            json!({ SUSPENDED_AT: "2026-12-01T00:00:00Z" }),
        );
        let day = Duration::from_secs(86_400);
        let kind = kinds::GIT_REPOSITORY;
        let stuck =
            assess(&cluster, kind, &suspended, at("2026-12-03T00:00:00Z"), day).expect("stuck");
        assert_eq!(
            (stuck.reason.as_str(), stuck.for_seconds),
            ("suspended", 2 * 86_400)
        );
        assert!(assess(&cluster, kind, &suspended, at("2026-12-01T12:00:00Z"), day).is_none());
    }
}
