//! Which chart registries helm may reach for a user's `oci://` reference or a Flux
//! HelmRepository's URL, decided before helm runs, so a request cannot make Pilothouse
//! connect to its own network (SSRF).
//!
//! With `helm.allowedRegistries` set, only those hosts are reached. Without it, any public
//! host is, but loopback, link-local, private and unique-local addresses and cluster-internal
//! names (`localhost`, single-label names, `.local`, `.svc`, `.cluster.local`, `.internal`)
//! are refused. Pilothouse fetches a repository's charts itself (`fetch`): it resolves the
//! name, refuses one that resolves to such an address ([`RegistryPolicy::check_addresses`])
//! unless a platform-admin allowed the host, and connects to the address it checked.
//! `--plain-http` is passed, and an `http://` repository reached, only for hosts in
//! `helm.plainHttpRegistries`.

use control_core::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The registry policy from the Helm settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryPolicy {
    allowed: Vec<String>,
    plain_http: Vec<String>,
}

impl RegistryPolicy {
    /// A policy allowing `allowed` (`host`, `host:port` or `*.domain`; empty means public
    /// hosts), with `--plain-http` for `plain_http` hosts.
    pub fn new(allowed: &[String], plain_http: &[String]) -> Self {
        let lower = |list: &[String]| list.iter().map(|h| h.to_ascii_lowercase()).collect();
        Self {
            allowed: lower(allowed),
            plain_http: lower(plain_http),
        }
    }

    /// Ok when helm may pull `reference` (`oci://host[:port]/repository`, or a repository's
    /// `https://` URL); says why not.
    pub fn check(&self, reference: &str) -> Result<()> {
        let authority = authority(reference)?;
        let host = host_of(&authority);
        if reference.starts_with("http://") && !self.plain_http(reference) {
            return Err(refused(format!(
                "repository {authority} is plain HTTP, which Pilothouse reaches only for hosts in helm.plainHttpRegistries; serve it over https, or ask a platform-admin to list it there"
            )));
        }
        if !self.allowed.is_empty() {
            return if self.allowed.iter().any(|a| matches(a, &authority, host)) {
                Ok(())
            } else {
                Err(refused(format!(
                    "registry {authority} is not one of helm.allowedRegistries ({}); ask a platform-admin to allow it",
                    self.allowed.join(", ")
                )))
            };
        }
        if let Some(why) = internal(host) {
            return Err(refused(format!(
                "registry {authority} is {why}, which Pilothouse does not reach for a request; a platform-admin may allow it in helm.allowedRegistries"
            )));
        }
        Ok(())
    }

    /// Ok when `reference`'s host may be reached at `addresses` (what its name resolved to):
    /// every one of them public, unless `helm.allowedRegistries` names the host, which is a
    /// platform-admin's word that its addresses are meant.
    pub fn check_addresses(&self, reference: &str, addresses: &[IpAddr]) -> Result<()> {
        let authority = authority(reference)?;
        let host = host_of(&authority);
        if self.allowed.iter().any(|a| matches(a, &authority, host)) {
            return Ok(());
        }
        if addresses.is_empty() {
            return Err(refused(format!(
                "registry {authority} resolves to no address"
            )));
        }
        for address in addresses {
            if let Some(why) = internal_ip(*address) {
                return Err(refused(format!(
                    "registry {authority} resolves to {address}, {why}, which Pilothouse does not reach for a request; a platform-admin may allow it in helm.allowedRegistries"
                )));
            }
        }
        Ok(())
    }

    /// Whether helm talks plain HTTP to the registry of `reference`.
    pub fn plain_http(&self, reference: &str) -> bool {
        authority(reference).is_ok_and(|authority| {
            let host = host_of(&authority);
            self.plain_http.iter().any(|p| matches(p, &authority, host))
        })
    }
}

/// A registry refused by policy: a denial (403, audited as one), not malformed input.
fn refused(message: String) -> Error {
    Error::OutsideBoundary {
        field: "helm.chart",
        message,
    }
}

/// `host[:port]` of an `oci://`, `https://` or `http://` reference, lower-cased.
fn authority(reference: &str) -> Result<String> {
    ["oci://", "https://", "http://"]
        .iter()
        .find_map(|scheme| reference.strip_prefix(scheme))
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        // Credentials in the URL (`user@host`) would hide the host from a reader.
        .filter(|a| !a.is_empty() && !a.contains('@'))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| {
            Error::invalid(
                "helm.chart",
                "a chart reference names a registry host (oci://host/…, https://host/…)",
            )
        })
}

