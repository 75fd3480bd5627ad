//! `cargo xtask bench`'s fleet scenario: the release server against a sandbox holding 10,000
//! HelmReleases and 10,000 Kustomizations in 500 namespaces and 1,000 Helm releases × 3
//! revisions, read over HTTP with API tokens by a platform-admin and by a tenant user whose
//! tenant owns 10 namespaces. Prints the figures, the goals of the performance issue, and
//! which are met. Asserts nothing: the tests never time anything.

use crate::cluster::Cluster;
use crate::database::Database;
use crate::identity::Identity;
use crate::load::{self, Limit, Run, Target};
use crate::server::ServerProcess;
use crate::setup::Tools;
use crate::{paths, site, step};
use anyhow::{Context, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Namespaces the tenant owns: fleet-000 … fleet-009 (400 deployments).
const TENANT_NAMESPACES: usize = 10;
/// Requests per latency sample, after as many warm-up requests as a tenth of it.
const SAMPLE: usize = 300;
/// How long each throughput run lasts.
const LOAD_FOR: Duration = Duration::from_secs(5);

/// The release binaries, the demo identity provider and a sandbox holding the fleet, with
/// the settings a server needs to use them (the bench's and the soak's).
pub struct Stack {
    /// The release server binary.
    pub binary: PathBuf,
    /// The sandbox holding the fleet.
    pub cluster: Cluster,
    /// The server's settings for the provider, the sandbox and helm.
    pub env: Vec<(&'static str, String)>,
    _identity: Identity,
}

impl Stack {
    /// Builds the release server and sandbox, starts the provider (for a server on
    /// `public_port`) and the sandbox, and waits until the fleet is written.
    pub fn start(
        tools: &Tools,
        name: &str,
        public_port: u16,
        runtime: &tokio::runtime::Runtime,
    ) -> anyhow::Result<Self> {
        step("building the server and the sandbox (release)");
        site::run(
            tools.toolchain.cargo().args([
                "build",
                "--release",
                "--package",
                "server",
                "--package",
                "sandbox",
            ]),
            "cargo build --release (server, sandbox)",
        )?;
        if !paths::site_root().join("hash.txt").exists() {
            site::build_bundle(tools, site::Profile::Dev)?;
        }
        let release = tools.toolchain.target_dir().join("release");
        let identity = Identity::start(&format!("http://127.0.0.1:{public_port}"))?;
        let seeding = Instant::now();
        let cluster = Cluster::start_fleet(&release.join("sandbox"), name)?;
        let sandbox = |path: &str| Target::json(cluster.port, path, &cluster.admin_token);
        runtime.block_on(wait_for_fleet(&sandbox(
            "/api/v1/namespaces/fleet-499/secrets/sh.helm.release.v1.svc-0999.v3",
        )))?;
        eprintln!("    fleet written in {:.1?}", seeding.elapsed());
        let mut env = identity.server_env();
        env.extend(cluster.server_env());
        env.push((
            "PILOTHOUSE_HELM_BINARY",
            crate::helm::ensure()?.display().to_string(),
        ));
        env.push(("PILOTHOUSE_LOG", "warn".into()));
        Ok(Self {
            binary: release.join("pilothouse"),
            cluster,
            env,
            _identity: identity,
        })
    }

    /// Runs `pilothouse admin ARGS` against `database_url` and returns what it printed.
    pub fn admin(&self, database_url: &str, args: &[&str]) -> anyhow::Result<String> {
        admin_cli(&self.binary, database_url, &self.env, args)
    }

    /// Tenant `fleet` owns fleet-000…009 and alice operates it; API tokens for the
    /// platform-admin and for alice.
    pub fn seed_tenant(&self, database_url: &str) -> anyhow::Result<Tokens> {
        step("tenant fleet owns fleet-000…009; alice operates it; tokens for admin and alice");
        let admin = |args: &[&str]| self.admin(database_url, args);
        admin(&["tenant", "create", "fleet"])?;
        for n in 0..TENANT_NAMESPACES {
            admin(&[
                "namespace",
                "assign",
                &format!("fleet-{n:03}"),
                "--tenant",
                "fleet",
            ])?;
        }
        admin(&[
            "member", "add", "fleet", "--user", "alice", "--role", "operator",
        ])?;
        Ok(Tokens {
            admin: token(&admin(&["token", "create", "bench"])?)?,
            alice: token(&admin(&["--as", "alice", "token", "create", "bench"])?)?,
        })
    }
}

/// API token secrets of the seeded users.
pub struct Tokens {
    /// The platform-admin's.
    pub admin: String,
    /// alice's, operator of tenant fleet.
    pub alice: String,
}

/// Builds, starts and measures everything; prints the report.
pub fn run(tools: &Tools, database: &Database) -> anyhow::Result<()> {
    let database_url = database.url_for("fleet")?;
    // The browser's first view is measured with the bundle users get.
    site::build_bundle(tools, site::Profile::Release)?;
    let port = testkit::ports::free_port()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stack = Stack::start(tools, "bench-fleet", port, &runtime)?;
    let tokens = stack.seed_tenant(&database_url)?;

    step("starting the release server and waiting for its caches (/readyz)");
    let started = Instant::now();
    let server = ServerProcess::start(
        &stack.binary,
        port,
        &database_url,
        &paths::site_root(),
        &stack.env,
    )?;
    runtime.block_on(wait_ready(port))?;
    let synced = started.elapsed();
    let rss_synced = rss_mib(server.pid());

    let mut report = runtime.block_on(measure(Users {
        port,
        admin: tokens.admin.clone(),
        alice: tokens.alice,
        cluster: &stack.cluster,
    }))?;
    step("the first view of /deployments in Chromium (release bundle, cached), 20 loads");
    report.first_view = Some(first_view(port, &tokens.admin)?);
    let rss_loaded = rss_mib(server.pid());
    let rendered = report.render(synced, rss_synced, rss_loaded);
    let file = paths::root()
        .join("target")
        .join("bench-fleet")
        .join("report.md");
    std::fs::write(&file, &rendered).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!("{rendered}\n    (also in {})", file.display());
    Ok(())
}

/// Who reads, and where.
struct Users<'a> {
    port: u16,
    admin: String,
    alice: String,
    cluster: &'a Cluster,
}

impl Users<'_> {
    fn admin(&self, path: &str) -> Target {
        Target::json(self.port, path, &self.admin)
    }

    fn alice(&self, path: &str) -> Target {
        Target::json(self.port, path, &self.alice)
    }
}

