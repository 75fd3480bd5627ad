//! API tokens: one's own, and the service tokens of tenants one administers. A new token's
//! secret is shown once, right after it is made.

use super::admin::{DNS_LABEL, FieldError, FormError, refusal};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use model::tokens::{ApiToken, IssuedToken};

/// The caller's tokens and those of the service principals they administer.
#[server(prefix = "/api", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_tokens(&ctx).await?)
}

/// Makes a token; blank fields mean "not narrowed" and "the longest lifetime allowed".
#[server(prefix = "/api", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    expires_in_days: String,
    tenant: String,
    service: String,
    read_only: Option<String>,
) -> Result<IssuedToken, AppError> {
    let (ctx, control) = crate::server::caller().await?;
    let blank = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let expires_in_days = match blank(&expires_in_days) {
        None => None,
        Some(days) => Some(days.parse::<u32>().map_err(|_| {
            AppError::from(control::Error::invalid(
                "expires in days",
                "must be a whole number of days",
            ))
        })?),
    };
    let request = model::tokens::NewToken {
        name,
        expires_in_days,
        tenant: blank(&tenant),
        read_only: read_only.is_some(),
        service: blank(&service),
    };
    Ok(control.create_token(&ctx, &request).await?)
}

/// Revokes a token.
#[server(prefix = "/api", endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.revoke_token(&ctx, &id).await?)
}

const FIELDS: &[&str] = &["name", "expires in days", "tenant", "service"];

/// The API tokens page.
#[component]
pub fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let error = refusal(create.value());
    let revoke_error = refusal(revoke.value());
    let issued = move || create.value().get().and_then(Result::ok);
    // A token made by a plain form post (before the page hydrates) would come back as a
    // redirect without its secret, so the button waits for the page's script.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title text="API tokens" />
        <h1>"API tokens"</h1>
        <p class="muted">
            "Send a token as " <code>"Authorization: Bearer ph_…"</code>
            " to call the API from scripts and pipelines. It acts with your roles (or a service principal's), narrowed as you choose."
        </p>
        <section class="panel" data-testid="new-token">
            <h2>"New token"</h2>
            <ActionForm action=create attr:class="filters" attr:data-testid="create-token">
                <label>"Name"
                    <input name="name" required maxlength="100" placeholder="ci-pipeline" />
                    <FieldError error field="name" />
                </label>
                <label>"Expires in (days)"
                    <input name="expires_in_days" type="number" min="1" placeholder="the maximum" />
                    <FieldError error field="expires in days" />
                </label>
                <label>"Only tenant"
                    <input name="tenant" pattern=DNS_LABEL maxlength="63" placeholder="any of mine" />
                    <FieldError error field="tenant" />
                </label>
                <label>"Service principal"
                    <input name="service" pattern=DNS_LABEL maxlength="63" placeholder="myself" />
                    <FieldError error field="service" />
                </label>
                <label class="check"><input type="checkbox" name="read_only" value="on" />"read-only"</label>
                <button type="submit" disabled=move || !hydrated.get()>"Create token"</button>
            </ActionForm>
            <FormError error fields=FIELDS />
            {move || issued().map(|IssuedToken { token, secret }| view! {
                <div class="issued" role="status" data-testid="issued-token">
                    <p>"Token " <strong>{token.name}</strong> " for " <code>{token.subject}</code>
                        ". Copy it now: it is not stored and will not be shown again."</p>
                    <code class="secret" data-testid="token-secret">{secret}</code>
                </div>
            })}
        </section>
        <section class="panel">
            <h2>"Tokens"</h2>
            <FormError error=revoke_error fields=&[] />
            <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || tokens.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty">"No tokens yet."</p>
                    }.into_any(),
                    Ok(list) => view! { <TokenTable list revoke /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TokenTable(list: Vec<ApiToken>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    view! {
        <table class="table" data-testid="tokens-table">
            <thead><tr>
                <th>"Name"</th><th>"Acts as"</th><th>"Narrowed to"</th><th>"Expires"</th>
                <th>"Last used"</th><th>"State"</th><th></th>
            </tr></thead>
            <tbody>{list.into_iter().map(|token| {
                let narrowed = match (&token.tenant, token.read_only) {
                    (Some(tenant), true) => format!("tenant {tenant}, read-only"),
                    (Some(tenant), false) => format!("tenant {tenant}"),
                    (None, true) => "read-only".to_owned(),
                    (None, false) => "nothing".to_owned(),
                };
                let revoked = token.revoked_at.is_some();
                let state = if revoked { "revoked" } else { "active" };
                let id = token.id.clone();
                let key = token.name.clone();
                view! {
                    <tr data-token=key>
                        <td>{token.name}</td>
                        <td><code>{token.subject}</code></td>
                        <td>{narrowed}</td>
                        <td>{day(&token.expires_at)}</td>
                        <td>{token.last_used_at.as_deref().map_or_else(|| "never".to_owned(), day)}</td>
                        <td><span class="badge">{state}</span></td>
                        <td>{(!revoked).then(|| view! {
                            <ActionForm action=revoke attr:class="inline">
                                <input type="hidden" name="id" value=id />
                                <button type="submit" class="danger">"Revoke"</button>
                            </ActionForm>
                        })}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// The date and minute of an RFC 3339 time.
fn day(time: &str) -> String {
    time.get(..16).unwrap_or(time).replace('T', " ")
}
