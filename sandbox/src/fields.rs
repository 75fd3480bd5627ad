//! Server-side apply's field ownership, as kube-apiserver keeps it in `metadata.managedFields`:
//! each manager (per operation and subresource) owns a set of fields (`fieldsV1`). An apply
//! that would change a field another manager owns is a 409 conflict unless forced, and a
//! forced apply takes the field over. An update (PUT or a non-apply patch) takes ownership of
//! what it changes, silently. An apply drops the fields its manager applied before and no
//! longer applies, unless someone else owns them. Lists are atomic: a list is one field.

use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::store::WriteOptions;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A field: the keys from the object's root.
pub type Path = Vec<String>;

/// Who writes, and how, for one write.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// The field manager.
    pub manager: &'a str,
    /// The object's apiVersion.
    pub api_version: String,
    /// `status` for status subresource writes.
    pub subresource: Option<&'a str>,
}

/// Every field `object` sets as server-side apply tracks them: metadata labels and
/// annotations, and either everything else but apiVersion and kind (`status` false) or only
/// the status (`status` true).
pub fn fields_of(object: &Value, status: bool) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let Some(map) = object.as_object() else {
        return out;
    };
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" if !status => {
                for part in ["labels", "annotations"] {
                    if let Some(v) = value.get(part) {
                        collect(v, vec!["metadata".into(), part.into()], &mut out);
                    }
                }
            }
            "status" if status => collect(value, vec![key.clone()], &mut out),
            _ if status || key == "status" || key == "metadata" => {}
            _ => collect(value, vec![key.clone()], &mut out),
        }
    }
    out
}

fn collect(value: &Value, path: Path, out: &mut BTreeSet<Path>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let mut next = path.clone();
                next.push(key.clone());
                collect(child, next, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

/// The value at `path`, if there is one.
pub fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(object, |value, key| value.get(key))
}

/// A field as kube-apiserver names it in conflicts: `.spec.values.replicaCount`.
pub fn dotted(path: &[String]) -> String {
    path.iter().map(|k| format!(".{k}")).collect()
}

/// `fieldsV1` of a set: `{"f:spec": {"f:replicas": {}}}`.
pub fn to_fields_v1(fields: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut node = &mut root;
        for key in path {
            let entry = node.entry(format!("f:{key}")).or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            let Value::Object(child) = entry else { break };
            node = child;
        }
    }
    Value::Object(root)
}

/// The set a `fieldsV1` value describes.
pub fn from_fields_v1(value: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    walk_v1(value, Vec::new(), &mut out);
    out
}

fn walk_v1(value: &Value, path: Path, out: &mut BTreeSet<Path>) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (key, child) in map {
                if let Some(field) = key.strip_prefix("f:") {
                    let mut next = path.clone();
                    next.push(field.to_owned());
                    walk_v1(child, next, out);
                } else if key == "." && !path.is_empty() {
                    out.insert(path.clone());
                }
            }
        }
        _ if !path.is_empty() => {
            out.insert(path);
        }
        _ => {}
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    subresource: Option<String>,
    api_version: String,
    time: String,
    fields: BTreeSet<Path>,
}

impl Entry {
    fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }

    fn owns_overlapping(&self, path: &[String]) -> bool {
        self.fields
            .iter()
            .any(|owned| owned.starts_with(path) || path.starts_with(owned))
    }
}

