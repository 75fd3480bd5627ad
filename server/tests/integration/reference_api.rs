//! The reference documents' REST examples replayed against the sandbox, with a deployment
//! named the way they name it (a bare name) and by its id: create from a package, status,
//! scale, rollback, delete; the missing-chart and not-found texts; bare names that are
//! ambiguous or belong to someone else; and updates guarded by If-Match.

use crate::charts;
use crate::support::TestEnv;
use crate::support::until;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A HelmRelease written into the sandbox as its administrator would, outside Pilothouse.
fn plant_release(env: &TestEnv, namespace: &str, name: &str) {
    let store = env.cluster.as_ref().expect("cluster").store();
    let rt = store
        .resource("helm.toolkit.fluxcd.io", "v2", "helmreleases")
        .expect("HelmRelease");
    let object = json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": { "name": name, "namespace": namespace },
        "spec": { "interval": "5m", "chart": { "spec": { "chart": "web",
            "sourceRef": { "kind": "HelmRepository", "name": "bitnami" } } } } });
    store
        .create(
            &rt,
            Some(namespace),
            object,
            sandbox::store::WriteOptions::by("kubectl"),
        )
        .expect("plant");
}

/// Waits until the watch cache shows `path` to `token` (a write outside Pilothouse arrives
/// through the watch), within a generous bound.
async fn until_visible(env: &TestEnv, path: &str, token: &str) {
    let shown = async || env.get_bearer(path, token).await.status == StatusCode::OK;
    until(Duration::from_secs(60), &format!("{path} appears"), shown).await;
}

/// The deployments path.
const BASE: &str = "/o2dms/v1/deployments";

/// Reference 000's two Flux objects of one name in team-a: a HelmRelease and a Kustomization.
async fn create_two_nginx(env: &TestEnv, alice: &str) {
    let base = BASE;
    for body in [
        json!({ "name": "nginx", "namespace": "team-a", "values": { "replicaCount": 3 },
            "extensions": { "flux.type": "helmrelease", "flux.chart": "nginx", "flux.sourceRef": "podinfo", "flux.chartVersion": "13.2.0" } }),
        json!({ "name": "nginx", "namespace": "team-a",
            "extensions": { "flux.type": "kustomization", "flux.sourceRef": "shop", "flux.path": "./deploy" } }),
    ] {
        let answer = env.send_bearer("POST", base, alice, body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }
}

/// Reference 001: a release from a package id, read, scaled, rolled back and deleted by its
/// bare name and by its id.
#[tokio::test]
async fn reference_001_a_release_from_a_package_by_bare_name_and_by_id() {
    let env = TestEnv::start_with_cluster("reference-001-a-release-from-a-package-b").await;
    let admin = env.bearer("admin");
    let alice = env.bearer("alice");
    let base = BASE;
    let upload = env
        .send_bytes(
            "POST",
            "/o2dms/v1/packages?namespace=team-a",
            &admin,
            charts::demo_chart("my-cnf", "1.0.0"),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    // Reference 001: a release from a package id.
    let created = env
        .send_bearer(
            "POST",
            base,
            &alice,
            json!({ "name": "my-cnf-prod", "packageId": "my-cnf-1.0.0",
            "namespace": "team-a", "values": { "replicaCount": 3, "image": { "tag": "1.0.0" } } }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = parse(&created.body)["id"].as_str().expect("id").to_owned();
    assert_eq!(id, "default~team-a~Release~my-cnf-prod");

    for name in ["my-cnf-prod", id.as_str()] {
        let status = env
            .get_bearer(&format!("{base}/{name}/status"), &alice)
            .await;
        assert_eq!(status.status, StatusCode::OK, "{name}: {}", status.body);
        assert_eq!(parse(&status.body)["status"], "deployed", "{name}");
    }
    let scaled = env
        .send_bearer(
            "POST",
            &format!("{base}/my-cnf-prod/scale"),
            &alice,
            json!({ "replicas": 5 }),
        )
        .await;
    assert_eq!(scaled.status, StatusCode::OK, "{}", scaled.body);
    let values = parse(
        &env.get_bearer(&format!("{base}/{id}/values"), &alice)
            .await
            .body,
    );
    assert_eq!(values["replicaCount"], 5, "{values}");
    let rolled = env
        .send_bearer(
            "POST",
            &format!("{base}/my-cnf-prod/rollback"),
            &alice,
            json!({ "revision": 1 }),
        )
        .await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.body);
    let values = parse(
        &env.get_bearer(&format!("{base}/my-cnf-prod/values"), &alice)
            .await
            .body,
    );
    assert_eq!(values["replicaCount"], 3, "revision 1 is back: {values}");
    let release = env.get_bearer(&format!("{base}/my-cnf-prod"), &alice).await;
    assert_eq!(
        release
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok()),
        Some("\"3\""),
        "a release's version is its revision (install, scale, rollback)"
    );
    let outdated = Request::builder()
        .method("PATCH")
        .uri(format!("{base}/my-cnf-prod"))
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::IF_MATCH, "\"1\"")
        .body(Body::from(
            json!({ "values": { "replicaCount": 9 } }).to_string(),
        ))
        .expect("request");
    let outdated = env.call(outdated).await;
    assert_eq!(
        outdated.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        outdated.body
    );
    let deleted = env
        .send_bearer("DELETE", &format!("{base}/my-cnf-prod"), &alice, json!({}))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let gone = env
        .get_bearer(&format!("{base}/my-cnf-prod/status"), &alice)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        parse(&gone.body)["message"],
        "deployment not found: my-cnf-prod"
    );
}

