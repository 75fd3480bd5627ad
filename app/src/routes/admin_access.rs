//! Admin, who may do what: a tenant's members (for its admins), global roles and the access
//! check (for platform-admins).

use super::admin::{DNS_LABEL, FieldError, FormError, either, refusal};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use model::tenancy::{Explanation, GlobalGrant, GlobalRole, Membership, TenantRole};

#[cfg(feature = "ssr")]
fn grantee(kind: &str, name: &str) -> Result<control::access::Grantee, AppError> {
    let name = name.trim().to_owned();
    match kind {
        "user" => Ok(control::access::Grantee::User(name)),
        "group" => Ok(control::access::Grantee::Group(name)),
        _ => Err(AppError::from(control::Error::invalid(
            "kind",
            "choose user or group",
        ))),
    }
}

#[cfg(feature = "ssr")]
fn role<R: std::str::FromStr>(text: &str, choices: &str) -> Result<R, AppError> {
    text.parse().map_err(|_| {
        AppError::from(control::Error::invalid(
            "role",
            format!("choose one of {choices}"),
        ))
    })
}

/// A tenant's memberships.
#[server(prefix = "/api", endpoint = "list_members")]
pub async fn list_members(tenant: String) -> Result<Vec<Membership>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_memberships(&ctx, &tenant).await?)
}

/// Gives a user or group a role on a tenant, or changes the role they have there.
#[server(prefix = "/api", endpoint = "set_member")]
pub async fn set_member(
    tenant: String,
    kind: String,
    name: String,
    role: String,
) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let role: TenantRole = self::role(&role, "viewer, operator, admin")?;
    Ok(service
        .add_membership(&ctx, &tenant, &grantee(&kind, &name)?, role)
        .await?)
}

/// Takes a membership away.
#[server(prefix = "/api", endpoint = "remove_member")]
pub async fn remove_member(tenant: String, kind: String, name: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .remove_membership(&ctx, &tenant, &grantee(&kind, &name)?)
        .await?)
}

/// Every global role grant.
#[server(prefix = "/api", endpoint = "list_roles")]
pub async fn list_roles() -> Result<Vec<GlobalGrant>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_global_roles(&ctx).await?)
}

/// Grants a global role.
#[server(prefix = "/api", endpoint = "grant_role")]
pub async fn grant_role(role: String, kind: String, name: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let role: GlobalRole = self::role(&role, "platform-admin, auditor")?;
    Ok(service
        .grant_global_role(&ctx, &grantee(&kind, &name)?, role)
        .await?)
}

/// Revokes a global role (never the last platform-admin).
#[server(prefix = "/api", endpoint = "revoke_role")]
pub async fn revoke_role(role: String, kind: String, name: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let role: GlobalRole = self::role(&role, "platform-admin, auditor")?;
    Ok(service
        .revoke_global_role(&ctx, &grantee(&kind, &name)?, role)
        .await?)
}

/// Whether a user (with these groups) or a group may do `action` on a namespace or tenant.
#[server(prefix = "/api", endpoint = "check_access")]
pub async fn check_access(
    subject: String,
    groups: String,
    action: String,
    namespace: String,
) -> Result<Explanation, AppError> {
    use control::access::{Action, Target, TargetKind};
    let (ctx, service) = crate::server::caller().await?;
    let action = Action::ALL
        .iter()
        .copied()
        .find(|a| a.as_str() == action)
        .ok_or_else(|| AppError::from(control::Error::invalid("action", "choose an action")))?;
    let principal = control::access::Principal {
        issuer: ctx.principal.issuer.clone(),
        subject: subject.trim().to_owned(),
        email: None,
        name: None,
        groups: groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        narrowing: None,
    };
    if principal.subject.is_empty() && principal.groups.is_empty() {
        return Err(control::Error::invalid("subject", "name a user, groups, or both").into());
    }
    let scope = namespace.trim();
    let reference;
    let target = match action.target_kind() {
        TargetKind::Namespace => {
            reference = crate::server::namespace(scope)?;
            Target::Namespace(&reference)
        }
        TargetKind::Tenant => Target::Tenant(scope),
        TargetKind::Platform => Target::Platform,
        TargetKind::AuditLog => Target::AuditLog,
        TargetKind::Own => Target::Own,
    };
    Ok(service
        .explain(&ctx, Some(&principal), action, target)
        .await?)
}

/// A user-or-group choice and its name.
#[component]
fn GranteeFields(error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <label>"Kind"
            <select name="kind">
                <option value="user">"User (OIDC subject)"</option>
                <option value="group">"Group (OIDC groups claim)"</option>
            </select>
        </label>
        <label>"Name"
            <input name="name" required maxlength="255" placeholder="alice or platform-team" />
            <FieldError error field="grantee" />
        </label>
    }
}

