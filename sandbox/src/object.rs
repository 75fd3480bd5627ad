//! The rules for one object: its namespace and name, metadata that clients may not set,
//! kind/apiVersion, and its CRD schema.

use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::schema;
use crate::store::WriteOptions;
use serde_json::{Value, json};

pub(crate) fn scope_namespace(
    rt: &ResourceType,
    namespace: Option<&str>,
    object: &Value,
) -> Result<Option<String>, ApiError> {
    if !rt.namespaced {
        return Ok(None);
    }
    let in_body = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty());
    match (namespace, in_body) {
        (Some(path), Some(body)) if path != body => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        (Some(ns), _) | (None, Some(ns)) => Ok(Some(ns.to_owned())),
        (None, None) => Err(ApiError::bad_request(
            "a namespaced object needs a namespace",
        )),
    }
}

/// The object's name, or one made from generateName.
pub(crate) fn object_name(object: &Value, allow_generate: bool) -> Result<String, ApiError> {
    if let Some(name) = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        return Ok(name.to_owned());
    }
    if allow_generate
        && let Some(prefix) = object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
    {
        let suffix: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(5)
            .collect();
        return Ok(format!("{prefix}{suffix}"));
    }
    Err(ApiError::invalid(
        "",
        "",
        vec![(
            "metadata.name".into(),
            "Required value: name or generateName is required".into(),
        )],
    ))
}

/// Name syntax, kind/apiVersion and the CRD schema.
pub(crate) fn prepare(
    rt: &ResourceType,
    object: &mut Value,
    name: &str,
    options: WriteOptions<'_>,
) -> Result<(), ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    let mut causes = Vec::new();
    // Namespaces and Services need DNS labels; everything else a DNS subdomain.
    if !valid_name(
        name,
        rt.group.is_empty() && matches!(rt.plural.as_str(), "namespaces" | "services"),
    ) {
        causes.push(("metadata.name".to_owned(), format!("Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'")));
    }
    if let Some(kind) = object.get("kind").and_then(Value::as_str)
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind {kind:?} does not match the resource {}",
            rt.plural
        )));
    }
    object["kind"] = json!(rt.kind);
    object["apiVersion"] = json!(rt.api_version());
    if let Some(schema) = &rt.schema {
        causes.extend(schema::validate(object, schema, options.unknown));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&rt.kind, name, causes))
    }
}

pub(crate) fn valid_name(name: &str, label_only: bool) -> bool {
    let max = if label_only { 63 } else { 253 };
    !name.is_empty()
        && name.len() <= max
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (!label_only && c == '.')
        })
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

pub(crate) fn metadata_mut(object: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !object.is_object() {
        *object = json!({});
    }
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    object["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

pub(crate) fn without_meta_and_status(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

pub(crate) fn with_version(rt: &ResourceType, mut object: Value) -> Value {
    object["apiVersion"] = json!(rt.api_version());
    object
}

pub(crate) fn parse_continue(token: &str) -> Result<(String, String), ApiError> {
    token
        .split_once('/')
        .map(|(ns, name)| (ns.to_owned(), name.to_owned()))
        .ok_or_else(|| ApiError::bad_request("invalid continue token"))
}

/// RFC 3339 now, as Kubernetes writes times.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
