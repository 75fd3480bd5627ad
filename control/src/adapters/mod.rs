//! The deployment adapters as the control plane sees them: the traits and kit of
//! `control-core`, the Flux and Helm adapter crates, and the registry that builds them for
//! each cluster from the configuration. The service finds an adapter in the
//! [`registry::ClusterRegistry`] by a deployment's cluster and kind.

pub use adapter_flux as flux;
pub use adapter_helm as helm;
pub use control_core::adapters::*;

pub mod plugins;
pub mod registry;
