//! Helm values as JSON maps: setting a dotted path such as `controller.replicaCount`.

use crate::{Error, Result};
use serde_json::{Map, Value, json};

/// Sets `a.b.c` in a values map, creating objects on the way.
pub fn set_path(
    values: &mut serde_json::Map<String, Value>,
    path: &str,
    value: Value,
) -> Result<()> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty() || p.len() > 253) {
        return Err(Error::invalid(
            "path",
            format!("{path:?} is not a dotted values path"),
        ));
    }
    let (last, parents) = parts
        .split_last()
        .ok_or_else(|| Error::invalid("path", "is empty"))?;
    let mut node = values;
    for part in parents {
        let child = node.entry((*part).to_owned()).or_insert_with(|| json!({}));
        if !child.is_object() {
            return Err(Error::invalid(
                "path",
                format!("{part} in {path} is not an object in the values"),
            ));
        }
        node = child
            .as_object_mut()
            .ok_or_else(|| Error::invalid("path", "is not an object"))?;
    }
    node.insert((*last).to_owned(), value);
    Ok(())
}

/// Sets `replicaCount` (or a dotted path) in a copy of `values`.
pub fn with_replicas(
    values: &Map<String, Value>,
    replicas: u32,
    path: Option<&str>,
) -> Result<Map<String, Value>> {
    let mut values = values.clone();
    set_path(&mut values, path.unwrap_or("replicaCount"), json!(replicas))?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_paths_are_set_and_checked() {
        let mut values = serde_json::Map::new();
        set_path(&mut values, "controller.replicaCount", json!(3)).unwrap();
        assert_eq!(
            Value::Object(values.clone()),
            json!({ "controller": { "replicaCount": 3 } })
        );
        values.insert("flat".into(), json!(1));
        for path in ["flat.deeper", "a..b"] {
            assert!(
                matches!(
                    set_path(&mut values, path, json!(2)),
                    Err(Error::Invalid { field: "path", .. })
                ),
                "{path}"
            );
        }
    }
}
