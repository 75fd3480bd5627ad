//! Deep links: the configured URL templates (`ui.links`) filled in for one deployment, as Argo
//! CD's links to dashboards and log searches. A template may use `{{cluster}}`,
//! `{{namespace}}`, `{{name}}`, `{{kind}}` and `{{label:KEY}}`; each value is
//! percent-encoded. Templates are checked when the configuration is read: `https://` or
//! `http://` only, and no other placeholder.

use model::deployment::{DeepLink, Deployment};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One configured link.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawTemplate")]
pub struct LinkTemplate {
    title: String,
    url: String,
    kinds: Vec<String>,
    labels: BTreeMap<String, String>,
}

/// A template as written in the configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTemplate {
    /// What it opens.
    title: String,
    /// The URL template.
    url: String,
    /// Only for these kinds (HelmRelease, Kustomization, Release); every kind when empty.
    #[serde(default)]
    kinds: Vec<String>,
    /// Only for deployments with these labels.
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

impl TryFrom<RawTemplate> for LinkTemplate {
    type Error = String;

    fn try_from(raw: RawTemplate) -> Result<Self, String> {
        crate::validate::text("ui.links.title", &raw.title, 100).map_err(|e| e.to_string())?;
        if !(raw.url.starts_with("https://") || raw.url.starts_with("http://")) {
            return Err(format!(
                "link {:?}: the URL must start with https:// or http://",
                raw.title
            ));
        }
        let placeholders = placeholders(&raw.url)?;
        let literal = placeholders
            .iter()
            .fold(raw.url.clone(), |url, p| url.replacen(p, "", 1));
        if literal.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!(
                "link {:?}: the URL holds a space or a control character",
                raw.title
            ));
        }
        for placeholder in placeholders.iter().map(|p| p.trim()) {
            let known = matches!(placeholder, "cluster" | "namespace" | "name" | "kind")
                || placeholder
                    .strip_prefix("label:")
                    .is_some_and(|k| !k.is_empty());
            if !known {
                return Err(format!(
                    "link {:?}: {{{{{placeholder}}}}} is not one of {{{{cluster}}}}, {{{{namespace}}}}, {{{{name}}}}, {{{{kind}}}}, {{{{label:KEY}}}}",
                    raw.title
                ));
            }
        }
        for kind in &raw.kinds {
            kind.parse::<model::reference::DeploymentKind>()
                .map_err(|e| format!("link {:?}: {e}", raw.title))?;
        }
        Ok(Self {
            title: raw.title,
            url: raw.url,
            kinds: raw.kinds,
            labels: raw.labels,
        })
    }
}

/// The placeholders of `url`, in order; an unclosed one is an error.
fn placeholders(url: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = url;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{url:?} opens a {{{{ it does not close"))?;
        found.push(&after[..end]);
        rest = &after[end + 2..];
    }
    Ok(found)
}

impl LinkTemplate {
    /// The link for `deployment`, when the template applies to it (its kind and labels, and
    /// every label it uses present).
    pub fn render(&self, deployment: &Deployment) -> Option<DeepLink> {
        let kind = deployment.kind.as_str();
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
            return None;
        }
        if self
            .labels
            .iter()
            .any(|(key, value)| deployment.labels.get(key) != Some(value))
        {
            return None;
        }
        let mut url = String::new();
        let mut rest = self.url.as_str();
        while let Some(start) = rest.find("{{") {
            url.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}")?;
            let placeholder = after[..end].trim();
            let value = match placeholder {
                "cluster" => deployment.cluster.to_string(),
                "namespace" => deployment.namespace.clone(),
                "name" => deployment.name.clone(),
                "kind" => kind.to_owned(),
                other => deployment
                    .labels
                    .get(other.strip_prefix("label:")?)?
                    .clone(),
            };
            url.push_str(&encode(&value));
            rest = &after[end + 2..];
        }
        url.push_str(rest);
        Some(DeepLink {
            title: self.title.clone(),
            url,
        })
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(yaml: &str) -> Result<LinkTemplate, serde_yaml::Error> {
        serde_yaml::from_str(yaml)
    }

    fn deployment() -> Deployment {
        serde_json::from_value(serde_json::json!({
            "id": "default~team-a~HelmRelease~podinfo", "cluster": "default", "name": "podinfo",
            "namespace": "team-a", "kind": "HelmRelease",
            "labels": { "app": "pod info&x=1", "tier": "web" },
            "state": { "status": "deployed", "suspended": false, "progress": 100, "message": "", "conditions": [] },
            "revision": null, "chart": null, "source": null, "resourceVersion": null, "adapter": "flux"
        }))
        .expect("deployment")
    }

    #[test]
    fn values_are_filled_in_encoded() {
        let link = template("title: Grafana\nurl: https://grafana.example/d/x?ns={{namespace}}&app={{ label:app }}&k={{kind}}\n")
            .expect("valid");
        assert_eq!(
            link.render(&deployment()).expect("applies").url,
            "https://grafana.example/d/x?ns=team-a&app=pod%20info%26x%3D1&k=HelmRelease"
        );
        let only_kustomizations =
            template("title: Logs\nurl: https://logs.example/{{name}}\nkinds: [Kustomization]\n")
                .expect("valid");
        assert!(only_kustomizations.render(&deployment()).is_none());
        let missing_label =
            template("title: X\nurl: https://x.example/{{label:team}}\n").expect("valid");
        assert!(
            missing_label.render(&deployment()).is_none(),
            "a label it needs is absent"
        );
    }

    #[test]
    fn bad_templates_are_refused_when_read() {
        for bad in [
            "title: X\nurl: javascript:alert(1)\n",
            "title: X\nurl: https://x.example/{{secret}}\n",
            "title: X\nurl: https://x.example/{{name\n",
            "title: X\nurl: https://x.example/\nkinds: [Pod]\n",
            "title: X\nurl: https://x.example/\nextra: 1\n",
        ] {
            assert!(template(bad).is_err(), "{bad}");
        }
    }
}
