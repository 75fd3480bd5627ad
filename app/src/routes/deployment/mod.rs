//! One deployment: its state and conditions, what it applied, its history with rollback, its
//! events and YAML, and the operations an operator runs on it.

mod history;
mod logs;
mod operations;
mod timeline;
mod values;
mod workloads;

use super::deployments::StatusBadge;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use control::service::change::Change;
use history::{ConfirmRollback, History};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use logs::ControllerLogs;
use model::deployment::{Deployment, DeploymentDetail, ReconcileOutcome, RollbackOutcome};
use model::operation::Answered;
use model::reference::DeploymentKind;
use operations::Operations;
use timeline::Timeline;
use values::{ApplyValues, ValuesEditor};

/// Everything the page shows.
#[server(prefix = "/api", endpoint = "load_deployment")]
pub async fn load_deployment(id: String) -> Result<DeploymentDetail, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .deployment_detail(&ctx, &crate::server::deployment(&id)?)
        .await?)
}

/// Asks Flux to reconcile (optionally its source first): the outcome when it comes within
/// the page's wait, else the operation to follow.
#[server(prefix = "/api", endpoint = "reconcile_deployment")]
pub async fn reconcile_deployment(
    id: String,
    with_source: Option<String>,
) -> Result<Answered<ReconcileOutcome>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = Change::ReconcileDeployment {
        deployment: crate::server::deployment(&id)?,
        request: model::deployment::ReconcileRequest {
            with_source: with_source.is_some(),
            ..Default::default()
        },
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_reconcile()).await
}

/// Suspends reconciliation with an optional reason.
#[server(prefix = "/api", endpoint = "suspend_deployment")]
pub async fn suspend_deployment(
    id: String,
    reason: String,
    force: Option<String>,
) -> Result<Answered<Deployment>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = Change::SuspendDeployment {
        deployment: crate::server::deployment(&id)?,
        suspend: true,
        reason: Some(reason.trim().to_owned()).filter(|r| !r.is_empty()),
        force: force.is_some(),
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_deployment()).await
}

/// Resumes reconciliation.
#[server(prefix = "/api", endpoint = "resume_deployment")]
pub async fn resume_deployment(
    id: String,
    force: Option<String>,
) -> Result<Answered<Deployment>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = Change::SuspendDeployment {
        deployment: crate::server::deployment(&id)?,
        suspend: false,
        reason: None,
        force: force.is_some(),
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_deployment()).await
}

/// Sets the replica count.
#[server(prefix = "/api", endpoint = "scale_deployment")]
pub async fn scale_deployment(
    id: String,
    replicas: String,
    force: Option<String>,
) -> Result<Answered<Deployment>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let replicas: u32 = replicas.trim().parse().map_err(|_| {
        control::Error::invalid(
            "replicas",
            format!("{replicas:?} is not a whole number of 0 or more"),
        )
    })?;
    let change = Change::ScaleDeployment {
        deployment: crate::server::deployment(&id)?,
        replicas,
        path: None,
        force: force.is_some(),
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_deployment()).await
}

/// Restores an earlier revision.
#[server(prefix = "/api", endpoint = "rollback_deployment")]
pub async fn rollback_deployment(
    id: String,
    revision: u32,
) -> Result<Answered<RollbackOutcome>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = Change::RollbackDeployment {
        deployment: crate::server::deployment(&id)?,
        revision,
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_rollback()).await
}

/// What a Helm scale or rollback would change, as a unified diff; nothing is applied.
#[server(prefix = "/api", endpoint = "preview_change")]
pub async fn preview_change(
    id: String,
    replicas: String,
    revision: String,
) -> Result<String, AppError> {
    use model::deployment::Preview;
    let (ctx, service) = crate::server::caller().await?;
    let number = |field: &'static str, text: &str| {
        text.trim()
            .parse::<u32>()
            .map_err(|_| control::Error::invalid(field, format!("{text:?} is not a whole number")))
    };
    let change = match (replicas.trim().is_empty(), revision.trim().is_empty()) {
        (false, true) => Preview::Scale {
            replicas: number("replicas", &replicas)?,
            version: None,
        },
        (true, false) => Preview::Rollback(number("revision", &revision)?),
        _ => {
            return Err(control::Error::invalid(
                "replicas",
                "give either a replica count or a revision to preview",
            )
            .into());
        }
    };
    Ok(service
        .preview_deployment(&ctx, &crate::server::deployment(&id)?, &change)
        .await?)
}

