//! A deployment's revisions from Flux's `status.history`, and the pieces a rollback needs:
//! which revision to restore and how to pin a source to a revision.

use super::kinds::{FluxKind, GIT_REPOSITORY, HELM_RELEASE, OCI_REPOSITORY};
use super::types::DeploymentStatusFields;
use control_core::{Error, Result};
use model::deployment::DeploymentRevision;
use serde_json::{Value, json};

/// The revisions of a HelmRelease or Kustomization, newest first.
pub fn revisions(kind: FluxKind, object: &Value) -> Vec<DeploymentRevision> {
    let status = DeploymentStatusFields::of(object);
    if kind == HELM_RELEASE {
        return status
            .helm_history()
            .into_iter()
            .map(|s| DeploymentRevision {
                revision: s.version,
                status: s.status,
                version: s.chart_version,
                deployed_at: s.last_deployed,
                digest: s.config_digest,
            })
            .collect();
    }
    let history = status.kustomization_history();
    let count = history.len();
    history
        .into_iter()
        .enumerate()
        .map(|(i, s)| DeploymentRevision {
            // Kustomizations number nothing; the oldest kept entry is 1.
            revision: u32::try_from(count - i).unwrap_or(u32::MAX),
            status: if i == 0 { "applied" } else { "superseded" }.to_owned(),
            version: s.metadata.get("revision").cloned().unwrap_or_default(),
            deployed_at: s.last_reconciled,
            digest: s.digest,
        })
        .collect()
}

/// The revision a rollback restores: `revision`, or the one before the current when it is 0.
pub fn target(
    name: &str,
    revisions: &[DeploymentRevision],
    revision: u32,
) -> Result<DeploymentRevision> {
    let current = revisions.first().ok_or_else(|| {
        Error::invalid(
            "revision",
            format!("{name} has no history yet; nothing to roll back to"),
        )
    })?;
    let found = if revision == 0 {
        revisions.get(1).ok_or_else(|| {
            Error::invalid(
                "revision",
                format!("{name} has only its current revision; nothing to roll back to"),
            )
        })?
    } else {
        revisions
            .iter()
            .find(|r| r.revision == revision)
            .ok_or_else(|| {
                let known: Vec<String> = revisions.iter().map(|r| r.revision.to_string()).collect();
                Error::invalid(
                    "revision",
                    format!(
                        "revision {revision} is not in the history of {name}; it keeps {}",
                        known.join(", ")
                    ),
                )
            })?
    };
    if found.revision == current.revision {
        return Err(Error::invalid(
            "revision",
            format!("revision {revision} is the current revision of {name}"),
        ));
    }
    Ok(found.clone())
}

/// The `spec.ref` that pins a Git or OCI source to an artifact revision such as
/// `main@sha1:<hex>` or `1.2.0@sha256:<hex>` (a bare commit or digest works too), keeping
/// the branch or tag so the controller can still fetch it.
pub fn pinned_ref(source: FluxKind, current: &Value, revision: &str) -> Result<Value> {
    let wrong = |why: &str| Error::invalid("flux.targetRevision", format!("{revision:?} {why}"));
    let (name, id) = match revision.rsplit_once('@') {
        Some((name, id)) => (Some(name), id),
        None => (None, revision),
    };
    let mut pinned = current.as_object().cloned().unwrap_or_default();
    if source == GIT_REPOSITORY {
        let hex = id.strip_prefix("sha1:").unwrap_or(id);
        if !(7..=40).contains(&hex.len()) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(wrong("is not a commit (a hex SHA, or branch@sha1:<hex>)"));
        }
        let branch = name.map(|n| n.strip_prefix("refs/heads/").unwrap_or(n));
        if let Some(branch) = branch.filter(|b| !b.is_empty() && !pinned.contains_key("tag")) {
            pinned.insert("branch".into(), json!(branch));
        }
        pinned.insert("commit".into(), json!(hex.to_ascii_lowercase()));
    } else if source == OCI_REPOSITORY {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(wrong(
                "is not an OCI digest (sha256:<64 hex>, or tag@sha256:<hex>)",
            ));
        }
        pinned.insert(
            "digest".into(),
            json!(format!("sha256:{}", hex.to_ascii_lowercase())),
        );
    } else {
        return Err(Error::invalid(
            "flux.targetRevision",
            format!(
                "a {} cannot be pinned to a revision; only GitRepository and OCIRepository sources can",
                source.kind
            ),
        ));
    }
    Ok(Value::Object(pinned))
}

