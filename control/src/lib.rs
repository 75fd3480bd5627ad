//! The control plane core: one entry point per operation, access checks, the audit log,
//! the deployment adapters and the Postgres store. No web framework lives here.

pub mod access;
pub mod adapters;
pub mod audit;
pub mod error;
pub mod graph;
pub mod leader;
pub mod live;
pub mod metrics;
pub mod service;
pub mod store;
pub mod validate;
pub mod values;

pub use error::{Error, Result};
pub use service::{AuditTarget, RequestContext, Service};
