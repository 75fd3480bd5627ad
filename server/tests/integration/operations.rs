//! Tracked operations over REST, with the real helm against the sandbox: an install whose
//! Deployment never becomes ready answers 202 at once, shows its waiting step and fails at
//! helm's timeout with the rollback noted; a second operation on the same release gets 409;
//! `Prefer: wait` gives a fast install's final answer; cancel stops a running install; and
//! a server that stops mid-operation leaves it interrupted, with an audit outcome.

use crate::charts;
use crate::support::TestEnv;
use crate::support::sse::EventStream;
use axum::http::StatusCode;
use charts::Entry;
use control::audit::{AuditFilter, Outcome};
use serde_json::{Value, json};
use std::time::Duration;

/// A chart whose Deployment never becomes ready in the sandbox (no kubelet runs its pods).
fn never_ready(name: &str) -> Vec<u8> {
    let template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: { app: web }\n  template:\n    metadata:\n      labels: { app: web }\n    spec:\n      containers:\n        - name: web\n          image: registry.example/web:1\n";
    charts::archive(&[
        Entry::File(
            &format!("{name}/Chart.yaml"),
            charts::chart_yaml(name, "1.0.0").as_bytes(),
        ),
        Entry::File(&format!("{name}/templates/web.yaml"), template.as_bytes()),
    ])
}

/// Polls the operation at `location` until `done` holds of it (at most 60 s).
async fn until(env: &TestEnv, token: &str, location: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let answer = env.get_bearer(location, token).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        last = serde_json::from_str(&answer.body).expect("json");
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the operation never got there: {last:#}");
}

/// Starts an install of the never-ready chart as `name`; answers the operation's location.
async fn start_install(env: &TestEnv, token: &str, name: &str) -> String {
    let answer = env
        .send_bearer_preferring(
            "POST",
            "/o2dms/v1/deployments",
            token,
            json!({ "name": name, "namespace": "team-a", "packageId": "slow-1.0.0" }),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).expect("json");
    let location = answer
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("Location")
        .to_owned();
    assert_eq!(body["location"], location.as_str());
    assert_eq!(
        location,
        format!(
            "/o2dms/v1/operations/{}",
            body["operationId"].as_str().unwrap_or_default()
        )
    );
    location
}

fn waiting(operation: &Value) -> bool {
    operation["steps"].as_array().is_some_and(|steps| {
        steps.iter().any(|s| {
            s["step"]
                .as_str()
                .is_some_and(|t| t.contains("waiting up to"))
        })
    })
}

async fn outcome_rows(env: &TestEnv, action: &str, id: &str) -> Vec<control::audit::AuditEvent> {
    env.service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                action: Some(action.into()),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events
        .into_iter()
        .filter(|e| {
            e.event.operation_id.to_string() == id && e.event.outcome != Some(Outcome::Pending)
        })
        .collect()
}

/// A server with helm's timeout at 4 s, where team-a holds the packages `slow` (never ready)
/// and `quick`.
async fn env_with_packages(name: &str) -> TestEnv {
    let env = TestEnv::start_with_cluster_and(name, |config| {
        config.helm.timeout = "4s".into();
    })
    .await;
    let admin = env.bearer("admin");
    for (archive, id) in [
        (never_ready("slow"), "slow-1.0.0"),
        (charts::demo_chart("quick", "1.0.0"), "quick-1.0.0"),
    ] {
        let uploaded = env
            .send_bytes(
                "POST",
                "/o2dms/v1/packages?namespace=team-a",
                &admin,
                archive,
            )
            .await;
        assert_eq!(
            uploaded.status,
            StatusCode::CREATED,
            "{id}: {}",
            uploaded.body
        );
    }
    env
}

/// A long install answers 202 at once and shows the step it waits in; a second change to the
/// release is refused naming the operation; it fails at helm's timeout with helm's reason,
/// told over the live stream, audited, listed as the requester's and hidden from others.
#[tokio::test]
async fn a_long_install_is_an_operation_that_fails_at_helms_timeout() {
    let env = env_with_packages("operations-timeout").await;
    let alice = env.bearer("alice");
    let mut events = EventStream::open(&env, &alice, None).await;
    let location = start_install(&env, &alice, "slow").await;
    let running = until(&env, &alice, &location, waiting).await;
    assert_eq!(running["state"], "running", "{running:#}");
    assert_eq!(running["action"], "deployment.create");
    assert_eq!(running["deployment"], "default~team-a~Release~slow");
    let second = env
        .send_bearer_preferring(
            "DELETE",
            "/o2dms/v1/deployments/default~team-a~Release~slow",
            &alice,
            json!({}),
            None,
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    let id = running["id"].as_str().expect("id").to_owned();
    assert!(second.body.contains(&id), "{}", second.body);

    // It fails at helm's timeout with helm's reason; helm removed the failed install.
    let failed = until(&env, &alice, &location, |o| o["state"] != "running").await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("context deadline exceeded") && error.contains("rolled the install back"),
        "{error}"
    );
    // While helm waited, the step named the workload it waited for.
    let waited = "waiting for Deployment team-a/slow (0/1 ready)";
    assert!(failed["steps"].to_string().contains(waited), "{failed:#}");
    // The requester's live stream told each step and the end, as operation events.
    let seen = events
        .until("\"state\":\"failed\"", Duration::from_secs(10))
        .await;
    let told: Vec<_> = seen
        .iter()
        .filter(|e| e.event == "operation" && e.data.contains(&id))
        .collect();
    assert!(told.iter().any(|e| e.data.contains(waited)), "{told:?}");
    assert!(
        told.last()
            .is_some_and(|e| e.data.contains("context deadline exceeded"))
    );
    let gone = env
        .get_bearer("/o2dms/v1/deployments/default~team-a~Release~slow", &alice)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
    assert!(failed["finishedAt"].is_string());
    let rows = outcome_rows(&env, "deployment.create", &id).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].event.outcome, Some(Outcome::Failure));
    let mine = env
        .get_bearer("/o2dms/v1/operations?mine=true", &alice)
        .await;
    assert!(mine.body.contains(&id), "{}", mine.body);
    let hidden = env.get_bearer(&location, &env.bearer("carol")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
}

