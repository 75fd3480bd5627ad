//! The Flux toolkit objects beside the deployments: their families (the pages they are shown
//! on), their kinds, and a reference to one object.

use super::{NamespaceRef, RefError, dns_subdomain, refused, shown};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The families of Flux toolkit objects that are not deployments, each a page of its own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// source-controller: where artifacts come from.
    Sources,
    /// image-reflector- and image-automation-controller.
    Images,
    /// notification-controller.
    Notifications,
}

impl Family {
    /// Every family.
    pub const ALL: [Self; 3] = [Self::Sources, Self::Images, Self::Notifications];

    /// The family's name in paths and queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sources => "sources",
            Self::Images => "images",
            Self::Notifications => "notifications",
        }
    }

    /// One object of the family, in words (`source`, `image object`, `notification object`).
    pub fn noun(self) -> &'static str {
        match self {
            Self::Sources => "source",
            Self::Images => "image object",
            Self::Notifications => "notification object",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Family {
    type Err = RefError;
    /// The family named `s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                refused(
                    "family",
                    format!("{} is not sources, images or notifications", shown(s)),
                )
            })
    }
}

/// The Flux toolkit kinds that are not deployments: sources, image automation and
/// notifications.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ToolkitKind {
    /// source.toolkit.fluxcd.io GitRepository.
    GitRepository,
    /// source.toolkit.fluxcd.io HelmRepository.
    HelmRepository,
    /// source.toolkit.fluxcd.io OCIRepository.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// source.toolkit.fluxcd.io Bucket.
    Bucket,
    /// source.toolkit.fluxcd.io HelmChart.
    HelmChart,
    /// source.toolkit.fluxcd.io ExternalArtifact (produced by a controller outside Flux).
    ExternalArtifact,
    /// image.toolkit.fluxcd.io ImageRepository.
    ImageRepository,
    /// image.toolkit.fluxcd.io ImagePolicy.
    ImagePolicy,
    /// image.toolkit.fluxcd.io ImageUpdateAutomation.
    ImageUpdateAutomation,
    /// notification.toolkit.fluxcd.io Provider.
    Provider,
    /// notification.toolkit.fluxcd.io Alert.
    Alert,
    /// notification.toolkit.fluxcd.io Receiver.
    Receiver,
}

impl ToolkitKind {
    /// Every toolkit kind.
    pub const ALL: [Self; 12] = [
        Self::GitRepository,
        Self::HelmRepository,
        Self::OciRepository,
        Self::Bucket,
        Self::HelmChart,
        Self::ExternalArtifact,
        Self::ImageRepository,
        Self::ImagePolicy,
        Self::ImageUpdateAutomation,
        Self::Provider,
        Self::Alert,
        Self::Receiver,
    ];

    /// The kind's name, as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitRepository => "GitRepository",
            Self::HelmRepository => "HelmRepository",
            Self::OciRepository => "OCIRepository",
            Self::Bucket => "Bucket",
            Self::HelmChart => "HelmChart",
            Self::ExternalArtifact => "ExternalArtifact",
            Self::ImageRepository => "ImageRepository",
            Self::ImagePolicy => "ImagePolicy",
            Self::ImageUpdateAutomation => "ImageUpdateAutomation",
            Self::Provider => "Provider",
            Self::Alert => "Alert",
            Self::Receiver => "Receiver",
        }
    }

    /// The family (and so the page and the actions) it belongs to.
    pub fn family(self) -> Family {
        match self {
            Self::GitRepository
            | Self::HelmRepository
            | Self::OciRepository
            | Self::Bucket
            | Self::HelmChart
            | Self::ExternalArtifact => Family::Sources,
            Self::ImageRepository | Self::ImagePolicy | Self::ImageUpdateAutomation => {
                Family::Images
            }
            Self::Provider | Self::Alert | Self::Receiver => Family::Notifications,
        }
    }

    /// The kinds of one family, in table order.
    pub fn of(family: Family) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |k| k.family() == family)
    }

    /// Whether Pilothouse offers "reconcile now" (`reconcile.fluxcd.io/requestedAt`) for it.
    /// Notification objects are configuration notification-controller reads as events come,
    /// and an ExternalArtifact is written by a controller outside Flux.
    pub fn reconciles(self) -> bool {
        !matches!(
            self,
            Self::Provider | Self::Alert | Self::ExternalArtifact | Self::Receiver
        )
    }

    /// Whether it has `spec.suspend` (an ExternalArtifact has none).
    pub fn suspends(self) -> bool {
        self != Self::ExternalArtifact
    }
}

impl fmt::Display for ToolkitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ToolkitKind {
    type Err = RefError;
    /// The kind named `s`, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                refused(
                    "kind",
                    format!(
                        "{} is not a Flux toolkit kind ({})",
                        shown(s),
                        Self::ALL.map(Self::as_str).join(", ")
                    ),
                )
            })
    }
}

/// One Flux toolkit object (a source, an image or a notification object): namespace, kind
/// and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolkitRef {
    /// Where it lives.
    pub namespace: NamespaceRef,
    /// Which kind of source.
    pub kind: ToolkitKind,
    /// Its name.
    pub name: String,
}

impl ToolkitRef {
    /// A reference, if the name is a valid Kubernetes name.
    pub fn new(
        namespace: NamespaceRef,
        kind: ToolkitKind,
        name: impl Into<String>,
    ) -> Result<Self, RefError> {
        let name = name.into();
        dns_subdomain("name", &name)?;
        Ok(Self {
            namespace,
            kind,
            name,
        })
    }

    /// `Kind namespace/name`, for messages to people.
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace.name(), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kinds_read_in_any_case_and_only_flux_sources() {
        for kind in ToolkitKind::ALL {
            assert_eq!(
                kind.as_str().to_lowercase().parse::<ToolkitKind>(),
                Ok(kind)
            );
            let stored = serde_json::to_value(kind).unwrap();
            assert_eq!(stored, kind.as_str());
        }
        let refused = "Secret".parse::<ToolkitKind>().unwrap_err();
        assert_eq!(refused.field, "kind");
        let namespace = NamespaceRef::in_default("team-a").unwrap();
        assert!(ToolkitRef::new(namespace.clone(), ToolkitKind::Bucket, "shop").is_ok());
        assert_eq!(
            ToolkitRef::new(namespace, ToolkitKind::Bucket, "Not A Name")
                .unwrap_err()
                .field,
            "name"
        );
    }
}
