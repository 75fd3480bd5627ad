//! `cargo xtask soak [--minutes N]` (not in CI): 200 simulated users against two release
//! replicas and the sandbox holding the fleet, while the sandbox's statuses flap and faults
//! are injected: a Postgres restart, an API server restart, one replica killed in the middle
//! of operations, and a 5 s stall of one replica's access NOTIFY listener. Then it checks that
//! no change was silently lost, that interrupted operations were marked so and that the audit
//! chain verifies, and reports errors by status, latencies per route and RSS over time.

mod proxy;
mod users;

use crate::fleet::{self, Stack};
use crate::server::ServerProcess;
use crate::{paths, setup, step};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::postgres::PrivatePostgres;
use users::{Plan, Tally};

/// The live event stream.
pub const LIVE_PATH: &str = "/o2dms/v1/events/stream";

/// How many users.
const USERS: u64 = 200;

/// The database the replicas share.
const DATABASE: &str = "soak";

/// What happened to each injected fault.
#[derive(Default)]
struct Faults {
    /// (when, what, what was seen) lines.
    log: Vec<(Duration, String)>,
}

/// Runs the soak for `minutes` and prints the report (also in `target/soak/report.md`).
pub fn run(minutes: u64) -> anyhow::Result<()> {
    let tools = setup::run(setup::Needs::build())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let ports = [testkit::ports::free_port()?, testkit::ports::free_port()?];
    let stack = Stack::start(&tools, "soak-fleet", ports[0], &runtime)?;
    let dir = paths::root().join("target").join("soak");
    step("starting a private Postgres the soak may restart");
    let pg = PrivatePostgres::start(&dir.join("pg"), true)?;
    pg.ensure_database(DATABASE)?;
    let direct_url = pg.url(DATABASE);
    let tokens = stack.seed_tenant(&direct_url)?;
    let user_tokens = Arc::new(seed_users(&stack, &direct_url)?);
    // eve loses her membership while replica A's listener is stalled.
    stack.admin(
        &direct_url,
        &[
            "member", "add", "fleet", "--user", "eve", "--role", "viewer",
        ],
    )?;
    let eve =
        fleet::token(&stack.admin(&direct_url, &["--as", "eve", "token", "create", "soak"])?)?;
    let proxy = runtime.block_on(proxy::Proxy::start(pg.port()))?;
    // Replica A reaches Postgres through the proxy, B directly.
    let urls = [
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", proxy.port),
        direct_url.clone(),
    ];
    step("starting two release replicas");
    let start = |i: usize| {
        ServerProcess::start(
            &stack.binary,
            ports[i],
            &urls[i],
            &paths::site_root(),
            &stack.env,
        )
    };
    let replicas = Arc::new(Mutex::new([Some(start(0)?), Some(start(1)?)]));
    for port in ports {
        runtime.block_on(fleet::wait_ready(port))?;
    }
    runtime.block_on(install_releases(ports[0], &tokens.admin, &dir))?;
    let length = Duration::from_secs(minutes.max(1) * 60);
    let began = Instant::now();
    let until = began + length;
    let plan = Plan {
        replicas: ports,
        tokens: user_tokens,
        until,
    };
    let tally = Arc::new(Tally::default());
    step(&format!(
        "{USERS} users for {} min; faults at 20 %, 35 %, 50 % and 70 % of the run",
        length.as_secs() / 60
    ));
    let pg = Arc::new(Mutex::new(pg));
    let rss = Arc::new(Mutex::new(Vec::<(Duration, [f64; 2])>::new()));
    let faults = runtime.block_on(async {
        let mut tasks = Vec::new();
        for user in 0..USERS {
            tasks.push(tokio::spawn(users::user(user, plan.clone(), tally.clone())));
            tasks.push(tokio::spawn(users::stream(
                user,
                plan.clone(),
                tally.clone(),
            )));
        }
        tasks.push(tokio::spawn(users::flapper(
            stack.cluster.port,
            stack.cluster.admin_token.clone(),
            until,
        )));
        let sampler = {
            let (replicas, rss) = (replicas.clone(), rss.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let pids = replicas
                        .lock()
                        .map(|r| r.each_ref().map(|p| p.as_ref().map(ServerProcess::pid)))
                        .unwrap_or_default();
                    let sample = pids.map(|pid| pid.map_or(0.0, fleet::rss_mib));
                    if let Ok(mut rss) = rss.lock() {
                        rss.push((began.elapsed(), sample));
                    }
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            })
        };
        let faults = inject(Injection {
            began,
            length,
            pg: pg.clone(),
            replicas: replicas.clone(),
            start: &start,
            proxy: &proxy,
            stack: &stack,
            direct_url: &direct_url,
            eve: &eve,
            ports,
        })
        .await;
        for task in tasks {
            let _ = task.await;
        }
        let _ = sampler.await;
        faults
    })?;
    step("waiting for open operations to end (interrupted ones are marked after 30 s)");
    let pg = pg.lock().ok().context("the Postgres handle is poisoned")?;
    let settled = wait_settled(&pg)?;
    let checks = check(&pg, &tally, &stack, &direct_url)?;
    let rss = rss.lock().map(|r| r.clone()).unwrap_or_default();
    let report = render(&tally, &faults, &checks, &rss, settled, length);
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("report.md");
    std::fs::write(&file, &report).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!("{report}\n    (also in {})", file.display());
    if !checks.lost.is_empty() || !checks.chain_verified {
        bail!("the soak found changes lost or a broken audit chain: see the report");
    }
    Ok(())
}

