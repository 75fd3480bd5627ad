//! SIMULATED source-controller artifacts: each source's last artifact as a `.tar.gz` built from
//! the object (its `sandbox.pilothouse.dev/manifests` annotation, or a README saying what it
//! stands for), served where source-controller serves them, through the API server's service
//! proxy (`/api/v1/namespaces/flux-system/services/source-controller:http/proxy/…`). The same
//! object always builds the same bytes, so the digest in its status matches what is served.

use crate::error::ApiError;
use crate::store::Store;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The annotation whose documents a source's artifact holds (and a Kustomization applies).
const MANIFESTS: &str = "sandbox.pilothouse.dev/manifests";

/// The artifact of `object` (a source of `kind`), gzip-compressed tar.
pub fn build(kind: &str, object: &Value) -> Vec<u8> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut files = vec![(
        "README.md".to_owned(),
        format!(
            "SIMULATED artifact of {kind} {namespace}/{name}, generation {generation} (sandbox, not fetched from anywhere)\n"
        ),
    )];
    let manifests = object
        .pointer(&format!(
            "/metadata/annotations/{}",
            MANIFESTS.replace('/', "~1")
        ))
        .and_then(Value::as_str);
    if let Some(manifests) = manifests {
        files.push(("manifests.yaml".to_owned(), manifests.to_owned()));
    }
    if kind == "HelmRepository" {
        files.push((
            "index.yaml".to_owned(),
            "apiVersion: v1\nentries: {}\n".to_owned(),
        ));
    }
    archive(&files)
}

fn archive(files: &[(String, String)]) -> Vec<u8> {
    let encoder = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(encoder);
    for (path, text) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        // No time in it: the same object builds the same bytes.
        header.set_mtime(0);
        header.set_cksum();
        let _ = tar.append_data(&mut header, path, text.as_bytes());
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .unwrap_or_default()
}

/// Where source-controller keeps an artifact: `<kind>/<namespace>/<name>/<digest>.tar.gz`.
pub fn path(kind: &str, namespace: &str, name: &str, digest: &str) -> String {
    format!("{}/{namespace}/{name}/{digest}.tar.gz", kind.to_lowercase())
}

/// Answers a proxied request to source-controller's Service: the artifact at `rest`, built
/// from the source as it is now.
pub fn serve(store: &Store, service: &str, rest: &[&str]) -> Result<Response, ApiError> {
    let not_found = || ApiError::no_route(&format!("services/{service}/proxy/{}", rest.join("/")));
    if service.split(':').next() != Some("source-controller") {
        return Err(not_found());
    }
    let [kind, namespace, name, file] = rest else {
        return Err(not_found());
    };
    let rt = store
        .resources()
        .into_iter()
        .find(|r| r.group == "source.toolkit.fluxcd.io" && r.kind.eq_ignore_ascii_case(kind))
        .ok_or_else(not_found)?;
    let object = store.get(&rt, Some(namespace), name)?;
    let bytes = build(&rt.kind, &object);
    let digest = sha256(&bytes);
    if *file != format!("{digest}.tar.gz") {
        return Err(not_found());
    }
    Ok(([(header::CONTENT_TYPE, "application/gzip")], bytes).into_response())
}

/// The hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
