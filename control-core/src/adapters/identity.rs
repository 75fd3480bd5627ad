//! The Kubernetes identities of a tenant namespace, made when a namespace is assigned, removed
//! when it is unassigned, and repaired when they drift:
//!
//! - the tenant account `pilothouse-tenant` in the namespace, bound there to the
//!   `pilothouse-tenant` ClusterRole: what helm and the Flux controllers apply tenant content
//!   as. It may not write Flux objects, so content cannot plant a Kustomization that
//!   kustomize-controller would apply with its own rights;
//! - the writer account `flux-writer-<namespace>` in Pilothouse's own namespace (no tenant pod
//!   can mount it there), bound in the tenant namespace to `pilothouse-flux-writer`: what
//!   Pilothouse's own Flux writes run as, after its lockdown check;
//! - only when a platform-admin allows nested Flux objects for the tenant, a second binding
//!   of `pilothouse-flux-writer` to the tenant account.
//!
//! Each object is read first, then created or patched by name: Pilothouse's ClusterRole may
//! create these kinds anywhere but patch or delete only the ones with these names.

use super::cluster_error;
use super::context::{RunAs, TENANT_SERVICE_ACCOUNT};
use crate::Result;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use std::collections::BTreeMap;

/// The names of Pilothouse's ClusterRoles in one cluster. The chart names them after its
/// release (`tenancy.clusterRolePrefix`), so two installs in one cluster do not collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRoles {
    prefix: String,
}

impl ClusterRoles {
    /// The roles named `<prefix>-tenant` and `<prefix>-flux-writer`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The ClusterRole every tenant account is bound to (deploy/rbac.yaml's
    /// `pilothouse-tenant`): what tenant content is applied with.
    pub fn tenant(&self) -> String {
        format!("{}-tenant", self.prefix)
    }

    /// The ClusterRole that may write Flux objects: bound to each namespace's writer account,
    /// and to the tenant account only where nested Flux objects are allowed.
    pub fn writer(&self) -> String {
        format!("{}-flux-writer", self.prefix)
    }
}

impl Default for ClusterRoles {
    /// deploy/rbac.yaml's names.
    fn default() -> Self {
        Self::new("pilothouse")
    }
}

/// The binding of the writer role to the writer account, in the tenant namespace.
pub const WRITER_BINDING: &str = "pilothouse-flux-writer";
/// The binding of the writer role to the tenant account (nested Flux objects allowed).
pub const NESTED_FLUX_BINDING: &str = "pilothouse-tenant-flux";
/// The label that marks what Pilothouse provisioned, with the tenant as its value.
pub const TENANT_LABEL: &str = "pilothouse.dev/tenant";
/// The label on a writer account naming the tenant namespace it writes in.
pub const NAMESPACE_LABEL: &str = "pilothouse.dev/namespace";
/// Writer accounts are named with this prefix and the tenant namespace.
const WRITER_PREFIX: &str = "flux-writer-";
/// Pilothouse's own namespace when the configuration names none.
pub const DEFAULT_HOME_NAMESPACE: &str = "pilothouse";

const FIELD_MANAGER: &str = "pilothouse";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The writer account of tenant namespace `namespace`, in Pilothouse's namespace `home`.
pub fn flux_writer(home: &str, namespace: &str) -> RunAs {
    RunAs::tenant(home, &format!("{WRITER_PREFIX}{namespace}"))
}

/// What one tenant namespace should have in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired<'a> {
    /// Pilothouse's own namespace, where the writer account lives.
    pub home: &'a str,
    /// The tenant namespace.
    pub namespace: &'a str,
    /// Its tenant.
    pub tenant: &'a str,
    /// Whether the tenant account may write Flux objects (nested Flux allowed).
    pub nested_flux: bool,
    /// The ClusterRoles the bindings refer to.
    pub roles: &'a ClusterRoles,
}

impl Desired<'_> {
    fn writer_name(&self) -> String {
        format!("{WRITER_PREFIX}{}", self.namespace)
    }

    fn tenant_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "app.kubernetes.io/managed-by".to_owned(),
                "pilothouse".to_owned(),
            ),
            (TENANT_LABEL.to_owned(), self.tenant.to_owned()),
        ])
    }

    fn writer_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.tenant_labels();
        labels.insert(NAMESPACE_LABEL.to_owned(), self.namespace.to_owned());
        labels
    }

    fn binding(&self, name: &str, role: &str, account: (&str, &str)) -> RoleBinding {
        RoleBinding {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(self.namespace.to_owned()),
                labels: Some(self.tenant_labels()),
                ..ObjectMeta::default()
            },
            role_ref: RoleRef {
                api_group: Some(RBAC_GROUP.into()),
                kind: "ClusterRole".into(),
                name: role.into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: account.1.into(),
                namespace: Some(account.0.to_owned()),
                api_group: None,
            }]),
        }
    }
}