/// Deletes the deployment.
#[server(prefix = "/api", endpoint = "delete_deployment")]
pub async fn delete_deployment(id: String, confirm: String) -> Result<Answered<()>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let target = crate::server::deployment(&id)?;
    // The form's button waits for the typed name; a request without it is refused too.
    if confirm.trim() != target.name() {
        return Err(control::Error::invalid(
            "confirm",
            format!("type {} to confirm the delete", target.name()),
        )
        .into());
    }
    let change = Change::DeleteDeployment { deployment: target };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_done()).await
}

/// The deployment page.
#[component]
pub fn DeploymentPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || params.with(|p| p.get("id").unwrap_or_default());
    let reconcile = ServerAction::<ReconcileDeployment>::new();
    let suspend = ServerAction::<SuspendDeployment>::new();
    let resume = ServerAction::<ResumeDeployment>::new();
    let scale = ServerAction::<ScaleDeployment>::new();
    let rollback = ServerAction::<RollbackDeployment>::new();
    let delete = ServerAction::<DeleteDeployment>::new();
    let preview = ServerAction::<PreviewChange>::new();
    let apply = ServerAction::<ApplyValues>::new();
    // The revision whose rollback is being confirmed; outside the live refreshes.
    let chosen = RwSignal::new(None::<u32>);
    let changes = move || {
        (
            reconcile.version().get(),
            suspend.version().get(),
            resume.version().get(),
            scale.version().get(),
            rollback.version().get(),
            apply.version().get(),
        )
    };
    let detail = Resource::new(move || (key(), changes()), |(id, _)| load_deployment(id));
    // After a change in the cluster the read-only parts are fetched again, while the forms
    // stay as they are (with what the user typed); nothing extra is fetched before one.
    let live = crate::live::use_live(move |id| {
        params
            .with_untracked(|p| p.get("id"))
            .is_some_and(|key| key == id)
    });
    let fresh = Resource::new(
        move || (key(), changes(), live.changes.get()),
        |(id, _, seen)| async move {
            match seen {
                0 => None,
                _ => load_deployment(id).await.ok(),
            }
        },
    );
    // Whether the live stream last showed it suspended. Kept by an effect: reading `fresh`
    // in the operations themselves would make the page's Suspense show its fallback (and
    // drop the logs and the editor) on every live change.
    let live_suspended = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        if let Some(Some(detail)) = fresh.get() {
            live_suspended.set(Some(detail.deployment.state.suspended));
        }
    });
    // Moves on every change the page learns of, live or from its own actions.
    let moved = Signal::derive(move || {
        let (a, b, c, d, e, f) = changes();
        live.changes.get() + (a + b + c + d + e + f) as u64
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(Answered::Done(()))) = delete.value().get() {
            navigate("/deployments", Default::default());
        }
    });
    // The latest action's result, in words; a long one still running names its operation.
    let notice = move || -> Option<Result<(bool, String), String>> {
        let error = |e: AppError| (false, e.0.message);
        let long = |answer: Answered<String>| match answer {
            Answered::Done(message) => Ok((true, message)),
            Answered::Running(operation) => Err(operation),
        };
        if reconcile.pending().get() {
            // The steps say it while it runs.
            return None;
        }
        [
            reconcile
                .value()
                .get()
                .map(|r| r.map(|a| a.map(|o| o.message))),
            rollback
                .value()
                .get()
                .map(|r| r.map(|a| a.map(|o| o.explanation))),
            suspend.value().get().map(|r| {
                r.map(|a| {
                    a.map(|_| "Suspended: Flux leaves it alone until it is resumed.".to_owned())
                })
            }),
            resume
                .value()
                .get()
                .map(|r| r.map(|a| a.map(|_| "Resumed.".to_owned()))),
            scale.value().get().map(|r| {
                r.map(|a| a.map(|_| "Scaled; the new replica count is being applied.".to_owned()))
            }),
            delete
                .value()
                .get()
                .map(|r| r.map(|a| a.map(|()| "Deleted.".to_owned()))),
        ]
        .into_iter()
        .flatten()
        .map(|r| r.map_or_else(|e| Ok(error(e)), long))
        .next()
    };
    view! {
        <Title text=move || model::reference::DeploymentRef::name_in(&key()) />
        <crate::live::LiveMarker live />
        <ReconcileSteps pending=reconcile.pending() fresh />
        {move || notice().map(|notice| match notice {
            Ok((ok, message)) => view! {
                <p class=if ok { "notice" } else { "error" } role="status" data-testid="notice">{message}</p>
            }.into_any(),
            Err(operation) => view! { <super::operations::StillRunning operation /> }.into_any(),
        })}
        <Suspense fallback=|| view! { <p class="empty">"Loading the deployment…"</p> }>
            {move || detail.get().map(|result| match result {
                Err(error) => view! { <h1>{model::reference::DeploymentRef::name_in(&key())}</h1><p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(detail) => { let (top, older, rest) = (detail.clone(), detail.clone(), detail.clone()); view! {
                    <Transition fallback=|| ()>
                        {move || view! { <Summary detail=fresh.get().flatten().unwrap_or_else(|| top.clone()) /> }}
                    </Transition>
                    <Operations
                        id=detail.deployment.id.clone()
                        flux=detail.deployment.kind != DeploymentKind::Release
                        scales=detail.deployment.kind != DeploymentKind::Kustomization
                        suspended={
                            let initial = detail.deployment.state.suspended;
                            Signal::derive(move || live_suspended.get().unwrap_or(initial))
                        }
                        permissions=detail.permissions.clone()
                        reconcile suspend resume scale delete preview
                    />
                    {move || preview.value().get().map(|result| match result {
                        Ok(diff) if diff.is_empty() => view! { <p class="notice" data-testid="preview">"The change would leave the manifest as it is."</p> }.into_any(),
                        Ok(text) => view! { <super::diff::Diff text testid="preview" /> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                    })}
                    {(detail.deployment.kind != DeploymentKind::Kustomization).then(|| view! {
                        <ValuesEditor id=detail.deployment.id.clone() permissions=detail.permissions.clone() apply />
                    })}
                    <Transition fallback=|| ()>
                        {move || view! {
                            <History detail=fresh.get().flatten().unwrap_or_else(|| older.clone()) chosen />
                        }}
                    </Transition>
                    <ConfirmRollback id=detail.deployment.id.clone() kind=detail.deployment.kind chosen rollback />
                    <Timeline id=detail.deployment.id.clone() refresh=moved />
                    <workloads::Workloads id=detail.deployment.id.clone() permissions=detail.permissions.clone() />
                    {(detail.deployment.kind != DeploymentKind::Release).then(|| view! {
                        <ControllerLogs id=detail.deployment.id.clone() />
                    })}
                    <Transition fallback=|| ()>
                        {
                            move || {
                                let detail = fresh.get().flatten().unwrap_or_else(|| rest.clone());
                                view! {
                                    <Events detail=detail.clone() />
                                    <Inventory detail=detail.clone() />
                                    <details class="yaml"><summary>"YAML"</summary><pre>{detail.yaml.clone()}</pre></details>
                                }
                            }
                        }
                    </Transition>
                }.into_any() },
            })}
        </Suspense>
    }
}

#[component]
fn Summary(detail: DeploymentDetail) -> impl IntoView {
    let d = detail.deployment;
    view! {
        <h1>{d.name.clone()}<span class="muted">{format!(" {} in {}", d.kind, d.namespace)}</span></h1>
        <p data-testid="status">
            <StatusBadge status=d.state.status suspended=d.state.suspended progress=d.state.progress />
            " "<progress max="100" value=d.state.progress.to_string()></progress>
            " "{d.state.message.clone()}
        </p>
        {d.state.suspend_reason.clone().map(|reason| view! {
            <p class="notice stale" data-testid="suspend-reason">"Suspended: " {reason}</p>
        })}
        {(!detail.links.is_empty()).then(|| view! {
            <p class="deep-links" data-testid="deep-links">
                {detail.links.iter().cloned().map(|link| view! {
                    <a class="button" href=link.url target="_blank" rel="noopener noreferrer">{link.title}" ↗"</a>
                }).collect_view()}
            </p>
        })}
        <dl class="facts">
            <dt>"Revision"</dt><dd><code>{d.revision.clone().unwrap_or_else(|| "none yet".into())}</code></dd>
            {d.source.clone().map(|source| view! { <dt>"Source"</dt><dd>{source}</dd> })}
            {d.chart.clone().map(|chart| view! { <dt>"Chart"</dt><dd>{chart}</dd> })}
        </dl>
        <table class="table"><thead><tr><th>"Condition"</th><th>"Status"</th><th>"Reason"</th><th>"Message"</th></tr></thead>
            <tbody>{d.state.conditions.into_iter().map(|c| view! {
                <tr><td>{c.kind}</td><td>{c.status}</td><td>{c.reason}</td><td>{c.message}</td></tr>
            }).collect_view()}</tbody>
        </table>
    }
}

#[component]
fn Events(detail: DeploymentDetail) -> impl IntoView {
    view! {
        <h2>"Events"</h2>
        {if detail.events.is_empty() {
            view! { <p class="empty">"No events."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="events"><thead><tr><th>"When"</th><th>"Type"</th><th>"Reason"</th><th>"Message"</th><th>"From"</th></tr></thead>
                    <tbody>{detail.events.into_iter().take(50).map(|e| { let class = format!("event-{}", e.kind.to_lowercase()); view! {
                        <tr class=class><td>{e.last_seen.unwrap_or_default()}</td><td>{e.kind}</td><td>{e.reason}</td><td>{e.message}</td><td>{e.source}</td></tr>
                    }}).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
    }
}

/// What the deployment applied, as a tree: kind, then its objects with their health.
#[component]
fn Inventory(detail: DeploymentDetail) -> impl IntoView {
    let mut kinds: std::collections::BTreeMap<String, Vec<model::deployment::InventoryEntry>> =
        Default::default();
    for entry in detail.inventory {
        let kind = if entry.group.is_empty() {
            entry.kind.clone()
        } else {
            format!("{}.{}", entry.kind, entry.group)
        };
        kinds.entry(kind).or_default().push(entry);
    }
    view! {
        <h2>"Applied objects"</h2>
        {if kinds.is_empty() {
            view! { <p class="empty">"Nothing applied yet."</p> }.into_any()
        } else {
            view! {
                <ul class="inventory tree" data-testid="inventory" aria-label="Applied objects by kind">
                    {kinds.into_iter().map(|(kind, objects)| {
                        let unhealthy = objects.iter().filter(|o| o.health.as_ref().is_some_and(|h| h.status != "Healthy")).count();
                        let summary = match unhealthy {
                            0 => format!("{kind} ({})", objects.len()),
                            n => format!("{kind} ({}, {n} not healthy)", objects.len()),
                        };
                        view! {
                            <li><details open><summary>{summary}</summary>
                                <ul>{objects.into_iter().map(|o| view! {
                                    <li data-object=format!("{}/{}", o.kind, o.name)>
                                        <code>{format!("{}/{}", o.namespace, o.name)}</code>
                                        {o.health.map(|h| view! {
                                            " "<span class=format!("badge health-{}", h.status.to_lowercase()) title=h.message.clone()>{h.status.clone()}</span>
                                            " "<span class="muted">{h.message}</span>
                                        })}
                                    </li>
                                }).collect_view()}</ul>
                            </details></li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

/// While a reconcile runs: what has happened so far, as the live stream tells it.
#[component]
fn ReconcileSteps(
    /// Whether the page's reconcile is running.
    pending: Memo<bool>,
    /// The deployment as the live stream last showed it.
    fresh: Resource<Option<DeploymentDetail>>,
) -> impl IntoView {
    let picked_up = RwSignal::new(false);
    Effect::new(move |was: Option<bool>| {
        let now = pending.get();
        if now && was != Some(true) {
            picked_up.set(false);
        }
        let progressing = fresh.get().flatten().is_some_and(|d| {
            d.deployment
                .state
                .conditions
                .iter()
                .any(|c| c.kind == "Reconciling" && c.status == "True")
        });
        if now && progressing {
            picked_up.set(true);
        }
        now
    });
    move || {
        pending.get().then(|| {
            let (second, third) = if picked_up.get() {
                ("done", "current")
            } else {
                ("current", "todo")
            };
            view! {
                <ol class="steps" role="status" aria-label="Reconcile progress" data-testid="reconcile-steps">
                    <li class="done">"Asked Flux to reconcile"</li>
                    <li class=second>"The controller picks it up and applies"</li>
                    <li class=third>"Waiting for the outcome…"</li>
                </ol>
            }
        })
    }
}
