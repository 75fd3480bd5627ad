//! The control plane: one entry point per operation (the service), access checks, the audit
//! log, the executor of tracked operations, leadership, live events and the Postgres store.
//! It builds on `control-core` and the Flux and Helm adapter crates; no web framework lives
//! here.

pub mod access;
pub mod adapters;
pub mod audit;
pub mod leader;
pub mod links;
pub mod live;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod values;

pub use control_core::{Error, Result, error, metrics, validate};
pub use service::{AuditTarget, RequestContext, Service};
