//! Flux toolkit objects beside the deployments (sources, image automation, notifications)
//! as lists and detail pages show them, and the cluster's Flux health as `flux check` does.

use crate::deployment::{Condition, DeploymentEvent};
use crate::reference::{Family, ToolkitKind};
use crate::tenancy::Explanation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One labelled value of an object, in the order its page shows them (`Image`, `Last scan`,
/// `Latest`, …): what a kind has that the others lack.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// What the value is, for people.
    pub label: String,
    /// The value, as text.
    pub value: String,
}

impl Field {
    /// A labelled value.
    pub fn new(label: &str, value: impl Into<String>) -> Self {
        Self {
            label: label.to_owned(),
            value: value.into(),
        }
    }
}

/// A Flux toolkit object in a list: a source, an image object or a notification object.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxObject {
    /// Its kind (GitRepository, ImagePolicy, Alert, …).
    pub kind: ToolkitKind,
    /// The family, and so the page, it belongs to.
    pub family: Family,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Where it points: a source's URL (or chart, or bucket), an image, a provider's type
    /// and channel, a Receiver's webhook path. Never a secret.
    pub url: String,
    /// The artifact revision or the latest image, once there is one.
    pub revision: Option<String>,
    /// Ready condition: True, False or Unknown; None when the controller reports none.
    pub ready: Option<String>,
    /// The Ready message, or what the object is waiting for.
    pub message: String,
    /// Reconciliation is suspended.
    pub suspended: bool,
    /// When its controller last reported on it (Ready's transition), RFC 3339.
    pub last_update: Option<String>,
    /// The kind's own values for the list's columns.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Whether the caller may reconcile, suspend or resume it, and why, by action name.
    #[serde(default)]
    pub permissions: BTreeMap<String, Explanation>,
}

/// The artifact a source last produced.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// The revision (`main@sha1:…`, a chart version, `latest@sha256:…`).
    pub revision: String,
    /// Its digest (`sha256:…`).
    pub digest: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// When it was produced, RFC 3339.
    pub last_update_time: Option<String>,
}

/// A deployment that uses a toolkit object, and how.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsedBy {
    /// The deployment's id (for its page).
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `source` (it deploys from this source), `image` (it runs the policy's image) or
    /// `alert` (the Alert reports on it).
    pub relation: String,
    /// What ties them, e.g. the container image it runs.
    pub detail: Option<String>,
}

/// One toolkit object on its own page.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxObjectDetail {
    /// The row, as the list shows it.
    pub object: FluxObject,
    /// Every labelled value of its spec and status the page shows.
    pub details: Vec<Field>,
    /// The artifact, for sources that produced one.
    pub artifact: Option<Artifact>,
    /// Every condition, as reported.
    pub conditions: Vec<Condition>,
    /// Events about it, newest first.
    pub events: Vec<DeploymentEvent>,
    /// The deployments (in the caller's namespaces) that use it.
    pub used_by: Vec<UsedBy>,
}

/// One Flux CRD as the cluster serves it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdCheck {
    /// `plural.group`, e.g. `imagepolicies.image.toolkit.fluxcd.io`.
    pub name: String,
    /// The kind.
    pub kind: String,
    /// Whether it is installed.
    pub present: bool,
    /// The versions it serves.
    pub served: Vec<String>,
    /// The version Pilothouse reads and writes.
    pub supported: String,
    /// Whether Pilothouse can use it (present and serving `supported`).
    pub ok: bool,
    /// Whether Pilothouse cannot work without it (the deployment and core source kinds).
    pub required: bool,
}

/// One Flux controller's Deployment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerCheck {
    /// Its Deployment name, e.g. `source-controller`.
    pub name: String,
    /// Whether its Deployment was found.
    pub installed: bool,
    /// Ready replicas.
    pub ready_replicas: i32,
    /// Replicas asked for.
    pub replicas: i32,
    /// Its manager container's image.
    pub image: Option<String>,
    /// The image tag (the controller's version), e.g. `v1.9.0`.
    pub version: Option<String>,
    /// Installed with every replica ready.
    pub ok: bool,
}

/// A toolkit object or deployment that has not been well for too long.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StuckObject {
    /// Its kind.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `not-ready` (not Ready for longer than three intervals) or `suspended` (suspended
    /// longer than `flux.suspendedWarnAfter`).
    pub reason: String,
    /// For how long, in seconds.
    pub for_seconds: u64,
    /// The Ready message.
    pub message: String,
    /// The deployment's id, when it is one (for its page).
    pub deployment_id: Option<String>,
}

/// The Flux installation's health, as `flux check` reports it, for the caller.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxCheck {
    /// The cluster.
    pub cluster: String,
    /// The Flux CRDs (platform-admins only; empty for others).
    pub crds: Vec<CrdCheck>,
    /// The controllers' Deployments (platform-admins only).
    pub controllers: Vec<ControllerCheck>,
    /// The controllers' multi-tenancy lockdown (platform-admins only).
    pub lockdown: Option<crate::lockdown::FluxLockdown>,
    /// The families whose CRDs are missing, so their pages are hidden.
    pub missing_families: Vec<Family>,
    /// Objects stuck in the caller's namespaces, longest first.
    pub stuck: Vec<StuckObject>,
    /// Whether everything shown is well.
    pub ok: bool,
    /// Why parts of the check could not be made.
    pub errors: Vec<String>,
}

