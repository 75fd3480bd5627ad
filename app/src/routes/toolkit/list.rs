//! One family's objects in a table: what each points at, whether it is ready, its revision or
//! latest image, the kind's own columns, and the actions the caller may take.

use super::{
    Actions, Notice, ReadyBadge, ReconcileToolkit, SuspendToolkit, href, list_toolkit,
    missing_families,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::reference::{Family, ToolkitKind};

/// The sources page.
#[component]
pub fn Sources() -> impl IntoView {
    view! { <ToolkitList family=Family::Sources /> }
}

/// The image automation page.
#[component]
pub fn Images() -> impl IntoView {
    view! { <ToolkitList family=Family::Images /> }
}

/// The notifications page.
#[component]
pub fn Notifications() -> impl IntoView {
    view! { <ToolkitList family=Family::Notifications /> }
}

/// What a family's page is called and says about itself.
pub(super) fn heading(family: Family) -> (&'static str, &'static str, &'static str) {
    match family {
        Family::Sources => (
            "Sources",
            "Where Flux fetches charts and manifests from; HelmReleases and Kustomizations name them.",
            "Revision",
        ),
        Family::Images => (
            "Images",
            "Image repositories Flux scans, the policies that pick a tag, and the automations that write it back to Git.",
            "Latest",
        ),
        Family::Notifications => (
            "Notifications",
            "Where Flux sends events (providers), which events (alerts), and the webhooks that trigger reconciles (receivers).",
            "Revision",
        ),
    }
}

/// The table of one family, filtered by `?namespace=` and `?kind=`.
#[component]
fn ToolkitList(family: Family) -> impl IntoView {
    let reconcile = ServerAction::<ReconcileToolkit>::new();
    let suspend = ServerAction::<SuspendToolkit>::new();
    // Any change to one of the family's kinds fetches the list again.
    let live = crate::live::use_live_toolkit(move |key| {
        ToolkitKind::of(family).any(|k| key.starts_with(&format!("{k}/")))
    });
    let objects = Resource::new(
        move || {
            (
                reconcile.version().get(),
                suspend.version().get(),
                live.changes.get(),
            )
        },
        move |_| list_toolkit(family),
    );
    let missing = Resource::new(|| (), |()| missing_families());
    let query = use_query_map();
    let namespace = move || query.with(|q| q.get("namespace")).filter(|n| !n.is_empty());
    let kind = move || query.with(|q| q.get("kind")).filter(|k| !k.is_empty());
    let (title, blurb, revision) = heading(family);
    let create = match family {
        Family::Sources => "New source",
        Family::Images => "New image policy",
        Family::Notifications => "New alert",
    };
    view! {
        <Title text=title />
        <div class="title-row">
            <h1>{title}</h1>
            <a class="button" href=format!("/{family}/new") data-testid="new-object">{create}</a>
        </div>
        <p class="muted">{blurb}</p>
        <Suspense fallback=|| ()>
            {move || missing.get().and_then(Result::ok).filter(|m| m.contains(&family)).map(|_| view! {
                <p class="notice stale" role="status" data-testid="family-missing">
                    {format!("The cluster does not serve the {family} CRDs: their controllers are not installed. Admin → Flux lists what is missing.")}
                </p>
            })}
        </Suspense>
        <form class="filters" method="get" data-testid="toolkit-filters">
            <label>"Namespace" <input name="namespace" value=namespace().unwrap_or_default() /></label>
            <label>"Kind"
                <select name="kind">
                    <option value="">"Any"</option>
                    {ToolkitKind::of(family).map(|k| view! {
                        <option value=k.as_str() selected=kind().as_deref() == Some(k.as_str())>{k.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit">"Filter"</button>
        </form>
        <Notice reconcile suspend />
        <crate::live::LiveMarker live />
        <Suspense fallback=move || view! { <p class="empty">{format!("Loading {}…", family)}</p> }>
            {move || objects.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(list) => {
                    let list: Vec<_> = list.into_iter()
                        .filter(|o| namespace().is_none_or(|n| o.namespace == n))
                        .filter(|o| kind().is_none_or(|k| o.kind.as_str().eq_ignore_ascii_case(&k)))
                        .collect();
                    if list.is_empty() {
                        return view! { <p class="empty" data-testid="toolkit-empty">{format!("No {family} in your namespaces.")}</p> }.into_any();
                    }
                    view! {
                        <div class="scroll"><table class="table" data-testid="toolkit-table">
                            <thead><tr><th>"Name"</th><th>"Namespace"</th><th>"Kind"</th><th>"Status"</th><th>{revision}</th><th>"Details"</th><th></th></tr></thead>
                            <tbody>{list.into_iter().map(|o| { let whole = o.clone(); let link = href(&o); view! {
                                <tr data-kind=o.kind.as_str() data-name=o.name.clone()>
                                    <td><a href=link>{o.name.clone()}</a><div class="points-at">{o.url.clone()}</div></td>
                                    <td>{o.namespace.clone()}</td>
                                    <td>{o.kind.as_str()}</td>
                                    <td><ReadyBadge ready=o.ready.clone() suspended=o.suspended message=o.message.clone() /></td>
                                    <td class="revision"><code title=o.revision.clone().unwrap_or_default()>{o.revision.clone().unwrap_or_default()}</code></td>
                                    <td class="fields">{o.fields.iter().map(|f| view! {
                                        <span class="field"><span class="muted">{format!("{}: ", f.label)}</span>{f.value.clone()}</span>
                                    }).collect_view()}</td>
                                    <td><Actions object=whole reconcile suspend /></td>
                                </tr>
                            }}).collect_view()}</tbody>
                        </table></div>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
