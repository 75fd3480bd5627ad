//! Admin: tenants, namespace ownership, members, global roles and the access check. Every
//! form is an `ActionForm` (it posts without JavaScript too), checks its fields in the
//! browser, and shows the server's refusal beside the field it names.

use super::admin_access::{AccessCheck, GlobalRoles, Members};
use super::lockdown::{LockdownBanner, LockdownTable};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use model::tenancy::{Administration, NamespaceOwner, Tenant};

/// The pattern of a DNS label (tenant slugs and namespace names), for the browser's check.
/// (Browsers compile `pattern` in the `v` mode of regular expressions, where a class's
/// hyphen must be escaped.)
pub(super) const DNS_LABEL: &str = "[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?";

/// What the caller may administer, with the lists the forms need.
#[server(prefix = "/api", endpoint = "administration")]
pub async fn load_administration() -> Result<Administration, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.administration(&ctx).await?)
}

/// Creates a tenant.
#[server(prefix = "/api", endpoint = "create_tenant")]
pub async fn create_tenant(slug: String, display_name: String) -> Result<Tenant, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let slug = slug.trim();
    let name = match display_name.trim() {
        "" => slug,
        name => name,
    };
    Ok(service.create_tenant(&ctx, slug, name).await?)
}

/// Changes a tenant's display name.
#[server(prefix = "/api", endpoint = "rename_tenant")]
pub async fn rename_tenant(slug: String, display_name: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .rename_tenant(&ctx, &slug, display_name.trim())
        .await?)
}

/// Allows (`allow` = "on") or forbids what a tenant applies to create Flux objects itself.
#[server(prefix = "/api", endpoint = "set_nested_flux")]
pub async fn set_nested_flux(slug: String, allow: String) -> Result<Tenant, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.set_nested_flux(&ctx, &slug, allow == "on").await?)
}

/// Deletes a tenant that owns no namespaces.
#[server(prefix = "/api", endpoint = "delete_tenant")]
pub async fn delete_tenant(slug: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.delete_tenant(&ctx, &slug).await?)
}

/// Gives a namespace to a tenant; `take_over` moves it from its current owner.
#[server(prefix = "/api", endpoint = "assign_namespace")]
pub async fn assign_namespace(
    namespace: String,
    tenant: String,
    take_over: Option<String>,
) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let namespace = namespace.trim();
    if take_over.is_some() {
        Ok(service.move_namespace(&ctx, namespace, &tenant).await?)
    } else {
        Ok(service.assign_namespace(&ctx, namespace, &tenant).await?)
    }
}

/// Takes a namespace from the tenant that owns it.
#[server(prefix = "/api", endpoint = "unassign_namespace")]
pub async fn unassign_namespace(namespace: String, tenant: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .unassign_namespace(&ctx, &namespace, Some(&tenant))
        .await?)
}

/// The latest refusal of an action (its `value()`), if its last run failed.
pub(super) fn refusal<T, S>(value: S) -> Signal<Option<AppError>>
where
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(Result::err))
}

/// The refusal of whichever of two actions failed last.
pub(super) fn either(
    first: Signal<Option<AppError>>,
    second: Signal<Option<AppError>>,
) -> Signal<Option<AppError>> {
    Signal::derive(move || first.get().or_else(|| second.get()))
}

/// The refusal's message beside `field`, when it is about that field.
#[component]
pub(super) fn FieldError(error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error
            .get()
            .and_then(|e| e.about(field))
            .map(|message| view! { <span class="field-error" role="alert">{message}</span> })
    }
}

/// The refusal's message when it names no field of the form (`fields` are those it has).
#[component]
pub(super) fn FormError(
    error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| e.field.as_deref().is_none_or(|f| !fields.contains(&f)))
            .map(|e| view! { <p class="error" role="alert">{e.0.message}</p> })
    }
}

