//! The sandbox cluster: an in-memory Kubernetes API server that serves a faithful subset of the
//! REST API (discovery, generic storage for any kind, selectors, pagination, optimistic
//! concurrency, patches, the status subresource, watch) and CustomResourceDefinitions with
//! schema validation. It stands in for kube-apiserver in tests, the demo and dev tooling; the
//! product's own code never depends on it.

pub mod applied;
pub mod artifacts;
pub mod controller_pods;
pub mod demo;
pub mod discovery;
pub mod error;
pub mod fields;
pub mod fleet;
pub mod flux;
pub mod flux_addons;
pub mod flux_rbac;
pub mod handlers;
pub mod identity;
pub mod kubeconfig;
pub mod object;
pub mod outage;
pub mod patch;
pub mod pods;
pub mod protobuf;
pub mod rbac;
pub mod resources;
pub mod sa_tokens;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod store;
pub mod watch;
pub mod write;

pub use identity::SandboxUser;
pub use server::{Sandbox, SandboxOptions};

/// The Flux CRDs vendored in the repository (`deploy/crds/`), for tests, benchmarks and the demo.
pub fn vendored_crds() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds")
}

/// Pilothouse's own RBAC (`deploy/rbac.yaml`): its ClusterRole, the tenant ClusterRole and
/// their bindings, for sandboxes that enforce them as a real cluster would.
pub fn deploy_rbac() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/rbac.yaml")
}
