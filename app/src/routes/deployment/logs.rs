//! The controller's log lines about a Flux deployment, on its page: read on request, then
//! followed over server-sent events while "Follow" is on.

use crate::error::AppError;
use leptos::prelude::*;

/// The most lines kept on the page while following.
#[cfg(feature = "hydrate")]
const KEPT: usize = 1000;

/// What the controller logged about the deployment lately, oldest first.
#[server(prefix = "/api", endpoint = "load_logs")]
pub async fn load_logs(id: String) -> Result<Vec<String>, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    let query = model::deployment::LogQuery::default();
    Ok(service
        .deployment_logs(&ctx, &crate::server::deployment(&id)?, &query)
        .await?)
}

/// One JSON log line as "time level message".
fn readable(line: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
        return line.to_owned();
    };
    let field = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    format!("{}  {:<5}  {}", field("ts"), field("level"), field("msg"))
}

/// The logs section.
#[component]
pub fn ControllerLogs(
    /// The deployment's id.
    id: String,
) -> impl IntoView {
    let id = StoredValue::new(id);
    let lines = RwSignal::new(Vec::<String>::new());
    let load = Action::new_local(move |(): &()| load_logs(id.get_value()));
    let following = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(read)) = load.value().get() {
            lines.set(read);
        }
    });
    #[cfg(feature = "hydrate")]
    let stream = follow(id, lines, following);
    #[cfg(not(feature = "hydrate"))]
    let stream = |_: bool| {};
    let toggle = move |_| {
        let on = !following.get_untracked();
        if on {
            load.dispatch(());
        }
        following.set(on);
        stream(on);
    };
    view! {
        <section class="logs-section" aria-labelledby="logs-heading" data-testid="controller-logs">
            <h2 id="logs-heading">"Controller logs"</h2>
            <div class="actions">
                <button type="button" on:click=move |_| { load.dispatch(()); } disabled=move || load.pending().get()>"Show recent lines"</button>
                <button type="button" aria-pressed=move || following.get().to_string() on:click=toggle>
                    {move || if following.get() { "Stop following" } else { "Follow" }}
                </button>
                {move || following.get().then(|| view! { <span class="muted" role="status">"Following: new lines appear as the controller writes them."</span> })}
            </div>
            {move || load.value().get().and_then(Result::err).map(|error: AppError| view! { <p class="error" role="alert">{error.0.message}</p> })}
            {move || {
                let shown = lines.get();
                (load.value().with(Option::is_some) || !shown.is_empty()).then(|| if shown.is_empty() {
                    view! { <p class="empty">"The controller has logged nothing about it lately."</p> }.into_any()
                } else {
                    view! { <pre class="logs" data-testid="logs" tabindex="0" aria-label="Log lines">{shown.iter().map(|l| readable(l) + "\n").collect::<String>()}</pre> }.into_any()
                })
            }}
        </section>
    }
}

/// Opens or closes the page's log stream; lines are appended as they arrive.
#[cfg(feature = "hydrate")]
fn follow(
    id: StoredValue<String>,
    lines: RwSignal<Vec<String>>,
    following: RwSignal<bool>,
) -> impl Fn(bool) + Copy + 'static {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    type Open =
        send_wrapper::SendWrapper<(web_sys::EventSource, Closure<dyn Fn(web_sys::MessageEvent)>)>;
    let open: StoredValue<Option<Open>> = StoredValue::new(None);
    let close = move || {
        if let Some(handle) = open.try_update_value(Option::take).flatten() {
            handle.0.close();
        }
    };
    on_cleanup(close);
    move |on: bool| {
        close();
        if !on {
            return;
        }
        let url = format!("/o2dms/v1/deployments/{}/logs/stream", id.get_value());
        let Ok(source) = web_sys::EventSource::new(&url) else {
            following.set(false);
            return;
        };
        let on_line =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                if let Some(line) = event.data().as_string() {
                    lines.update(|lines| {
                        lines.push(line);
                        let extra = lines.len().saturating_sub(KEPT);
                        lines.drain(..extra);
                    });
                }
            });
        let _ = source.add_event_listener_with_callback(
            model::live::LOG_EVENT,
            on_line.as_ref().unchecked_ref(),
        );
        open.set_value(Some(send_wrapper::SendWrapper::new((source, on_line))));
    }
}