/// Reference 000: Flux objects from extensions, and its error text when the chart is missing.
#[tokio::test]
async fn reference_000_flux_objects_from_extensions_and_the_missing_chart_text() {
    let env = TestEnv::start_with_cluster("reference-000-flux-objects-from-extensio").await;
    let alice = env.bearer("alice");
    let base = BASE;
    // Reference 000: Flux objects from extensions, and its error text when the chart is missing
    // (named before the missing source, in the reference's order).
    let missing = env
        .send_bearer(
            "POST",
            base,
            &alice,
            json!({ "name": "test", "namespace": "team-a",
            "extensions": { "flux.type": "helmrelease" } }),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = parse(&missing.body);
    assert_eq!(error["field"], "flux.chart", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("flux.chart extension is required for HelmRelease")),
        "{error}"
    );
    create_two_nginx(&env, &alice).await;
    let listed = parse(
        &env.get_bearer(&format!("{base}?namespace=team-a&text=nginx"), &alice)
            .await
            .body,
    );
    assert_eq!(listed["total"], 2, "{listed}");
}

/// Two visible deployments share the bare name.
#[tokio::test]
async fn a_bare_name_two_visible_deployments_share_is_a_409_naming_both() {
    let env = TestEnv::start_with_cluster("a-bare-name-two-visible-deployments-shar").await;
    let alice = env.bearer("alice");
    let base = BASE;
    create_two_nginx(&env, &alice).await;
    // Two visible deployments share the bare name: a 409 naming both.
    let ambiguous = env
        .get_bearer(&format!("{base}/nginx/status"), &alice)
        .await;
    assert_eq!(ambiguous.status, StatusCode::CONFLICT, "{}", ambiguous.body);
    let message = parse(&ambiguous.body)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("2 deployments you can see are called nginx")
            && message.contains("team-a/nginx (HelmRelease")
            && message.contains("team-a/nginx (Kustomization"),
        "{message}"
    );
}

/// A deployment of another tenant with the same bare name is no candidate.
#[tokio::test]
async fn a_same_named_deployment_the_caller_cannot_see_changes_nothing() {
    let env = TestEnv::start_with_cluster("a-same-named-deployment-the-caller-canno").await;
    let admin = env.bearer("admin");
    let alice = env.bearer("alice");
    let base = BASE;
    // A same-named deployment alice cannot see changes nothing in her answers.
    plant_release(&env, "team-b", "hidden");
    plant_release(&env, "team-b", "podinfo");
    until_visible(&env, &format!("{base}/team-b/hidden"), &admin).await;
    until_visible(&env, &format!("{base}/team-b/podinfo"), &admin).await;
    let hidden = env
        .get_bearer(&format!("{base}/hidden/status"), &alice)
        .await;
    let nothing = env
        .get_bearer(&format!("{base}/nothing-at-all/status"), &alice)
        .await;
    assert_eq!(
        (hidden.status, nothing.status),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(
        parse(&hidden.body)["message"],
        "deployment not found: hidden"
    );
    let mine = env.get_bearer(&format!("{base}/podinfo"), &alice).await;
    assert_eq!(
        mine.status,
        StatusCode::OK,
        "team-b's podinfo is not a candidate: {}",
        mine.body
    );
    assert_eq!(parse(&mine.body)["namespace"], "team-a");
    let both = env.get_bearer(&format!("{base}/podinfo"), &admin).await;
    assert_eq!(
        both.status,
        StatusCode::CONFLICT,
        "the admin sees both: {}",
        both.body
    );
}

/// The ETag of a read, and 412 once it is stale.
#[tokio::test]
async fn updates_are_guarded_by_if_match() {
    let env = TestEnv::start_with_cluster("updates-are-guarded-by-if-match").await;
    let alice = env.bearer("alice");
    let base = BASE;
    create_two_nginx(&env, &alice).await;
    // Updates guarded by If-Match: the ETag of a read, and 412 once it is stale.
    let nginx = format!("{base}/team-a/nginx?kind=HelmRelease");
    let etag_of = async || {
        let read = env.get_bearer(&nginx, &alice).await;
        read.headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .expect("an ETag")
            .to_owned()
    };
    // The simulated controller writes the new object's status a few times (each a new
    // resourceVersion, as on a real API server); read once it has settled.
    let mut etag = etag_of().await;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let again = etag_of().await;
        if again == etag {
            break;
        }
        etag = again;
    }
    let patch = |tag: &str| {
        Request::builder()
            .method("PATCH")
            .uri(nginx.clone())
            .header(header::AUTHORIZATION, format!("Bearer {alice}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::IF_MATCH, tag)
            .body(Body::from(
                json!({ "values": { "replicaCount": 4 } }).to_string(),
            ))
            .expect("request")
    };
    let fresh = env.call(patch(&etag)).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    let stale = env.call(patch(&etag)).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    let body = parse(&stale.body);
    assert_eq!(body["error"], "precondition_failed");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("reload it")),
        "{body}"
    );
    let garbage = env.call(patch("*")).await;
    assert_eq!(
        garbage.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        garbage.body
    );
}
