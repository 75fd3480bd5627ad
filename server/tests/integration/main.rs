//! Pilothouse's server integration tests as one binary: each module is one area, and all
//! share the fixture in `support`. One link instead of one per file keeps the build small.

#[path = "../../../control/tests/charts/mod.rs"]
mod charts;
mod support;

mod admin_api;
mod admin_cli;
mod assets;
mod audit_cli;
mod bulk;
mod chart_config;
mod contract;
mod deployments_api;
mod escapes;
mod graph;
mod health;
mod hostile_bytes;
mod leader;
mod live_events;
mod lockdown;
mod mtls;
mod oidc;
mod openapi;
mod operations;
mod packages_api;
mod pages;
mod plugins_api;
mod rate_limits;
mod reference_api;
mod tokens;
mod toolkit_api;
mod values_editor;
mod workloads_api;
