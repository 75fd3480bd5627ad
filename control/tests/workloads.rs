//! What runs behind a deployment, through the service, against the sandbox (its simulated
//! controllers make ReplicaSets and pods every 50 ms; the demo's `shop` crash-loops): the
//! workloads and pods, a crashed container's previous log, a rollout restart, a pod deleted
//! and made again, and the refusals (a viewer's action, a pod of another deployment).

mod cluster;
mod refs;
mod support;

use control::Error;
use control::RequestContext;
use control::adapters::flux::FluxConfig;
use control::audit::query::AuditFilter;
use model::workload::{PodLogQuery, Workload};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use support::{person, seeded};

/// A generous bound on what the simulated controllers do every 50 ms.
const SETTLED: Duration = Duration::from_secs(30);

struct Fixture {
    service: control::Service,
    admin: RequestContext,
    alice: RequestContext,
    bob: RequestContext,
    _sandbox: sandbox::Sandbox,
}

async fn fixture(pool: &PgPool) -> Fixture {
    let (sandbox, _) = cluster::demo_cluster(3).await;
    let admin = person("admin", &[]);
    let seeded = seeded(pool.clone()).await;
    let (service, _) = cluster::serve(pool, seeded, &sandbox, FluxConfig::default(), &admin).await;
    Fixture {
        service,
        admin,
        alice: person("alice", &[]),
        bob: person("bob", &["b-viewers"]),
        _sandbox: sandbox,
    }
}

