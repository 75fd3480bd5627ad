//! Who is signed in, for the header: name and roles.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in user as the header shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    /// Name, email or subject, whichever is best known.
    pub display: String,
    /// The OIDC subject.
    pub subject: String,
    /// Roles in words, e.g. `platform-admin` or `operator of team-a`.
    pub roles: Vec<String>,
}

/// The signed-in user and their roles.
#[server(prefix = "/api", endpoint = "whoami")]
pub async fn whoami() -> Result<SignedInUser, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let grants = service.grants(&ctx).await?;
    let mut roles: Vec<String> = grants
        .global
        .iter()
        .map(|(role, _)| role.to_string())
        .collect();
    roles.extend(
        grants
            .tenants
            .iter()
            .map(|(tenant, grant)| format!("{} of {tenant}", grant.role)),
    );
    let principal = ctx.principal;
    Ok(SignedInUser {
        display: principal
            .name
            .clone()
            .or(principal.email.clone())
            .unwrap_or(principal.subject.clone()),
        subject: principal.subject,
        roles,
    })
}

/// Name, roles and the sign-out button.
#[component]
pub fn UserMenu() -> impl IntoView {
    let me = Resource::new(|| (), |()| whoami());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                me.get()
                    .map(|result| match result {
                        Ok(me) => {
                            let roles = if me.roles.is_empty() {
                                "no roles yet".to_owned()
                            } else {
                                me.roles.join(", ")
                            };
                            view! {
                                <div class="user" data-testid="user">
                                    <span class="user-name" title=me.subject.clone()>{me.display.clone()}</span>
                                    <span class="user-roles" data-testid="roles">{roles}</span>
                                    <a href="/tokens" class="user-tokens">"API tokens"</a>
                                    <a href="/api-docs" class="user-tokens">"API reference"</a>
                                    <form method="post" action="/auth/logout" class="logout">
                                        <button type="submit" data-testid="sign-out">"Sign out"</button>
                                    </form>
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! { <span class="user-error">{error.0.message}</span> }.into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
