//! The API's OpenAPI 3.1 document. Paths, parameters and bodies come from the handlers'
//! `#[utoipa::path]` annotations and the types they read and answer with; the router is
//! built from the same annotations (utoipa-axum), so a route cannot be left out. What every
//! route shares is added here once: the error body and its statuses, the security schemes,
//! and the deployment routes' two spellings of their path parameters.

use model::action::Action;
use model::reference::{DeploymentKind, Family, ToolkitKind};
use model::tenancy::{GlobalRole, TenantRole};
use serde_json::{Map, Value, json};

/// The statuses every route may answer with besides its own, and when.
const FAILURES: &[(&str, &str)] = &[
    ("400", "The request is malformed."),
    (
        "401",
        "No valid credentials: sign in, or send a bearer token or client certificate.",
    ),
    (
        "403",
        "The policy or the cluster refuses it; the message says which role is missing.",
    ),
    (
        "404",
        "What the request names does not exist, or the caller may not see it.",
    ),
    (
        "409",
        "It conflicts with the current state (or a bare name matches several deployments).",
    ),
    ("412", "If-Match names an outdated resourceVersion."),
    ("413", "The request body is too large."),
    ("422", "A field is invalid; `field` names it."),
    ("429", "Too many requests; wait for Retry-After seconds."),
    (
        "500",
        "A bug; the details are in the server log, never in the answer.",
    ),
    ("502", "The cluster or helm failed."),
    (
        "503",
        "A backend is unavailable (no cluster, or the audit log cannot be written).",
    ),
];

/// What the deployment routes' path parameters mean (they are nested under two prefixes).
const PATH_PARAMETERS: &[(&str, &str)] = &[
    (
        "first",
        "The deployment's id (`cluster~namespace~Kind~name`), its bare name when exactly one visible deployment has it, or, followed by a name, its namespace.",
    ),
    ("second", "The deployment's name, after its namespace."),
];

/// Any string a request may carry: no control character but tab, line feed and carriage
/// return (what the edge screen refuses: `validate::unreadable`).
const READABLE: &str = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$";

/// A DNS-1123 label: namespaces, tenant slugs, clusters (at most 63 characters).
const LABEL: &str = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";

/// A DNS-1123 subdomain: Kubernetes object names (at most 253 characters, as `maxLength`).
fn subdomain() -> String {
    format!("{LABEL}(\\.{LABEL})*")
}

/// Human text such as display and token names (`validate::text`): some non-space character,
/// no control character at all.
const TEXT: &str = "[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*";

/// The schema of a string matching `pattern` (unanchored) of at most `max` characters.
fn matching(pattern: &str, max: usize) -> Value {
    json!({ "type": "string", "pattern": format!("^{pattern}$"), "minLength": 1, "maxLength": max })
}

/// A deployment's id, `cluster~namespace~Kind~name`, of one of `kinds`. Within an id a name
/// has at most three dot-separated parts, so that no id exceeds the server's bounds.
fn deployment_id_pattern(kinds: &str) -> String {
    format!("{LABEL}~{LABEL}~({kinds})~{LABEL}(\\.{LABEL}){{0,2}}")
}

/// The schema of a string that is one of `names`.
fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Value {
    json!({ "type": "string", "enum": names.into_iter().collect::<Vec<_>>() })
}

/// Every deployment kind, as ids spell them (`HelmRelease|Kustomization|Release`).
fn all_kinds() -> String {
    DeploymentKind::ALL.map(DeploymentKind::as_str).join("|")
}

