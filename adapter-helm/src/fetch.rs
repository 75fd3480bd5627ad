//! Remote charts, fetched by Pilothouse itself rather than by helm, so the registry policy
//! holds for what is actually reached, not only for the text of a URL:
//!
//! - every host's name is resolved here and refused when it resolves to a loopback,
//!   link-local or private address (unless a platform-admin allowed the host by name);
//! - the connection goes to the address that was checked (no second lookup to rebind);
//! - an HTTP(S) repository's redirects stay on its scheme, host and port, and the chart's URL
//!   in `index.yaml` must be on the repository's host;
//! - an OCI registry's token service and blob redirects (registries hand blobs to a storage
//!   host) are each checked as a new host, and the blob must match its digest;
//! - everything read is size-bounded; helm then gets the archive as a file.

use super::registries::RegistryPolicy;
use control_core::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The largest `index.yaml`, manifest or tag list read.
const INDEX_BYTES: usize = 16 * 1024 * 1024;
/// The largest chart archive read.
const ARCHIVE_BYTES: usize = 32 * 1024 * 1024;
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed for one request.
const REDIRECTS: usize = 5;
/// The media type of a chart's layer in an OCI registry.
const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// What a registry is asked for a chart's manifest.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json";

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
/// HTTP(S) repository at `repository`, as the policy allows. Answers the archive.
pub async fn chart(
    policy: &RegistryPolicy,
    resolver: &dyn Resolve,
    repository: &str,
    chart: &str,
    version: Option<&str>,
) -> Result<Vec<u8>> {
    let base = reqwest::Url::parse(&format!("{}/", repository.trim_end_matches('/')))
        .map_err(|e| Error::invalid("spec.url", format!("{repository} is not a URL: {e}")))?;
    let client = connect(policy, resolver, &base, Redirects::SameOrigin).await?;
    let index_url = base
        .join("index.yaml")
        .map_err(|e| Error::invalid("spec.url", e.to_string()))?;
    let index = read(
        send(client.get(index_url.clone()), &index_url).await?,
        INDEX_BYTES,
    )
    .await?;
    let index: Index = serde_yaml::from_slice(&index)
        .map_err(|e| Error::Helm(format!("the repository's index.yaml cannot be read: {e}")))?;
    let missing = || Error::NotFound {
        kind: "chart",
        name: format!(
            "{chart} {} in {repository}",
            version.unwrap_or("(any version)")
        ),
    };
    let entries = index.entries.get(chart).ok_or_else(missing)?;
    let entry = choose(entries, |e| &e.version, version).ok_or_else(missing)?;
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
        return Err(refused(format!(
            "the repository's index points {chart} at {}, off the repository's host; Pilothouse fetches charts only from the repository it checked",
            url.host_str().unwrap_or_default()
        )));
    }
    read(send(client.get(url.clone()), &url).await?, ARCHIVE_BYTES).await
}

#[derive(Debug, Deserialize)]
struct Tags {
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Layer {
    media_type: String,
    digest: String,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// Fetches the chart at `reference` (`oci://host[:port]/path/chart`) at `version` (a tag, or a
/// semver range over the tags; the newest when none) from its OCI registry, as the policy
/// allows. Answers the archive, checked against its digest.
pub async fn oci_chart(
    policy: &RegistryPolicy,
    resolver: &dyn Resolve,
    reference: &str,
    version: Option<&str>,
) -> Result<Vec<u8>> {
    let rest = reference
        .strip_prefix("oci://")
        .ok_or_else(|| Error::invalid("helm.chart", "an OCI reference starts with oci://"))?;
    let (authority, name) = rest
        .split_once('/')
        .filter(|(_, name)| !name.is_empty())
        .ok_or_else(|| Error::invalid("helm.chart", "oci://host/path/chart names a chart"))?;
    let scheme = if policy.plain_http(reference) {
        "http"
    } else {
        "https"
    };
    let base = reqwest::Url::parse(&format!("{scheme}://{authority}/"))
        .map_err(|e| Error::invalid("helm.chart", format!("{reference}: {e}")))?;
    let client = connect(policy, resolver, &base, Redirects::Never).await?;
    let mut registry = Registry {
        policy,
        resolver,
        client,
        base,
        name: name.to_owned(),
        token: None,
    };
    let missing = |tag: &str| Error::NotFound {
        kind: "chart",
        name: format!("{reference} {tag}"),
    };
    let tag = match version.map(str::trim).filter(|v| !v.is_empty()) {
        Some(exact) if semver::Version::parse(exact.trim_start_matches('v')).is_ok() => {
            exact.replace('+', "_")
        }
        wanted => {
            let listed = registry.get("tags/list", "application/json").await?;
            let tags: Tags = serde_json::from_slice(&listed)
                .map_err(|e| Error::Helm(format!("the registry's tag list cannot be read: {e}")))?;
            choose(
                &tags.tags,
                |t| t,
                wanted.map(|w| w.replace('_', "+")).as_deref(),
            )
            .ok_or_else(|| missing(wanted.unwrap_or("(any version)")))?
            .clone()
        }
    };
    let manifest = match registry
        .get(&format!("manifests/{tag}"), MANIFEST_TYPES)
        .await
    {
        Err(Error::NotFound { .. }) => return Err(missing(&tag.replace('_', "+"))),
        other => other?,
    };
    let manifest: Manifest = serde_json::from_slice(&manifest)
        .map_err(|e| Error::Helm(format!("the chart's manifest cannot be read: {e}")))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == CHART_LAYER)
        .ok_or_else(|| Error::Helm(format!("{reference}:{tag} holds no Helm chart layer")))?;
    let archive = registry
        .get(&format!("blobs/{}", layer.digest), "*/*")
        .await?;
    let actual = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&archive)))
    };
    if actual != layer.digest {
        return Err(Error::Helm(format!(
            "the chart archive of {reference}:{tag} does not match its digest {}",
            layer.digest
        )));
    }
    Ok(archive)
}

