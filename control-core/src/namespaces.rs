//! The namespaces a caller may see or act in, as the policy computes them and the adapters'
//! caches filter by.

use model::reference::{ClusterId, NamespaceRef};
use std::collections::BTreeSet;

/// The namespaces the caller may see or act in: every one, or only these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    /// No restriction.
    All,
    /// Only these.
    Only(BTreeSet<NamespaceRef>),
}

impl Namespaces {
    /// Whether `namespace` is among them.
    pub fn contains(&self, namespace: &NamespaceRef) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(namespace),
        }
    }

    /// Whether namespace `name` of `cluster` is among them.
    pub fn contains_in(&self, cluster: &ClusterId, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set
                .iter()
                .any(|ns| *ns.cluster() == *cluster && ns.name() == name),
        }
    }

    /// Whether there are none at all.
    pub fn is_none(&self) -> bool {
        matches!(self, Self::Only(set) if set.is_empty())
    }

    /// Only `namespaces` of the default cluster (for tests and one-cluster callers).
    pub fn only_in_default<'a>(namespaces: impl IntoIterator<Item = &'a str>) -> Self {
        Self::Only(
            namespaces
                .into_iter()
                .filter_map(|ns| NamespaceRef::in_default(ns).ok())
                .collect(),
        )
    }
}
