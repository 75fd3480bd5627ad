//! What the Pilothouse control plane and its adapters share: the one error type, the adapter
//! traits and the write context every adapter write takes, the watch-cache kit, cluster
//! connections and tenant identities, and the namespace sets the policy hands out. The Flux
//! and Helm adapter crates depend on this crate only; `control` builds on all three.

pub mod adapters;
pub mod duration;
pub mod error;
pub mod metrics;
pub mod namespaces;
pub mod validate;

pub use error::{Error, Result};
pub use namespaces::Namespaces;
