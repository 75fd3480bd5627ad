//! Leader election with two real `pilothouse serve` processes against one Postgres and one
//! sandbox cluster: exactly one leads, killing it makes the other lead within 15 s, the
//! daily audit retention ran once across both, and a replica shut down gracefully releases
//! the Lease. Each replica also serves its metrics on `server.metricsListen`, as the chart
//! configures it, so this is where that wiring is checked.

use crate::support::{TestEnv, until};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Replica {
    identity: String,
    url: String,
    /// The separate metrics listener.
    metrics_url: String,
    child: Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(env: &TestEnv, dir: &Path, identity: &str) -> Replica {
    let port = testkit::ports::free_port().expect("port");
    let url = format!("http://127.0.0.1:{port}");
    let metrics_port = testkit::ports::free_port().expect("port");
    let kubeconfig = env.config.flux.kubeconfig.as_ref().expect("kubeconfig");
    let config = format!(
        r#"server:
  listen: 127.0.0.1:{port}
  publicUrl: {url}
  metricsListen: 127.0.0.1:{metrics_port}
  siteRoot: {site}
database:
  url: {database}
oidc:
  issuer: {issuer}
  clientSecret: test-secret
flux:
  kubeconfig: {kubeconfig}
helm:
  binary: {helm}
audit:
  retentionDays: 400
  archiveDir: {archive}
leader:
  identity: {identity}
  leaseDurationSeconds: 4
"#,
        site = dir.join("site").display(),
        database = env.config.database.url.as_deref().expect("database url"),
        issuer = env.config.oidc.issuer.as_deref().expect("issuer"),
        kubeconfig = kubeconfig.display(),
        helm = env.config.helm.binary.display(),
        archive = dir.join(format!("archive-{identity}")).display(),
    );
    let file = dir.join(format!("{identity}.yaml"));
    std::fs::write(&file, config).expect("config");
    let log = std::fs::File::create(dir.join(format!("{identity}.log"))).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_pilothouse"))
        .env("PILOTHOUSE_CONFIG", &file)
        .env("PILOTHOUSE_LOG", "info")
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("pilothouse");
    Replica {
        identity: identity.to_owned(),
        url,
        metrics_url: format!("http://127.0.0.1:{metrics_port}/metrics"),
        child,
    }
}

/// `/readyz`'s leader detail, once the replica answers.
async fn leading(replica: &Replica) -> Option<bool> {
    let body = reqwest::get(format!("{}/readyz", replica.url))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let body: serde_json::Value = serde_json::from_str(&body).ok()?;
    assert_eq!(
        body["leader"]["identity"],
        replica.identity.as_str(),
        "{body}"
    );
    body["leader"]["leading"].as_bool()
}

/// The value of the unlabelled series `name` on the replica's metrics listener.
async fn gauge(replica: &Replica, name: &str) -> Option<f64> {
    let text = reqwest::get(&replica.metrics_url)
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn lease_holder(env: &TestEnv) -> Option<String> {
    let store = env.cluster.as_ref().expect("cluster").store();
    let leases = store
        .resource("coordination.k8s.io", "v1", "leases")
        .expect("leases");
    let lease = store
        .get(&leases, Some("pilothouse"), "pilothouse-leader")
        .ok()?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn one_replica_leads_and_the_other_takes_over() {
    let env = TestEnv::start_with_cluster("leader").await;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("leader-replicas");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let mut replicas = vec![
        spawn(&env, &dir, "replica-a"),
        spawn(&env, &dir, "replica-b"),
    ];

    until(
        Duration::from_secs(60),
        "both replicas answer /readyz",
        async || leading(&replicas[0]).await.is_some() && leading(&replicas[1]).await.is_some(),
    )
    .await;
    until(
        Duration::from_secs(20),
        "exactly one replica leads",
        async || {
            let a = leading(&replicas[0]).await == Some(true);
            let b = leading(&replicas[1]).await == Some(true);
            a != b
        },
    )
    .await;
    // Stays so: the other never leads at the same time.
    for _ in 0..10 {
        let a = leading(&replicas[0]).await == Some(true);
        let b = leading(&replicas[1]).await == Some(true);
        assert!(a != b, "exactly one leads (a: {a}, b: {b})");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let first = if leading(&replicas[0]).await == Some(true) {
        0
    } else {
        1
    };
    assert_eq!(
        lease_holder(&env).as_deref(),
        Some(replicas[first].identity.as_str())
    );
    // The metrics listener says the same, and the main listener keeps /metrics to itself.
    until(
        Duration::from_secs(10),
        "pilothouse_leader on both metrics listeners",
        async || {
            gauge(&replicas[first], "pilothouse_leader").await == Some(1.0)
                && gauge(&replicas[1 - first], "pilothouse_leader").await == Some(0.0)
        },
    )
    .await;
    let main = reqwest::get(format!("{}/metrics", replicas[first].url))
        .await
        .expect("main listener");
    let status = main.status();
    let body = main.text().await.expect("body");
    assert_ne!(status, reqwest::StatusCode::OK, "{body}");
    assert!(!body.contains("pilothouse_leader"), "{body}");
    until(
        Duration::from_secs(10),
        "the leader runs the retention",
        async || {
            env.service
                .scheduled_runs(server::retention::TASK)
                .await
                .expect("runs")
                >= 1
        },
    )
    .await;

    // A crash: no release, so the other waits out the Lease.
    let leader = replicas.remove(first);
    let mut crashed = leader;
    crashed.child.kill().expect("kill");
    crashed.child.wait().expect("wait");
    let survivor = &replicas[0];
    // Within 15 s of the crash, or `until` fails the test.
    until(
        Duration::from_secs(15),
        "the other replica leads",
        async || leading(survivor).await == Some(true),
    )
    .await;
    assert_eq!(
        lease_holder(&env).as_deref(),
        Some(survivor.identity.as_str())
    );
    // The new leader looked and found the day's run done.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.service
            .scheduled_runs(server::retention::TASK)
            .await
            .expect("runs"),
        1,
        "retention ran once"
    );

    // A graceful stop gives the Lease up at the end, after readiness failed.
    let mut survivor = replicas.remove(0);
    nix_term(&survivor.child);
    // Polled, not waited on: the sandbox it releases the Lease in runs on this thread.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = survivor.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the replica did not exit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(lease_holder(&env), None, "the Lease was released");
}

fn nix_term(child: &Child) {
    let pid = i32::try_from(child.id()).expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
}
