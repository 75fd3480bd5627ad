//! Admin → Flux: the installation as `flux check` sees it (CRDs, controllers, lockdown) for
//! platform-admins, and for everyone the objects stuck in their namespaces.

use super::lockdown::LockdownTable;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use model::flux::{FluxCheck, StuckObject};

/// The check for the caller.
#[server(prefix = "/api", endpoint = "flux_check")]
pub async fn check_flux() -> Result<FluxCheck, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.flux_check(&ctx).await?)
}

/// `/admin/flux`.
#[component]
pub fn FluxCheckPage() -> impl IntoView {
    let check = Resource::new(|| (), |()| check_flux());
    view! {
        <Title text="Flux check" />
        <p class="crumbs"><a href="/admin">"Admin"</a>" / Flux"</p>
        <h1>"Flux"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Checking Flux…"</p> }>
            {move || check.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(check) => view! { <Report check /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Report(check: FluxCheck) -> impl IntoView {
    let verdict = if check.ok {
        view! { <span class="badge status-deployed" data-testid="flux-verdict">"all checks passed"</span> }.into_any()
    } else {
        view! { <span class="badge status-failed" data-testid="flux-verdict">"needs attention"</span> }.into_any()
    };
    let installation = !check.crds.is_empty() || !check.controllers.is_empty();
    view! {
        <p>{format!("Cluster {} ", check.cluster)}{verdict}</p>
        {check.errors.iter().cloned().map(|e| view! { <p class="error" role="alert">{e}</p> }).collect_view()}
        {(!check.missing_families.is_empty()).then(|| view! {
            <p class="notice stale" data-testid="missing-families">
                {format!("Not installed: {}. Their pages stay empty until the controllers and CRDs are installed.",
                    check.missing_families.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))}
            </p>
        })}
        {installation.then(|| view! {
            <section class="panel" data-testid="flux-controllers">
                <h2>"Controllers"</h2>
                <table class="table">
                    <thead><tr><th>"Controller"</th><th>"Ready"</th><th>"Version"</th><th>"Image"</th></tr></thead>
                    <tbody>{check.controllers.iter().cloned().map(|c| {
                        let (class, ready) = match (c.installed, c.ok) {
                            (false, _) => ("muted", "not installed".to_owned()),
                            (true, true) => ("", format!("{}/{}", c.ready_replicas, c.replicas)),
                            (true, false) => ("error", format!("{}/{}", c.ready_replicas, c.replicas)),
                        };
                        view! {
                            <tr data-controller=c.name.clone()><td>{c.name.clone()}</td><td class=class>{ready}</td>
                                <td>{c.version.unwrap_or_default()}</td><td><code>{c.image.unwrap_or_default()}</code></td></tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            </section>
            <section class="panel" data-testid="flux-crds">
                <h2>"Custom resource definitions"</h2>
                <table class="table">
                    <thead><tr><th>"CRD"</th><th>"Kind"</th><th>"Served"</th><th>"Pilothouse uses"</th><th>"State"</th></tr></thead>
                    <tbody>{check.crds.iter().cloned().map(|c| {
                        let (class, state) = match (c.present, c.ok, c.required) {
                            (false, _, true) => ("error", "missing (required)"),
                            (false, _, false) => ("muted", "not installed"),
                            (true, false, _) => ("error", "version not served"),
                            (true, true, _) => ("", "supported"),
                        };
                        view! {
                            <tr data-crd=c.name.clone()><td><code>{c.name.clone()}</code></td><td>{c.kind}</td>
                                <td>{c.served.join(", ")}</td><td>{c.supported}</td><td class=class>{state}</td></tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            </section>
        })}
        {check.lockdown.clone().map(|lockdown| view! { <LockdownTable lockdown /> })}
        <Stuck stuck=check.stuck.clone() />
    }
}

/// Objects not Ready for more than three intervals, or suspended for long.
#[component]
pub(super) fn Stuck(stuck: Vec<StuckObject>) -> impl IntoView {
    view! {
        <section class="panel" data-testid="flux-stuck">
            <h2>"Stuck objects"</h2>
            {if stuck.is_empty() {
                view! { <p class="empty">"Nothing is stuck: every object became Ready within three intervals, and nothing has been suspended for long."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Object"</th><th>"Namespace"</th><th>"Why"</th><th>"For"</th><th>"Message"</th></tr></thead>
                        <tbody>{stuck.into_iter().map(|s| {
                            let why = if s.reason == "suspended" { "suspended" } else { "not ready" };
                            let name = match s.deployment_id {
                                Some(id) => view! { <a href=format!("/deployments/{id}")>{s.name.clone()}</a> }.into_any(),
                                None => view! { <span>{s.name.clone()}</span> }.into_any(),
                            };
                            view! {
                                <tr data-name=s.name.clone()><td>{format!("{} ", s.kind)}{name}</td><td>{s.namespace}</td>
                                    <td>{why}</td><td>{duration(s.for_seconds)}</td><td>{s.message}</td></tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Seconds as the largest two units: `3d 4h`, `2h 5m`, `40s`.
fn duration(seconds: u64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}
