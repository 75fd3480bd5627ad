//! Helm's release records, read natively: a release Secret (`sh.helm.release.v1.NAME.vREV`,
//! type `helm.sh/release.v1`, label `owner=helm`) holds base64 of gzip of the release JSON.
//! Decoding is bounded, so a hostile Secret cannot exhaust memory.

use base64::Engine;
use control_core::{Error, Result};
use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::Read;

/// The Secret type Helm stores releases in.
pub const RELEASE_TYPE: &str = "helm.sh/release.v1";
/// The largest release JSON decoded: a Secret holds at most 1 MiB (the API server's object
/// limit) of gzipped JSON, which real releases decode well below; a gzip bomb stops here.
const MAX_DECODED: u64 = 8 * 1024 * 1024;

/// What Pilothouse keeps of a release.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// Release name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Revision.
    pub version: u32,
    /// deployed, failed, superseded, pending-install, pending-upgrade, pending-rollback,
    /// uninstalling, uninstalled.
    pub status: String,
    /// Helm's description of the last action.
    pub description: String,
    /// When this revision was deployed.
    pub last_deployed: Option<String>,
    /// Chart name.
    pub chart: String,
    /// Chart version.
    pub chart_version: String,
    /// The chart's appVersion.
    pub app_version: Option<String>,
    /// The values the user supplied.
    pub values: Map<String, Value>,
    /// The rendered manifest.
    pub manifest: String,
    /// The chart's `values.schema.json`, when it has one that parses.
    pub values_schema: Option<Value>,
}

#[derive(Deserialize)]
struct Raw {
    name: String,
    namespace: String,
    version: u32,
    #[serde(default)]
    info: RawInfo,
    #[serde(default)]
    chart: RawChart,
    #[serde(default)]
    config: Option<Map<String, Value>>,
    #[serde(default)]
    manifest: String,
}

#[derive(Deserialize, Default)]
struct RawInfo {
    #[serde(default)]
    status: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    last_deployed: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawChart {
    #[serde(default)]
    metadata: RawMetadata,
    /// base64 of the chart's values.schema.json.
    #[serde(default)]
    schema: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    app_version: Option<String>,
}

/// Decodes a release Secret.
pub fn decode(secret: &Secret) -> Result<Release> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let unreadable =
        |why: String| Error::Conflict(format!("release Secret {name} cannot be read: {why}"));
    if secret.type_.as_deref() != Some(RELEASE_TYPE) {
        return Err(unreadable(format!("its type is not {RELEASE_TYPE}")));
    }
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .ok_or_else(|| unreadable("it has no release data".into()))?;
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(&data.0)
        .map_err(|e| unreadable(format!("not base64: {e}")))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .take(MAX_DECODED + 1)
        .read_to_end(&mut json)
        .map_err(|e| unreadable(format!("not gzip: {e}")))?;
    if json.len() as u64 > MAX_DECODED {
        return Err(unreadable("it decodes to more than 8 MiB".into()));
    }
    from_json(&json).map_err(|e| unreadable(e.to_string()))
}

/// A release from its JSON, as Helm stores it and as `helm install -o json` prints it.
pub fn from_json(json: &[u8]) -> Result<Release> {
    let raw: Raw = serde_json::from_slice(json)
        .map_err(|e| Error::Helm(format!("helm's output is not a release: {e}")))?;
    Ok(Release {
        name: raw.name,
        namespace: raw.namespace,
        version: raw.version,
        status: raw.info.status,
        description: raw.info.description,
        last_deployed: raw.info.last_deployed,
        chart: raw.chart.metadata.name,
        chart_version: raw.chart.metadata.version,
        app_version: raw.chart.metadata.app_version,
        values: raw.config.unwrap_or_default(),
        manifest: raw.manifest,
        values_schema: raw.chart.schema.as_deref().and_then(schema_of),
    })
}

/// A stored schema: base64 of JSON; one that does not decode is treated as none (helm
/// would refuse the chart before storing it).
fn schema_of(encoded: &str) -> Option<Value> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Release name and revision from a release Secret's labels, without decoding it.
pub fn labels_of(secret: &Secret) -> Option<(String, u32)> {
    let labels = secret.metadata.labels.as_ref()?;
    Some((
        labels.get("name")?.clone(),
        labels.get("version")?.parse().ok()?,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::io::Write;

    /// A release Secret as Helm writes it.
    pub fn secret(json: &Value) -> Secret {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json.to_string().as_bytes()).expect("gzip");
        let encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": "sh.helm.release.v1.web.v2", "namespace": "team-a", "labels": { "owner": "helm", "name": "web", "version": "2" } },
            "type": RELEASE_TYPE,
            "data": { "release": base64::engine::general_purpose::STANDARD.encode(encoded) },
        }))
        .expect("secret")
    }

    #[test]
    fn decodes_what_helm_stores() {
        let release = decode(&secret(&serde_json::json!({ "name": "web", "namespace": "team-a", "version": 2,
            "info": { "status": "deployed", "description": "Upgrade complete", "last_deployed": "2026-11-23T12:00:00Z" },
            "chart": { "metadata": { "name": "podinfo", "version": "6.7.1", "appVersion": "6.7.1" } },
            "config": { "replicaCount": 3 }, "manifest": "---\nkind: Service\n" })))
        .expect("decode");
        assert_eq!(
            (
                release.version,
                release.status.as_str(),
                release.chart_version.as_str()
            ),
            (2, "deployed", "6.7.1")
        );
        assert_eq!(release.values["replicaCount"], 3);
        assert_eq!(
            labels_of(&secret(&serde_json::json!({}))),
            Some(("web".into(), 2))
        );
    }

    #[test]
    fn hostile_secrets_are_refused_not_panicked_on() {
        let mut bad = secret(&serde_json::json!({ "name": "x" }));
        assert!(decode(&bad).is_err(), "not a release");
        bad.data = Some([("release".to_owned(), ByteString(b"%%%".to_vec()))].into());
        assert!(decode(&bad).is_err(), "not base64");
        bad.type_ = Some("Opaque".into());
        assert!(decode(&bad).is_err(), "wrong type");
        // A release whose manifest gzips to a few KiB but decodes past the cap.
        let bomb =
            secret(&serde_json::json!({ "name": "web", "manifest": "a".repeat(9 * 1024 * 1024) }));
        let error = decode(&bomb).unwrap_err();
        assert!(error.to_string().contains("more than 8 MiB"), "{error}");
    }
}
