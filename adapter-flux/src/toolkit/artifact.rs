//! A source's artifact, fetched as Flux's own tools do from outside the cluster: through the
//! API server's proxy to source-controller's Service, bounded in size, and checked against
//! the digest source-controller recorded.

use super::super::adapter::FluxAdapter;
use super::text;
use control_core::{Error, Result};
use futures::AsyncReadExt;
use kube::api::DynamicObject;
use model::reference::ToolkitRef;

/// The largest artifact Pilothouse hands out; a larger one is fetched from source-controller
/// directly.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The artifact `found` (the cached `source`) last produced: its file name and bytes.
pub(super) async fn fetch(
    adapter: &FluxAdapter,
    source: &ToolkitRef,
    found: &DynamicObject,
) -> Result<(String, Vec<u8>)> {
    let no_artifact = || {
        Error::not_found(
            "artifact",
            format!("{} has produced none yet", source.describe()),
        )
    };
    let url = text(&found.data, "/status/artifact/url").ok_or_else(no_artifact)?;
    let proxy = proxy_path(&url, &adapter.config.namespace).ok_or_else(|| {
        Error::Cluster(format!(
            "the artifact URL {url:?} is not source-controller's in-cluster address"
        ))
    })?;
    let request = http::Request::get(&proxy)
        .body(Vec::new())
        .map_err(|e| Error::internal(e.to_string()))?;
    let stream = adapter
        .client
        .request_stream(request)
        .await
        .map_err(control_core::adapters::cluster_error)?;
    let mut bytes = Vec::new();
    stream
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| Error::Cluster(format!("reading the artifact: {e}")))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Error::Conflict(format!(
            "the artifact of {} is larger than {} MiB, more than Pilothouse hands out; fetch it from source-controller directly",
            source.describe(),
            MAX_BYTES >> 20
        )));
    }
    if let Some(expected) = text(&found.data, "/status/artifact/digest") {
        let actual = format!("sha256:{}", sha256(&bytes));
        if expected != actual {
            return Err(Error::Cluster(format!(
                "the artifact served is not the one {} records ({expected}, got {actual}); source-controller may have produced a newer one, try again",
                source.describe()
            )));
        }
    }
    let file = format!(
        "{}-{}-{}.tar.gz",
        source.kind.as_str().to_lowercase(),
        source.namespace.name(),
        source.name
    );
    Ok((file, bytes))
}

/// The API server path that proxies `url` (`http://<service>.<namespace>.svc…/<path>`) to the
/// service's `http` port; none for an address that is not a Service's.
fn proxy_path(url: &str, flux_namespace: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/')?;
    let host = host.split(':').next()?;
    let mut labels = host.split('.');
    let service = labels.next().filter(|s| !s.is_empty())?;
    let namespace = labels.next().unwrap_or(flux_namespace);
    if path.split('/').any(|segment| segment == "..") {
        return None;
    }
    Some(format!(
        "/api/v1/namespaces/{namespace}/services/{service}:http/proxy/{path}"
    ))
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::proxy_path;

    #[test]
    fn an_artifact_url_goes_through_the_service_proxy() {
        assert_eq!(
            proxy_path(
                "http://source-controller.flux-system.svc.cluster.local./gitrepository/team-a/shop/ab.tar.gz",
                "flux-system"
            )
            .as_deref(),
            Some("/api/v1/namespaces/flux-system/services/source-controller:http/proxy/gitrepository/team-a/shop/ab.tar.gz")
        );
        assert_eq!(
            proxy_path("https://elsewhere.example/x", "flux-system"),
            None
        );
        assert_eq!(
            proxy_path("http://s.ns.svc/../../secrets", "flux-system"),
            None
        );
    }
}
