//! RBAC as kube-apiserver enforces it for the identities the sandbox serves: Roles,
//! ClusterRoles and their bindings (verbs, API groups, resources and subresources,
//! resourceNames, namespaces), the `impersonate` verb, and the escalation guard on bindings.
//! `system:masters` passes every check, as it does in a real cluster.
//!
//! Two simplifications, both stricter than kube-apiserver: a binding may only be written by
//! someone holding `bind` on its role (kube-apiserver also admits one whose rules the writer
//! already holds), and Roles or ClusterRoles only by someone holding `escalate`. Aggregated
//! ClusterRoles and non-resource URLs are not modelled: discovery is open to every caller.

use crate::error::ApiError;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::Store;
use serde_json::{Value, json};

/// The RBAC API group.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Who a request acts as, once its token and any impersonation are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name (`system:serviceaccount:NS:NAME` for service accounts).
    pub name: String,
    /// Its groups.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The sandbox's administrator: in `system:masters`, so RBAC never refuses it.
    pub fn admin() -> Self {
        Self {
            name: "sandbox-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    /// A named user in `groups` (and `system:authenticated`, as every signed-in user is).
    pub fn user(name: &str, groups: &[String]) -> Self {
        if let Some((namespace, account)) = service_account_parts(name)
            && groups.is_empty()
        {
            return Self::service_account(namespace, account);
        }
        let mut groups = groups.to_vec();
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self {
            name: name.to_owned(),
            groups,
        }
    }

    /// A service account, with the groups the API server gives every service account.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// True for `system:masters` (the sandbox administrator).
    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// `system:serviceaccount:NS:NAME` → (NS, NAME).
fn service_account_parts(user: &str) -> Option<(&str, &str)> {
    user.strip_prefix("system:serviceaccount:")?.split_once(':')
}

/// What a request asks to do, in RBAC's terms.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    /// get, list, watch, create, update, patch, delete, deletecollection, impersonate, bind…
    pub verb: &'a str,
    /// The API group ("" for core).
    pub group: &'a str,
    /// The resource (plural).
    pub resource: &'a str,
    /// The subresource, if any.
    pub subresource: Option<&'a str>,
    /// The namespace; None at the cluster scope.
    pub namespace: Option<&'a str>,
    /// The object's name, when the request names one.
    pub name: Option<&'a str>,
}

/// Ok when `user` may do what `attributes` describe; else the 403 kube-apiserver answers.
pub fn authorize(store: &Store, user: &UserInfo, attributes: &Attributes) -> Result<(), ApiError> {
    if allows(store, user, attributes) {
        Ok(())
    } else {
        Err(forbidden(user, attributes))
    }
}

/// Whether `user` may do what `attributes` describe.
pub fn allows(store: &Store, user: &UserInfo, attributes: &Attributes) -> bool {
    if user.is_master() {
        return true;
    }
    let cluster_wide = objects(store, "clusterrolebindings", None)
        .into_iter()
        .filter(|binding| bound(binding, user, None))
        .any(|binding| role_allows(store, &binding, None, attributes));
    cluster_wide
        || attributes.namespace.is_some_and(|namespace| {
            objects(store, "rolebindings", Some(namespace))
                .into_iter()
                .filter(|binding| bound(binding, user, Some(namespace)))
                .any(|binding| role_allows(store, &binding, Some(namespace), attributes))
        })
}

/// Ok when `user` may impersonate `as_user` with `as_groups`: `impersonate` on the service
/// account (for `system:serviceaccount:…` names) or the user, and on each group.
pub fn authorize_impersonation(
    store: &Store,
    user: &UserInfo,
    as_user: &str,
    as_groups: &[String],
) -> Result<(), ApiError> {
    let target = match service_account_parts(as_user) {
        Some((namespace, name)) => Attributes {
            verb: "impersonate",
            group: "",
            resource: "serviceaccounts",
            subresource: None,
            namespace: Some(namespace),
            name: Some(name),
        },
        None => Attributes {
            verb: "impersonate",
            group: "",
            resource: "users",
            subresource: None,
            namespace: None,
            name: Some(as_user),
        },
    };
    authorize(store, user, &target)?;
    for group in as_groups {
        authorize(
            store,
            user,
            &Attributes {
                verb: "impersonate",
                group: "",
                resource: "groups",
                subresource: None,
                namespace: None,
                name: Some(group),
            },
        )?;
    }
    Ok(())
}

/// The escalation guard: writing a binding needs `bind` on the role it grants, and writing a
/// role needs `escalate`. `body` is the object sent; `existing` the stored one, if any.
pub fn authorize_rbac_write(
    store: &Store,
    user: &UserInfo,
    attributes: &Attributes,
    body: &Value,
    existing: Option<&Value>,
) -> Result<(), ApiError> {
    if attributes.group != RBAC_GROUP
        || !matches!(attributes.verb, "create" | "update" | "patch")
        || user.is_master()
    {
        return Ok(());
    }
    match attributes.resource {
        "rolebindings" | "clusterrolebindings" => {
            let role_ref = body
                .get("roleRef")
                .or_else(|| existing.and_then(|e| e.get("roleRef")));
            let kind = role_ref.and_then(|r| r["kind"].as_str()).unwrap_or("");
            let name = role_ref.and_then(|r| r["name"].as_str()).unwrap_or("");
            let (resource, namespace) = if kind == "Role" {
                ("roles", attributes.namespace)
            } else {
                ("clusterroles", None)
            };
            let bind = Attributes {
                verb: "bind",
                group: RBAC_GROUP,
                resource,
                subresource: None,
                namespace,
                name: Some(name),
            };
            authorize(store, user, &bind).map_err(|_| escalation(user, attributes, kind, name))
        }
        "roles" | "clusterroles" => {
            let escalate = Attributes {
                verb: "escalate",
                ..*attributes
            };
            authorize(store, user, &escalate)
                .map_err(|_| escalation(user, attributes, "", attributes.name.unwrap_or_default()))
        }
        _ => Ok(()),
    }
}

fn escalation(user: &UserInfo, attributes: &Attributes, kind: &str, role: &str) -> ApiError {
    let mut error = forbidden(user, attributes);
    error.message = format!(
        "{}: user \"{}\" is attempting to grant RBAC permissions not currently held ({kind} {role:?}: no bind or escalate permission on it)",
        error.message, user.name
    );
    error
}

fn objects(store: &Store, plural: &str, namespace: Option<&str>) -> Vec<Value> {
    let Ok(rt) = store.resource(RBAC_GROUP, "v1", plural) else {
        return Vec::new();
    };
    store
        .list(
            &rt,
            namespace,
            &LabelSelector::default(),
            &FieldSelector::default(),
            None,
            None,
        )
        .map(|page| page.items)
        .unwrap_or_default()
}

/// Whether one of the binding's subjects is `user`; `namespace` is a RoleBinding's own, the
/// default for its ServiceAccount subjects.
fn bound(binding: &Value, user: &UserInfo, namespace: Option<&str>) -> bool {
    binding["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|subject| {
            let name = subject["name"].as_str().unwrap_or_default();
            match subject["kind"].as_str() {
                Some("User") => user.name == name,
                Some("Group") => user.groups.iter().any(|g| g == name),
                Some("ServiceAccount") => {
                    let account_ns = subject["namespace"].as_str().or(namespace);
                    account_ns
                        .is_some_and(|ns| service_account_parts(&user.name) == Some((ns, name)))
                }
                _ => false,
            }
        })
}

