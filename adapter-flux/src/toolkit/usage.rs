//! Which deployments use a toolkit object: those that deploy from a source (the graph's
//! source arrows), those whose workloads run an image policy's image, and those an Alert
//! reports on.

use super::super::adapter::FluxAdapter;
use super::super::kinds::{self, DEPLOYMENTS, IMAGE_REPOSITORY};
use super::super::trace;
use super::text;
use control_core::Namespaces;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use model::flux::UsedBy;
use model::reference::{ToolkitKind, ToolkitRef};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How many namespaces an image's users are looked for in, one LIST per workload kind each:
/// the detail page stays quick on a large fleet, and says it looked no further.
const IMAGE_NAMESPACES: usize = 50;

/// The deployments in `visible` that use `object`.
pub(super) async fn used_by(
    adapter: &FluxAdapter,
    object: &ToolkitRef,
    found: &DynamicObject,
    visible: &Namespaces,
) -> Vec<UsedBy> {
    match object.kind {
        ToolkitKind::ImagePolicy => match policy_image(adapter, found) {
            Some(image) => running(adapter, &image, visible).await,
            None => Vec::new(),
        },
        ToolkitKind::Alert => reported_on(adapter, found, visible),
        _ => from_source(adapter, object, visible),
    }
}

/// The deployments whose source is `object`.
fn from_source(adapter: &FluxAdapter, object: &ToolkitRef, visible: &Namespaces) -> Vec<UsedBy> {
    super::super::links::links(&adapter.cache, visible)
        .into_iter()
        .filter(|link| {
            link.relation == "source"
                && link.needed.kind == object.kind.as_str()
                && link.needed.namespace == object.namespace.name()
                && link.needed.name == object.name
        })
        .filter_map(|link| {
            let kind = kinds::by_kind(&link.needing.kind)?;
            Some(row(
                adapter,
                kind,
                &link.needing.namespace,
                &link.needing.name,
                "source",
                None,
            ))
        })
        .collect()
}

/// The image repository a policy follows (`spec.image` of its ImageRepository), or the
/// name its latest ref carries.
fn policy_image(adapter: &FluxAdapter, policy: &DynamicObject) -> Option<String> {
    let namespace = policy.namespace().unwrap_or_default();
    let repository = text(&policy.data, "/spec/imageRepositoryRef/name").and_then(|name| {
        let ns = text(&policy.data, "/spec/imageRepositoryRef/namespace").unwrap_or(namespace);
        adapter.cache.object(IMAGE_REPOSITORY, &ns, &name)
    });
    repository
        .and_then(|r| text(&r.data, "/spec/image"))
        .or_else(|| text(&policy.data, "/status/latestRef/name"))
        .map(|image| repository_of(&image).to_owned())
}

