//! The control plane core: one entry point per operation, access checks, the audit log,
//! the deployment adapters and the Postgres store. No web framework lives here.

pub mod error;
pub mod store;

pub use error::{Error, Result};
