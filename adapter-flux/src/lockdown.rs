//! Flux's multi-tenancy lockdown, held for every HelmRelease or Kustomization Pilothouse
//! applies for a tenant, whatever the fields came from (the request, the object's current
//! spec, or an earlier revision): the controllers act as the tenant's service account, and
//! nothing in the spec reaches another tenant's namespace or another cluster.
//!
//! This is Pilothouse's half; the API server's RBAC is the other (the tenant account can
//! write nowhere else), as `--no-cross-namespace-refs` and `--default-service-account` are
//! Flux's.

use super::kinds::{DEPLOYMENTS, FluxKind, HELM_RELEASE, IMAGE_UPDATE_AUTOMATION};
use control_core::adapters::context::{Boundary, RunAs};
use control_core::{Error, Result};
use model::reference::{ClusterId, NamespaceRef};
use serde_json::{Value, json};

/// What a tenant's writes are held to.
#[derive(Debug, Clone)]
pub struct Lockdown {
    service_account: String,
    boundary: Boundary,
    cluster: ClusterId,
}

impl Lockdown {
    /// The lockdown of a write that acts as `run_as` within `boundary`: every write in a
    /// tenant namespace runs its object as the tenant account; the reach checks bind tenants
    /// (a platform-admin's boundary admits everything). None for writes as Pilothouse.
    pub fn for_write(run_as: &RunAs, boundary: Boundary, cluster: &ClusterId) -> Option<Self> {
        match run_as {
            RunAs::ServiceAccount { name, .. } => Some(Self {
                service_account: name.clone(),
                boundary,
                cluster: cluster.clone(),
            }),
            RunAs::Pilothouse => None,
        }
    }

    fn is_tenant(&self) -> bool {
        matches!(self.boundary, Boundary::Tenant { .. })
    }

    fn namespace(&self, field: &'static str, name: &str) -> Result<NamespaceRef> {
        NamespaceRef::new(self.cluster.clone(), name)
            .map_err(|e| Error::invalid(field, e.to_string()))
    }

    /// Checks `object` and sets its service account; the first violation is the error, naming
    /// the field.
    pub fn enforce(&self, kind: FluxKind, object: &mut Value) -> Result<()> {
        if !DEPLOYMENTS.contains(&kind) {
            return self.enforce_toolkit(kind, object);
        }
        let spec = object
            .get_mut("spec")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| Error::invalid("spec", "the object has no spec"))?;
        let tenant = self.is_tenant();
        if tenant && spec.get("kubeConfig").is_some_and(|v| !v.is_null()) {
            return Err(refused(
                "spec.kubeConfig",
                "would run the deployment in another cluster with other credentials; a tenant's deployments run in this cluster as the tenant",
            ));
        }
        match spec.get("serviceAccountName").and_then(Value::as_str) {
            Some(name) if name != self.service_account && tenant => {
                return Err(refused(
                    "spec.serviceAccountName",
                    &format!(
                        "names {name:?}; a tenant's deployments run as its own service account {:?}",
                        self.service_account
                    ),
                ));
            }
            Some(_) => {}
            None => {
                spec.insert(
                    "serviceAccountName".into(),
                    json!(self.service_account.clone()),
                );
            }
        }
        for (pointer, field) in [
            ("/targetNamespace", "flux.targetNamespace"),
            ("/storageNamespace", "flux.storageNamespace"),
        ] {
            if let Some(name) = pointer_str(spec, pointer) {
                self.boundary.check(field, &self.namespace(field, name)?)?;
            }
        }
        let source_pointers: &[&str] = if kind == HELM_RELEASE {
            &["/chart/spec/sourceRef/namespace", "/chartRef/namespace"]
        } else {
            &["/sourceRef/namespace"]
        };
        for pointer in source_pointers {
            if let Some(name) = pointer_str(spec, pointer) {
                self.boundary.check_source_read(
                    "flux.sourceNamespace",
                    &self.namespace("flux.sourceNamespace", name)?,
                )?;
            }
        }
        for dependency in spec
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = dependency.get("namespace").and_then(Value::as_str) {
                self.boundary
                    .check("flux.dependsOn", &self.namespace("flux.dependsOn", name)?)?;
            }
        }
        let patches = spec
            .get("postRenderers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.pointer("/kustomize/patches"))
            .chain(spec.get("patches"))
            .filter_map(Value::as_array)
            .flatten();
        for patch in patches {
            if tenant && sets_namespace(patch) {
                return Err(refused(
                    "spec.postRenderers",
                    "has a patch that sets a namespace; what a tenant deploys stays in the namespaces the chart or kustomization targets",
                ));
            }
        }
        Ok(())
    }
}

