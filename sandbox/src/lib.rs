//! The sandbox cluster: an in-memory Kubernetes API server with simulated Flux controllers,
//! used only by tests, the demo and dev tooling. It is built in its own issue; this crate
//! holds its place in the workspace until then.
