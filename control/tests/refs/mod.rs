//! References and write contexts for adapter and service tests.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

use control::adapters::DeploymentAdapter;
use control::adapters::context::WriteCtx;
use model::deployment::{Deployment, DeploymentRequest};
use model::reference::{DeploymentKind, DeploymentRef, NamespaceRef};

/// A write context for adapter tests: Pilothouse acting with no boundary.
pub fn w() -> WriteCtx {
    WriteCtx::for_tests()
}

/// A namespace of the default cluster.
pub fn ns(namespace: &str) -> NamespaceRef {
    NamespaceRef::in_default(namespace).expect("namespace")
}

/// A deployment of the default cluster.
pub fn deployment(kind: DeploymentKind, namespace: &str, name: &str) -> DeploymentRef {
    DeploymentRef::new(&ns(namespace), kind, name).expect("deployment ref")
}

/// A HelmRelease.
pub fn hr(namespace: &str, name: &str) -> DeploymentRef {
    deployment(DeploymentKind::HelmRelease, namespace, name)
}

/// A Kustomization.
pub fn ks(namespace: &str, name: &str) -> DeploymentRef {
    deployment(DeploymentKind::Kustomization, namespace, name)
}

/// A Helm release.
pub fn rel(namespace: &str, name: &str) -> DeploymentRef {
    deployment(DeploymentKind::Release, namespace, name)
}

/// Creates what `request` describes through `adapter`, in the namespace it names.
pub async fn create(
    adapter: &dyn DeploymentAdapter,
    request: &DeploymentRequest,
) -> control::Result<Deployment> {
    let kind = control::service::requested_kind(request)?;
    adapter.create(&w(), kind, request).await
}
