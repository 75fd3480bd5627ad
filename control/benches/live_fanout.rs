//! The live pipeline (`cargo xtask bench`): cache changes into the hub, then through each
//! subscriber's visibility check to its stream, for 20,000 changes with 1, 10 and 100
//! subscribers (half of them platform-admins, half a tenant's viewers who see a third of the
//! changes), and a subscriber that never reads being dropped. Not a test: it reports figures.

mod support;

use control::access::{GlobalRole, Grantee, Principal, TenantRole};
use control::adapters::rows::CacheEvent;
use control::audit::Channel;
use control::testing::{TenantSeed, seed};
use control::{RequestContext, Service};
use futures::StreamExt;
use model::deployment::{Deployment, DeploymentState, DeploymentStatus};
use model::reference::{ClusterId, DeploymentKind, DeploymentRef};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CHANGES: usize = 20_000;
/// Changes published before waiting for every subscriber to catch up (below the hub's
/// replay ring, so a subscriber that keeps up is never dropped).
const BATCH: usize = 1_000;
const NAMESPACES: [&str; 3] = ["a-prod", "b-prod", "c-prod"];

fn person(subject: &str, groups: &[&str]) -> RequestContext {
    RequestContext {
        principal: Principal {
            issuer: "https://idp.bench".into(),
            subject: subject.into(),
            email: None,
            name: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            narrowing: None,
        },
        channel: Channel::Api,
        request_id: None,
        client_addr: None,
        credential: None,
    }
}

/// Change `i`: a row as the Flux cache announces it. The last of each batch is in a-prod,
/// which every subscriber sees, so progress can be read from the ids they received.
fn change(i: usize) -> CacheEvent {
    let namespace = if i % BATCH == BATCH - 1 {
        NAMESPACES[0]
    } else {
        NAMESPACES[i % NAMESPACES.len()]
    };
    let name = format!("app-{}", i % 500);
    CacheEvent::Upserted(Arc::new(Deployment {
        id: DeploymentRef::id_text(
            &ClusterId::default(),
            namespace,
            DeploymentKind::HelmRelease,
            &name,
        ),
        cluster: ClusterId::default(),
        name,
        namespace: namespace.into(),
        kind: DeploymentKind::HelmRelease,
        labels: [("team".to_owned(), "a".to_owned())].into(),
        state: DeploymentState {
            status: DeploymentStatus::Deployed,
            suspended: i.is_multiple_of(2),
            progress: 100,
            message: "Helm upgrade succeeded for release podinfo with chart podinfo@6.5.4".into(),
            conditions: Vec::new(),
            suspend_reason: None,
        },
        revision: Some(format!("{i}")),
        chart: Some("podinfo@6.5.4".into()),
        source: Some("HelmRepository/podinfo".into()),
        resource_version: Some(format!("{i}")),
        adapter: "flux".into(),
    }))
}

async fn seeded(service: &Service) -> Result<(), Box<dyn std::error::Error>> {
    service
        .bootstrap_platform_admin(&Grantee::User("admin".into()))
        .await?;
    let admin = person("admin", &[]);
    let tenants: Vec<TenantSeed> = NAMESPACES
        .iter()
        .zip(["team-a", "team-b", "team-c"])
        .map(|(namespace, slug)| TenantSeed {
            slug,
            display_name: slug,
            namespaces: std::slice::from_ref(namespace),
            members: if slug == "team-a" {
                vec![(Grantee::Group("a-viewers".into()), TenantRole::Viewer)]
            } else {
                Vec::new()
            },
        })
        .collect();
    seed(service, &admin, &tenants).await?;
    service
        .grant_global_role(
            &admin,
            &Grantee::Group("admins".into()),
            GlobalRole::PlatformAdmin,
        )
        .await?;
    Ok(())
}

/// Runs one round with `subscribers` readers; returns (changes/s into the hub, the slowest
/// reader's changes/s, readers dropped).
async fn round(service: &Service, subscribers: usize) -> (f64, f64, usize) {
    let progress: Vec<Arc<AtomicU64>> = (0..subscribers)
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let dropped = Arc::new(AtomicU64::new(0));
    let start_id = service.live_hub().last_id();
    let mut readers = Vec::new();
    for (i, seen) in progress.iter().enumerate() {
        let group = if i % 2 == 0 { "admins" } else { "a-viewers" };
        let ctx = person(&format!("reader-{subscribers}-{i}"), &[group]);
        let mut stream = Box::pin(service.live_events(&ctx, None).await.expect("subscribe"));
        let (seen, dropped) = (seen.clone(), dropped.clone());
        readers.push(tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                match item {
                    control::service::LiveItem::Change { id, json, .. } => {
                        // What the SSE layer does with it: write the bytes out.
                        std::hint::black_box(json.len());
                        seen.store(id, Ordering::Release);
                    }
                    control::service::LiveItem::Resync { .. } => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    control::service::LiveItem::Operation { .. } => {}
                }
            }
        }));
    }
    let hub = service.live_hub();
    let started = Instant::now();
    let mut publishing = Duration::ZERO;
    for batch in 0..CHANGES / BATCH {
        let t = Instant::now();
        for i in batch * BATCH..(batch + 1) * BATCH {
            hub.publish(&change(i));
        }
        publishing += t.elapsed();
        let target = start_id + ((batch + 1) * BATCH) as u64;
        while progress
            .iter()
            .any(|seen| seen.load(Ordering::Acquire) < target)
            && dropped.load(Ordering::Relaxed) == 0
        {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    let delivered = started.elapsed();
    for reader in readers {
        reader.abort();
    }
    (
        CHANGES as f64 / publishing.as_secs_f64(),
        CHANGES as f64 / delivered.as_secs_f64(),
        dropped.load(Ordering::Relaxed) as usize,
    )
}

/// Resident memory of this process, in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / (1024.0 * 1024.0))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let database = support::BenchDatabase::create("live_bench").await?;
    let service = Service::new(database.pool.clone());
    seeded(&service).await?;

    for subscribers in [1, 10, 100] {
        let (into_hub, each, dropped) = round(&service, subscribers).await;
        eprintln!(
            "live fan-out {subscribers:>3} readers  {CHANGES} changes  into the hub {into_hub:>9.0}/s  \
             delivered to each {each:>8.0}/s  readers dropped {dropped}"
        );
    }

    // A reader that never reads: once it falls a replay ring behind, it is told to reload
    // and dropped; memory stays bounded by the ring.
    let before = rss_mib();
    let ctx = person("sleeper", &["admins"]);
    let mut sleeper = Box::pin(service.live_events(&ctx, None).await?);
    for i in 0..CHANGES * 3 {
        service.live_hub().publish(&change(i));
    }
    let mut read = 0;
    let mut told_to_reload = false;
    while let Some(item) = sleeper.next().await {
        read += 1;
        if matches!(item, control::service::LiveItem::Resync { .. }) {
            told_to_reload = true;
        }
    }
    eprintln!(
        "slow reader                {} changes published  it read {read} before the stream ended  told to reload: {told_to_reload}  RSS {before:.0} → {:.0} MiB",
        CHANGES * 3,
        rss_mib()
    );

    database.drop_database().await
}