/// What the server checks of a path or query parameter of the route `path`, by its name: the
/// same name means the same thing on every route.
fn parameter_schema(path: &str, name: &str) -> Option<Value> {
    // Previews are of Helm releases (not Flux HelmReleases) only; controller logs are of
    // what a controller reconciles.
    let kinds = if path.ends_with("/preview") {
        DeploymentKind::Release.as_str().to_owned()
    } else if path.contains("/logs") {
        [DeploymentKind::HelmRelease, DeploymentKind::Kustomization]
            .map(DeploymentKind::as_str)
            .join("|")
    } else {
        all_kinds()
    };
    let membership = path.contains("/members/") || path.starts_with("/o2dms/v1/global-roles/");
    // A toolkit family's object paths: `/o2dms/v1/{family}/{namespace}/{kind}/{name}[/{operation}]`.
    let family = Family::ALL
        .into_iter()
        .find(|f| path.starts_with(&format!("/o2dms/v1/{f}/")));
    let operation = path.ends_with("/{operation}");
    let trace = path == "/o2dms/v1/trace";
    Some(match name {
        // A membership is named by the grantee's kind and name.
        "kind" if membership => one_of(["user", "group"]),
        "name" if membership => matching(TEXT, 255),
        "role" if path.starts_with("/o2dms/v1/global-roles/") => {
            one_of(GlobalRole::ALL.map(GlobalRole::as_str))
        }
        "container" => matching(LABEL, 63),
        "resource" if path.contains("/workloads/") => {
            one_of(["deployments", "statefulsets", "daemonsets"])
        }
        "pod" | "workload" | "cronjob" => matching(&subdomain(), 253),
        // Log reads are bounded (lines, and seconds back).
        "tail" => json!({ "type": "integer", "minimum": 1, "maximum": 10_000 }),
        "since" => json!({ "type": "integer", "minimum": 1 }),
        // The family's kinds; on an operation path, those that have one of its operations.
        "kind" if family.is_some() => one_of(
            family
                .into_iter()
                .flat_map(ToolkitKind::of)
                .filter(|k| !operation || k.reconciles() || k.suspends())
                .map(ToolkitKind::as_str),
        ),
        "operation" if family.is_some() => {
            let reconciles = family
                .into_iter()
                .flat_map(ToolkitKind::of)
                .all(|k| k.reconciles() || !k.suspends());
            let operations: &[&str] = if reconciles {
                &["reconcile", "suspend", "resume"]
            } else {
                &["suspend", "resume"]
            };
            json!({ "type": "string", "enum": operations })
        }
        // Any Kubernetes kind and API version; one the cluster does not serve is a 404.
        "kind" if trace => matching("[A-Z][A-Za-z0-9]*", 63),
        "apiVersion" | "api_version" if trace => matching(
            &format!("({}/)?v[0-9]+((alpha|beta)[0-9]+)?", subdomain()),
            253,
        ),
        "controller" => json!({ "type": "string",
            "enum": ["helm-controller", "kustomize-controller", "source-controller"] }),
        "format" if path.ends_with("/audit/export") => {
            json!({ "type": "string", "enum": ["jsonl", "csv"] })
        }
        "action" if path.ends_with("/access/check") => {
            one_of(Action::ALL.iter().map(|a| a.as_str()))
        }
        // `key=value` pairs, comma-separated, in Kubernetes' label syntax.
        "labels" => matching(
            "[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*)*",
            4096,
        ),
        "namespace" | "slug" | "tenant" => matching(LABEL, 63),
        "second" | "name" => matching(&subdomain(), 253),
        // Before a name, the namespace; alone, an id or a bare name.
        "first" if path.contains("{second}") => matching(LABEL, 63),
        "first" => matching(
            &format!("({}|{})", deployment_id_pattern(&kinds), subdomain()),
            400,
        ),
        "after" => matching(&deployment_id_pattern(&all_kinds()), 400),
        // The server compares kinds ignoring case.
        "kind" => {
            let names: Vec<String> = DeploymentKind::ALL
                .iter()
                .flat_map(|k| [k.as_str().to_owned(), k.as_str().to_lowercase()])
                .collect();
            one_of(names.iter().map(String::as_str))
        }
        _ => return None,
    })
}

/// What the server checks of request body properties beyond their types: (schema, property,
/// required, constraint).
fn property_constraints() -> Vec<(&'static str, &'static str, bool, Value)> {
    vec![
        // Helm release names are the shortest the server takes.
        ("DeploymentRequest", "name", true, matching(LABEL, 53)),
        ("DeploymentRequest", "namespace", true, matching(LABEL, 63)),
        (
            "DeploymentRequest",
            "packageId",
            false,
            matching("[!-~]+", 512),
        ),
        ("DeploymentRequest", "adapter", false, matching(LABEL, 63)),
        ("NewTenant", "slug", true, matching(LABEL, 63)),
        ("NewTenant", "displayName", false, matching(TEXT, 200)),
        ("TenantChange", "displayName", false, matching(TEXT, 200)),
        ("Assignment", "namespace", true, matching(LABEL, 63)),
        (
            "RoleBody",
            "role",
            true,
            one_of(TenantRole::ALL.map(TenantRole::as_str)),
        ),
        ("NewToken", "name", true, matching(TEXT, 100)),
        (
            "NewToken",
            "expiresInDays",
            false,
            json!({ "type": "integer", "minimum": 1, "maximum": 90 }),
        ),
        ("NewToken", "tenant", false, matching(LABEL, 63)),
        ("NewToken", "service", false, matching(LABEL, 63)),
        (
            "BulkBody",
            "ids",
            true,
            json!({ "type": "array", "minItems": 1, "maxItems": 100,
                "items": matching(&deployment_id_pattern(&all_kinds()), 400) }),
        ),
    ]
}

