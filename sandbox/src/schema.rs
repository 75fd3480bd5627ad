//! Structural-schema checks for custom resources against a CRD's openAPIV3Schema: types,
//! required fields, enums, bounds, int-or-string, preserved unknown fields, pruning (or, with
//! `fieldValidation=Strict`, rejection) of unknown fields, and defaults.

use serde_json::{Map, Value};

/// What to do with fields the schema does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownFields {
    /// Drop them (kube-apiserver's default).
    Prune,
    /// Refuse the object (`fieldValidation=Strict`, as Helm sends).
    Reject,
}

/// Validates `object` in place: applies defaults, prunes or rejects unknown fields, and returns
/// every violation as (field path, message).
pub fn validate(
    object: &mut Value,
    schema: &Value,
    unknown: UnknownFields,
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let Some(map) = object.as_object_mut() else {
        errors.push((String::new(), "must be an object".into()));
        return errors;
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    let required = required_of(schema);
    for key in required {
        if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata") && !map.contains_key(&key) {
            errors.push((key.clone(), "Required value".into()));
        }
    }
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match properties.and_then(|p| p.get(&key)) {
            Some(child_schema) => {
                if let Some(child) = map.get_mut(&key) {
                    check(child, child_schema, &key, unknown, &mut errors);
                }
            }
            None if preserves_unknown(schema) => {}
            None => unknown_field(map, &key, &key, unknown, &mut errors),
        }
    }
    apply_defaults(map, schema);
    errors
}

fn check(
    value: &mut Value,
    schema: &Value,
    path: &str,
    unknown: UnknownFields,
    errors: &mut Vec<(String, String)>,
) {
    // kube-apiserver drops nulls for non-nullable fields rather than failing on them.
    if value.is_null() {
        return;
    }
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            errors.push((
                path.into(),
                format!(
                    "Invalid value: {}: must be an integer or a string",
                    short(value)
                ),
            ));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !type_matches(value, expected)
    {
        errors.push((
            path.into(),
            format!(
                "Invalid value: \"{}\": {path} in body must be of type {expected}: \"{}\"",
                type_name(value),
                type_name(value)
            ),
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(short).collect();
        errors.push((
            path.into(),
            format!(
                "Unsupported value: {}: supported values: {}",
                short(value),
                list.join(", ")
            ),
        ));
    }
    bounds(value, schema, path, errors);
    match value {
        Value::Object(map) => {
            for key in required_of(schema) {
                if !map.contains_key(&key) {
                    errors.push((format!("{path}.{key}"), "Required value".into()));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child_path = format!("{path}.{key}");
                let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
                match child_schema {
                    Some(child_schema) => {
                        if let Some(child) = map.get_mut(&key) {
                            check(child, child_schema, &child_path, unknown, errors);
                        }
                    }
                    None if preserves_unknown(schema)
                        || schema.get("additionalProperties") == Some(&Value::Bool(true)) => {}
                    None if properties.is_none() && schema.get("type").is_none() => {}
                    None => unknown_field(map, &key, &child_path, unknown, errors),
                }
            }
            apply_defaults(map, schema);
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), unknown, errors);
                }
            }
        }
        _ => {}
    }
}

