//! Charts from HTTP(S) repositories, fetched by Pilothouse itself rather than by helm, so the
//! registry policy holds for what is actually reached, not only for the text of a URL:
//!
//! - the repository's name is resolved here, and refused when it resolves to a loopback,
//!   link-local or private address (unless a platform-admin allowed the host);
//! - the connection goes to the address that was checked (no second lookup to rebind);
//! - a redirect is followed only within the same scheme, host and port;
//! - the chart's URL in `index.yaml` must be on the repository's host;
//! - index and archive are read up to a size limit; helm then gets the archive as a file.

use super::registries::RegistryPolicy;
use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The largest `index.yaml` read.
const INDEX_BYTES: usize = 16 * 1024 * 1024;
/// The largest chart archive read.
const ARCHIVE_BYTES: usize = 32 * 1024 * 1024;
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed within the repository's host.
const REDIRECTS: usize = 5;

/// Turns a host name into addresses (the system's resolver, or a test's).
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    /// The addresses `host` resolves to.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The system's resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port))
            .await?
            .map(|address| address.ip())
            .collect())
    }
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    version: String,
    #[serde(default)]
    urls: Vec<String>,
}

/// Fetches `chart` at `version` (a version or a semver range; the newest when none) from the
/// repository at `repository`, as the policy allows. Answers the archive.
pub async fn chart(
    policy: &RegistryPolicy,
    resolver: &dyn Resolve,
    repository: &str,
    chart: &str,
    version: Option<&str>,
) -> Result<Vec<u8>> {
    policy.check(repository)?;
    let base = reqwest::Url::parse(&format!("{}/", repository.trim_end_matches('/')))
        .map_err(|e| Error::invalid("spec.url", format!("{repository} is not a URL: {e}")))?;
    let host = base
        .host_str()
        .ok_or_else(|| Error::invalid("spec.url", format!("{repository} names no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = base.port_or_known_default().unwrap_or(443);
    let addresses = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => resolver.resolve(&host, port).await.map_err(|e| {
            Error::Helm(format!(
                "the repository host {host} cannot be resolved: {e}"
            ))
        })?,
    };
    policy.check_addresses(repository, &addresses)?;
    let client = pinned_client(&base, &host, SocketAddr::new(addresses[0], port))?;
    let index_url = base
        .join("index.yaml")
        .map_err(|e| Error::invalid("spec.url", e.to_string()))?;
    let index = get(&client, index_url, INDEX_BYTES, "index.yaml").await?;
    let index: Index = serde_yaml::from_slice(&index)
        .map_err(|e| Error::Helm(format!("the repository's index.yaml cannot be read: {e}")))?;
    let entries = index.entries.get(chart).ok_or_else(|| Error::NotFound {
        kind: "chart",
        name: format!("{chart} in {repository}"),
    })?;
    let entry = choose(entries, version).ok_or_else(|| Error::NotFound {
        kind: "chart",
        name: format!(
            "{chart} {} in {repository}",
            version.unwrap_or("(any version)")
        ),
    })?;
    let location = entry.urls.first().ok_or_else(|| {
        Error::Helm(format!(
            "the index lists {chart} {} without a URL",
            entry.version
        ))
    })?;
    let url = base
        .join(location)
        .map_err(|e| Error::Helm(format!("the chart URL {location:?} cannot be read: {e}")))?;
    if !same_origin(&url, &base) {
        return Err(Error::OutsideBoundary {
            field: "helm.chart",
            message: format!(
                "the repository's index points {chart} at {}, off the repository's host; Pilothouse fetches charts only from the repository it checked",
                url.host_str().unwrap_or_default()
            ),
        });
    }
    get(&client, url, ARCHIVE_BYTES, "the chart archive").await
}

/// A client that reaches `host` only at `address` and follows redirects only to the same
/// scheme, host and port.
fn pinned_client(base: &reqwest::Url, host: &str, address: SocketAddr) -> Result<reqwest::Client> {
    let origin = base.clone();
    reqwest::Client::builder()
        .resolve(host, address)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > REDIRECTS {
                attempt.error("too many redirects")
            } else if same_origin(attempt.url(), &origin) {
                attempt.follow()
            } else {
                let elsewhere = attempt.url().host_str().unwrap_or_default().to_owned();
                attempt.error(format!(
                    "a redirect to {elsewhere} leaves the repository's host"
                ))
            }
        }))
        .timeout(TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| Error::Helm(format!("cannot make an HTTP client: {e}")))
}

