//! The live event stream against the demo cluster: each caller gets only the changes in
//! namespaces it may see, a membership removed while the stream is open stops the events
//! that follow, `Last-Event-ID` replays what a reconnecting client missed, a client that
//! does not read is dropped with a resync, and shutdown ends the streams.

use crate::support::TestEnv;
use crate::support::sse::{EventStream, Sse};
use axum::http::StatusCode;
use control::access::Grantee;
use sandbox::store::{Store, WriteOptions};
use serde_json::{Value, json};
use std::time::Duration;

fn namespace_of(sse: &Sse) -> String {
    let change: Value = serde_json::from_str(&sse.data).expect("json");
    change["deployment"]["namespace"]
        .as_str()
        .or(change["namespace"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Sets `spec.suspend` of a HelmRelease or Kustomization straight in the cluster.
fn suspend(store: &Store, plural: &str, namespace: &str, name: &str, suspended: bool) {
    let group = if plural == "helmreleases" {
        ("helm.toolkit.fluxcd.io", "v2")
    } else {
        ("kustomize.toolkit.fluxcd.io", "v1")
    };
    let rt = store.resource(group.0, group.1, plural).expect("resource");
    let mut object = store.get(&rt, Some(namespace), name).expect("object");
    object["spec"]["suspend"] = json!(suspended);
    let options = WriteOptions::by("test");
    store
        .update(&rt, Some(namespace), name, object, options)
        .expect("update");
}

const PODINFO: &str = "default~team-a~HelmRelease~podinfo";
const ANALYTICS: &str = "default~team-b~Kustomization~analytics-db";

#[tokio::test]
async fn each_caller_gets_only_what_it_may_see_until_its_grant_goes() {
    let env = TestEnv::start_with_cluster("live-events-grants").await;
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    let mut alice = EventStream::open(&env, &env.bearer("alice"), None).await;
    let mut admin = EventStream::open(&env, &env.bearer("admin"), None).await;

    suspend(&store, "kustomizations", "team-b", "analytics-db", true);
    suspend(&store, "helmreleases", "team-a", "podinfo", true);
    let seen = admin
        .until_all(&[ANALYTICS, PODINFO], Duration::from_secs(5))
        .await;
    assert!(seen.iter().all(|e| e.event == "deployment"), "{seen:?}");
    let mine = alice.until(PODINFO, Duration::from_secs(5)).await;
    assert!(
        mine.iter().all(|e| namespace_of(e) == "team-a"),
        "alice sees team-a only: {mine:?}"
    );
    let change: Value = serde_json::from_str(&mine[mine.len() - 1].data).expect("json");
    assert_eq!(change["type"], "upserted");
    assert!(
        mine.iter()
            .any(|e| e.data.contains(PODINFO) && e.data.contains("\"suspended\":true")),
        "the row as lists show it, suspended: {mine:?}"
    );

    env.service
        .remove_membership(&env.admin(), "team-a", &Grantee::User("alice".into()))
        .await
        .expect("remove alice");
    suspend(&store, "helmreleases", "team-a", "podinfo", false);
    admin.until(PODINFO, Duration::from_secs(5)).await;
    // The admin has it, so alice's stream would have it by now if it were allowed.
    while let Some(event) = alice.next(Duration::from_millis(500)).await {
        assert_ne!(
            namespace_of(&event),
            "team-a",
            "a removed membership stops the events: {event:?}"
        );
    }
}

#[tokio::test]
async fn reconnecting_replays_what_was_missed_and_slow_readers_are_dropped() {
    let env = TestEnv::start_with_cluster("live-events-replay").await;
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    let token = env.bearer("admin");
    let mut first = EventStream::open(&env, &token, None).await;
    suspend(&store, "helmreleases", "team-a", "podinfo", true);
    let last = first.until(PODINFO, Duration::from_secs(5)).await;
    let last_id = last[last.len() - 1].id.clone();
    drop(first);

    suspend(&store, "kustomizations", "team-b", "analytics-db", true);
    // Let the change reach the hub before reconnecting.
    let mut witness = EventStream::open(&env, &token, Some(&last_id)).await;
    witness.until(ANALYTICS, Duration::from_secs(5)).await;
    let mut again = EventStream::open(&env, &token, Some(&last_id)).await;
    let replayed = again.until(ANALYTICS, Duration::from_secs(5)).await;
    assert!(
        replayed
            .iter()
            .all(|e| e.id.parse::<u64>().expect("id") > last_id.parse::<u64>().expect("id")),
        "only what came after the last one seen: {replayed:?}"
    );

    let mut stranger = EventStream::open(&env, &token, Some("999999999")).await;
    let told = stranger
        .next(Duration::from_secs(2))
        .await
        .expect("an event");
    assert_eq!(
        told.event, "resync",
        "an id this server never sent means reload"
    );

    // A reader that does not read while thousands of changes go by is dropped, not buffered.
    drop((witness, again, stranger));
    let mut sleeper = EventStream::open(&env, &token, None).await;
    for round in 0..(control::live::KEPT / 2 + 10) {
        suspend(&store, "helmreleases", "team-a", "podinfo", round % 2 == 0);
        suspend(
            &store,
            "kustomizations",
            "team-b",
            "analytics-db",
            round % 2 == 0,
        );
    }
    let mut reader = EventStream::open(&env, &token, None).await;
    let kustomizations = store
        .resource("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
        .expect("resource");
    store
        .delete(&kustomizations, Some("team-b"), "analytics-db")
        .expect("delete");
    // Once a reading client has the last change, the sleeper's have all gone by too. The
    // reader waits as long as changes keep arriving (a slow machine delivers the thousands
    // before it slowly); only a pipeline that stops delivering fails it.
    reader
        .until_while_progressing("\"type\":\"deleted\"", Duration::from_secs(30))
        .await;
    let mut names = Vec::new();
    while let Some(event) = sleeper.next(Duration::from_secs(5)).await {
        names.push(event.event);
    }
    assert_eq!(
        names.last().map(String::as_str),
        Some("resync"),
        "told to reload, then the stream ends"
    );
    assert!(names.len() <= control::live::KEPT + 1, "{}", names.len());
}

#[tokio::test]
async fn streams_are_capped_per_principal_and_end_at_shutdown() {
    let env = TestEnv::start_with_cluster("live-events-shutdown").await;
    let path = "/o2dms/v1/events/stream";
    let alice = env.bearer("alice");
    let mut open = Vec::new();
    for _ in 0..control::service::MAX_STREAMS_PER_PRINCIPAL {
        open.push(EventStream::open(&env, &alice, None).await);
    }
    // One more is refused with what to do; another user is not affected.
    let Err((status, body)) = EventStream::try_open_at(&env, path, &alice, None).await else {
        panic!("a stream past the limit was opened");
    };
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("live streams open"), "{body}");
    let mut admin = EventStream::open(&env, &env.bearer("admin"), None).await;
    // A closed stream frees its place.
    open.pop();
    open.push(EventStream::open(&env, &alice, None).await);
    env.streams_end.cancel();
    assert!(
        admin.next(Duration::from_secs(2)).await.is_none() && admin.ended,
        "the stream ended at shutdown"
    );
    for mut stream in open {
        assert!(stream.next(Duration::from_secs(2)).await.is_none() && stream.ended);
    }
}

/// Asks the simulated controller to reconcile, as `flux reconcile` does.
fn request_reconcile(store: &Store, namespace: &str, name: &str) {
    let rt = store
        .resource("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
        .expect("resource");
    let mut object = store.get(&rt, Some(namespace), name).expect("object");
    object["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"] =
        json!(format!("{:?}", std::time::SystemTime::now()));
    store
        .update(&rt, Some(namespace), name, object, WriteOptions::by("test"))
        .expect("update");
}

#[tokio::test]
async fn a_deployments_controller_log_lines_are_read_and_followed() {
    let env = TestEnv::start_with_cluster("live-logs").await;
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    let alice = env.bearer("alice");
    let shop = "/o2dms/v1/deployments/default~team-a~Kustomization~shop/logs";
    let read = env.get_bearer(shop, &alice).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let lines: Vec<String> = serde_json::from_str(&read.body).expect("json");
    assert!(
        !lines.is_empty(),
        "the demo's reconciles logged lines about shop"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("\"name\":\"shop\"") && l.contains("\"namespace\":\"team-a\"")),
        "only shop's lines: {lines:#?}"
    );
    let release = env
        .get_bearer(
            "/o2dms/v1/deployments/default~team-a~Release~web/logs",
            &alice,
        )
        .await;
    assert_eq!(
        release.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        release.body
    );
    let elsewhere = env
        .get_bearer(
            "/o2dms/v1/deployments/default~team-b~Kustomization~analytics/logs",
            &alice,
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::FORBIDDEN,
        "{}",
        elsewhere.body
    );

    let mut stream = EventStream::open_at(&env, &format!("{shop}/stream"), &alice, None).await;
    // The log has second resolution: waiting a second keeps the new lines' text apart from
    // the demo's start-up lines, so "not sent again" can be checked by text.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Another object's reconcile logs lines too; they are not shop's and never arrive.
    request_reconcile(&store, "team-b", "analytics-db");
    request_reconcile(&store, "team-a", "shop");
    let mut seen = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(10)).await {
        assert_eq!(event.event, "log");
        assert!(event.data.contains("\"name\":\"shop\""), "{event:?}");
        seen.push(event.data);
        if seen.iter().any(|l| l.contains("Applied revision")) {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("Reconciliation in progress")),
        "the new lines arrived as the controller wrote them: {seen:#?}"
    );
    // Lines already there when the stream opened are not sent again.
    assert!(seen.iter().all(|l| !lines.contains(l)), "{seen:#?}");
}

/// Reads `stream` until it ends; fails when it is still open after `limit` (a generous bound
/// on the server's re-check, not the thing tested).
async fn until_ended(stream: &mut EventStream, limit: Duration) {
    let started = std::time::Instant::now();
    while !stream.ended {
        assert!(
            started.elapsed() < limit,
            "the stream was still open after {limit:?}"
        );
        let _ = stream.next(Duration::from_millis(500)).await;
    }
}

/// Streams outlive the request that opened them, so they ask the credential again: a revoked
/// API token's live events and followed log end, and so does a stream opened with a JWT once
/// the JWT expires; a stream whose credential still stands stays open.
#[tokio::test]
async fn streams_end_when_their_credential_lapses() {
    let env = TestEnv::start_with_cluster("live-credentials").await;
    let alice = env.bearer("alice");
    let made = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tokens",
            &alice,
            json!({ "name": "watcher" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let made: Value = serde_json::from_str(&made.body).expect("json");
    let secret = made["secret"].as_str().expect("secret").to_owned();
    let id = made["token"]["id"].as_str().expect("id").to_owned();

    let mut events = EventStream::open(&env, &secret, None).await;
    let logs = "/o2dms/v1/deployments/default~team-a~Kustomization~shop/logs/stream";
    let mut log = EventStream::open_at(&env, logs, &secret, None).await;
    let mut steady = EventStream::open(&env, &alice, None).await;
    let issuer = env.idp.issuer();
    let now = chrono::Utc::now().timestamp();
    let short = env.mint(
        json!({ "iss": issuer, "aud": "pilothouse", "sub": "alice", "iat": now, "exp": now + 3 }),
    );
    let mut expiring = EventStream::open(&env, &short, None).await;

    let revoked = env
        .send_bearer(
            "DELETE",
            &format!("/o2dms/v1/tokens/{id}"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    until_ended(&mut events, Duration::from_secs(60)).await;
    until_ended(&mut log, Duration::from_secs(60)).await;
    until_ended(&mut expiring, Duration::from_secs(60)).await;
    // alice's own JWT still stands: her stream is open.
    let _ = steady.next(Duration::from_millis(200)).await;
    assert!(!steady.ended, "a stream whose credential stands stays open");
    let refused = EventStream::try_open_at(&env, "/o2dms/v1/events/stream", &secret, None).await;
    assert_eq!(
        refused.err().map(|(status, _)| status),
        Some(StatusCode::UNAUTHORIZED),
        "and the revoked token opens no new one"
    );
}