/// One repository of an OCI registry, with the pull token once one was granted.
struct Registry<'a> {
    policy: &'a RegistryPolicy,
    resolver: &'a dyn Resolve,
    client: reqwest::Client,
    base: reqwest::Url,
    name: String,
    token: Option<String>,
}

impl Registry<'_> {
    /// GETs `/v2/<name>/<path>`: asks the registry's token service once when it wants a
    /// bearer token, and follows redirects only to hosts the policy allows.
    async fn get(&mut self, path: &str, accept: &str) -> Result<Vec<u8>> {
        let url = self
            .base
            .join(&format!("v2/{}/{path}", self.name))
            .map_err(|e| Error::invalid("helm.chart", e.to_string()))?;
        for attempt in 0..2 {
            let mut request = self.client.get(url.clone()).header("accept", accept);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            let response = send(request, &url).await?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                self.token = Some(self.pull_token(&challenge).await?);
                continue;
            }
            if response.status().is_redirection() {
                return follow(self.policy, self.resolver, response, ARCHIVE_BYTES).await;
            }
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                return Err(Error::NotFound {
                    kind: "chart",
                    name: url.to_string(),
                });
            }
            return read(response, ARCHIVE_BYTES).await;
        }
        Err(Error::Helm(format!(
            "the registry refused the pull token for {url}; Pilothouse pulls only public charts from OCI registries"
        )))
    }

    /// An anonymous pull token from the realm a `Bearer` challenge names (checked as a new
    /// host).
    async fn pull_token(&self, challenge: &str) -> Result<String> {
        let parameters = challenge_parameters(challenge);
        let realm = parameters.get("realm").ok_or_else(|| {
            Error::Helm("the registry wants credentials Pilothouse does not hold".into())
        })?;
        let mut url = reqwest::Url::parse(realm)
            .map_err(|e| Error::Helm(format!("the registry's token realm {realm:?}: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            for key in ["service", "scope"] {
                if let Some(value) = parameters.get(key) {
                    query.append_pair(key, value);
                }
            }
        }
        let client = connect(self.policy, self.resolver, &url, Redirects::Never).await?;
        let answer = read(send(client.get(url.clone()), &url).await?, INDEX_BYTES).await?;
        let answer: TokenAnswer = serde_json::from_slice(&answer)
            .map_err(|e| Error::Helm(format!("the registry's token answer cannot be read: {e}")))?;
        answer
            .token
            .or(answer.access_token)
            .ok_or_else(|| Error::Helm("the registry's token service gave no token".into()))
    }
}

/// The `key="value"` pairs of a `WWW-Authenticate: Bearer …` challenge.
fn challenge_parameters(challenge: &str) -> BTreeMap<String, String> {
    let rest = challenge
        .trim()
        .strip_prefix("Bearer")
        .or_else(|| challenge.trim().strip_prefix("bearer"))
        .unwrap_or_default();
    let mut parameters = BTreeMap::new();
    let mut rest = rest.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((value, remaining)) => (value, remaining),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        parameters.insert(key, value.to_owned());
        rest = remaining.trim_start().trim_start_matches(',');
    }
    parameters
}

