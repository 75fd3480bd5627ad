//! The Flux adapter: HelmReleases and Kustomizations through the Kubernetes API. Reads come
//! from in-memory watch caches; writes (with their own issue) go to the API server.

pub mod cache;
pub mod health;
pub mod kinds;
pub mod observe;
pub mod status;
pub mod writes;

pub use cache::FluxCache;
