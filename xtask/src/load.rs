//! A small HTTP/1.1 client for `cargo xtask bench` and `soak`: each connection (hyper, kept
//! alive) sends one request after another and times each answer until its body is read whole.

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};

/// One URL on 127.0.0.1 and how to ask for it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The port.
    pub port: u16,
    /// Path and query.
    pub path: String,
    /// Sent as `Authorization: Bearer …`.
    pub token: String,
    /// The `Accept` header.
    pub accept: &'static str,
}

impl Target {
    /// A JSON GET of `path` on `port` with `token`.
    pub fn json(port: u16, path: impl Into<String>, token: &str) -> Self {
        Self {
            port,
            path: path.into(),
            token: token.to_owned(),
            accept: "application/json",
        }
    }
}

/// How long each connection keeps sending.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// This many requests per connection.
    Requests(usize),
    /// Until this much time has passed.
    For(Duration),
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Run {
    /// Each answered request's latency, sorted.
    pub latencies: Vec<Duration>,
    /// Answers that were not 200.
    pub failures: usize,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// The last answer's body, for checks on what was served.
    pub last_body: Bytes,
}

impl Run {
    /// The latency below which `q` (0–1) of the answers came.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[index.min(self.latencies.len() - 1)]
    }

    /// Answers per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `connections` connections against `target` until `limit`.
pub async fn run(target: &Target, connections: usize, limit: Limit) -> anyhow::Result<Run> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            connection(&target, limit, started).await
        }));
    }
    let mut all = Run {
        latencies: Vec::new(),
        failures: 0,
        elapsed: Duration::ZERO,
        last_body: Bytes::new(),
    };
    for task in tasks {
        let run = task.await.context("a load connection panicked")??;
        all.latencies.extend(run.latencies);
        all.failures += run.failures;
        all.last_body = run.last_body;
    }
    all.elapsed = started.elapsed();
    all.latencies.sort();
    Ok(all)
}

/// One GET on a fresh connection: its status and body.
pub async fn get(target: &Target) -> anyhow::Result<(StatusCode, Bytes)> {
    let mut sender = connect(target.port).await?;
    send(&mut sender, target, hyper::Method::GET).await
}

/// A POST with no body (for the sandbox's controls).
pub async fn post(target: &Target) -> anyhow::Result<(StatusCode, Bytes)> {
    let mut sender = connect(target.port).await?;
    send(&mut sender, target, hyper::Method::POST).await
}

/// A kept-alive connection to one port.
pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Opens a connection to `127.0.0.1:port`.
pub async fn connect(port: u16) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot connect to 127.0.0.1:{port}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A request beyond a plain GET: a JSON body and headers of its own.
#[derive(Debug, Default)]
pub struct Extra<'a> {
    /// Sent as `application/json`.
    pub json: Option<&'a serde_json::Value>,
    /// Further headers.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body's type when not `application/json`.
    pub content_type: Option<&'a str>,
    /// A body sent as it is (with `content_type`), instead of `json`.
    pub bytes: Option<&'a [u8]>,
}

fn request(
    target: &Target,
    method: hyper::Method,
    extra: &Extra<'_>,
) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(&target.path)
        .header("host", format!("127.0.0.1:{}", target.port))
        .header("authorization", format!("Bearer {}", target.token))
        .header("accept", target.accept);
    for (name, value) in extra.headers {
        builder = builder.header(*name, *value);
    }
    let body = match (extra.json, extra.bytes) {
        (Some(json), _) => {
            builder = builder.header(
                "content-type",
                extra.content_type.unwrap_or("application/json"),
            );
            Bytes::from(serde_json::to_vec(json)?)
        }
        (None, Some(bytes)) => {
            builder = builder.header(
                "content-type",
                extra.content_type.unwrap_or("application/octet-stream"),
            );
            Bytes::copy_from_slice(bytes)
        }
        (None, None) => Bytes::new(),
    };
    Ok(builder.body(Full::new(body))?)
}

async fn send(
    sender: &mut Sender,
    target: &Target,
    method: hyper::Method,
) -> anyhow::Result<(StatusCode, Bytes)> {
    send_with(sender, target, method, &Extra::default()).await
}

/// Sends one request on `sender` and reads the whole answer.
pub async fn send_with(
    sender: &mut Sender,
    target: &Target,
    method: hyper::Method,
    extra: &Extra<'_>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let answer = sender.send_request(request(target, method, extra)?).await?;
    let status = answer.status();
    let body = answer.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

async fn connection(target: &Target, limit: Limit, started: Instant) -> anyhow::Result<Run> {
    let mut sender = connect(target.port).await?;
    let mut run = Run {
        latencies: Vec::new(),
        failures: 0,
        elapsed: Duration::ZERO,
        last_body: Bytes::new(),
    };
    loop {
        match limit {
            Limit::Requests(n) if run.latencies.len() + run.failures >= n => break,
            Limit::For(d) if started.elapsed() >= d => break,
            _ => {}
        }
        let sent = Instant::now();
        let (status, body) = send(&mut sender, target, hyper::Method::GET).await?;
        if status == StatusCode::OK {
            run.latencies.push(sent.elapsed());
            run.last_body = body;
        } else {
            run.failures += 1;
            if run.failures > 10 && run.latencies.is_empty() {
                bail!(
                    "GET {} answers {status}: {}",
                    target.path,
                    String::from_utf8_lossy(&body)
                );
            }
        }
    }
    Ok(run)
}

/// Reads the event stream at `target` (sent with `headers`) until it ends or `until`, calling
/// `event` with each event's text (its `id:` and `data:` lines). An error when it cannot be
/// opened or is cut; Ok when it ended by itself or at `until`.
pub async fn stream(
    target: &Target,
    headers: &[(&str, &str)],
    until: Instant,
    mut event: impl FnMut(&str),
) -> anyhow::Result<()> {
    let mut sender = connect(target.port).await?;
    sender.ready().await?;
    let extra = Extra {
        headers,
        ..Extra::default()
    };
    let answer = sender
        .send_request(request(target, hyper::Method::GET, &extra)?)
        .await?;
    if answer.status() != StatusCode::OK {
        bail!("the stream answered {}", answer.status());
    }
    let mut body = answer.into_body();
    let mut pending = String::new();
    let deadline = tokio::time::Instant::from_std(until);
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) | Ok(None) => return Ok(()),
            Ok(Some(frame)) => frame?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = pending.find("\n\n") {
            let text: String = pending.drain(..end + 2).collect();
            if text.lines().any(|l| l.starts_with("data:")) {
                event(&text);
            }
        }
    }
}
