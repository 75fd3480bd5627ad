//! The soak's load: simulated users reading pages and changing deployments on either replica
//! (falling over to the other when one is gone), each holding a live stream, and a flapper
//! that changes statuses in the sandbox the way controllers do.

use crate::load::{self, Extra, Target};
use hyper::{Method, StatusCode};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Who the simulated users are and where they go.
#[derive(Clone)]
pub struct Plan {
    /// The two replicas' ports.
    pub replicas: [u16; 2],
    /// Each user's API token: user `u` is a platform-admin when `u` is a multiple of 5,
    /// otherwise an operator of tenant `fleet` (namespaces fleet-000…009).
    pub tokens: Arc<Vec<String>>,
    /// When to stop.
    pub until: Instant,
}

/// Whether user `user` is a platform-admin.
pub fn is_admin(user: u64) -> bool {
    user.is_multiple_of(5)
}

/// The Helm releases the soak installs from its own package, one in each of the tenant's
/// namespaces: `soak-N` in `fleet-00N`.
pub const RELEASES: u64 = 10;

/// One change a user asked for, and what the client saw.
#[derive(Debug, Clone)]
pub struct Change {
    /// Sent as `x-request-id`, so the audit rows can be found.
    pub request_id: String,
    /// What it was.
    pub what: &'static str,
    /// The answer's status, or None when no answer came (connection refused or cut).
    pub status: Option<u16>,
}

/// What the users measured.
#[derive(Default)]
pub struct Tally {
    /// Latencies per route, in the order they came.
    pub latencies: Mutex<BTreeMap<&'static str, Vec<Duration>>>,
    /// Answers per (route, status); status 0 is "no answer".
    pub statuses: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Every change sent.
    pub changes: Mutex<Vec<Change>>,
    /// Live events received over all streams.
    pub events: AtomicU64,
    /// Live streams opened again after they ended.
    pub reconnects: AtomicU64,
}

impl Tally {
    fn record(&self, route: &'static str, status: Option<StatusCode>, took: Duration) {
        let code = status.map_or(0, |s| s.as_u16());
        if let Ok(mut statuses) = self.statuses.lock() {
            *statuses.entry((route, code)).or_default() += 1;
        }
        if status.is_some()
            && let Ok(mut latencies) = self.latencies.lock()
        {
            latencies.entry(route).or_default().push(took);
        }
    }
}

/// A small xorshift generator: the soak needs variety, not statistics.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// A user's request.
struct Ask {
    route: &'static str,
    method: Method,
    path: String,
    accept: &'static str,
    body: Option<serde_json::Value>,
}

impl Ask {
    fn get(route: &'static str, path: String) -> Self {
        Self {
            route,
            method: Method::GET,
            path,
            accept: "application/json",
            body: None,
        }
    }
}

/// A deployment of the fleet: HelmRelease `app-i`, Kustomization `cfg-i` and Helm release
/// `svc-r` live in namespace `fleet-(i mod 500)`.
fn helm_release(i: u64) -> (String, String) {
    (format!("fleet-{:03}", i % 500), format!("app-{i:05}"))
}

/// What a user does next: 90 % reads, 10 % changes. An operator keeps to the tenant's
/// namespaces except for one change in ten, which must be refused.
fn next_ask(rng: &mut Rng, admin: bool) -> Ask {
    // The tenant's HelmReleases are those whose number is 0–9 mod 500.
    let pick = |rng: &mut Rng| {
        if admin {
            rng.below(10_000)
        } else {
            rng.below(20) * 500 + rng.below(10)
        }
    };
    let roll = rng.below(100);
    let (namespace, name) = helm_release(pick(rng));
    let one = format!("/o2dms/v1/deployments/{namespace}/{name}");
    match roll {
        0..30 => {
            let filter = ["", "&status=failed", "&text=app-001", "&kind=Kustomization"]
                [rng.below(4) as usize];
            Ask::get(
                "GET /deployments (JSON)",
                format!("/o2dms/v1/deployments?limit=50{filter}"),
            )
        }
        30..45 => Ask {
            accept: "text/html",
            ..Ask::get(
                "GET /deployments (page)",
                "/deployments?status=failed".into(),
            )
        },
        45..65 => Ask::get(
            "GET /deployments/{ns}/{name}",
            format!("{one}?kind=HelmRelease"),
        ),
        65..75 => Ask::get("GET …/history", format!("{one}/history?kind=HelmRelease")),
        75..90 => Ask::get("GET /operations", "/o2dms/v1/operations?mine=true".into()),
        _ => change(rng, admin, &namespace, &name),
    }
}

fn change(rng: &mut Rng, admin: bool, namespace: &str, name: &str) -> Ask {
    // One of an operator's changes in ten goes outside the tenant's namespaces.
    let (namespace, name) = if !admin && rng.below(10) == 0 {
        helm_release(100)
    } else {
        (namespace.to_owned(), name.to_owned())
    };
    let one = format!("/o2dms/v1/deployments/{namespace}/{name}");
    let replicas = rng.below(5) + 1;
    let post = |route, path: String, body| Ask {
        route,
        method: Method::POST,
        path,
        accept: "application/json",
        body: Some(body),
    };
    match rng.below(10) {
        0..3 => post(
            "POST …/scale",
            format!("{one}/scale?kind=HelmRelease"),
            // Taking over the field from the fleet's Git-applied values, as an operator would.
            serde_json::json!({ "replicas": replicas, "force": true }),
        ),
        3..5 => post(
            "POST …/suspend",
            format!("{one}/suspend?kind=HelmRelease"),
            serde_json::json!({ "reason": "soak" }),
        ),
        5..7 => post(
            "POST …/resume",
            format!("{one}/resume?kind=HelmRelease"),
            serde_json::json!({}),
        ),
        7..9 => Ask {
            method: Method::PATCH,
            ..post(
                "PATCH … values",
                format!("{one}?kind=HelmRelease"),
                serde_json::json!({ "values": { "replicaCount": replicas }, "force": true }),
            )
        },
        _ => {
            // A Helm upgrade by the real helm binary, of a release the soak installed.
            let r = rng.below(RELEASES);
            Ask {
                method: Method::PATCH,
                ..post(
                    "PATCH … values (helm upgrade)",
                    format!("/o2dms/v1/deployments/fleet-{r:03}/soak-{r}?kind=Release"),
                    serde_json::json!({ "values": { "replicaCount": replicas } }),
                )
            }
        }
    }
}

