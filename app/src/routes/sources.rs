//! Flux sources: Git, Helm and OCI repositories, buckets and charts, with the artifact
//! revision each last produced and whether it is ready.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use model::source::FluxSource;

/// The sources in the namespaces the caller may see.
#[server(prefix = "/api", endpoint = "list_sources")]
pub async fn list_sources() -> Result<Vec<FluxSource>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_sources(&ctx).await?)
}

/// The sources page.
#[component]
pub fn Sources() -> impl IntoView {
    let sources = Resource::new(|| (), |()| list_sources());
    view! {
        <Title text="Sources" />
        <h1>"Sources"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading sources…"</p> }>
            {move || sources.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"No sources in your namespaces."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="sources-table">
                        <thead><tr><th>"Name"</th><th>"Namespace"</th><th>"Kind"</th><th>"Ready"</th><th>"Revision"</th><th>"URL"</th></tr></thead>
                        <tbody>{list.into_iter().map(|s| view! {
                            <tr>
                                <td>{s.name}{s.suspended.then(|| view! { " " <span class="badge suspended">"suspended"</span> })}</td>
                                <td>{s.namespace}</td>
                                <td>{s.kind}</td>
                                <td title=s.message>{s.ready.unwrap_or_else(|| "Unknown".into())}</td>
                                <td><code>{s.revision.unwrap_or_default()}</code></td>
                                <td>{s.url}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}
