//! The read paths the performance design promises, measured against the sandbox cluster
//! (`cargo xtask bench`): list pages from the Flux watch cache with 10,000 HelmReleases versus
//! one LIST from the API server, and Helm releases read natively (newest revision decoded
//! once) versus `helm list` decoding every revision. Reports figures; asserts nothing.

use base64::Engine;
use control::access::Namespaces;
use control::adapters::flux::FluxCache;
use control::adapters::flux::kinds::HELM_RELEASE;
use control::adapters::helm::cache::ReleaseCache;
use flate2::Compression;
use flate2::write::GzEncoder;
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, Config};
use model::deployment::{DeploymentFilter, DeploymentStatus};
use sandbox::store::WriteOptions;
use serde_json::json;
use std::io::Write;
use std::time::{Duration, Instant};

const NAMESPACES: usize = 20;
const RELEASES: usize = 10_000;
const HELM_RELEASES: usize = 300;
const REVISIONS: usize = 10;
const PAGES: usize = 200;

fn options() -> WriteOptions<'static> {
    WriteOptions {
        unknown: sandbox::schema::UnknownFields::Prune,
        force: false,
        field_manager: Some("bench"),
        subresource: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn release_secret(namespace: &str, name: &str, version: usize) -> serde_json::Value {
    let manifest =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"
            .repeat(40);
    let release = json!({ "name": name, "namespace": namespace, "version": version,
        "info": { "status": if version == REVISIONS { "deployed" } else { "superseded" }, "description": "Upgrade complete", "last_deployed": "2026-11-23T12:00:00Z" },
        "chart": { "metadata": { "name": "web", "version": format!("1.0.{version}") }, "templates": [{ "name": "templates/deployment.yaml", "data": base64::engine::general_purpose::STANDARD.encode(&manifest) }] },
        "config": { "replicaCount": 3 }, "manifest": manifest });
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let _ = gz.write_all(release.to_string().as_bytes());
    let helm_bytes =
        base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap_or_default());
    json!({ "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": { "name": format!("sh.helm.release.v1.{name}.v{version}"), "namespace": namespace,
                      "labels": { "owner": "helm", "name": name, "version": version.to_string(), "status": "deployed" } },
        "data": { "release": base64::engine::general_purpose::STANDARD.encode(helm_bytes) } })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let crds = sandbox::vendored_crds();
    let dir = std::env::temp_dir().join(format!("pilothouse-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let kubeconfig = dir.join("kubeconfig");
    let Ok(sandbox) = sandbox::Sandbox::start(sandbox::SandboxOptions {
        crds: vec![crds],
        history: 50_000,
        kubeconfig: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    else {
        eprintln!("the sandbox did not start");
        return;
    };
    let store = sandbox.store().clone();
    let (Ok(namespaces), Ok(releases), Ok(secrets)) = (
        store.resource("", "v1", "namespaces"),
        store.resource("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
        store.resource("", "v1", "secrets"),
    ) else {
        eprintln!("the sandbox lacks a resource");
        return;
    };
    for n in 0..NAMESPACES {
        let _ = store.create(
            &namespaces,
            None,
            json!({ "metadata": { "name": format!("ns-{n}") } }),
            options(),
        );
    }
    for i in 0..RELEASES {
        let ns = format!("ns-{}", i % NAMESPACES);
        let object = json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": { "name": format!("web-{i}"), "namespace": ns, "labels": { "app": format!("web-{}", i % 7) } },
            "spec": { "interval": "5m", "chart": { "spec": { "chart": "web", "version": "1.0.0", "sourceRef": { "kind": "HelmRepository", "name": "charts" } } },
                      "values": { "replicaCount": 2, "image": { "tag": "1.2.3" } } } });
        let _ = store.create(&releases, Some(&ns), object, options());
    }
    let Ok(client) = Client::try_from(Config::new(sandbox.url().parse().expect("url"))) else {
        return;
    };

    eprintln!("Flux: {RELEASES} HelmReleases in {NAMESPACES} namespaces");
    let started = Instant::now();
    let cache = FluxCache::start(&client, model::reference::ClusterId::default(), "flux");
    let _ = cache.wait_until_ready(Duration::from_secs(300)).await;
    eprintln!("  watch cache synced in {:?}", started.elapsed());
    let filter = DeploymentFilter {
        text: Some("web-12".into()),
        status: Some(DeploymentStatus::Pending),
        limit: Some(50),
        ..DeploymentFilter::default()
    };
    let visible = Namespaces::Only(
        (0..NAMESPACES / 2)
            .map(|n| {
                model::reference::NamespaceRef::in_default(format!("ns-{n}")).expect("namespace")
            })
            .collect(),
    );
    let mut times = Vec::new();
    let mut total = 0;
    for offset in 0..PAGES {
        let page_filter = DeploymentFilter {
            offset: Some(offset % 3 * 50),
            ..filter.clone()
        };
        let started = Instant::now();
        if let Ok(page) = cache.list(&page_filter, &visible) {
            total = page.total;
        }
        times.push(started.elapsed());
    }
    times.sort();
    eprintln!(
        "  a filtered page of 50 from the cache ({total} matches in half the namespaces): p50 {:?}, p99 {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &HELM_RELEASE.api_resource());
    let started = Instant::now();
    let listed = api
        .list(&ListParams::default())
        .await
        .map(|l| l.items.len())
        .unwrap_or(0);
    eprintln!(
        "  one LIST of all {listed} from the API server (what a page costs without a cache): {:?}",
        started.elapsed()
    );

    eprintln!("Helm: {HELM_RELEASES} releases × {REVISIONS} revisions as release Secrets");
    for r in 0..HELM_RELEASES {
        let ns = format!("ns-{}", r % NAMESPACES);
        for v in 1..=REVISIONS {
            let _ = store.create(
                &secrets,
                Some(&ns),
                release_secret(&ns, &format!("app-{r}"), v),
                options(),
            );
        }
    }
    let started = Instant::now();
    let releases = ReleaseCache::start(&client, model::reference::ClusterId::default(), "helm");
    let _ = releases.wait_until_ready(Duration::from_secs(300)).await;
    eprintln!(
        "  release watch synced in {:?}, decoding {} Secrets (the newest of each release)",
        started.elapsed(),
        releases.decodes()
    );
    let mut times = Vec::new();
    for _ in 0..PAGES {
        let started = Instant::now();
        let filter = DeploymentFilter {
            limit: Some(50),
            ..DeploymentFilter::default()
        };
        let after = control::adapters::page::cursor(&filter).expect("cursor");
        let want = control::adapters::page::wanted(&filter).expect("limit");
        let window = releases.window(&filter, &Namespaces::All, after.as_ref(), want);
        let _ = control::adapters::page::merge(vec![window], &filter);
        times.push(started.elapsed());
    }
    times.sort();
    eprintln!(
        "  a page of 50 releases: p50 {:?}, p99 {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    if let Some(helm) = std::env::var_os("PILOTHOUSE_HELM") {
        let started = Instant::now();
        let out = std::process::Command::new(helm)
            .args(["list", "--all-namespaces", "--max", "0", "--kubeconfig"])
            .arg(&kubeconfig)
            .env("HELM_CONFIG_HOME", dir.join("config"))
            .env("HELM_CACHE_HOME", dir.join("cache"))
            .output();
        let lines = out
            .map(|o| o.stdout.iter().filter(|b| **b == b'\n').count())
            .unwrap_or(0);
        eprintln!(
            "  `helm list --all-namespaces` ({} releases) for comparison: {:?}",
            lines.saturating_sub(1),
            started.elapsed()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
