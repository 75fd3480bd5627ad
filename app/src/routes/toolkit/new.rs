//! The forms that create a source, an image policy or an alert. What was typed stays in the
//! form when the server refuses it; a created object opens its page.

use super::href;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use model::flux::FluxObject;
use model::operation::Answered;
use model::reference::{Family, ToolkitKind};

/// The new-source form's fields, as typed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceForm {
    kind: String,
    name: String,
    namespace: String,
    url: String,
    branch: String,
    tag: String,
    semver: String,
    interval: String,
    secret: String,
}

/// The new-image-policy form's fields, as typed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PolicyForm {
    name: String,
    namespace: String,
    repository: String,
    rule: String,
    range: String,
    order: String,
    pattern: String,
    extract: String,
}

/// The new-alert form's fields, as typed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AlertForm {
    name: String,
    namespace: String,
    provider: String,
    severity: String,
    sources: String,
    summary: String,
}

/// A form field left empty, as absent.
#[cfg(feature = "ssr")]
fn given(value: String) -> Option<String> {
    let value = value.trim().to_owned();
    (!value.is_empty()).then_some(value)
}

/// Creates a source from the form.
#[server(prefix = "/api", endpoint = "create_source")]
pub async fn create_source(form: SourceForm) -> Result<Answered<FluxObject>, AppError> {
    use model::flux::NewSource;
    let (ctx, service) = crate::server::caller().await?;
    let (name, namespace, url) = (
        form.name.trim().to_owned(),
        form.namespace.trim().to_owned(),
        form.url.trim().to_owned(),
    );
    let (interval, secret_ref) = (given(form.interval), given(form.secret));
    let source = match form.kind.as_str() {
        "HelmRepository" => NewSource::HelmRepository {
            name,
            namespace,
            url,
            interval,
            secret_ref,
        },
        "OCIRepository" => NewSource::OciRepository {
            name,
            namespace,
            url,
            tag: given(form.tag),
            semver: given(form.semver),
            interval,
            secret_ref,
        },
        _ => NewSource::GitRepository {
            name,
            namespace,
            url,
            branch: given(form.branch),
            tag: given(form.tag),
            semver: given(form.semver),
            interval,
            secret_ref,
        },
    };
    create(
        &ctx,
        &service,
        model::flux::NewToolkitObject::Sources(source),
    )
    .await
}

/// Creates an image policy from the form.
#[server(prefix = "/api", endpoint = "create_image_policy")]
pub async fn create_image_policy(form: PolicyForm) -> Result<Answered<FluxObject>, AppError> {
    use model::flux::{NewImagePolicy, Order, PolicyRule, TagFilter};
    let (ctx, service) = crate::server::caller().await?;
    let order = if form.order == "desc" {
        Order::Desc
    } else {
        Order::Asc
    };
    let policy = match form.rule.as_str() {
        "alphabetical" => PolicyRule::Alphabetical { order },
        "numerical" => PolicyRule::Numerical { order },
        _ => PolicyRule::Semver {
            range: form.range.trim().to_owned(),
        },
    };
    let filter_tags = given(form.pattern).map(|pattern| TagFilter {
        pattern,
        extract: given(form.extract),
    });
    let object = NewImagePolicy {
        name: form.name.trim().to_owned(),
        namespace: form.namespace.trim().to_owned(),
        image_repository: form.repository.trim().to_owned(),
        policy,
        filter_tags,
    };
    create(
        &ctx,
        &service,
        model::flux::NewToolkitObject::Images(object),
    )
    .await
}

