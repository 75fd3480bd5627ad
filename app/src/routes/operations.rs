//! Tracked operations: the list (yours, or all you may see), one operation with its steps
//! as they happen, and the header's indicator of your running ones. Long changes (anything
//! helm runs, reconciles that wait) run on as operations, so a page never holds a request
//! for minutes and the user can come back to one from anywhere.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use model::action::Action;
use model::operation::{Operation, OperationState};

/// Recent operations, newest first: the caller's own, or all in namespaces it may read.
#[server(prefix = "/api", endpoint = "list_operations")]
pub async fn list_operations(mine: bool) -> Result<Vec<Operation>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_operations(&ctx, mine).await?)
}

/// One operation.
#[server(prefix = "/api", endpoint = "load_operation")]
pub async fn load_operation(id: String) -> Result<Operation, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let id = control::service::parse_operation_id(&id)?;
    Ok(service.get_operation(&ctx, id).await?)
}

/// Cancels a running operation (its requester, or an admin of its tenant).
#[server(prefix = "/api", endpoint = "cancel_operation")]
pub async fn cancel_operation(id: String) -> Result<Operation, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let id = control::service::parse_operation_id(&id)?;
    Ok(service.cancel_operation(&ctx, id).await?)
}

/// The page of one operation.
pub fn operation_href(id: &str) -> String {
    format!("/operations/{id}")
}

/// The answer to a long change that has not ended yet: where to follow it.
#[component]
pub fn StillRunning(
    /// The operation's id.
    operation: String,
) -> impl IntoView {
    view! {
        <p class="notice" role="status" data-testid="still-running">
            "Still running as an operation; it goes on if you leave this page. "
            <A href=operation_href(&operation)>"Follow its steps"</A>
        </p>
    }
}

/// An operation's state as a coloured badge.
#[component]
fn StateBadge(state: OperationState) -> impl IntoView {
    view! { <span class=format!("badge op-{}", state.as_str()) data-testid="operation-state">{state.as_str()}</span> }
}

/// What the operation acts on, as `namespace/name`.
fn target(operation: &Operation) -> String {
    match &operation.name {
        // A bulk operation acts in many namespaces; its name says how many deployments.
        Some(name) if operation.namespace.is_empty() => name.clone(),
        Some(name) => format!("{}/{name}", operation.namespace),
        None => operation.namespace.clone(),
    }
}

/// How far it got, 0–100.
fn percent(operation: &Operation) -> u8 {
    if operation.state == OperationState::Succeeded {
        return 100;
    }
    operation.steps.last().map_or(0, |s| s.percent)
}

/// Seconds from start to end (or to the last step while it runs), from RFC 3339 times.
fn took(operation: &Operation) -> String {
    let seconds = |t: &str| -> Option<i64> {
        // "YYYY-MM-DDTHH:MM:SS.mmmZ": days are enough to span midnight.
        let (date, time) = t.split_once('T')?;
        let day: i64 = date.rsplit('-').next()?.parse().ok()?;
        let mut parts = time.trim_end_matches('Z').split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let m: i64 = parts.next()?.parse().ok()?;
        let s: f64 = parts.next()?.parse().ok()?;
        Some(((day * 24 + h) * 60 + m) * 60 + s as i64)
    };
    let end = operation
        .finished_at
        .as_deref()
        .or(operation.steps.last().map(|s| s.at.as_str()));
    match (seconds(&operation.created_at), end.and_then(seconds)) {
        (Some(start), Some(end)) if end >= start => format!("{} s", end - start),
        _ => String::new(),
    }
}

/// What to do about an operation that did not succeed.
fn advice(operation: &Operation) -> Option<&'static str> {
    Some(match operation.state {
        OperationState::Failed => {
            "Fix what the error names (values, chart, or the workload that never became ready), then run the change again from the deployment's page."
        }
        OperationState::Cancelled => {
            "It was stopped on request; helm undid what it had started. Run the change again when you are ready."
        }
        OperationState::Interrupted => {
            "The Pilothouse server running it stopped. Check the deployment's current state (above) and run the change again if it is not what you wanted."
        }
        _ => return None,
    })
}

