//! One module per route.

mod admin;
mod admin_access;
mod api_docs;
mod audit;
mod bulk;
mod deployment;
mod deployments;
mod diff;
pub(crate) mod flux_check;
mod graph;
mod home;
mod lockdown;
mod not_found;
mod operations;
mod packages;
mod tokens;
mod toolkit;
mod why;

pub use admin::Admin;
#[cfg(feature = "ssr")]
pub use api_docs::ApiDescription;
pub use api_docs::ApiDocs;
pub use audit::Audit;
pub use deployment::DeploymentPage;
pub use deployments::{Deployments, NewDeployment};
pub use flux_check::FluxCheckPage;
pub use graph::GraphPage;
pub use home::Home;
pub use not_found::NotFound;
pub use operations::{OperationPage, Operations, OperationsIndicator};
pub use packages::Packages;
pub use tokens::Tokens;
pub use toolkit::{
    Images, NewAlertPage, NewImagePolicyPage, NewSourcePage, Notifications, Sources, ToolkitPage,
};

/// Percent-encodes a query value (the browser build has no URL crate).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
