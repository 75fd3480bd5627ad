//! Label selectors (equality- and set-based) and field selectors on metadata.name and
//! metadata.namespace, as `?labelSelector=` and `?fieldSelector=` carry them.

use crate::error::ApiError;
use serde_json::Value;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector; every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    /// Parses `app=web,tier in (a,b),!legacy,env!=prod`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(Self(requirements))
    }

    /// Whether `labels` (an object, or null) satisfies every requirement.
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.0.iter().all(|requirement| match requirement {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0_i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, ApiError> {
    let invalid = || ApiError::bad_request(format!("unable to parse requirement: {part:?}"));
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(
            valid_key(key.trim()).ok_or_else(invalid)?,
        ));
    }
    for (op, set_negated) in [(" notin ", true), (" in ", false)] {
        if let Some((key, rest)) = part.split_once(op) {
            let values = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(invalid)?;
            let values: Vec<String> = values
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            let key = valid_key(key.trim()).ok_or_else(invalid)?;
            return Ok(if set_negated {
                Requirement::NotIn(key, values)
            } else {
                Requirement::In(key, values)
            });
        }
    }
    if let Some((key, value)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(
            valid_key(key.trim()).ok_or_else(invalid)?,
            value.trim().to_owned(),
        ));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(
            valid_key(key.trim()).ok_or_else(invalid)?,
            value.trim().to_owned(),
        ));
    }
    Ok(Requirement::Exists(valid_key(part).ok_or_else(invalid)?))
}

fn valid_key(key: &str) -> Option<String> {
    let ok = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    ok.then(|| key.to_owned())
}

/// The fields a selector may name: every kind's name and namespace, a Secret's type, and the
/// involved object of events (as kube-apiserver allows for them).
const SUPPORTED_FIELDS: [&str; 10] = [
    "type",
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.name",
    "involvedObject.namespace",
    "involvedObject.uid",
    "regarding.kind",
    "regarding.name",
    "regarding.namespace",
];

/// A field selector over [`SUPPORTED_FIELDS`], with `=`, `==` or `!=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses `metadata.name=web,metadata.namespace!=kube-system`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector: {part:?}"
                )));
            };
            if !SUPPORTED_FIELDS.contains(&field.trim()) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {}",
                    field.trim()
                )));
            }
            terms.push((field.trim().to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self(terms))
    }

    /// Whether `object` satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = object
                .pointer(&pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equality_and_set_based_selectors() {
        let labels = json!({ "app": "web", "tier": "front", "env": "dev" });
        let yes = [
            "app=web",
            "app==web",
            "env!=prod",
            "tier in (front,back)",
            "env notin (prod)",
            "app",
            "!legacy",
            "app=web,tier in (front)",
        ];
        for text in yes {
            assert!(
                LabelSelector::parse(text).unwrap().matches(Some(&labels)),
                "{text}"
            );
        }
        let no = [
            "app=api",
            "tier in (back)",
            "env notin (dev)",
            "legacy",
            "!app",
            "app=web,env=prod",
        ];
        for text in no {
            assert!(
                !LabelSelector::parse(text).unwrap().matches(Some(&labels)),
                "{text}"
            );
        }
        assert!(LabelSelector::parse("").unwrap().matches(None));
        assert!(
            LabelSelector::parse("missing notin (x)")
                .unwrap()
                .matches(None)
        );
        for bad in ["a in b", "a b=c"] {
            let error = LabelSelector::parse(bad).unwrap_err();
            assert_eq!(error.code, 400, "{bad}");
        }
    }

    #[test]
    fn field_selectors_on_name_and_namespace() {
        let object = json!({ "metadata": { "name": "web", "namespace": "team-a" } });
        assert!(
            FieldSelector::parse("metadata.name=web")
                .unwrap()
                .matches(&object)
        );
        assert!(
            FieldSelector::parse("metadata.namespace!=team-b")
                .unwrap()
                .matches(&object)
        );
        assert!(
            !FieldSelector::parse("metadata.name=api")
                .unwrap()
                .matches(&object)
        );
        assert_eq!(
            FieldSelector::parse("spec.replicas=3").unwrap_err().code,
            400
        );
        let event = json!({ "involvedObject": { "kind": "HelmRelease", "name": "web" } });
        assert!(
            FieldSelector::parse("involvedObject.kind=HelmRelease,involvedObject.name=web")
                .unwrap()
                .matches(&event)
        );
    }
}