/// The members of one tenant the caller administers (`?tenant=` picks which).
#[component]
pub fn Members(administered: Vec<String>) -> impl IntoView {
    let query = use_query_map();
    let first = administered.first().cloned().unwrap_or_default();
    let tenant = Memo::new(move |_| {
        query
            .with(|q| q.get("tenant"))
            .unwrap_or_else(|| first.clone())
    });
    let set = ServerAction::<SetMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let members = Resource::new(
        move || (tenant.get(), set.version().get(), remove.version().get()),
        |(tenant, _, _)| list_members(tenant),
    );
    let error = either(refusal(set.value()), refusal(remove.value()));
    let choices = administered.clone();
    view! {
        <section class="panel" data-testid="members">
            <h2>"Members"</h2>
            <form method="get" action="/admin" class="filters">
                <label>"Tenant"
                    <select name="tenant">
                        {choices.into_iter().map(|s| {
                            let chosen = s == tenant.get_untracked();
                            view! { <option value=s.clone() selected=chosen>{s.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Show members"</button>
            </form>
            <ActionForm action=set attr:class="filters" attr:data-testid="add-member">
                <input type="hidden" name="tenant" value=move || tenant.get() />
                <GranteeFields error />
                <RoleSelect />
                <button type="submit">"Add or change"</button>
            </ActionForm>
            <FormError error fields=&["grantee"] />
            <Suspense fallback=|| view! { <p class="empty">"Loading members…"</p> }>
                {move || members.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No members yet: add a user or a group above."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="members-table">
                            <thead><tr><th>"Who"</th><th>"Role"</th><th></th></tr></thead>
                            <tbody>{list.into_iter().map(|m| {
                                let Membership { tenant, grantee_kind: kind, grantee: name, role } = m;
                                let who = format!("{kind} {name}");
                                let fields = move || view! {
                                    <input type="hidden" name="tenant" value=tenant.clone() />
                                    <input type="hidden" name="kind" value=kind.clone() />
                                    <input type="hidden" name="name" value=name.clone() />
                                };
                                let (first, second) = (fields(), fields());
                                view! {
                                <tr data-member=who.rsplit(' ').next().unwrap_or_default().to_owned()>
                                    <td>{who.clone()}</td>
                                    <td>
                                        <ActionForm action=set attr:class="inline">
                                            {first}
                                            <RoleSelect selected=role />
                                            <button type="submit">"Change"</button>
                                        </ActionForm>
                                    </td>
                                    <td>
                                        <ActionForm action=remove attr:class="inline">
                                            {second}
                                            <button type="submit" class="danger">"Remove"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }}).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

#[component]
fn RoleSelect(#[prop(optional)] selected: Option<TenantRole>) -> impl IntoView {
    let selected = selected.unwrap_or(TenantRole::Viewer);
    view! {
        <label>"Role"
            <select name="role">
                {TenantRole::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> }).collect_view()}
            </select>
        </label>
    }
}

/// Global role grants, for platform-admins.
#[component]
pub fn GlobalRoles() -> impl IntoView {
    let grant = ServerAction::<GrantRole>::new();
    let revoke = ServerAction::<RevokeRole>::new();
    let grants = Resource::new(
        move || (grant.version().get(), revoke.version().get()),
        |_| list_roles(),
    );
    let error = either(refusal(grant.value()), refusal(revoke.value()));
    view! {
        <section class="panel" data-testid="global-roles">
            <h2>"Global roles"</h2>
            <ActionForm action=grant attr:class="filters" attr:data-testid="grant-role">
                <label>"Role"
                    <select name="role">
                        {GlobalRole::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <GranteeFields error />
                <button type="submit">"Grant"</button>
            </ActionForm>
            <FormError error fields=&["grantee"] />
            <Suspense fallback=|| view! { <p class="empty">"Loading roles…"</p> }>
            {move || grants.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(grants) => view! {
            <table class="table" data-testid="global-roles-table">
                <thead><tr><th>"Role"</th><th>"Who"</th><th></th></tr></thead>
                <tbody>{grants.into_iter().map(|g| view! {
                    <tr>
                        <td>{g.role.as_str()}</td>
                        <td>{format!("{} {}", g.grantee_kind, g.grantee)}</td>
                        <td>
                            <ActionForm action=revoke attr:class="inline">
                                <input type="hidden" name="role" value=g.role.as_str() />
                                <input type="hidden" name="kind" value=g.grantee_kind.clone() />
                                <input type="hidden" name="name" value=g.grantee.clone() />
                                <button type="submit" class="danger">"Revoke"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
                }.into_any(),
            })}
            </Suspense>
        </section>
    }
    .into_any()
}

/// "May this user or group do this here?", answered by the policy with its reason.
#[component]
pub fn AccessCheck(actions: Vec<String>) -> impl IntoView {
    let check = ServerAction::<CheckAccess>::new();
    let error = refusal(check.value());
    let answer = move || check.value().get().and_then(Result::ok);
    view! {
        <section class="panel" data-testid="access-check">
            <h2>"Check access"</h2>
            <ActionForm action=check attr:class="filters">
                <label>"User" <input name="subject" maxlength="255" placeholder="alice" /></label>
                <label>"Groups" <input name="groups" maxlength="1000" placeholder="comma-separated" /></label>
                <label>"Action"
                    <select name="action">
                        {actions.into_iter().map(|a| view! { <option value=a.clone()>{a.clone()}</option> }).collect_view()}
                    </select>
                    <FieldError error field="action" />
                </label>
                <label>"Namespace or tenant"
                    <input name="namespace" pattern=DNS_LABEL maxlength="63" placeholder="team-a" />
                    <FieldError error field="namespace" />
                </label>
                <button type="submit">"Check"</button>
            </ActionForm>
            <FormError error fields=&["action", "namespace"] />
            {move || answer().map(|e| view! {
                <p class=if e.allowed { "notice" } else { "error" } role="status" data-testid="access-answer">
                    {if e.allowed { "Allowed: " } else { "Not allowed: " }}{e.reason}
                </p>
            })}
        </section>
    }
    .into_any()
}
