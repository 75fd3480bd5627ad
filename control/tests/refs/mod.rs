//! References and write contexts for adapter and service tests.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

use control::adapters::DeploymentAdapter;
use control::adapters::context::WriteCtx;
use model::deployment::{Deployment, DeploymentRequest};
use model::reference::{DeploymentKind, DeploymentRef, NamespaceRef, ToolkitKind, ToolkitRef};

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

/// Makes `change` through the service's one entry point, as `ctx`, waiting for its end.
pub async fn made(
    service: &control::Service,
    ctx: &control::RequestContext,
    change: control::service::change::Change,
) -> control::Result<control::service::change::ChangeOutcome> {
    use control::service::change::Ended;
    use control::service::tracked::Wait;
    service.change(ctx, change, Wait::ToTheEnd).await?.ended()
}

/// Creates what `request` describes through the service, in the namespace it names.
pub async fn created(
    service: &control::Service,
    ctx: &control::RequestContext,
    request: &DeploymentRequest,
) -> control::Result<Deployment> {
    let change = service.create_change(&ns(&request.namespace), request)?;
    made(service, ctx, change).await?.into_deployment()
}

/// The change that sets `deployment`'s replica count (in `replicaCount`); `force` takes the
/// field over from another field manager.
pub fn scale(
    deployment: DeploymentRef,
    replicas: u32,
    force: bool,
) -> control::service::change::Change {
    control::service::change::Change::ScaleDeployment {
        deployment,
        replicas,
        path: None,
        force,
    }
}

/// A Flux source of the default cluster.
pub fn source(namespace: &str, kind: ToolkitKind, name: &str) -> ToolkitRef {
    ToolkitRef::new(ns(namespace), kind, name).expect("source ref")
}