/// Whether the role a binding refers to has a rule admitting `attributes`.
fn role_allows(
    store: &Store,
    binding: &Value,
    namespace: Option<&str>,
    attributes: &Attributes,
) -> bool {
    let name = binding["roleRef"]["name"].as_str().unwrap_or_default();
    let role = match (binding["roleRef"]["kind"].as_str(), namespace) {
        (Some("ClusterRole"), _) => find(store, "clusterroles", None, name),
        (Some("Role"), Some(namespace)) => find(store, "roles", Some(namespace), name),
        _ => None,
    };
    role.is_some_and(|role| {
        role["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|rule| rule_allows(rule, attributes))
    })
}

fn find(store: &Store, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
    let rt = store.resource(RBAC_GROUP, "v1", plural).ok()?;
    store.get(&rt, namespace, name).ok()
}

fn rule_allows(rule: &Value, attributes: &Attributes) -> bool {
    let listed = |field: &str| -> Vec<&str> {
        rule[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    };
    let has = |field: &str, wanted: &str| listed(field).iter().any(|v| *v == "*" || *v == wanted);
    let resource_matches = listed("resources")
        .iter()
        .any(|r| match attributes.subresource {
            None => *r == "*" || *r == attributes.resource,
            Some(sub) => {
                *r == format!("{}/{sub}", attributes.resource)
                    || *r == format!("*/{sub}")
                    || *r == format!("{}/*", attributes.resource)
                    || *r == "*"
            }
        });
    let names = listed("resourceNames");
    let name_matches =
        names.is_empty() || attributes.name.is_some_and(|name| names.contains(&name));
    has("verbs", attributes.verb)
        && has("apiGroups", attributes.group)
        && resource_matches
        && name_matches
}

/// The 403 kube-apiserver answers, worded as its RBAC authorizer words it.
pub fn forbidden(user: &UserInfo, attributes: &Attributes) -> ApiError {
    let qualified = if attributes.group.is_empty() {
        attributes.resource.to_owned()
    } else {
        format!("{}.{}", attributes.resource, attributes.group)
    };
    let object = match attributes.name {
        Some(name) => format!("{qualified} \"{name}\""),
        None => qualified,
    };
    let resource = match attributes.subresource {
        Some(sub) => format!("{}/{sub}", attributes.resource),
        None => attributes.resource.to_owned(),
    };
    let scope = match attributes.namespace {
        Some(namespace) => format!("in the namespace \"{namespace}\""),
        None => "at the cluster scope".to_owned(),
    };
    ApiError {
        code: 403,
        reason: "Forbidden",
        message: format!(
            "{object} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
            user.name, attributes.verb, attributes.group
        ),
        details: Some(json!({
            "name": attributes.name.unwrap_or_default(),
            "group": attributes.group,
            "kind": attributes.resource,
        })),
    }
}
