//! The live event stream: server-sent events of every deployment change the caller may see,
//! numbered for `Last-Event-ID`. Streams end first at shutdown, so draining is not held up.

use super::ApiError;
use super::Caller;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use control::service::LiveItem;
use futures::StreamExt;
use model::live::{LiveChange, OPERATION_EVENT, RESYNC_EVENT};
use std::convert::Infallible;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The event routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// Deployment and toolkit changes as they happen (`text/event-stream`). Each `deployment`
/// event's data is a deployment's change, each `toolkit` event's a source's, image or
/// notification object's; each `operation` event's data is a tracked operation (yours, or one in a
/// namespace you may list) as it started, reported a step or ended; `resync` says changes
/// were missed, so reload and go on. Reconnect with
/// `Last-Event-ID` to get what was missed meanwhile.
#[utoipa::path(get, path = "/o2dms/v1/events/stream", tag = "events",
    params(("Last-Event-ID" = Option<u64>, Header, description = "The last event received.")),
    responses((status = 200, content_type = "text/event-stream", body = LiveChange,
        description = "`deployment` and `toolkit` events carrying a change, `operation` events carrying an operation, `resync` events.")))]
async fn stream(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let items = state.service.live_events(&ctx, after).await?;
    let events = crate::metrics::counted("events", items)
        .map(|item| Ok::<_, Infallible>(event(&item)))
        .take_until(state.streams_end.clone().cancelled_owned());
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn event(item: &LiveItem) -> Event {
    match item {
        LiveItem::Change { id, event, json } => Event::default()
            .id(id.to_string())
            .event(*event)
            .data(&**json),
        LiveItem::Operation { id, json } => Event::default()
            .id(id.to_string())
            .event(OPERATION_EVENT)
            .data(&**json),
        LiveItem::Resync { id } => Event::default()
            .id(id.to_string())
            .event(RESYNC_EVENT)
            .data("reload"),
    }
}
