//! The Flux toolkit objects beside the deployments, one page per family (Sources, Images,
//! Notifications) and one per object, with what the caller may do to them.

mod detail;
mod list;
mod new;

pub use detail::ToolkitPage;
pub use list::{Images, Notifications, Sources};
pub use new::{NewAlertPage, NewImagePolicyPage, NewSourcePage};

use crate::error::AppError;
use leptos::prelude::*;
use model::deployment::ReconcileOutcome;
use model::flux::{FluxObject, FluxObjectDetail};
use model::operation::Answered;
use model::reference::Family;

/// The objects of `family` in the namespaces the caller may see.
#[server(prefix = "/api", endpoint = "list_toolkit")]
pub async fn list_toolkit(family: Family) -> Result<Vec<FluxObject>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_toolkit(&ctx, family).await?)
}

/// One object with its conditions, artifact, events and users.
#[server(prefix = "/api", endpoint = "toolkit_detail")]
pub async fn toolkit_detail(
    kind: String,
    namespace: String,
    name: String,
) -> Result<FluxObjectDetail, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .toolkit_detail(&ctx, &object(&kind, &namespace, &name)?)
        .await?)
}

/// The families whose CRDs the cluster does not serve (their pages say so).
#[server(prefix = "/api", endpoint = "missing_families")]
pub async fn missing_families() -> Result<Vec<Family>, AppError> {
    let (_, service) = crate::server::caller().await?;
    Ok(service.missing_families())
}

/// The object a form names, or a 4xx saying which field is wrong.
#[cfg(feature = "ssr")]
fn object(
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<model::reference::ToolkitRef, AppError> {
    let namespace = crate::server::namespace(namespace)?;
    Ok(control::service::change::toolkit_ref(
        namespace, kind, name,
    )?)
}

/// Asks Flux to reconcile an object now: the outcome when it comes within the page's wait,
/// else the operation to follow.
#[server(prefix = "/api", endpoint = "reconcile_toolkit")]
pub async fn reconcile_toolkit(
    kind: String,
    namespace: String,
    name: String,
) -> Result<Answered<ReconcileOutcome>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = control::service::change::reconcile_toolkit(object(&kind, &namespace, &name)?)?;
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_reconcile()).await
}

/// Suspends (`suspend` = "true") or resumes an object.
#[server(prefix = "/api", endpoint = "suspend_toolkit")]
pub async fn suspend_toolkit(
    kind: String,
    namespace: String,
    name: String,
    suspend: String,
) -> Result<Answered<()>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = control::service::change::Change::SuspendSource {
        source: object(&kind, &namespace, &name)?,
        suspend: suspend == "true",
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_done()).await
}

/// Deletes an object.
#[server(prefix = "/api", endpoint = "delete_toolkit")]
pub async fn delete_toolkit(
    kind: String,
    namespace: String,
    name: String,
) -> Result<Answered<()>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let change = control::service::change::Change::DeleteToolkit {
        source: object(&kind, &namespace, &name)?,
    };
    crate::server::change_for_page(&ctx, &service, change, |o| o.into_done()).await
}

/// The latest reconcile or suspend's result, in words, for a notice: `Ok((ok, message))`,
/// or the operation still running.
fn notice(
    reconcile: ServerAction<ReconcileToolkit>,
    suspend: ServerAction<SuspendToolkit>,
) -> Option<Result<(bool, String), String>> {
    if reconcile.pending().get() {
        return Some(Ok((
            true,
            "Reconciling: waiting for the controller…".to_owned(),
        )));
    }
    reconcile
        .value()
        .get()
        .map(|r| r.map(|a| a.map(|o| o.message)))
        .or_else(|| {
            suspend
                .value()
                .get()
                .map(|r| r.map(|a| a.map(|()| "Done.".to_owned())))
        })
        .map(|r| match r {
            Ok(Answered::Done(message)) => Ok((true, message)),
            Ok(Answered::Running(operation)) => Err(operation),
            Err(error) => Ok((false, error.0.message)),
        })
}

/// The notice above a list or detail page after an action.
#[component]
fn Notice(
    reconcile: ServerAction<ReconcileToolkit>,
    suspend: ServerAction<SuspendToolkit>,
) -> impl IntoView {
    move || {
        notice(reconcile, suspend).map(|notice| match notice {
            Ok((ok, message)) => view! {
                <p class=if ok { "notice" } else { "error" } role="status" data-testid="notice">{message}</p>
            }
            .into_any(),
            Err(operation) => view! { <super::operations::StillRunning operation /> }.into_any(),
        })
    }
}

/// Reconcile now, and suspend or resume, for one object, as its kind allows.
#[component]
fn Actions(
    object: FluxObject,
    reconcile: ServerAction<ReconcileToolkit>,
    suspend: ServerAction<SuspendToolkit>,
) -> impl IntoView {
    use super::why::{Why, may};
    use model::action::{Action, ToolkitVerb};
    let fields = {
        let object = object.clone();
        move || {
            view! {
                <input type="hidden" name="kind" value=object.kind.as_str() />
                <input type="hidden" name="namespace" value=object.namespace.clone() />
                <input type="hidden" name="name" value=object.name.clone() />
            }
        }
    };
    let family = object.family;
    let reconcile_action =
        Action::on_toolkit(family, ToolkitVerb::Reconcile).filter(|_| object.kind.reconciles());
    let (label, pause) = if object.suspended {
        ("Resume", Action::on_toolkit(family, ToolkitVerb::Resume))
    } else {
        ("Suspend", Action::on_toolkit(family, ToolkitVerb::Suspend))
    };
    let pause = pause.filter(|_| object.kind.suspends());
    let permissions = object.permissions.clone();
    let reconcile_form = reconcile_action.map(|action| {
        let allowed = may(&permissions, action);
        let why = permissions.clone();
        let fields = fields.clone();
        view! {
            <ActionForm action=reconcile attr:class="inline">
                {fields()}
                <button type="submit" disabled=!allowed>"Reconcile"</button>
                <Why permissions=why action />
            </ActionForm>
        }
    });
    let suspend_form = pause.map(|action| {
        let allowed = may(&permissions, action);
        let why = permissions.clone();
        view! {
            <ActionForm action=suspend attr:class="inline">
                {fields()}
                <input type="hidden" name="suspend" value=(!object.suspended).to_string() />
                <button type="submit" disabled=!allowed>{label}</button>
                <Why permissions=why action />
            </ActionForm>
        }
    });
    view! { {reconcile_form} {suspend_form} }
}

/// Ready, as a badge.
#[component]
fn ReadyBadge(ready: Option<String>, suspended: bool, message: String) -> impl IntoView {
    let (class, word) = match ready.as_deref() {
        Some("True") => ("badge status-deployed", "Ready"),
        Some("False") => ("badge status-failed", "Not ready"),
        Some(_) => ("badge status-deploying", "Unknown"),
        None => ("badge status-pending", "No status"),
    };
    view! {
        <span class=class title=message>{word}</span>
        {suspended.then(|| view! { " " <span class="badge suspended">"suspended"</span> })}
    }
}

/// The link to an object's page.
fn href(object: &FluxObject) -> String {
    format!(
        "/{}/{}/{}/{}",
        object.family,
        super::encode(&object.namespace),
        object.kind.as_str(),
        super::encode(&object.name)
    )
}