impl Lockdown {
    /// The lockdown of a toolkit object: what it references (an image repository, a Git
    /// source, the deployments an Alert or Receiver names, a Secret) stays in the tenant's
    /// namespaces, as `--no-cross-namespace-refs` holds it in Flux.
    fn enforce_toolkit(&self, kind: FluxKind, object: &Value) -> Result<()> {
        if !self.is_tenant() {
            return Ok(());
        }
        let own = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let spec = object
            .get("spec")
            .ok_or_else(|| Error::invalid("spec", "the object has no spec"))?;
        let same = |pointer: &str, field: &'static str, what: &str| -> Result<()> {
            match spec.pointer(pointer).and_then(Value::as_str) {
                Some(namespace) if namespace != own => Err(refused(
                    field,
                    &format!(
                        "names {what} in namespace {namespace:?}; a tenant's {} references only its own namespace {own:?}",
                        kind.kind
                    ),
                )),
                _ => Ok(()),
            }
        };
        for (pointer, field) in [
            ("/secretRef/namespace", "spec.secretRef"),
            ("/certSecretRef/namespace", "spec.certSecretRef"),
            ("/proxySecretRef/namespace", "spec.proxySecretRef"),
        ] {
            same(pointer, field, "a Secret")?;
        }
        same(
            "/imageRepositoryRef/namespace",
            "spec.imageRepositoryRef",
            "an ImageRepository",
        )?;
        if kind == IMAGE_UPDATE_AUTOMATION {
            same("/sourceRef/namespace", "spec.sourceRef", "a source")?;
        }
        // An Alert's and a Receiver's objects may be in any of the tenant's namespaces.
        for (pointer, field) in [
            ("/eventSources", "spec.eventSources"),
            ("/resources", "spec.resources"),
        ] {
            for reference in spec
                .pointer(pointer)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = reference.get("namespace").and_then(Value::as_str) {
                    self.boundary.check(field, &self.namespace(field, name)?)?;
                }
            }
        }
        Ok(())
    }
}

fn pointer_str<'a>(spec: &'a serde_json::Map<String, Value>, pointer: &str) -> Option<&'a str> {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let first = spec.get(parts.next()?)?;
    let rest: String = parts.map(|p| format!("/{p}")).collect();
    if rest.is_empty() {
        first.as_str()
    } else {
        first.pointer(&rest).and_then(Value::as_str)
    }
}

/// Whether a kustomize patch (strategic merge or JSON 6902, as YAML text) writes a namespace.
fn sets_namespace(patch: &Value) -> bool {
    let Some(text) = patch.get("patch").and_then(Value::as_str) else {
        return false;
    };
    let Ok(parsed) = serde_yaml::from_str::<Value>(text) else {
        // A patch kustomize cannot read fails in Flux too; here it is not trusted either.
        return text.contains("namespace");
    };
    match parsed {
        Value::Array(operations) => operations.iter().any(|op| {
            op.get("path")
                .and_then(Value::as_str)
                .is_some_and(|path| path.ends_with("/namespace") || path == "/metadata")
        }),
        object => object.pointer("/metadata/namespace").is_some(),
    }
}

