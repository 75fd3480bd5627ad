//! The toolkit objects a tenant creates, built from their requests: every value checked as
//! the CRD (and Flux) would take it, so a request is refused with the field named before
//! anything is written. The API server then checks the object against the genuine CRD.

use super::super::config::parse_duration;
use super::super::kinds::{self, FluxKind};
use control_core::validate::{rfc1123_label, text};
use control_core::{Error, Result};
use model::flux::{NewAlert, NewImagePolicy, NewSource, NewToolkitObject, PolicyRule, Severity};
use serde_json::{Map, Value, json};

/// The longest URL a source takes.
pub const URL_CHARS: usize = 2048;
/// The longest ref (branch, tag, semver range) or pattern a request takes.
pub const REF_CHARS: usize = 255;

/// The kind and the object a request describes.
pub fn build(request: &NewToolkitObject, default_interval: &str) -> Result<(FluxKind, Value)> {
    let kind = kinds::of_toolkit(request.kind());
    rfc1123_label("name", request.name(), 63)?;
    let spec = match request {
        NewToolkitObject::Sources(source) => source_spec(source, default_interval)?,
        NewToolkitObject::Images(policy) => policy_spec(policy)?,
        NewToolkitObject::Notifications(alert) => alert_spec(alert)?,
    };
    let object = json!({
        "apiVersion": format!("{}/{}", kind.group, kind.version),
        "kind": kind.kind,
        "metadata": { "name": request.name(), "namespace": request.namespace() },
        "spec": spec,
    });
    Ok((kind, object))
}

/// The Secret a request names, if any.
pub fn secret_of(request: &NewToolkitObject) -> Option<&str> {
    match request {
        NewToolkitObject::Sources(
            NewSource::GitRepository { secret_ref, .. }
            | NewSource::HelmRepository { secret_ref, .. }
            | NewSource::OciRepository { secret_ref, .. },
        ) => secret_ref.as_deref(),
        _ => None,
    }
}

fn source_spec(source: &NewSource, default_interval: &str) -> Result<Value> {
    let (url, interval, secret, schemes): (&str, &Option<String>, &Option<String>, &[&str]) =
        match source {
            NewSource::GitRepository {
                url,
                interval,
                secret_ref,
                ..
            } => (url, interval, secret_ref, &["https", "http", "ssh"]),
            NewSource::HelmRepository {
                url,
                interval,
                secret_ref,
                ..
            } => (url, interval, secret_ref, &["https", "http", "oci"]),
            NewSource::OciRepository {
                url,
                interval,
                secret_ref,
                ..
            } => (url, interval, secret_ref, &["oci"]),
        };
    check_url(url, schemes)?;
    let mut spec = Map::new();
    spec.insert("url".into(), json!(url));
    spec.insert(
        "interval".into(),
        json!(checked_interval(
            interval.as_deref().unwrap_or(default_interval)
        )?),
    );
    if let Some(secret) = secret {
        rfc1123_subdomain("secretRef", secret)?;
        spec.insert("secretRef".into(), json!({ "name": secret }));
    }
    match source {
        NewSource::GitRepository {
            branch,
            tag,
            semver,
            ..
        } => {
            let reference = refs(&[("branch", branch), ("tag", tag), ("semver", semver)])?;
            let reference = if reference.is_empty() {
                json!({ "branch": "main" })
            } else {
                Value::Object(reference)
            };
            spec.insert("ref".into(), reference);
        }
        NewSource::OciRepository { tag, semver, .. } => {
            let reference = refs(&[("tag", tag), ("semver", semver)])?;
            if !reference.is_empty() {
                spec.insert("ref".into(), Value::Object(reference));
            }
        }
        NewSource::HelmRepository { url, .. } => {
            if url.starts_with("oci://") {
                spec.insert("type".into(), json!("oci"));
            }
        }
    }
    Ok(Value::Object(spec))
}

