//! The real helm binary against the sandbox: install, upgrade, list, history, rollback and
//! uninstall of a chart, with the release Secrets and chart objects checked through kube.
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kube::{Client, Config};
mod support;

use sandbox::{Sandbox, SandboxOptions};
use std::path::PathBuf;
use std::process::Command;
use support::{helm, helm_binary};

async fn replicas(deployments: &Api<Deployment>) -> Option<i32> {
    deployments
        .get("demo-mychart")
        .await
        .ok()
        .and_then(|d| d.spec.replicas)
}

#[tokio::test]
async fn helm_installs_upgrades_rolls_back_and_uninstalls() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("helm-round-trip");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let sandbox = Sandbox::start(SandboxOptions {
        kubeconfig: Some(kubeconfig.clone()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let client = Client::try_from(Config::new(sandbox.url().parse().unwrap())).unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let chart = dir.join("mychart");
    let out = Command::new(helm_binary())
        .arg("create")
        .arg(&chart)
        .output()
        .unwrap();
    assert!(out.status.success());
    let chart = chart.to_str().unwrap();

    // Helm runs blocking; give it its own thread so the sandbox keeps serving.
    let run = |args: Vec<String>| {
        let kubeconfig = kubeconfig.clone();
        tokio::task::spawn_blocking(move || {
            helm(
                &kubeconfig,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )
        })
    };
    run(vec!["install".into(), "demo".into(), chart.into()])
        .await
        .unwrap();
    assert_eq!(replicas(&deployments).await, Some(1));
    let releases = secrets
        .list(&ListParams::default().labels("owner=helm,name=demo"))
        .await
        .unwrap();
    assert_eq!(releases.items.len(), 1);
    assert_eq!(
        releases.items[0].type_.as_deref(),
        Some("helm.sh/release.v1")
    );

    run(vec![
        "upgrade".into(),
        "demo".into(),
        chart.into(),
        "--set".into(),
        "replicaCount=3".into(),
    ])
    .await
    .unwrap();
    assert_eq!(replicas(&deployments).await, Some(3));

    let list = run(vec!["list".into(), "--output".into(), "json".into()])
        .await
        .unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(
        (list[0]["name"].as_str(), list[0]["revision"].as_str()),
        (Some("demo"), Some("2")),
        "{list}"
    );

    run(vec!["rollback".into(), "demo".into(), "1".into()])
        .await
        .unwrap();
    assert_eq!(
        replicas(&deployments).await,
        Some(1),
        "rollback restored revision 1's values"
    );
    let history = run(vec![
        "history".into(),
        "demo".into(),
        "--output".into(),
        "json".into(),
    ])
    .await
    .unwrap();
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["superseded", "superseded", "deployed"],
        "{history}"
    );

    run(vec!["uninstall".into(), "demo".into()]).await.unwrap();
    assert_eq!(replicas(&deployments).await, None);
    assert!(
        secrets
            .list(&ListParams::default().labels("owner=helm"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