/// Follows a redirect answer hop by hop, each target connected to as a new host (its name
/// resolved and checked); no credentials go along.
async fn follow(
    policy: &RegistryPolicy,
    resolver: &dyn Resolve,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>> {
    for _ in 0..REDIRECTS {
        let from = response.url().clone();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Helm(format!("{from} redirects without a location")))?;
        let to = from
            .join(location)
            .map_err(|e| Error::Helm(format!("{from} redirects to {location:?}: {e}")))?;
        let client = connect(policy, resolver, &to, Redirects::Never).await?;
        response = send(client.get(to.clone()), &to).await?;
        if !response.status().is_redirection() {
            return read(response, limit).await;
        }
    }
    Err(Error::Helm("too many redirects".into()))
}

/// A client for `url`'s host, once the policy allowed the host's name and the addresses it
/// resolves to, that reaches the host only at the address checked.
async fn connect(
    policy: &RegistryPolicy,
    resolver: &dyn Resolve,
    url: &reqwest::Url,
    redirects: Redirects,
) -> Result<reqwest::Client> {
    let reference = url.as_str();
    policy.check(reference)?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid("helm.chart", format!("{reference} names no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => resolver
            .resolve(&host, port)
            .await
            .map_err(|e| Error::Helm(format!("the host {host} cannot be resolved: {e}")))?,
    };
    policy.check_addresses(reference, &addresses)?;
    let Some(address) = addresses.first() else {
        return Err(Error::Helm(format!(
            "the host {host} resolves to no address"
        )));
    };
    let origin = url.clone();
    let redirect = match redirects {
        Redirects::Never => reqwest::redirect::Policy::none(),
        Redirects::SameOrigin => reqwest::redirect::Policy::custom(move |attempt| {
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
        }),
    };
    reqwest::Client::builder()
        .resolve(&host, SocketAddr::new(*address, port))
        .redirect(redirect)
        .timeout(TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| Error::Helm(format!("cannot make an HTTP client: {e}")))
}

/// Which redirects a client follows by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redirects {
    /// Only to the same scheme, host and port; any other is refused.
    SameOrigin,
    /// None: each hop is checked as a new host ([`follow`]).
    Never,
}

fn same_origin(url: &reqwest::Url, base: &reqwest::Url) -> bool {
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
}

/// A registry refused by policy: a denial, naming the field.
fn refused(message: String) -> Error {
    Error::OutsideBoundary {
        field: "helm.chart",
        message,
    }
}

/// Sends `request` for `url`; a redirect the policy refused is a refusal, anything else that
/// keeps an answer from coming is a helm-side failure.
async fn send(request: reqwest::RequestBuilder, url: &reqwest::Url) -> Result<reqwest::Response> {
    request.send().await.map_err(|e| {
        if e.is_redirect() {
            refused(format!("{url}: {}", innermost(&e)))
        } else {
            Error::Helm(format!("cannot fetch {url}: {}", innermost(&e)))
        }
    })
}

