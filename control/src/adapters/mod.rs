//! The deployment adapters: Flux (HelmReleases and Kustomizations through the Kubernetes API)
//! and, with its own issue, Helm.

pub mod flux;