fn entries(object: &Value) -> Vec<Entry> {
    let text = |entry: &Value, key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            Some(Entry {
                manager: text(entry, "manager")?,
                operation: text(entry, "operation").unwrap_or_else(|| "Update".into()),
                subresource: text(entry, "subresource"),
                api_version: text(entry, "apiVersion").unwrap_or_default(),
                time: text(entry, "time").unwrap_or_default(),
                fields: entry
                    .get("fieldsV1")
                    .map(from_fields_v1)
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn store_entries(object: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields),
            });
            if let Some(sub) = e.subresource {
                entry["subresource"] = json!(sub);
            }
            entry
        })
        .collect();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            metadata.remove("managedFields");
        } else {
            metadata.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// The fields another manager owns that an apply of `applied` onto `current` would change.
pub fn conflicts(
    current: &Value,
    applied: &Value,
    writer: Writer<'_>,
) -> Vec<(String, String, Path)> {
    let status = writer.subresource == Some("status");
    let applied_fields = fields_of(applied, status);
    let mut found = Vec::new();
    for entry in entries(current) {
        if entry.manager == writer.manager {
            continue;
        }
        for path in applied_fields.iter().cloned() {
            if entry.owns_overlapping(&path) && value_at(current, &path) != value_at(applied, &path)
            {
                found.push((entry.manager.clone(), entry.api_version.clone(), path));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The 409 kube-apiserver answers for an apply with conflicts.
pub fn conflict_error(conflicts: &[(String, String, Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(manager, api_version, path)| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with \"{manager}\" using {api_version}"),
                "field": dotted(path),
            })
        })
        .collect();
    let listed: Vec<String> = conflicts
        .iter()
        .map(|(manager, api_version, path)| {
            format!(
                "conflict with \"{manager}\" using {api_version}: {}",
                dotted(path)
            )
        })
        .collect();
    let count = conflicts.len();
    ApiError {
        code: 409,
        reason: "Conflict",
        message: format!(
            "Apply failed with {count} conflict{}: {}",
            if count == 1 { "" } else { "s" },
            listed.join("\n")
        ),
        details: Some(json!({ "causes": causes })),
    }
}

fn remove_at(object: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let parent = parents
        .iter()
        .try_fold(&mut *object, |value, key| value.get_mut(key));
    if let Some(Value::Object(map)) = parent {
        map.remove(last);
    }
}

/// After an apply of `applied` by `writer` produced `merged` from `current`: drops the fields
/// the manager stopped applying (that nobody else owns), takes over what `force` allows, and
/// records the manager's apply entry.
pub fn record_apply(
    current: Option<&Value>,
    merged: &mut Value,
    applied: &Value,
    writer: Writer<'_>,
    force: bool,
    now: &str,
) {
    let status = writer.subresource == Some("status");
    let mut all = current.map(entries).unwrap_or_default();
    let now_applied = fields_of(applied, status);
    let before: BTreeSet<Path> = all
        .iter()
        .find(|e| e.is(writer.manager, "Apply", writer.subresource))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for dropped in before.difference(&now_applied) {
        let owned_elsewhere = all
            .iter()
            .filter(|e| !e.is(writer.manager, "Apply", writer.subresource))
            .any(|e| e.fields.contains(dropped));
        if !owned_elsewhere {
            remove_at(merged, dropped);
        }
    }
    if force {
        for entry in all.iter_mut().filter(|e| e.manager != writer.manager) {
            entry.fields.retain(|owned| {
                !now_applied
                    .iter()
                    .any(|p| owned.starts_with(p) || p.starts_with(owned))
                    || current.is_some_and(|c| value_at(c, owned) == value_at(applied, owned))
            });
        }
    }
    all.retain(|e| !e.is(writer.manager, "Apply", writer.subresource));
    all.push(Entry {
        manager: writer.manager.to_owned(),
        operation: "Apply".into(),
        subresource: writer.subresource.map(str::to_owned),
        api_version: writer.api_version.clone(),
        time: now.to_owned(),
        fields: now_applied,
    });
    store_entries(merged, all);
}

/// After an update by `writer` turned `current` into `next`: the fields it changed (set,
/// changed or removed) move to its update entry.
pub fn record_update(current: Option<&Value>, next: &mut Value, writer: Writer<'_>, now: &str) {
    let status = writer.subresource == Some("status");
    let mut all = current.map(entries).unwrap_or_default();
    let after = fields_of(next, status);
    let before = current.map(|c| fields_of(c, status)).unwrap_or_default();
    let changed: BTreeSet<Path> = after
        .iter()
        .filter(|p| current.is_none_or(|c| value_at(c, p) != value_at(next, p)))
        .cloned()
        .collect();
    let removed: Vec<&Path> = before.difference(&after).collect();
    for entry in &mut all {
        entry.fields.retain(|owned| {
            !removed.iter().any(|r| owned.starts_with(r))
                && (entry.manager == writer.manager
                    || !changed
                        .iter()
                        .any(|c| owned.starts_with(c) || c.starts_with(owned)))
        });
    }
    if !changed.is_empty() {
        match all
            .iter_mut()
            .find(|e| e.is(writer.manager, "Update", writer.subresource))
        {
            Some(entry) => {
                entry.fields.extend(changed);
                entry.time = now.to_owned();
            }
            None => all.push(Entry {
                manager: writer.manager.to_owned(),
                operation: "Update".into(),
                subresource: writer.subresource.map(str::to_owned),
                api_version: writer.api_version.clone(),
                time: now.to_owned(),
                fields: changed,
            }),
        }
    }
    store_entries(next, all);
}

/// Who a write is by, for field ownership.
pub(crate) fn writer<'a>(
    rt: &ResourceType,
    options: WriteOptions<'a>,
    fallback: &'a str,
) -> Writer<'a> {
    Writer {
        manager: options.field_manager.unwrap_or(fallback),
        api_version: rt.api_version(),
        subresource: options.subresource,
    }
}

