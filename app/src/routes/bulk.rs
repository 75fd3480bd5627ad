//! Bulk actions on the deployments list: the rows a user selected, a confirmation naming
//! how many and in which namespaces, and each row's result.

use crate::error::AppError;
use leptos::prelude::*;
use model::bulk::{BulkAction, BulkOutcome, BulkResult};
use model::operation::Answered;
use model::reference::DeploymentRef;
use std::collections::{BTreeMap, BTreeSet};

/// Runs one action on every named deployment as one tracked operation; each row is its own
/// audited change. The results when they are in within the page's wait, else the operation.
#[server(prefix = "/api", endpoint = "bulk_deployments", input = leptos::server_fn::codec::Json)]
pub async fn bulk_deployments(
    ids: Vec<String>,
    action: BulkAction,
) -> Result<Answered<Vec<BulkResult>>, AppError> {
    use control::service::tracked::Wait;
    let (ctx, service) = crate::server::caller().await?;
    let wait = Wait::UpTo(crate::server::PAGE_WAIT);
    Ok(service.bulk_deployments(&ctx, &ids, &action, wait).await?)
}

/// The rows selected on the list (kept across pages and live refreshes), by id.
pub type Selection = RwSignal<BTreeSet<String>>;

/// A deployment id's namespace and name; an id that does not parse is shown as it is.
fn parts(id: &str) -> (String, String) {
    match id.parse::<DeploymentRef>() {
        Ok(target) => (target.namespace().to_owned(), target.name().to_owned()),
        Err(_) => (String::new(), id.to_owned()),
    }
}

/// The checkbox that selects one row.
#[component]
pub fn SelectRow(
    /// The row's deployment id.
    id: String,
    /// The list's selection.
    selected: Selection,
) -> impl IntoView {
    let (namespace, name) = parts(&id);
    let key = id.clone();
    view! {
        <input
            type="checkbox"
            class="select"
            aria-label=format!("Select {name} in {namespace}")
            prop:checked=move || selected.with(|s| s.contains(&key))
            on:change=move |event| {
                let on = event_target_checked(&event);
                selected.update(|s| {
                    if on { s.insert(id.clone()); } else { s.remove(&id); }
                });
            }
        />
    }
}

/// The header checkbox: selects or clears every row on the page.
#[component]
pub fn SelectPage(
    /// The page's deployment ids.
    ids: Vec<String>,
    /// The list's selection.
    selected: Selection,
) -> impl IntoView {
    let ids = StoredValue::new(ids);
    let all = move || ids.with_value(|ids| selected.with(|s| ids.iter().all(|id| s.contains(id))));
    view! {
        <input
            type="checkbox"
            class="select"
            aria-label="Select every row on this page"
            prop:checked=all
            on:change=move |event| {
                let on = event_target_checked(&event);
                ids.with_value(|ids| selected.update(|s| {
                    for id in ids {
                        if on { s.insert(id.clone()); } else { s.remove(id); }
                    }
                }));
            }
        />
    }
}

/// The bar above the list while rows are selected: the actions, their confirmation, and
/// the results of the last one.
#[component]
pub fn BulkBar(
    /// The list's selection.
    selected: Selection,
) -> impl IntoView {
    let run = ServerAction::<BulkDeployments>::new();
    let (reason, set_reason) = signal(String::new());
    let asking = RwSignal::new(None::<BulkAction>);
    let count = move || selected.with(BTreeSet::len);
    let namespaces = move || {
        selected.with(|s| {
            s.iter()
                .map(|id| parts(id).0)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let ask = move |action: BulkAction| asking.set(Some(action));
    let confirm = move |_| {
        if let Some(action) = asking.get_untracked() {
            let ids = selected.get_untracked().into_iter().collect();
            run.dispatch(BulkDeployments { ids, action });
            asking.set(None);
        }
    };
    let question = move || {
        asking.get().map(|action| {
            let n = count();
            let plural = if n == 1 { "deployment" } else { "deployments" };
            let verb = action.verb();
            let mut text = format!("{}{} {n} {plural} in {}?", verb[..1].to_uppercase(), &verb[1..], namespaces());
            if let BulkAction::Suspend { reason: Some(reason) } = &action {
                text.push_str(&format!(" Reason: {reason}."));
            }
            view! {
                <div class="confirm" role="alertdialog" aria-label="Confirm the bulk action" data-testid="bulk-confirm">
                    <p>{text}</p>
                    <button type="button" class="primary" on:click=confirm>"Confirm"</button>
                    <button type="button" on:click=move |_| asking.set(None)>"Cancel"</button>
                </div>
            }
        })
    };
    let shown = move || count() > 0 || run.value().with(Option::is_some);
    view! {
        <Show when=shown>
            <section class="bulk" aria-label="Bulk actions" data-testid="bulk-bar">
                <span data-testid="bulk-count">{move || format!("{} selected", count())}</span>
                <button type="button" disabled=move || count() == 0 || run.pending().get()
                    on:click=move |_| ask(BulkAction::Reconcile)>"Reconcile"</button>
                <input placeholder="Suspend reason (optional)" aria-label="Reason for suspending the selected"
                    prop:value=reason on:input=move |event| set_reason.set(event_target_value(&event)) />
                <button type="button" disabled=move || count() == 0 || run.pending().get()
                    on:click=move |_| {
                        let reason = Some(reason.get_untracked().trim().to_owned()).filter(|r| !r.is_empty());
                        ask(BulkAction::Suspend { reason });
                    }>"Suspend"</button>
                <button type="button" disabled=move || count() == 0 || run.pending().get()
                    on:click=move |_| ask(BulkAction::Resume)>"Resume"</button>
                <button type="button" class="link" disabled=move || count() == 0
                    on:click=move |_| selected.set(BTreeSet::new())>"Clear selection"</button>
                {move || run.pending().get().then(|| view! { <span role="status">"Working…"</span> })}
            </section>
            {question}
            {move || run.value().get().map(|result| view! { <BulkResults result /> })}
        </Show>
    }
}

#[component]
fn BulkResults(result: Result<Answered<Vec<BulkResult>>, AppError>) -> impl IntoView {
    let rows = match result {
        Err(error) => {
            return view! { <p class="error" role="alert">{error.0.message}</p> }.into_any();
        }
        Ok(Answered::Running(operation)) => {
            return view! { <super::operations::StillRunning operation /> }.into_any();
        }
        Ok(Answered::Done(rows)) => rows,
    };
    let tally: BTreeMap<&str, usize> = rows.iter().fold(BTreeMap::new(), |mut t, r| {
        *t.entry(r.outcome.as_str()).or_default() += 1;
        t
    });
    let summary = tally
        .iter()
        .map(|(outcome, n)| format!("{n} {outcome}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <section class="bulk-results" aria-label="Bulk results">
            <p role="status" data-testid="bulk-summary">{summary}</p>
            <table class="table" data-testid="bulk-results">
                <thead><tr><th>"Name"</th><th>"Namespace"</th><th>"Result"</th><th>"Details"</th></tr></thead>
                <tbody>{rows.into_iter().map(|r| {
                    let (namespace, name) = parts(&r.id);
                    let class = match r.outcome {
                        BulkOutcome::Done => "badge status-deployed",
                        BulkOutcome::Refused => "badge status-pending",
                        BulkOutcome::Failed => "badge status-failed",
                    };
                    view! {
                        <tr data-outcome=r.outcome.as_str()>
                            <td>{name}</td><td>{namespace}</td>
                            <td><span class=class>{r.outcome.as_str()}</span></td>
                            <td>{r.message}</td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
        </section>
    }
    .into_any()
}