/// Completes the generated document: information, error responses, security schemes and
/// the parameters nested routes leave undeclared.
pub fn finish(document: utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(document).unwrap_or_else(|_| json!({}));
    document["info"] = json!({
        "title": "Pilothouse API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Deployments run by Flux CD and Helm, their packages and sources, tenancy, API tokens and the audit log. Every operation is authorized by the same policy as the UI and recorded in the audit log.",
    });
    // The one error body (model::error::ErrorBody), which every JSON surface writes.
    let schemas = &mut document["components"]["schemas"];
    schemas["ApiError"] =
        serde_json::to_value(<model::error::ErrorBody as utoipa::PartialSchema>::schema())
            .unwrap_or_default();
    schemas["ErrorCode"] =
        serde_json::to_value(<model::error::ErrorCode as utoipa::PartialSchema>::schema())
            .unwrap_or_default();
    document["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer",
            "description": "An OpenID Connect access token (JWT) from the configured provider, or a Pilothouse API token (`ph_…`)." },
        "session": { "type": "apiKey", "in": "cookie", "name": crate::routes::SESSION_COOKIE,
            "description": "The browser session after signing in at /auth/login; changes also need the x-csrf-token header or a same-origin Origin." },
        "mutualTLS": { "type": "mutualTLS",
            "description": "A client certificate from an authority in server.tls.clientCa: CN is the subject, O the groups." },
    });
    document["security"] = json!([{ "bearer": [] }, { "session": [] }, { "mutualTLS": [] }]);
    if let Some(paths) = document["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                declare_path_parameters(path, operation);
                constrain_parameters(path, operation);
                optional_body_is_not_null(operation);
                add_failures(operation);
                name_operation(path, operation);
            }
        }
    }
    constrain_properties(&mut document);
    constrain_toolkit(&mut document);
    constrain_request_strings(&mut document);
    document
}

/// A URL with one of `schemes` and a host: printable characters, no spaces.
fn url_of(schemes: &str) -> Value {
    matching(&format!("({schemes})://[!-.0-~][!-~]*"), 2048)
}

/// What the server checks of the toolkit requests: (schema, the `oneOf` variant's `kind` or
/// tag, or none for a plain object, property, constraint). Refs, ranges and patterns are narrower here than
/// Flux takes them, never wider.
fn toolkit_constraints() -> Vec<(&'static str, Option<&'static str>, &'static str, Value)> {
    let reference = || matching("[!-~]+", 255);
    let range = || matching("[0-9A-Za-z<>=~^.,|*+-][0-9A-Za-z <>=~^.,|*+-]*", 255);
    let interval = || matching("[1-9][0-9]{0,4}(s|m|h)", 6);
    let mut rules = Vec::new();
    for (kind, url) in [
        ("GitRepository", "https?|ssh"),
        ("HelmRepository", "https?|oci"),
        ("OCIRepository", "oci"),
    ] {
        rules.push(("NewSource", Some(kind), "name", matching(LABEL, 63)));
        rules.push(("NewSource", Some(kind), "namespace", matching(LABEL, 63)));
        rules.push(("NewSource", Some(kind), "url", url_of(url)));
        rules.push(("NewSource", Some(kind), "interval", interval()));
        rules.push((
            "NewSource",
            Some(kind),
            "secretRef",
            matching(&subdomain(), 253),
        ));
        if kind != "HelmRepository" {
            rules.push(("NewSource", Some(kind), "tag", reference()));
            rules.push(("NewSource", Some(kind), "semver", range()));
        }
        if kind == "GitRepository" {
            rules.push(("NewSource", Some(kind), "branch", reference()));
        }
    }
    for schema in ["NewImagePolicy", "NewAlert"] {
        rules.push((schema, None, "name", matching(LABEL, 63)));
        rules.push((schema, None, "namespace", matching(LABEL, 63)));
    }
    rules.push((
        "NewImagePolicy",
        None,
        "imageRepository",
        matching(LABEL, 63),
    ));
    rules.push(("PolicyRule", Some("semver"), "range", range()));
    rules.push(("NewAlert", None, "provider", matching(LABEL, 63)));
    rules.push(("NewAlert", None, "summary", matching(TEXT, 255)));
    rules.push((
        "NewAlert",
        None,
        "eventSources",
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/EventSource" },
            "minItems": 1, "maxItems": 50 }),
    ));
    rules.push((
        "EventSource",
        None,
        "kind",
        one_of(["HelmRelease", "Kustomization"]),
    ));
    rules.push((
        "EventSource",
        None,
        "name",
        matching(&format!("(\\*|{})", subdomain()), 253),
    ));
    rules.push(("EventSource", None, "namespace", matching(LABEL, 63)));
    // Parentheses must balance, which a pattern cannot say: none at all is narrower.
    rules.push((
        "TagFilter",
        None,
        "pattern",
        matching("[!-'*-~][ -'*-~]*", 255),
    ));
    rules.push(("TagFilter", None, "extract", matching("[!-~]+", 255)));
    rules
}

