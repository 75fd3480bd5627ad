//! What runs behind the deployment, on its page: each workload's rollout and pods (crashing
//! ones first), a container's log or its previous run's, and restart, delete a pod, run a
//! CronJob now, as the caller may.

use super::super::why::{Permissions, Why, may};
use crate::error::AppError;
use leptos::prelude::*;
use model::action::Action as Allowed;
use model::workload::{PodSummary, Workload};

/// The workloads and their pods.
#[server(prefix = "/api", endpoint = "load_workloads")]
pub async fn load_workloads(id: String) -> Result<Vec<Workload>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .workloads(&ctx, &crate::server::deployment(&id)?)
        .await?)
}

/// A container's log (`previous`: its run before the last crash).
#[server(prefix = "/api", endpoint = "load_pod_log")]
pub async fn load_pod_log(
    id: String,
    namespace: String,
    pod: String,
    container: String,
    previous: bool,
) -> Result<String, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let query = model::workload::PodLogQuery {
        container: (!container.is_empty()).then_some(container),
        previous,
        tail: Some(500),
    };
    Ok(service
        .pod_logs(
            &ctx,
            &crate::server::deployment(&id)?,
            &namespace,
            &pod,
            &query,
        )
        .await?)
}

/// Restarts a workload's rollout.
#[server(prefix = "/api", endpoint = "restart_workload")]
pub async fn restart_workload(id: String, resource: String, name: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .restart_workload(&ctx, &crate::server::deployment(&id)?, &resource, &name)
        .await?)
}

/// Deletes a pod.
#[server(prefix = "/api", endpoint = "delete_pod")]
pub async fn delete_pod(id: String, namespace: String, pod: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .delete_pod(&ctx, &crate::server::deployment(&id)?, &namespace, &pod)
        .await?)
}

/// Runs a CronJob now; answers the Job's name.
#[server(prefix = "/api", endpoint = "run_cronjob")]
pub async fn run_cronjob(id: String, name: String) -> Result<String, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .run_cronjob(&ctx, &crate::server::deployment(&id)?, &name)
        .await?)
}

/// How often the section reads the pods again.
#[cfg(feature = "hydrate")]
const REFRESH_SECONDS: u64 = 3;

/// The log shown: which pod and container, and whether it is the previous run.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    namespace: String,
    pod: String,
    container: String,
    previous: bool,
}

/// The workloads section.
#[component]
pub fn Workloads(
    /// The deployment's id.
    id: String,
    /// What the caller may do on the page.
    permissions: Permissions,
) -> impl IntoView {
    let id = StoredValue::new(id);
    let permissions = StoredValue::new(permissions);
    let restart = ServerAction::<RestartWorkload>::new();
    let delete = ServerAction::<DeletePod>::new();
    let run = ServerAction::<RunCronjob>::new();
    let refresh = RwSignal::new(0_u32);
    // Pods come and go without a change to the deployment: the section reads them again
    // every few seconds while it is on screen, as Argo CD's resource tree does.
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(
        move || refresh.update(|n| *n += 1),
        std::time::Duration::from_secs(REFRESH_SECONDS),
    ) {
        on_cleanup(move || handle.clear());
    }
    let workloads = Resource::new(
        move || {
            (
                refresh.get(),
                restart.version().get(),
                delete.version().get(),
                run.version().get(),
            )
        },
        move |_| load_workloads(id.get_value()),
    );
    let shown = RwSignal::new(None::<Shown>);
    let log = Action::new_local(move |shown: &Shown| {
        let shown = shown.clone();
        load_pod_log(
            id.get_value(),
            shown.namespace,
            shown.pod,
            shown.container,
            shown.previous,
        )
    });
    let error = move || {
        restart
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| delete.value().get().and_then(Result::err))
            .or_else(|| run.value().get().and_then(Result::err))
            .map(|e| e.0.message)
    };
    let ran = move || run.value().get().and_then(Result::ok);
    view! {
        <section class="workloads" aria-labelledby="workloads-heading" data-testid="workloads">
            <div class="title-row">
                <h2 id="workloads-heading">"Workloads"</h2>
                <button type="button" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
            </div>
            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            {move || ran().map(|job| view! { <p class="notice" role="status" data-testid="job-started">{format!("Started Job {job}.")}</p> })}
            <Transition fallback=|| view! { <p class="empty">"Loading the workloads…"</p> }>
                {move || workloads.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"It applied no Deployment, StatefulSet, DaemonSet, Job or CronJob."</p> }.into_any(),
                    Ok(list) => list.into_iter().map(|w| view! {
                        <WorkloadCard workload=w id permissions=permissions.get_value() restart delete run shown log />
                    }).collect_view().into_any(),
                })}
            </Transition>
            {move || shown.get().map(|s| view! {
                <div class="pod-log" data-testid="pod-log">
                    <h3>{format!("{}{} · {}", if s.previous { "Previous log of " } else { "Log of " }, s.pod, if s.container.is_empty() { "first container".to_owned() } else { s.container.clone() })}</h3>
                    {move || match log.value().get() {
                        None => view! { <p class="empty">"Loading…"</p> }.into_any(),
                        Some(Err(error)) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                        Some(Ok(text)) if text.is_empty() => view! { <p class="empty">"The container has logged nothing."</p> }.into_any(),
                        Some(Ok(text)) => view! { <pre class="logs" tabindex="0" aria-label="Log lines">{text}</pre> }.into_any(),
                    }}
                </div>
            })}
        </section>
    }
}