/// Records in `next`'s managedFields who owns what after this write (an apply when
/// `applied` is the applied configuration, an update otherwise).
pub(crate) fn record(
    rt: &ResourceType,
    current: Option<&Value>,
    next: &mut Value,
    options: WriteOptions<'_>,
    applied: Option<&Value>,
) {
    let now = crate::object::now();
    match applied {
        Some(applied) => record_apply(
            current,
            next,
            applied,
            writer(rt, options, "Apply"),
            options.force,
            &now,
        ),
        None => record_update(current, next, writer(rt, options, "Update"), &now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Path {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn fields_v1_round_trips_and_lists_are_atomic() {
        let object = json!({ "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "x", "labels": { "app": "web" } },
            "data": { "key": "v" }, "spec": { "ports": [{ "port": 80 }] } });
        let fields = fields_of(&object, false);
        assert_eq!(
            fields,
            [
                path("data.key"),
                path("metadata.labels.app"),
                path("spec.ports")
            ]
            .into()
        );
        let v1 = to_fields_v1(&fields);
        assert_eq!(v1["f:data"]["f:key"], json!({}));
        assert_eq!(from_fields_v1(&v1), fields);
    }

    #[test]
    fn an_update_takes_what_it_changes_and_an_apply_drops_what_it_stopped_applying() {
        let writer = |manager| Writer {
            manager,
            api_version: "v1".into(),
            subresource: None,
        };
        let applied = json!({ "metadata": { "name": "x" }, "data": { "a": "1", "b": "2" } });
        let mut object = applied.clone();
        record_apply(None, &mut object, &applied, writer("one"), false, "t");
        let before = object.clone();
        object["data"]["a"] = json!("changed");
        record_update(Some(&before), &mut object, writer("two"), "t");
        let owned = entries(&object);
        assert_eq!(owned.len(), 2);
        assert_eq!(owned[0].fields, [path("data.b")].into(), "one keeps only b");
        assert_eq!(owned[1].fields, [path("data.a")].into(), "two took a");

        // "one" applies without b: b goes, a stays (two owns it).
        let smaller = json!({ "metadata": { "name": "x" }, "data": { "a": "changed" } });
        let current = object.clone();
        let mut merged = current.clone();
        merged["data"]["a"] = json!("changed");
        record_apply(
            Some(&current),
            &mut merged,
            &smaller,
            writer("one"),
            false,
            "t",
        );
        assert_eq!(merged["data"], json!({ "a": "changed" }));
    }
}
