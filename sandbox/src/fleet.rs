//! A fleet for `cargo xtask bench`: many namespaces of Flux HelmReleases and Kustomizations in
//! mixed states, and Helm release Secrets with several revisions, written straight into the
//! store (seeding 20,000 objects through HTTP would measure the seeding). Needs the Flux CRDs.

use crate::error::ApiError;
use crate::schema::UnknownFields;
use crate::store::{Store, WriteOptions};
use base64::Engine;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use std::io::Write;

/// How big a fleet to make.
#[derive(Debug, Clone, Copy)]
pub struct Fleet {
    /// Namespaces `fleet-000` … .
    pub namespaces: usize,
    /// HelmReleases, and as many Kustomizations, spread evenly over the namespaces.
    pub per_kind: usize,
    /// Helm releases (stored as release Secrets), spread evenly too.
    pub helm_releases: usize,
    /// Revisions kept per Helm release.
    pub revisions: usize,
}

impl Default for Fleet {
    /// The scenario: 10,000 + 10,000 Flux objects in 500 namespaces, 1,000 Helm
    /// releases with 3 revisions each.
    fn default() -> Self {
        Self {
            namespaces: 500,
            per_kind: 10_000,
            helm_releases: 1_000,
            revisions: 3,
        }
    }
}

/// The name of namespace `n` of a fleet.
pub fn namespace(n: usize) -> String {
    format!("fleet-{n:03}")
}

/// Object `i` of a kind is failed when `i % 20 == 0` and reconciling when `i % 20 == 1`;
/// the rest are ready.
fn conditions(i: usize) -> Value {
    let (status, reason, message) = match i % 20 {
        0 => (
            "False",
            "InstallFailed",
            "install retries exhausted: context deadline exceeded",
        ),
        1 => ("Unknown", "Progressing", "reconciliation in progress"),
        _ => ("True", "ReconciliationSucceeded", "applied revision"),
    };
    let mut conditions = vec![json!({ "type": "Ready", "status": status, "reason": reason,
        "message": message, "lastTransitionTime": "2026-12-01T10:00:00Z", "observedGeneration": 1 })];
    if i % 20 == 1 {
        conditions.push(json!({ "type": "Reconciling", "status": "True", "reason": "Progressing",
            "message": message, "lastTransitionTime": "2026-12-01T10:00:00Z", "observedGeneration": 1 }));
    }
    json!({ "observedGeneration": 1, "conditions": conditions })
}

/// Writes the fleet into `store`.
pub fn seed(store: &Store, fleet: Fleet) -> Result<(), ApiError> {
    let status = WriteOptions {
        subresource: Some("status"),
        ..WriteOptions::by("kustomize-controller")
    };
    let options = WriteOptions {
        unknown: UnknownFields::Reject,
        ..WriteOptions::by("kustomize-controller")
    };
    let namespaces = store.resource("", "v1", "namespaces")?;
    let releases = store.resource("helm.toolkit.fluxcd.io", "v2", "helmreleases")?;
    let kustomizations = store.resource("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")?;
    let secrets = store.resource("", "v1", "secrets")?;
    let spaces = fleet.namespaces.max(1);
    for n in 0..spaces {
        store.create(
            &namespaces,
            None,
            json!({ "metadata": { "name": namespace(n) } }),
            options,
        )?;
    }
    for i in 0..fleet.per_kind {
        let ns = namespace(i % spaces);
        let app = format!("app-{:05}", i);
        let release = json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": { "name": app, "labels": { "team": format!("t{}", i % 7) } },
            "spec": { "interval": "10m", "chart": { "spec": { "chart": "web", "version": "1.4.2",
                "sourceRef": { "kind": "HelmRepository", "name": "charts" } } },
                "values": { "replicaCount": 2, "image": { "tag": "1.2.3" } } } });
        let kustomization = json!({ "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": { "name": format!("cfg-{:05}", i), "labels": { "team": format!("t{}", i % 7) } },
            "spec": { "interval": "10m", "path": format!("./apps/{app}"), "prune": true,
                "sourceRef": { "kind": "GitRepository", "name": "fleet" } } });
        for (rt, object) in [(&releases, release), (&kustomizations, kustomization)] {
            let mut created = store.create(rt, Some(&ns), object, options)?;
            created["status"] = conditions(i);
            let name = created
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            store.update(rt, Some(&ns), &name, created, status)?;
        }
    }
    for r in 0..fleet.helm_releases {
        let ns = namespace(r % spaces);
        for version in 1..=fleet.revisions {
            let secret = release_secret(&ns, &format!("svc-{r:04}"), version, fleet.revisions);
            store.create(&secrets, Some(&ns), secret, options)?;
        }
    }
    Ok(())
}

/// A Helm v3 release Secret: the release JSON, gzipped, base64 twice (as helm stores it).
fn release_secret(namespace: &str, name: &str, version: usize, newest: usize) -> Value {
    let manifest =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"
            .repeat(40);
    let b64 = base64::engine::general_purpose::STANDARD;
    let status = if version == newest {
        "deployed"
    } else {
        "superseded"
    };
    let release = json!({ "name": name, "namespace": namespace, "version": version,
        "info": { "status": status, "description": "Upgrade complete", "last_deployed": "2026-12-01T12:00:00Z" },
        "chart": { "metadata": { "name": "web", "version": format!("1.0.{version}") },
                   "templates": [{ "name": "templates/deployment.yaml", "data": b64.encode(&manifest) }] },
        "config": { "replicaCount": 3 }, "manifest": manifest });
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(release.to_string().as_bytes());
    let gzipped = gz.finish().unwrap_or_default();
    json!({ "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": { "name": format!("sh.helm.release.v1.{name}.v{version}"),
                      "labels": { "owner": "helm", "name": name, "version": version.to_string(), "status": status } },
        "data": { "release": b64.encode(b64.encode(gzipped)) } })
}
