//! Tenant identities in the clusters: assigning a namespace makes its service account and
//! role binding, unassigning removes them, and a repair pass (at start-up and periodically)
//! puts back what drifted and removes what no assignment explains. Every change is audited.

use super::{AuditTarget, RequestContext, Service};
use crate::Result;
use crate::access::Action;
use crate::adapters::context::{RunAs, TENANT_SERVICE_ACCOUNT};
use crate::adapters::identity::{self, Desired};
use model::reference::NamespaceRef;
use serde_json::json;

impl Service {
    /// Makes (or repairs) the identity of a tenant namespace, auditing it when it changes
    /// anything. Nothing happens when no cluster is configured.
    pub(super) async fn provision_identity(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
        tenant: &str,
    ) -> Result<Vec<String>> {
        let Ok(cluster) = self.registry.cluster(namespace.cluster()) else {
            return Ok(Vec::new());
        };
        let client = cluster.connection().client();
        let nested_flux = self.grants(ctx).await?.tenancy.nested_flux.contains(tenant);
        let desired = Desired {
            home: cluster.connection().home_namespace(),
            namespace: namespace.name(),
            tenant,
            nested_flux,
            roles: cluster.connection().cluster_roles(),
        };
        let drift = identity::ensure(client, &desired, true).await?;
        if drift.is_empty() {
            return Ok(drift);
        }
        let target = identity_target(
            namespace,
            Some(tenant),
            cluster.connection().cluster_roles(),
            json!({ "drift": drift, "nestedFlux": nested_flux }),
        );
        self.audited(ctx, Action::TenantIdentityEnsure, &target, async |_| {
            identity::ensure(client, &desired, false).await
        })
        .await
    }

    /// Removes the identity of a namespace no tenant owns any more, auditing what it removed.
    pub(super) async fn retire_identity(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
        tenant: Option<&str>,
    ) -> Result<Vec<String>> {
        let Ok(cluster) = self.registry.cluster(namespace.cluster()) else {
            return Ok(Vec::new());
        };
        let target = identity_target(
            namespace,
            tenant,
            cluster.connection().cluster_roles(),
            json!({}),
        );
        self.audited(ctx, Action::TenantIdentityRemove, &target, async |_| {
            let connection = cluster.connection();
            identity::remove(
                connection.client(),
                connection.home_namespace(),
                namespace.name(),
            )
            .await
        })
        .await
    }

    /// Retires the accounts of a namespace that goes from tenant `previous` to another, with
    /// their token Secrets, audited; [`Self::provision_identity`] then makes new ones.
    pub(super) async fn rotate_identity(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
        previous: &str,
    ) -> Result<Vec<String>> {
        let Ok(cluster) = self.registry.cluster(namespace.cluster()) else {
            return Ok(Vec::new());
        };
        let connection = cluster.connection();
        let as_tenant =
            connection.client_as(&RunAs::tenant(namespace.name(), TENANT_SERVICE_ACCOUNT))?;
        let target = identity_target(
            namespace,
            Some(previous),
            connection.cluster_roles(),
            json!({ "rotated": true }),
        );
        self.audited(ctx, Action::TenantIdentityRemove, &target, async |_| {
            identity::rotate(
                connection.client(),
                &as_tenant,
                connection.home_namespace(),
                namespace.name(),
            )
            .await
        })
        .await
    }

    /// One repair pass as Pilothouse itself: every assigned namespace gets its identity back,
    /// and identities in namespaces no tenant owns are removed. Returns what changed; a
    /// namespace that fails is reported and the pass goes on.
    pub async fn repair_tenant_identities(&self) -> Result<Vec<String>> {
        let ctx = RequestContext::system();
        let owners = self.grants(&ctx).await?.tenancy.namespace_owners.clone();
        let mut report = Vec::new();
        for (namespace, tenant) in &owners {
            match self.provision_identity(&ctx, namespace, tenant).await {
                Ok(changed) => report.extend(changed),
                Err(error) => report.push(format!(
                    "namespace {} of tenant {tenant}: {error}",
                    namespace.name()
                )),
            }
        }
        for cluster in self.registry.clusters() {
            let id = cluster.connection().id().clone();
            let connection = cluster.connection();
            let home = connection.home_namespace();
            let provisioned = match identity::provisioned(connection.client(), home).await {
                Ok(found) => found,
                Err(error) => {
                    report.push(format!("cluster {id}: {error}"));
                    continue;
                }
            };
            for (name, tenant) in provisioned {
                let Ok(namespace) = NamespaceRef::new(id.clone(), &name) else {
                    continue;
                };
                if owners.contains_key(&namespace) {
                    continue;
                }
                match self.retire_identity(&ctx, &namespace, Some(&tenant)).await {
                    Ok(removed) => report.extend(removed),
                    Err(error) => report.push(format!("namespace {name}: {error}")),
                }
            }
        }
        Ok(report)
    }
}

fn identity_target(
    namespace: &NamespaceRef,
    tenant: Option<&str>,
    roles: &identity::ClusterRoles,
    mut parameters: serde_json::Value,
) -> AuditTarget {
    parameters["serviceAccount"] = json!(TENANT_SERVICE_ACCOUNT);
    parameters["clusterRole"] = json!(roles.tenant());
    AuditTarget {
        tenant: tenant.map(str::to_owned),
        cluster: Some(namespace.cluster().clone()),
        namespace: Some(namespace.name().to_owned()),
        kind: Some("ServiceAccount"),
        name: Some(TENANT_SERVICE_ACCOUNT.to_owned()),
        parameters,
    }
}
