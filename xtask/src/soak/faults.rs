//! The faults the soak injects while the users work: a Postgres restart, an API server
//! restart, one replica killed in the middle of Helm upgrades, and a stalled NOTIFY listener.

use super::{DATABASE, proxy};
use crate::fleet::{self, Stack};
use crate::server::ServerProcess;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::postgres::PrivatePostgres;

/// What happened to each injected fault.
#[derive(Default)]
pub struct Faults {
    /// When each fault came, and what was seen.
    pub log: Vec<(Duration, String)>,
}

/// What the fault injector works on.
pub struct Injection<'a> {
    /// When the run began.
    pub began: Instant,
    /// How long it lasts.
    pub length: Duration,
    /// The Postgres it restarts.
    pub pg: Arc<Mutex<PrivatePostgres>>,
    /// The two replicas; B is killed and started again.
    pub replicas: Arc<Mutex<[Option<ServerProcess>; 2]>>,
    /// Starts replica `i` again.
    pub start: &'a dyn Fn(usize) -> anyhow::Result<ServerProcess>,
    /// Replica A's path to Postgres.
    pub proxy: &'a proxy::Proxy,
    /// The sandbox and the binary.
    pub stack: &'a Stack,
    /// The database, not through the proxy.
    pub direct_url: &'a str,
    /// The API token of the user whose membership goes during the stall.
    pub eve: &'a str,
    /// The replicas' ports.
    pub ports: [u16; 2],
}

impl Injection<'_> {
    async fn at(&self, fraction: f64) {
        let when = self.began + self.length.mul_f64(fraction);
        tokio::time::sleep_until(tokio::time::Instant::from_std(when)).await;
    }
}

/// Injects the faults at 20 %, 35 %, 50 % and 70 % of the run and says what each did.
pub async fn inject(run: Injection<'_>) -> anyhow::Result<Faults> {
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
