//! `cargo xtask soak [--minutes N]` (not in CI): 200 simulated users against two release
//! replicas and the sandbox holding the fleet, while the sandbox's statuses flap and faults
//! are injected: a Postgres restart, an API server restart, one replica killed in the middle
//! of operations, and a 5 s stall of one replica's access NOTIFY listener. Then it checks that
//! no change was silently lost, that interrupted operations were marked so and that the audit
//! chain verifies, and reports errors by status, latencies per route and RSS over time.

mod checks;
mod faults;
mod proxy;
mod report;
mod users;

use crate::fleet::{self, Stack};
use crate::server::ServerProcess;
use crate::{paths, setup, step};
use anyhow::{Context, bail};
use faults::{Injection, inject};
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
    let settled = checks::wait_settled(&pg)?;
    let checks = checks::check(&pg, &tally, &stack, &direct_url)?;
    let rss = rss.lock().map(|r| r.clone()).unwrap_or_default();
    let report = report::render(&tally, &faults, &checks, &rss, settled, length);
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