/// Makes (or repairs) the identities of one tenant namespace; returns what it changed, empty
/// when everything was in place. With `dry_run` it only says what it would change.
pub async fn ensure(client: &Client, desired: &Desired<'_>, dry_run: bool) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    let ns = desired.namespace;
    // A namespace may be given to a tenant before it exists: there is nothing to make in it
    // yet, and the repair pass makes its identities once it does.
    if Api::<Namespace>::all(client.clone())
        .get_opt(ns)
        .await
        .map_err(cluster_error)?
        .is_none()
    {
        return Ok(changed);
    }
    ensure_account(
        client,
        (ns, TENANT_SERVICE_ACCOUNT),
        desired.tenant_labels(),
        dry_run,
        &mut changed,
    )
    .await?;
    let tenant_binding = desired.binding(
        TENANT_SERVICE_ACCOUNT,
        &desired.roles.tenant(),
        (ns, TENANT_SERVICE_ACCOUNT),
    );
    ensure_binding(client, &tenant_binding, dry_run, &mut changed).await?;
    let writer = desired.writer_name();
    ensure_account(
        client,
        (desired.home, &writer),
        desired.writer_labels(),
        dry_run,
        &mut changed,
    )
    .await?;
    let writer_binding = desired.binding(
        WRITER_BINDING,
        &desired.roles.writer(),
        (desired.home, &writer),
    );
    ensure_binding(client, &writer_binding, dry_run, &mut changed).await?;
    if desired.nested_flux {
        let nested = desired.binding(
            NESTED_FLUX_BINDING,
            &desired.roles.writer(),
            (ns, TENANT_SERVICE_ACCOUNT),
        );
        ensure_binding(client, &nested, dry_run, &mut changed).await?;
    } else {
        let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), ns);
        delete_if_present(
            &bindings,
            ns,
            NESTED_FLUX_BINDING,
            "RoleBinding",
            dry_run,
            &mut changed,
        )
        .await?;
    }
    Ok(changed)
}

/// Removes every identity of tenant namespace `namespace`; returns what it deleted.
pub async fn remove(client: &Client, home: &str, namespace: &str) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
    for name in [NESTED_FLUX_BINDING, WRITER_BINDING, TENANT_SERVICE_ACCOUNT] {
        delete_if_present(
            &bindings,
            namespace,
            name,
            "RoleBinding",
            false,
            &mut removed,
        )
        .await?;
    }
    delete_accounts(client, home, namespace, &mut removed).await?;
    Ok(removed)
}

/// Deletes the tenant account of `namespace` and its writer account in `home`.
async fn delete_accounts(
    client: &Client,
    home: &str,
    namespace: &str,
    done: &mut Vec<String>,
) -> Result<()> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    delete_if_present(
        &accounts,
        namespace,
        TENANT_SERVICE_ACCOUNT,
        "ServiceAccount",
        false,
        done,
    )
    .await?;
    let writers: Api<ServiceAccount> = Api::namespaced(client.clone(), home);
    delete_if_present(
        &writers,
        home,
        &format!("{WRITER_PREFIX}{namespace}"),
        "ServiceAccount",
        false,
        done,
    )
    .await
}

/// Retires the accounts of tenant namespace `namespace` before it goes to another tenant, so
/// that no token minted under the old tenant works any more: every service-account token
/// Secret naming the tenant account is deleted (through `as_tenant`, the account itself, whose
/// role may delete Secrets in its namespace; Pilothouse's own may not), then the tenant and
/// writer accounts. The API server binds every token to its account's UID, so tokens of the
/// old accounts stop there even before [`ensure`] makes the accounts anew.
pub async fn rotate(
    client: &Client,
    as_tenant: &Client,
    home: &str,
    namespace: &str,
) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), namespace);
    let found = secrets
        .list(&ListParams::default().fields("type=kubernetes.io/service-account-token"))
        .await
        .map_err(cluster_error)?;
    let deleting: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(as_tenant.clone(), namespace);
    for secret in found.items {
        let names_tenant = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubernetes.io/service-account.name"))
            .is_some_and(|account| account == TENANT_SERVICE_ACCOUNT);
        // The field selector narrows the list on a real API server; the type is checked here
        // too, so a server that ignores the selector deletes nothing else.
        let is_token = secret.type_.as_deref() == Some("kubernetes.io/service-account-token");
        let Some(name) = secret
            .metadata
            .name
            .as_deref()
            .filter(|_| names_tenant && is_token)
        else {
            continue;
        };
        deleting
            .delete(name, &DeleteParams::default())
            .await
            .map_err(cluster_error)?;
        done.push(format!("deleted token Secret {namespace}/{name}"));
    }
    delete_accounts(client, home, namespace, &mut done).await?;
    Ok(done)
}

/// The tenant namespaces that hold identities Pilothouse made, with their tenant label: those
/// with a tenant account, and those named by a writer account in `home`.
pub async fn provisioned(client: &Client, home: &str) -> Result<BTreeMap<String, String>> {
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    let found = accounts
        .list(&ListParams::default().labels(TENANT_LABEL))
        .await
        .map_err(cluster_error)?;
    Ok(found
        .items
        .into_iter()
        .filter_map(|account| {
            let labels = account.metadata.labels.as_ref()?;
            let tenant = labels.get(TENANT_LABEL)?.clone();
            let name = account.metadata.name.as_deref()?;
            let namespace = account.metadata.namespace.as_deref()?;
            if name == TENANT_SERVICE_ACCOUNT {
                Some((namespace.to_owned(), tenant))
            } else if namespace == home && name.starts_with(WRITER_PREFIX) {
                Some((labels.get(NAMESPACE_LABEL)?.clone(), tenant))
            } else {
                None
            }
        })
        .collect())
}

