//! Packages: chart archives uploaded to a namespace (upload, list, delete), and the Flux
//! sources deployments are built from (Git, Helm and OCI repositories).

use super::toolkit::list_toolkit;
use super::why::{Why, may};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::action::Action;
use model::reference::ToolkitKind;
use model::source::Package;

/// The uploaded packages the caller may see.
#[server(prefix = "/api", endpoint = "list_packages")]
pub async fn list_packages() -> Result<Vec<Package>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_packages(&ctx).await?)
}

/// Deletes a package; `force` deletes it even while a release runs it.
#[server(prefix = "/api", endpoint = "delete_package")]
pub async fn delete_package(
    namespace: String,
    id: String,
    force: Option<String>,
) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .delete_package(
            &ctx,
            &crate::server::namespace(&namespace)?,
            &id,
            force.is_some(),
        )
        .await?)
}

/// The packages page.
#[component]
pub fn Packages() -> impl IntoView {
    let query = use_query_map();
    let delete = ServerAction::<DeletePackage>::new();
    let packages = Resource::new(move || delete.version().get(), |_| list_packages());
    let sources = Resource::new(|| (), |()| list_toolkit(model::reference::Family::Sources));
    let namespace = move || query.with(|q| q.get("namespace").unwrap_or_default());
    let uploaded = move || query.with(|q| q.get("uploaded"));
    let failed = move || query.with(|q| q.get("error"));
    let delete_error = move || {
        delete
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.0.message)
    };
    view! {
        <Title text="Packages" />
        <h1>"Packages"</h1>
        {move || uploaded().map(|id| view! { <p class="notice" role="status" data-testid="upload-notice">{format!("Uploaded {id}.")}</p> })}
        {move || failed().map(|message| view! { <p class="error" role="alert" data-testid="upload-error">{message}</p> })}
        {move || delete_error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        <form method="post" action="/packages/upload" enctype="multipart/form-data" class="filters" data-testid="upload-form">
            <input name="namespace" required placeholder="Namespace" aria-label="Namespace" value=namespace />
            <input type="file" name="archive" accept=".tgz,application/gzip" required aria-label="Chart archive (.tgz)" />
            <button type="submit">"Upload chart"</button>
        </form>
        <h2>"Uploaded charts"</h2>
        <Suspense fallback=|| view! { <p class="empty">"Loading packages…"</p> }>
            {move || packages.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"No charts uploaded yet. Upload a .tgz made by `helm package`."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="packages-table">
                        <thead><tr><th>"Package"</th><th>"Namespace"</th><th>"App version"</th><th>"Size"</th><th>"Uploaded"</th><th></th></tr></thead>
                        <tbody>{list.into_iter().map(|p| view! {
                            <tr>
                                <td title=p.description.clone().unwrap_or_default()><code>{p.id.clone()}</code></td>
                                <td>{p.namespace.clone()}</td>
                                <td>{p.app_version.clone().unwrap_or_default()}</td>
                                <td>{format!("{} KiB", p.size / 1024 + 1)}</td>
                                <td>{format!("{} by {}", p.uploaded_at.get(..16).unwrap_or_default(), p.uploaded_by)}</td>
                                <td>
                                    <ActionForm action=delete attr:class="inline">
                                        <input type="hidden" name="namespace" value=p.namespace.clone() />
                                        <input type="hidden" name="id" value=p.id.clone() />
                                        <label><input type="checkbox" name="force" value="on" />" even if in use"</label>
                                        <button type="submit" class="danger" disabled=!may(&p.permissions, Action::PackageDelete)>"Delete"</button>
                                        <Why permissions=p.permissions.clone() action=Action::PackageDelete />
                                    </ActionForm>
                                </td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
        <h2>"Sources"</h2>
        <p class="muted">"Flux fetches charts and manifests from these; HelmReleases and Kustomizations name them."</p>
        <Suspense fallback=|| view! { <p class="empty">"Loading sources…"</p> }>
            {move || sources.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(list) => {
                    let repositories: Vec<_> = list.into_iter().filter(|s| matches!(s.kind, ToolkitKind::GitRepository | ToolkitKind::HelmRepository | ToolkitKind::OciRepository)).collect();
                    if repositories.is_empty() {
                        view! { <p class="empty">"No repositories in your namespaces."</p> }.into_any()
                    } else {
                        view! {
                            <table class="table" data-testid="repositories-table">
                                <thead><tr><th>"Name"</th><th>"Namespace"</th><th>"Kind"</th><th>"Ready"</th><th>"Revision"</th></tr></thead>
                                <tbody>{repositories.into_iter().map(|s| view! {
                                    <tr><td>{s.name}</td><td>{s.namespace}</td><td>{s.kind.as_str()}</td><td title=s.message>{s.ready.unwrap_or_else(|| "Unknown".into())}</td><td><code>{s.revision.unwrap_or_default()}</code></td></tr>
                                }).collect_view()}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