/// `Prefer: wait` gives a fast install's final answer, saying the preference was applied.
#[tokio::test]
async fn prefer_wait_gives_a_fast_installs_final_answer() {
    let env = env_with_packages("operations-prefer").await;
    let alice = env.bearer("alice");
    let quick = env
        .send_bearer_preferring(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            json!({ "name": "quick", "namespace": "team-a", "packageId": "quick-1.0.0" }),
            Some("wait=60"),
        )
        .await;
    assert_eq!(quick.status, StatusCode::CREATED, "{}", quick.body);
    assert_eq!(
        quick
            .headers
            .get("preference-applied")
            .and_then(|v| v.to_str().ok()),
        Some("wait=60")
    );
    assert!(quick.body.contains("\"name\":\"quick\""), "{}", quick.body);
}

/// Cancel stops a running install (helm gets SIGTERM and rolls back), is audited, and a
/// second cancel is a conflict.
#[tokio::test]
async fn cancel_stops_a_running_install() {
    let env = env_with_packages("operations-cancel").await;
    let alice = env.bearer("alice");
    let location = start_install(&env, &alice, "slow-cancelled").await;
    let running = until(&env, &alice, &location, waiting).await;
    let id = running["id"].as_str().expect("id").to_owned();
    let cancel = env
        .send_bearer("POST", &format!("{location}/cancel"), &alice, json!({}))
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    let cancelled = until(&env, &alice, &location, |o| o["state"] != "running").await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled:#}");
    assert!(
        cancelled["error"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled"),
        "{cancelled:#}"
    );
    let cancels = env
        .service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                action: Some("operation.cancel".into()),
                outcome: Some(Outcome::Success),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events;
    assert_eq!(cancels.len(), 1, "{cancels:#?}");
    assert_eq!(cancels[0].event.target_name.as_deref(), Some(id.as_str()));
    let again = env
        .send_bearer("POST", &format!("{location}/cancel"), &alice, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
}

/// An install whose server stopped mid-way is marked interrupted by another, with an audit
/// outcome.
#[tokio::test]
async fn an_install_of_a_stopped_server_is_marked_interrupted() {
    let env = env_with_packages("operations-interrupted").await;
    let alice = env.bearer("alice");
    interrupted_by_a_stopped_server(&env, &alice).await;
}

/// A second server on the same database and cluster starts an install and stops (its
/// runtime is dropped, as a process exit would); this one marks the operation interrupted.
async fn interrupted_by_a_stopped_server(env: &TestEnv, alice: &str) {
    let mut config = env.config.clone();
    config.helm.timeout = "120s".into();
    let issuer = env.idp.issuer();
    // The sandbox runs on this test's runtime: nothing here may block it.
    let (started, id) = tokio::sync::oneshot::channel();
    let other = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let pool = server::connect(&config).await.expect("connect");
            let clusters = server::clusters(&config, &pool).await.expect("clusters");
            for adapter in clusters.adapters() {
                adapter
                    .wait_until_ready(Duration::from_secs(10))
                    .await
                    .expect("caches");
            }
            let state = server::state::AppState::new(&config, pool, clusters).expect("state");
            let ctx = control::RequestContext {
                principal: control::access::Principal {
                    issuer,
                    subject: "alice".into(),
                    email: None,
                    name: None,
                    groups: vec![],
                    narrowing: None,
                },
                ..control::RequestContext::system()
            };
            let request: model::deployment::DeploymentRequest = serde_json::from_value(
                json!({ "name": "slow-interrupted", "namespace": "team-a", "packageId": "slow-1.0.0" }),
            )
            .expect("request");
            let namespace = model::reference::NamespaceRef::in_default("team-a").expect("ns");
            let change = state.service.create_change(&namespace, &request).expect("change");
            let answered = state
                .service
                .change(&ctx, change, control::service::tracked::Wait::UpTo(Duration::ZERO))
                .await
                .expect("accepted");
            let model::operation::Answered::Running(id) = answered else {
                panic!("an install answered at once: {answered:?}");
            };
            started.send(id).expect("send");
            // Long enough for helm to start; then the "process" ends mid-operation.
            tokio::time::sleep(Duration::from_secs(3)).await;
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
    });
    let id = id.await.expect("operation id").to_string();
    tokio::task::spawn_blocking(move || other.join())
        .await
        .expect("join")
        .expect("the other server");
    let location = format!("/o2dms/v1/operations/{id}");
    let left = env.get_bearer(&location, alice).await;
    assert!(left.body.contains("\"state\":\"running\""), "{}", left.body);

    // Three heartbeats of silence make it abandoned.
    tokio::time::sleep(control::service::tracked::HEARTBEAT * 3 + Duration::from_secs(1)).await;
    assert!(env.service.interrupt_abandoned().await.expect("sweep") >= 1);
    let interrupted = until(env, alice, &location, |o| o["state"] != "running").await;
    assert_eq!(interrupted["state"], "interrupted", "{interrupted:#}");
    let error = interrupted["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("stopped before it finished") && error.contains("slow-interrupted"),
        "{error}"
    );
    let rows = outcome_rows(env, "deployment.create", &id).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].event.outcome, Some(Outcome::Failure));
    assert!(
        rows[0]
            .event
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("interrupted"),
        "{rows:#?}"
    );
}
