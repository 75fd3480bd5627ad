//! A small HTTP/1.1 load generator for `cargo xtask bench`: each connection (hyper, kept
//! alive) sends one GET after another and times each answer until its body is read whole.

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty};
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

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(port: u16) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot connect to 127.0.0.1:{port}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

fn request(target: &Target, method: hyper::Method) -> anyhow::Result<Request<Empty<Bytes>>> {
    Ok(Request::builder()
        .method(method)
        .uri(&target.path)
        .header("host", format!("127.0.0.1:{}", target.port))
        .header("authorization", format!("Bearer {}", target.token))
        .header("accept", target.accept)
        .body(Empty::new())?)
}

async fn send(
    sender: &mut Sender,
    target: &Target,
    method: hyper::Method,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let answer = sender.send_request(request(target, method)?).await?;
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