fn refused(field: &'static str, message: &str) -> Error {
    Error::OutsideBoundary {
        field,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::KUSTOMIZATION;

    fn tenant() -> Lockdown {
        let ns = |n: &str| NamespaceRef::in_default(n).unwrap();
        Lockdown::for_write(
            &RunAs::tenant("team-a", "pilothouse-tenant"),
            Boundary::Tenant {
                tenant: "team-a".into(),
                namespaces: [ns("team-a"), ns("team-a-staging")].into(),
                shared_sources: [ns("flux-system")].into(),
            },
            &ClusterId::default(),
        )
        .unwrap()
    }

    fn field_of(error: Error) -> &'static str {
        match error {
            Error::OutsideBoundary { field, .. } => field,
            other => panic!("expected a refusal, got {other}"),
        }
    }

    #[test]
    fn a_tenant_toolkit_object_references_only_the_tenants_namespaces() {
        use crate::kinds::{ALERT, IMAGE_POLICY, IMAGE_UPDATE_AUTOMATION, RECEIVER};
        let lockdown = tenant();
        let object = |spec: Value| json!({ "metadata": { "namespace": "team-a" }, "spec": spec });
        for (kind, spec, field) in [
            (
                IMAGE_POLICY,
                json!({ "imageRepositoryRef": { "name": "web", "namespace": "team-b" } }),
                "spec.imageRepositoryRef",
            ),
            (
                IMAGE_POLICY,
                json!({ "imageRepositoryRef": { "name": "web", "namespace": "team-a-staging" } }),
                "spec.imageRepositoryRef",
            ),
            (
                IMAGE_UPDATE_AUTOMATION,
                json!({ "sourceRef": { "kind": "GitRepository", "name": "x", "namespace": "flux-system" } }),
                "spec.sourceRef",
            ),
            (
                ALERT,
                json!({ "eventSources": [{ "kind": "HelmRelease", "name": "*", "namespace": "team-b" }] }),
                "spec.eventSources",
            ),
            (
                RECEIVER,
                json!({ "resources": [{ "kind": "GitRepository", "name": "x", "namespace": "kube-system" }] }),
                "spec.resources",
            ),
            (
                ALERT,
                json!({ "secretRef": { "name": "x", "namespace": "team-b" } }),
                "spec.secretRef",
            ),
        ] {
            let mut written = object(spec);
            assert_eq!(
                field_of(lockdown.enforce(kind, &mut written).unwrap_err()),
                field
            );
        }
        let mut inside =
            object(json!({ "imageRepositoryRef": { "name": "web", "namespace": "team-a" } }));
        lockdown
            .enforce(IMAGE_POLICY, &mut inside)
            .expect("its own namespace");
        let mut alert = object(
            json!({ "eventSources": [{ "kind": "Kustomization", "name": "shop", "namespace": "team-a-staging" }] }),
        );
        lockdown
            .enforce(ALERT, &mut alert)
            .expect("another of its namespaces");
        assert!(
            alert["spec"].get("serviceAccountName").is_none(),
            "not a deployment"
        );
    }

    #[test]
    fn a_tenant_object_runs_as_the_tenant_and_stays_inside() {
        let lockdown = tenant();
        let mut ok = json!({ "spec": { "targetNamespace": "team-a-staging",
            "chart": { "spec": { "chart": "web", "sourceRef": { "kind": "HelmRepository", "name": "shared", "namespace": "flux-system" } } },
            "dependsOn": [{ "name": "db", "namespace": "team-a" }] } });
        lockdown.enforce(HELM_RELEASE, &mut ok).unwrap();
        assert_eq!(ok["spec"]["serviceAccountName"], "pilothouse-tenant");

        let cases = [
            (
                json!({ "targetNamespace": "kube-system" }),
                "flux.targetNamespace",
            ),
            (
                json!({ "storageNamespace": "team-b" }),
                "flux.storageNamespace",
            ),
            (
                json!({ "chart": { "spec": { "sourceRef": { "namespace": "team-b" } } } }),
                "flux.sourceNamespace",
            ),
            (
                json!({ "kubeConfig": { "secretRef": { "name": "remote" } } }),
                "spec.kubeConfig",
            ),
            (
                json!({ "serviceAccountName": "default" }),
                "spec.serviceAccountName",
            ),
            (
                json!({ "dependsOn": [{ "name": "db", "namespace": "team-b" }] }),
                "flux.dependsOn",
            ),
            (
                json!({ "postRenderers": [{ "kustomize": { "patches": [{ "patch": "- op: replace\n  path: /metadata/namespace\n  value: team-b\n" }] } }] }),
                "spec.postRenderers",
            ),
            (
                json!({ "postRenderers": [{ "kustomize": { "patches": [{ "patch": "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  namespace: team-b\n" }] } }] }),
                "spec.postRenderers",
            ),
        ];
        for (spec, field) in cases {
            let mut object = json!({ "spec": spec });
            let error = lockdown.enforce(HELM_RELEASE, &mut object).unwrap_err();
            assert_eq!(error.status(), 403);
            assert_eq!(field_of(error), field, "{spec}");
        }
        let mut kustomization = json!({ "spec": { "sourceRef": { "kind": "GitRepository", "name": "x", "namespace": "team-b" } } });
        assert_eq!(
            field_of(
                lockdown
                    .enforce(KUSTOMIZATION, &mut kustomization)
                    .unwrap_err()
            ),
            "flux.sourceNamespace"
        );
        let mut harmless = json!({ "spec": { "postRenderers": [{ "kustomize": { "patches": [{ "patch": "- op: add\n  path: /spec/replicas\n  value: 2\n" }] } }] } });
        lockdown.enforce(HELM_RELEASE, &mut harmless).unwrap();
    }

    #[test]
    fn platform_admins_run_tenant_objects_as_the_tenant_but_may_reach_anywhere() {
        let admin = Lockdown::for_write(
            &RunAs::tenant("team-a", "pilothouse-tenant"),
            Boundary::Unrestricted,
            &ClusterId::default(),
        )
        .unwrap();
        let mut object = json!({ "spec": { "targetNamespace": "kube-system" } });
        admin.enforce(HELM_RELEASE, &mut object).unwrap();
        assert_eq!(object["spec"]["serviceAccountName"], "pilothouse-tenant");
        let mut chosen = json!({ "spec": { "serviceAccountName": "platform-deployer", "kubeConfig": { "secretRef": { "name": "edge" } } } });
        admin.enforce(HELM_RELEASE, &mut chosen).unwrap();
        assert_eq!(chosen["spec"]["serviceAccountName"], "platform-deployer");
        assert!(
            Lockdown::for_write(
                &RunAs::Pilothouse,
                Boundary::Unrestricted,
                &ClusterId::default()
            )
            .is_none()
        );
    }
}
