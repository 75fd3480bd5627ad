//! References, not strings: which cluster, namespace and deployment an operation is about.
//!
//! Every layer passes these types. Their text form (`Display`/`FromStr`) is also the stable,
//! URL-safe id that the API returns and pages put in URLs: the parts joined by `~`, a
//! character Kubernetes never allows in a name, so an id can never be mistaken for a
//! namespace or a name, and needs no escaping in a URL path.

mod toolkit;

pub use toolkit::{Family, ToolkitKind, ToolkitRef};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The separator between the parts of an id.
pub const SEPARATOR: char = '~';

/// The one cluster Pilothouse manages today.
pub const DEFAULT_CLUSTER: &str = "default";

/// Why a reference or id could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    /// What was being read ("cluster", "namespace", "deployment id", …).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for RefError {}

fn refused(field: &'static str, reason: impl Into<String>) -> RefError {
    RefError {
        field,
        reason: reason.into(),
    }
}

/// Whether `value` is an RFC 1123 label of at most `max` characters: lowercase letters,
/// digits and '-', starting and ending with a letter or digit.
pub fn is_rfc1123_label(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// `value` as an error message quotes it: bounded, so a hostile id is not echoed whole.
fn shown(value: &str) -> String {
    const MAX: usize = 64;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// A DNS label (RFC 1123) of at most 63 characters: what clusters and namespaces are named.
fn dns_label(field: &'static str, value: &str) -> Result<(), RefError> {
    if value.is_empty() || value.len() > 63 {
        return Err(refused(
            field,
            format!("{} must be 1 to 63 characters", shown(value)),
        ));
    }
    if is_rfc1123_label(value, 63) {
        Ok(())
    } else {
        Err(refused(
            field,
            format!(
                "{} must be lowercase letters, digits and '-', starting and ending with a letter or digit",
                shown(value)
            ),
        ))
    }
}

/// A DNS subdomain (RFC 1123) of at most 253 characters: what objects are named.
fn dns_subdomain(field: &'static str, value: &str) -> Result<(), RefError> {
    if value.is_empty() || value.len() > 253 {
        return Err(refused(
            field,
            format!("{} must be 1 to 253 characters", shown(value)),
        ));
    }
    for label in value.split('.') {
        dns_label(field, label).map_err(|_| {
            refused(
                field,
                format!(
                    "{} must be lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit",
                    shown(value)
                ),
            )
        })?;
    }
    Ok(())
}

/// Which cluster: a DNS label; `default` today.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterId(String);

impl ClusterId {
    /// A cluster id, if `id` is a DNS label.
    pub fn new(id: impl Into<String>) -> Result<Self, RefError> {
        let id = id.into();
        dns_label("cluster", &id)?;
        Ok(Self(id))
    }

    /// The one cluster of today's installations.
    pub fn default_cluster() -> Self {
        Self(DEFAULT_CLUSTER.to_owned())
    }

    /// Whether this is the default cluster.
    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_CLUSTER
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClusterId {
    fn default() -> Self {
        Self::default_cluster()
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClusterId {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ClusterId {
    type Error = RefError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ClusterId> for String {
    fn from(id: ClusterId) -> Self {
        id.0
    }
}

/// A namespace in a cluster.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawNamespaceRef")]
pub struct NamespaceRef {
    /// The cluster.
    cluster: ClusterId,
    /// The namespace's name.
    namespace: String,
}

impl NamespaceRef {
    /// A namespace of `cluster`, if `namespace` is a valid namespace name.
    pub fn new(cluster: ClusterId, namespace: impl Into<String>) -> Result<Self, RefError> {
        let namespace = namespace.into();
        dns_label("namespace", &namespace)?;
        Ok(Self { cluster, namespace })
    }

    /// A namespace of the default cluster.
    pub fn in_default(namespace: impl Into<String>) -> Result<Self, RefError> {
        Self::new(ClusterId::default_cluster(), namespace)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.namespace
    }

    /// The cluster.
    pub fn cluster(&self) -> &ClusterId {
        &self.cluster
    }
}

/// A namespace reference as it arrives, checked by [`NamespaceRef::new`] before use.
#[derive(Deserialize)]
struct RawNamespaceRef {
    cluster: ClusterId,
    namespace: String,
}

impl TryFrom<RawNamespaceRef> for NamespaceRef {
    type Error = RefError;
    fn try_from(raw: RawNamespaceRef) -> Result<Self, RefError> {
        Self::new(raw.cluster, raw.namespace)
    }
}

impl fmt::Display for NamespaceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{SEPARATOR}{}", self.cluster, self.namespace)
    }
}

impl FromStr for NamespaceRef {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (cluster, namespace) = s.split_once(SEPARATOR).ok_or_else(|| {
            refused(
                "namespace id",
                format!("{} is not of the form cluster~namespace", shown(s)),
            )
        })?;
        Self::new(cluster.parse()?, namespace)
    }
}

/// A tenant's identifier: a DNS label, since it names role bindings and appears in ids.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

impl TenantSlug {
    /// The slug, if `slug` is a DNS label.
    pub fn new(slug: impl Into<String>) -> Result<Self, RefError> {
        let slug = slug.into();
        dns_label("tenant", &slug)?;
        Ok(Self(slug))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TenantSlug {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = RefError;
    fn try_from(slug: String) -> Result<Self, Self::Error> {
        Self::new(slug)
    }
}

impl From<TenantSlug> for String {
    fn from(slug: TenantSlug) -> Self {
        slug.0
    }
}

/// The kinds of deployment Pilothouse runs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DeploymentKind {
    /// A Flux HelmRelease (helm.toolkit.fluxcd.io/v2).
    HelmRelease,
    /// A Flux Kustomization (kustomize.toolkit.fluxcd.io/v1).
    Kustomization,
    /// A Helm release run by the helm binary.
    Release,
}

impl DeploymentKind {
    /// Every kind, in the order lists sort them.
    pub const ALL: [Self; 3] = [Self::HelmRelease, Self::Kustomization, Self::Release];

    /// The kind's name, as Kubernetes and the API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HelmRelease => "HelmRelease",
            Self::Kustomization => "Kustomization",
            Self::Release => "Release",
        }
    }

    /// The kind named `name`, in any letter case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for DeploymentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeploymentKind {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| {
            refused(
                "kind",
                format!(
                    "{} is not one of HelmRelease, Kustomization, Release",
                    shown(s)
                ),
            )
        })
    }
}