/// The Admin page.
#[component]
pub fn Admin() -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    let rename = ServerAction::<RenameTenant>::new();
    let delete = ServerAction::<DeleteTenant>::new();
    let nested = ServerAction::<SetNestedFlux>::new();
    let assign = ServerAction::<AssignNamespace>::new();
    let unassign = ServerAction::<UnassignNamespace>::new();
    let view = Resource::new(
        move || {
            (
                create.version().get(),
                rename.version().get(),
                delete.version().get(),
                nested.version().get(),
                assign.version().get(),
                unassign.version().get(),
            )
        },
        |_| load_administration(),
    );
    let create_error = refusal(create.value());
    let tenant_error = either(
        either(refusal(rename.value()), refusal(delete.value())),
        refusal(nested.value()),
    );
    let namespace_error = either(refusal(assign.value()), refusal(unassign.value()));
    view! {
        <Title text="Admin" />
        <h1>"Admin"</h1>
        <p class="subnav"><a href="/admin/flux" data-testid="flux-check-link">"Flux: controllers, CRDs and stuck objects"</a></p>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || view.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(admin) if !admin.platform_admin && admin.administered.is_empty() => view! {
                    <p class="empty" data-testid="admin-nothing">
                        "You administer no tenant. Platform-admins manage tenants, namespaces and global roles; a tenant's admins manage its members."
                    </p>
                }.into_any(),
                Ok(admin) => {
                    let platform = admin.platform_admin;
                    let tenant_count = admin.tenants.len();
                    view! {
                        <LockdownBanner lockdown=admin.lockdown.clone() tenants=tenant_count />
                        {platform.then(|| view! {
                            <TenantsSection tenants=admin.tenants.clone() create rename delete nested create_error tenant_error />
                            <NamespacesSection namespaces=admin.namespaces.clone() unavailable=admin.namespaces_error.clone() tenants=admin.tenants.clone() assign unassign error=namespace_error />
                        })}
                        <Members administered=admin.administered.clone() />
                        {platform.then(|| view! {
                            <GlobalRoles />
                            <AccessCheck actions=admin.actions.clone() />
                        })}
                        {admin.lockdown.clone().map(|lockdown| view! { <LockdownTable lockdown /> })}
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
fn TenantsSection(
    tenants: Vec<Tenant>,
    create: ServerAction<CreateTenant>,
    rename: ServerAction<RenameTenant>,
    delete: ServerAction<DeleteTenant>,
    nested: ServerAction<SetNestedFlux>,
    create_error: Signal<Option<AppError>>,
    tenant_error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <section class="panel" data-testid="tenants">
            <h2>"Tenants"</h2>
            <ActionForm action=create attr:class="filters" attr:data-testid="create-tenant">
                <label>"Slug"
                    <input name="slug" required pattern=DNS_LABEL maxlength="63" placeholder="team-c"
                        title="lower-case letters, digits and '-', starting and ending with a letter or digit" />
                    <FieldError error=create_error field="tenant" />
                </label>
                <label>"Display name"
                    <input name="display_name" maxlength="200" placeholder="Team C" />
                    <FieldError error=create_error field="display name" />
                </label>
                <button type="submit">"Create tenant"</button>
            </ActionForm>
            <FormError error=create_error fields=&["tenant", "display name"] />
            <FormError error=tenant_error fields=&[] />
            <table class="table" data-testid="tenants-table">
                <thead><tr><th>"Tenant"</th><th>"Display name"</th><th>"Namespaces"</th>
                    <th><abbr title="Whether what the tenant applies (charts, Git content, its pods) may create Flux objects itself. Off: only Pilothouse's checked writes create them.">"Nested Flux objects"</abbr></th><th></th></tr></thead>
                <tbody>{tenants.into_iter().map(|t| {
                    let Tenant { slug, display_name, namespaces, nested_flux } = t;
                    let nested_slug = slug.clone();
                    let (state, button, next, class) = if nested_flux {
                        ("allowed", "Forbid", "off", "")
                    } else {
                        ("forbidden", "Allow", "on", "danger")
                    };
                    let nested_label = format!("{button} nested Flux objects for {slug}");
                    let owned = if namespaces.is_empty() { "none".to_owned() } else { namespaces.join(", ") };
                    let label = format!("Display name of {slug}");
                    let (key, shown, renamed) = (slug.clone(), slug.clone(), slug.clone());
                    view! {
                    <tr data-tenant=key>
                        <td><code>{shown}</code></td>
                        <td>
                            <ActionForm action=rename attr:class="inline">
                                <input type="hidden" name="slug" value=renamed />
                                <input name="display_name" required maxlength="200" value=display_name aria-label=label />
                                <button type="submit">"Rename"</button>
                            </ActionForm>
                        </td>
                        <td>{owned}</td>
                        <td data-testid="nested-flux">
                            <ActionForm action=nested attr:class="inline">
                                <input type="hidden" name="slug" value=nested_slug />
                                <input type="hidden" name="allow" value=next />
                                <span>{state}" "</span>
                                <button type="submit" class=class aria-label=nested_label>{button}</button>
                            </ActionForm>
                        </td>
                        <td>
                            <ActionForm action=delete attr:class="inline">
                                <input type="hidden" name="slug" value=slug />
                                <button type="submit" class="danger">"Delete"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }}).collect_view()}</tbody>
            </table>
        </section>
    }
    .into_any()
}

#[component]
fn NamespacesSection(
    namespaces: Vec<NamespaceOwner>,
    unavailable: Option<String>,
    tenants: Vec<Tenant>,
    assign: ServerAction<AssignNamespace>,
    unassign: ServerAction<UnassignNamespace>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let slugs: Vec<String> = tenants.into_iter().map(|t| t.slug).collect();
    let unassigned = namespaces.iter().filter(|n| n.tenant.is_none()).count();
    view! {
        <section class="panel" data-testid="namespaces">
            <h2>"Namespaces"</h2>
            <p class="muted">{format!("{} namespaces, {unassigned} unassigned. Only platform-admins act in unassigned namespaces.", namespaces.len())}</p>
            {unavailable.map(|message| view! { <p class="error" role="alert">{format!("The cluster's namespaces could not be listed: {message}")}</p> })}
            <ActionForm action=assign attr:class="filters" attr:data-testid="assign-namespace">
                <label>"Namespace"
                    <input name="namespace" required pattern=DNS_LABEL maxlength="63" placeholder="team-c" list="cluster-namespaces" />
                    <FieldError error field="namespace" />
                </label>
                <TenantSelect slugs=slugs.clone() />
                <label class="check"><input type="checkbox" name="take_over" value="on" />"move it if another tenant owns it"</label>
                <button type="submit">"Assign"</button>
            </ActionForm>
            <datalist id="cluster-namespaces">
                {namespaces.iter().map(|n| view! { <option value=n.name.clone()></option> }).collect_view()}
            </datalist>
            <FormError error fields=&["namespace"] />
            <table class="table" data-testid="namespaces-table">
                <thead><tr><th>"Namespace"</th><th>"Tenant"</th><th></th></tr></thead>
                <tbody>{namespaces.into_iter().map(|n| {
                    let missing = (!n.in_cluster).then(|| view! { <span class="badge" title="assigned, but the cluster has no such namespace yet">"not in cluster"</span> });
                    let owner = match n.tenant.clone() {
                        Some(tenant) => view! { <span>{tenant}</span> }.into_any(),
                        None => view! { <span class="badge status-pending">"unassigned"</span> }.into_any(),
                    };
                    let name = n.name.clone();
                    let action = n.tenant.clone().map(|tenant| view! {
                        <ActionForm action=unassign attr:class="inline">
                            <input type="hidden" name="namespace" value=name />
                            <input type="hidden" name="tenant" value=tenant />
                            <button type="submit" class="danger">"Unassign"</button>
                        </ActionForm>
                    });
                    view! { <tr data-namespace=n.name.clone()><td><code>{n.name.clone()}</code>" "{missing}</td><td>{owner}</td><td>{action}</td></tr> }
                }).collect_view()}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// A `tenant` select over `slugs`.
#[component]
pub(super) fn TenantSelect(slugs: Vec<String>) -> impl IntoView {
    view! {
        <label>"Tenant"
            <select name="tenant" required>
                {slugs.into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
            </select>
        </label>
    }
}
