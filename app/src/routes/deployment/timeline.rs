//! The deployment's timeline: revisions, who ran what on it (from the audit log) and each
//! reconcile's outcome, newest first.

use crate::error::AppError;
use leptos::prelude::*;
use model::timeline::{Moment, TimelineEntry};

/// Entries shown before "show all".
const FIRST: usize = 15;

/// The timeline, newest first.
#[server(prefix = "/api", endpoint = "load_timeline")]
pub async fn load_timeline(id: String) -> Result<Vec<TimelineEntry>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service
        .deployment_timeline(&ctx, &crate::server::deployment(&id)?)
        .await?)
}

/// The timeline section; `refresh` moves whenever the page learns of a change.
#[component]
pub fn Timeline(
    /// The deployment's id.
    id: String,
    /// Moves on each change the page sees (live or its own actions).
    refresh: Signal<u64>,
) -> impl IntoView {
    let id = StoredValue::new(id);
    let entries = Resource::new(
        move || (id.get_value(), refresh.get()),
        |(id, _)| load_timeline(id),
    );
    let all = RwSignal::new(false);
    view! {
        <h2>"Timeline"</h2>
        <Transition fallback=|| view! { <p class="empty">"Loading the timeline…"</p> }>
            {move || entries.get().map(|result| match result {
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing has happened yet."</p> }.into_any(),
                Ok(list) => {
                    let more = list.len() > FIRST;
                    let shown: Vec<TimelineEntry> = if all.get() { list } else { list.into_iter().take(FIRST).collect() };
                    view! {
                        <ol class="timeline" data-testid="timeline">
                            {shown.into_iter().map(|e| {
                                let moment = match e.moment {
                                    Moment::Revision => "revision",
                                    Moment::Change => "change",
                                    Moment::Reconcile => "reconcile",
                                };
                                view! {
                                    <li class=format!("tl-{moment} tl-{}", e.outcome) data-moment=moment>
                                        <time datetime=e.at.clone()>{e.at.replace('T', " ").chars().take(19).collect::<String>()}</time>
                                        " "<span class="tl-kind">{moment}</span>" "
                                        <strong>{e.title}</strong>
                                        {e.who.map(|who| view! { " by " <span class="tl-who">{who}</span> })}
                                        " "<span class=format!("badge tl-outcome-{}", e.outcome)>{e.outcome.clone()}</span>
                                        {(!e.detail.is_empty()).then(|| view! { <div class="muted tl-detail">{e.detail}</div> })}
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                        {(more && !all.get()).then(|| view! {
                            <button type="button" class="link" on:click=move |_| all.set(true)>"Show the whole timeline"</button>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}
