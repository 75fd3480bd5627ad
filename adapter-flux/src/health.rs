//! Whether the Flux adapter can work: the API answers and the Flux CRDs it needs are installed
//! and served. The optional ones (image automation, notifications, ExternalArtifact) are
//! reported, never required.

use super::kinds::{self, FluxKind};
use control_core::{Error, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::Api;
use model::flux::CrdCheck;

/// The CRD's name, `plural.group`.
pub fn crd_name(kind: FluxKind) -> String {
    format!("{}.{}", kind.plural, kind.group)
}

/// One kind's CRD as the cluster serves it.
pub async fn crd(client: &Client, kind: FluxKind) -> Result<CrdCheck> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd_name(kind);
    let found = crds
        .get_opt(&name)
        .await
        .map_err(|e| Error::AdapterUnhealthy(format!("flux adapter not healthy: {e}")))?;
    let served: Vec<String> = found
        .iter()
        .flat_map(|crd| &crd.spec.versions)
        .filter(|v| v.served)
        .map(|v| v.name.clone())
        .collect();
    Ok(CrdCheck {
        kind: kind.kind.to_owned(),
        present: found.is_some(),
        ok: served.iter().any(|v| v == kind.version),
        served,
        supported: kind.version.to_owned(),
        required: kinds::required(kind),
        name,
    })
}

/// Every Flux CRD the adapter knows, required ones first.
pub async fn crds(client: &Client) -> Result<Vec<CrdCheck>> {
    let mut checks = Vec::new();
    for kind in kinds::all() {
        checks.push(crd(client, kind).await?);
    }
    Ok(checks)
}

/// Ok when every required CRD exists and serves the version the adapter uses.
pub async fn check(client: &Client) -> Result<()> {
    for kind in kinds::all().filter(|k| kinds::required(*k)) {
        let crd = crd(client, kind).await?;
        if !crd.present {
            return Err(Error::AdapterUnhealthy(format!(
                "flux adapter not healthy: CRD {} not found",
                crd.name
            )));
        }
        if !crd.ok {
            return Err(Error::AdapterUnhealthy(format!(
                "flux adapter not healthy: CRD {} does not serve {}",
                crd.name, kind.version
            )));
        }
    }
    Ok(())
}
