//! The Kubernetes identity of a tenant namespace: the service account Pilothouse acts as there
//! and the RoleBinding that gives it the shipped `pilothouse-tenant` ClusterRole in that
//! namespace only. Made when a namespace is assigned, removed when it is unassigned, and
//! repaired when it drifts.
//!
//! Each object is read first, then created or patched by name: Pilothouse's ClusterRole may
//! create these kinds anywhere but patch or delete only the ones called `pilothouse-tenant`.

use super::cluster_error;
use super::context::TENANT_SERVICE_ACCOUNT;
use crate::Result;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use std::collections::BTreeMap;

/// The ClusterRole every tenant service account is bound to (deploy/rbac.yaml).
pub const TENANT_CLUSTER_ROLE: &str = "pilothouse-tenant";
/// The label that marks what Pilothouse provisioned, with the tenant as its value.
pub const TENANT_LABEL: &str = "pilothouse.dev/tenant";

const FIELD_MANAGER: &str = "pilothouse";

fn labels(tenant: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "pilothouse".to_owned(),
        ),
        (TENANT_LABEL.to_owned(), tenant.to_owned()),
    ])
}

fn desired_binding(namespace: &str, tenant: &str) -> RoleBinding {
    RoleBinding {
        metadata: ObjectMeta {
            name: Some(TENANT_SERVICE_ACCOUNT.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels(tenant)),
            ..ObjectMeta::default()
        },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: TENANT_CLUSTER_ROLE.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: TENANT_SERVICE_ACCOUNT.into(),
            namespace: Some(namespace.to_owned()),
            api_group: None,
        }]),
    }
}

/// Makes (or repairs) the tenant identity of `namespace`; returns what it changed, empty when
/// everything was in place. With `dry_run` it only says what it would change.
pub async fn ensure(
    client: &Client,
    namespace: &str,
    tenant: &str,
    dry_run: bool,
) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    match accounts
        .get_opt(TENANT_SERVICE_ACCOUNT)
        .await
        .map_err(cluster_error)?
    {
        None if dry_run => changed.push(format!(
            "ServiceAccount {namespace}/{TENANT_SERVICE_ACCOUNT} is missing"
        )),
        None => {
            let account = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(TENANT_SERVICE_ACCOUNT.to_owned()),
                    labels: Some(labels(tenant)),
                    ..ObjectMeta::default()
                },
                ..ServiceAccount::default()
            };
            accounts
                .create(&post_params(), &account)
                .await
                .map_err(cluster_error)?;
            changed.push(format!(
                "created ServiceAccount {namespace}/{TENANT_SERVICE_ACCOUNT}"
            ));
        }
        Some(account) if account.metadata.labels.as_ref() != Some(&labels(tenant)) && dry_run => {
            changed.push(format!(
                "ServiceAccount {namespace}/{TENANT_SERVICE_ACCOUNT} has other labels"
            ));
        }
        Some(account) if account.metadata.labels.as_ref() != Some(&labels(tenant)) => {
            let patch = serde_json::json!({ "metadata": { "labels": labels(tenant) } });
            accounts
                .patch(
                    TENANT_SERVICE_ACCOUNT,
                    &patch_params(),
                    &Patch::Merge(patch),
                )
                .await
                .map_err(cluster_error)?;
            changed.push(format!(
                "relabelled ServiceAccount {namespace}/{TENANT_SERVICE_ACCOUNT}"
            ));
        }
        Some(_) => {}
    }
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
    let desired = desired_binding(namespace, tenant);
    match bindings
        .get_opt(TENANT_SERVICE_ACCOUNT)
        .await
        .map_err(cluster_error)?
    {
        None if dry_run => changed.push(format!(
            "RoleBinding {namespace}/{TENANT_SERVICE_ACCOUNT} is missing"
        )),
        None => {
            bindings
                .create(&post_params(), &desired)
                .await
                .map_err(cluster_error)?;
            changed.push(format!(
                "created RoleBinding {namespace}/{TENANT_SERVICE_ACCOUNT}"
            ));
        }
        Some(found) if found.role_ref != desired.role_ref && dry_run => changed.push(format!(
            "RoleBinding {namespace}/{TENANT_SERVICE_ACCOUNT} binds {} {}",
            found.role_ref.kind, found.role_ref.name
        )),
        // roleRef cannot change: a binding to another role is replaced.
        Some(found) if found.role_ref != desired.role_ref => {
            bindings
                .delete(TENANT_SERVICE_ACCOUNT, &DeleteParams::default())
                .await
                .map_err(cluster_error)?;
            bindings
                .create(&post_params(), &desired)
                .await
                .map_err(cluster_error)?;
            changed.push(format!(
                "replaced RoleBinding {namespace}/{TENANT_SERVICE_ACCOUNT}, which bound {} {}",
                found.role_ref.kind, found.role_ref.name
            ));
        }
        Some(found)
            if found.subjects != desired.subjects
                || found.metadata.labels != desired.metadata.labels =>
        {
            if dry_run {
                changed.push(format!(
                    "RoleBinding {namespace}/{TENANT_SERVICE_ACCOUNT} has other subjects or labels"
                ));
                return Ok(changed);
            }
            let patch = serde_json::json!({
                "metadata": { "labels": labels(tenant) },
                "subjects": desired.subjects,
            });
            bindings
                .patch(
                    TENANT_SERVICE_ACCOUNT,
                    &patch_params(),
                    &Patch::Merge(patch),
                )
                .await
                .map_err(cluster_error)?;
            changed.push(format!(
                "restored the subjects of RoleBinding {namespace}/{TENANT_SERVICE_ACCOUNT}"
            ));
        }
        Some(_) => {}
    }
    Ok(changed)
}

/// Removes the tenant identity of `namespace`; returns what it deleted.
pub async fn remove(client: &Client, namespace: &str) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
    if bindings
        .get_opt(TENANT_SERVICE_ACCOUNT)
        .await
        .map_err(cluster_error)?
        .is_some()
    {
        bindings
            .delete(TENANT_SERVICE_ACCOUNT, &DeleteParams::default())
            .await
            .map_err(cluster_error)?;
        removed.push(format!(
            "deleted RoleBinding {namespace}/{TENANT_SERVICE_ACCOUNT}"
        ));
    }
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    if accounts
        .get_opt(TENANT_SERVICE_ACCOUNT)
        .await
        .map_err(cluster_error)?
        .is_some()
    {
        accounts
            .delete(TENANT_SERVICE_ACCOUNT, &DeleteParams::default())
            .await
            .map_err(cluster_error)?;
        removed.push(format!(
            "deleted ServiceAccount {namespace}/{TENANT_SERVICE_ACCOUNT}"
        ));
    }
    Ok(removed)
}

/// The namespaces that hold a tenant service account Pilothouse made, with its tenant label.
pub async fn provisioned(client: &Client) -> Result<BTreeMap<String, String>> {
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    let found = accounts
        .list(&ListParams::default().labels(TENANT_LABEL))
        .await
        .map_err(cluster_error)?;
    Ok(found
        .items
        .into_iter()
        .filter(|a| a.metadata.name.as_deref() == Some(TENANT_SERVICE_ACCOUNT))
        .filter_map(|a| {
            let tenant = a.metadata.labels.as_ref()?.get(TENANT_LABEL)?.clone();
            Some((a.metadata.namespace?, tenant))
        })
        .collect())
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    }
}

fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    }
}
