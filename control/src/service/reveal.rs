//! Secrets in what people read: a deployment's YAML and values come back with Secret data
//! replaced by its size and secret-looking values by `[REDACTED]` (the audit log's rule).
//! Operators and admins may ask for them whole with `reveal`, which is authorized as
//! `deployment.reveal` and recorded. Values edited from a redacted view keep the secrets they
//! did not change: a `[REDACTED]` left in place stands for the value that is there now.

use super::{RequestContext, Service};
use crate::Result;
use crate::access::Action;
use crate::audit::redact::{REDACTED, redact_for_reading};
use model::reference::DeploymentRef;
use serde_json::{Map, Value, json};

impl Service {
    /// Authorizes and records a reveal of `deployment`'s secrets (operators and admins).
    pub(super) async fn record_reveal(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        what: &'static str,
    ) -> Result<()> {
        let (_, mut target, _) = self
            .namespaced(
                ctx,
                Action::DeploymentReveal,
                &deployment.namespace_ref(),
                Some(deployment.name()),
                json!({ "reveal": what }),
            )
            .await?;
        target.kind = Some(deployment.kind().as_str());
        self.audited(ctx, Action::DeploymentReveal, &target, async |_| Ok(()))
            .await
    }
}

/// A multi-document YAML text with every document redacted for reading; a document that is
/// not YAML is left out and said so, rather than shown unredacted.
pub(super) fn redacted_yaml(text: &str) -> String {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let parsed: std::result::Result<Value, _> = serde::Deserialize::deserialize(document);
        match parsed {
            Ok(Value::Null) => {}
            Ok(mut value) => {
                redact_for_reading(&mut value);
                documents.push(serde_yaml::to_string(&value).unwrap_or_default());
            }
            Err(_) => documents.push("# (a document that could not be read was left out)\n".into()),
        }
    }
    documents.join("---\n")
}

/// Values redacted for reading.
pub(super) fn redacted_values(values: &Map<String, Value>) -> Map<String, Value> {
    let mut value = Value::Object(values.clone());
    redact_for_reading(&mut value);
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Values with every `[REDACTED]` left where a value runs now put back: what a user read
/// redacted and sent back unchanged stays as it is.
pub(super) fn restored(
    proposed: Map<String, Value>,
    current: &Map<String, Value>,
) -> Map<String, Value> {
    let mut value = Value::Object(proposed);
    restore_redacted(&mut value, &Value::Object(current.clone()));
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `proposed` with every `[REDACTED]` that stands where `current` has a value replaced by that
/// value: an edit made from a redacted view keeps the secrets it did not touch.
fn restore_redacted(proposed: &mut Value, current: &Value) {
    match (proposed, current) {
        (Value::Object(proposed), Value::Object(current)) => {
            for (key, value) in proposed.iter_mut() {
                if let Some(was) = current.get(key) {
                    restore_redacted(value, was);
                }
            }
        }
        (Value::Array(proposed), Value::Array(current)) => {
            for (value, was) in proposed.iter_mut().zip(current) {
                restore_redacted(value, was);
            }
        }
        (value @ Value::String(_), was) if value.as_str() == Some(REDACTED) => {
            *value = was.clone();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_view_edited_keeps_its_secrets() {
        let current = json!({ "db": { "password": "hunter2", "host": "a" }, "replicas": 1 });
        let mut shown = redacted_values(current.as_object().expect("map"));
        assert_eq!(shown["db"]["password"], REDACTED);
        shown.insert("replicas".into(), json!(3));
        shown["db"]["host"] = json!("b");
        let shown = restored(shown, current.as_object().expect("map"));
        assert_eq!(
            Value::Object(shown),
            json!({ "db": { "password": "hunter2", "host": "b" }, "replicas": 3 })
        );
        let yaml = redacted_yaml(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: aHVudGVyMg==\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  apiKey: k\n  color: blue\n",
        );
        assert!(yaml.contains("password: '[REDACTED: 7 bytes]'"), "{yaml}");
        assert!(!yaml.contains("aHVudGVyMg=="), "{yaml}");
        assert!(
            yaml.contains("apiKey: '[REDACTED]'") && yaml.contains("color: blue"),
            "{yaml}"
        );
    }
}