/// Creates an alert from the form: `sources` is `Kind/name` entries separated by commas or
/// lines (`*` for every deployment of a kind).
#[server(prefix = "/api", endpoint = "create_alert")]
pub async fn create_alert(form: AlertForm) -> Result<Answered<FluxObject>, AppError> {
    use model::flux::{EventSource, NewAlert, Severity};
    let (ctx, service) = crate::server::caller().await?;
    let mut event_sources = Vec::new();
    for entry in form
        .sources
        .split([',', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (kind, name) = entry.split_once('/').ok_or_else(|| {
            control::Error::invalid(
                "eventSources",
                format!("{entry:?} is not Kind/name, e.g. HelmRelease/podinfo"),
            )
        })?;
        event_sources.push(EventSource {
            kind: kind.trim().to_owned(),
            name: name.trim().to_owned(),
            namespace: None,
        });
    }
    let object = NewAlert {
        name: form.name.trim().to_owned(),
        namespace: form.namespace.trim().to_owned(),
        provider: form.provider.trim().to_owned(),
        severity: if form.severity == "error" {
            Severity::Error
        } else {
            Severity::Info
        },
        event_sources,
        summary: given(form.summary),
    };
    create(
        &ctx,
        &service,
        model::flux::NewToolkitObject::Notifications(object),
    )
    .await
}

#[cfg(feature = "ssr")]
async fn create(
    ctx: &control::RequestContext,
    service: &control::Service,
    object: model::flux::NewToolkitObject,
) -> Result<Answered<FluxObject>, AppError> {
    let change = control::service::change::create_toolkit(object)?;
    crate::server::change_for_page(ctx, service, change, |o| o.into_toolkit()).await
}

/// The names of the Secrets a source in `namespace` may use.
#[server(prefix = "/api", endpoint = "secret_names")]
pub async fn secret_names(namespace: String) -> Result<Vec<String>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let namespace = crate::server::namespace(&namespace)?;
    Ok(service.secret_names(&ctx, &namespace).await?)
}

/// Opens the created object's page, or the operation still creating it.
fn open_created(value: Option<Result<Answered<FluxObject>, AppError>>, navigate: &dyn Fn(&str)) {
    match value {
        Some(Ok(Answered::Done(created))) => navigate(&href(&created)),
        Some(Ok(Answered::Running(operation))) => {
            navigate(&super::super::operations::operation_href(&operation));
        }
        _ => {}
    }
}

/// The refusal under a form, with what to fix.
#[component]
fn FormError(message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|message| view! { <p class="error" role="alert" data-testid="form-error">{message}</p> })
    }
}

/// `/sources/new`.
#[component]
pub fn NewSourcePage() -> impl IntoView {
    let create = ServerAction::<CreateSource>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        open_created(create.value().get(), &|to| navigate(to, Default::default()))
    });
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.0.message)
    });
    let (namespace, set_namespace) = signal(String::new());
    let secrets = Resource::new(
        move || namespace.get(),
        |namespace| async move {
            if namespace.trim().is_empty() {
                Ok(Vec::new())
            } else {
                secret_names(namespace).await
            }
        },
    );
    view! {
        <Title text="New source" />
        <p class="crumbs"><a href="/sources">"Sources"</a>" / new"</p>
        <h1>"New source"</h1>
        <ActionForm action=create attr:class="form" attr:data-testid="new-source">
            <label>"Kind"
                <select name="form[kind]">
                    <option value="GitRepository">"GitRepository (manifests from Git)"</option>
                    <option value="HelmRepository">"HelmRepository (charts)"</option>
                    <option value="OCIRepository">"OCIRepository (an OCI artifact)"</option>
                </select>
            </label>
            <label>"Name" <input name="form[name]" required placeholder="shop" /></label>
            <label>"Namespace" <input name="form[namespace]" required placeholder="team-a"
                on:change=move |ev| set_namespace.set(event_target_value(&ev)) /></label>
            <label>"URL" <input name="form[url]" required placeholder="https://github.com/acme/shop, oci://ghcr.io/acme/manifests" /></label>
            <label>"Branch (Git)" <input name="form[branch]" placeholder="main" /></label>
            <label>"Tag (Git, OCI)" <input name="form[tag]" placeholder="v1.4.2" /></label>
            <label>"Semver range (Git, OCI)" <input name="form[semver]" placeholder=">=1.0.0 <2.0.0" /></label>
            <label>"Interval" <input name="form[interval]" placeholder="5m" /></label>
            <label>"Credentials (a Secret in the namespace)"
                <select name="form[secret]" data-testid="secret-picker">
                    <option value="">"none"</option>
                    <Suspense fallback=|| ()>
                        {move || secrets.get().map(|found| match found {
                            Ok(names) => names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view().into_any(),
                            Err(_) => ().into_any(),
                        })}
                    </Suspense>
                </select>
            </label>
            <button type="submit" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create" }}
            </button>
        </ActionForm>
        <FormError message=error />
    }
}