/// One workload: its rollout, its actions and its pods.
#[component]
fn WorkloadCard(
    workload: Workload,
    id: StoredValue<String>,
    permissions: Permissions,
    restart: ServerAction<RestartWorkload>,
    delete: ServerAction<DeletePod>,
    run: ServerAction<RunCronjob>,
    shown: RwSignal<Option<Shown>>,
    log: Action<Shown, Result<String, AppError>>,
) -> impl IntoView {
    let resource = model::workload::WORKLOAD_KINDS
        .iter()
        .find(|(kind, _)| *kind == workload.kind)
        .map(|(_, plural)| *plural)
        .unwrap_or_default();
    let restartable = matches!(
        workload.kind.as_str(),
        "Deployment" | "StatefulSet" | "DaemonSet"
    );
    let counts = if workload.kind == "CronJob" {
        format!(
            "schedule {} · last run {}",
            workload.schedule.clone().unwrap_or_default(),
            workload
                .last_schedule
                .clone()
                .unwrap_or_else(|| "never".into())
        )
    } else {
        format!(
            "{} desired · {} updated · {} ready · {} available",
            workload.desired, workload.updated, workload.ready, workload.available
        )
    };
    let (may_restart, may_run, may_delete, may_log) = (
        may(&permissions, Allowed::WorkloadRestart),
        may(&permissions, Allowed::CronJobRun),
        may(&permissions, Allowed::PodDelete),
        may(&permissions, Allowed::DeploymentLogs),
    );
    let badge = if workload.healthy {
        "badge status-deployed"
    } else {
        "badge status-failed"
    };
    let name = workload.name.clone();
    let namespace = workload.namespace.clone();
    view! {
        <div class="panel workload" data-kind=workload.kind.clone() data-name=workload.name.clone()>
            <div class="title-row">
                <h3>{format!("{} {}", workload.kind, workload.name)}<span class="muted">{format!(" in {}", workload.namespace)}</span></h3>
                <div class="toolbar">
                    {restartable.then(|| { let (name, permissions) = (name.clone(), permissions.clone()); view! {
                        <ActionForm action=restart attr:class="inline">
                            <input type="hidden" name="id" value=id.get_value() />
                            <input type="hidden" name="resource" value=resource />
                            <input type="hidden" name="name" value=name />
                            <button type="submit" disabled=!may_restart>"Restart"</button>
                            <Why permissions action=Allowed::WorkloadRestart />
                        </ActionForm>
                    }})}
                    {(workload.kind == "CronJob").then(|| { let (name, permissions) = (name.clone(), permissions.clone()); view! {
                        <ActionForm action=run attr:class="inline">
                            <input type="hidden" name="id" value=id.get_value() />
                            <input type="hidden" name="name" value=name />
                            <button type="submit" disabled=!may_run>"Run now"</button>
                            <Why permissions action=Allowed::CronJobRun />
                        </ActionForm>
                    }})}
                </div>
            </div>
            <p><span class=badge>{if workload.healthy { "healthy" } else { "not ready" }}</span>" "{counts}" "<span class="muted">{workload.message.clone()}</span></p>
            {if workload.pods.is_empty() {
                view! { <p class="empty">"No pods."</p> }.into_any()
            } else {
                view! {
                    <div class="scroll"><table class="table" data-testid="pods">
                        <thead><tr><th>"Pod"</th><th>"Status"</th><th>"Ready"</th><th>"Restarts"</th><th>"Last termination"</th><th>"Node"</th><th>"Image"</th><th></th></tr></thead>
                        <tbody>{workload.pods.into_iter().map(|pod| view! {
                            <PodRow pod namespace=namespace.clone() id may_delete may_log delete shown log permissions=permissions.clone() />
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            }}
        </div>
    }
}

/// One pod: its state, and its logs and deletion.
#[component]
fn PodRow(
    pod: PodSummary,
    namespace: String,
    id: StoredValue<String>,
    may_delete: bool,
    may_log: bool,
    delete: ServerAction<DeletePod>,
    shown: RwSignal<Option<Shown>>,
    log: Action<Shown, Result<String, AppError>>,
    permissions: Permissions,
) -> impl IntoView {
    let crashing = pod.phase.contains("BackOff") || pod.phase == "Failed";
    let class = if crashing {
        "badge status-failed"
    } else if pod.phase == "Running" {
        "badge status-deployed"
    } else {
        "badge status-deploying"
    };
    let container = pod
        .containers
        .first()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let has_previous = pod.containers.iter().any(|c| c.has_previous);
    let image = pod
        .containers
        .iter()
        .map(|c| c.image.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let open = {
        let (namespace, pod, container) = (namespace.clone(), pod.name.clone(), container.clone());
        move |previous: bool| {
            let chosen = Shown {
                namespace: namespace.clone(),
                pod: pod.clone(),
                container: container.clone(),
                previous,
            };
            shown.set(Some(chosen.clone()));
            log.dispatch(chosen);
        }
    };
    let open_previous = open.clone();
    let pod_name = pod.name.clone();
    let events = pod
        .events
        .iter()
        .take(3)
        .map(|e| format!("{}: {}", e.reason, e.message))
        .collect::<Vec<_>>()
        .join("\n");
    view! {
        <tr data-pod=pod.name.clone()>
            <td title=events>{pod.name.clone()}</td>
            <td><span class=class>{pod.phase.clone()}</span></td>
            <td>{pod.ready.clone()}</td>
            <td>{pod.restarts}</td>
            <td>{pod.last_termination.clone().unwrap_or_default()}</td>
            <td>{pod.node.clone().unwrap_or_default()}</td>
            <td class="wrap"><code>{image}</code></td>
            <td class="toolbar">
                <button type="button" disabled=!may_log on:click=move |_| open(false)>"Logs"</button>
                {has_previous.then(|| view! { <button type="button" disabled=!may_log on:click=move |_| open_previous(true)>"Previous logs"</button> })}
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="id" value=id.get_value() />
                    <input type="hidden" name="namespace" value=namespace.clone() />
                    <input type="hidden" name="pod" value=pod_name />
                    <button type="submit" class="danger" disabled=!may_delete>"Delete"</button>
                    <Why permissions action=Allowed::PodDelete />
                </ActionForm>
            </td>
        </tr>
    }
}
