//! The values editor's server functions on a Flux HelmRelease: typed values are checked with
//! their place, previewed as a values diff (and a rendered-manifest diff when helm can fetch
//! the chart within the registry policy), and applied as one audited update; a
//! Kustomization has no values.

use crate::charts;
use crate::support::{PUBLIC_URL, TestEnv, plant, urlencode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use control::audit::{AuditFilter, Outcome};
use serde_json::{Value, json};

const PODINFO: &str = "default~team-a~HelmRelease~podinfo";

/// Calls a values server function with `id` and `text` (and, to apply, no take-over).
async fn call(
    env: &TestEnv,
    cookie: &str,
    endpoint: &str,
    id: &str,
    text: &str,
) -> crate::support::Answer {
    let force = if endpoint == "apply_values" {
        "&force=false"
    } else {
        ""
    };
    let body = format!("id={}&text={}{force}", urlencode(id), urlencode(text));
    send(env, cookie, endpoint, &body).await
}

async fn send(env: &TestEnv, cookie: &str, endpoint: &str, body: &str) -> crate::support::Answer {
    let request = Request::post(format!("/api/{endpoint}"))
        .header(header::COOKIE, cookie)
        .header("origin", PUBLIC_URL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .expect("request");
    env.call(request).await
}

/// A Helm chart repository over plain HTTP on loopback holding the chart `web` 1.0.0;
/// answers its address.
async fn chart_repository() -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let index = "apiVersion: v1\nentries:\n  web:\n  - apiVersion: v2\n    name: web\n    version: 1.0.0\n    urls: [web-1.0.0.tgz]\n";
    let archive = charts::demo_chart("web", "1.0.0");
    let router = axum::Router::new()
        .route("/index.yaml", get(move || async move { index }))
        .route("/web-1.0.0.tgz", get(move || async move { archive }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

#[tokio::test]
async fn check_preview_and_apply_values() {
    let repository = chart_repository().await;
    let redirecting = redirecting_repository().await;
    let off_host = off_host_repository().await;
    // Allowed by name, as a platform-admin would: what is tested is what happens after.
    let allowed = vec![repository.clone(), redirecting.clone(), off_host.clone()];
    let env = TestEnv::start_with_cluster_and("values-editor", move |config| {
        config.helm.allowed_registries = allowed.clone();
        config.helm.plain_http_registries = allowed;
    })
    .await;
    let alice = env.login("alice").await;

    let broken = call(
        &env,
        &alice,
        "check_values",
        PODINFO,
        "replicaCount: 2\nimage: [oops\n",
    )
    .await;
    assert_eq!(broken.status, StatusCode::OK, "{}", broken.body);
    let problems: Vec<Value> = serde_json::from_str(&broken.body).expect("json");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0]["line"].as_u64().is_some() && problems[0]["column"].as_u64().is_some());
    let fine = call(&env, &alice, "check_values", PODINFO, "replicaCount: 3\n").await;
    assert_eq!(fine.body, "[]");

    // A preview runs helm: a viewer, who may not change the values, may not run it either.
    env.grant("team-a", "bob", control::access::TenantRole::Viewer)
        .await;
    let bob = env.login("bob").await;
    let refused = call(&env, &bob, "preview_values", PODINFO, "replicaCount: 3\n").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    let preview = call(&env, &alice, "preview_values", PODINFO, "replicaCount: 3\n").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let preview: Value = serde_json::from_str(&preview.body).expect("json");
    let diff = preview["valuesDiff"].as_str().unwrap_or_default();
    assert!(
        diff.contains("-replicaCount: 2") && diff.contains("+replicaCount: 3"),
        "{diff}"
    );
    // podinfo's repository is on a host outside helm.allowedRegistries: not fetched.
    assert!(preview["manifestDiff"].is_null());
    let note = preview["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("Only the values diff") && note.contains("helm.allowedRegistries"),
        "{note}"
    );

    rendered_from_a_reachable_repository(&env, &alice, &repository).await;
    hostile_repositories(&env, &alice, &redirecting, &off_host).await;

    // A refused apply changes nothing; a good one is one audited update.
    let refused = call(&env, &alice, "apply_values", PODINFO, "replicaCount: [\n").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    // The demo's objects come from Git: kustomize-controller owns the values, so taking them
    // over is an explicit choice.
    let owned = call(&env, &alice, "apply_values", PODINFO, "replicaCount: 3\n").await;
    assert_eq!(owned.status, StatusCode::CONFLICT, "{}", owned.body);
    assert!(
        owned.body.contains("spec.values.replicaCount"),
        "{}",
        owned.body
    );
    let body = format!(
        "id={}&text={}&force=true",
        urlencode(PODINFO),
        urlencode("replicaCount: 3\n")
    );
    let applied = send(&env, &alice, "apply_values", &body).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    let values = env
        .get_bearer(
            &format!("/o2dms/v1/deployments/{PODINFO}/values"),
            &env.bearer("alice"),
        )
        .await;
    let values: Value = serde_json::from_str(&values.body).expect("json");
    assert_eq!(values["replicaCount"], 3, "{values}");
    let rows = env
        .service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                actor: Some("alice".into()),
                action: Some("deployment.update".into()),
                outcome: Some(Outcome::Success),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .events;
    assert_eq!(rows.len(), 1, "{rows:#?}");

    let shop = call(
        &env,
        &alice,
        "check_values",
        "default~team-a~Kustomization~shop",
        "a: 1",
    )
    .await;
    assert_eq!(
        shop.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        shop.body
    );
    assert!(shop.body.contains("no values"), "{}", shop.body);
}

/// A HelmRelease whose HelmRepository helm may reach: the preview renders its chart with the
/// running and the proposed values, as helm-controller would, and diffs the manifests.
async fn rendered_from_a_reachable_repository(env: &TestEnv, alice: &str, repository: &str) {
    let store = env.cluster.as_ref().expect("sandbox").store();
    plant(
        store,
        "source.toolkit.fluxcd.io",
        "helmrepositories",
        json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": { "name": "local", "namespace": "team-a" },
            "spec": { "interval": "1h", "url": format!("http://{repository}") } }),
    );
    plant_release(
        store,
        "web",
        json!({ "chart": "web", "version": "1.0.0",
        "sourceRef": { "kind": "HelmRepository", "name": "local" } }),
    );
    let preview = preview_once_cached(env, alice, "web").await;
    let manifest = preview["manifestDiff"].as_str().unwrap_or_default();
    assert!(
        manifest.contains("-  replicas: \"2\"") && manifest.contains("+  replicas: \"5\""),
        "{preview}"
    );
    assert!(manifest.contains("name: web-settings"), "{manifest}");
    assert!(preview["note"].is_null(), "{preview}");

    // A chart only source-controller can package (from Git) is not fetched; the note says so.
    plant_release(
        store,
        "from-git",
        json!({ "chart": "./charts/web",
        "sourceRef": { "kind": "GitRepository", "name": "shop" } }),
    );
    let preview = preview_once_cached(env, alice, "from-git").await;
    let note = preview["note"].as_str().unwrap_or_default();
    assert!(note.contains("GitRepository"), "{note}");
}

