//! The Flux adapter: HelmReleases, Kustomizations and the toolkit objects beside them
//! (sources, image automation, notifications) through the Kubernetes API. Reads come from
//! in-memory watch caches; writes go to the API server under one field manager.

pub mod adapter;
pub mod cache;
pub mod chart;
pub mod config;
pub mod controllers;
pub mod health;
pub mod history;
pub mod kinds;
pub mod links;
pub mod lockdown;
pub mod observe;
pub mod reconcile;
pub mod record;
pub mod rollback;
pub mod spec;
pub mod status;
pub mod toolkit;
pub mod trace;
pub mod types;
pub mod writes;

pub use adapter::{DEFAULT_NAME, FluxAdapter, kube_config};
pub use cache::FluxCache;
pub use config::FluxConfig;
