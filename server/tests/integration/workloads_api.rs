//! What runs behind a deployment over REST: its workloads and pods, a crashed container's
//! previous log, delete a pod and restart a rollout, and the refusals (no tenant, a pod of
//! another deployment).

use crate::support::{TestEnv, until};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn workloads_logs_and_actions_over_rest() {
    let env = TestEnv::start_with_cluster("rest-workloads").await;
    let (alice, bob) = (env.bearer("alice"), env.bearer("bob"));
    let base = "/o2dms/v1/deployments/default~team-a~Kustomization~shop";
    let pods = async || -> Vec<String> {
        let answer = env.get_bearer(&format!("{base}/workloads"), &alice).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        parse(&answer.body)
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["kind"] == "Deployment" && w["name"] == "shop")
            .flat_map(|w| w["pods"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    };
    until(Duration::from_secs(30), "shop's pod", async || {
        !pods().await.is_empty()
    })
    .await;
    let pod = pods().await.remove(0);
    let workloads = parse(
        &env.get_bearer(&format!("{base}/workloads"), &alice)
            .await
            .body,
    );
    assert_eq!(
        workloads[0]["pods"][0]["phase"], "CrashLoopBackOff",
        "{workloads}"
    );

    let previous = env
        .get_bearer(
            &format!("{base}/pods/team-a/{pod}/logs?previous=true&tail=50"),
            &alice,
        )
        .await;
    assert_eq!(previous.status, StatusCode::OK, "{}", previous.body);
    assert!(
        previous.body.contains("panic: DATABASE_URL is not set"),
        "{}",
        previous.body
    );
    let elsewhere = env
        .get_bearer(
            &format!(
                "/o2dms/v1/deployments/default~team-a~HelmRelease~podinfo/pods/team-a/{pod}/logs"
            ),
            &alice,
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.body
    );
    let too_many = env
        .get_bearer(&format!("{base}/pods/team-a/{pod}/logs?tail=0"), &alice)
        .await;
    assert_eq!(
        too_many.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_many.body
    );
    let refused = env.get_bearer(&format!("{base}/workloads"), &bob).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "bob has no tenant");

    let deleted = env
        .send_bearer(
            "DELETE",
            &format!("{base}/pods/team-a/{pod}"),
            &alice,
            json!(null),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    until(Duration::from_secs(30), "a new pod", async || {
        let now = pods().await;
        !now.is_empty() && !now.contains(&pod)
    })
    .await;
    let restarted = env
        .send_bearer(
            "POST",
            &format!("{base}/workloads/deployments/shop/restart"),
            &alice,
            json!(null),
        )
        .await;
    assert_eq!(
        restarted.status,
        StatusCode::NO_CONTENT,
        "{}",
        restarted.body
    );
    let unknown = env
        .send_bearer(
            "POST",
            &format!("{base}/workloads/deployments/ghost/restart"),
            &alice,
            json!(null),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    env.assert_audit_chain_intact().await;
}
