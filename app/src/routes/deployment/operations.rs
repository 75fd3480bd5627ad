//! The operations an operator runs from a deployment page: reconcile, suspend with a reason,
//! resume, scale, preview (Helm) and delete confirmed by typing the name.

use super::super::why::{Permissions, Why, may};
use super::{
    DeleteDeployment, PreviewChange, ReconcileDeployment, ResumeDeployment, ScaleDeployment,
    SuspendDeployment,
};
use leptos::prelude::*;
use model::action::Action;

/// The operations an operator runs on the deployment: Flux objects reconcile and suspend;
/// Helm releases preview a change before it is made.
#[component]
pub fn Operations(
    id: String,
    flux: bool,
    scales: bool,
    suspended: Signal<bool>,
    permissions: Permissions,
    reconcile: ServerAction<ReconcileDeployment>,
    suspend: ServerAction<SuspendDeployment>,
    resume: ServerAction<ResumeDeployment>,
    scale: ServerAction<ScaleDeployment>,
    delete: ServerAction<DeleteDeployment>,
    preview: ServerAction<PreviewChange>,
) -> impl IntoView {
    let name = model::reference::DeploymentRef::name_in(&id);
    let id = StoredValue::new(id);
    let hidden = move || view! { <Hidden id=id.get_value() /> };
    let permissions = StoredValue::new(permissions);
    let allowed = move |action: Action| permissions.with_value(|p| may(p, action));
    let why = move |action: Action| view! { <Why permissions=permissions.get_value() action /> };
    let flux_forms = flux.then(|| {
        let first = hidden();
        // Follows the live state: a suspend made elsewhere turns this into "Resume".
        let pause = move || if suspended.get() {
            view! { <ActionForm action=resume attr:class="inline">{hidden()}<ForceChoice /><button type="submit" disabled=!allowed(Action::DeploymentResume)>"Resume"</button>{why(Action::DeploymentResume)}</ActionForm> }.into_any()
        } else {
            view! {
                <ActionForm action=suspend attr:class="inline">
                    {hidden()}
                    <input name="reason" placeholder="Reason (optional)" aria-label="Suspend reason" />
                    <ForceChoice />
                    <button type="submit" disabled=!allowed(Action::DeploymentSuspend)>"Suspend"</button>
                    {why(Action::DeploymentSuspend)}
                </ActionForm>
            }
            .into_any()
        };
        let reconcile_allowed = allowed(Action::DeploymentReconcile);
        view! {
            <ActionForm action=reconcile attr:class="inline">
                {first}
                <label><input type="checkbox" name="with_source" value="on" />" with its source"</label>
                <button type="submit" disabled=move || !reconcile_allowed || reconcile.pending().get()>"Reconcile"</button>
                {why(Action::DeploymentReconcile)}
            </ActionForm>
            {pause}
        }
    });
    let scaling = scales.then(|| {
        let fields = hidden();
        view! {
            <ActionForm action=scale attr:class="inline">
                {fields}
                <input name="replicas" inputmode="numeric" size="4" placeholder="3" aria-label="Replicas" required />
                <ForceChoice />
                <button type="submit" disabled=!allowed(Action::DeploymentScale)>"Scale"</button>
                {why(Action::DeploymentScale)}
            </ActionForm>
        }
    });
    let previewing = (!flux).then(|| {
        let fields = hidden();
        view! {
            <ActionForm action=preview attr:class="inline">
                {fields}
                <input name="replicas" inputmode="numeric" size="8" placeholder="replicas" aria-label="Replicas to preview" />
                <input name="revision" inputmode="numeric" size="8" placeholder="revision" aria-label="Revision to preview" />
                <button type="submit" disabled=!allowed(Action::DeploymentUpdate)>"Preview"</button>
                {why(Action::DeploymentUpdate)}
            </ActionForm>
        }
    });
    let last = hidden();
    let (typed, set_typed) = signal(String::new());
    let matches = {
        let name = name.clone();
        move || typed.with(|t| t.trim() == name)
    };
    let delete_allowed = allowed(Action::DeploymentDelete);
    view! {
        <section class="actions" aria-label="Operations">
            {flux_forms}
            {scaling}
            {previewing}
            <ActionForm action=delete attr:class="inline">
                {last}
                <input
                    name="confirm"
                    placeholder=format!("Type {name} to delete")
                    aria-label="Type the deployment's name to confirm the delete"
                    autocomplete="off"
                    prop:value=typed
                    on:input=move |event| set_typed.set(event_target_value(&event))
                />
                <button type="submit" class="danger" disabled=move || !delete_allowed || !matches()
                    title="Deletes it and what it applied">"Delete"</button>
                {why(Action::DeploymentDelete)}
            </ActionForm>
        </section>
    }
    .into_any()
}

/// The explicit choice to take over fields another field manager (such as
/// kustomize-controller applying from Git) owns; without it such a change is refused.
#[component]
fn ForceChoice() -> impl IntoView {
    view! {
        <label class="force" title="Take over fields another manager (e.g. kustomize-controller applying from Git) owns; it may revert them">
            <input type="checkbox" name="force" value="on" />" take over"
        </label>
    }
}

#[component]
fn Hidden(id: String) -> impl IntoView {
    view! {
        <input type="hidden" name="id" value=id />
    }
}