/// An image reference without its tag or digest: `ghcr.io/acme/web:1.2@sha256:…` →
/// `ghcr.io/acme/web` (a registry port is not a tag).
pub(super) fn repository_of(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// An object as (namespace, kind, name).
type ObjectId = (String, String, String);
/// A Flux deployment as (kind, namespace, name).
type Owner = (kinds::FluxKind, String, String);

/// The deployments whose applied workloads run `image`.
async fn running(adapter: &FluxAdapter, image: &str, visible: &Namespaces) -> Vec<UsedBy> {
    images_run(adapter, visible)
        .await
        .remove(image)
        .unwrap_or_default()
}

/// For every image repository run in `visible`, the deployments whose applied workloads run
/// it: the workloads Flux applied (as their inventories list them) are read per namespace
/// and matched by repository.
pub(super) async fn images_run(
    adapter: &FluxAdapter,
    visible: &Namespaces,
) -> BTreeMap<String, Vec<UsedBy>> {
    // Which Flux deployments applied each workload (more than one when two fight over it).
    let mut owners: BTreeMap<ObjectId, Vec<Owner>> = BTreeMap::new();
    for kind in DEPLOYMENTS {
        for object in adapter.cache.objects(kind) {
            let namespace = object.namespace().unwrap_or_default();
            if !visible.contains_in(adapter.cache.cluster(), &namespace) {
                continue;
            }
            for entry in trace::inventory(&object.data) {
                if entry.group == "apps" {
                    owners
                        .entry((entry.namespace, entry.kind, entry.name))
                        .or_default()
                        .push((kind, namespace.clone(), object.name_any()));
                }
            }
        }
    }
    let namespaces: BTreeSet<&str> = owners
        .keys()
        .map(|(ns, _, _)| ns.as_str())
        .filter(|ns| visible.contains_in(adapter.cache.cluster(), ns))
        .take(IMAGE_NAMESPACES)
        .collect();
    let mut users: BTreeMap<String, Vec<UsedBy>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for namespace in namespaces {
        for (workload_kind, name, images) in workloads(adapter, namespace).await {
            let key = (namespace.to_owned(), workload_kind.to_owned(), name);
            let claimants = owners.get(&key).map(Vec::as_slice).unwrap_or_default();
            for (kind, ns, owner) in claimants {
                for image in &images {
                    let repository = repository_of(image).to_owned();
                    if seen.insert((repository.clone(), kind.kind, ns.clone(), owner.clone())) {
                        users.entry(repository).or_default().push(row(
                            adapter,
                            *kind,
                            ns,
                            owner,
                            "image",
                            Some(format!("{workload_kind} {} runs {image}", key.2)),
                        ));
                    }
                }
            }
        }
    }
    users
}

/// The image repository each ImagePolicy in `visible` follows, by policy.
pub(super) fn policy_images(
    adapter: &FluxAdapter,
    visible: &Namespaces,
) -> Vec<(control_core::adapters::ObjectKey, String)> {
    adapter
        .cache
        .objects(kinds::IMAGE_POLICY)
        .into_iter()
        .filter(|p| {
            visible.contains_in(adapter.cache.cluster(), &p.namespace().unwrap_or_default())
        })
        .filter_map(|policy| {
            let image = policy_image(adapter, &policy)?;
            let key = control_core::adapters::ObjectKey {
                kind: "ImagePolicy".to_owned(),
                namespace: policy.namespace().unwrap_or_default(),
                name: policy.name_any(),
            };
            Some((key, image))
        })
        .collect()
}

/// The Deployments, StatefulSets and DaemonSets of a namespace with their container images.
/// A namespace that cannot be read is skipped: the answer is advice on a detail page.
async fn workloads(
    adapter: &FluxAdapter,
    namespace: &str,
) -> Vec<(&'static str, String, Vec<String>)> {
    let client = adapter.client.clone();
    let mut found = Vec::new();
    let images = |spec: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>| -> Vec<String> {
        spec.and_then(|t| t.spec.as_ref())
            .map(|s| {
                s.containers
                    .iter()
                    .chain(s.init_containers.iter().flatten())
                    .filter_map(|c| c.image.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let params = ListParams::default();
    if let Ok(list) = Api::<Deployment>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
    {
        for d in list.items {
            let images = images(Some(&d.spec.template));
            found.push(("Deployment", d.name_any(), images));
        }
    }
    if let Ok(list) = Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
    {
        for d in list.items {
            let images = images(Some(&d.spec.template));
            found.push(("StatefulSet", d.name_any(), images));
        }
    }
    if let Ok(list) = Api::<DaemonSet>::namespaced(client, namespace)
        .list(&params)
        .await
    {
        for d in list.items {
            let images = images(Some(&d.spec.template));
            found.push(("DaemonSet", d.name_any(), images));
        }
    }
    found
}

/// The deployments an Alert's event sources name (`*` for every one of a kind).
pub(super) fn reported_on(
    adapter: &FluxAdapter,
    alert: &DynamicObject,
    visible: &Namespaces,
) -> Vec<UsedBy> {
    let alert_namespace = alert.namespace().unwrap_or_default();
    let sources = alert
        .data
        .pointer("/spec/eventSources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut users = Vec::new();
    for kind in DEPLOYMENTS {
        for object in adapter.cache.objects(kind) {
            let namespace = object.namespace().unwrap_or_default();
            if !visible.contains_in(adapter.cache.cluster(), &namespace) {
                continue;
            }
            let name = object.name_any();
            let named = sources.iter().any(|s| {
                s["kind"] == kind.kind
                    && s.get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(&alert_namespace)
                        == namespace
                    && (s["name"] == "*" || s["name"] == name.as_str())
            });
            if named {
                users.push(row(adapter, kind, &namespace, &name, "alert", None));
            }
        }
    }
    users.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    users
}

fn row(
    adapter: &FluxAdapter,
    kind: kinds::FluxKind,
    namespace: &str,
    name: &str,
    relation: &str,
    detail: Option<String>,
) -> UsedBy {
    UsedBy {
        id: model::reference::DeploymentRef::id_text(
            adapter.cache.cluster(),
            namespace,
            kinds::deployment_kind(kind),
            name,
        ),
        kind: kind.kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        relation: relation.to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::repository_of;

    #[test]
    fn an_image_is_matched_without_its_tag_or_digest() {
        assert_eq!(repository_of("ghcr.io/acme/web:1.2.3"), "ghcr.io/acme/web");
        assert_eq!(repository_of("registry:5000/web"), "registry:5000/web");
        assert_eq!(
            repository_of("registry:5000/web:1@sha256:ab"),
            "registry:5000/web"
        );
        assert_eq!(repository_of("nginx"), "nginx");
    }
}