/// Gives every simulated user an identity of its own and an API token: `admin-N` holds
/// platform-admin, `op-N` is an operator of tenant `fleet`. Rate limits are per user, so
/// sharing one token would measure the limiter.
fn seed_users(stack: &Stack, url: &str) -> anyhow::Result<Vec<String>> {
    step(&format!("{USERS} users, each with a role and an API token"));
    let mut tokens = Vec::new();
    for user in 0..USERS {
        let name = if users::is_admin(user) {
            let name = format!("admin-{user}");
            stack.admin(url, &["role", "grant", "platform-admin", "--user", &name])?;
            name
        } else {
            let name = format!("op-{user}");
            stack.admin(
                url,
                &[
                    "member", "add", "fleet", "--user", &name, "--role", "operator",
                ],
            )?;
            name
        };
        tokens.push(fleet::token(
            &stack.admin(url, &["--as", &name, "token", "create", "soak"])?,
        )?);
    }
    Ok(tokens)
}

/// Packages a small chart with helm, uploads it to each of the tenant's first namespaces and
/// installs release `soak-N` from it there, so that the users' Helm upgrades run helm.
async fn install_releases(port: u16, token: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    step("packaging a chart and installing the releases the users upgrade");
    let chart = dir.join("chart");
    std::fs::create_dir_all(chart.join("templates"))?;
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: soak\nversion: 0.1.0\n",
    )?;
    std::fs::write(chart.join("values.yaml"), "replicaCount: 1\n")?;
    std::fs::write(
        chart.join("templates").join("configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicaCount | quote }}\n",
    )?;
    crate::site::run(
        std::process::Command::new(crate::helm::ensure()?)
            .arg("package")
            .arg(&chart)
            .arg("--destination")
            .arg(dir),
        "helm package",
    )?;
    let archive = std::fs::read(dir.join("soak-0.1.0.tgz"))?;
    let mut sender = crate::load::connect(port).await?;
    for r in 0..users::RELEASES {
        let namespace = format!("fleet-{r:03}");
        let upload = crate::load::Target::json(
            port,
            format!("/o2dms/v1/packages?namespace={namespace}"),
            token,
        );
        let extra = crate::load::Extra {
            bytes: Some(&archive),
            ..Default::default()
        };
        let (status, body) =
            crate::load::send_with(&mut sender, &upload, hyper::Method::POST, &extra).await?;
        if !status.is_success() && status != hyper::StatusCode::CONFLICT {
            bail!(
                "uploading the chart to {namespace}: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
        let create = crate::load::Target::json(port, "/o2dms/v1/deployments", token);
        let request = serde_json::json!({ "name": format!("soak-{r}"), "namespace": namespace,
            "packageId": "soak-0.1.0" });
        let extra = crate::load::Extra {
            json: Some(&request),
            ..Default::default()
        };
        let (status, body) =
            crate::load::send_with(&mut sender, &create, hyper::Method::POST, &extra).await?;
        if !status.is_success() {
            bail!(
                "installing soak-{r}: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    Ok(())
}

/// What the fault injector works on.
struct Injection<'a> {
    began: Instant,
    length: Duration,
    pg: Arc<Mutex<PrivatePostgres>>,
    replicas: Arc<Mutex<[Option<ServerProcess>; 2]>>,
    start: &'a dyn Fn(usize) -> anyhow::Result<ServerProcess>,
    proxy: &'a proxy::Proxy,
    stack: &'a Stack,
    direct_url: &'a str,
    eve: &'a str,
    ports: [u16; 2],
}

impl Injection<'_> {
    async fn at(&self, fraction: f64) {
        let when = self.began + self.length.mul_f64(fraction);
        tokio::time::sleep_until(tokio::time::Instant::from_std(when)).await;
    }
}

async fn inject(run: Injection<'_>) -> anyhow::Result<Faults> {
    let mut faults = Faults::default();
    let mut note = |what: String| {
        eprintln!("    fault: {what}");
        faults.log.push((run.began.elapsed(), what));
    };

    run.at(0.2).await;
    let pg = run.pg.clone();
    let restarted = tokio::task::spawn_blocking(move || {
        pg.lock()
            .ok()
            .map(|mut pg| pg.restart(Duration::from_secs(3)))
    })
    .await?;
    note(match restarted {
        Some(Ok(())) => "Postgres restarted (fast shutdown, 3 s down)".into(),
        other => format!("Postgres restart failed: {other:?}"),
    });

    run.at(0.35).await;
    let sandbox = crate::load::Target::json(
        run.stack.cluster.port,
        "/sandbox/restart?downMs=2000",
        &run.stack.cluster.admin_token,
    );
    let (status, _) = crate::load::post(&sandbox).await?;
    note(format!("sandbox API server restarted (2 s down): {status}"));

    run.at(0.5).await;
    // Helm upgrades on replica B first, so that it dies in the middle of operations.
    let admin = run
        .stack
        .admin(run.direct_url, &["token", "create", "soak-kill"]);
    let token = fleet::token(&admin?)?;
    for r in 0..5 {
        let target = crate::load::Target::json(
            run.ports[1],
            format!("/o2dms/v1/deployments/fleet-{r:03}/soak-{r}?kind=Release"),
            &token,
        );
        let body = serde_json::json!({ "values": { "soakKill": r } });
        let headers = [("prefer", "respond-async"), ("x-request-id", "soak-kill")];
        let extra = crate::load::Extra {
            json: Some(&body),
            headers: &headers,
            ..Default::default()
        };
        if let Ok(mut sender) = crate::load::connect(run.ports[1]).await {
            let _ =
                crate::load::send_with(&mut sender, &target, hyper::Method::PATCH, &extra).await;
        }
    }
    let pid = run
        .replicas
        .lock()
        .ok()
        .and_then(|r| r[1].as_ref().map(ServerProcess::pid));
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        // Dropping the handle reaps the killed process.
        if let Ok(mut replicas) = run.replicas.lock() {
            replicas[1] = None;
        }
    }
    note("replica B killed (SIGKILL) with 5 Helm upgrades in flight".into());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let again = tokio::task::block_in_place(|| (run.start)(1));
    note(match again {
        Ok(process) => {
            if let Ok(mut replicas) = run.replicas.lock() {
                replicas[1] = Some(process);
            }
            "replica B started again after 5 s".into()
        }
        Err(error) => format!("replica B did not start again: {error:#}"),
    });

    run.at(0.7).await;
    note(stall_listener(&run).await);
    Ok(faults)
}

/// Stalls replica A's access listener for 5 s, takes eve's membership away meanwhile, and
/// says how long after the stall replica A stopped showing eve the tenant's deployments.
async fn stall_listener(run: &Injection<'_>) -> String {
    let pg = run.pg.clone();
    let listening = tokio::task::spawn_blocking(move || {
        pg.lock().ok().map(|pg| {
            pg.query(
                DATABASE,
                "SELECT client_port FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'",
            )
        })
    })
    .await;
    let ports: Vec<u16> = match listening {
        Ok(Some(Ok(out))) => out.lines().filter_map(|l| l.trim().parse().ok()).collect(),
        other => return format!("could not find the listeners: {other:?}"),
    };
    let mine = run.proxy.own(&ports);
    if mine.is_empty() {
        return format!("replica A's listener was not among the LISTEN connections {ports:?}");
    }
    let eve_sees = async || -> Option<u64> {
        let target = crate::load::Target::json(
            run.ports[0],
            "/o2dms/v1/deployments?namespace=fleet-000&limit=1",
            run.eve,
        );
        let (status, body) = crate::load::get(&target).await.ok()?;
        if !status.is_success() {
            return Some(0);
        }
        serde_json::from_slice::<serde_json::Value>(&body).ok()?["total"].as_u64()
    };
    let before = eve_sees().await;
    let stall = run.proxy.stall(&mine, Duration::from_secs(5));
    let revoke = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let removed = tokio::task::block_in_place(|| {
            run.stack.admin(
                run.direct_url,
                &["member", "remove", "fleet", "--user", "eve"],
            )
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        (removed.is_ok(), eve_sees().await)
    };
    let (stalled, (removed, during)) = tokio::join!(stall, revoke);
    if let Err(error) = stalled {
        return format!("the stall failed: {error:#}");
    }
    let ended = Instant::now();
    let mut after = None;
    while ended.elapsed() < Duration::from_secs(60) {
        if eve_sees().await == Some(0) {
            after = Some(ended.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    format!(
        "replica A's NOTIFY listener stalled 5 s; eve saw {before:?} deployments before, membership removed: {removed}, \
         {during:?} 2 s into the stall (cached), and none {} after the stall ended",
        after.map_or("even 60 s".into(), |d| format!("{:.2} s", d.as_secs_f64()))
    )
}

/// Waits until no operation is pending or running (at most 3 minutes); how long it took.
fn wait_settled(pg: &PrivatePostgres) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let open = pg.query(
            DATABASE,
            "SELECT count(*) FROM operations WHERE state IN ('pending', 'running')",
        )?;
        if open.trim() == "0" {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!(
                "{} operations were still open 3 minutes after the soak",
                open.trim()
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// What the checks after the run found.
struct Checks {
    /// Changes by what the client saw and what the audit log holds.
    outcomes: BTreeMap<(String, String), u64>,
    /// Changes answered as done or accepted with no audited outcome, and audited intents with
    /// no outcome: each a loss.
    lost: Vec<String>,
    /// Operations by final state.
    operations: Vec<(String, u64)>,
    /// Whether `pilothouse audit verify` passed.
    chain_verified: bool,
    /// Its output.
    chain: String,
}

fn check(pg: &PrivatePostgres, tally: &Tally, stack: &Stack, url: &str) -> anyhow::Result<Checks> {
    step("checking every change against the audit log");
    // request id → phases and outcomes audited for it.
    let mut audited: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let rows = pg.query(
        DATABASE,
        "SELECT request_id, phase, coalesce(outcome, '') FROM audit_log \
         WHERE request_id LIKE 'soak-%' ORDER BY seq",
    )?;
    for line in rows.lines() {
        let mut fields = line.split('|');
        if let (Some(id), Some(phase), Some(outcome)) =
            (fields.next(), fields.next(), fields.next())
        {
            audited
                .entry(id.to_owned())
                .or_default()
                .push((phase.to_owned(), outcome.to_owned()));
        }
    }
    let mut outcomes = BTreeMap::new();
    let mut lost = Vec::new();
    let changes = tally.changes.lock().map(|c| c.clone()).unwrap_or_default();
    for change in &changes {
        let rows = audited.get(&change.request_id).cloned().unwrap_or_default();
        let ended = |outcome: &str| rows.iter().any(|(p, o)| p == "outcome" && o == outcome);
        let record = if rows
            .iter()
            .any(|(p, o)| p == "denied" || (p == "outcome" && o == "denied"))
        {
            "refused (audited as denied)"
        } else if ended("success") {
            "applied (audited success)"
        } else if ended("failure") {
            "failed (audited failure)"
        } else if rows.iter().any(|(p, _)| p == "intent") {
            "intent audited, no outcome"
        } else if change.status == Some(429) {
            // Throttled before anything was decided: the client is told to retry.
            "throttled (not audited: nothing was decided)"
        } else {
            "nothing audited"
        };
        let seen = match change.status {
            None => "no answer".to_owned(),
            Some(code) => format!("{}xx", code / 100),
        };
        *outcomes
            .entry((seen.clone(), record.to_owned()))
            .or_insert(0) += 1;
        let answered_done = matches!(change.status, Some(200..=299));
        if (answered_done && matches!(record, "nothing audited" | "refused (audited as denied)"))
            || record == "intent audited, no outcome"
        {
            lost.push(format!(
                "{} ({}): answered {seen}, {record}",
                change.request_id, change.what
            ));
        }
    }
    let operations = pg
        .query(
            DATABASE,
            "SELECT CASE WHEN error LIKE 'interrupted%' THEN 'interrupted' ELSE state END, count(*) \
             FROM operations GROUP BY 1 ORDER BY 1",
        )?
        .lines()
        .filter_map(|l| {
            let (state, n) = l.split_once('|')?;
            Some((state.to_owned(), n.trim().parse().ok()?))
        })
        .collect();
    let verify = std::process::Command::new(&stack.binary)
        .args(["audit", "verify"])
        .env("PILOTHOUSE_DATABASE_URL", url)
        .envs(stack.env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .context("cannot run pilothouse audit verify")?;
    Ok(Checks {
        outcomes,
        lost,
        operations,
        chain_verified: verify.status.success(),
        chain: format!(
            "{}{}",
            String::from_utf8_lossy(&verify.stdout).trim(),
            String::from_utf8_lossy(&verify.stderr).trim()
        ),
    })
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn render(
    tally: &Tally,
    faults: &Faults,
    checks: &Checks,
    rss: &[(Duration, [f64; 2])],
    settled: Duration,
    length: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nSoak: {USERS} users, each with its own API token (a fifth platform-admins, the rest operators of a tenant with 10 namespaces), for {} min against two release replicas; \
         every user holds a live stream; a HelmRelease status flaps every 100 ms.\n",
        length.as_secs() / 60
    );
    let _ = writeln!(out, "| at | fault |\n|---|---|");
    for (at, what) in &faults.log {
        let _ = writeln!(out, "| {:.0} s | {what} |", at.as_secs_f64());
    }
    let _ = writeln!(
        out,
        "\n| route | answers | p50 | p99 | by status |\n|---|---|---|---|---|"
    );
    let latencies = tally
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    let statuses = tally.statuses.lock().map(|s| s.clone()).unwrap_or_default();
    let routes: std::collections::BTreeSet<&str> = statuses.keys().map(|(r, _)| *r).collect();
    for route in routes {
        let mut times = latencies.get(route).cloned().unwrap_or_default();
        times.sort();
        let by_status: Vec<String> = statuses
            .iter()
            .filter(|((r, _), _)| *r == route)
            .map(|((_, code), n)| match code {
                0 => format!("no answer × {n}"),
                code => format!("{code} × {n}"),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {route} | {} | {} | {} | {} |",
            times.len(),
            ms(quantile(&times, 0.5)),
            ms(quantile(&times, 0.99)),
            by_status.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nlive events received: {}; streams resumed after ending: {}",
        tally.events.load(Ordering::Relaxed),
        tally.reconnects.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "\n| change answered | audit log | changes |\n|---|---|---|"
    );
    for ((seen, record), n) in &checks.outcomes {
        let _ = writeln!(out, "| {seen} | {record} | {n} |");
    }
    let _ = writeln!(
        out,
        "\nchanges lost (answered as done with no audited outcome, or an intent never ended): {}",
        checks.lost.len()
    );
    for line in checks.lost.iter().take(20) {
        let _ = writeln!(out, "- {line}");
    }
    let operations: Vec<String> = checks
        .operations
        .iter()
        .map(|(state, n)| format!("{state} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "operations: {} (all ended {:.0} s after the run)",
        operations.join(", "),
        settled.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "audit chain: {} ({})",
        if checks.chain_verified {
            "verified"
        } else {
            "**BROKEN**"
        },
        checks.chain
    );
    let _ = writeln!(
        out,
        "\n| at | RSS replica A | RSS replica B |\n|---|---|---|"
    );
    for (at, [a, b]) in rss.iter().step_by(3) {
        let _ = writeln!(
            out,
            "| {:.0} s | {a:.0} MiB | {b:.0} MiB |",
            at.as_secs_f64()
        );
    }
    // Flat after warm-up: replica A (never restarted) from the first fifth to the end.
    let warm: Vec<f64> = rss
        .iter()
        .filter(|(at, _)| *at >= length / 5)
        .map(|(_, [a, _])| *a)
        .collect();
    if let (Some(first), Some(last)) = (warm.first(), warm.last()) {
        let peak = warm.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "\nreplica A after warm-up: {first:.0} MiB → {last:.0} MiB (peak {peak:.0} MiB, {:+.1} %; goal: within 10 %)",
            (last - first) / first.max(1.0) * 100.0
        );
    }
    out
}
