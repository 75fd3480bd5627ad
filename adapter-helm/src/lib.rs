//! The Helm adapter: releases read natively from Helm's release Secrets through a watch,
//! changes made by the pinned helm binary, and the package store for uploaded charts.

pub mod adapter;
pub mod args;
pub mod binary;
pub mod cache;
pub mod capabilities;
pub mod config;
pub mod fetch;
pub mod gate;
mod install;
pub mod package;
pub mod preview;
mod readiness;
pub mod registries;
pub mod release;
pub mod source;

pub use adapter::{DEFAULT_NAME, HelmAdapter};
pub use config::HelmConfig;
