//! A deployment's history: its revisions, each with "Roll back to this", which first shows
//! what the rollback would change and asks to confirm.

use super::super::diff::Diff;
use super::super::why::{Why, may};
use super::{RollbackDeployment, preview_change};
use leptos::prelude::*;
use model::action::Action;
use model::deployment::DeploymentDetail;
use model::reference::DeploymentKind;

/// The revisions, newest first; `chosen` is the one whose rollback is being confirmed.
#[component]
pub fn History(
    /// What the page shows.
    detail: DeploymentDetail,
    /// The revision the user picked, kept outside live refreshes.
    chosen: RwSignal<Option<u32>>,
) -> impl IntoView {
    let current = detail.history.first().map(|r| r.revision);
    let allowed = may(&detail.permissions, Action::DeploymentRollback);
    let permissions = detail.permissions.clone();
    view! {
        <h2>"History"</h2>
        {if detail.history.is_empty() {
            view! { <p class="empty">"No revisions yet."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="history"><thead><tr><th>"Revision"</th><th>"Status"</th><th>"Version"</th><th>"Deployed"</th><th></th></tr></thead>
                    <tbody>{detail.history.into_iter().map(|r| {
                        let permissions = permissions.clone();
                        let revision = r.revision;
                        view! {
                        <tr data-revision=revision.to_string()>
                            <td>{revision}</td><td>{r.status.clone()}</td><td><code>{r.version.clone()}</code></td>
                            <td>{r.deployed_at.clone().unwrap_or_default()}</td>
                            <td>{(Some(revision) != current).then(|| view! {
                                <button type="button" disabled=!allowed
                                    aria-label=format!("Roll back to revision {revision}")
                                    on:click=move |_| chosen.set(Some(revision))>"Roll back to this"</button>
                                <Why permissions action=Action::DeploymentRollback />
                            })}</td>
                        </tr>
                    }}).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
    }
}

/// The confirmation for the chosen revision: the diff a Helm rollback would apply (Flux
/// objects say what they restore), then Confirm or Cancel.
#[component]
pub fn ConfirmRollback(
    /// The deployment's id.
    id: String,
    /// Its kind: only Helm releases have a manifest to diff against.
    kind: DeploymentKind,
    /// The revision picked in the history.
    chosen: RwSignal<Option<u32>>,
    /// The page's rollback action.
    rollback: ServerAction<RollbackDeployment>,
) -> impl IntoView {
    let id = StoredValue::new(id);
    let diff = Resource::new(
        move || chosen.get(),
        move |revision| async move {
            match revision {
                Some(revision) if kind == DeploymentKind::Release => {
                    Some(preview_change(id.get_value(), String::new(), revision.to_string()).await)
                }
                _ => None,
            }
        },
    );
    // Cancelled once the rollback is sent; the notice above says how it went.
    Effect::new(move |_| {
        if rollback.pending().get() {
            chosen.set(None);
        }
    });
    move || {
        chosen.get().map(|revision| {
            let explain = match kind {
                DeploymentKind::Release => "helm rollback deploys this revision's chart and values again as a new revision.",
                _ => "Pilothouse restores what this revision ran; the result says what changed and which objects were suspended so Flux does not undo it from Git.",
            };
            view! {
                <section class="confirm-panel" role="dialog" aria-labelledby="rollback-title" data-testid="rollback-confirm">
                    <h3 id="rollback-title">{format!("Roll back to revision {revision}?")}</h3>
                    <p class="muted">{explain}</p>
                    <Transition fallback=|| view! { <p class="empty">"Working out what would change…"</p> }>
                        {move || diff.get().flatten().map(|result| match result {
                            Ok(text) if text.is_empty() => view! { <p class="notice">"The manifest would stay as it is."</p> }.into_any(),
                            Ok(text) => view! { <Diff text testid="rollback-diff" /> }.into_any(),
                            Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                        })}
                    </Transition>
                    <ActionForm action=rollback attr:class="inline">
                        <input type="hidden" name="id" value=id.get_value() />
                        <input type="hidden" name="revision" value=revision.to_string() />
                        <button type="submit" class="primary">{format!("Confirm rollback to {revision}")}</button>
                        <button type="button" on:click=move |_| chosen.set(None)>"Cancel"</button>
                    </ActionForm>
                </section>
            }
        })
    }
}