/// Sequential latencies of one read.
struct Sample {
    what: &'static str,
    run: Run,
    /// The page's `total`; None for HTML.
    total: Option<u64>,
}

/// Requests per second at several connection counts.
struct Throughput {
    what: &'static str,
    runs: Vec<(usize, Run)>,
}

/// How long caches took to be current again after a simulated API server restart.
struct Recovery {
    what: &'static str,
    current_after: Duration,
    saw_as_of: bool,
    relists: u64,
}

struct Report {
    samples: Vec<Sample>,
    throughput: Vec<Throughput>,
    full_list: Duration,
    full_list_objects: usize,
    helm_list: Option<Duration>,
    recoveries: Vec<Recovery>,
    first_view: Option<FirstView>,
}

/// When Chromium had the HTML of `/deployments` and when the page had hydrated (ms from the
/// start of navigation), sorted.
struct FirstView {
    html: Vec<f64>,
    hydrated: Vec<f64>,
}

impl FirstView {
    fn median(values: &[f64]) -> f64 {
        values.get(values.len() / 2).copied().unwrap_or_default()
    }
}

/// Loads `/deployments` as the platform-admin in Chromium (`end2end/bench/first-view.mjs`).
fn first_view(port: u16, token: &str) -> anyhow::Result<FirstView> {
    let output = Command::new("node")
        .arg("bench/first-view.mjs")
        .current_dir(paths::end2end())
        .env("BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("TOKEN", token)
        .env("CHROMIUM", crate::e2e::CHROMIUM)
        .output()
        .context("cannot run node")?;
    if !output.status.success() {
        bail!(
            "the first-view measurement failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let loads: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout)
        .context("the first-view measurement printed no JSON")?;
    if let Some(empty) = loads
        .iter()
        .find(|l| l["rows"].as_u64().unwrap_or_default() == 0)
    {
        bail!("/deployments showed no rows in Chromium: {empty}");
    }
    let times = |key: &str| {
        let mut values: Vec<f64> = loads.iter().filter_map(|l| l[key].as_f64()).collect();
        values.sort_by(f64::total_cmp);
        values
    };
    let view = FirstView {
        html: times("html"),
        hydrated: times("hydrated"),
    };
    eprintln!(
        "    HTML received {:.0} ms, hydrated {:.0} ms (medians)",
        FirstView::median(&view.html),
        FirstView::median(&view.hydrated)
    );
    Ok(view)
}

async fn measure(users: Users<'_>) -> anyhow::Result<Report> {
    let deep_admin = "after=default~fleet-400~HelmRelease~app-00400";
    let deep_alice = "after=default~fleet-008~HelmRelease~app-00008";
    let reads: [(&'static str, Target); 10] = [
        (
            "platform-admin, first page, filtered by status",
            users.admin("/o2dms/v1/deployments?status=failed&limit=50"),
        ),
        (
            "platform-admin, first page, unfiltered",
            users.admin("/o2dms/v1/deployments?limit=50"),
        ),
        (
            "platform-admin, deep page (row 16,000), filtered",
            users.admin(&format!(
                "/o2dms/v1/deployments?status=failed&limit=50&{deep_admin}"
            )),
        ),
        (
            "platform-admin, deep page (row 16,000), unfiltered",
            users.admin(&format!("/o2dms/v1/deployments?limit=50&{deep_admin}")),
        ),
        (
            "platform-admin, free-text search",
            users.admin("/o2dms/v1/deployments?text=app-0012&limit=50"),
        ),
        (
            "platform-admin, Helm releases page",
            users.admin("/o2dms/v1/deployments?kind=Release&limit=50"),
        ),
        (
            "tenant user, first page (400 visible)",
            users.alice("/o2dms/v1/deployments?limit=50"),
        ),
        (
            "tenant user, filtered by status",
            users.alice("/o2dms/v1/deployments?status=failed&limit=50"),
        ),
        (
            "tenant user, deep page (row 320)",
            users.alice(&format!("/o2dms/v1/deployments?limit=50&{deep_alice}")),
        ),
        (
            "platform-admin, SSR list page, filtered (HTML)",
            Target {
                accept: "text/html",
                ..users.admin("/deployments?status=failed")
            },
        ),
    ];
    step("latency: one connection, one request after another");
    let mut samples = Vec::new();
    for (what, target) in &reads {
        load::run(target, 1, Limit::Requests(SAMPLE / 10)).await?;
        let run = load::run(target, 1, Limit::Requests(SAMPLE)).await?;
        let total = serde_json::from_slice::<serde_json::Value>(&run.last_body)
            .ok()
            .and_then(|page| page["total"].as_u64());
        eprintln!(
            "    {what}: p50 {:.2?}, p99 {:.2?}",
            run.quantile(0.5),
            run.quantile(0.99)
        );
        samples.push(Sample { what, run, total });
    }
    step("throughput: 1, 10 and 50 connections");
    let mut throughput = Vec::new();
    for (what, target, counts) in [
        (reads[0].0, &reads[0].1, &[1, 10, 50][..]),
        (reads[6].0, &reads[6].1, &[1, 10, 50][..]),
        (reads[9].0, &reads[9].1, &[1, 10][..]),
    ] {
        let mut runs = Vec::new();
        for &connections in counts {
            let run = load::run(target, connections, Limit::For(LOAD_FOR)).await?;
            eprintln!(
                "    {what} × {connections}: {:.0} req/s, p99 {:.2?}, {} failed",
                run.rate(),
                run.quantile(0.99),
                run.failures
            );
            runs.push((connections, run));
        }
        throughput.push(Throughput { what, runs });
    }
    step("one full LIST of both kinds from the API server, as kubectl get -A -o json does");
    let (full_list, full_list_objects) = full_list(users.cluster).await?;
    let helm_list = helm_list(&users.cluster.kubeconfig);
    step("simulated API server restarts (watches cut, 1 s down)");
    let mut recoveries = Vec::new();
    for (what, compact) in [
        ("watches resume", false),
        ("history compacted: re-list", true),
    ] {
        recoveries.push(recover(&users, what, compact).await?);
    }
    Ok(Report {
        samples,
        throughput,
        full_list,
        full_list_objects,
        helm_list,
        recoveries,
        first_view: None,
    })
}

/// The median of three full LISTs (HelmReleases then Kustomizations) and the objects listed.
async fn full_list(cluster: &Cluster) -> anyhow::Result<(Duration, usize)> {
    let mut times = Vec::new();
    let mut objects = 0;
    for _ in 0..3 {
        let started = Instant::now();
        objects = 0;
        for path in [
            "/apis/helm.toolkit.fluxcd.io/v2/helmreleases",
            "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
        ] {
            let target = Target::json(cluster.port, path, &cluster.admin_token);
            let (status, body) = load::get(&target).await?;
            if !status.is_success() {
                bail!("LIST {path} answered {status}");
            }
            let list: serde_json::Value = serde_json::from_slice(&body)?;
            objects += list["items"].as_array().map_or(0, Vec::len);
        }
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[1], objects))
}

/// `helm list --all-namespaces` over the fleet's release Secrets, as Pilothouse's account.
fn helm_list(kubeconfig: &Path) -> Option<Duration> {
    let helm = crate::helm::ensure().ok()?;
    let home = paths::root()
        .join("target")
        .join("bench-fleet")
        .join("helm");
    let started = Instant::now();
    let output = Command::new(helm)
        .args(["list", "--all-namespaces", "--max", "0", "--kubeconfig"])
        .arg(kubeconfig)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .output()
        .ok()?;
    output.status.success().then(|| started.elapsed())
}

/// Restarts the sandbox's API (1 s down) and times until the admin's page no longer says
/// "as of": the caches are current again.
async fn recover(users: &Users<'_>, what: &'static str, compact: bool) -> anyhow::Result<Recovery> {
    let sandbox = |path: &str| Target::json(users.cluster.port, path, &users.cluster.admin_token);
    let lists = async || -> anyhow::Result<u64> {
        let (_, body) = load::get(&sandbox("/sandbox/requests")).await?;
        Ok(serde_json::from_slice::<serde_json::Value>(&body)?["lists"]
            .as_u64()
            .unwrap_or_default())
    };
    let before = lists().await?;
    let page = users.admin("/o2dms/v1/deployments?limit=50");
    let started = Instant::now();
    let (status, _) = load::post(&sandbox(&format!(
        "/sandbox/restart?downMs=1000&compact={compact}"
    )))
    .await?;
    if !status.is_success() {
        bail!("the sandbox refused the restart: {status}");
    }
    let mut saw_as_of = false;
    loop {
        let (status, body) = load::get(&page).await?;
        let stale = status.is_success()
            && serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|page| page.get("asOf").is_some_and(|v| !v.is_null()));
        saw_as_of |= stale;
        // Until the outage is over nothing is current; after it, the first page without asOf.
        if !stale && saw_as_of {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the caches were not current again within 120 s of the restart");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let current_after = started.elapsed();
    eprintln!("    {what}: current again {current_after:.2?} after the restart");
    Ok(Recovery {
        what,
        current_after,
        saw_as_of,
        relists: lists().await?.saturating_sub(before),
    })
}

async fn wait_for_fleet(target: &Target) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(600) {
        if load::get(target)
            .await
            .is_ok_and(|(status, _)| status.is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("the sandbox did not finish writing the fleet within 600 s")
}

/// Waits until the server on `port` answers `/readyz` (its caches are synced).
pub async fn wait_ready(port: u16) -> anyhow::Result<()> {
    let started = Instant::now();
    let target = Target::json(port, "/readyz", "");
    while started.elapsed() < Duration::from_secs(600) {
        if load::get(&target)
            .await
            .is_ok_and(|(status, _)| status.is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server was not ready within 600 s")
}

/// Runs `pilothouse admin ARGS` and returns what it printed.
fn admin_cli(
    binary: &Path,
    database_url: &str,
    env: &[(&str, String)],
    args: &[&str],
) -> anyhow::Result<String> {
    let output = Command::new(binary)
        .arg("admin")
        .args(args)
        .env("PILOTHOUSE_DATABASE_URL", database_url)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "pilothouse admin {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The secret of a token `pilothouse admin token create` printed.
pub fn token(issued: &str) -> anyhow::Result<String> {
    let issued: serde_json::Value = serde_json::from_str(issued)?;
    issued["secret"]
        .as_str()
        .map(str::to_owned)
        .context("no secret in the issued token")
}

/// The process's resident set, in MiB, from /proc.
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmRSS:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// One goal of the performance issue and whether the run met it.
struct Goal {
    read: String,
    measured: String,
    goal: &'static str,
    met: bool,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

impl Report {
    fn goals(&self) -> Vec<Goal> {
        let mut goals = Vec::new();
        let latency = |sample: &Sample| Goal {
            read: sample.what.into(),
            measured: format!(
                "p50 {}, p99 {}",
                ms(sample.run.quantile(0.5)),
                ms(sample.run.quantile(0.99))
            ),
            goal: "≤ 10 ms",
            met: sample.run.quantile(0.5) <= Duration::from_millis(10),
        };
        let throughput = |read: &str, run: &Run, rate: f64, goal: &'static str| Goal {
            read: read.into(),
            measured: format!("{:.0} req/s, p99 {}", run.rate(), ms(run.quantile(0.99))),
            goal,
            met: run.rate() >= rate && run.quantile(0.99) <= Duration::from_millis(50),
        };
        let filtered = &self.samples[0].run;
        goals.push(latency(&self.samples[0]));
        let ratio = self.full_list.as_secs_f64() / filtered.quantile(0.5).as_secs_f64().max(1e-9);
        goals.push(Goal {
            read: format!(
                "the same page against one full LIST of all {} ({})",
                self.full_list_objects,
                ms(self.full_list)
            ),
            measured: format!("1/{ratio:.0}"),
            goal: "≤ 1/500",
            met: ratio >= 500.0,
        });
        let at =
            |t: &Throughput, n: usize| t.runs.iter().find(|(c, _)| *c == n).map(|(_, r)| r.clone());
        if let Some(run) = at(&self.throughput[0], 10) {
            goals.push(throughput(
                "the same page, 10 concurrent clients",
                &run,
                1000.0,
                "≥ 1,000 req/s, p99 ≤ 50 ms",
            ));
        }
        if let Some(run) = at(&self.throughput[1], 50) {
            goals.push(throughput(
                "tenant's 50-row page, 50 concurrent clients",
                &run,
                3000.0,
                "≥ 3,000 req/s, p99 ≤ 50 ms",
            ));
        }
        goals.push(latency(&self.samples[1]));
        if let Some(ssr) = self.samples.iter().find(|s| s.total.is_none()) {
            goals.push(Goal {
                goal: "≤ 10 ms",
                ..latency(ssr)
            });
        }
        if let Some(text) = self.samples.iter().find(|s| s.what.contains("free-text")) {
            goals.push(Goal {
                goal: "≤ 2 ms",
                met: text.run.quantile(0.5) <= Duration::from_millis(2),
                ..latency(text)
            });
        }
        if let Some(view) = &self.first_view {
            let hydrated = FirstView::median(&view.hydrated);
            goals.push(Goal {
                read: "first view of /deployments in Chromium, hydrated (release bundle)".into(),
                measured: format!(
                    "median {hydrated:.0} ms (HTML received {:.0} ms)",
                    FirstView::median(&view.html)
                ),
                goal: "≤ 300 ms",
                met: hydrated <= 300.0,
            });
        }
        for recovery in &self.recoveries {
            goals.push(Goal {
                read: format!(
                    "after an API server restart ({}), caches current again",
                    recovery.what
                ),
                measured: format!(
                    "{:.2} s from the restart (1 s of it down), {} LIST request{}{}",
                    recovery.current_after.as_secs_f64(),
                    recovery.relists,
                    if recovery.relists == 1 { "" } else { "s" },
                    if recovery.saw_as_of {
                        ", pages said \"as of\" meanwhile"
                    } else {
                        ""
                    }
                ),
                goal: if recovery.what == "watches resume" {
                    "≤ 5 s, no re-list"
                } else {
                    "≤ 5 s"
                },
                met: recovery.current_after <= Duration::from_secs(5)
                    && (recovery.relists == 0 || recovery.what != "watches resume"),
            });
        }
        goals
    }

    /// The report as Markdown tables.
    fn render(&self, synced: Duration, rss_synced: f64, rss_loaded: f64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nFleet: 10,000 HelmReleases + 10,000 Kustomizations in 500 namespaces, 1,000 Helm releases × 3 revisions"
        );
        let _ = writeln!(
            out,
            "ready (caches synced) {:.2} s after start; RSS {rss_synced:.0} MiB synced, {rss_loaded:.0} MiB after the load\n",
            synced.as_secs_f64()
        );
        let _ = writeln!(out, "| read | matches | p50 | p99 |\n|---|---|---|---|");
        for sample in &self.samples {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                sample.what,
                sample.total.map_or("—".to_owned(), |n| n.to_string()),
                ms(sample.run.quantile(0.5)),
                ms(sample.run.quantile(0.99))
            );
        }
        let _ = writeln!(
            out,
            "\n| read | connections | req/s | p50 | p99 | failed |\n|---|---|---|---|---|---|"
        );
        for throughput in &self.throughput {
            for (connections, run) in &throughput.runs {
                let _ = writeln!(
                    out,
                    "| {} | {connections} | {:.0} | {} | {} | {} |",
                    throughput.what,
                    run.rate(),
                    ms(run.quantile(0.5)),
                    ms(run.quantile(0.99)),
                    run.failures
                );
            }
        }
        let _ = writeln!(
            out,
            "\none full LIST of all {} Flux objects from the API server: {}",
            self.full_list_objects,
            ms(self.full_list)
        );
        if let Some(helm) = self.helm_list {
            let _ = writeln!(
                out,
                "`helm list --all-namespaces --max 0` over the 3,000 release Secrets: {}",
                ms(helm)
            );
        }
        let _ = writeln!(
            out,
            "\n| goal | measured | target | met |\n|---|---|---|---|"
        );
        for goal in self.goals() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                goal.read,
                goal.measured,
                goal.goal,
                if goal.met { "yes" } else { "**no**" }
            );
        }
        out
    }
}