fn same_origin(url: &reqwest::Url, base: &reqwest::Url) -> bool {
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
}

/// GETs `url`, reading at most `limit` bytes.
async fn get(
    client: &reqwest::Client,
    url: reqwest::Url,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>> {
    let shown = url.to_string();
    let mut response = client.get(url).send().await.map_err(|e| {
        if e.is_redirect() {
            Error::OutsideBoundary {
                field: "helm.chart",
                message: format!("{what} at {shown}: {}", redirect_reason(&e)),
            }
        } else {
            Error::Helm(format!("cannot fetch {what} at {shown}: {e}"))
        }
    })?;
    if !response.status().is_success() {
        return Err(Error::Helm(format!(
            "{what} at {shown} answered {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::Helm(format!("cannot read {what} at {shown}: {e}")))?
    {
        if body.len() + chunk.len() > limit {
            return Err(Error::Helm(format!(
                "{what} at {shown} is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The redirect policy's own words, without reqwest's wrapping.
fn redirect_reason(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut last = error.to_string();
    while let Some(inner) = source {
        last = inner.to_string();
        source = inner.source();
    }
    last
}

/// The newest entry matching `wanted` (an exact version or a semver range, as Flux takes
/// them); without one, the newest release (no pre-release).
fn choose<'a>(entries: &'a [Entry], wanted: Option<&str>) -> Option<&'a Entry> {
    let parsed = |e: &'a Entry| {
        semver::Version::parse(e.version.trim_start_matches('v'))
            .ok()
            .map(|v| (v, e))
    };
    let wanted = wanted.map(str::trim).filter(|w| !w.is_empty() && *w != "*");
    match wanted {
        None => entries
            .iter()
            .filter_map(parsed)
            .filter(|(v, _)| v.pre.is_empty())
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, e)| e),
        Some(text) => {
            if let Some(exact) = entries.iter().find(|e| e.version == text) {
                return Some(exact);
            }
            let requirement = semver::VersionReq::parse(text).ok()?;
            entries
                .iter()
                .filter_map(parsed)
                .filter(|(v, _)| requirement.matches(v))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, e)| e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves every name to one address, as a hostile DNS answer would.
    struct To(IpAddr);

    #[async_trait::async_trait]
    impl Resolve for To {
        async fn resolve(&self, _: &str, _: u16) -> std::io::Result<Vec<IpAddr>> {
            Ok(vec![self.0])
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused_before_anything_connects() {
        let policy = RegistryPolicy::new(&[], &[]);
        for inside in ["127.0.0.1", "169.254.169.254", "10.1.2.3", "::1"] {
            let resolver = To(inside.parse().expect("ip"));
            let refused = chart(
                &policy,
                &resolver,
                "https://charts.example.com",
                "web",
                None,
            )
            .await
            .expect_err("refused");
            assert_eq!(refused.status(), 403, "{inside}: {refused}");
            assert!(refused.to_string().contains(inside), "{refused}");
        }
    }

    #[test]
    fn versions_are_chosen_as_flux_chooses_them() {
        let entry = |v: &str| Entry {
            version: v.into(),
            urls: vec![format!("web-{v}.tgz")],
        };
        let entries = [
            entry("1.0.0"),
            entry("1.2.0"),
            entry("2.0.0-rc.1"),
            entry("1.10.1"),
        ];
        let pick = |w: Option<&str>| choose(&entries, w).map(|e| e.version.clone());
        assert_eq!(pick(None).as_deref(), Some("1.10.1"));
        assert_eq!(pick(Some("*")).as_deref(), Some("1.10.1"));
        assert_eq!(pick(Some("1.2.0")).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some("~1.2")).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some(">=2.0.0-rc.0")).as_deref(), Some("2.0.0-rc.1"));
        assert_eq!(pick(Some("3.x")), None);
    }
}
