//! The Helm adapter with the real helm binary against the sandbox cluster and a real Postgres:
//! upload → install → upgrade → history → preview → rollback → scale → uninstall, releases
//! read from the Secret watch, the reference's error texts, and argument injection refused.

mod charts;
mod cluster;
mod refs;
mod registries;
mod support;

use charts::demo_chart;
use control::Error;
use control::access::Namespaces;
use control::adapters::helm::package::Limits;
use control::adapters::helm::{HelmAdapter, HelmConfig};
use control::adapters::registry::{ClusterHandle, ClusterRegistry};
use control::adapters::{DeploymentAdapter, Inventory};
use control::service::change::{Change, ChangeOutcome};
use control::store::records::helm_records;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::{Client, Config};
use model::deployment::Preview;
use model::deployment::{DeploymentFilter, DeploymentRequest, DeploymentUpdate};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use support::{person, seeded};

async fn settings(client: &Client, name: &str) -> Option<String> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "team-a");
    let map = maps.get_opt(&format!("{name}-settings")).await.ok()??;
    map.data?.get("replicas").cloned()
}

/// Waits until the release watch shows `revision` of `name`.
async fn revision_seen(helm: &HelmAdapter, name: &str, revision: &str) {
    for _ in 0..200 {
        if helm
            .get(&refs::rel("team-a", name))
            .ok()
            .and_then(|d| d.revision)
            .as_deref()
            == Some(revision)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{name} never reached revision {revision}");
}

/// An empty sandbox cluster with a kubeconfig for helm, and a fresh directory for the test.
async fn cluster(name: &str) -> (sandbox::Sandbox, Client, PathBuf) {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let sandbox = sandbox::Sandbox::start(sandbox::SandboxOptions {
        kubeconfig: Some(dir.join("kubeconfig")),
        manifests: vec![sandbox::deploy_rbac()],
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let client =
        Client::try_from(Config::new(sandbox.url().parse().expect("url"))).expect("client");
    (sandbox, client, dir)
}

fn values(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn the_full_lifecycle(pool: PgPool) {
    let (sandbox, client, dir) = cluster("helm-lifecycle").await;
    let kubeconfig = dir.join("kubeconfig");
    let config = HelmConfig {
        binary: testkit::helm::binary(),
        kubeconfig: Some(kubeconfig),
        timeout: "60s".into(),
        ..HelmConfig::default()
    };
    let helm = Arc::new(
        HelmAdapter::new(
            &cluster::connection(&sandbox),
            config,
            helm_records(&pool),
            dir.join("helm-home"),
        )
        .expect("adapter"),
    );
    helm.cache()
        .wait_until_ready(Duration::from_secs(10))
        .await
        .expect("cache");
    helm.health().await.expect("healthy");

    let cluster = ClusterHandle::new(cluster::connection(&sandbox))
        .with_adapter(helm.clone())
        .expect("cluster");
    let service = seeded(pool)
        .await
        .with_registry(ClusterRegistry::single(cluster));
    let admin = person("admin", &[]);
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "team-a" } })).expect("ns"),
        )
        .await
        .expect("namespace");
    service
        .assign_namespace(&admin, "team-a", "team-a")
        .await
        .expect("assign");

    // Upload, then install from the package id as in the reference.
    let package = service
        .upload_package(
            &admin,
            &refs::ns("team-a"),
            &demo_chart("demo", "0.1.0"),
            Limits::default(),
        )
        .await
        .expect("upload");
    assert_eq!(package.id, "demo-0.1.0");
    let again = service
        .upload_package(
            &admin,
            &refs::ns("team-a"),
            &demo_chart("demo", "0.1.0"),
            Limits::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(again.to_string(), "package already exists: demo-0.1.0");
    service
        .upload_package(
            &admin,
            &refs::ns("team-a"),
            &demo_chart("demo", "0.2.0"),
            Limits::default(),
        )
        .await
        .expect("upload 0.2.0");
    assert_eq!(service.list_packages(&admin).await.expect("list").len(), 2);

    let request: DeploymentRequest = serde_json::from_value(json!({ "name": "web", "namespace": "team-a", "packageId": "demo-0.1.0", "values": { "replicaCount": 2 } })).expect("request");
    let installed = refs::created(&service, &admin, &request)
        .await
        .expect("install");
    assert_eq!(
        (installed.adapter.as_str(), installed.revision.as_deref()),
        ("helm", Some("1"))
    );
    assert_eq!(
        installed.state.status,
        model::deployment::DeploymentStatus::Deployed
    );
    assert_eq!(settings(&client, "web").await.as_deref(), Some("2"));
    revision_seen(&helm, "web", "1").await;
    let decodes_after_install = helm.cache().decodes();

    // The reference's errors.
    let exists = refs::created(&service, &admin, &request).await.unwrap_err();
    assert_eq!(exists.to_string(), "release already exists: web");
    let mut missing = request.clone();
    missing.name = "other".into();
    missing.package_id = Some("nope-1.0.0".into());
    assert_eq!(
        refs::created(&service, &admin, &missing)
            .await
            .unwrap_err()
            .to_string(),
        "chart not found: nope-1.0.0"
    );
    assert_eq!(
        helm.get(&refs::rel("team-a", "ghost"))
            .unwrap_err()
            .to_string(),
        "deployment not found: ghost"
    );
    let unconfigured: DeploymentRequest = serde_json::from_value(
        json!({ "name": "repo", "namespace": "team-a", "extensions": { "helm.chart": "demo" } }),
    )
    .expect("request");
    assert!(
        refs::created(&service, &admin, &unconfigured)
            .await
            .unwrap_err()
            .to_string()
            .contains("no chart repository is configured")
    );

    // Upgrade to 0.2.0 with new values, then preview a scale.
    let update = DeploymentUpdate {
        values: Some(values(json!({ "replicaCount": 3, "color": "green" }))),
        extensions: [("helm.chartVersion".to_owned(), json!("0.2.0"))].into(),
        ..DeploymentUpdate::default()
    };
    let upgraded = refs::made(
        &service,
        &admin,
        Change::UpdateDeployment {
            deployment: refs::rel("team-a", "web"),
            update,
        },
    )
    .await
    .and_then(ChangeOutcome::into_deployment)
    .expect("upgrade");
    assert_eq!(upgraded.chart.as_deref(), Some("demo-0.2.0"));
    assert_eq!(upgraded.revision.as_deref(), Some("2"));
    assert_eq!(settings(&client, "web").await.as_deref(), Some("3"));
    revision_seen(&helm, "web", "2").await;
    let preview = service
        .preview_deployment(
            &admin,
            &refs::rel("team-a", "web"),
            &Preview::Scale {
                replicas: 5,
                version: None,
            },
        )
        .await
        .expect("preview");
    assert!(
        preview.contains("-  replicas: \"3\"") && preview.contains("+  replicas: \"5\""),
        "{preview}"
    );
    assert_eq!(
        settings(&client, "web").await.as_deref(),
        Some("3"),
        "a preview changes nothing"
    );
    let back = service
        .preview_deployment(&admin, &refs::rel("team-a", "web"), &Preview::Rollback(1))
        .await
        .expect("rollback preview");
    assert!(back.contains("+  replicas: \"2\""), "{back}");

    let history = service
        .deployment_history(&admin, &refs::rel("team-a", "web"))
        .await
        .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|r| (r.revision, r.status.as_str()))
            .collect::<Vec<_>>(),
        vec![(2, "deployed"), (1, "superseded")]
    );

    // Rollback, scale, values.
    let rollback = |revision| Change::RollbackDeployment {
        deployment: refs::rel("team-a", "web"),
        revision,
    };
    let rolled = refs::made(&service, &admin, rollback(1))
        .await
        .and_then(ChangeOutcome::into_rollback)
        .expect("rollback");
    assert_eq!(rolled.revision, 1);
    revision_seen(&helm, "web", "3").await;
    assert_eq!(settings(&client, "web").await.as_deref(), Some("2"));
    let failed = refs::made(&service, &admin, rollback(99))
        .await
        .unwrap_err();
    assert!(
        failed.to_string().starts_with("rollback failed"),
        "{failed}"
    );
    refs::made(
        &service,
        &admin,
        refs::scale(refs::rel("team-a", "web"), 4, false),
    )
    .await
    .expect("scale");
    revision_seen(&helm, "web", "4").await;
    assert_eq!(settings(&client, "web").await.as_deref(), Some("4"));
    assert_eq!(
        helm.get(&refs::rel("team-a", "web"))
            .expect("web")
            .chart
            .as_deref(),
        Some("demo-0.1.0"),
        "scaling keeps the chart version the rollback restored"
    );
    assert_eq!(
        DeploymentAdapter::values(helm.as_ref(), &refs::rel("team-a", "web")).expect("values")["replicaCount"],
        4
    );
    let page = service
        .list_deployments(&admin, &DeploymentFilter::default())
        .await
        .expect("list");
    assert_eq!(
        page.items
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        vec!["web"]
    );
    assert!(
        helm.list(
            &DeploymentFilter::default(),
            &Namespaces::only_in_default(["team-b"])
        )
        .expect("list")
        .items
        .is_empty()
    );
    // One decode per change, never one per revision per list.
    assert!(
        helm.cache().decodes() - decodes_after_install <= 6,
        "{} decodes",
        helm.cache().decodes() - decodes_after_install
    );
    let objects =
        Inventory::inventory(helm.as_ref(), &refs::rel("team-a", "web")).expect("inventory");
    assert_eq!(
        objects
            .iter()
            .map(|o| (o.kind.as_str(), o.name.as_str(), o.namespace.as_str()))
            .collect::<Vec<_>>(),
        vec![("ConfigMap", "web-settings", "team-a")]
    );
    assert!(
        helm.export_yaml(&refs::rel("team-a", "web"))
            .await
            .expect("manifest")
            .contains("kind: ConfigMap")
    );

    // A package in use is kept unless forced.
    let in_use = service
        .delete_package(&admin, &refs::ns("team-a"), "demo-0.1.0", false)
        .await
        .unwrap_err();
    assert!(
        in_use.to_string().contains("is used by team-a/web"),
        "{in_use}"
    );
    service
        .delete_package(&admin, &refs::ns("team-a"), "demo-0.2.0", false)
        .await
        .expect("unused package");

    // Injection attempts in every field are refused before helm runs.
    for (name, package, version) in [
        ("--set=x", "demo-0.1.0", None),
        ("web2", "-x", None),
        ("web2", "demo-0.1.0", Some("--post-renderer=/bin/sh")),
    ] {
        let mut hostile = request.clone();
        hostile.name = name.into();
        hostile.package_id = Some(package.into());
        if let Some(v) = version {
            hostile
                .extensions
                .insert("helm.chartVersion".into(), json!(v));
        }
        let error = refs::created(&service, &admin, &hostile).await.unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "{name}: {error}");
    }
    let oci: DeploymentRequest = serde_json::from_value(json!({ "name": "x", "namespace": "team-a", "extensions": { "helm.chart": "oci://--kubeconfig=/etc/x" } })).expect("request");
    assert!(matches!(
        refs::created(&service, &admin, &oci).await.unwrap_err(),
        Error::Invalid { .. }
    ));
    let hostile_values = DeploymentUpdate {
        values: Some(values(json!({ "--set": "x", "replicaCount": "$(reboot)" }))),
        ..DeploymentUpdate::default()
    };
    helm.update(&refs::w(), &refs::rel("team-a", "web"), &hostile_values)
        .await
        .expect("values are data, never arguments");
    assert_eq!(settings(&client, "web").await.as_deref(), Some("$(reboot)"));

    // Uninstall.
    refs::made(
        &service,
        &admin,
        Change::DeleteDeployment {
            deployment: refs::rel("team-a", "web"),
        },
    )
    .await
    .expect("uninstall");
    for _ in 0..200 {
        if helm.get(&refs::rel("team-a", "web")).is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(matches!(
        helm.get(&refs::rel("team-a", "web")),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(settings(&client, "web").await, None);
    service
        .delete_package(&admin, &refs::ns("team-a"), "demo-0.1.0", false)
        .await
        .expect("no longer used");
    drop(sandbox);
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn installs_from_a_repository_with_credentials_kept_out_of_argv(pool: PgPool) {
    let (sandbox, _client, dir) = cluster("helm-repository").await;
    let kubeconfig = dir.join("kubeconfig");
    let (url, seen) = registries::chart_repository("robot", "s3cret-pa55").await;
    let adapter = |password: &str, home: &str| {
        HelmAdapter::new(
            &cluster::connection(&sandbox),
            HelmConfig {
                binary: testkit::helm::binary(),
                kubeconfig: Some(kubeconfig.clone()),
                timeout: "60s".into(),
                repository_url: Some(url.clone()),
                repository_username: Some("robot".into()),
                repository_password: Some(password.into()),
                ..HelmConfig::default()
            },
            helm_records(&pool),
            dir.join(home),
        )
        .expect("adapter")
    };
    let helm = adapter("s3cret-pa55", "home");
    helm.cache()
        .wait_until_ready(Duration::from_secs(10))
        .await
        .expect("cache");
    let request: DeploymentRequest =
        serde_json::from_value(json!({ "name": "from-repo", "namespace": "default",
        "extensions": { "helm.chart": "demo", "helm.chartVersion": "0.3.0" } }))
        .expect("request");
    let installed = refs::create(&helm, &request)
        .await
        .expect("install from the repository");
    assert_eq!(installed.chart.as_deref(), Some("demo-0.3.0"));
    assert!(
        seen.lock()
            .expect("log")
            .iter()
            .all(|line| line.ends_with("true")),
        "{seen:?}"
    );
    let config = std::fs::read_to_string(dir.join("home/config/repositories.yaml"))
        .expect("repositories.yaml");
    assert!(
        config.contains("s3cret-pa55"),
        "credentials live in the private Helm home"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("home/config/repositories.yaml"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the service's user may read it");
    }

    drop(helm);
    assert!(
        !dir.join("home").exists(),
        "the credentials go with the adapter"
    );
    let wrong = adapter("wrong", "home-wrong");
    let mut other = request.clone();
    other.name = "refused".into();
    let error = refs::create(&wrong, &other).await.unwrap_err();
    assert!(
        error.to_string().starts_with("failed to locate chart"),
        "{error}"
    );
    assert!(
        !error.to_string().contains("wrong"),
        "the password is not repeated back: {error}"
    );
    drop(sandbox);
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn installs_from_an_oci_reference(pool: PgPool) {
    let (sandbox, _client, dir) = cluster("helm-oci").await;
    let kubeconfig = dir.join("kubeconfig");
    let registry = registries::oci_registry().await;
    let helm = HelmAdapter::new(
        &cluster::connection(&sandbox),
        HelmConfig {
            binary: testkit::helm::binary(),
            kubeconfig: Some(kubeconfig),
            timeout: "60s".into(),
            allowed_registries: vec![registry.clone()],
            plain_http_registries: vec![registry.clone()],
            ..HelmConfig::default()
        },
        helm_records(&pool),
        dir.join("home"),
    )
    .expect("adapter");
    helm.cache()
        .wait_until_ready(Duration::from_secs(10))
        .await
        .expect("cache");
    let request: DeploymentRequest = serde_json::from_value(json!({ "name": "from-oci", "namespace": "default",
        "extensions": { "helm.chart": format!("oci://{registry}/charts/demo"), "helm.chartVersion": "0.4.0" } }))
    .expect("request");
    let installed = refs::create(&helm, &request)
        .await
        .expect("install from the OCI reference");
    assert_eq!(installed.chart.as_deref(), Some("demo-0.4.0"));
    let mut missing = request.clone();
    missing.name = "missing".into();
    missing
        .extensions
        .insert("helm.chartVersion".into(), json!("9.9.9"));
    let error = refs::create(&helm, &missing).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("chart not found: oci://{registry}/charts/demo 9.9.9")
    );
    drop(sandbox);
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn unreadable_release_secrets_are_counted_and_skipped(pool: PgPool) {
    let (sandbox, client, dir) = cluster("helm-refused").await;
    let helm = HelmAdapter::new(
        &cluster::connection(&sandbox),
        HelmConfig {
            binary: testkit::helm::binary(),
            kubeconfig: Some(dir.join("kubeconfig")),
            ..HelmConfig::default()
        },
        helm_records(&pool),
        dir.join("home"),
    )
    .expect("adapter");
    helm.cache()
        .wait_until_ready(Duration::from_secs(10))
        .await
        .expect("cache");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client, "default");
    let planted: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": { "name": "sh.helm.release.v1.fake.v1", "labels": { "owner": "helm", "name": "fake", "version": "1" } },
        "type": "helm.sh/release.v1",
        "data": { "release": "bm90IGd6aXA=" },
    }))
    .expect("secret");
    secrets
        .create(&Default::default(), &planted)
        .await
        .expect("plant");
    let started = std::time::Instant::now();
    while helm.cache().refused() == 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(helm.cache().refused(), 1);
    assert!(
        helm.matching(&DeploymentFilter::default(), &Namespaces::All)
            .is_empty(),
        "an unreadable release is not shown"
    );
    drop(sandbox);
}
