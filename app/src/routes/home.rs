//! The overview: per-tenant counts by status, what needs attention first, sources that are
//! not ready, the latest operations the caller may see, and the adapters' state.

use super::deployments::StatusBadge;
use super::encode;
use super::lockdown::{LockdownBanner, LockdownTable};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use model::overview::{Overview, TenantCounts};

/// Everything the overview shows.
#[server(prefix = "/api", endpoint = "load_overview")]
pub async fn load_overview() -> Result<Overview, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.overview(&ctx).await?)
}

/// The landing page.
#[component]
pub fn Home() -> impl IntoView {
    let overview = Resource::new(|| (), |()| load_overview());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading the overview…"</p> }>
            {move || overview.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(overview) => view! { <OverviewBody overview /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn OverviewBody(overview: Overview) -> impl IntoView {
    let Overview {
        tenants,
        attention,
        sources_not_ready,
        stuck,
        recent,
        recent_scope,
        adapters,
        unavailable,
        lockdown,
    } = overview;
    let tenant_count = tenants.iter().filter(|t| t.tenant.is_some()).count();
    view! {
        {unavailable.map(|message| view! { <p class="error" role="alert">{message}</p> })}
        <LockdownBanner lockdown=lockdown.clone() tenants=tenant_count />
        <section class="panel" data-testid="tenant-counts">
            <h2>"Deployments by tenant"</h2>
            {if tenants.is_empty() {
                view! { <p class="empty">"No deployments in the namespaces you can see."</p> }.into_any()
            } else {
                view! {
                    <div class="tiles">{tenants.into_iter().map(|t| view! { <TenantTile counts=t /> }).collect_view()}</div>
                }.into_any()
            }}
        </section>
        <section class="panel" data-testid="attention">
            <h2>"Needs attention"</h2>
            {if attention.is_empty() {
                view! { <p class="empty">"Nothing is failing or suspended."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Name"</th><th>"Namespace"</th><th>"Kind"</th><th>"Status"</th></tr></thead>
                        <tbody>{attention.into_iter().map(|d| view! {
                            <tr>
                                <td><A href=format!("/deployments/{}", d.id)>{d.name.clone()}</A></td>
                                <td>{d.namespace.clone()}</td>
                                <td>{d.kind.to_string()}</td>
                                <td><StatusBadge status=d.state.status suspended=d.state.suspended progress=d.state.progress /></td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="panel" data-testid="sources-not-ready">
            <h2>"Sources not ready"</h2>
            {if sources_not_ready.is_empty() {
                view! { <p class="empty">"Every source has a ready artifact."</p> }.into_any()
            } else {
                view! {
                    <ul>{sources_not_ready.into_iter().map(|s| view! {
                        <li><A href=format!("/sources/{}/{}/{}", encode(&s.namespace), s.kind, encode(&s.name))>{format!("{} {}/{}", s.kind, s.namespace, s.name)}</A>
                            " — "{if s.suspended { "suspended".to_owned() } else { s.message.clone() }}</li>
                    }).collect_view()}</ul>
                }.into_any()
            }}
        </section>
        {(!stuck.is_empty()).then(|| view! { <super::flux_check::Stuck stuck /> })}
        <section class="panel" data-testid="recent">
            <h2>"Recent operations"</h2>
            <p class="muted">{format!("The latest of {recent_scope}.")}" "<A href="/audit">"Open the audit log"</A></p>
            {if recent.is_empty() {
                view! { <p class="empty">"No operations yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Outcome"</th></tr></thead>
                        <tbody>{recent.into_iter().map(|r| {
                            // One row per operation: its outcome, or running while only its
                            // intent is on record.
                            let shown = match r.outcome.as_str() {
                                "" | "pending" => "running".to_owned(),
                                _ => r.outcome,
                            };
                            let class = format!("outcome-{shown}");
                            // Deployment and source changes are tracked operations with a page.
                            let tracked = (r.action.starts_with("deployment.") || r.action.starts_with("source."))
                                && r.phase != "denied";
                            let action = if tracked {
                                view! { <A href=format!("/operations/{}", r.operation)><code>{r.action}</code></A> }.into_any()
                            } else {
                                view! { <code>{r.action}</code> }.into_any()
                            };
                            view! {
                            <tr class=class data-operation=r.operation.clone()>
                                <td>{r.time}</td><td>{r.actor}</td><td>{action}</td><td>{r.target}</td>
                                <td title=r.error.unwrap_or_default()>{shown}</td>
                            </tr>
                        }}).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="panel" data-testid="adapters">
            <h2>"Adapters"</h2>
            <table class="table">
                <thead><tr><th>"Adapter"</th><th>"Cache"</th><th>"Deployments held"</th><th>"Health"</th></tr></thead>
                <tbody>{adapters.into_iter().map(|a| {
                    let class = if a.last_error.is_some() { "error" } else { "" };
                    view! {
                    <tr>
                        <td>{a.name}</td>
                        <td>{if a.synced { "synced" } else { "syncing" }}</td>
                        <td>{a.objects}</td>
                        <td class=class>{a.last_error.unwrap_or_else(|| "healthy".into())}</td>
                    </tr>
                }}).collect_view()}</tbody>
            </table>
        </section>
        {lockdown.map(|lockdown| view! { <LockdownTable lockdown /> })}
    }
    .into_any()
}

/// One tenant's counts, each a link to the list filtered by that status.
#[component]
fn TenantTile(counts: TenantCounts) -> impl IntoView {
    let title = counts
        .tenant
        .clone()
        .unwrap_or_else(|| "No tenant".to_owned());
    let link = |status: &str| format!("/deployments?status={status}");
    let cells = [
        ("failed", counts.failed),
        ("deploying", counts.deploying),
        ("pending", counts.pending),
        ("deployed", counts.deployed),
    ];
    let key = title.clone();
    view! {
        <div class="tile" data-tenant=key>
            <h3>{title}</h3>
            <ul>
                {cells.into_iter().filter(|(_, n)| *n > 0).map(|(status, n)| view! {
                    <li><a href=link(status) class=format!("badge status-{status}")>{format!("{n} {status}")}</a></li>
                }).collect_view()}
                {(counts.suspended > 0).then(|| view! { <li><span class="badge suspended">{format!("{} suspended", counts.suspended)}</span></li> })}
            </ul>
        </div>
    }
}
