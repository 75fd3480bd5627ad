//! What the SIMULATED Flux controllers may do as a deployment's `spec.serviceAccountName`:
//! like helm-controller and kustomize-controller under Flux's lockdown, they act as that
//! service account, so a HelmRelease or Kustomization whose content reaches outside the
//! account's rights fails with the API server's refusal. Without a service account they act
//! as themselves (cluster-admin in a default Flux install).

use crate::rbac::{self, Attributes, UserInfo};
use crate::store::Store;
use serde_json::Value;

/// Why the deployment's service account may not apply it, as the controller reports it.
pub fn refusal(store: &Store, kind: &str, object: &Value) -> Option<(&'static str, String)> {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
    let account = text("/spec/serviceAccountName")?;
    let namespace = text("/metadata/namespace").unwrap_or("default");
    let name = text("/metadata/name").unwrap_or_default();
    let user = UserInfo::service_account(namespace, account);
    let target = text("/spec/targetNamespace").unwrap_or(namespace);
    let denied = |verb: &str, group: &str, resource: &str, in_namespace: &str| {
        let attributes = Attributes {
            verb,
            group,
            resource,
            subresource: None,
            namespace: Some(in_namespace),
            name: None,
        };
        (!rbac::allows(store, &user, &attributes)).then(|| rbac::forbidden(&user, &attributes))
    };
    if kind == "HelmRelease" {
        let storage = text("/spec/storageNamespace").unwrap_or(namespace);
        let refused = denied("create", "", "secrets", storage)
            .or_else(|| denied("create", "apps", "deployments", target))?;
        let chart = text("/spec/chart/spec/chart").unwrap_or("chart");
        let version = text("/spec/chart/spec/version").unwrap_or("*");
        return Some((
            "InstallFailed",
            format!(
                "Helm install failed for release {target}/{name} with chart {chart}@{version}: {}",
                refused.message
            ),
        ));
    }
    let refused = denied("patch", "apps", "deployments", target)?;
    Some((
        "ReconciliationFailed",
        format!(
            "Deployment/{target}/{name} dry-run failed (Forbidden): {}",
            refused.message
        ),
    ))
}