/// A chart repository that sends its index elsewhere, or whose index points the chart at
/// another host: Pilothouse fetches charts itself and follows neither.
async fn hostile_repositories(env: &TestEnv, alice: &str, redirecting: &str, off_host: &str) {
    let store = env.cluster.as_ref().expect("sandbox").store();
    for (name, address) in [("redirecting", redirecting), ("off-host", off_host)] {
        plant(
            store,
            "source.toolkit.fluxcd.io",
            "helmrepositories",
            json!({ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": { "name": name, "namespace": "team-a" },
                "spec": { "interval": "1h", "url": format!("http://{address}") } }),
        );
        plant_release(
            store,
            &format!("web-{name}"),
            json!({ "chart": "web", "version": "1.0.0",
            "sourceRef": { "kind": "HelmRepository", "name": name } }),
        );
    }
    let preview = preview_once_cached(env, alice, "web-redirecting").await;
    let note = preview["note"].as_str().unwrap_or_default();
    assert!(preview["manifestDiff"].is_null(), "{preview}");
    assert!(note.contains("leaves the repository's host"), "{note}");
    let preview = preview_once_cached(env, alice, "web-off-host").await;
    let note = preview["note"].as_str().unwrap_or_default();
    assert!(preview["manifestDiff"].is_null(), "{preview}");
    assert!(
        note.contains("169.254.169.254") && note.contains("off the repository's host"),
        "{note}"
    );
}

/// A repository on loopback whose `index.yaml` redirects to `localhost` (another host).
async fn redirecting_repository() -> String {
    use axum::response::Redirect;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let elsewhere = format!("http://localhost:{}/index.yaml", address.port());
    let router = axum::Router::new().route(
        "/index.yaml",
        get(move || async move { Redirect::temporary(&elsewhere) }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    address.to_string()
}

/// A repository on loopback whose index points the chart at the cloud metadata address.
async fn off_host_repository() -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let index = "apiVersion: v1\nentries:\n  web:\n  - apiVersion: v2\n    name: web\n    version: 1.0.0\n    urls: [http://169.254.169.254/latest/web-1.0.0.tgz]\n";
    let router = axum::Router::new().route("/index.yaml", get(move || async move { index }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

/// Plants HelmRelease `name` in team-a with `chart` as its chart template and 2 replicas.
fn plant_release(store: &sandbox::store::Store, name: &str, chart: Value) {
    plant(
        store,
        "helm.toolkit.fluxcd.io",
        "helmreleases",
        json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": { "name": name, "namespace": "team-a" },
            "spec": { "interval": "10m", "values": { "replicaCount": 2 },
                "chart": { "spec": chart } } }),
    );
}

/// The preview of 5 replicas for team-a's HelmRelease `name`, once the watch cache has it
/// (waited for with a plain read: each preview spends the expensive-read budget).
async fn preview_once_cached(env: &TestEnv, alice: &str, name: &str) -> Value {
    let id = format!("default~team-a~HelmRelease~{name}");
    let path = format!("/o2dms/v1/deployments/{id}");
    crate::support::until(
        std::time::Duration::from_secs(60),
        &format!("{id} in the watch cache"),
        async || env.get(&path, Some(alice)).await.status == StatusCode::OK,
    )
    .await;
    let answer = call(env, alice, "preview_values", &id, "replicaCount: 5\n").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    serde_json::from_str(&answer.body).expect("json")
}
