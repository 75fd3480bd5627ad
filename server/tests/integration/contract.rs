//! Every operation of the OpenAPI document, sent hostile input as a platform-admin (who gets
//! furthest past the policy): control characters, huge and negative numbers, deep nesting,
//! wrong types, unknown fields, in the body, the query and the path. No answer is a 5xx,
//! every error is the one documented JSON body, the cluster's deployments are as they were,
//! and the audit chain still verifies.

use crate::support::TestEnv;
use crate::support::instances::Instances;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tower::ServiceExt;

/// Values no field should take, each of another kind of hostility.
fn hostile_values() -> Vec<Value> {
    let mut deep = json!("bottom");
    for _ in 0..200 {
        deep = json!([deep]);
    }
    vec![
        json!("a\u{0}b"),
        json!("\u{1b}[31mred\u{1b}[0m"),
        json!("x".repeat(70_000)),
        json!(1e308),
        json!(-1),
        json!(u64::MAX),
        json!(null),
        json!({ "unknown": true, "__proto__": { "admin": true } }),
        json!(["../../etc/passwd"]),
        deep,
    ]
}

/// A body built around `value`: the value itself, and an object whose usual field names
/// all hold it.
fn bodies(value: &Value) -> [Value; 2] {
    let mut fields = serde_json::Map::new();
    for key in [
        "name",
        "namespace",
        "id",
        "ids",
        "values",
        "role",
        "user",
        "group",
        "slug",
        "displayName",
        "action",
        "reason",
        "replicas",
        "revision",
        "packageId",
        "extensions",
        "expiresInDays",
        "tenant",
        "force",
        "move",
    ] {
        fields.insert(key.to_owned(), value.clone());
    }
    [value.clone(), Value::Object(fields)]
}

/// Path segments that are no name.
const HOSTILE_SEGMENTS: [&str; 5] = ["%00", "..", "a%1Bb", "default~team-a~Nope~x", "-"];

/// The deployments the platform-admin sees, as `namespace/name/kind` lines.
async fn deployments(env: &TestEnv, token: &str) -> BTreeSet<String> {
    let answer = env
        .get_bearer("/o2dms/v1/deployments?limit=1000", token)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let page: Value = serde_json::from_str(&answer.body).expect("json");
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{}/{}/{}", d["namespace"], d["name"], d["kind"]))
        .collect()
}

/// Sends one request and checks its answer: below 500, and an error in the documented body.
/// Returns the status and the body.
async fn check(
    env: &TestEnv,
    token: &str,
    method: &str,
    uri: &str,
    body: Option<&Value>,
) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let response = env.router.clone().oneshot(request).await.expect("router");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("text/event-stream") {
        return (status, String::new());
    }
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes);
    let shown = body.map(|b| b.to_string().chars().take(120).collect::<String>());
    assert!(
        !status.is_server_error(),
        "{method} {uri} {shown:?}: {status} {text}"
    );
    if status.is_client_error() {
        assert!(
            content_type.starts_with("application/json"),
            "{method} {uri} {shown:?}: {status} in {content_type:?}: {text}"
        );
        let error: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {uri}: {e}: {text}"));
        assert!(
            error["error"].is_string() && error["message"].is_string(),
            "{method} {uri} {shown:?}: {error}"
        );
    }
    (status, text.into_owned())
}

#[tokio::test]
async fn hostile_input_to_every_operation_is_never_a_5xx_and_changes_nothing() {
    let env = TestEnv::start_with_cluster("contract").await;
    let admin = env.bearer("admin");
    let before = deployments(&env, &admin).await;
    let document: Value =
        serde_json::from_str(&env.get("/o2dms/v1/openapi.json", None).await.body).expect("json");
    let values = hostile_values();
    let queries: Vec<String> = values
        .iter()
        .filter_map(Value::as_str)
        .map(|text| {
            let text: String = text.chars().take(200).collect();
            let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
            format!(
                "?limit={encoded}&offset=-1&namespace={encoded}&text={encoded}&before={encoded}&outcome={encoded}&force={encoded}"
            )
        })
        .collect();
    let mut sent = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            let method = method.to_uppercase();
            // The operation's path with every parameter hostile, and with a plain one.
            let mut uris = Vec::new();
            for segment in HOSTILE_SEGMENTS.iter().chain(&["x"]) {
                let concrete: Vec<&str> = path
                    .split('/')
                    .map(|part| {
                        if part.starts_with('{') {
                            *segment
                        } else {
                            part
                        }
                    })
                    .collect();
                uris.push(concrete.join("/"));
            }
            uris.dedup();
            for uri in &uris {
                check(&env, &admin, &method, uri, None).await;
                sent += 1;
            }
            let plain = uris.last().expect("a plain path").clone();
            for query in &queries {
                check(&env, &admin, &method, &format!("{plain}{query}"), None).await;
                sent += 1;
            }
            if method != "GET" && method != "DELETE" {
                for value in &values {
                    for body in bodies(value) {
                        check(&env, &admin, &method, &plain, Some(&body)).await;
                        sent += 1;
                    }
                }
            }
        }
    }
    assert!(sent > 500, "{sent} requests");
    assert_eq!(
        deployments(&env, &admin).await,
        before,
        "nothing was created or deleted"
    );
    env.assert_audit_chain_intact().await;
}