/// Applies [`toolkit_constraints`]: to a plain schema's properties, or to those of the
/// `oneOf` variant whose `kind` is the one named.
fn constrain_toolkit(document: &mut Value) {
    for (schema, kind, property, constraint) in toolkit_constraints() {
        let Some(object) = document["components"]["schemas"].get_mut(schema) else {
            continue;
        };
        let target = match kind {
            None => Some(object),
            // An internally tagged variant (`kind` says which), or an externally tagged one
            // (its one property is the variant's name, holding its fields).
            Some(kind) => object["oneOf"].as_array_mut().and_then(|variants| {
                variants.iter_mut().find_map(|v| {
                    if v["properties"]["kind"]["enum"][0] == kind {
                        Some(v)
                    } else {
                        v.get_mut("properties")?.get_mut(kind)
                    }
                })
            }),
        };
        if let Some(properties) = target
            .and_then(|t| t.get_mut("properties"))
            .and_then(Value::as_object_mut)
        {
            properties.insert(property.into(), constraint);
        }
    }
}

/// Applies [`property_constraints`] to the component schemas.
fn constrain_properties(document: &mut Value) {
    // A service token belongs to a tenant; a tenant change changes something; a preview is
    // of a rollback or of a scale, not both.
    for (schema, key, rule) in [
        (
            "NewToken",
            "dependentRequired",
            json!({ "service": ["tenant"] }),
        ),
        ("TenantChange", "minProperties", json!(1)),
        (
            "PreviewBody",
            "not",
            json!({ "required": ["revision", "replicas"] }),
        ),
    ] {
        if let Some(object) = document["components"]["schemas"]
            .get_mut(schema)
            .and_then(Value::as_object_mut)
        {
            object.insert(key.into(), rule);
        }
    }
    for (schema, property, required, constraint) in property_constraints() {
        let Some(object) = document["components"]["schemas"]
            .get_mut(schema)
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert(property.into(), constraint);
        }
        if required {
            let list = object.entry("required").or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut()
                && !list.iter().any(|p| p == property)
            {
                list.push(json!(property));
            }
        }
    }
}

/// An optional body is sent or left out; JSON `null` is not a body. The generated schema of
/// `Option<Body>` says "null or the body": keep only the body, and say it may be omitted.
fn optional_body_is_not_null(operation: &mut Map<String, Value>) {
    let Some(body) = operation.get_mut("requestBody") else {
        return;
    };
    let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) else {
        return;
    };
    let mut was_optional = false;
    for media in content.values_mut() {
        let schema = &mut media["schema"];
        if let Some(choices) = schema["oneOf"].as_array()
            && choices.iter().any(|c| c["type"] == "null")
        {
            let rest: Vec<Value> = choices
                .iter()
                .filter(|c| c["type"] != "null")
                .cloned()
                .collect();
            if rest.len() == 1 {
                *schema = rest[0].clone();
                was_optional = true;
            }
        }
    }
    if was_optional {
        body["required"] = json!(false);
    }
}

/// Gives each parameter the constraints the server checks for its name.
fn constrain_parameters(path: &str, operation: &mut Map<String, Value>) {
    let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters {
        let Some(name) = parameter["name"].as_str() else {
            continue;
        };
        if let Some(schema) = parameter_schema(path, name) {
            parameter["schema"] = schema;
        } else if parameter["in"] == "path"
            && parameter["schema"]["type"] == "string"
            && parameter["schema"].get("minLength").is_none()
        {
            // An empty segment names no route.
            parameter["schema"]["minLength"] = json!(1);
        }
    }
}

