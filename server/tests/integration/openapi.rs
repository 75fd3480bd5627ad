//! The OpenAPI document: served without sign-in, OpenAPI 3.1, every `$ref` resolves, every
//! path parameter is declared, and every documented operation is a route of the router (which
//! is built from the same annotations); no REST route is added around them. The browser suite
//! (api.spec.mjs) validates the served document against the OpenAPI 3.1 schema.

use crate::support::TestEnv;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;
use tower::ServiceExt;

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_complete_and_matches_the_router() {
    let env = TestEnv::start("openapi", |_| {}).await;
    let answer = env.get("/o2dms/v1/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK, "served without sign-in");
    let document: Value = serde_json::from_str(&answer.body).expect("json");
    std::fs::write(
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openapi.json"),
        &answer.body,
    )
    .expect("keep a copy");

    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "Pilothouse API");
    for scheme in ["bearer", "session", "mutualTLS"] {
        assert!(
            document["components"]["securitySchemes"][scheme].is_object(),
            "security scheme {scheme}"
        );
    }
    // Every operation is well-formed where validators look first: parameters a list,
    // a request body with its content (Swagger's parser refuses a document otherwise).
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if let Some(parameters) = operation.get("parameters") {
                assert!(
                    parameters.is_array(),
                    "{method} {path}: parameters {parameters}"
                );
            }
            if let Some(body) = operation.get("requestBody") {
                assert!(
                    body["content"].is_object(),
                    "{method} {path}: requestBody {body}"
                );
            }
        }
    }
    let mut targets = Vec::new();
    refs(&document, &mut targets);
    assert!(targets.len() > 20, "bodies are described by schemas");
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {target}"));
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{target} does not resolve"
        );
    }

    let paths = document["paths"].as_object().expect("paths");
    let mut operation_ids = BTreeSet::new();
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/o2dms/v1/"), "{path}");
        for (method, operation) in item.as_object().expect("path item") {
            operations += 1;
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let templated: BTreeSet<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
                .collect();
            assert_eq!(declared, templated, "{method} {path}: path parameters");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has a summary"
            );
            assert!(
                operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"]
                    == "#/components/schemas/ApiError",
                "{method} {path} documents the error shape"
            );
            operation_ids.insert(operation["operationId"].as_str().unwrap_or_default());

            // The route exists: the router answers something other than "no such route".
            let concrete = path
                .split('/')
                .map(|part| if part.starts_with('{') { "x" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .header("authorization", format!("Bearer {}", env.bearer("admin")))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .expect("request");
            let routed = answer_head(&env, request).await;
            assert_ne!(
                routed.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
            assert!(
                routed.status != StatusCode::NOT_FOUND || routed.body.contains("\"error\""),
                "{method} {path} is documented but not routed: {}",
                routed.body
            );
        }
    }
    assert!(operations >= 45, "{operations} operations");
    assert_eq!(operation_ids.len(), operations, "operation ids are unique");

    // Routes are only added through the annotated handlers, so none is missing above.
    let rest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rest");
    let mut files = 0;
    for entry in std::fs::read_dir(&rest).expect("src/rest") {
        let path = entry.expect("entry").path();
        let source = std::fs::read_to_string(&path).expect("source");
        files += 1;
        assert!(
            !source.contains(".route("),
            "{} adds a route around the OpenAPI annotations",
            path.display()
        );
    }
    assert!(files >= 6, "every REST module was read");
}

/// The answer to `request`, with its body read unless it is an endless event stream.
async fn answer_head(env: &TestEnv, request: Request<Body>) -> crate::support::Answer {
    let response = env.router.clone().oneshot(request).await.expect("router");
    let status = response.status();
    let headers = response.headers().clone();
    let streaming = headers
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v == "text/event-stream");
    let body = if streaming {
        String::new()
    } else {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .expect("body");
        String::from_utf8_lossy(&bytes).into_owned()
    };
    crate::support::Answer {
        status,
        headers,
        body,
    }
}

/// An instance of `schema` built from what it requires: the first of an `enum`, else a name.
fn instance(schema: &Value, name: &str) -> Value {
    let mut body = serde_json::Map::new();
    for key in schema["required"].as_array().into_iter().flatten() {
        let key = key.as_str().expect("required names a property");
        let property = &schema["properties"][key];
        let value = match property["enum"].as_array().and_then(|e| e.first()) {
            Some(first) => first.clone(),
            None => Value::String(name.to_owned()),
        };
        body.insert(key.to_owned(), value);
    }
    Value::Object(body)
}

/// The membership bodies can be built from their schemas: each alternative, filled in from
/// what it requires, is accepted; and the schemas say everything the server refuses for shape
/// (exactly one of user or group, a known role, nothing else).
#[tokio::test]
async fn membership_bodies_built_from_their_schemas_are_accepted() {
    let env = TestEnv::start("openapi-members", |_| {}).await;
    let document: Value =
        serde_json::from_str(&env.get("/o2dms/v1/openapi.json", None).await.body).expect("json");
    let admin = env.bearer("admin");
    for (schema, path) in [
        ("NewTenantMember", "/o2dms/v1/tenants/team-a/members"),
        ("NewGlobalGrant", "/o2dms/v1/global-roles"),
    ] {
        let alternatives = document["components"]["schemas"][schema]["oneOf"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} is one of its alternatives"));
        assert_eq!(alternatives.len(), 2, "{schema}: a user or a group");
        for (i, alternative) in alternatives.iter().enumerate() {
            assert_eq!(alternative["additionalProperties"], false, "{schema}");
            let body = instance(alternative, &format!("from-schema-{i}"));
            let answer = env.send_bearer("POST", path, &admin, body.clone()).await;
            assert_eq!(
                answer.status,
                StatusCode::CREATED,
                "{schema} {body}: {}",
                answer.body
            );
        }
    }
}
