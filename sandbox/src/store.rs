//! Generic storage for any kind: objects as JSON, one resourceVersion counter, and a bounded
//! history of changes that watches replay from (older versions answer 410 Gone).

use crate::error::ApiError;
use crate::fields;
use crate::object::{
    metadata_mut, now, object_name, parse_continue, prepare, scope_namespace, with_version,
    without_meta_and_status,
};
use crate::patch::{self, PatchKind};
use crate::resources::{self, ResourceType};
use crate::schema::UnknownFields;
use crate::selectors::{FieldSelector, LabelSelector};
pub use crate::write::WriteOptions;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// Where an object lives: (group, plural, namespace or "", name).
type Key = (String, String, String, String);

/// The live feed of changes a watch reads after its backlog.
pub type Changes = broadcast::Receiver<Arc<Change>>;

/// A change, as watches see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its resourceVersion.
    pub revision: u64,
    /// ADDED, MODIFIED or DELETED.
    pub kind: &'static str,
    /// The resource's group.
    pub group: String,
    /// The resource's plural.
    pub plural: String,
    /// The object after the change (before it, for deletes).
    pub object: Value,
}

struct Inner {
    resources: Vec<ResourceType>,
    objects: BTreeMap<Key, Value>,
    revision: u64,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// Watches from before this revision answer 410 (see [`Store::compact`]).
    compacted: u64,
}

/// The cluster's state.
pub struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Arc<Change>>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The objects.
    pub items: Vec<Value>,
    /// The list's resourceVersion.
    pub revision: u64,
    /// The token for the next page.
    pub continue_token: Option<String>,
    /// How many objects follow this page.
    pub remaining: usize,
}

