//! The Flux kinds the adapter reads and writes, as typed API resources.

use control_core::{Error, Result};
use kube::core::{ApiResource, GroupVersionKind};
use model::reference::{DeploymentKind, ToolkitKind};

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

const fn toolkit(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
) -> FluxKind {
    FluxKind {
        group,
        version,
        kind,
        plural,
    }
}

const SOURCE: &str = "source.toolkit.fluxcd.io";
const IMAGE: &str = "image.toolkit.fluxcd.io";
const NOTIFICATION: &str = "notification.toolkit.fluxcd.io";

/// `source.toolkit.fluxcd.io/v1` GitRepository.
pub const GIT_REPOSITORY: FluxKind = toolkit(SOURCE, "v1", "GitRepository", "gitrepositories");
/// `source.toolkit.fluxcd.io/v1` HelmRepository.
pub const HELM_REPOSITORY: FluxKind = toolkit(SOURCE, "v1", "HelmRepository", "helmrepositories");
/// `source.toolkit.fluxcd.io/v1` OCIRepository.
pub const OCI_REPOSITORY: FluxKind = toolkit(SOURCE, "v1", "OCIRepository", "ocirepositories");
/// `source.toolkit.fluxcd.io/v1` Bucket.
pub const BUCKET: FluxKind = toolkit(SOURCE, "v1", "Bucket", "buckets");
/// `source.toolkit.fluxcd.io/v1` HelmChart.
pub const HELM_CHART: FluxKind = toolkit(SOURCE, "v1", "HelmChart", "helmcharts");
/// `source.toolkit.fluxcd.io/v1` ExternalArtifact.
pub const EXTERNAL_ARTIFACT: FluxKind =
    toolkit(SOURCE, "v1", "ExternalArtifact", "externalartifacts");
/// `image.toolkit.fluxcd.io/v1` ImageRepository.
pub const IMAGE_REPOSITORY: FluxKind = toolkit(IMAGE, "v1", "ImageRepository", "imagerepositories");
/// `image.toolkit.fluxcd.io/v1` ImagePolicy.
pub const IMAGE_POLICY: FluxKind = toolkit(IMAGE, "v1", "ImagePolicy", "imagepolicies");
/// `image.toolkit.fluxcd.io/v1` ImageUpdateAutomation.
pub const IMAGE_UPDATE_AUTOMATION: FluxKind = toolkit(
    IMAGE,
    "v1",
    "ImageUpdateAutomation",
    "imageupdateautomations",
);
/// `notification.toolkit.fluxcd.io/v1beta3` Provider.
pub const PROVIDER: FluxKind = toolkit(NOTIFICATION, "v1beta3", "Provider", "providers");
/// `notification.toolkit.fluxcd.io/v1beta3` Alert.
pub const ALERT: FluxKind = toolkit(NOTIFICATION, "v1beta3", "Alert", "alerts");
/// `notification.toolkit.fluxcd.io/v1` Receiver.
pub const RECEIVER: FluxKind = toolkit(NOTIFICATION, "v1", "Receiver", "receivers");

/// The source kinds deployments read from: Pilothouse cannot work without them.
pub const SOURCES: [FluxKind; 5] = [
    GIT_REPOSITORY,
    HELM_REPOSITORY,
    OCI_REPOSITORY,
    BUCKET,
    HELM_CHART,
];

/// The toolkit kinds that are optional installs (ExternalArtifact is newer than many
/// clusters' source-controller; the image and notification controllers are add-ons): when
/// one's CRD is missing its family is hidden and everything else keeps working.
pub const OPTIONAL: [FluxKind; 7] = [
    EXTERNAL_ARTIFACT,
    IMAGE_REPOSITORY,
    IMAGE_POLICY,
    IMAGE_UPDATE_AUTOMATION,
    PROVIDER,
    ALERT,
    RECEIVER,
];

/// Every kind the adapter knows, deployments first.
pub fn all() -> impl Iterator<Item = FluxKind> {
    DEPLOYMENTS.into_iter().chain(SOURCES).chain(OPTIONAL)
}

/// Whether Pilothouse cannot work without the kind's CRD.
pub fn required(kind: FluxKind) -> bool {
    !OPTIONAL.contains(&kind)
}

/// The Flux kind of a toolkit kind.
pub fn of_toolkit(kind: ToolkitKind) -> FluxKind {
    match kind {
        ToolkitKind::GitRepository => GIT_REPOSITORY,
        ToolkitKind::HelmRepository => HELM_REPOSITORY,
        ToolkitKind::OciRepository => OCI_REPOSITORY,
        ToolkitKind::Bucket => BUCKET,
        ToolkitKind::HelmChart => HELM_CHART,
        ToolkitKind::ExternalArtifact => EXTERNAL_ARTIFACT,
        ToolkitKind::ImageRepository => IMAGE_REPOSITORY,
        ToolkitKind::ImagePolicy => IMAGE_POLICY,
        ToolkitKind::ImageUpdateAutomation => IMAGE_UPDATE_AUTOMATION,
        ToolkitKind::Provider => PROVIDER,
        ToolkitKind::Alert => ALERT,
        ToolkitKind::Receiver => RECEIVER,
    }
}

/// The toolkit kind of a Flux kind; none for the deployment kinds.
pub fn toolkit_kind(kind: FluxKind) -> Option<ToolkitKind> {
    ToolkitKind::ALL
        .into_iter()
        .find(|k| of_toolkit(*k) == kind)
}

/// A Flux kind by its Kind name.
pub fn by_kind(kind: &str) -> Option<FluxKind> {
    all().find(|k| k.kind.eq_ignore_ascii_case(kind))
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
    fn every_toolkit_kind_is_the_flux_kind_of_its_name() {
        for kind in ToolkitKind::ALL {
            assert_eq!(of_toolkit(kind).kind, kind.as_str());
            assert_eq!(by_kind(kind.as_str()), Some(of_toolkit(kind)));
            assert_eq!(toolkit_kind(of_toolkit(kind)), Some(kind));
        }
        assert_eq!(all().count(), DEPLOYMENTS.len() + ToolkitKind::ALL.len());
    }
}
