//! `/metrics` in Prometheus text format: the recorder behind the `metrics` facade (what
//! `control::metrics` reports), HTTP requests by route template, and the optional separate
//! listener (`server.metricsListen`).

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{Stream, StreamExt};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Latency buckets in seconds, from a cached page to a helm install's wait.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The process-wide recorder, installed on first use (tests start several servers in one
/// process; they share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        // The buckets are constant and valid; without them histograms are summaries.
        let builder = builder
            .set_buckets(BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        let upkeep = handle.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// The scrape endpoint.
pub async fn render() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

/// The scrape endpoint on the main listener: for platform-admins (a scraper sends an API
/// token of one), since the metrics count the whole fleet.
pub async fn render_signed_in(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    crate::rest::Caller(ctx): crate::rest::Caller,
) -> Result<Response, crate::rest::ApiError> {
    state.service.authorize_metrics(&ctx).await?;
    Ok(render().await)
}

/// Serves only `/metrics` on `listener` (`server.metricsListen`); scrapes go on while the
/// main listener drains, and the process's end stops it.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, Router::new().route("/metrics", get(render))).await
}

/// Counts and times every request by route template (never the path itself: object names
/// would make the labels unbounded), method and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("route", route),
        ("method", method),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("pilothouse_http_requests_total", &labels).increment(1);
    metrics::histogram!("pilothouse_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `items` as one more client of the live stream `name`, counted until it is dropped.
pub fn counted<S: Stream>(name: &'static str, items: S) -> impl Stream<Item = S::Item> {
    let client = StreamClient::open(name);
    items.map(move |item| {
        // The closure owns the guard, so the count lasts as long as the stream.
        let _counted = &client;
        item
    })
}

/// One client of a live stream, counted while it lives.
struct StreamClient(&'static str);

impl StreamClient {
    fn open(stream: &'static str) -> Self {
        control::metrics::sse_clients(stream, 1.0);
        Self(stream)
    }
}

impl Drop for StreamClient {
    fn drop(&mut self) {
        control::metrics::sse_clients(self.0, -1.0);
    }
}
