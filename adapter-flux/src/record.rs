//! Pilothouse's record of the HelmRelease values it applied, keyed by helm-controller's values
//! digest, so that a rollback can restore the values of an earlier revision: Flux's
//! `status.history` keeps only their digest.

use control_core::Result;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// The applied-specs table.
#[derive(Debug, Clone)]
pub struct SpecRecord {
    pool: PgPool,
}

impl SpecRecord {
    /// The record in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Remembers the values (and chart version) just applied to a HelmRelease.
    pub async fn remember(
        &self,
        namespace: &str,
        name: &str,
        chart_version: Option<&str>,
        values: &Map<String, Value>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO applied_specs (namespace, name, config_digest, chart_version, values)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(namespace)
        .bind(name)
        .bind(config_digest(values))
        .bind(chart_version)
        .bind(Value::Object(values.clone()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The values whose digest is `digest`, as last applied to this HelmRelease.
    pub async fn values_for(
        &self,
        namespace: &str,
        name: &str,
        digest: &str,
    ) -> Result<Option<Map<String, Value>>> {
        let found: Option<Value> = sqlx::query_scalar(
            "SELECT values FROM applied_specs WHERE namespace = $1 AND name = $2 AND config_digest = $3
             ORDER BY applied_at DESC LIMIT 1",
        )
        .bind(namespace)
        .bind(name)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        }))
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