/// `/images/new`.
#[component]
pub fn NewImagePolicyPage() -> impl IntoView {
    let create = ServerAction::<CreateImagePolicy>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        open_created(create.value().get(), &|to| navigate(to, Default::default()))
    });
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.0.message)
    });
    let repositories = Resource::new(|| (), |()| super::list_toolkit(Family::Images));
    view! {
        <Title text="New image policy" />
        <p class="crumbs"><a href="/images">"Images"</a>" / new"</p>
        <h1>"New image policy"</h1>
        <ActionForm action=create attr:class="form" attr:data-testid="new-image-policy">
            <label>"Name" <input name="form[name]" required placeholder="web" /></label>
            <label>"Namespace" <input name="form[namespace]" required placeholder="team-a" /></label>
            <label>"Image repository (in the namespace)"
                <input name="form[repository]" required list="image-repositories" placeholder="web" />
            </label>
            <datalist id="image-repositories">
                <Suspense fallback=|| ()>
                    {move || repositories.get().and_then(Result::ok).map(|found| found.into_iter()
                        .filter(|o| o.kind == ToolkitKind::ImageRepository)
                        .map(|o| view! { <option value=o.name.clone()>{format!("{} ({})", o.url, o.namespace)}</option> })
                        .collect_view())}
                </Suspense>
            </datalist>
            <label>"Rule"
                <select name="form[rule]">
                    <option value="semver">"Highest version in a semver range"</option>
                    <option value="alphabetical">"Alphabetical"</option>
                    <option value="numerical">"Numerical"</option>
                </select>
            </label>
            <label>"Semver range" <input name="form[range]" placeholder=">=1.0.0 <2.0.0" /></label>
            <label>"Order (alphabetical, numerical)"
                <select name="form[order]">
                    <option value="asc">"ascending: the last wins"</option>
                    <option value="desc">"descending: the first wins"</option>
                </select>
            </label>
            <label>"Tag filter (regular expression)" <input name="form[pattern]" placeholder="^main-[a-f0-9]+-(?P<ts>[0-9]+)$" /></label>
            <label>"Compare (capture group)" <input name="form[extract]" placeholder="$ts" /></label>
            <button type="submit" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create" }}
            </button>
        </ActionForm>
        <FormError message=error />
    }
}

/// `/notifications/new`.
#[component]
pub fn NewAlertPage() -> impl IntoView {
    let create = ServerAction::<CreateAlert>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        open_created(create.value().get(), &|to| navigate(to, Default::default()))
    });
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.0.message)
    });
    let providers = Resource::new(|| (), |()| super::list_toolkit(Family::Notifications));
    view! {
        <Title text="New alert" />
        <p class="crumbs"><a href="/notifications">"Notifications"</a>" / new"</p>
        <h1>"New alert"</h1>
        <ActionForm action=create attr:class="form" attr:data-testid="new-alert">
            <label>"Name" <input name="form[name]" required placeholder="failures" /></label>
            <label>"Namespace" <input name="form[namespace]" required placeholder="team-a" /></label>
            <label>"Provider (in the namespace)"
                <input name="form[provider]" required list="providers" placeholder="slack" />
            </label>
            <datalist id="providers">
                <Suspense fallback=|| ()>
                    {move || providers.get().and_then(Result::ok).map(|found| found.into_iter()
                        .filter(|o| o.kind == ToolkitKind::Provider)
                        .map(|o| view! { <option value=o.name.clone()>{o.namespace.clone()}</option> })
                        .collect_view())}
                </Suspense>
            </datalist>
            <label>"Severity"
                <select name="form[severity]">
                    <option value="info">"every event"</option>
                    <option value="error">"errors only"</option>
                </select>
            </label>
            <label>"Deployments (Kind/name, one per line; * for all of a kind)"
                <textarea name="form[sources]" rows="3" required placeholder="HelmRelease/podinfo\nKustomization/*"></textarea>
            </label>
            <label>"Summary" <input name="form[summary]" placeholder="optional: a line added to every message" /></label>
            <button type="submit" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create" }}
            </button>
        </ActionForm>
        <FormError message=error />
    }
}
