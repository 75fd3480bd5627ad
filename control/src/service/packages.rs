//! Packages: chart archives uploaded to a namespace (checked, stored content-addressed),
//! listed with the Flux sources, deleted unless a release still runs them; and previews of
//! Helm changes before they are applied.

use super::{RequestContext, Service};
use crate::access::{Action, Visible};
use crate::adapters::helm::HelmAdapter;
use crate::adapters::helm::adapter::Preview;
use crate::adapters::helm::package::{Limits, inspect};
use crate::{Error, Result};
use model::source::Package;
use serde_json::json;

impl Service {
    fn helm(&self) -> Result<&HelmAdapter> {
        self.adapters.helm.as_deref().ok_or_else(|| {
            Error::AdapterUnhealthy(
                "no Helm adapter is configured (helm.binary and a kubeconfig)".into(),
            )
        })
    }

    /// Checks and stores a chart archive in `namespace`.
    pub async fn upload_package(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        archive: &[u8],
        limits: Limits,
    ) -> Result<Package> {
        let (scope, mut target) = self
            .namespaced(
                ctx,
                Action::PackageUpload,
                namespace,
                None,
                json!({ "bytes": archive.len() }),
            )
            .await?;
        target.kind = Some("package");
        let helm = self.helm()?;
        let uploader = ctx
            .principal
            .email
            .clone()
            .unwrap_or_else(|| ctx.principal.subject.clone());
        self.audited(ctx, Action::PackageUpload, &target, async || {
            let info = inspect(archive, limits)?;
            helm.packages()
                .put(scope.namespace(), &info, archive, &uploader)
                .await
        })
        .await
    }

    /// Packages in the namespaces the caller may see.
    pub async fn list_packages(&self, ctx: &RequestContext) -> Result<Vec<Package>> {
        let visible = self.visible(ctx, Action::PackageList).await?;
        let helm = self.helm()?;
        match visible {
            Visible::All => helm.packages().list(None).await,
            Visible::Only(set) => {
                let namespaces: Vec<String> = set.into_iter().collect();
                helm.packages().list(Some(&namespaces)).await
            }
        }
    }

    /// One package.
    pub async fn get_package(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        id: &str,
    ) -> Result<Package> {
        let (scope, _) = self
            .namespaced(ctx, Action::PackageGet, namespace, Some(id), json!({}))
            .await?;
        self.helm()?.packages().get(scope.namespace(), id).await
    }

    /// Deletes a package; refused while a release runs its chart version, unless forced.
    pub async fn delete_package(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        id: &str,
        force: bool,
    ) -> Result<()> {
        let (scope, mut target) = self
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
        self.audited(ctx, Action::PackageDelete, &target, async || {
            let package = helm.packages().get(scope.namespace(), id).await?;
            let users = helm.chart_in_use(&package.name, &package.version);
            if !users.is_empty() && !force {
                return Err(Error::Conflict(format!(
                    "package {id} is used by {}; uninstall or upgrade them first, or delete with force",
                    users.join(", ")
                )));
            }
            helm.packages().delete(scope.namespace(), id).await
        })
        .await
    }

    /// A unified diff of what a Helm upgrade, scale or rollback would change; nothing is applied.
    pub async fn preview_deployment(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        change: &Preview,
    ) -> Result<String> {
        let (scope, _) = self
            .namespaced(
                ctx,
                Action::DeploymentUpdate,
                namespace,
                Some(name),
                json!({}),
            )
            .await?;
        self.helm()?.preview(scope.namespace(), name, change).await
    }
}
