//! The shipped RBAC (`deploy/rbac.yaml`) grants what the adapters use and nothing wider:
//! no wildcard verbs or resources, watch on every cached kind, patch (server-side apply) on
//! what is written.

use control::adapters::flux::kinds::{DEPLOYMENTS, FluxKind, SOURCES};
use serde::Deserialize;
use serde_json::Value;

fn rules() -> Vec<Value> {
    let text = include_str!("../../deploy/rbac.yaml");
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|doc| Value::deserialize(doc).ok())
        .filter(|doc| doc["kind"] == "ClusterRole" || doc["kind"] == "Role")
        .flat_map(|doc| doc["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn verbs_for(rules: &[Value], group: &str, resource: &str) -> Vec<String> {
    let has = |rule: &Value, key: &str, value: &str| {
        rule[key]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i == value))
    };
    rules
        .iter()
        .filter(|rule| has(rule, "apiGroups", group) && has(rule, "resources", resource))
        .flat_map(|rule| rule["verbs"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_shipped_role_is_least_privilege_and_enough() {
    let rules = rules();
    assert!(!rules.is_empty());
    for rule in &rules {
        for key in ["verbs", "resources", "apiGroups"] {
            assert!(
                rule[key]
                    .as_array()
                    .is_some_and(|items| items.iter().all(|i| i != "*")),
                "wildcard in {rule}"
            );
        }
    }
    let need = |kind: FluxKind, verbs: &[&str]| {
        let granted = verbs_for(&rules, kind.group, kind.plural);
        for verb in verbs {
            assert!(
                granted.iter().any(|g| g == verb),
                "{} needs {verb}",
                kind.plural
            );
        }
        granted
    };
    for kind in DEPLOYMENTS {
        need(kind, &["get", "list", "watch", "patch", "delete"]);
    }
    for kind in SOURCES {
        let granted = need(kind, &["get", "list", "watch", "patch"]);
        assert!(
            !granted.iter().any(|v| v == "delete" || v == "create"),
            "sources are never created or deleted"
        );
    }
    for verb in ["watch", "list", "get", "create", "update", "delete"] {
        assert!(
            verbs_for(&rules, "", "secrets").iter().any(|v| v == verb),
            "secrets need {verb}"
        );
    }
    assert_eq!(verbs_for(&rules, "", "pods/log"), vec!["get".to_owned()]);
    assert_eq!(
        verbs_for(&rules, "apiextensions.k8s.io", "customresourcedefinitions"),
        vec!["get".to_owned()]
    );
}
