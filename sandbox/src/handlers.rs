//! Routing Kubernetes API paths to the store: discovery, the verbs, subresources and watch.

use crate::discovery;
use crate::error::ApiError;
use crate::identity::{self, Caller, Impersonation, Tokens};
use crate::outage::Outages;
use crate::patch::PatchKind;
use crate::rbac::{self, Attributes, UserInfo};
use crate::resources::ResourceType;
use crate::schema::UnknownFields;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Store, WriteOptions};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What every request needs.
#[derive(Clone)]
pub struct Ctx {
    /// The cluster's state.
    pub store: Arc<Store>,
    /// The tokens it accepts.
    pub tokens: Arc<Tokens>,
    /// Impersonation headers seen, oldest first.
    pub impersonations: Arc<Mutex<Vec<Impersonation>>>,
    /// Simulated restarts and request counters.
    pub outages: Arc<Outages>,
}

/// A parsed resource path.
struct Target {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

/// The one handler behind every path.
pub async fn handle(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let account = sent.and_then(|token| crate::sa_tokens::authenticate(&ctx.store, token));
    let authenticated = match account {
        Some(Ok(user)) => Ok(Caller::User(user)),
        Some(Err(error)) => Err(error),
        None => ctx.tokens.authenticate(&headers),
    };
    let user = match authenticated {
        Ok(Caller::ReadOnly) if !matches!(method, Method::GET | Method::HEAD) => {
            return ApiError::forbidden(&method, uri.path()).into_response();
        }
        Ok(Caller::ReadOnly) => UserInfo::admin(),
        Ok(Caller::User(user)) => user,
        Err(error) => return error.into_response(),
    };
    let user = match identity::effective(&ctx.store, user, &headers, &ctx.impersonations) {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    // A request on a connection still open while a simulated restart takes the server down.
    if ctx.outages.is_down() {
        return ApiError::restarting().into_response();
    }
    match route(&ctx, &user, &method, uri.path(), &headers, &query, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn route(
    ctx: &Ctx,
    user: &UserInfo,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let resources = ctx.store.resources();
    let json_ok = |v: Value| Ok(Json(v).into_response());
    let aggregated = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(discovery::AGGREGATED));
    if aggregated && matches!(segments.as_slice(), ["api"] | ["apis"]) {
        let body = discovery::aggregated(&resources, segments == ["api"]);
        return Ok((
            [(header::CONTENT_TYPE, discovery::AGGREGATED_CONTENT_TYPE)],
            Json(body),
        )
            .into_response());
    }
    match segments.as_slice() {
        ["version"] => return json_ok(discovery::version()),
        ["sandbox", "restart"] if *method == Method::POST && user.is_master() => {
            let down = query
                .get("downMs")
                .and_then(|ms| ms.parse().ok())
                .map_or(Duration::ZERO, Duration::from_millis);
            let compact = query.get("compact").is_some_and(|c| c == "true");
            ctx.outages.restart(&ctx.store, down, compact);
            return json_ok(json!({ "restarted": true, "downMs": down.as_millis() as u64 }));
        }
        ["sandbox", "requests"] if user.is_master() => {
            return json_ok(json!(ctx.outages.counts()));
        }
        ["api"] => return json_ok(discovery::core_versions()),
        ["apis"] => return json_ok(discovery::groups(&resources)),
        ["api", "v1"] => {
            return discovery::resource_list(&resources, "", "v1")
                .map_or_else(|| Err(ApiError::no_route(path)), json_ok);
        }
        ["apis", group] => {
            return discovery::group(&resources, group)
                .map_or_else(|| Err(ApiError::no_route(path)), json_ok);
        }
        ["apis", group, version] => {
            return discovery::resource_list(&resources, group, version)
                .map_or_else(|| Err(ApiError::no_route(path)), json_ok);
        }
        // An empty OpenAPI v2 document (zero protobuf bytes): clients such as helm and kubectl
        // then find no client-side schema and leave validation to the server, which checks
        // custom resources against their CRD schemas. No v3 documents, so they use this one.
        ["openapi", "v2"] => {
            return Ok((
                [(
                    header::CONTENT_TYPE,
                    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                )],
                Vec::<u8>::new(),
            )
                .into_response());
        }
        ["openapi", ..] => return Err(ApiError::no_route(path)),
        ["healthz"] | ["readyz"] | ["livez"] => return Ok("ok".into_response()),
        _ => {}
    }
    // The API server's service proxy, for source-controller's artifacts.
    if let [
        "api",
        "v1",
        "namespaces",
        ns,
        "services",
        service,
        "proxy",
        rest @ ..,
    ] = segments.as_slice()
    {
        let target = Target {
            rt: ctx.store.resource("", "v1", "services")?,
            namespace: Some((*ns).to_owned()),
            name: Some((*service).to_owned()),
            subresource: Some("proxy".to_owned()),
        };
        authorize(ctx, user, method, &target, query, headers, body)?;
        return crate::artifacts::serve(&ctx.store, service, rest);
    }
    let (group, version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::no_route(path)),
    };
    let target = parse_target(ctx, group, version, rest).ok_or_else(|| ApiError::no_route(path))?;
    authorize(ctx, user, method, &target, query, headers, body)?;
    dispatch(ctx, method, target, headers, query, body).await
}

fn parse_target(ctx: &Ctx, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let store = &ctx.store;
    match rest {
        ["namespaces", ns, plural, tail @ ..]
            if store
                .resource(group, version, plural)
                .is_ok_and(|r| r.namespaced) =>
        {
            let rt = store.resource(group, version, plural).ok()?;
            match tail {
                [] => Some(Target {
                    rt,
                    namespace: Some((*ns).to_owned()),
                    name: None,
                    subresource: None,
                }),
                [name] => Some(Target {
                    rt,
                    namespace: Some((*ns).to_owned()),
                    name: Some((*name).to_owned()),
                    subresource: None,
                }),
                [name, sub] => Some(Target {
                    rt,
                    namespace: Some((*ns).to_owned()),
                    name: Some((*name).to_owned()),
                    subresource: Some((*sub).to_owned()),
                }),
                _ => None,
            }
        }
        [plural, tail @ ..] => {
            let rt = store.resource(group, version, plural).ok()?;
            match tail {
                [] => Some(Target {
                    rt,
                    namespace: None,
                    name: None,
                    subresource: None,
                }),
                [name] if !rt.namespaced => Some(Target {
                    rt,
                    namespace: None,
                    name: Some((*name).to_owned()),
                    subresource: None,
                }),
                [name, sub] if !rt.namespaced => Some(Target {
                    rt,
                    namespace: None,
                    name: Some((*name).to_owned()),
                    subresource: Some((*sub).to_owned()),
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// RBAC for one resource request: the verb the method means, then the escalation guard for
/// writes of roles and bindings.
fn authorize(
    ctx: &Ctx,
    user: &UserInfo,
    method: &Method,
    target: &Target,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(), ApiError> {
    let named = target.name.is_some();
    let verb = match *method {
        Method::GET | Method::HEAD if named => "get",
        Method::GET | Method::HEAD
            if query.get("watch").is_some_and(|w| w == "true" || w == "1") =>
        {
            "watch"
        }
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => return Ok(()),
    };
    let body_name = (verb == "create")
        .then(|| parse_body(headers, body).ok())
        .flatten();
    let name = target.name.as_deref().or_else(|| {
        body_name
            .as_ref()
            .and_then(|b| b.pointer("/metadata/name"))
            .and_then(Value::as_str)
    });
    let attributes = Attributes {
        verb,
        group: &target.rt.group,
        resource: &target.rt.plural,
        subresource: target.subresource.as_deref(),
        namespace: target.namespace.as_deref(),
        name: if verb == "create" { None } else { name },
    };
    rbac::authorize(&ctx.store, user, &attributes)?;
    if matches!(verb, "create" | "update" | "patch") && target.rt.group == rbac::RBAC_GROUP {
        let sent = parse_body(headers, body)?;
        let existing = name.and_then(|n| {
            ctx.store
                .get(&target.rt, target.namespace.as_deref(), n)
                .ok()
        });
        let attributes = Attributes { name, ..attributes };
        rbac::authorize_rbac_write(&ctx.store, user, &attributes, &sent, existing.as_ref())?;
    }
    Ok(())
}

async fn dispatch(
    ctx: &Ctx,
    method: &Method,
    target: Target,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let store = &ctx.store;
    let Target {
        rt,
        namespace,
        name,
        subresource,
    } = target;
    let ns = namespace.as_deref();
    let unknown = match query.get("fieldValidation").map(String::as_str) {
        Some("Strict") => UnknownFields::Reject,
        _ => UnknownFields::Prune,
    };
    let options = WriteOptions {
        unknown,
        // As kube-apiserver does, a write that names no manager is managed under its client's
        // name (the User-Agent up to the first '/').
        field_manager: query
            .get("fieldManager")
            .map(String::as_str)
            .or_else(|| user_agent(headers)),
        subresource: subresource.as_deref(),
        force: query.get("force").is_some_and(|f| f == "true"),
        dry_run: query.get("dryRun").is_some_and(|d| d == "All"),
    };
    if let Some(sub) = subresource.as_deref() {
        match sub {
            "status" if rt.status_subresource => {}
            "log" if rt.plural == "pods" && rt.group.is_empty() => {
                let pod = store.get(&rt, ns, name.as_deref().unwrap_or_default())?;
                // A container's previous run has its own log (kept by `pods` for crashes).
                let previous = query.get("previous").is_some_and(|p| p == "true");
                let kept = if previous {
                    "/metadata/annotations/sandbox.pilothouse.dev~1previous-log"
                } else {
                    "/metadata/annotations/sandbox.pilothouse.dev~1log"
                };
                let log = match pod.pointer(kept).and_then(Value::as_str) {
                    Some(log) => log,
                    None if previous => {
                        return Err(ApiError::bad_request(
                            "previous terminated container not found",
                        ));
                    }
                    None => "",
                };
                // tailLines, as the kubelet honours it; sinceSeconds is not kept per line here.
                let lines: Vec<&str> = log.lines().collect();
                let tail = query
                    .get("tailLines")
                    .and_then(|t| t.parse::<usize>().ok())
                    .unwrap_or(lines.len());
                let mut text = lines[lines.len().saturating_sub(tail)..].join("\n");
                if !text.is_empty() {
                    text.push('\n');
                }
                return Ok(([(header::CONTENT_TYPE, "text/plain")], text).into_response());
            }
            "token"
                if rt.plural == "serviceaccounts"
                    && rt.group.is_empty()
                    && *method == Method::POST =>
            {
                let account = name.as_deref().unwrap_or_default();
                let answer =
                    crate::sa_tokens::token_request(store, ns.unwrap_or("default"), account)?;
                return Ok((StatusCode::CREATED, Json(answer)).into_response());
            }
            other => return Err(ApiError::no_route(&format!("{}/{other}", rt.plural))),
        }
    }
    match (method.clone(), name) {
        (Method::GET, None) if query.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            ctx.outages.count_watch();
            crate::watch::serve(ctx, rt, namespace, query)
        }
        (Method::GET, None) => {
            ctx.outages.count_list();
            let labels =
                LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
            let fields =
                FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?;
            let limit = query.get("limit").and_then(|l| l.parse().ok());
            let page = store.list(
                &rt,
                ns,
                &labels,
                &fields,
                limit,
                query.get("continue").map(String::as_str),
            )?;
            let mut metadata = json!({ "resourceVersion": page.revision.to_string() });
            if let Some(token) = page.continue_token {
                metadata["continue"] = json!(token);
                metadata["remainingItemCount"] = json!(page.remaining);
            }
            Ok(Json(json!({ "kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": metadata, "items": page.items })).into_response())
        }
        (Method::GET, Some(name)) => Ok(Json(store.get(&rt, ns, &name)?).into_response()),
        (Method::POST, None) => {
            let mut object = parse_body(headers, body)?;
            if rt.plural == "secrets" && rt.group.is_empty() {
                if let Some(ns) = ns {
                    object["metadata"]["namespace"] = json!(ns);
                }
                crate::sa_tokens::fill_token_secret(store, &mut object);
            }
            Ok((
                StatusCode::CREATED,
                Json(store.create(&rt, ns, object, options)?),
            )
                .into_response())
        }
        (Method::PUT, Some(name)) => {
            let object = parse_body(headers, body)?;
            if object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|n| n != name)
            {
                return Err(ApiError::bad_request(
                    "the name of the object does not match the name on the URL",
                ));
            }
            Ok(Json(store.update(&rt, ns, &name, object, options)?).into_response())
        }
        (Method::PATCH, Some(name)) => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let kind = PatchKind::from_content_type(content_type)?;
            if kind == PatchKind::Apply && !query.contains_key("fieldManager") {
                return Err(ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: "fieldManager: Required value: is required for apply patch".into(),
                    details: None,
                });
            }
            let patch = parse_body(headers, body)?;
            let existed = store.get(&rt, ns, &name).is_ok();
            let result = store.patch(&rt, ns, &name, kind, &patch, options)?;
            let code = if existed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((code, Json(result)).into_response())
        }
        (Method::DELETE, Some(name)) => {
            let deleted = store.delete(&rt, ns, &name)?;
            Ok(Json(deleted_answer(&rt, deleted)).into_response())
        }
        (Method::DELETE, None) => {
            let labels =
                LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
            let fields =
                FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?;
            let items = store.delete_collection(&rt, ns, &labels, &fields)?;
            Ok(Json(json!({ "kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": { "resourceVersion": store.revision().to_string() }, "items": items })).into_response())
        }
        (method, _) => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported here"
        ))),
    }
}

/// The client's name from its User-Agent, as kube-apiserver names managers that name none.
fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|agent| agent.split('/').next())
        .filter(|name| !name.is_empty())
}

/// What kube-apiserver answers a single DELETE with: custom resources and namespaces (which
/// go through finalization, shown as Terminating) come back as the object; built-in objects
/// deleted at once come back as a `Status` naming them.
fn deleted_answer(rt: &ResourceType, mut deleted: Value) -> Value {
    if rt.group.is_empty() && rt.plural == "namespaces" {
        deleted["status"] = json!({ "phase": "Terminating" });
        deleted["metadata"]["deletionTimestamp"] = json!(crate::object::now());
        return deleted;
    }
    if rt.schema.is_some() {
        return deleted;
    }
    let mut details = json!({
        "name": deleted.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
        "kind": rt.plural,
        "uid": deleted.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
    });
    if !rt.group.is_empty() {
        details["group"] = json!(rt.group);
    }
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details })
}

/// JSON or YAML bodies (server-side apply sends YAML).
fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.contains("protobuf") {
        return crate::protobuf::decode(body);
    }
    if content_type.contains("yaml") {
        serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid YAML: {e}")))
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON ({content_type}): {e}")))
    }
}
