//! Which namespaces a cluster has, for the Admin pages' list of namespaces and owners.

use super::cluster_error;
use crate::Result;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, ListParams};

/// The names of the cluster's namespaces, sorted (terminating ones included: they still
/// hold what their tenant deployed until they are gone).
pub async fn list(client: &Client) -> Result<Vec<String>> {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .map_err(cluster_error)?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    Ok(names)
}