/// `text` as one path segment: everything but unreserved characters percent-encoded.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Requests drawn per operation.
const ROUNDS: usize = 12;

#[tokio::test]
async fn requests_built_from_the_schemas_are_never_refused_for_their_shape() {
    let env = TestEnv::start_with_cluster("contract-valid").await;
    let admin = env.bearer("admin");
    let document: Value =
        serde_json::from_str(&env.get("/o2dms/v1/openapi.json", None).await.body).expect("json");
    let mut instances = Instances::new(&document);
    let mut refused = Vec::new();
    let mut sent = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let body_schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            // A multipart upload has no JSON schema to draw from; its own tests cover it.
            if operation["requestBody"].is_object() && body_schema.is_null() {
                continue;
            }
            // What a new deployment needs depends on its `flux.type` extension (a chart and
            // source for a HelmRelease, a source and path for a Kustomization, or a package),
            // which the document states in prose only; `deployments_api` covers each case.
            // Likewise the access check, whose parameters depend on each other (a subject or
            // groups; a namespace or a tenant, as the action's target needs), which OpenAPI
            // cannot state across query parameters; `admin_api` covers it.
            if (path == "/o2dms/v1/deployments" && method == "post")
                || path == "/o2dms/v1/access/check"
            {
                continue;
            }
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for _ in 0..ROUNDS {
                let mut uri = path.clone();
                let mut query = Vec::new();
                for parameter in &parameters {
                    let name = parameter["name"].as_str().expect("parameter name");
                    let required = parameter["required"] == true;
                    let value = instances.value(&parameter["schema"]);
                    let text = match &value {
                        Value::String(text) => text.clone(),
                        Value::Null => continue,
                        other => other.to_string(),
                    };
                    match parameter["in"].as_str() {
                        Some("path") => uri = uri.replace(&format!("{{{name}}}"), &segment(&text)),
                        Some("query") if required || instances.chance() => {
                            let encoded: String =
                                url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
                            query.push(format!("{name}={encoded}"));
                        }
                        _ => {}
                    }
                }
                if !query.is_empty() {
                    uri = format!("{uri}?{}", query.join("&"));
                }
                let body = (!body_schema.is_null()).then(|| instances.value(body_schema));
                let method = method.to_uppercase();
                let (status, text) = check(&env, &admin, &method, &uri, body.as_ref()).await;
                sent += 1;
                // A new source, image policy or alert names objects that must exist in its
                // namespace (a Secret, an ImageRepository, a Provider): their absence is not
                // a matter of shape, and the answer names the field.
                let missing_reference = status == StatusCode::UNPROCESSABLE_ENTITY
                    && method == "POST"
                    && [
                        "/o2dms/v1/sources",
                        "/o2dms/v1/images",
                        "/o2dms/v1/notifications",
                    ]
                    .contains(&path.as_str())
                    && serde_json::from_str::<Value>(&text).is_ok_and(|e| {
                        ["secretRef", "imageRepository", "provider"]
                            .contains(&e["field"].as_str().unwrap_or_default())
                    });
                if (status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY)
                    && !missing_reference
                {
                    let body: String = body
                        .map(|b| b.to_string().chars().take(200).collect())
                        .unwrap_or_default();
                    refused.push(format!("{method} {uri} {body}\n    -> {status} {text}"));
                }
            }
        }
    }
    assert!(sent > 250, "{sent} requests");
    assert!(
        refused.is_empty(),
        "{} of {sent} requests valid under the document were refused for their shape:\n{}",
        refused.len(),
        refused.join("\n")
    );
    env.assert_audit_chain_intact().await;
}