/// Runs user `user` until the plan's end: one request, then a pause of 1–3 s.
pub async fn user(user: u64, plan: Plan, tally: Arc<Tally>) {
    let mut rng = Rng::new(user + 1);
    let admin = is_admin(user);
    let token = &plan.tokens[user as usize];
    let mut home = (user % 2) as usize;
    let mut senders: [Option<load::Sender>; 2] = [None, None];
    let mut sent = 0u64;
    // Start spread out, as users do.
    tokio::time::sleep(Duration::from_millis(rng.below(3000))).await;
    while Instant::now() < plan.until {
        let ask = next_ask(&mut rng, admin);
        sent += 1;
        let request_id = format!("soak-{user}-{sent}");
        let mut outcome = None;
        // The home replica first; when it does not answer, the other, as a load balancer does.
        for attempt in 0..2 {
            let replica = (home + attempt) % 2;
            let target = Target {
                accept: ask.accept,
                ..Target::json(plan.replicas[replica], ask.path.clone(), token)
            };
            let headers = [("x-request-id", request_id.as_str())];
            let extra = Extra {
                json: ask.body.as_ref(),
                headers: &headers,
                ..Extra::default()
            };
            let started = Instant::now();
            let answer = match senders[replica].as_mut() {
                Some(sender) => load::send_with(sender, &target, ask.method.clone(), &extra).await,
                None => match load::connect(target.port).await {
                    Ok(sender) => {
                        let sender = senders[replica].insert(sender);
                        load::send_with(sender, &target, ask.method.clone(), &extra).await
                    }
                    Err(error) => Err(error),
                },
            };
            match answer {
                Ok((status, _)) => {
                    tally.record(ask.route, Some(status), started.elapsed());
                    outcome = Some(status.as_u16());
                    home = replica;
                    break;
                }
                Err(_) => {
                    senders[replica] = None;
                    // A change is not sent twice: the first replica may have acted on it.
                    if ask.body.is_some() {
                        break;
                    }
                }
            }
        }
        if outcome.is_none() {
            tally.record(ask.route, None, Duration::ZERO);
        }
        if ask.body.is_some()
            && let Ok(mut changes) = tally.changes.lock()
        {
            changes.push(Change {
                request_id,
                what: ask.route,
                status: outcome,
            });
        }
        tokio::time::sleep(Duration::from_millis(1000 + rng.below(2000))).await;
    }
}

/// Holds one live stream on replica `replica` (the other while it is gone) until the end,
/// resuming from the last event id whenever it ends.
pub async fn stream(user: u64, plan: Plan, tally: Arc<Tally>) {
    let token = &plan.tokens[user as usize];
    let mut replica = (user % 2) as usize;
    let mut last_id: Option<String> = None;
    let mut first = true;
    while Instant::now() < plan.until {
        if !first {
            tally.reconnects.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        first = false;
        let target = Target {
            accept: "text/event-stream",
            ..Target::json(plan.replicas[replica], crate::soak::LIVE_PATH, token)
        };
        let resume_from = last_id.clone();
        let headers: Vec<(&str, &str)> = resume_from
            .as_deref()
            .map(|id| vec![("last-event-id", id)])
            .unwrap_or_default();
        let events = load::stream(&target, &headers, plan.until, |frame| {
            tally.events.fetch_add(1, Ordering::Relaxed);
            if let Some(id) = frame.lines().find_map(|l| l.strip_prefix("id:")) {
                last_id = Some(id.trim().to_owned());
            }
        })
        .await;
        if events.is_err() {
            replica = 1 - replica;
        }
    }
}

/// Flips the Ready condition of a random HelmRelease in the sandbox every 100 ms, as a
/// controller whose objects flap would.
pub async fn flapper(sandbox: u16, token: String, until: Instant) {
    let mut rng = Rng::new(7);
    let Ok(mut sender) = load::connect(sandbox).await else {
        return;
    };
    while Instant::now() < until {
        let (namespace, name) = helm_release(rng.below(10_000));
        let ready = if rng.below(2) == 0 { "True" } else { "False" };
        let body = serde_json::json!({ "status": { "conditions": [{
            "type": "Ready", "status": ready, "reason": "SoakFlap",
            "message": "flapped by the soak", "lastTransitionTime": "2026-12-07T00:00:00Z",
            "observedGeneration": 1 }] } });
        let target = Target::json(
            sandbox,
            format!(
                "/apis/helm.toolkit.fluxcd.io/v2/namespaces/{namespace}/helmreleases/{name}/status"
            ),
            &token,
        );
        let extra = Extra {
            json: Some(&body),
            content_type: Some("application/merge-patch+json"),
            ..Extra::default()
        };
        if load::send_with(&mut sender, &target, Method::PATCH, &extra)
            .await
            .is_err()
        {
            // The sandbox restarted: connect again.
            tokio::time::sleep(Duration::from_millis(500)).await;
            match load::connect(sandbox).await {
                Ok(fresh) => sender = fresh,
                Err(_) => continue,
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
