//! The API reference: every operation of the OpenAPI document grouped by tag, with its
//! parameters, body and answers, and the schemas they name. Rendered by Pilothouse from the
//! document it serves, so it needs nothing from the internet.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// The OpenAPI document, as the server made it (provided to pages as context).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct ApiDescription(pub std::sync::Arc<serde_json::Value>);

/// The reference as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiCatalog {
    /// The API's version.
    pub version: String,
    /// Operations by tag, in tag order.
    pub groups: Vec<(String, Vec<ApiOperation>)>,
    /// The named schemas.
    pub schemas: Vec<ApiSchema>,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiOperation {
    /// GET, POST, …
    pub method: String,
    /// The path template.
    pub path: String,
    /// One line.
    pub summary: String,
    /// Name, where (path, query, header), required, what it means.
    pub parameters: Vec<(String, String, bool, String)>,
    /// The request body's schema or media type.
    pub body: Option<String>,
    /// Status, what it means, the schema of its body.
    pub responses: Vec<(String, String, String)>,
}

/// One named schema and its properties (name, type, required, description).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSchema {
    /// Its name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Its properties, or for enums its values.
    pub properties: Vec<(String, String, bool, String)>,
}

/// The reference, made from the served document.
#[server(prefix = "/api", endpoint = "api_reference")]
pub async fn api_reference() -> Result<ApiCatalog, AppError> {
    let ApiDescription(document) = use_context::<ApiDescription>().ok_or_else(|| {
        control::Error::internal("the API description is not available to this page")
    })?;
    Ok(reference(&document))
}

#[cfg(feature = "ssr")]
fn reference(document: &serde_json::Value) -> ApiCatalog {
    use serde_json::Value;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut groups: Vec<(String, Vec<ApiOperation>)> = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let tag = text(&operation["tags"][0]);
            let parameters = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        text(&p["name"]),
                        text(&p["in"]),
                        p["required"].as_bool().unwrap_or(false),
                        text(&p["description"]),
                    )
                })
                .collect();
            let body = operation["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.iter().next())
                .map(|(media, c)| schema_name(&c["schema"]).unwrap_or_else(|| media.clone()));
            let responses = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, r)| {
                    let schema = r["content"]
                        .as_object()
                        .and_then(|content| content.iter().next())
                        .map(|(media, c)| {
                            schema_name(&c["schema"]).unwrap_or_else(|| media.clone())
                        })
                        .unwrap_or_default();
                    (status.clone(), text(&r["description"]), schema)
                })
                .collect();
            let entry = ApiOperation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(&operation["summary"]),
                parameters,
                body,
                responses,
            };
            match groups.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, list)) => list.push(entry),
                None => groups.push((tag, vec![entry])),
            }
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let schemas = document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut properties: Vec<(String, String, bool, String)> = schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, p)| {
                    (
                        field.clone(),
                        type_name(p),
                        required.contains(&field.as_str()),
                        text(&p["description"]),
                    )
                })
                .collect();
            for value in schema["enum"].as_array().into_iter().flatten() {
                properties.push((text(value), "value".into(), false, String::new()));
            }
            ApiSchema {
                name: name.clone(),
                description: text(&schema["description"]),
                properties,
            }
        })
        .collect();
    ApiCatalog {
        version: text(&document["info"]["version"]),
        groups,
        schemas,
    }
}

/// The name a `$ref` (possibly inside an array or a oneOf with null) points to.
#[cfg(feature = "ssr")]
fn schema_name(schema: &serde_json::Value) -> Option<String> {
    if let Some(target) = schema["$ref"].as_str() {
        return target.rsplit('/').next().map(str::to_owned);
    }
    if schema["type"] == "array" {
        return schema_name(&schema["items"]).map(|inner| format!("[{inner}]"));
    }
    schema["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(schema_name)
}

/// A property's type in a few characters.
#[cfg(feature = "ssr")]
fn type_name(schema: &serde_json::Value) -> String {
    if let Some(name) = schema_name(schema) {
        return name;
    }
    match &schema["type"] {
        serde_json::Value::String(t) => t.clone(),
        serde_json::Value::Array(types) => types
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    }
}

/// The API reference page.
#[component]
pub fn ApiDocs() -> impl IntoView {
    let reference = Resource::new(|| (), |()| api_reference());
    view! {
        <Title text="API reference" />
        <h1>"API reference"</h1>
        <p class="muted">
            "The REST API under " <code>"/o2dms/v1"</code> ". Authenticate with "
            <code>"Authorization: Bearer …"</code>
            " (an OpenID Connect token or an API token from "
            <a href="/tokens">"API tokens"</a>
            "), a client certificate, or this browser session. Errors answer "
            <code>"{\"error\", \"message\", \"field\"}"</code> ". The machine-readable document: "
            <a href="/o2dms/v1/openapi.json" data-testid="openapi-link">"openapi.json"</a> "."
        </p>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || reference.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(reference) => view! { <Reference reference /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Reference(reference: ApiCatalog) -> impl IntoView {
    let toc = reference
        .groups
        .iter()
        .map(|(tag, list)| {
            let href = format!("#tag-{tag}");
            view! { <li><a href=href>{tag.clone()}</a>" (" {list.len()} ")"</li> }
        })
        .collect_view();
    view! {
        <nav class="panel api-toc" aria-label="API sections">
            <p class="muted">"Version " {reference.version.clone()}</p>
            <ul>{toc}<li><a href="#schemas">"schemas"</a></li></ul>
        </nav>
        {reference.groups.into_iter().map(|(tag, operations)| {
            let id = format!("tag-{tag}");
            view! {
                <section class="panel" id=id data-testid="api-group">
                    <h2>{tag}</h2>
                    {operations.into_iter().map(|op| view! { <Operation op /> }).collect_view()}
                </section>
            }
        }).collect_view()}
        <section class="panel" id="schemas">
            <h2>"Schemas"</h2>
            {reference.schemas.into_iter().map(|schema| {
                let id = format!("schema-{}", schema.name);
                view! {
                    <details class="api-schema" id=id>
                        <summary><code>{schema.name}</code>" " <span class="muted">{schema.description}</span></summary>
                        <Fields rows=schema.properties />
                    </details>
                }
            }).collect_view()}
        </section>
    }
    .into_any()
}

#[component]
fn Operation(op: ApiOperation) -> impl IntoView {
    let method_class = format!("method method-{}", op.method.to_lowercase());
    view! {
        <details class="api-op" data-testid="api-operation">
            <summary>
                <span class=method_class>{op.method}</span>" "
                <code>{op.path}</code>" "
                <span class="muted">{op.summary}</span>
            </summary>
            {(!op.parameters.is_empty()).then(|| view! {
                <h3>"Parameters"</h3>
                <Fields rows=op.parameters />
            })}
            {op.body.map(|body| view! { <p><strong>"Body: "</strong><code>{body}</code></p> })}
            <h3>"Answers"</h3>
            <table class="table">
                <tbody>{op.responses.into_iter().map(|(status, description, schema)| view! {
                    <tr><td><code>{status}</code></td><td>{description}</td><td><code>{schema}</code></td></tr>
                }).collect_view()}</tbody>
            </table>
        </details>
    }
    .into_any()
}

#[component]
fn Fields(rows: Vec<(String, String, bool, String)>) -> impl IntoView {
    view! {
        <table class="table">
            <tbody>{rows.into_iter().map(|(name, kind, required, description)| view! {
                <tr>
                    <td><code>{name}</code>{required.then_some(" *")}</td>
                    <td><code>{kind}</code></td>
                    <td>{description}</td>
                </tr>
            }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}
