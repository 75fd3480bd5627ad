//! Wire and domain types shared by the server and the browser; serde only, so it builds for wasm.

pub mod action;
pub mod audit;
pub mod build;
pub mod bulk;
pub mod deployment;
pub mod error;
pub mod flux;
pub mod graph;
pub mod live;
pub mod lockdown;
pub mod operation;
pub mod overview;
pub mod reference;
pub mod source;
pub mod tenancy;
pub mod timeline;
pub mod tokens;
pub mod values;
pub mod workload;
