//! The deployments REST API end to end: a bearer token from the real identity provider, the
//! server's own configuration path to the sandbox cluster (a kubeconfig), the Flux adapter,
//! and the reference's request shapes and error texts.

use crate::support::{TestEnv, until};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn deployments_over_rest() {
    let env = TestEnv::start_with_cluster("rest-deployments").await;
    let issuer = env.idp.issuer();
    let token = |sub: &str| {
        env.mint(json!({ "iss": issuer, "aud": "pilothouse", "sub": sub, "iat": now(), "exp": now() + 300 }))
    };
    let alice = token("alice");
    let bob = token("bob");

    let list = env
        .get_bearer(
            "/o2dms/v1/deployments?limit=2&labels=app.kubernetes.io/part-of=demo",
            &alice,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let page = parse(&list.body);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert!(page["total"].as_u64().is_some_and(|t| t >= 3), "{page}");
    assert!(
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|d| d["namespace"] == "team-a")
    );
    let nothing = env.get_bearer("/o2dms/v1/deployments", &bob).await;
    assert_eq!(parse(&nothing.body)["total"], 0, "bob has no tenant");

    // The reference's create example, in alice's namespace.
    let create = json!({ "name": "nginx", "namespace": "team-a", "values": { "replicaCount": 3 },
        "extensions": { "flux.type": "helmrelease", "flux.chart": "nginx", "flux.sourceRef": "podinfo", "flux.chartVersion": "13.2.0" } });
    let created = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice, create.clone())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(parse(&created.body)["kind"], "HelmRelease");
    let again = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice, create)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        parse(&again.body)["message"],
        "deployment already exists: nginx"
    );

    let missing_chart = env
        .send_bearer("POST", "/o2dms/v1/deployments", &alice, json!({ "name": "test", "namespace": "team-a", "extensions": { "flux.type": "helmrelease", "flux.sourceRef": "podinfo" } }))
        .await;
    assert_eq!(missing_chart.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = parse(&missing_chart.body);
    assert_eq!(error["field"], "flux.chart");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("flux.chart extension is required for HelmRelease")),
        "{error}"
    );
    let malformed = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments",
            &alice,
            json!({ "name": 5 }),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(parse(&malformed.body)["field"], "body");
    let forbidden = env
        .send_bearer("POST", "/o2dms/v1/deployments", &bob, json!({ "name": "x", "namespace": "team-a", "extensions": { "flux.chart": "x", "flux.sourceRef": "podinfo" } }))
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    let not_found = env
        .get_bearer("/o2dms/v1/deployments/team-a/nonexistent", &alice)
        .await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert_eq!(
        parse(&not_found.body)["message"],
        "deployment not found: nonexistent"
    );

    let reconciled = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/nginx/reconcile",
            &alice,
            json!({ "withSource": true }),
        )
        .await;
    assert_eq!(reconciled.status, StatusCode::OK, "{}", reconciled.body);
    let outcome = parse(&reconciled.body);
    assert_eq!(
        (
            outcome["finished"].as_bool(),
            outcome["state"]["status"].as_str()
        ),
        (Some(true), Some("deployed")),
        "{outcome}"
    );

    let scaled = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/nginx/scale",
            &alice,
            json!({ "replicas": 5 }),
        )
        .await;
    assert_eq!(scaled.status, StatusCode::OK, "{}", scaled.body);
    let update = env
        .send_bearer(
            "PATCH",
            "/o2dms/v1/deployments/team-a/nginx",
            &alice,
            json!({ "extensions": { "flux.chartVersion": "14.0.0" } }),
        )
        .await;
    assert_eq!(update.status, StatusCode::OK, "{}", update.body);
    env.send_bearer(
        "POST",
        "/o2dms/v1/deployments/team-a/nginx/reconcile",
        &alice,
        json!({}),
    )
    .await;
    let history = parse(
        &env.get_bearer("/o2dms/v1/deployments/team-a/nginx/history", &alice)
            .await
            .body,
    );
    assert_eq!(history[0]["version"], "14.0.0", "{history}");
    let rollback = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/nginx/rollback",
            &alice,
            json!({ "revision": 0 }),
        )
        .await;
    assert_eq!(rollback.status, StatusCode::OK, "{}", rollback.body);
    assert!(
        parse(&rollback.body)["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("13.2.0"))
    );

    let status = parse(
        &env.get_bearer("/o2dms/v1/deployments/team-a/nginx/status", &alice)
            .await
            .body,
    );
    assert!(status["progress"].as_u64().is_some(), "{status}");
    let yaml = env
        .get_bearer("/o2dms/v1/deployments/team-a/nginx/yaml", &alice)
        .await;
    assert!(yaml.body.contains("kind: HelmRelease") && !yaml.body.contains("managedFields"));
    let events = env
        .get_bearer("/o2dms/v1/deployments/team-a/shop/events", &alice)
        .await;
    assert_eq!(events.status, StatusCode::OK);
    let inventory = parse(
        &env.get_bearer("/o2dms/v1/deployments/team-a/shop/inventory", &alice)
            .await
            .body,
    );
    assert!(inventory.as_array().is_some_and(|i| !i.is_empty()));
    let sources = parse(&env.get_bearer("/o2dms/v1/sources", &alice).await.body);
    assert!(sources.as_array().is_some_and(|s| {
        s.iter()
            .any(|s| s["kind"] == "GitRepository" && s["namespace"] == "team-a")
    }));
    let fetched = env
        .send_bearer(
            "POST",
            "/o2dms/v1/sources/team-a/GitRepository/shop/reconcile",
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.body);
    assert_eq!(parse(&fetched.body)["finished"], true);
    let wrong = env
        .send_bearer(
            "POST",
            "/o2dms/v1/sources/team-a/GitRepository/shop/explode",
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let not_a_source = env
        .send_bearer(
            "POST",
            "/o2dms/v1/sources/team-a/Secret/shop/reconcile",
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(
        not_a_source.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        not_a_source.body
    );
    assert_eq!(parse(&not_a_source.body)["field"], "kind");
    // A source fetch is a long change like any other: asked not to wait, it answers 202 with
    // the operation, which ends with the artifact.
    let accepted = env
        .send_bearer_preferring(
            "POST",
            "/o2dms/v1/sources/team-a/GitRepository/shop/reconcile",
            &alice,
            json!({}),
            Some("respond-async"),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let location = parse(&accepted.body)["location"]
        .as_str()
        .expect("location")
        .to_owned();
    let ended = async || parse(&env.get_bearer(&location, &alice).await.body)["state"] != "running";
    until(Duration::from_secs(120), "the source fetch ends", ended).await;
    let operation = parse(&env.get_bearer(&location, &alice).await.body);
    assert_eq!(operation["state"], "succeeded", "{operation}");
    assert_eq!(operation["action"], "source.reconcile", "{operation}");
    let trace = parse(&env.get_bearer("/o2dms/v1/trace?apiVersion=helm.toolkit.fluxcd.io/v2&kind=HelmRelease&namespace=team-a&name=nginx", &alice).await.body);
    assert_eq!(
        trace
            .as_array()
            .and_then(|t| t.last())
            .map(|s| s["kind"].clone()),
        Some(json!("HelmRepository")),
        "{trace}"
    );
    let logs = env
        .get_bearer("/o2dms/v1/controllers/helm-controller/logs?tail=50", &alice)
        .await;
    assert_eq!(logs.status, StatusCode::OK);
    assert!(logs.body.contains("team-a") && !logs.body.contains("\"namespace\":\"team-b\""));

    let suspended = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/nginx/suspend",
            &alice,
            json!({ "reason": "freeze" }),
        )
        .await;
    assert_eq!(parse(&suspended.body)["state"]["suspended"], true);
    let deleted = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/deployments/team-a/nginx",
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let ready = env.get_bearer("/readyz", &alice).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
}

#[tokio::test]
async fn deployments_of_two_kinds_may_share_a_name() {
    let env = TestEnv::start_with_cluster("rest-same-name").await;
    let issuer = env.idp.issuer();
    let token = |sub: &str| {
        env.mint(json!({ "iss": issuer, "aud": "pilothouse", "sub": sub, "iat": now(), "exp": now() + 300 }))
    };
    let alice = token("alice");
    let base = "/o2dms/v1/deployments";

    // The demo has a HelmRelease podinfo in team-a; a Kustomization of that name joins it.
    let created = env
        .send_bearer("POST", base, &alice, json!({ "name": "podinfo", "namespace": "team-a",
            "extensions": { "flux.type": "kustomization", "flux.sourceRef": "shop", "flux.sourceKind": "GitRepository", "flux.path": "./podinfo" } }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = parse(&created.body);
    assert_eq!(created["id"], "default~team-a~Kustomization~podinfo");
    assert_eq!(created["cluster"], "default");

    let ambiguous = env
        .get_bearer(&format!("{base}/team-a/podinfo"), &alice)
        .await;
    assert_eq!(ambiguous.status, StatusCode::CONFLICT, "{}", ambiguous.body);
    let message = parse(&ambiguous.body)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for id in [
        "default~team-a~HelmRelease~podinfo",
        "default~team-a~Kustomization~podinfo",
    ] {
        assert!(message.contains(id), "{message}");
    }

    let by_kind = env
        .get_bearer(&format!("{base}/team-a/podinfo?kind=Kustomization"), &alice)
        .await;
    assert_eq!(by_kind.status, StatusCode::OK, "{}", by_kind.body);
    assert_eq!(parse(&by_kind.body)["kind"], "Kustomization");

    for kind in ["HelmRelease", "Kustomization"] {
        let id = format!("default~team-a~{kind}~podinfo");
        let one = env.get_bearer(&format!("{base}/{id}"), &alice).await;
        assert_eq!(one.status, StatusCode::OK, "{id}: {}", one.body);
        assert_eq!(parse(&one.body)["kind"], kind);
        let status = env.get_bearer(&format!("{base}/{id}/status"), &alice).await;
        assert_eq!(status.status, StatusCode::OK, "{id}: {}", status.body);
        let history = env
            .get_bearer(&format!("{base}/{id}/history"), &alice)
            .await;
        assert_eq!(history.status, StatusCode::OK, "{id}: {}", history.body);
    }

    // A write by id reaches exactly the object it names.
    let suspended = env
        .send_bearer(
            "POST",
            &format!("{base}/default~team-a~Kustomization~podinfo/suspend"),
            &alice,
            json!({ "reason": "same-name test" }),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(parse(&suspended.body)["state"]["suspended"], true);
    let release = env
        .get_bearer(
            &format!("{base}/default~team-a~HelmRelease~podinfo"),
            &alice,
        )
        .await;
    assert_eq!(
        parse(&release.body)["state"]["suspended"],
        false,
        "{}",
        release.body
    );

    let listed = env
        .get_bearer(&format!("{base}?text=podinfo"), &alice)
        .await;
    let ids: Vec<String> = parse(&listed.body)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect();
    assert!(
        ids.contains(&"default~team-a~HelmRelease~podinfo".to_owned()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"default~team-a~Kustomization~podinfo".to_owned()),
        "{ids:?}"
    );

    // Malformed references are refused as bad requests, saying what is wrong.
    for (path, expected) in [
        (format!("{base}/not~an~id"), "cluster~namespace~kind~name"),
        (
            format!("{base}/default~team-a~Pod~podinfo/status"),
            "HelmRelease, Kustomization, Release",
        ),
        (
            format!("{base}/default~Team_A~HelmRelease~podinfo"),
            "lowercase",
        ),
        (
            format!("{base}/team-a/podinfo?kind=Pod"),
            "HelmRelease, Kustomization, Release",
        ),
        (
            format!("{base}?after=team-a/podinfo"),
            "cluster~namespace~kind~name",
        ),
    ] {
        let refused = env.get_bearer(&path, &alice).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            refused.body
        );
        let body = parse(&refused.body);
        assert_eq!(body["error"], "bad_request", "{path}: {body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(expected)),
            "{path}: {body}"
        );
    }

    // Cursor paging: the next page starts after the last row of this one.
    let first = parse(
        &env.get_bearer(&format!("{base}?limit=1"), &alice)
            .await
            .body,
    );
    let next = first["next"]
        .as_str()
        .expect("more than one row")
        .to_owned();
    assert_eq!(first["items"][0]["id"], next);
    let second = parse(
        &env.get_bearer(&format!("{base}?limit=1&after={next}"), &alice)
            .await
            .body,
    );
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);
    assert_eq!(second["total"], first["total"]);
}

/// The overview's recent operations show each operation once, as its newest row says: an
/// operation's intent and outcome are not two rows.
#[tokio::test]
async fn the_overview_shows_each_recent_operation_once() {
    let env = TestEnv::start("overview-recent", |_| {}).await;
    let admin = env.bearer("admin");
    for slug in ["recent-1", "recent-2"] {
        let made = env
            .send_bearer("POST", "/o2dms/v1/tenants", &admin, json!({ "slug": slug }))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    }
    let overview = env.service.overview(&env.admin()).await.expect("overview");
    let operations: Vec<&str> = overview
        .recent
        .iter()
        .map(|r| r.operation.as_str())
        .collect();
    let unique: std::collections::BTreeSet<&str> = operations.iter().copied().collect();
    assert_eq!(unique.len(), operations.len(), "{:#?}", overview.recent);
    let creates: Vec<_> = overview
        .recent
        .iter()
        .filter(|r| r.action == "tenant.create" && r.target.starts_with("recent-"))
        .collect();
    assert_eq!(creates.len(), 2, "{:#?}", overview.recent);
    assert!(
        creates.iter().all(|r| r.outcome == "success"),
        "{creates:#?}"
    );
}