fn bounds(value: &Value, schema: &Value, path: &str, errors: &mut Vec<(String, String)>) {
    let number = |k: &str| schema.get(k).and_then(Value::as_f64);
    if let Some(n) = value.as_f64() {
        if number("minimum").is_some_and(|min| n < min) {
            errors.push((
                path.into(),
                format!(
                    "Invalid value: {n}: should be greater than or equal to {}",
                    number("minimum").unwrap_or_default()
                ),
            ));
        }
        if number("maximum").is_some_and(|max| n > max) {
            errors.push((
                path.into(),
                format!(
                    "Invalid value: {n}: should be less than or equal to {}",
                    number("maximum").unwrap_or_default()
                ),
            ));
        }
    }
    let count = |k: &str| schema.get(k).and_then(Value::as_u64).map(|c| c as usize);
    if let Some(s) = value.as_str() {
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(s))
        {
            errors.push((
                path.into(),
                format!(
                    "Invalid value: {}: {path} in body should match '{pattern}'",
                    short(value)
                ),
            ));
        }
        let len = s.chars().count();
        if count("maxLength").is_some_and(|max| len > max) {
            errors.push((
                path.into(),
                format!(
                    "Too long: may not be more than {} bytes",
                    count("maxLength").unwrap_or_default()
                ),
            ));
        }
        if count("minLength").is_some_and(|min| len < min) {
            errors.push((
                path.into(),
                format!(
                    "Invalid value: {}: should be at least {} chars long",
                    short(value),
                    count("minLength").unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(items) = value.as_array()
        && count("maxItems").is_some_and(|max| items.len() > max)
    {
        errors.push((
            path.into(),
            format!(
                "Too many: {}: must have at most {} items",
                items.len(),
                count("maxItems").unwrap_or_default()
            ),
        ));
    }
}

fn unknown_field(
    map: &mut Map<String, Value>,
    key: &str,
    path: &str,
    unknown: UnknownFields,
    errors: &mut Vec<(String, String)>,
) {
    match unknown {
        UnknownFields::Prune => {
            map.remove(key);
        }
        UnknownFields::Reject => errors.push((path.into(), "field not declared in schema".into())),
    }
}

fn apply_defaults(map: &mut Map<String, Value>, schema: &Value) {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, child) in properties {
            if let Some(default) = child.get("default")
                && !map.contains_key(key)
            {
                map.insert(key.clone(), default.clone());
            }
        }
    }
}

fn required_of(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn type_matches(value: &Value, expected: &str) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["interval"],
                    "properties": {
                        "interval": { "type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$" },
                        "suspend": { "type": "boolean" },
                        "mode": { "type": "string", "enum": ["a", "b"], "default": "a" },
                        "replicas": { "type": "integer", "minimum": 0 },
                        "port": { "x-kubernetes-int-or-string": true },
                        "values": { "x-kubernetes-preserve-unknown-fields": true },
                        "labels": { "type": "object", "additionalProperties": { "type": "string" } }
                    }
                },
                "status": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
            }
        })
    }

    #[test]
    fn valid_objects_get_defaults() {
        let mut object = json!({ "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": { "interval": "1m", "port": "http", "values": { "any": { "thing": 1 } }, "labels": {"a": "b"} } });
        assert!(validate(&mut object, &schema(), UnknownFields::Reject).is_empty());
        assert_eq!(object["spec"]["mode"], "a");
    }

    #[test]
    fn violations_name_the_field() {
        let mut object =
            json!({ "spec": { "interval": 5, "mode": "c", "replicas": -1, "labels": {"a": 1} } });
        let errors = validate(&mut object, &schema(), UnknownFields::Prune);
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.interval",
                "spec.labels.a",
                "spec.mode",
                "spec.replicas"
            ],
            "{errors:?}"
        );
        assert!(errors[0].1.contains("must be of type string"));

        let mut bad_interval = json!({ "spec": { "interval": "soon" } });
        let errors = validate(&mut bad_interval, &schema(), UnknownFields::Prune);
        assert!(errors[0].1.contains("should match"), "{errors:?}");

        let mut missing = json!({ "spec": {} });
        assert_eq!(
            validate(&mut missing, &schema(), UnknownFields::Prune),
            [("spec.interval".to_owned(), "Required value".to_owned())]
        );
    }

    #[test]
    fn unknown_fields_are_pruned_or_rejected() {
        let mut object = json!({ "spec": { "interval": "1m", "bogus": true } });
        assert!(validate(&mut object, &schema(), UnknownFields::Prune).is_empty());
        assert!(object["spec"].get("bogus").is_none());
        let mut object = json!({ "spec": { "interval": "1m", "bogus": true } });
        let errors = validate(&mut object, &schema(), UnknownFields::Reject);
        assert_eq!(errors[0].0, "spec.bogus");
    }
}
