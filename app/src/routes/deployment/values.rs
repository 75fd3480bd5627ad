//! The values editor on a deployment page: YAML checked as it is typed (with line and
//! column, and against the chart's schema), a values diff and a rendered-manifest diff
//! before "Apply", and one audited update on apply.

use super::super::diff::Diff;
use super::super::why::{Permissions, Why, may};
use crate::error::AppError;
use leptos::prelude::*;
use model::action::Action;
use model::deployment::Deployment;
use model::operation::Answered;
use model::values::{ValuesPreview, ValuesProblem};

/// The values the deployment runs with, as YAML.
#[server(prefix = "/api", endpoint = "load_values")]
pub async fn load_values(id: String) -> Result<String, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .values_text(&ctx, &crate::server::deployment(&id)?)
        .await?)
}

/// What is wrong with typed values (nothing: an empty list).
#[server(prefix = "/api", endpoint = "check_values")]
pub async fn check_values(id: String, text: String) -> Result<Vec<ValuesProblem>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .check_values(&ctx, &crate::server::deployment(&id)?, &text)
        .await?)
}

/// The diffs applying typed values would make; nothing is changed.
#[server(prefix = "/api", endpoint = "preview_values")]
pub async fn preview_values(id: String, text: String) -> Result<ValuesPreview, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .preview_values(&ctx, &crate::server::deployment(&id)?, &text)
        .await?)
}

/// Applies typed values; `force` takes fields over from another field manager.
#[server(prefix = "/api", endpoint = "apply_values")]
pub async fn apply_values(
    id: String,
    text: String,
    force: bool,
) -> Result<Answered<Deployment>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = service.values_change(&crate::server::deployment(&id)?, &text, force)?;
    crate::server::change_for_page(&ctx, &service, change, |outcome| outcome.into_deployment())
        .await
}

/// How long typing pauses before the values are checked.
const CHECK_AFTER_MS: u64 = 300;

/// The editor; `apply` is the page's, so the page refreshes after it.
#[component]
pub fn ValuesEditor(
    /// The deployment's id.
    id: String,
    /// What the caller may do here.
    permissions: Permissions,
    /// The apply action (the page follows its versions).
    apply: ServerAction<ApplyValues>,
) -> impl IntoView {
    let id = StoredValue::new(id);
    let loaded = Resource::new(
        move || (id.get_value(), apply.version().get()),
        |(id, _)| load_values(id),
    );
    let (typed, set_typed) = signal(None::<String>);
    let (settled, set_settled) = signal(None::<String>);
    let problems = Resource::new(
        move || settled.get(),
        move |text| async move {
            match text {
                None => Ok(Vec::new()),
                Some(text) => check_values(id.get_value(), text).await,
            }
        },
    );
    let preview = ServerAction::<PreviewValues>::new();
    let previewed = RwSignal::new(None::<String>);
    // What Apply would send: the typed text, or the loaded values when nothing was typed.
    let current = move || typed.get().or_else(|| loaded.get().and_then(Result::ok));
    let on_input = move |event| {
        let text = event_target_value(&event);
        set_typed.set(Some(text.clone()));
        set_timeout(
            move || {
                if typed.get_untracked().as_deref() == Some(text.as_str()) {
                    set_settled.set(Some(text));
                }
            },
            std::time::Duration::from_millis(CHECK_AFTER_MS),
        );
    };
    let run_preview = move |_| {
        if let Some(text) = current() {
            previewed.set(Some(text.clone()));
            preview.dispatch(PreviewValues {
                id: id.get_value(),
                text,
            });
        }
    };
    let previewed_ok = move || {
        preview.value().with(|v| matches!(v, Some(Ok(_))))
            && previewed.get().is_some()
            && previewed.get() == current()
    };
    let (force, set_force) = signal(false);
    let run_apply = move |_| {
        if let Some(text) = previewed.get_untracked() {
            apply.dispatch(ApplyValues {
                id: id.get_value(),
                text,
                force: force.get_untracked(),
            });
        }
    };
    let allowed = may(&permissions, Action::DeploymentUpdate);
    let permissions = StoredValue::new(permissions);
    view! {
        <section class="values" aria-labelledby="values-heading" data-testid="values-editor">
            <h2 id="values-heading">"Values"</h2>
            <Suspense fallback=|| view! { <p class="empty">"Loading values…"</p> }>
                {move || loaded.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                    Ok(yaml) => view! {
                        <textarea class="code" rows="12" spellcheck="false" aria-label="Values (YAML)"
                            aria-describedby="values-problems" on:input=on_input>{yaml}</textarea>
                    }.into_any(),
                })}
            </Suspense>
            <div id="values-problems" aria-live="polite">
                <Transition fallback=|| ()>
                    {move || problems.get().map(|result| match result {
                        Err(error) => view! { <p class="error">{error.0.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => match settled.get() {
                            Some(_) => view! { <p class="muted" data-testid="values-ok">"Valid YAML; the chart's schema accepts it."</p> }.into_any(),
                            None => ().into_any(),
                        },
                        Ok(list) => view! {
                            <ul class="problems" data-testid="values-problems">
                                {list.into_iter().map(|p| view! { <li>{p.to_string()}</li> }).collect_view()}
                            </ul>
                        }.into_any(),
                    })}
                </Transition>
            </div>
            <div class="actions">
                <button type="button" on:click=run_preview disabled=move || !allowed || preview.pending().get()>
                    {move || if preview.pending().get() { "Rendering…" } else { "Preview changes" }}
                </button>
                <label class="force" title="Take over values another manager (e.g. kustomize-controller applying from Git) owns; it may revert them">
                    <input type="checkbox" prop:checked=force on:change=move |e| set_force.set(event_target_checked(&e)) />" take over"
                </label>
                <button type="button" class="primary" on:click=run_apply
                    disabled=move || !allowed || !previewed_ok() || apply.pending().get()
                    title="Preview first: Apply sends exactly what was previewed">
                    {move || if apply.pending().get() { "Applying…" } else { "Apply" }}
                </button>
                <Why permissions=permissions.get_value() action=Action::DeploymentUpdate />
            </div>
            {move || preview.value().get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert" data-testid="values-preview-error">{error.0.message}</p> }.into_any(),
                Ok(diffs) => view! { <Diffs diffs /> }.into_any(),
            })}
            {move || apply.value().get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(Answered::Done(d)) => view! { <p class="notice" role="status" data-testid="values-applied">
                    {format!("Applied; now at revision {}.", d.revision.unwrap_or_default())}
                </p> }.into_any(),
                Ok(Answered::Running(operation)) => view! { <super::super::operations::StillRunning operation /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Diffs(diffs: ValuesPreview) -> impl IntoView {
    let values = if diffs.values_diff.is_empty() {
        view! { <p class="muted">"The values stay as they are."</p> }.into_any()
    } else {
        view! { <Diff text=diffs.values_diff testid="values-diff" /> }.into_any()
    };
    let manifest = match diffs.manifest_diff {
        Some(diff) if diff.is_empty() => {
            view! { <p class="muted">"The rendered manifest stays as it is."</p> }.into_any()
        }
        Some(text) => view! { <Diff text testid="manifest-diff" /> }.into_any(),
        None => ().into_any(),
    };
    // What the render left out, or why there is none.
    let note = diffs
        .note
        .map(|note| view! { <p class="muted" data-testid="preview-note">{note}</p> });
    view! {
        <h3>"Values diff"</h3>
        {values}
        <h3>"Rendered manifest diff"</h3>
        {manifest}
        {note}
    }
}
