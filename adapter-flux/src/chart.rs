//! Where a HelmRelease's chart is, as helm can fetch it itself: the HelmRepository's URL and
//! the chart's name, or the OCI reference, with the version asked for, and the release name
//! and namespace helm-controller installs it as. Used to render previews the way
//! helm-controller would; charts that only source-controller can fetch (from Git, a bucket,
//! or behind credentials) are said to be unreachable, with why.

use super::cache::FluxCache;
use super::kinds::{HELM_RELEASE, by_kind};
use control_core::adapters::RemoteChart;
use control_core::{Error, Result};
use kube::ResourceExt;
use kube::api::DynamicObject;
use model::reference::DeploymentRef;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// helm's limit on release names; helm-controller shortens longer ones with a hash.
const RELEASE_NAME_MAX: usize = 53;

/// The chart of a HelmRelease, or why helm cannot fetch it here.
pub fn remote_chart(cache: &FluxCache, deployment: &DeploymentRef) -> Result<RemoteChart> {
    let release = cache
        .object(HELM_RELEASE, deployment.namespace(), deployment.name())
        .ok_or_else(|| Error::not_found("deployment", deployment.name()))?;
    let spec = release.data.get("spec").unwrap_or(&Value::Null);
    let text = |value: &Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let target = text(spec, "/targetNamespace");
    let namespace = target
        .clone()
        .unwrap_or_else(|| deployment.namespace().to_owned());
    let release_name = text(spec, "/releaseName")
        .unwrap_or_else(|| helm_controller_release_name(target.as_deref(), deployment.name()));
    let located = if let Some(chart_ref) = spec.get("chartRef") {
        let kind = text(chart_ref, "/kind").unwrap_or_default();
        let source = referenced(cache, &release, chart_ref, &kind)?;
        match kind.as_str() {
            "OCIRepository" => oci_repository(&source)?,
            "HelmChart" => {
                let chart_spec = source.data.get("spec").unwrap_or(&Value::Null);
                from_template(cache, &source, chart_spec)?
            }
            other => return Err(unreachable(format!("its chartRef names a {other}"))),
        }
    } else {
        let template = spec.pointer("/chart/spec").ok_or_else(|| {
            unreachable("it names no chart (spec.chart or spec.chartRef)".to_owned())
        })?;
        from_template(cache, &release, template)?
    };
    Ok(RemoteChart {
        repository: located.repository,
        chart: located.chart,
        version: located.version,
        release: release_name,
        namespace,
        values_from: spec
            .get("valuesFrom")
            .and_then(Value::as_array)
            .is_some_and(|from| !from.is_empty()),
    })
}

/// Where a chart is: the repository URL (none for OCI), the chart or reference, the version.
struct Located {
    repository: Option<String>,
    chart: String,
    version: Option<String>,
}

/// A chart described by `spec.chart.spec` of a HelmRelease (or a HelmChart's spec).
fn from_template(cache: &FluxCache, owner: &DynamicObject, template: &Value) -> Result<Located> {
    let chart = template
        .get("chart")
        .and_then(Value::as_str)
        .ok_or_else(|| unreachable("its chart template names no chart".to_owned()))?
        .to_owned();
    let version = template
        .get("version")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty() && *v != "*")
        .map(str::to_owned);
    let source_ref = template.get("sourceRef").unwrap_or(&Value::Null);
    let kind = source_ref
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("HelmRepository");
    if kind != "HelmRepository" {
        return Err(unreachable(format!(
            "its chart is in a {kind}, which only source-controller packages"
        )));
    }
    let repository = referenced(cache, owner, source_ref, kind)?;
    let spec = repository.data.get("spec").unwrap_or(&Value::Null);
    needs_no_credentials(&repository)?;
    let url = spec
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_end_matches('/');
    let oci = spec.get("type").and_then(Value::as_str) == Some("oci") || url.starts_with("oci://");
    Ok(if oci {
        Located {
            repository: None,
            chart: format!("{url}/{chart}"),
            version,
        }
    } else {
        Located {
            repository: Some(url.to_owned()),
            chart,
            version,
        }
    })
}

/// An OCIRepository holding a chart: its URL and tag (or semver range).
fn oci_repository(source: &DynamicObject) -> Result<Located> {
    needs_no_credentials(source)?;
    let spec = source.data.get("spec").unwrap_or(&Value::Null);
    let url = spec.get("url").and_then(Value::as_str).unwrap_or_default();
    let reference = spec.get("ref").unwrap_or(&Value::Null);
    let pick = |key: &str| {
        reference
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if pick("digest").is_some() {
        return Err(unreachable(
            "its OCIRepository pins a digest, which helm cannot pull by".to_owned(),
        ));
    }
    Ok(Located {
        repository: None,
        chart: url.to_owned(),
        version: pick("tag").or_else(|| pick("semver")),
    })
}

/// The source `reference` names (in the owner's namespace unless it names another).
fn referenced(
    cache: &FluxCache,
    owner: &DynamicObject,
    reference: &Value,
    kind: &str,
) -> Result<std::sync::Arc<DynamicObject>> {
    let flux_kind =
        by_kind(kind).ok_or_else(|| unreachable(format!("its chart comes from a {kind:?}")))?;
    let name = reference
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = reference
        .get("namespace")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| owner.namespace())
        .unwrap_or_default();
    cache
        .object(flux_kind, &namespace, name)
        .ok_or_else(|| unreachable(format!("its {kind} {namespace}/{name} does not exist")))
}

/// Pilothouse does not read the tenant's registry credentials.
fn needs_no_credentials(source: &DynamicObject) -> Result<()> {
    if source.data.pointer("/spec/secretRef").is_some() {
        return Err(unreachable(format!(
            "{} {} needs credentials (spec.secretRef), which Pilothouse does not read",
            source
                .types
                .as_ref()
                .map_or("the source", |t| t.kind.as_str()),
            source.name_any()
        )));
    }
    Ok(())
}

fn unreachable(why: String) -> Error {
    Error::invalid("chart", format!("the chart cannot be fetched here: {why}"))
}

/// helm-controller's release name: `[targetNamespace-]name`, shortened to 53 characters with
/// a hash of the whole when longer.
fn helm_controller_release_name(target_namespace: Option<&str>, name: &str) -> String {
    let full = match target_namespace {
        Some(target) => format!("{target}-{name}"),
        None => name.to_owned(),
    };
    if full.len() <= RELEASE_NAME_MAX {
        return full;
    }
    let hash = hex::encode(Sha256::digest(full.as_bytes()));
    format!("{}-{}", &full[..RELEASE_NAME_MAX - 13], &hash[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_helm_controller() {
        assert_eq!(helm_controller_release_name(None, "web"), "web");
        assert_eq!(
            helm_controller_release_name(Some("team-a-prod"), "web"),
            "team-a-prod-web"
        );
        let long = helm_controller_release_name(Some(&"n".repeat(40)), &"w".repeat(30));
        assert_eq!(long.len(), RELEASE_NAME_MAX);
        assert!(long.starts_with(&"n".repeat(40)));
    }
}
