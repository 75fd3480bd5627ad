//! The audit log: search, filter by outcome, page through older rows. Auditors and
//! platform-admins see every row, tenant admins their tenants' rows.

use crate::error::AppError;
use crate::routes::encode;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::audit::{AuditRows, AuditSearch};

/// One page of the audit rows the caller may see.
#[server(prefix = "/api", endpoint = "search_audit", input = leptos::server_fn::codec::Json)]
pub async fn search_audit(search: AuditSearch) -> Result<AuditRows, AppError> {
    use control::audit::{AuditFilter, Outcome};
    let (ctx, service) = crate::server::caller().await?;
    let outcome = match search.outcome.as_deref().filter(|o| !o.is_empty()) {
        None => None,
        Some(name) => Some(Outcome::parse(name).ok_or_else(|| {
            control::Error::invalid(
                "outcome",
                format!("{name:?} is not one of success, failure, denied or pending"),
            )
        })?),
    };
    let filter = AuditFilter {
        text: search.text.filter(|t| !t.trim().is_empty()),
        action: search.action.filter(|a| !a.is_empty()),
        outcome,
        before: search.before,
        limit: Some(50),
        ..AuditFilter::default()
    };
    let page = service.query_audit(&ctx, &filter).await?;
    let rows = page
        .events
        .into_iter()
        .map(model::audit::AuditRow::from)
        .collect();
    Ok(AuditRows {
        rows,
        next_before: page.next_before,
    })
}

/// The audit page.
#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query_map();
    let search = move || {
        query.with(|q| AuditSearch {
            text: q.get("text"),
            outcome: q.get("outcome"),
            action: q.get("action"),
            before: q.get("before").and_then(|b| b.parse().ok()),
        })
    };
    let rows = Resource::new(search, search_audit);
    let text = move || query.with(|q| q.get("text").unwrap_or_default());
    let outcome = move || query.with(|q| q.get("outcome").unwrap_or_default());
    view! {
        <Title text="Audit" />
        <h1>"Audit"</h1>
        <form method="get" action="/audit" class="filters" role="search">
            <input type="search" name="text" placeholder="Search actions, targets, people, errors" prop:value=text />
            <select name="outcome" prop:value=outcome aria-label="Outcome">
                <option value="">"Any outcome"</option>
                <option value="success">"Success"</option>
                <option value="failure">"Failure"</option>
                <option value="denied">"Denied"</option>
                <option value="pending">"Pending"</option>
            </select>
            <button type="submit">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p class="empty">"Loading the audit log…"</p> }>
            {move || rows.get().map(|result| match result {
                Ok(page) => view! { <AuditTable page search=search() /> }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn AuditTable(page: AuditRows, search: AuditSearch) -> impl IntoView {
    if page.rows.is_empty() {
        return view! { <p class="empty">"No audit rows match."</p> }.into_any();
    }
    let older = page.next_before.map(|before| {
        let mut params = vec![format!("before={before}")];
        if let Some(text) = search.text.filter(|t| !t.is_empty()) {
            params.push(format!("text={}", encode(&text)));
        }
        if let Some(outcome) = search.outcome.filter(|o| !o.is_empty()) {
            params.push(format!("outcome={}", encode(&outcome)));
        }
        format!("/audit?{}", params.join("&"))
    });
    view! {
        <table class="table" data-testid="audit-table">
            <thead>
                <tr><th>"#"</th><th>"Time"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Phase"</th><th>"Outcome"</th></tr>
            </thead>
            <tbody>
                {page.rows.into_iter().map(|row| {
                    let class = format!("outcome-{}", row.outcome);
                    let error = row.error.clone().unwrap_or_default();
                    view! {
                    <tr class=class>
                        <td>{row.seq}</td>
                        <td>{row.time}</td>
                        <td>{row.actor}<span class="muted">{format!(" via {}", row.channel)}</span></td>
                        <td><code>{row.action}</code></td>
                        <td>{row.target}</td>
                        <td>{row.phase}</td>
                        <td title=error>{row.outcome}</td>
                    </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {older.map(|href| view! { <p><a href=href>"Older entries"</a></p> })}
    }
    .into_any()
}
