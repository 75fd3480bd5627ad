//! The Flux controllers' multi-tenancy lockdown, as platform-admins see it on the overview and
//! the Admin page: a table of each controller's flags, and a red banner when tenants exist
//! while the controllers would apply a Flux object that names no service account with their
//! own rights.

use leptos::prelude::*;
use model::lockdown::FluxLockdown;

/// The red banner: shown only when tenants exist and the lockdown is off or unknown.
#[component]
pub(super) fn LockdownBanner(lockdown: Option<FluxLockdown>, tenants: usize) -> impl IntoView {
    lockdown.filter(|l| tenants > 0 && !l.locked_down).map(|report| {
        let missing = report.missing();
        let what = if missing.is_empty() {
            format!("{}.", capitalized(&report.summary))
        } else {
            format!(
                "Missing: {}. A Kustomization or HelmRelease that names no service account is applied with the controller's own rights (cluster-admin in a stock install).",
                missing.join("; ")
            )
        };
        view! {
            <div class="alert-danger" role="alert" data-testid="lockdown-banner">
                <strong>"Flux is not locked down for tenants. "</strong>
                {what}
                " Add the flags of Flux's multi-tenancy guide to the controllers in "
                <code>{report.namespace}</code>
                ", or set "<code>"flux.requireControllerLockdown"</code>" to keep Pilothouse unready until they are."
            </div>
        }
    })
}

/// `text` with its first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Each controller's flags: what the guide sets and what the controller runs with.
#[component]
pub(super) fn LockdownTable(lockdown: FluxLockdown) -> impl IntoView {
    let verdict = if lockdown.locked_down {
        view! { <span class="badge status-deployed">"locked down"</span> }.into_any()
    } else {
        view! { <span class="badge status-failed">"not locked down"</span> }.into_any()
    };
    view! {
        <section class="panel" data-testid="lockdown">
            <h2>"Flux controller lockdown " {verdict}</h2>
            <p>{format!("{}.", capitalized(&lockdown.summary))}</p>
            {lockdown.error.map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <table class="table">
                <thead><tr><th>"Controller"</th><th>"Flag"</th><th>"Needs"</th><th>"Runs with"</th></tr></thead>
                <tbody>{lockdown.controllers.into_iter().flat_map(|c| {
                    let installed = c.installed;
                    let name = c.controller;
                    c.flags.into_iter().map(move |f| {
                        let (class, shown) = match (installed, &f.actual) {
                            (false, _) => ("", "not installed".to_owned()),
                            (true, None) => ("error", "absent".to_owned()),
                            (true, Some(value)) if f.ok => ("", value.clone()),
                            (true, Some(value)) => ("error", value.clone()),
                        };
                        let flag = f.flag.clone();
                        view! {
                            <tr data-controller=name.clone() data-flag=flag>
                                <td>{name.clone()}</td><td><code>{f.flag}</code></td><td>{f.expected}</td>
                                <td class=class>{shown}</td>
                            </tr>
                        }
                    }).collect::<Vec<_>>()
                }).collect_view()}</tbody>
            </table>
        </section>
    }
}