/// The body of a successful answer, at most `limit` bytes.
async fn read(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    let url = response.url().clone();
    if !response.status().is_success() {
        return Err(Error::Helm(format!("{url} answered {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::Helm(format!("cannot read {url}: {e}")))?
    {
        if body.len() + chunk.len() > limit {
            return Err(Error::Helm(format!("{url} is larger than {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error's innermost cause (the redirect policy's own words, the connection's).
fn innermost(error: &reqwest::Error) -> String {
    let mut last = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        last = inner.to_string();
        source = inner.source();
    }
    last
}

/// The newest item whose version (`version_of`) matches `wanted` (an exact version or a
/// semver range, as Flux takes them); without one, the newest release (no pre-release).
fn choose<'a, T>(
    items: &'a [T],
    version_of: impl Fn(&T) -> &String,
    wanted: Option<&str>,
) -> Option<&'a T> {
    let parsed = |item: &'a T| {
        semver::Version::parse(version_of(item).trim_start_matches('v'))
            .ok()
            .map(|v| (v, item))
    };
    let wanted = wanted.map(str::trim).filter(|w| !w.is_empty() && *w != "*");
    match wanted {
        None => items
            .iter()
            .filter_map(parsed)
            .filter(|(v, _)| v.pre.is_empty())
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, item)| item),
        Some(text) => {
            if let Some(exact) = items.iter().find(|i| version_of(i) == text) {
                return Some(exact);
            }
            let requirement = semver::VersionReq::parse(text).ok()?;
            items
                .iter()
                .filter_map(parsed)
                .filter(|(v, _)| requirement.matches(v))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, item)| item)
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
            let refused = oci_chart(&policy, &resolver, "oci://ghcr.example.com/org/web", None)
                .await
                .expect_err("refused");
            assert_eq!(refused.status(), 403, "{inside}: {refused}");
        }
    }

    #[test]
    fn versions_are_chosen_as_flux_chooses_them() {
        let versions: Vec<String> = ["1.0.0", "1.2.0", "2.0.0-rc.1", "1.10.1", "latest"]
            .map(str::to_owned)
            .into();
        let pick = |w: Option<&str>| choose(&versions, |v| v, w).cloned();
        assert_eq!(pick(None).as_deref(), Some("1.10.1"));
        assert_eq!(pick(Some("*")).as_deref(), Some("1.10.1"));
        assert_eq!(pick(Some("1.2.0")).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some("~1.2")).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some(">=2.0.0-rc.0")).as_deref(), Some("2.0.0-rc.1"));
        assert_eq!(pick(Some("3.x")), None);
    }

    /// An OCI registry on loopback that wants a pull token from its own token service and
    /// hands the chart's blob to a storage host (`storage`), as public registries do.
    async fn registry(storage: String) -> (String, Vec<u8>) {
        use axum::http::{HeaderMap, StatusCode, header};
        use axum::response::IntoResponse;
        use sha2::Digest;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let host = listener.local_addr().expect("address").to_string();
        let archive = b"not really a chart, but bytes with a digest".to_vec();
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&archive)));
        let manifest = serde_json::json!({ "schemaVersion": 2, "layers": [{ "mediaType": CHART_LAYER, "digest": digest }] }).to_string();
        let realm = format!("http://{host}/token");
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
            let (manifest, realm, storage, digest) =
                (manifest.clone(), realm.clone(), storage.clone(), digest.clone());
            async move {
                let path = uri.path();
                if path == "/token" {
                    return axum::Json(serde_json::json!({ "token": "pull" })).into_response();
                }
                if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some("Bearer pull") {
                    let challenge = format!("Bearer realm=\"{realm}\",service=\"test\",scope=\"repository:org/web:pull\"");
                    return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response();
                }
                match path {
                    "/v2/org/web/tags/list" => {
                        axum::Json(serde_json::json!({ "tags": ["1.0.0", "1.1.0", "2.0.0-rc.1"] })).into_response()
                    }
                    "/v2/org/web/manifests/1.1.0" => manifest.into_response(),
                    p if p == format!("/v2/org/web/blobs/{digest}") => {
                        (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, format!("{storage}/blob"))]).into_response()
                    }
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        (host, archive)
    }

    #[tokio::test]
    async fn oci_pulls_take_a_token_and_follow_blobs_only_to_allowed_hosts() {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let storage_host = listener.local_addr().expect("address").to_string();
        let archive_for_storage = b"not really a chart, but bytes with a digest".to_vec();
        let app =
            axum::Router::new().route("/blob", get(move || async move { archive_for_storage }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let (host, archive) = registry(format!("http://{storage_host}")).await;
        let reference = format!("oci://{host}/org/web");
        let both = [host.clone(), storage_host.clone()];
        let policy = RegistryPolicy::new(&both, &both);
        let pulled = oci_chart(&policy, &SystemResolver, &reference, Some("^1.0"))
            .await
            .expect("pulled through the token service and the storage host");
        assert_eq!(pulled, archive);
        // The storage host is a new host: not allowed, it is not reached.
        let registry_only =
            RegistryPolicy::new(std::slice::from_ref(&host), std::slice::from_ref(&host));
        let refused = oci_chart(&registry_only, &SystemResolver, &reference, Some("1.1.0"))
            .await
            .expect_err("the blob's host is not allowed");
        assert_eq!(refused.status(), 403, "{refused}");
        assert!(refused.to_string().contains(&storage_host), "{refused}");
        let missing = oci_chart(&policy, &SystemResolver, &reference, Some("9.9.9"))
            .await
            .expect_err("no such tag");
        assert_eq!(
            missing.to_string(),
            format!("chart not found: {reference} 9.9.9")
        );
    }

    #[test]
    fn a_bearer_challenge_is_read_as_registries_send_it() {
        let parameters = challenge_parameters(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:org/web:pull""#,
        );
        assert_eq!(parameters["realm"], "https://auth.example.com/token");
        assert_eq!(parameters["service"], "registry.example.com");
        assert_eq!(parameters["scope"], "repository:org/web:pull");
    }
}
