//! Applying the four patch types kube clients send: JSON merge (RFC 7386), strategic merge
//! (merge, with lists of named objects merged by name, which covers the objects involved),
//! JSON patch (RFC 6902), and server-side apply (merge of the applied configuration).

use crate::error::ApiError;
use serde_json::Value;

/// The patch types by Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// application/merge-patch+json
    Merge,
    /// application/strategic-merge-patch+json
    Strategic,
    /// application/json-patch+json
    Json,
    /// application/apply-patch+yaml
    Apply,
}

impl PatchKind {
    /// The patch type for a Content-Type header.
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        match essence {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/json-patch+json" => Ok(Self::Json),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(Self::Apply),
            other => Err(ApiError {
                code: 415,
                reason: "UnsupportedMediaType",
                message: format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {other:?}"
                ),
                details: None,
            }),
        }
    }
}

/// Applies `patch` (already parsed) to `target` in place.
pub fn apply(kind: PatchKind, target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    match kind {
        PatchKind::Merge => {
            json_patch::merge(target, patch);
            Ok(())
        }
        PatchKind::Strategic | PatchKind::Apply => {
            strategic_merge(target, patch);
            Ok(())
        }
        PatchKind::Json => {
            let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(target, &operations).map_err(|e| ApiError {
                code: 422,
                reason: "Invalid",
                message: format!("the JSON patch cannot be applied: {e}"),
                details: None,
            })
        }
    }
}

/// Merge, except that lists whose items all carry a `name` merge item by item.
fn strategic_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else if let Some(existing) = target.get_mut(key) {
                    strategic_merge(existing, value);
                } else {
                    target.insert(key.clone(), value.clone());
                }
            }
        }
        (Value::Array(target), Value::Array(patch)) if all_named(target) && all_named(patch) => {
            for item in patch {
                let name = item.get("name");
                match target.iter_mut().find(|t| t.get("name") == name) {
                    Some(existing) => strategic_merge(existing, item),
                    None => target.push(item.clone()),
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn all_named(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("name").is_some_and(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_strategic_and_json_patches() {
        let base = json!({ "spec": { "replicas": 1, "containers": [{ "name": "a", "image": "x:1" }, { "name": "b", "image": "y:1" }] } });

        let mut merged = base.clone();
        apply(
            PatchKind::Merge,
            &mut merged,
            &json!({ "spec": { "replicas": 3, "containers": [{ "name": "a", "image": "x:2" }] } }),
        )
        .unwrap();
        assert_eq!(
            merged["spec"]["containers"].as_array().unwrap().len(),
            1,
            "merge patch replaces lists"
        );

        let mut strategic = base.clone();
        apply(
            PatchKind::Strategic,
            &mut strategic,
            &json!({ "spec": { "containers": [{ "name": "a", "image": "x:2" }] } }),
        )
        .unwrap();
        assert_eq!(strategic["spec"]["containers"][0]["image"], "x:2");
        assert_eq!(
            strategic["spec"]["containers"][1]["image"], "y:1",
            "strategic merge keeps other named items"
        );

        let mut patched = base.clone();
        apply(
            PatchKind::Json,
            &mut patched,
            &json!([{ "op": "replace", "path": "/spec/replicas", "value": 5 }]),
        )
        .unwrap();
        assert_eq!(patched["spec"]["replicas"], 5);
        let error = apply(
            PatchKind::Json,
            &mut patched,
            &json!([{ "op": "test", "path": "/spec/replicas", "value": 1 }]),
        )
        .unwrap_err();
        assert_eq!(error.code, 422);
        let unsupported = PatchKind::from_content_type("text/plain").unwrap_err();
        assert_eq!(
            (unsupported.code, unsupported.reason),
            (415, "UnsupportedMediaType")
        );
    }
}