/// One deployment: cluster, namespace, kind and name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawDeploymentRef")]
pub struct DeploymentRef {
    /// The cluster.
    cluster: ClusterId,
    /// The namespace.
    namespace: String,
    /// The kind, which also says which adapter runs it.
    kind: DeploymentKind,
    /// The name.
    name: String,
}

impl DeploymentRef {
    /// A reference, if the namespace and name are valid Kubernetes names.
    pub fn new(
        namespace: &NamespaceRef,
        kind: DeploymentKind,
        name: impl Into<String>,
    ) -> Result<Self, RefError> {
        let name = name.into();
        dns_subdomain("name", &name)?;
        Ok(Self {
            cluster: namespace.cluster.clone(),
            namespace: namespace.namespace.clone(),
            kind,
            name,
        })
    }

    /// A reference from parts already known to be valid (a row read from the cluster).
    pub(crate) fn from_valid_parts(
        cluster: ClusterId,
        namespace: String,
        kind: DeploymentKind,
        name: String,
    ) -> Self {
        Self {
            cluster,
            namespace,
            kind,
            name,
        }
    }

    /// The id text of a deployment whose parts the API server gave (so they are valid
    /// names): what [`fmt::Display`] writes for a reference.
    pub fn id_text(
        cluster: &ClusterId,
        namespace: &str,
        kind: DeploymentKind,
        name: &str,
    ) -> String {
        format!("{cluster}{SEPARATOR}{namespace}{SEPARATOR}{kind}{SEPARATOR}{name}")
    }

    /// The cluster.
    pub fn cluster(&self) -> &ClusterId {
        &self.cluster
    }

    /// The namespace's name.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The kind, which also says which adapter runs it.
    pub fn kind(&self) -> DeploymentKind {
        self.kind
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace it lives in.
    pub fn namespace_ref(&self) -> NamespaceRef {
        NamespaceRef {
            cluster: self.cluster.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// `Kind namespace/name`, for messages to people.
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }

    /// The name in a deployment id, for titles; an id that does not parse is shown whole.
    pub fn name_in(id: &str) -> String {
        id.parse::<Self>()
            .map_or_else(|_| id.to_owned(), |d| d.name)
    }
}

/// A deployment reference as it arrives, checked by [`DeploymentRef::new`] before use.
#[derive(Deserialize)]
struct RawDeploymentRef {
    cluster: ClusterId,
    namespace: String,
    kind: DeploymentKind,
    name: String,
}

impl TryFrom<RawDeploymentRef> for DeploymentRef {
    type Error = RefError;
    fn try_from(raw: RawDeploymentRef) -> Result<Self, RefError> {
        Self::new(
            &NamespaceRef::new(raw.cluster, raw.namespace)?,
            raw.kind,
            raw.name,
        )
    }
}

impl fmt::Display for DeploymentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Self::id_text(
            &self.cluster,
            &self.namespace,
            self.kind,
            &self.name,
        ))
    }
}

