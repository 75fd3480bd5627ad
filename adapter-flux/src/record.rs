//! Pilothouse's record of the HelmRelease values it applied, keyed by helm-controller's values
//! digest, so that a rollback can restore the values of an earlier revision: Flux's
//! `status.history` keeps only their digest.

use control_core::Result;
use control_core::adapters::records::AppliedSpecs;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The values applied to HelmReleases, kept by the control plane's store.
#[derive(Debug, Clone)]
pub struct SpecRecord {
    specs: Arc<dyn AppliedSpecs>,
}

impl SpecRecord {
    /// The record kept in `specs`.
    pub fn new(specs: Arc<dyn AppliedSpecs>) -> Self {
        Self { specs }
    }

    /// Remembers the values (and chart version) just applied to a HelmRelease.
    pub async fn remember(
        &self,
        namespace: &str,
        name: &str,
        chart_version: Option<&str>,
        values: &Map<String, Value>,
    ) -> Result<()> {
        let digest = config_digest(values);
        self.specs
            .remember(namespace, name, &digest, chart_version, values)
            .await
    }

    /// The values whose digest is `digest`, as last applied to this HelmRelease.
    pub async fn values_for(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
    ) -> Result<Option<Map<String, Value>>> {
        self.specs.values_for(namespace, name, digest).await
    }
}

/// helm-controller's `configDigest`: SHA-256 over Go's JSON encoding of the values (sorted
/// keys, `<`, `>` and `&` escaped, a trailing newline); no values digest as no input.
pub fn config_digest(values: &Map<String, Value>) -> String {
    let mut hasher = Sha256::new();
    if !values.is_empty() {
        let text = sorted(&Value::Object(values.clone()))
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        hasher.update(text.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// The value with every object's keys in order, as Go's encoder writes maps (whatever order
/// serde_json's map keeps).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digest_follows_go_json_encoding() {
        let values = json!({ "b": 1, "a": "<x&y>" });
        let Value::Object(map) = values else {
            unreachable!()
        };
        let mut hasher = Sha256::new();
        hasher.update(br#"{"a":"\u003cx\u0026y\u003e","b":1}"#);
        hasher.update(b"\n");
        assert_eq!(
            config_digest(&map),
            format!("sha256:{}", hex::encode(hasher.finalize()))
        );
        assert_eq!(
            config_digest(&Map::new()),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