/// The shop Deployment once it has `pods` pods, as alice sees it.
async fn shop_when(f: &Fixture, check: impl Fn(&Workload) -> bool) -> Workload {
    let started = Instant::now();
    while started.elapsed() < SETTLED {
        let found = f
            .service
            .workloads(&f.alice, &refs::ks("team-a", "shop"))
            .await
            .expect("workloads");
        if let Some(shop) = found
            .into_iter()
            .find(|w| w.kind == "Deployment" && w.name == "shop")
            && check(&shop)
        {
            return shop;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("shop's pods within {SETTLED:?}");
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_crashing_pod_its_previous_log_a_restart_and_a_deleted_pod(pool: PgPool) {
    let f = fixture(&pool).await;
    let shop = shop_when(&f, |w| !w.pods.is_empty()).await;
    let pod = &shop.pods[0];
    assert_eq!(pod.phase, "CrashLoopBackOff", "{pod:?}");
    assert_eq!(pod.restarts, 4);
    assert_eq!(pod.last_termination.as_deref(), Some("Error, exit code 1"));
    assert!(pod.containers[0].has_previous);
    assert!(
        pod.events.iter().any(|e| e.reason == "BackOff"),
        "{:?}",
        pod.events
    );
    assert_eq!(pod.containers[0].image, "registry.example/shop:latest");

    let previous = PodLogQuery {
        previous: true,
        ..PodLogQuery::default()
    };
    let crash = f
        .service
        .pod_logs(
            &f.alice,
            &refs::ks("team-a", "shop"),
            "team-a",
            &pod.name,
            &previous,
        )
        .await
        .expect("previous log");
    assert!(crash.contains("panic: DATABASE_URL is not set"), "{crash}");
    // A pod is reached through its own deployment only.
    assert!(matches!(
        f.service
            .pod_logs(
                &f.alice,
                &refs::hr("team-a", "podinfo"),
                "team-a",
                &pod.name,
                &previous
            )
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.service
            .pod_logs(
                &f.alice,
                &refs::ks("team-a", "shop"),
                "team-a",
                "ghost",
                &previous
            )
            .await,
        Err(Error::NotFound { .. })
    ));

    let first = pod.name.clone();
    f.service
        .delete_pod(&f.alice, &refs::ks("team-a", "shop"), "team-a", &first)
        .await
        .expect("delete");
    let again = shop_when(&f, |w| w.pods.len() == 1 && w.pods[0].name != first).await;
    let replacement = again.pods[0].name.clone();
    // Same template: the same ReplicaSet, a new pod.
    assert_eq!(
        replacement[..replacement.len() - 5],
        first[..first.len() - 5]
    );

    f.service
        .restart_workload(&f.alice, &refs::ks("team-a", "shop"), "deployments", "shop")
        .await
        .expect("restart");
    // A new template: a new ReplicaSet, so pods of another name.
    let rolled = shop_when(&f, |w| {
        w.pods.len() == 1
            && w.pods[0].name[..w.pods[0].name.len() - 5] != replacement[..replacement.len() - 5]
    })
    .await;
    assert_eq!(rolled.pods.len(), 1);

    assert!(matches!(
        f.service
            .run_cronjob(&f.alice, &refs::ks("team-a", "shop"), "nightly")
            .await,
        Err(Error::NotFound { .. })
    ));
    let rows = f
        .service
        .query_audit(&f.admin, &AuditFilter::default())
        .await
        .expect("audit")
        .events;
    for action in ["pod.delete", "workload.restart"] {
        assert!(
            rows.iter()
                .any(|r| r.event.action == action && r.event.actor.subject == "alice"),
            "{action}"
        );
    }
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn viewers_read_workloads_but_act_on_nothing(pool: PgPool) {
    let f = fixture(&pool).await;
    let analytics = refs::ks("team-b", "analytics");
    let started = Instant::now();
    let workloads = loop {
        let found = f
            .service
            .workloads(&f.bob, &analytics)
            .await
            .expect("bob views team-b");
        if found.iter().any(|w| !w.pods.is_empty()) || started.elapsed() > SETTLED {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let pod = workloads
        .iter()
        .flat_map(|w| &w.pods)
        .next()
        .expect("a pod")
        .name
        .clone();
    assert!(matches!(
        f.service
            .restart_workload(&f.bob, &analytics, "deployments", "analytics")
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        f.service
            .delete_pod(&f.bob, &analytics, "team-b", &pod)
            .await,
        Err(Error::Forbidden(_))
    ));
    // Logs tell more than status: operators only.
    assert!(matches!(
        f.service
            .pod_logs(&f.bob, &analytics, "team-b", &pod, &PodLogQuery::default())
            .await,
        Err(Error::Forbidden(_))
    ));
    // Another tenant's deployment is not hers to look into.
    assert!(matches!(
        f.service.workloads(&f.alice, &analytics).await,
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_cronjob_runs_now_as_kubectl_create_job_from_does() {
    let (_sandbox, client) = cluster::demo_cluster(1).await;
    let cronjobs: kube::Api<k8s_openapi::api::batch::v1::CronJob> =
        kube::Api::namespaced(client.clone(), "team-a");
    let nightly = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "nightly" },
        "spec": { "schedule": "0 3 * * *", "jobTemplate": {
            "metadata": { "labels": { "app": "report" } },
            "spec": { "template": { "spec": { "restartPolicy": "Never",
                "containers": [{ "name": "report", "image": "registry.example/report:1" }] } } } } }
    }))
    .expect("cronjob");
    cronjobs
        .create(&Default::default(), &nightly)
        .await
        .expect("create");
    let name = control::adapters::workloads::run_cronjob(&client, "team-a", "nightly")
        .await
        .expect("run");
    assert!(name.starts_with("nightly-manual-"), "{name}");
    let jobs: kube::Api<k8s_openapi::api::batch::v1::Job> = kube::Api::namespaced(client, "team-a");
    let job = jobs.get(&name).await.expect("the job");
    let owner = &job.metadata.owner_references.expect("owned")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("CronJob", "nightly")
    );
    assert_eq!(
        job.metadata.annotations.expect("annotated")["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert!(matches!(
        control::adapters::workloads::run_cronjob(
            &kube::Client::try_from(kube::Config::new(_sandbox.url().parse().expect("url")))
                .expect("client"),
            "team-a",
            "ghost"
        )
        .await,
        Err(control::Error::NotFound { .. })
    ));
}