impl Store {
    /// An empty cluster with the built-in kinds and the `default`, `kube-system` and
    /// `flux-system` namespaces; at most `history_limit` changes are kept for watches.
    pub fn new(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(4096);
        let store = Self {
            inner: Mutex::new(Inner {
                resources: resources::builtins(),
                objects: BTreeMap::new(),
                revision: 1,
                history: VecDeque::new(),
                history_limit: history_limit.max(1),
                compacted: 0,
            }),
            changes,
        };
        let namespaces = resources::builtins()
            .into_iter()
            .find(|r| r.plural == "namespaces");
        for (ns, rt) in ["default", "kube-system", "flux-system"]
            .into_iter()
            .zip(std::iter::repeat(namespaces).flatten())
        {
            let object =
                json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
            let options = WriteOptions {
                unknown: UnknownFields::Prune,
                force: false,
                dry_run: false,
                field_manager: None,
                subresource: None,
            };
            // Creating a fresh namespace in an empty store cannot fail.
            let _ = store.create(&rt, None, object, options);
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data behind (every write is one insert).
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every served resource type.
    pub fn resources(&self) -> Vec<ResourceType> {
        self.lock().resources.clone()
    }

    /// The resource type served at `group/version/plural`.
    pub fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<ResourceType, ApiError> {
        self.lock()
            .resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
            .ok_or_else(|| ApiError::no_route(&format!("{group}/{version}/{plural}")))
    }

    /// The current resourceVersion.
    pub fn revision(&self) -> u64 {
        self.lock().revision
    }

    /// Forgets the watch history, as etcd compaction after an API server restart can: the
    /// revision moves on (as it does with any write in a real cluster) and every watch from
    /// an earlier one answers 410, so its client must list again.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.revision += 1;
        inner.compacted = inner.revision;
        inner.history.clear();
    }

    /// Subscribes to changes, and returns the kept history after `since` (or 410 if it is gone).
    pub fn watch_from(&self, since: u64) -> Result<(Vec<Arc<Change>>, Changes), ApiError> {
        let inner = self.lock();
        let receiver = self.changes.subscribe();
        let oldest = inner.history.front().map_or(inner.revision, |c| c.revision);
        if since < inner.compacted || since + 1 < oldest {
            return Err(ApiError::gone(format!(
                "too old resource version: {since} ({oldest})"
            )));
        }
        let backlog = inner
            .history
            .iter()
            .filter(|c| c.revision > since)
            .cloned()
            .collect();
        Ok((backlog, receiver))
    }

    /// Creates an object.
    pub fn create(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        object: Value,
        options: WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        self.create_as(rt, namespace, object, options, None)
    }

    /// Creates an object; `applied` is the configuration when server-side apply creates it.
    fn create_as(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        mut object: Value,
        options: WriteOptions<'_>,
        applied: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let namespace = scope_namespace(rt, namespace, &object)?;
        if let Some(ns) = &namespace
            && !inner.objects.contains_key(&(
                String::new(),
                "namespaces".into(),
                String::new(),
                ns.clone(),
            ))
        {
            return Err(ApiError::not_found("namespaces", "", ns));
        }
        let name = object_name(&object, true)?;
        let key = (
            rt.group.clone(),
            rt.plural.clone(),
            namespace.clone().unwrap_or_default(),
            name.clone(),
        );
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(&rt.plural, &rt.group, &name));
        }
        prepare(rt, &mut object, &name, options)?;
        // As kube-apiserver does, a create cannot set what the status subresource owns.
        if rt.status_subresource
            && rt.plural != "customresourcedefinitions"
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        let revision = inner.revision + 1;
        let metadata = metadata_mut(&mut object);
        metadata.insert("name".into(), json!(name));
        if let Some(ns) = &namespace {
            metadata.insert("namespace".into(), json!(ns));
        }
        metadata.remove("generateName");
        metadata.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        metadata.insert("resourceVersion".into(), json!(revision.to_string()));
        metadata.insert("creationTimestamp".into(), json!(now()));
        metadata.insert("generation".into(), json!(1));
        metadata.remove("managedFields");
        fields::record(rt, None, &mut object, options, applied);
        if rt.plural == "namespaces" {
            object["status"] = json!({ "phase": "Active" });
        }
        if options.dry_run {
            // Checked as a create would be; nothing is stored or announced.
            return Ok(with_version(rt, object));
        }
        inner.revision = revision;
        if rt.plural == "customresourcedefinitions" {
            resources::register_crd(&mut inner.resources, &mut object)?;
        }
        inner.objects.insert(key, object.clone());
        self.record(&mut inner, "ADDED", rt, &object);
        Ok(with_version(rt, object))
    }

    /// Reads an object.
    pub fn get(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let inner = self.lock();
        let key = key(rt, namespace, name);
        inner
            .objects
            .get(&key)
            .cloned()
            .map(|o| with_version(rt, o))
            .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, name))
    }

    /// Lists objects (in one namespace, or all), filtered, a page at a time.
    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<Page, ApiError> {
        let inner = self.lock();
        let after = match continue_token.filter(|t| !t.is_empty()) {
            Some(token) => Some(parse_continue(token)?),
            None => None,
        };
        let matching: Vec<(&Key, &Value)> = inner
            .objects
            .iter()
            .filter(|(k, _)| {
                k.0 == rt.group && k.1 == rt.plural && namespace.is_none_or(|ns| k.2 == ns)
            })
            .filter(|(k, _)| {
                after
                    .as_ref()
                    .is_none_or(|(ns, name)| (&k.2, &k.3) > (ns, name))
            })
            .filter(|(_, o)| labels.matches(o.pointer("/metadata/labels")) && fields.matches(o))
            .collect();
        let take = limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let remaining = matching.len().saturating_sub(take);
        let page: Vec<(&Key, &Value)> = matching.into_iter().take(take).collect();
        let continue_token = (remaining > 0)
            .then(|| page.last().map(|(k, _)| format!("{}/{}", k.2, k.3)))
            .flatten();
        Ok(Page {
            items: page
                .into_iter()
                .map(|(_, o)| with_version(rt, o.clone()))
                .collect(),
            revision: inner.revision,
            continue_token,
            remaining,
        })
    }

    /// Replaces an object (PUT), with optimistic concurrency.
    pub fn update(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        object: Value,
        options: WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let key = key(rt, namespace, name);
        let current = inner
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, name))?;
        let sent_version = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let current_version = current
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !sent_version.is_empty() && sent_version != current_version {
            return Err(ApiError::conflict(&rt.plural, &rt.group, name));
        }
        let updated = self.replace(&mut inner, rt, key, current, object, options, None)?;
        Ok(with_version(rt, updated))
    }

    /// Patches an object; server-side apply creates it when missing.
    pub fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        kind: PatchKind,
        patch_body: &Value,
        options: WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        // One lock from read to write, so a concurrent status write cannot make this patch fail:
        // kube-apiserver retries patches internally rather than answering 409.
        let mut inner = self.lock();
        let key = key(rt, namespace, name);
        let Some(stored) = inner.objects.get(&key).cloned() else {
            drop(inner);
            if kind != PatchKind::Apply {
                return Err(ApiError::not_found(&rt.plural, &rt.group, name));
            }
            let mut object = patch_body.clone();
            metadata_mut(&mut object).insert("name".into(), json!(name));
            return self.create_as(rt, namespace, object, options, Some(patch_body));
        };
        if kind == PatchKind::Apply && !options.force {
            let writer = fields::writer(rt, options, "Apply");
            let conflicts = fields::conflicts(&stored, patch_body, writer);
            if !conflicts.is_empty() {
                return Err(fields::conflict_error(&conflicts));
            }
        }
        let current = with_version(rt, stored.clone());
        let mut patched = current.clone();
        patch::apply(kind, &mut patched, patch_body)?;
        let sent_version = patch_body
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        let current_version = current
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        if sent_version.is_some_and(|v| Some(v) != current_version) {
            return Err(ApiError::conflict(&rt.plural, &rt.group, name));
        }
        let operation = if kind == PatchKind::Apply {
            "Apply"
        } else {
            "Update"
        };
        let options = WriteOptions {
            field_manager: options.field_manager.or(Some(operation)),
            ..options
        };
        let applied = (kind == PatchKind::Apply).then_some(patch_body);
        let updated = self.replace(&mut inner, rt, key, stored, patched, options, applied)?;
        Ok(with_version(rt, updated))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one write: where, what it was, what it becomes, how, and the applied configuration"
    )]
    fn replace(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        key: Key,
        current: Value,
        mut object: Value,
        options: WriteOptions<'_>,
        applied: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let name = key.3.clone();
        prepare(rt, &mut object, &name, options)?;
        let status_write = options.subresource == Some("status");
        let mut next = if status_write {
            let mut next = current.clone();
            next["status"] = object.get("status").cloned().unwrap_or(Value::Null);
            next
        } else {
            if rt.status_subresource
                && let Some(map) = object.as_object_mut()
            {
                match current.get("status") {
                    Some(status) => map.insert("status".into(), status.clone()),
                    None => map.remove("status"),
                };
            }
            object
        };
        // metadata that clients may not change
        let keep = [
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
            "name",
            "namespace",
        ];
        let current_meta = current.get("metadata").cloned().unwrap_or_default();
        let metadata = metadata_mut(&mut next);
        for field in keep {
            match current_meta.get(field) {
                Some(value) => metadata.insert(field.into(), value.clone()),
                None => metadata.remove(field),
            };
        }
        // Ownership first: an apply may drop fields its manager stopped applying.
        fields::record(rt, Some(&current), &mut next, options, applied);
        let spec_changed =
            !status_write && without_meta_and_status(&next) != without_meta_and_status(&current);
        let revision = inner.revision + 1;
        let metadata = metadata_mut(&mut next);
        if spec_changed {
            let generation = current_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                + 1;
            metadata.insert("generation".into(), json!(generation));
        }
        metadata.insert("resourceVersion".into(), json!(revision.to_string()));
        if options.dry_run {
            return Ok(next);
        }
        inner.revision = revision;
        inner.objects.insert(key, next.clone());
        self.record(inner, "MODIFIED", rt, &next);
        Ok(next)
    }

    /// Deletes an object; deleting a namespace deletes everything in it.
    pub fn delete(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let key = key(rt, namespace, name);
        let object = inner
            .objects
            .remove(&key)
            .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, name))?;
        if rt.plural == "namespaces" && rt.group.is_empty() {
            let contents: Vec<Key> = inner
                .objects
                .keys()
                .filter(|k| k.2 == name)
                .cloned()
                .collect();
            for key in contents {
                if let Some(child) = inner.objects.remove(&key)
                    && let Some(child_rt) = inner
                        .resources
                        .iter()
                        .find(|r| r.group == key.0 && r.plural == key.1)
                        .cloned()
                {
                    self.record(&mut inner, "DELETED", &child_rt, &child);
                }
            }
        }
        if rt.plural == "customresourcedefinitions" {
            let group = object
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let plural = object
                .pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            inner
                .resources
                .retain(|r| !(r.group == group && r.plural == plural));
            inner
                .objects
                .retain(|k, _| !(k.0 == group && k.1 == plural));
        }
        self.record(&mut inner, "DELETED", rt, &object);
        Ok(with_version(rt, object))
    }

    /// Deletes every matching object in a namespace (or cluster-wide).
    pub fn delete_collection(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Result<Vec<Value>, ApiError> {
        let page = self.list(rt, namespace, labels, fields, None, None)?;
        let mut deleted = Vec::new();
        for item in page.items {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let ns = item
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Ok(object) = self.delete(rt, ns.as_deref(), &name) {
                deleted.push(object);
            }
        }
        Ok(deleted)
    }

    fn record(&self, inner: &mut Inner, kind: &'static str, rt: &ResourceType, object: &Value) {
        let revision = if kind == "DELETED" {
            inner.revision += 1;
            inner.revision
        } else {
            inner.revision
        };
        let mut object = with_version(rt, object.clone());
        if kind == "DELETED" {
            metadata_mut(&mut object).insert("resourceVersion".into(), json!(revision.to_string()));
        }
        let change = Arc::new(Change {
            revision,
            kind,
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            object,
        });
        inner.history.push_back(change.clone());
        while inner.history.len() > inner.history_limit {
            inner.history.pop_front();
        }
        // Nobody listening is fine.
        let _ = self.changes.send(change);
    }
}

fn key(rt: &ResourceType, namespace: Option<&str>, name: &str) -> Key {
    let ns = if rt.namespaced {
        namespace.unwrap_or_default().to_owned()
    } else {
        String::new()
    };
    (rt.group.clone(), rt.plural.clone(), ns, name.to_owned())
}