/// The host of `host[:port]` or `[v6]:port`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

fn matches(entry: &str, authority: &str, host: &str) -> bool {
    match entry.strip_prefix("*.") {
        Some(domain) => host.ends_with(&format!(".{domain}")),
        None => entry == authority || entry == host,
    }
}

/// Why `host` is internal, if it is.
fn internal(host: &str) -> Option<&'static str> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return internal_ip(ip);
    }
    let name = host.trim_end_matches('.');
    if name == "localhost" || name.ends_with(".localhost") {
        return Some("a loopback name");
    }
    if !name.contains('.') {
        return Some("a single-label name (resolved inside the cluster's network)");
    }
    [
        ".local",
        ".svc",
        ".cluster.local",
        ".internal",
        ".home.arpa",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
    .then_some("a cluster-internal or local name")
}

fn internal_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata lives there)")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("a private address")
    } else if ip.is_unspecified() || ip.is_broadcast() || a == 0 {
        Some("not a routable address")
    } else {
        None
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique-local (private) address")
    } else if ip.is_unspecified() {
        Some("not a routable address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_hosts_are_refused_without_an_allow_list() {
        let open = RegistryPolicy::default();
        for reference in [
            "oci://127.0.0.1:5000/charts/x",
            "oci://localhost/charts/x",
            "oci://169.254.169.254/latest/x",
            "oci://10.0.0.8/charts/x",
            "oci://172.20.1.1/charts/x",
            "oci://192.168.1.10:443/charts/x",
            "oci://100.64.0.1/charts/x",
            "oci://[::1]:5000/charts/x",
            "oci://[fe80::1]/charts/x",
            "oci://[fd00::5]/charts/x",
            "oci://[::ffff:127.0.0.1]/charts/x",
            "oci://0.0.0.0/charts/x",
            "oci://registry/charts/x",
            "oci://registry.flux-system.svc/charts/x",
            "oci://registry.flux-system.svc.cluster.local:5000/charts/x",
            "oci://metadata.google.internal/charts/x",
            "oci://2130706433/charts/x",
        ] {
            let error = open.check(reference).unwrap_err();
            assert_eq!(error.status(), 403, "{reference}");
            assert!(
                error.to_string().contains("helm.allowedRegistries"),
                "{error}"
            );
        }
        open.check("oci://ghcr.io/stefanprodan/charts/podinfo")
            .unwrap();
        open.check("oci://registry-1.docker.io/bitnamicharts/nginx")
            .unwrap();
        assert!(!open.plain_http("oci://ghcr.io/x/y"));
        open.check("https://stefanprodan.github.io/podinfo")
            .unwrap();
        for url in [
            "https://10.0.0.8/charts",
            "https://source-controller.flux-system.svc.cluster.local./helmchart",
            "http://charts.example.com",
            "https://user@127.0.0.1/charts",
        ] {
            assert!(open.check(url).is_err(), "{url}");
        }
    }

    #[test]
    fn plain_http_repositories_need_the_plain_http_list() {
        let policy = RegistryPolicy::new(&["127.0.0.1:8879".into()], &[]);
        assert_eq!(
            policy.check("http://127.0.0.1:8879/").unwrap_err().status(),
            403
        );
        let policy = RegistryPolicy::new(&["127.0.0.1:8879".into()], &["127.0.0.1:8879".into()]);
        policy.check("http://127.0.0.1:8879/").unwrap();
        policy.check("https://127.0.0.1:8879/charts").unwrap();
    }

    #[test]
    fn an_allow_list_admits_only_its_hosts_even_internal_ones() {
        let policy = RegistryPolicy::new(
            &["127.0.0.1:5000".into(), "*.example.com".into()],
            &["127.0.0.1:5000".into()],
        );
        policy.check("oci://127.0.0.1:5000/charts/x").unwrap();
        policy.check("oci://charts.example.com/x/y").unwrap();
        for refused in [
            "oci://127.0.0.1:5001/charts/x",
            "oci://ghcr.io/x/y",
            "oci://example.com.evil.io/x",
        ] {
            assert!(
                matches!(policy.check(refused), Err(Error::OutsideBoundary { .. })),
                "{refused}"
            );
        }
        assert!(policy.plain_http("oci://127.0.0.1:5000/charts/x"));
        assert!(!policy.plain_http("oci://charts.example.com/x/y"));
    }
}