/// Recent operations.
#[component]
pub fn Operations() -> impl IntoView {
    let query = use_query_map();
    let mine = move || query.with(|q| q.get("mine").is_some_and(|m| m == "true"));
    let live = crate::live::use_live_operations(|_| true);
    let operations = Resource::new(
        move || (mine(), live.changes.get()),
        |(mine, _)| list_operations(mine),
    );
    view! {
        <Title text="Operations" />
        <h1>"Operations"</h1>
        <crate::live::LiveMarker live />
        <p class="muted">"Long changes (Helm installs, upgrades, rollbacks and deletes, reconciles that wait) run as operations: they go on when you leave the page, and show here with their steps."</p>
        <nav class="tabs" aria-label="Whose operations">
            <a href="/operations?mine=true" aria-current=move || mine().then_some("page")>"Mine"</a>
            <a href="/operations" aria-current=move || (!mine()).then_some("page")>"All I can see"</a>
        </nav>
        <Transition fallback=|| view! { <p class="empty">"Loading operations…"</p> }>
            {move || operations.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty" data-testid="no-operations">"No operations yet."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="operations">
                        <thead><tr><th>"State"</th><th>"Operation"</th><th>"Target"</th><th>"Latest step"</th><th>"By"</th><th>"Started"</th><th>"Took"</th></tr></thead>
                        <tbody>{list.into_iter().map(|o| {
                            let href = operation_href(&o.id);
                            let latest = o.error.clone().or_else(|| o.steps.last().map(|s| s.step.clone())).unwrap_or_default();
                            let action = o.action.clone();
                            let what = format!("{}{}", o.kind.clone().map(|k| format!("{k} ")).unwrap_or_default(), target(&o));
                            view! {
                                <tr data-operation=o.id.clone()>
                                    <td><StateBadge state=o.state /></td>
                                    <td><A href=href>{action}</A></td>
                                    <td>{what}</td>
                                    <td class="latest">{latest}</td>
                                    <td>{o.requested_by.clone()}</td>
                                    <td>{o.created_at.replace('T', " ")}</td>
                                    <td>{took(&o)}</td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}

/// One operation, following its steps live.
#[component]
pub fn OperationPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let live = crate::live::use_live_operations(move |o| {
        params
            .with_untracked(|p| p.get("id"))
            .is_some_and(|id| id == o.id)
    });
    let cancel = ServerAction::<CancelOperation>::new();
    let operation = Resource::new(
        move || (id(), live.changes.get(), cancel.version().get()),
        |(id, _, _)| load_operation(id),
    );
    view! {
        <Title text="Operation" />
        <crate::live::LiveMarker live />
        <Transition fallback=|| view! { <p class="empty">"Loading the operation…"</p> }>
            {move || operation.get().map(|result| match result {
                Err(error) => view! { <h1>"Operation"</h1><p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(o) => view! { <OperationView operation=o cancel /> }.into_any(),
            })}
        </Transition>
        {move || cancel.value().get().and_then(Result::err).map(|e| view! {
            <p class="error" role="alert" data-testid="cancel-error">{e.0.message}</p>
        })}
    }
}

#[component]
fn OperationView(operation: Operation, cancel: ServerAction<CancelOperation>) -> impl IntoView {
    let o = operation;
    let running = !o.state.is_final();
    let last = o.steps.len().saturating_sub(1);
    let steps = o
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let class = if running && i == last { "current" } else { "done" };
            view! { <li class=class><span class="muted">{s.at.get(11..19).unwrap_or_default().to_owned()}" "</span>{s.step.clone()}</li> }
        })
        .collect_view();
    let link = (o.state == OperationState::Succeeded
        && o.action != Action::DeploymentDelete.as_str())
    .then_some(o.deployment.clone())
    .flatten()
    .or_else(|| {
        // A failed change of an existing deployment: its page shows what is running now.
        (o.state.is_final()
            && o.action != Action::DeploymentCreate.as_str()
            && o.action != Action::DeploymentDelete.as_str())
        .then_some(o.deployment.clone())
        .flatten()
    });
    view! {
        <h1>{o.action.clone()}<span class="muted">{format!(" {} {}", o.kind.clone().unwrap_or_default(), target(&o))}</span></h1>
        <p data-testid="operation-status">
            <StateBadge state=o.state />
            " "<progress max="100" value=percent(&o).to_string() aria-label="Progress"></progress>
            " "{took(&o)}
        </p>
        {running.then(|| {
            let id = o.id.clone();
            view! {
            <ActionForm action=cancel attr:class="inline">
                <input type="hidden" name="id" value=id />
                <button type="submit" class="danger" disabled=move || cancel.pending().get()
                    title="Stops helm as Ctrl-C would; helm undoes what it started">"Cancel"</button>
            </ActionForm>
            }
        })}
        <ol class="op-steps" role="status" aria-label="Steps" data-testid="operation-steps">{steps}</ol>
        {o.error.clone().map(|error| view! {
            <div class="error" role="alert" data-testid="operation-error">
                <p>{error}</p>
                {advice(&o).map(|a| view! { <p class="advice">{a}</p> })}
            </div>
        })}
        {link.map(|id| {
            let name = model::reference::DeploymentRef::name_in(&id);
            view! { <p><A href=format!("/deployments/{id}") attr:data-testid="operation-deployment">{format!("Open {name}")}</A></p> }
        })}
        <dl class="facts">
            <dt>"Requested by"</dt><dd>{o.requested_by.clone()}</dd>
            <dt>"Started"</dt><dd>{o.created_at.replace('T', " ")}</dd>
            <dt>"Ended"</dt><dd>{o.finished_at.clone().map(|t| t.replace('T', " ")).unwrap_or_else(|| "still running".into())}</dd>
            <dt>"Operation id"</dt><dd><code title="Also the audit log's operation id">{o.id.clone()}</code></dd>
        </dl>
    }
}

/// The header's way back to your operations: how many are running, live.
#[component]
pub fn OperationsIndicator() -> impl IntoView {
    let live = crate::live::use_live_operations(|_| true);
    let mine = Resource::new(move || live.changes.get(), |_| list_operations(true));
    view! {
        <Transition fallback=|| ()>
            {move || mine.get().and_then(Result::ok).map(|list| {
                let running = list.iter().filter(|o| !o.state.is_final()).count();
                let label = match running {
                    0 => "Operations".to_owned(),
                    n => format!("Operations ({n} running)"),
                };
                view! {
                    <A href="/operations?mine=true" attr:class="ops-indicator" attr:data-testid="operations-indicator" attr:aria-label=label.clone()>
                        "Operations"
                        {(running > 0).then(|| view! { <span class="badge op-running">{format!("{running} running")}</span> })}
                    </A>
                }
            })}
        </Transition>
    }
}
