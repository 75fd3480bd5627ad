//! WATCH requests: the kept history after a resourceVersion (or a list as ADDED events, or a
//! streaming list), then live changes, with bookmarks; ended by a timeout or a simulated
//! restart.

use crate::error::ApiError;
use crate::handlers::Ctx;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::Change;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// A watch: replays kept changes after `resourceVersion` (or the current objects as ADDED
/// when none is given, or when `sendInitialEvents` asks for a streaming list), then streams
/// new ones; BOOKMARKs when asked for.
pub fn serve(
    ctx: &Ctx,
    rt: ResourceType,
    namespace: Option<String>,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?;
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let timeout = Duration::from_secs(
        query
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .unwrap_or(1800)
            .min(3600),
    );
    // A streaming list (client-go's WatchListClient): the current objects, then a bookmark
    // that marks the end of the initial events.
    let send_initial = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let since: Option<u64> = match query.get("resourceVersion").map(String::as_str) {
        _ if send_initial => None,
        None | Some("") | Some("0") => None,
        Some(rv) => Some(
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let mut initial = Vec::new();
    let (backlog, receiver) = match since {
        Some(since) => match ctx.store.watch_from(since) {
            Ok(found) => found,
            // As kube-apiserver does: a 200 stream whose one event is the 410 Status.
            Err(gone) if gone.code == 410 => {
                let mut line =
                    serde_json::to_vec(&json!({ "type": "ERROR", "object": gone.to_status() }))
                        .unwrap_or_default();
                line.push(b'\n');
                return Ok(([(header::CONTENT_TYPE, "application/json")], line).into_response());
            }
            Err(error) => return Err(error),
        },
        None => {
            let (_, receiver) = ctx.store.watch_from(ctx.store.revision())?;
            let page = ctx
                .store
                .list(&rt, namespace.as_deref(), &labels, &fields, None, None)?;
            initial = page
                .items
                .into_iter()
                .map(|object| json!({ "type": "ADDED", "object": object }))
                .collect();
            (Vec::new(), receiver)
        }
    };
    let selects = {
        let rt = rt.clone();
        move |change: &Change| {
            change.group == rt.group
                && change.plural == rt.plural
                && namespace.as_deref().is_none_or(|ns| {
                    change
                        .object
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        == Some(ns)
                })
                && labels.matches(change.object.pointer("/metadata/labels"))
                && fields.matches(&change.object)
        }
    };
    let event = |change: &Change| json!({ "type": change.kind, "object": change.object });
    let mut first: Vec<Value> = initial;
    let mut last = since.unwrap_or(0);
    for change in backlog.iter().filter(|c| selects(c)) {
        last = last.max(change.revision);
        first.push(event(change));
    }
    let api_version = rt.api_version();
    let kind = rt.kind.clone();
    let bookmark = move |revision: u64| json!({ "type": "BOOKMARK", "object": { "kind": kind, "apiVersion": api_version, "metadata": { "resourceVersion": revision.to_string() } } });
    if send_initial {
        let mut end = bookmark(ctx.store.revision());
        end["object"]["metadata"]["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        first.push(end);
    } else if bookmarks {
        first.push(bookmark(ctx.store.revision()));
    }
    let store = ctx.store.clone();
    let live = futures::stream::unfold((receiver, last), move |(mut receiver, last)| {
        let selects = selects.clone();
        let bookmark = bookmark.clone();
        let store = store.clone();
        async move {
            loop {
                let next = tokio::time::timeout(Duration::from_secs(5), receiver.recv()).await;
                match next {
                    Ok(Ok(change)) if change.revision > last && selects(&change) => {
                        let revision = change.revision;
                        return Some((
                            json!({ "type": change.kind, "object": change.object }),
                            (receiver, revision),
                        ));
                    }
                    Ok(Ok(_)) => continue,
                    // Too slow to keep up, or the store is gone: end the watch; clients re-watch.
                    Ok(Err(_)) => return None,
                    Err(_) if bookmarks => {
                        return Some((bookmark(store.revision()), (receiver, last)));
                    }
                    Err(_) => continue,
                }
            }
        }
    });
    let stream = futures::stream::iter(first)
        .chain(live)
        .take_until(tokio::time::sleep(timeout))
        .take_until(ctx.outages.next_restart())
        .map(|event| {
            let mut line = serde_json::to_vec(&event).unwrap_or_default();
            line.push(b'\n');
            Ok::<_, std::convert::Infallible>(Bytes::from(line))
        });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}