/// The ref fields given, each checked.
fn refs(fields: &[(&'static str, &Option<String>)]) -> Result<Map<String, Value>> {
    let mut reference = Map::new();
    for (field, value) in fields {
        if let Some(value) = value {
            text(field, value, REF_CHARS)?;
            if value.contains(char::is_whitespace) && *field != "semver" {
                return Err(Error::invalid(field, "must not contain spaces"));
            }
            if *field == "semver" {
                check_range(field, value)?;
            }
            reference.insert((*field).to_owned(), json!(value));
        }
    }
    Ok(reference)
}

fn policy_spec(policy: &NewImagePolicy) -> Result<Value> {
    rfc1123_label("imageRepository", &policy.image_repository, 63)?;
    let rule = match &policy.policy {
        PolicyRule::Semver { range } => {
            text("policy.semver.range", range, REF_CHARS)?;
            check_range("policy.semver.range", range)?;
            json!({ "semver": { "range": range } })
        }
        PolicyRule::Alphabetical { order } => json!({ "alphabetical": { "order": order } }),
        PolicyRule::Numerical { order } => json!({ "numerical": { "order": order } }),
    };
    // The repository is named without a namespace: it is confined to the policy's own.
    let mut spec =
        json!({ "imageRepositoryRef": { "name": policy.image_repository }, "policy": rule });
    if let Some(filter) = &policy.filter_tags {
        text("filterTags.pattern", &filter.pattern, REF_CHARS)?;
        regex_syntax(&filter.pattern)?;
        let mut tags = json!({ "pattern": filter.pattern });
        if let Some(extract) = &filter.extract {
            text("filterTags.extract", extract, REF_CHARS)?;
            tags["extract"] = json!(extract);
        }
        spec["filterTags"] = tags;
    }
    Ok(spec)
}

fn alert_spec(alert: &NewAlert) -> Result<Value> {
    rfc1123_label("provider", &alert.provider, 63)?;
    if alert.event_sources.is_empty() {
        return Err(Error::invalid(
            "eventSources",
            "name at least one deployment (or `*` for all of a kind)",
        ));
    }
    if alert.event_sources.len() > 50 {
        return Err(Error::invalid("eventSources", "at most 50"));
    }
    let mut sources = Vec::new();
    for source in &alert.event_sources {
        if !matches!(source.kind.as_str(), "HelmRelease" | "Kustomization") {
            return Err(Error::invalid(
                "eventSources.kind",
                format!("{:?} is not HelmRelease or Kustomization", source.kind),
            ));
        }
        if source.name != "*" {
            rfc1123_subdomain("eventSources.name", &source.name)?;
        }
        let mut entry = json!({ "kind": source.kind, "name": source.name });
        if let Some(namespace) = &source.namespace {
            rfc1123_label("eventSources.namespace", namespace, 63)?;
            entry["namespace"] = json!(namespace);
        }
        sources.push(entry);
    }
    let severity = match alert.severity {
        Severity::Info => "info",
        Severity::Error => "error",
    };
    let mut spec = json!({ "providerRef": { "name": alert.provider }, "eventSeverity": severity,
        "eventSources": sources });
    if let Some(summary) = &alert.summary {
        text("summary", summary, REF_CHARS)?;
        spec["summary"] = json!(summary);
    }
    Ok(spec)
}

/// A URL with one of `schemes`, a host, and no spaces or control characters.
fn check_url(url: &str, schemes: &[&str]) -> Result<()> {
    text("url", url, URL_CHARS)?;
    let host = schemes
        .iter()
        .find_map(|scheme| url.strip_prefix(&format!("{scheme}://")))
        .ok_or_else(|| {
            let schemes: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
            Error::invalid("url", format!("must start with {}", schemes.join(", ")))
        })?;
    if host.is_empty() || host.starts_with('/') || url.contains(char::is_whitespace) {
        return Err(Error::invalid("url", "must name a host and hold no spaces"));
    }
    Ok(())
}

/// A Flux duration of at least a second.
fn checked_interval(interval: &str) -> Result<String> {
    let parsed = parse_duration(interval).map_err(|m| Error::invalid("interval", m))?;
    if parsed.as_secs() < 1 {
        return Err(Error::invalid("interval", "must be at least 1s"));
    }
    Ok(interval.to_owned())
}

/// A semver range Flux reads (Masterminds syntax: comparators separated by spaces or commas,
/// `||` between alternatives, `x` wildcards).
fn check_range(field: &'static str, range: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || " <>=~^.,|*-+".contains(c);
    if range.trim().is_empty() || !range.chars().all(allowed) {
        return Err(Error::invalid(
            field,
            "a semver range, e.g. `>=1.0.0 <2.0.0` or `1.2.x`",
        ));
    }
    Ok(())
}

/// A regular expression's syntax, checked without running it.
fn regex_syntax(pattern: &str) -> Result<()> {
    // Go's RE2 and Rust's regex share the syntax that matters here; a pattern neither reads
    // fails in image-reflector-controller too.
    let balanced = pattern.chars().fold(0i32, |depth, c| match c {
        '(' => depth + 1,
        ')' => depth - 1,
        _ => depth,
    });
    if balanced != 0 {
        return Err(Error::invalid(
            "filterTags.pattern",
            "unbalanced parentheses",
        ));
    }
    Ok(())
}

/// A DNS-1123 subdomain (Secret and object names).
fn rfc1123_subdomain(field: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value
            .split('.')
            .all(|label| model::reference::is_rfc1123_label(label, 63));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{value:?} is not a Kubernetes object name"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::flux::{EventSource, Order, TagFilter};

    fn git(url: &str, branch: Option<&str>) -> NewToolkitObject {
        NewToolkitObject::Sources(NewSource::GitRepository {
            name: "shop".into(),
            namespace: "team-a".into(),
            url: url.into(),
            branch: branch.map(str::to_owned),
            tag: None,
            semver: None,
            interval: None,
            secret_ref: Some("git-credentials".into()),
        })
    }

    fn field(result: Result<(FluxKind, Value)>) -> &'static str {
        match result {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_git_source_is_built_as_flux_reads_it() {
        let (kind, object) = build(&git("https://github.com/acme/shop", None), "5m").expect("git");
        assert_eq!(kind, kinds::GIT_REPOSITORY);
        assert_eq!(object["spec"]["ref"], json!({ "branch": "main" }));
        assert_eq!(
            object["spec"]["secretRef"],
            json!({ "name": "git-credentials" })
        );
        assert_eq!(object["spec"]["interval"], "5m");
        for bad in [
            "ftp://x",
            "https://",
            "https:// x",
            "file:///etc",
            "https://a\u{0}b",
        ] {
            assert_eq!(field(build(&git(bad, None), "5m")), "url", "{bad:?}");
        }
        assert_eq!(
            field(build(&git("ssh://git@x/y", Some("a b")), "5m")),
            "branch"
        );
    }

    #[test]
    fn a_policy_names_its_repository_only_in_its_namespace() {
        let policy = NewToolkitObject::Images(NewImagePolicy {
            name: "web".into(),
            namespace: "team-a".into(),
            image_repository: "web".into(),
            policy: PolicyRule::Numerical { order: Order::Desc },
            filter_tags: Some(TagFilter {
                pattern: "^main-(?P<ts>[0-9]+)$".into(),
                extract: Some("$ts".into()),
            }),
        });
        let (_, object) = build(&policy, "5m").expect("policy");
        assert_eq!(
            object["spec"]["imageRepositoryRef"],
            json!({ "name": "web" })
        );
        assert_eq!(
            object["spec"]["policy"],
            json!({ "numerical": { "order": "desc" } })
        );
        assert_eq!(object["spec"]["filterTags"]["extract"], "$ts");
    }

    #[test]
    fn an_alert_needs_deployments_to_report_on() {
        let alert = |sources: Vec<EventSource>| {
            NewToolkitObject::Notifications(NewAlert {
                name: "failures".into(),
                namespace: "team-a".into(),
                provider: "slack".into(),
                severity: Severity::Error,
                event_sources: sources,
                summary: None,
            })
        };
        assert_eq!(field(build(&alert(Vec::new()), "5m")), "eventSources");
        let secret = EventSource {
            kind: "Secret".into(),
            name: "x".into(),
            namespace: None,
        };
        assert_eq!(
            field(build(&alert(vec![secret]), "5m")),
            "eventSources.kind"
        );
        let all = EventSource {
            kind: "HelmRelease".into(),
            name: "*".into(),
            namespace: None,
        };
        let (_, object) = build(&alert(vec![all]), "5m").expect("alert");
        assert_eq!(object["spec"]["eventSeverity"], "error");
    }
}
