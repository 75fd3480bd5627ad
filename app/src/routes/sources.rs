//! Flux sources: Git, Helm and OCI repositories, buckets and charts, with the artifact
//! revision each last produced and whether it is ready.

use super::why::{Why, may};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use model::action::Action;
use model::deployment::ReconcileOutcome;
use model::operation::Answered;
use model::source::FluxSource;

/// The sources in the namespaces the caller may see.
#[server(prefix = "/api", endpoint = "list_sources")]
pub async fn list_sources() -> Result<Vec<FluxSource>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_sources(&ctx).await?)
}

/// The source a form names, or a 4xx saying which field is wrong.
#[cfg(feature = "ssr")]
fn source(
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<model::reference::SourceRef, AppError> {
    let namespace = crate::server::namespace(namespace)?;
    Ok(control::service::change::source_ref(namespace, kind, name)?)
}

/// Asks Flux to fetch a source now: the new artifact when it comes within the page's wait,
/// else the operation to follow.
#[server(prefix = "/api", endpoint = "reconcile_source")]
pub async fn reconcile_source(
    kind: String,
    namespace: String,
    name: String,
) -> Result<Answered<ReconcileOutcome>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = control::service::change::Change::ReconcileSource {
        source: source(&kind, &namespace, &name)?,
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_reconcile()).await
}

/// Suspends (`suspend` = "true") or resumes a source.
#[server(prefix = "/api", endpoint = "suspend_source")]
pub async fn suspend_source(
    kind: String,
    namespace: String,
    name: String,
    suspend: String,
) -> Result<Answered<()>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = control::service::change::Change::SuspendSource {
        source: source(&kind, &namespace, &name)?,
        suspend: suspend == "true",
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_done()).await
}

/// The sources page.
#[component]
pub fn Sources() -> impl IntoView {
    let reconcile = ServerAction::<ReconcileSource>::new();
    let suspend = ServerAction::<SuspendSource>::new();
    let sources = Resource::new(
        move || (reconcile.version().get(), suspend.version().get()),
        |_| list_sources(),
    );
    // The latest action's result, in words; a fetch still running names its operation.
    let notice = move || -> Option<Result<(bool, String), String>> {
        if reconcile.pending().get() {
            return Some(Ok((
                true,
                "Fetching: waiting for source-controller…".to_owned(),
            )));
        }
        reconcile
            .value()
            .get()
            .map(|r| r.map(|a| a.map(|o| o.message)))
            .or_else(|| {
                suspend
                    .value()
                    .get()
                    .map(|r| r.map(|a| a.map(|()| "Done.".to_owned())))
            })
            .map(|r| match r {
                Ok(Answered::Done(message)) => Ok((true, message)),
                Ok(Answered::Running(operation)) => Err(operation),
                Err(error) => Ok((false, error.0.message)),
            })
    };
    view! {
        <Title text="Sources" />
        <h1>"Sources"</h1>
        {move || notice().map(|notice| match notice {
            Ok((ok, message)) => view! {
                <p class=if ok { "notice" } else { "error" } role="status" data-testid="notice">{message}</p>
            }.into_any(),
            Err(operation) => view! { <super::operations::StillRunning operation /> }.into_any(),
        })}
        <Suspense fallback=|| view! { <p class="empty">"Loading sources…"</p> }>
            {move || sources.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"No sources in your namespaces."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="sources-table">
                        <thead><tr><th>"Name"</th><th>"Namespace"</th><th>"Kind"</th><th>"Ready"</th><th>"Revision"</th><th>"URL"</th><th></th></tr></thead>
                        <tbody>{list.into_iter().map(|s| { let whole = s.clone(); view! {
                            <tr>
                                <td>{s.name.clone()}{s.suspended.then(|| view! { " " <span class="badge suspended">"suspended"</span> })}</td>
                                <td>{s.namespace.clone()}</td>
                                <td>{s.kind.clone()}</td>
                                <td title=s.message>{s.ready.unwrap_or_else(|| "Unknown".into())}</td>
                                <td><code>{s.revision.unwrap_or_default()}</code></td>
                                <td>{s.url}</td>
                                <td><SourceActions source=whole reconcile suspend /></td>
                            </tr>
                        }}).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}

/// Fetch now, and suspend or resume, for one source.
#[component]
fn SourceActions(
    source: FluxSource,
    reconcile: ServerAction<ReconcileSource>,
    suspend: ServerAction<SuspendSource>,
) -> impl IntoView {
    let fields = move || {
        view! {
            <input type="hidden" name="kind" value=source.kind.clone() />
            <input type="hidden" name="namespace" value=source.namespace.clone() />
            <input type="hidden" name="name" value=source.name.clone() />
        }
    };
    let (first, second) = (fields(), fields());
    let (label, pause) = if source.suspended {
        ("Resume", Action::SourceResume)
    } else {
        ("Suspend", Action::SourceSuspend)
    };
    let permissions = source.permissions.clone();
    let (may_fetch, may_pause) = (
        may(&permissions, Action::SourceReconcile),
        may(&permissions, pause),
    );
    let (fetch_why, pause_why) = (permissions.clone(), permissions);
    view! {
        <ActionForm action=reconcile attr:class="inline">
            {first}
            <button type="submit" disabled=!may_fetch>"Fetch now"</button>
            <Why permissions=fetch_why action=Action::SourceReconcile />
        </ActionForm>
        <ActionForm action=suspend attr:class="inline">
            {second}
            <input type="hidden" name="suspend" value=(!source.suspended).to_string() />
            <button type="submit" disabled=!may_pause>{label}</button>
            <Why permissions=pause_why action=pause />
        </ActionForm>
    }
}
