//! The Flux kinds the adapter reads and writes, as typed API resources.

use control_core::{Error, Result};
use kube::core::{ApiResource, GroupVersionKind};
use model::reference::{DeploymentKind, SourceKind};

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

const fn source(kind: &'static str, plural: &'static str) -> FluxKind {
    FluxKind {
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        kind,
        plural,
    }
}

/// `source.toolkit.fluxcd.io/v1` GitRepository.
pub const GIT_REPOSITORY: FluxKind = source("GitRepository", "gitrepositories");
/// `source.toolkit.fluxcd.io/v1` HelmRepository.
pub const HELM_REPOSITORY: FluxKind = source("HelmRepository", "helmrepositories");
/// `source.toolkit.fluxcd.io/v1` OCIRepository.
pub const OCI_REPOSITORY: FluxKind = source("OCIRepository", "ocirepositories");
/// `source.toolkit.fluxcd.io/v1` Bucket.
pub const BUCKET: FluxKind = source("Bucket", "buckets");
/// `source.toolkit.fluxcd.io/v1` HelmChart.
pub const HELM_CHART: FluxKind = source("HelmChart", "helmcharts");

/// The source kinds.
pub const SOURCES: [FluxKind; 5] = [
    GIT_REPOSITORY,
    HELM_REPOSITORY,
    OCI_REPOSITORY,
    BUCKET,
    HELM_CHART,
];

/// The Flux kind of a source kind.
pub fn of_source(kind: SourceKind) -> FluxKind {
    match kind {
        SourceKind::GitRepository => GIT_REPOSITORY,
        SourceKind::HelmRepository => HELM_REPOSITORY,
        SourceKind::OciRepository => OCI_REPOSITORY,
        SourceKind::Bucket => BUCKET,
        SourceKind::HelmChart => HELM_CHART,
    }
}

/// A Flux kind by its Kind name.
pub fn by_kind(kind: &str) -> Option<FluxKind> {
    DEPLOYMENTS
        .into_iter()
        .chain(SOURCES)
        .find(|k| k.kind.eq_ignore_ascii_case(kind))
}

/// The Flux kind of a deployment kind, or why Flux does not run it.
pub fn of(kind: DeploymentKind) -> Result<FluxKind> {
    match kind {
        DeploymentKind::HelmRelease => Ok(HELM_RELEASE),
        DeploymentKind::Kustomization => Ok(KUSTOMIZATION),
        DeploymentKind::Release => Err(Error::invalid(
            "kind",
            "a Helm release is not a Flux object",
        )),
    }
}

/// The deployment kind of a Flux deployment kind.
pub fn deployment_kind(kind: FluxKind) -> DeploymentKind {
    if kind == KUSTOMIZATION {
        DeploymentKind::Kustomization
    } else {
        DeploymentKind::HelmRelease
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_kind_is_the_flux_kind_of_its_name() {
        for kind in SourceKind::ALL {
            assert_eq!(of_source(kind).kind, kind.as_str());
            assert_eq!(by_kind(kind.as_str()), Some(of_source(kind)));
        }
    }
}