/// Describes a source ref for people: `branch main`, `tag v1.2`, `commit abc1234`.
pub fn describe_ref(reference: &Value) -> String {
    for key in ["commit", "digest", "tag", "semver", "name", "branch"] {
        if let Some(value) = reference.get(key).and_then(Value::as_str) {
            let short = if key == "commit" {
                &value[..value.len().min(12)]
            } else {
                value
            };
            return format!("{key} {short}");
        }
    }
    "its default ref".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{BUCKET, KUSTOMIZATION};

    #[test]
    fn helm_and_kustomize_histories_number_their_revisions() {
        let release = json!({ "status": { "history": [
            { "version": 3, "status": "deployed", "chartVersion": "1.2.0", "configDigest": "sha256:c" },
            { "version": 2, "status": "superseded", "chartVersion": "1.1.0", "configDigest": "sha256:b" },
        ] } });
        let list = revisions(HELM_RELEASE, &release);
        assert_eq!((list[0].revision, list[1].version.as_str()), (3, "1.1.0"));
        assert_eq!(target("web", &list, 0).expect("previous").revision, 2);
        assert_eq!(target("web", &list, 2).expect("two").revision, 2);
        assert!(
            target("web", &list, 3)
                .unwrap_err()
                .to_string()
                .contains("is the current revision")
        );
        assert!(
            target("web", &list, 9)
                .unwrap_err()
                .to_string()
                .contains("keeps 3, 2")
        );
        let kustomization = json!({ "status": { "history": [
            { "metadata": { "revision": "main@sha1:bbbbbbb" } },
            { "metadata": { "revision": "main@sha1:aaaaaaa" } },
        ] } });
        let list = revisions(KUSTOMIZATION, &kustomization);
        assert_eq!((list[0].revision, list[1].revision), (2, 1));
        assert_eq!(
            target("infra", &list, 0).expect("previous").version,
            "main@sha1:aaaaaaa"
        );
        assert!(matches!(
            target("none", &[], 0),
            Err(Error::Invalid {
                field: "revision",
                ..
            })
        ));
    }

    #[test]
    fn sources_pin_to_revisions() {
        let git = pinned_ref(
            GIT_REPOSITORY,
            &json!({ "branch": "main" }),
            "main@sha1:0123456789abcdef0123456789abcdef01234567",
        )
        .expect("git");
        assert_eq!(
            git,
            json!({ "branch": "main", "commit": "0123456789abcdef0123456789abcdef01234567" })
        );
        let oci = pinned_ref(
            OCI_REPOSITORY,
            &json!({ "tag": "latest" }),
            &format!("latest@sha256:{}", "a".repeat(64)),
        )
        .expect("oci");
        assert_eq!(oci["digest"], format!("sha256:{}", "a".repeat(64)));
        for hostile in ["main@sha1:xyz", "--upload-pack=evil", "", "main@sha1:"] {
            assert!(
                matches!(
                    pinned_ref(GIT_REPOSITORY, &json!({}), hostile),
                    Err(Error::Invalid {
                        field: "flux.targetRevision",
                        ..
                    })
                ),
                "{hostile}"
            );
        }
        let bucket = pinned_ref(BUCKET, &json!({}), "sha256:abc").unwrap_err();
        assert!(
            bucket.to_string().contains("a Bucket cannot be pinned"),
            "{bucket}"
        );
        assert_eq!(describe_ref(&json!({ "branch": "main" })), "branch main");
    }
}
