//! Packages: chart archives uploaded to a namespace (checked, stored content-addressed),
//! listed with the Flux sources, deleted unless a release still runs them; and previews of
//! Helm changes before they are applied.

use super::{RequestContext, Service, permissions};
use crate::access::{Action, Namespaces, policy};
use crate::adapters::Charts;
use crate::adapters::helm::package::inspect;
use crate::store::packages::PackageStore;
use crate::{Error, Result};
use model::deployment::Preview;
use model::reference::{DeploymentRef, NamespaceRef};
use model::source::{Package, PackageLimits};
use serde_json::json;

impl Service {
    /// The uploaded packages.
    fn packages(&self) -> PackageStore {
        PackageStore::new(self.pool.clone())
    }

    /// The Helm adapter's chart capability.
    pub(super) fn helm(&self) -> Result<&dyn Charts> {
        self.registry
            .primaries()
            .find_map(|a| a.as_charts())
            .ok_or_else(|| {
                Error::AdapterUnhealthy(
                    "no Helm adapter is configured (helm.binary and a kubeconfig)".into(),
                )
            })
    }

    /// Checks and stores a chart archive in `namespace`.
    pub async fn upload_package(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
        archive: &[u8],
        limits: PackageLimits,
    ) -> Result<Package> {
        let (scope, mut target, _) = self
            .namespaced(
                ctx,
                Action::PackageUpload,
                namespace,
                None,
                json!({ "bytes": archive.len() }),
            )
            .await?;
        target.kind = Some("package");
        // Packages exist for the Helm adapter: without one, uploads are refused.
        self.helm()?;
        let uploader = ctx
            .principal
            .email
            .clone()
            .unwrap_or_else(|| ctx.principal.subject.clone());
        self.audited(ctx, Action::PackageUpload, &target, async |_| {
            let info = inspect(archive, limits)?;
            self.packages()
                .put(scope.namespace().name(), &info, archive, &uploader)
                .await
        })
        .await
    }

    /// Packages in the namespaces the caller may see.
    pub async fn list_packages(&self, ctx: &RequestContext) -> Result<Vec<Package>> {
        let grants = self.grants(ctx).await?;
        self.helm()?;
        let mut packages = match policy::visible_namespaces(&grants, Action::PackageList) {
            Namespaces::All => self.packages().list(None).await?,
            Namespaces::Only(set) => {
                let namespaces: Vec<String> = set.iter().map(|ns| ns.name().to_owned()).collect();
                self.packages().list(Some(&namespaces)).await?
            }
        };
        let allowed = permissions::permissions_by_namespace(
            &grants,
            packages.iter().map(|p| p.namespace.as_str()),
            &permissions::PACKAGE_ROW,
        );
        for package in &mut packages {
            package.permissions = allowed.get(&package.namespace).cloned().unwrap_or_default();
        }
        Ok(packages)
    }

    /// One package.
    pub async fn get_package(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
        id: &str,
    ) -> Result<Package> {
        let (scope, _, _) = self
            .namespaced(ctx, Action::PackageGet, namespace, Some(id), json!({}))
            .await?;
        self.helm()?;
        self.packages().get(scope.namespace().name(), id).await
    }

    /// Deletes a package; refused while a release runs its chart version, unless forced.
    pub async fn delete_package(
        &self,
        ctx: &RequestContext,
        namespace: &NamespaceRef,
        id: &str,
        force: bool,
    ) -> Result<()> {
        let (scope, mut target, grants) = self
            .namespaced(
                ctx,
                Action::PackageDelete,
                namespace,
                Some(id),
                json!({ "force": force }),
            )
            .await?;
        target.kind = Some("package");
        let helm = self.helm()?;
        self.audited(ctx, Action::PackageDelete, &target, async |_| {
            let package = self.packages().get(scope.namespace().name(), id).await?;
            // Only the caller's namespaces are counted: a release elsewhere was installed from
            // a package of its own namespace, and saying that one exists would tell a tenant
            // what another runs.
            let visible = crate::access::policy::visible_namespaces(&grants, Action::DeploymentList);
            let users = helm.chart_in_use(&package.name, &package.version, &visible);
            if !users.is_empty() && !force {
                return Err(Error::Conflict(format!(
                    "package {id} is used by {}; uninstall or upgrade them first, or delete with force",
                    users.join(", ")
                )));
            }
            self.packages().delete(scope.namespace().name(), id).await
        })
        .await
    }

    /// A unified diff of what a Helm upgrade, scale or rollback would change; nothing is applied.
    pub async fn preview_deployment(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        change: &Preview,
    ) -> Result<String> {
        self.namespaced(
            ctx,
            Action::DeploymentUpdate,
            &deployment.namespace_ref(),
            Some(deployment.name()),
            json!({}),
        )
        .await?;
        if deployment.kind() != model::reference::DeploymentKind::Release {
            return Err(Error::invalid(
                "preview",
                format!(
                    "{} is not a Helm release; previews are for Helm releases",
                    deployment.describe()
                ),
            ));
        }
        self.helm()?.preview(deployment, change).await
    }
}
