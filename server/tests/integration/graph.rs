//! The dependency graph through its server function: arrows from `dependsOn` and sources,
//! missing dependencies drawn as such, and only the namespaces the caller may list.

use crate::support::{PUBLIC_URL, TestEnv};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sandbox::store::WriteOptions;
use serde_json::{Value, json};

async fn graph(env: &TestEnv, cookie: &str, namespace: &str) -> crate::support::Answer {
    let request = Request::post("/api/load_graph")
        .header(header::COOKIE, cookie)
        .header("origin", PUBLIC_URL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("namespace={namespace}")))
        .expect("request");
    env.call(request).await
}

/// Each arrow as "needed -> needing" by name.
fn arrows(graph: &Value) -> Vec<String> {
    let nodes = graph["nodes"].as_array().cloned().unwrap_or_default();
    let name = |i: &Value| {
        let node = &nodes[i.as_u64().unwrap_or_default() as usize];
        format!(
            "{}/{}",
            node["kind"].as_str().unwrap_or_default(),
            node["name"].as_str().unwrap_or_default()
        )
    };
    let mut arrows: Vec<String> = graph["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{} -> {} ({})",
                name(&e["from"]),
                name(&e["to"]),
                e["relation"].as_str().unwrap_or_default()
            )
        })
        .collect();
    arrows.sort();
    arrows
}

#[tokio::test]
async fn arrows_sources_missing_and_visibility() {
    let env = TestEnv::start_with_cluster("graph").await;
    let admin = env.login("admin").await;
    let answer = graph(&env, &admin, "team-b").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let team_b: Value = serde_json::from_str(&answer.body).expect("json");
    let arrows_b = arrows(&team_b);
    for expected in [
        "Kustomization/analytics-db -> Kustomization/analytics (dependsOn)",
        "GitRepository/analytics -> Kustomization/analytics (source)",
        "GitRepository/analytics -> Kustomization/analytics-db (source)",
        "HelmRepository/bitnami -> HelmRelease/redis (source)",
    ] {
        assert!(
            arrows_b.iter().any(|a| a == expected),
            "{expected} in {arrows_b:#?}"
        );
    }
    let x_of = |name: &str| {
        team_b["nodes"]
            .as_array()
            .and_then(|n| {
                n.iter()
                    .find(|n| n["name"] == name && n["role"] == "deployment")
            })
            .and_then(|n| n["x"].as_f64())
            .expect("node")
    };
    assert!(x_of("analytics-db") < x_of("analytics"));
    assert!(
        team_b["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|n| n["namespace"] == "team-b"),
        "one namespace only"
    );

    // A dependency that is not there is drawn, so the dependent's wait is explained.
    let store = env.cluster.as_ref().expect("cluster").store().clone();
    let rt = store
        .resource("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
        .expect("resource");
    let options = WriteOptions {
        unknown: sandbox::schema::UnknownFields::Reject,
        ..WriteOptions::by("test")
    };
    store
        .create(
            &rt,
            Some("team-a"),
            json!({ "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": { "name": "waits" },
                "spec": { "interval": "5m", "path": "./", "prune": true,
                    "sourceRef": { "kind": "GitRepository", "name": "shop" },
                    "dependsOn": [{ "name": "ghost" }] } }),
            options,
        )
        .expect("created");
    let alice = env.login("alice").await;
    let mut seen = Value::Null;
    for _ in 0..50 {
        let answer = graph(&env, &alice, "").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        seen = serde_json::from_str(&answer.body).expect("json");
        if arrows(&seen).iter().any(|a| a.contains("waits")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        arrows(&seen)
            .contains(&"Kustomization/ghost -> Kustomization/waits (dependsOn)".to_owned()),
        "{:#?}",
        arrows(&seen)
    );
    let ghost = seen["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["name"] == "ghost"))
        .expect("ghost");
    assert_eq!(ghost["role"], "missing");
    assert_eq!(ghost["status"], "missing");
    // alice's tenant-wide view is team-a only; team-b is refused outright.
    assert!(
        seen["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|n| n["namespace"] == "team-a"),
        "{seen:#}"
    );
    let refused = graph(&env, &alice, "team-b").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}