/// A source a tenant creates. Its Secret, when it needs one, is named from the same
/// namespace and never read back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum NewSource {
    /// A Git repository: a branch, a tag or a semver range of tags (Flux takes the semver
    /// range over the tag, the tag over the branch; `main` when none is given).
    GitRepository {
        /// Its name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// `https://`, `http://` or `ssh://`.
        url: String,
        /// The branch to follow.
        #[serde(default)]
        branch: Option<String>,
        /// The tag to check out.
        #[serde(default)]
        tag: Option<String>,
        /// A semver range of tags.
        #[serde(default)]
        semver: Option<String>,
        /// How often to fetch (Flux duration), `5m` by default.
        #[serde(default)]
        interval: Option<String>,
        /// A Secret in the namespace with the credentials.
        #[serde(default, rename = "secretRef")]
        secret_ref: Option<String>,
    },
    /// A Helm chart repository (`https://`, or `oci://` for an OCI registry).
    HelmRepository {
        /// Its name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// `https://`, `http://` or `oci://`.
        url: String,
        /// How often to fetch the index (Flux duration), `5m` by default.
        #[serde(default)]
        interval: Option<String>,
        /// A Secret in the namespace with the credentials.
        #[serde(default, rename = "secretRef")]
        secret_ref: Option<String>,
    },
    /// An OCI artifact: a tag or a semver range of tags (`latest` when none is given).
    #[serde(rename = "OCIRepository")]
    OciRepository {
        /// Its name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// `oci://`.
        url: String,
        /// The tag to pull.
        #[serde(default)]
        tag: Option<String>,
        /// A semver range of tags.
        #[serde(default)]
        semver: Option<String>,
        /// How often to pull (Flux duration), `5m` by default.
        #[serde(default)]
        interval: Option<String>,
        /// A Secret in the namespace with the credentials.
        #[serde(default, rename = "secretRef")]
        secret_ref: Option<String>,
    },
}

/// How an image policy orders tags.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// The last tag in ascending order wins.
    Asc,
    /// The first tag in ascending order wins.
    Desc,
}

/// Which tag an image policy picks, in Flux's own shape.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum PolicyRule {
    /// The highest version within a semver range.
    Semver {
        /// The range, e.g. `>=1.0.0 <2.0.0`.
        range: String,
    },
    /// Alphabetical order.
    Alphabetical {
        /// Which end wins.
        order: Order,
    },
    /// Numerical order.
    Numerical {
        /// Which end wins.
        order: Order,
    },
}

/// Which tags an image policy considers, and what of each it compares.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagFilter {
    /// A regular expression tags must match.
    pub pattern: String,
    /// What to compare (`$name` of a capture group); the whole tag when absent.
    #[serde(default)]
    pub extract: Option<String>,
}

/// An image policy a tenant creates, following an ImageRepository in the same namespace.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewImagePolicy {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The ImageRepository it follows, in the same namespace.
    pub image_repository: String,
    /// How it picks a tag.
    pub policy: PolicyRule,
    /// Which tags it considers.
    #[serde(default)]
    pub filter_tags: Option<TagFilter>,
}

/// Which events an Alert sends.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Every event.
    #[default]
    Info,
    /// Errors only.
    Error,
}

/// What an Alert reports on: a deployment of the tenant, or all of one kind (`*`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSource {
    /// HelmRelease or Kustomization.
    pub kind: String,
    /// The deployment's name, or `*` for every one in the namespace.
    pub name: String,
    /// Its namespace (one of the tenant's); the Alert's own when absent.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// An Alert a tenant creates for its own deployments, sent through a Provider in the same
/// namespace.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAlert {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The Provider it sends through, in the same namespace.
    pub provider: String,
    /// Every event, or errors only.
    #[serde(default)]
    pub severity: Severity,
    /// What it reports on.
    pub event_sources: Vec<EventSource>,
    /// A line added to every message.
    #[serde(default)]
    pub summary: Option<String>,
}

/// A toolkit object to create, of any family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", content = "object", rename_all = "lowercase")]
pub enum NewToolkitObject {
    /// A source.
    Sources(NewSource),
    /// An image policy.
    Images(NewImagePolicy),
    /// An alert.
    Notifications(NewAlert),
}

impl NewToolkitObject {
    /// Its kind.
    pub fn kind(&self) -> ToolkitKind {
        match self {
            Self::Sources(NewSource::GitRepository { .. }) => ToolkitKind::GitRepository,
            Self::Sources(NewSource::HelmRepository { .. }) => ToolkitKind::HelmRepository,
            Self::Sources(NewSource::OciRepository { .. }) => ToolkitKind::OciRepository,
            Self::Images(_) => ToolkitKind::ImagePolicy,
            Self::Notifications(_) => ToolkitKind::Alert,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Self::Sources(
                NewSource::GitRepository { name, .. }
                | NewSource::HelmRepository { name, .. }
                | NewSource::OciRepository { name, .. },
            ) => name,
            Self::Images(policy) => &policy.name,
            Self::Notifications(alert) => &alert.name,
        }
    }

    /// Its namespace.
    pub fn namespace(&self) -> &str {
        match self {
            Self::Sources(
                NewSource::GitRepository { namespace, .. }
                | NewSource::HelmRepository { namespace, .. }
                | NewSource::OciRepository { namespace, .. },
            ) => namespace,
            Self::Images(policy) => &policy.namespace,
            Self::Notifications(alert) => &alert.namespace,
        }
    }
}
