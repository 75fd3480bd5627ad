//! A server-sent event stream read as a browser's EventSource would read it.

use super::TestEnv;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use std::time::Duration;
use tower::ServiceExt;

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub event: String,
    pub id: String,
    pub data: String,
}

/// An open stream, read as a browser's EventSource would.
pub struct EventStream {
    body: Body,
    buffer: String,
    pub ended: bool,
}

impl EventStream {
    pub async fn open(env: &TestEnv, token: &str, last_event_id: Option<&str>) -> Self {
        Self::open_at(env, "/o2dms/v1/events/stream", token, last_event_id).await
    }

    pub async fn open_at(
        env: &TestEnv,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        match Self::try_open_at(env, path, token, last_event_id).await {
            Ok(stream) => stream,
            Err((status, body)) => panic!("{path}: {status} {body}"),
        }
    }

    /// The stream, or the status and body it was refused with.
    pub async fn try_open_at(
        env: &TestEnv,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Result<Self, (StatusCode, String)> {
        let mut request = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = env
            .router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("router");
        if response.status() != StatusCode::OK {
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            return Err((status, String::from_utf8_lossy(&body).into_owned()));
        }
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        Ok(Self {
            body: response.into_body(),
            buffer: String::new(),
            ended: false,
        })
    }

    /// The next event within `limit` (keep-alive comments skipped); None when none came or
    /// the stream ended.
    pub async fn next(&mut self, limit: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut sse = Sse {
                    event: String::new(),
                    id: String::new(),
                    data: String::new(),
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        sse.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        sse.id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        sse.data.push_str(v.trim_start());
                    }
                }
                if !sse.event.is_empty() {
                    return Some(sse);
                }
                continue;
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return None,
                Ok(None | Some(Err(_))) => self.ended = true,
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        self.buffer.push_str(&String::from_utf8_lossy(data));
                    }
                }
            }
        }
    }

    /// Every event up to the first whose data contains `needle` (included), within `limit`.
    pub async fn until(&mut self, needle: &str, limit: Duration) -> Vec<Sse> {
        self.until_all(&[needle], limit).await
    }

    /// Every event until each of `needles` has been in one's data, within `limit`. (Changes
    /// of different kinds come through different watches, in no fixed order.)
    pub async fn until_all(&mut self, needles: &[&str], limit: Duration) -> Vec<Sse> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut seen: Vec<Sse> = Vec::new();
        let missing = |seen: &[Sse]| {
            needles
                .iter()
                .filter(|n| !seen.iter().any(|e| e.data.contains(**n)))
                .count()
        };
        while let Some(sse) = self
            .next(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            seen.push(sse);
            if missing(&seen) == 0 {
                return seen;
            }
        }
        panic!("no event about each of {needles:?} within {limit:?}; saw {seen:?}");
    }

    /// Reads until an event's data contains `needle`, for as long as events keep coming: it
    /// fails only when `idle` passes without any event (the pipeline stalled), however long a
    /// slow machine takes to deliver the thousands before it. Answers how many were read.
    pub async fn until_while_progressing(&mut self, needle: &str, idle: Duration) -> usize {
        let mut read = 0;
        loop {
            match self.next(idle).await {
                Some(sse) if sse.data.contains(needle) => return read + 1,
                Some(_) => read += 1,
                None => panic!(
                    "no event for {idle:?} after {read} events, and none contained {needle:?}"
                ),
            }
        }
    }
}