/// Every string a request can carry (parameters, and the bodies' schemas with everything they
/// refer to) that has no pattern, enumeration or format of its own gets the edge screen's
/// rule: no control characters, at most `MAX_STRING_CHARS`.
fn constrain_request_strings(document: &mut Value) {
    let mut references = Vec::new();
    if let Some(paths) = document["paths"].as_object_mut() {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                // `get_mut`, not indexing: indexing would add the keys it looks for.
                if let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                {
                    for parameter in parameters {
                        if let Some(schema) = parameter.get_mut("schema") {
                            readable(schema, &mut references);
                        }
                    }
                }
                if let Some(content) = operation
                    .get_mut("requestBody")
                    .and_then(|body| body.get_mut("content"))
                    .and_then(Value::as_object_mut)
                {
                    for media in content.values_mut() {
                        if let Some(schema) = media.get_mut("schema") {
                            readable(schema, &mut references);
                        }
                    }
                }
            }
        }
    }
    // The component schemas those refer to, and the ones they refer to in turn.
    let mut done = std::collections::BTreeSet::new();
    while let Some(reference) = references.pop() {
        if !done.insert(reference.clone()) {
            continue;
        }
        let pointer = reference.trim_start_matches('#').to_owned();
        if let Some(schema) = document.pointer_mut(&pointer) {
            readable(schema, &mut references);
        }
    }
}

/// Adds [`READABLE`] to the free strings of `schema`, collecting the references it holds.
fn readable(schema: &mut Value, references: &mut Vec<String>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        references.push(reference.to_owned());
    }
    let is_string = match object.get("type") {
        Some(Value::String(kind)) => kind == "string",
        Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "string"),
        _ => false,
    };
    let constrained = ["pattern", "enum", "const", "format"]
        .iter()
        .any(|key| object.contains_key(*key));
    if is_string && !constrained {
        object.insert("pattern".into(), json!(READABLE));
        object
            .entry("maxLength")
            .or_insert(json!(control::validate::MAX_STRING_CHARS));
    }
    for value in object.values_mut() {
        match value {
            Value::Object(_) => readable(value, references),
            Value::Array(items) => {
                for item in items {
                    readable(item, references);
                }
            }
            _ => {}
        }
    }
}

/// Declares each `{name}` of `path` the operation does not declare.
fn declare_path_parameters(path: &str, operation: &mut Map<String, Value>) {
    let declared: Vec<String> = operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut missing = Vec::new();
    for name in path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
    {
        if !declared.iter().any(|d| d == name) {
            let description = PATH_PARAMETERS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, d)| d);
            missing.push(json!({ "name": name, "in": "path", "required": true,
                "description": description, "schema": { "type": "string" } }));
        }
    }
    if missing.is_empty() {
        return;
    }
    let parameters = operation
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = parameters.as_array_mut() {
        list.splice(0..0, missing);
    }
}

/// Makes the operation id unique: handlers of different tags share names (`list`), and the
/// deployment routes are nested twice.
fn name_operation(path: &str, operation: &mut Map<String, Value>) {
    let tag = operation
        .get("tags")
        .and_then(|tags| tags[0].as_str())
        .unwrap_or("api")
        .to_owned();
    let handler = operation
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let suffix = if path.contains("{second}") {
        "_by_namespace_and_name"
    } else {
        ""
    };
    operation.insert(
        "operationId".into(),
        json!(format!("{tag}_{handler}{suffix}")),
    );
}

/// Adds the shared error statuses the operation does not describe itself.
fn add_failures(operation: &mut Map<String, Value>) {
    let responses = operation
        .entry("responses")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(responses) = responses.as_object_mut() else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if response["description"].as_str().is_some_and(str::is_empty) {
            response["description"] = json!(match status.as_str() {
                "201" => "Created.",
                "204" => "Done.",
                _ => "Success.",
            });
        }
    }
    for (status, description) in FAILURES {
        responses.entry(*status).or_insert_with(|| {
            json!({ "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ApiError" } } } })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_path_parameters_are_declared_once() {
        let mut operation = Map::new();
        operation.insert(
            "parameters".into(),
            json!([{ "name": "kind", "in": "query" }, { "name": "second", "in": "path" }]),
        );
        declare_path_parameters("/d/{first}/{second}/status", &mut operation);
        let names: Vec<&str> = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["first", "kind", "second"]);
    }

    #[test]
    fn failures_do_not_replace_an_operations_own_answers() {
        let mut operation = Map::new();
        operation.insert(
            "responses".into(),
            json!({ "404": { "description": "mine" } }),
        );
        add_failures(&mut operation);
        assert_eq!(operation["responses"]["404"]["description"], "mine");
        assert_eq!(
            operation["responses"]["429"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ApiError"
        );
    }
}