impl FromStr for DeploymentRef {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(SEPARATOR).collect();
        let [cluster, namespace, kind, name] = parts.as_slice() else {
            return Err(refused(
                "deployment id",
                format!(
                    "{} is not of the form cluster~namespace~kind~name",
                    shown(s)
                ),
            ));
        };
        let namespace = NamespaceRef::new(cluster.parse()?, *namespace)?;
        Self::new(&namespace, kind.parse()?, *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid DNS label: lowercase letters and digits, '-' inside.
    fn label() -> impl Strategy<Value = String> {
        let edge = proptest::sample::select(('a'..='z').chain('0'..='9').collect::<Vec<_>>());
        let inner = proptest::sample::select(
            ('a'..='z')
                .chain('0'..='9')
                .chain(std::iter::once('-'))
                .collect::<Vec<_>>(),
        );
        (edge.clone(), proptest::collection::vec(inner, 0..20), edge).prop_map(
            |(first, middle, last)| {
                let mut label = String::from(first);
                label.extend(middle);
                label.push(last);
                label
            },
        )
    }

    #[test]
    fn references_are_checked_however_they_arrive() {
        let good = serde_json::json!({ "cluster": "default", "namespace": "team-a", "kind": "HelmRelease", "name": "web" });
        let read: DeploymentRef = serde_json::from_value(good.clone()).unwrap();
        assert_eq!(read.to_string(), "default~team-a~HelmRelease~web");
        assert_eq!(serde_json::to_value(&read).unwrap(), good);
        let mut bad = good;
        bad["namespace"] = "Team A".into();
        let refused = serde_json::from_value::<DeploymentRef>(bad).unwrap_err();
        assert!(
            refused.to_string().contains("invalid namespace"),
            "{refused}"
        );
        let namespace = serde_json::json!({ "cluster": "default", "namespace": "kube--" });
        assert!(
            serde_json::from_value::<NamespaceRef>(namespace)
                .is_err_and(|e| e.to_string().contains("invalid namespace"))
        );
    }

    #[test]
    fn tenant_slugs_are_dns_labels_however_they_arrive() {
        assert_eq!(TenantSlug::new("team-a").unwrap().as_str(), "team-a");
        assert_eq!(TenantSlug::new("Team A").unwrap_err().field, "tenant");
        let read: TenantSlug = serde_json::from_str("\"team-b\"").unwrap();
        assert_eq!(read.to_string(), "team-b");
        assert!(
            serde_json::from_str::<TenantSlug>("\"-x\"")
                .is_err_and(|e| e.to_string().contains("invalid tenant"))
        );
    }

    proptest! {
        #[test]
        fn every_valid_reference_round_trips_through_its_id(
            cluster in label(),
            namespace in label(),
            name in proptest::collection::vec(label(), 1..4),
            kind in proptest::sample::select(DeploymentKind::ALL.to_vec()),
        ) {
            let namespace = NamespaceRef::new(ClusterId::new(cluster).unwrap(), namespace).unwrap();
            let reference = DeploymentRef::new(&namespace, kind, name.join(".")).unwrap();
            let id = reference.to_string();
            prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.~".contains(&b)), "URL-safe: {}", id);
            prop_assert_eq!(id.parse::<DeploymentRef>().unwrap(), reference.clone());
            let json = serde_json::to_string(&reference).unwrap();
            prop_assert_eq!(serde_json::from_str::<DeploymentRef>(&json).unwrap(), reference);
            prop_assert_eq!(namespace.to_string().parse::<NamespaceRef>().unwrap(), namespace);
        }

        #[test]
        fn any_text_parses_or_is_refused_without_panicking(
            text in proptest::collection::vec(any::<char>(), 0..80).prop_map(String::from_iter)
        ) {
            let _ = text.parse::<DeploymentRef>();
            let _ = text.parse::<NamespaceRef>();
        }
    }

    #[test]
    fn a_deployment_id_round_trips() {
        let ns = NamespaceRef::in_default("team-a").unwrap();
        let r = DeploymentRef::new(&ns, DeploymentKind::Kustomization, "web.v2").unwrap();
        assert_eq!(r.to_string(), "default~team-a~Kustomization~web.v2");
        assert_eq!(r.to_string().parse::<DeploymentRef>().unwrap(), r);
        assert_eq!(r.describe(), "Kustomization team-a/web.v2");
    }

    #[test]
    fn malformed_ids_say_what_is_wrong() {
        let cases = [
            (
                "team-a/podinfo",
                "not of the form cluster~namespace~kind~name",
            ),
            ("default~team-a~Pod~x", "not one of HelmRelease"),
            ("default~Team-A~HelmRelease~x", "lowercase"),
            ("default~team-a~HelmRelease~", "1 to 253"),
            ("~team-a~HelmRelease~x", "1 to 63"),
            ("default~team-a~HelmRelease~x~y", "not of the form"),
            ("default~team-a~HelmRelease~../etc", "lowercase"),
        ];
        for (id, expected) in cases {
            let error = id.parse::<DeploymentRef>().unwrap_err().to_string();
            assert!(error.contains(expected), "{id}: {error}");
        }
    }

    #[test]
    fn kinds_parse_in_any_case() {
        assert_eq!(
            "helmrelease".parse::<DeploymentKind>().unwrap(),
            DeploymentKind::HelmRelease
        );
        assert_eq!(
            "Deployment".parse::<DeploymentKind>().unwrap_err().field,
            "kind"
        );
    }

    #[test]
    fn cluster_ids_serialize_as_text_and_refuse_bad_names() {
        let id: ClusterId = serde_json::from_str("\"prod-eu\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"prod-eu\"");
        let refused = serde_json::from_str::<ClusterId>("\"Prod EU\"").unwrap_err();
        assert!(refused.to_string().contains("invalid cluster"), "{refused}");
        assert!(ClusterId::default().is_default());
    }
}
