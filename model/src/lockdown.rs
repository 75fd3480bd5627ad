//! Flux's multi-tenancy lockdown as the controllers run it: the flags Flux's guide adds to
//! each controller's Deployment, read from their container arguments. Without them a Flux
//! object that names no service account is applied with the controller's own rights
//! (cluster-admin in a stock install), and sources may be referenced across namespaces.

use serde::{Deserialize, Serialize};

/// One flag the guide sets on a controller, and what the controller runs with.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockdownFlag {
    /// The flag, e.g. `--no-cross-namespace-refs`.
    pub flag: String,
    /// What the guide sets it to (`true`, or `any account` for the default service account).
    pub expected: String,
    /// What the controller's arguments set it to; none when absent.
    pub actual: Option<String>,
    /// Whether it is set as the lockdown needs.
    pub ok: bool,
}

/// One Flux controller's lockdown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerLockdown {
    /// The controller's Deployment name, e.g. `kustomize-controller`.
    pub controller: String,
    /// Whether its Deployment was found.
    pub installed: bool,
    /// The flags it should run with.
    pub flags: Vec<LockdownFlag>,
}

impl ControllerLockdown {
    /// Installed with every flag as the lockdown needs, or not installed at all.
    pub fn ok(&self) -> bool {
        !self.installed || self.flags.iter().all(|f| f.ok)
    }
}

/// The lockdown of the Flux controllers of one cluster.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxLockdown {
    /// The namespace the controllers run in.
    pub namespace: String,
    /// Each controller the guide names.
    pub controllers: Vec<ControllerLockdown>,
    /// True when kustomize-controller or helm-controller was found and every controller found
    /// runs with every flag.
    pub locked_down: bool,
    /// What this means, in a sentence (what is missing and what it allows).
    pub summary: String,
    /// Why the controllers could not be read, when they could not.
    pub error: Option<String>,
}

impl FluxLockdown {
    /// The controllers whose flags fall short, with what is missing, e.g.
    /// `kustomize-controller: --default-service-account`.
    pub fn missing(&self) -> Vec<String> {
        self.controllers
            .iter()
            .filter(|c| !c.ok())
            .map(|c| {
                let flags: Vec<&str> = c
                    .flags
                    .iter()
                    .filter(|f| !f.ok)
                    .map(|f| f.flag.as_str())
                    .collect();
                format!("{}: {}", c.controller, flags.join(", "))
            })
            .collect()
    }
}
