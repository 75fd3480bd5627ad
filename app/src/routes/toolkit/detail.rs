//! One toolkit object's page: status and actions, what its spec and status say, the artifact
//! a source produced, the deployments that use it, its conditions and events.

use super::super::why::{Why, may};
use super::{
    Actions, DeleteToolkit, Notice, ReadyBadge, ReconcileToolkit, SuspendToolkit, toolkit_detail,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use model::action::{Action, ToolkitVerb};
use model::flux::FluxObjectDetail;
use model::operation::Answered;

/// `/:family/:namespace/:kind/:name`.
#[component]
pub fn ToolkitPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        params.with(|p| {
            (
                p.get("kind").unwrap_or_default(),
                p.get("namespace").unwrap_or_default(),
                p.get("name").unwrap_or_default(),
            )
        })
    };
    let reconcile = ServerAction::<ReconcileToolkit>::new();
    let suspend = ServerAction::<SuspendToolkit>::new();
    // The object's own changes (a new artifact, a scan, a suspension) fetch it again.
    let live = crate::live::use_live_toolkit(move |changed| {
        let (kind, namespace, name) = key();
        changed.eq_ignore_ascii_case(&format!("{kind}/{namespace}/{name}"))
    });
    let detail = Resource::new(
        move || {
            (
                key(),
                reconcile.version().get(),
                suspend.version().get(),
                live.changes.get(),
            )
        },
        |((kind, namespace, name), _, _, _)| toolkit_detail(kind, namespace, name),
    );
    view! {
        <Title text=move || key().2 />
        <Notice reconcile suspend />
        <crate::live::LiveMarker live />
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || detail.get().map(|result| match result {
                Err(error) => view! { <h1>{key().2}</h1><p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(detail) => view! { <Detail detail reconcile suspend /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Detail(
    detail: FluxObjectDetail,
    reconcile: ServerAction<ReconcileToolkit>,
    suspend: ServerAction<SuspendToolkit>,
) -> impl IntoView {
    let o = detail.object.clone();
    let back = format!("/{}", o.family);
    // Operators may download what Flux fetched; the REST route takes the page's session.
    let download = Action::on_toolkit(o.family, ToolkitVerb::Download)
        .filter(|action| {
            o.permissions
                .get(action.as_str())
                .is_some_and(|e| e.allowed)
        })
        .map(|_| {
            format!(
                "/o2dms/v1/sources/{}/{}/{}/artifact",
                o.namespace,
                o.kind.as_str(),
                o.name
            )
        });
    view! {
        <p class="crumbs"><a href=back>{super::list::heading(o.family).0}</a>" / "{o.namespace.clone()}</p>
        <h1>{o.name.clone()}<span class="muted">{format!(" {} in {}", o.kind, o.namespace)}</span></h1>
        <p data-testid="status">
            <ReadyBadge ready=o.ready.clone() suspended=o.suspended message=o.message.clone() />
            " "{o.message.clone()}
        </p>
        <div class="toolbar"><Actions object=o.clone() reconcile suspend /><Delete object=o.clone() /></div>
        <dl class="facts" data-testid="facts">
            {(!o.url.is_empty()).then(|| view! { <dt>"Points at"</dt><dd class="wrap">{o.url.clone()}</dd> })}
            {o.revision.clone().map(|r| view! { <dt>"Revision"</dt><dd><code>{r}</code></dd> })}
            {o.fields.iter().chain(&detail.details).map(|f| view! {
                <dt>{f.label.clone()}</dt><dd>{f.value.clone()}</dd>
            }).collect_view()}
            {o.last_update.clone().map(|t| view! { <dt>"Last update"</dt><dd>{t}</dd> })}
        </dl>
        {detail.artifact.clone().map(|a| view! {
            <div class="title-row">
                <h2>"Artifact"</h2>
                {download.clone().map(|href| view! {
                    <a class="button" href=href download="" rel="external" data-testid="download-artifact">"Download"</a>
                })}
            </div>
            <dl class="facts" data-testid="artifact">
                <dt>"Revision"</dt><dd><code>{a.revision}</code></dd>
                {a.digest.map(|d| view! { <dt>"Digest"</dt><dd><code>{d}</code></dd> })}
                {a.size.map(|s| view! { <dt>"Size"</dt><dd>{size(s)}</dd> })}
                {a.last_update_time.map(|t| view! { <dt>"Produced"</dt><dd>{t}</dd> })}
            </dl>
        })}
        <UsedBy detail=detail.clone() />
        <h2>"Conditions"</h2>
        {if detail.conditions.is_empty() {
            view! { <p class="empty">"The controller reports no conditions for this object."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="conditions"><thead><tr><th>"Condition"</th><th>"Status"</th><th>"Reason"</th><th>"Message"</th><th>"Since"</th></tr></thead>
                    <tbody>{detail.conditions.iter().cloned().map(|c| view! {
                        <tr><td>{c.kind}</td><td>{c.status}</td><td>{c.reason}</td><td>{c.message}</td><td>{c.last_transition_time.unwrap_or_default()}</td></tr>
                    }).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
        <h2>"Events"</h2>
        {if detail.events.is_empty() {
            view! { <p class="empty">"No events."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="events"><thead><tr><th>"When"</th><th>"Type"</th><th>"Reason"</th><th>"Message"</th><th>"From"</th></tr></thead>
                    <tbody>{detail.events.iter().take(50).cloned().map(|e| { let class = format!("event-{}", e.kind.to_lowercase()); view! {
                        <tr class=class><td>{e.last_seen.unwrap_or_default()}</td><td>{e.kind}</td><td>{e.reason}</td><td>{e.message}</td><td>{e.source}</td></tr>
                    }}).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
    }
}

/// Delete, behind a confirmation; a deleted object returns to its family's list.
#[component]
fn Delete(object: model::flux::FluxObject) -> impl IntoView {
    let delete = ServerAction::<DeleteToolkit>::new();
    let navigate = leptos_router::hooks::use_navigate();
    let back = format!("/{}", object.family);
    Effect::new(move |_| {
        if let Some(Ok(Answered::Done(()))) = delete.value().get() {
            navigate(&back, Default::default());
        }
    });
    let action = Action::on_toolkit(object.family, ToolkitVerb::Delete);
    let allowed = action.is_none_or(|a| may(&object.permissions, a));
    let why = object.permissions.clone();
    let error = move || {
        delete
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.0.message)
    };
    view! {
        <details class="danger" data-testid="delete">
            <summary>"Delete…"</summary>
            <ActionForm action=delete attr:class="inline">
                <input type="hidden" name="kind" value=object.kind.as_str() />
                <input type="hidden" name="namespace" value=object.namespace.clone() />
                <input type="hidden" name="name" value=object.name.clone() />
                <button type="submit" class="danger" disabled=!allowed>
                    {format!("Delete {} {}", object.kind, object.name)}
                </button>
            </ActionForm>
            {action.map(|action| view! { <Why permissions=why action /> })}
            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </details>
    }
}

/// The deployments that use the object, each linking to its page.
#[component]
fn UsedBy(detail: FluxObjectDetail) -> impl IntoView {
    let (title, none) = match detail.object.kind {
        model::reference::ToolkitKind::ImagePolicy => (
            "Deployments running this image",
            "No deployment in your namespaces runs this image.",
        ),
        model::reference::ToolkitKind::Alert => (
            "Deployments this alert reports on",
            "The alert names no deployment in your namespaces.",
        ),
        _ => ("Used by", "No deployment in your namespaces uses it."),
    };
    view! {
        <h2>{title}</h2>
        {if detail.used_by.is_empty() {
            view! { <p class="empty" data-testid="used-by-none">{none}</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="used-by"><thead><tr><th>"Deployment"</th><th>"Kind"</th><th>"Namespace"</th><th>"How"</th></tr></thead>
                    <tbody>{detail.used_by.into_iter().map(|u| { let link = format!("/deployments/{}", u.id); view! {
                        <tr><td><a href=link>{u.name}</a></td><td>{u.kind}</td><td>{u.namespace}</td><td>{u.detail.clone().unwrap_or_else(|| relation(&u.relation).to_owned())}</td></tr>
                    }}).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
    }
}

/// How a deployment uses the object, in words.
fn relation(relation: &str) -> &str {
    match relation {
        "source" => "deploys from it",
        "alert" => "reported on",
        "image" => "runs the image",
        other => other,
    }
}

/// A size in bytes, in the largest unit that keeps it above one.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} B"),
    }
}
