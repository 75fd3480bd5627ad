//! The Flux kinds the adapter reads and writes, as typed API resources.

use kube::core::{ApiResource, GroupVersionKind};

/// A Flux kind: group, version, kind and plural.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FluxKind {
    /// API group.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
}

impl FluxKind {
    /// The kube-rs resource description.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(self.group, self.version, self.kind),
            self.plural,
        )
    }
}

/// `helm.toolkit.fluxcd.io/v2` HelmRelease.
pub const HELM_RELEASE: FluxKind = FluxKind {
    group: "helm.toolkit.fluxcd.io",
    version: "v2",
    kind: "HelmRelease",
    plural: "helmreleases",
};
/// `kustomize.toolkit.fluxcd.io/v1` Kustomization.
pub const KUSTOMIZATION: FluxKind = FluxKind {
    group: "kustomize.toolkit.fluxcd.io",
    version: "v1",
    kind: "Kustomization",
    plural: "kustomizations",
};

/// The deployment kinds.
pub const DEPLOYMENTS: [FluxKind; 2] = [HELM_RELEASE, KUSTOMIZATION];
