//! Whether the Flux adapter can work: the API answers and the Flux CRDs are installed and served.

use super::kinds::{DEPLOYMENTS, SOURCES};
use control_core::{Error, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::Api;

/// Ok when every required CRD exists and serves the version the adapter uses.
pub async fn check(client: &Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    // Every kind the caches watch: a missing one would keep them from ever syncing.
    for kind in DEPLOYMENTS.into_iter().chain(SOURCES) {
        let name = format!("{}.{}", kind.plural, kind.group);
        let crd = crds
            .get_opt(&name)
            .await
            .map_err(|e| Error::AdapterUnhealthy(format!("flux adapter not healthy: {e}")))?
            .ok_or_else(|| {
                Error::AdapterUnhealthy(format!("flux adapter not healthy: CRD {name} not found"))
            })?;
        let served = crd
            .spec
            .versions
            .iter()
            .any(|v| v.name == kind.version && v.served);
        if !served {
            return Err(Error::AdapterUnhealthy(format!(
                "flux adapter not healthy: CRD {name} does not serve {}",
                kind.version
            )));
        }
    }
    Ok(())
}