async fn ensure_account(
    client: &Client,
    (namespace, name): (&str, &str),
    labels: BTreeMap<String, String>,
    dry_run: bool,
    changed: &mut Vec<String>,
) -> Result<()> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let found = accounts.get_opt(name).await.map_err(cluster_error)?;
    let what = format!("ServiceAccount {namespace}/{name}");
    match found {
        None if dry_run => changed.push(format!("{what} is missing")),
        None => {
            let account = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                ..ServiceAccount::default()
            };
            accounts
                .create(&post_params(), &account)
                .await
                .map_err(cluster_error)?;
            changed.push(format!("created {what}"));
        }
        Some(account) if account.metadata.labels.as_ref() != Some(&labels) => {
            if dry_run {
                changed.push(format!("{what} has other labels"));
                return Ok(());
            }
            let patch = serde_json::json!({ "metadata": { "labels": labels } });
            accounts
                .patch(name, &patch_params(), &Patch::Merge(patch))
                .await
                .map_err(cluster_error)?;
            changed.push(format!("relabelled {what}"));
        }
        Some(_) => {}
    }
    Ok(())
}

async fn ensure_binding(
    client: &Client,
    desired: &RoleBinding,
    dry_run: bool,
    changed: &mut Vec<String>,
) -> Result<()> {
    let namespace = desired.metadata.namespace.as_deref().unwrap_or_default();
    let name = desired.metadata.name.as_deref().unwrap_or_default();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
    let what = format!("RoleBinding {namespace}/{name}");
    match bindings.get_opt(name).await.map_err(cluster_error)? {
        None if dry_run => changed.push(format!("{what} is missing")),
        None => {
            bindings
                .create(&post_params(), desired)
                .await
                .map_err(cluster_error)?;
            changed.push(format!("created {what}"));
        }
        Some(found) if found.role_ref != desired.role_ref => {
            let was = format!("{} {}", found.role_ref.kind, found.role_ref.name);
            if dry_run {
                changed.push(format!("{what} binds {was}"));
                return Ok(());
            }
            // roleRef cannot change: a binding to another role is replaced.
            bindings
                .delete(name, &DeleteParams::default())
                .await
                .map_err(cluster_error)?;
            bindings
                .create(&post_params(), desired)
                .await
                .map_err(cluster_error)?;
            changed.push(format!("replaced {what}, which bound {was}"));
        }
        Some(found)
            if found.subjects != desired.subjects
                || found.metadata.labels != desired.metadata.labels =>
        {
            if dry_run {
                changed.push(format!("{what} has other subjects or labels"));
                return Ok(());
            }
            let patch = serde_json::json!({
                "metadata": { "labels": desired.metadata.labels },
                "subjects": desired.subjects,
            });
            bindings
                .patch(name, &patch_params(), &Patch::Merge(patch))
                .await
                .map_err(cluster_error)?;
            changed.push(format!("restored the subjects of {what}"));
        }
        Some(_) => {}
    }
    Ok(())
}

async fn delete_if_present<K>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    kind: &str,
    dry_run: bool,
    changed: &mut Vec<String>,
) -> Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if api.get_opt(name).await.map_err(cluster_error)?.is_none() {
        return Ok(());
    }
    if dry_run {
        changed.push(format!("{kind} {namespace}/{name} should not exist"));
        return Ok(());
    }
    api.delete(name, &DeleteParams::default())
        .await
        .map_err(cluster_error)?;
    changed.push(format!("deleted {kind} {namespace}/{name}"));
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_lives_in_pilothouse_namespace_and_names_the_tenant_namespace() {
        let writer = flux_writer("pilothouse", "team-a");
        assert_eq!(
            writer.user_name().as_deref(),
            Some("system:serviceaccount:pilothouse:flux-writer-team-a")
        );
        let roles = ClusterRoles::new("staging-pilothouse");
        let desired = Desired {
            home: "pilothouse",
            namespace: "team-a",
            tenant: "a",
            nested_flux: false,
            roles: &roles,
        };
        let binding = desired.binding(
            WRITER_BINDING,
            &desired.roles.writer(),
            ("pilothouse", &desired.writer_name()),
        );
        assert_eq!(binding.metadata.namespace.as_deref(), Some("team-a"));
        let subject = &binding.subjects.as_ref().expect("subjects")[0];
        assert_eq!(subject.namespace.as_deref(), Some("pilothouse"));
        assert_eq!(subject.name, "flux-writer-team-a");
        assert_eq!(binding.role_ref.name, "staging-pilothouse-flux-writer");
        assert_eq!(ClusterRoles::default().tenant(), "pilothouse-tenant");
    }
}
