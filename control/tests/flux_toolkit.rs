//! The Flux toolkit beyond deployments through the service, against the sandbox (simulated
//! controllers every 50 ms): image repositories, policies and automations; providers,
//! alerts and receivers; sources in full; per-family actions with their refusals and audit
//! rows; the Flux check; and a cluster without the optional CRDs.

mod cluster;
mod refs;
mod support;

use control::Error;
use control::RequestContext;
use control::adapters::flux::{FluxAdapter, FluxConfig};
use control::adapters::{DeploymentAdapter, Toolkit};
use control::audit::query::AuditFilter;
use control::service::change::{Change, reconcile_toolkit};
use kube::api::{Api, DynamicObject, PostParams};
use model::deployment::DeploymentFilter;
use model::flux::FluxObject;
use model::reference::{Family, ToolkitKind};
use sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{person, seeded};

/// A generous bound on what the simulated controllers do every 50 ms.
const SETTLED: Duration = Duration::from_secs(30);

struct Fixture {
    service: control::Service,
    flux: Arc<FluxAdapter>,
    client: kube::Client,
    admin: RequestContext,
    alice: RequestContext,
    bob: RequestContext,
    _sandbox: Sandbox,
}

/// The service over `sandbox` (its controllers running), team-a and team-b assigned.
async fn fixture_on(pool: &PgPool, sandbox: Sandbox) -> Fixture {
    let config = FluxConfig {
        reconcile_timeout: Duration::from_secs(20),
        suspended_warn_after: Duration::from_secs(3600),
        ..FluxConfig::default()
    };
    let admin = person("admin", &[]);
    let seeded = seeded(pool.clone()).await;
    let (service, flux) = cluster::serve(pool, seeded, &sandbox, config, &admin).await;
    let client = kube::Client::try_from(kube::Config::new(sandbox.url().parse().expect("url")))
        .expect("client");
    Fixture {
        service,
        flux,
        client,
        admin,
        alice: person("alice", &[]),
        bob: person("bob", &["b-viewers"]),
        _sandbox: sandbox,
    }
}

async fn fixture(pool: &PgPool) -> Fixture {
    let (sandbox, _) = cluster::demo_cluster(3).await;
    fixture_on(pool, sandbox).await
}

/// Polls `check` until it gives something; fails after [`SETTLED`].
async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    while started.elapsed() < SETTLED {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} within {SETTLED:?}");
}

/// One object of a family's list, by kind and name.
async fn listed(
    f: &Fixture,
    who: &RequestContext,
    kind: ToolkitKind,
    name: &str,
) -> Option<FluxObject> {
    f.service
        .list_toolkit(who, kind.family())
        .await
        .expect("list")
        .into_iter()
        .find(|o| o.kind == kind && o.name == name)
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_policy_shows_its_latest_tag_and_the_deployments_that_run_its_image(pool: PgPool) {
    let f = fixture(&pool).await;
    let repository = until("the podinfo scan", async || {
        listed(&f, &f.alice, ToolkitKind::ImageRepository, "podinfo")
            .await
            .filter(|r| r.ready.as_deref() == Some("True"))
    })
    .await;
    assert_eq!(repository.url, "registry.example/podinfo");
    assert!(
        repository
            .fields
            .iter()
            .any(|f| f.label == "Tags" && f.value == "4"),
        "{:?}",
        repository.fields
    );
    let policy = until("the podinfo policy", async || {
        listed(&f, &f.alice, ToolkitKind::ImagePolicy, "podinfo")
            .await
            .filter(|p| p.revision.is_some())
    })
    .await;
    // The highest tag within `>=6.7.0 <7.0.0` of 6.6.3, 6.7.0, 6.7.1 and 6.8.0.
    assert_eq!(
        policy.revision.as_deref(),
        Some("registry.example/podinfo:6.8.0")
    );
    assert!(
        policy
            .fields
            .iter()
            .any(|f| f.value == "semver >=6.7.0 <7.0.0")
    );
    let reference = refs::source("team-a", ToolkitKind::ImagePolicy, "podinfo");
    let detail = f
        .service
        .toolkit_detail(&f.alice, &reference)
        .await
        .expect("detail");
    let runs: Vec<(&str, &str)> = detail
        .used_by
        .iter()
        .map(|u| (u.kind.as_str(), u.name.as_str()))
        .collect();
    // The podinfo release's Deployment runs registry.example/podinfo; nothing else does.
    assert_eq!(runs, [("HelmRelease", "podinfo")], "{:?}", detail.used_by);
    assert_eq!(detail.used_by[0].relation, "image");
    assert!(
        detail
            .details
            .iter()
            .any(|d| d.label == "Digest" && d.value.starts_with("sha256:"))
    );

    let automation = until("the automation's push", async || {
        listed(
            &f,
            &f.alice,
            ToolkitKind::ImageUpdateAutomation,
            "shop-images",
        )
        .await
        .filter(|a| a.revision.is_some())
    })
    .await;
    assert_eq!(automation.url, "GitRepository/shop");
    assert!(
        automation
            .fields
            .iter()
            .any(|f| f.label == "Push branch" && f.value == "image-updates")
    );
    assert!(automation.fields.iter().any(|f| f.label == "Last push"));

    // bob views team-b only: team-a's image objects are neither listed nor readable.
    assert!(
        f.service
            .list_toolkit(&f.bob, Family::Images)
            .await
            .expect("list")
            .iter()
            .all(|o| o.namespace == "team-b")
    );
    assert!(matches!(
        f.service.toolkit_detail(&f.bob, &reference).await,
        Err(Error::Forbidden(_))
    ));
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn notifications_show_no_secret_and_name_what_an_alert_reports_on(pool: PgPool) {
    let f = fixture(&pool).await;
    let provider = listed(&f, &f.alice, ToolkitKind::Provider, "slack")
        .await
        .expect("the slack provider");
    // The webhook URL's token never leaves the cluster.
    assert_eq!(provider.url, "https://hooks.slack.com");
    assert!(!format!("{provider:?}").contains("demo-token"));
    let alert = refs::source("team-a", ToolkitKind::Alert, "failures");
    let detail = f
        .service
        .toolkit_detail(&f.alice, &alert)
        .await
        .expect("alert");
    let reported: Vec<(&str, &str)> = detail
        .used_by
        .iter()
        .map(|u| (u.kind.as_str(), u.name.as_str()))
        .collect();
    assert_eq!(
        reported,
        [
            ("HelmRelease", "payments"),
            ("HelmRelease", "podinfo"),
            ("Kustomization", "shop")
        ]
    );
    assert!(
        detail
            .object
            .fields
            .iter()
            .any(|f| f.label == "Severity" && f.value == "error")
    );
    let receiver = until("the receiver's webhook path", async || {
        listed(&f, &f.alice, ToolkitKind::Receiver, "github-shop")
            .await
            .filter(|r| r.url.starts_with("/hook/"))
    })
    .await;
    assert!(
        receiver
            .fields
            .iter()
            .any(|f| f.label == "Resources" && f.value == "GitRepository/shop")
    );

    // A source's page names the deployments that deploy from it.
    let shop = f
        .service
        .toolkit_detail(
            &f.alice,
            &refs::source("team-a", ToolkitKind::GitRepository, "shop"),
        )
        .await
        .expect("shop");
    assert!(
        shop.used_by
            .iter()
            .any(|u| u.name == "shop" && u.relation == "source")
    );
    let artifact = shop.artifact.expect("an artifact");
    assert!(artifact.revision.starts_with("main@sha1:") && artifact.digest.is_some());
    assert!(!shop.conditions.is_empty() && !shop.events.is_empty());
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn each_family_has_its_actions_refused_and_recorded_as_such(pool: PgPool) {
    let f = fixture(&pool).await;
    let repository = refs::source("team-a", ToolkitKind::ImageRepository, "podinfo");
    let scanned = refs::made(
        &f.service,
        &f.alice,
        Change::ReconcileSource {
            source: repository.clone(),
        },
    )
    .await
    .and_then(control::service::change::ChangeOutcome::into_reconcile)
    .expect("alice operates team-a");
    assert!(
        scanned.finished && scanned.message.contains("successful scan"),
        "{scanned:?}"
    );

    // An Alert is suspended and resumed, never reconciled on request.
    let alert = refs::source("team-a", ToolkitKind::Alert, "failures");
    assert!(matches!(
        reconcile_toolkit(alert.clone()),
        Err(Error::Invalid {
            field: "operation",
            ..
        })
    ));
    refs::made(
        &f.service,
        &f.alice,
        Change::SuspendSource {
            source: alert.clone(),
            suspend: true,
        },
    )
    .await
    .expect("suspend");
    let alerts: Api<DynamicObject> = Api::namespaced_with(
        f.client.clone(),
        "team-a",
        &control::adapters::flux::kinds::ALERT.api_resource(),
    );
    let written = alerts.get("failures").await.expect("alert");
    assert_eq!(written.data["spec"]["suspend"], true);
    assert!(
        written
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key("pilothouse.dev/suspended-at")
    );
    until("the suspended alert in the list", async || {
        listed(&f, &f.alice, ToolkitKind::Alert, "failures")
            .await
            .filter(|a| a.suspended)
    })
    .await;

    // bob only views team-b; alice does not reach team-b.
    let theirs = refs::source("team-b", ToolkitKind::GitRepository, "analytics");
    for (who, change) in [
        (
            &f.bob,
            Change::SuspendSource {
                source: repository.clone(),
                suspend: true,
            },
        ),
        (
            &f.alice,
            Change::ReconcileSource {
                source: theirs.clone(),
            },
        ),
    ] {
        assert!(matches!(
            refs::made(&f.service, who, change).await,
            Err(Error::Forbidden(_))
        ));
    }

    let rows = f
        .service
        .query_audit(&f.admin, &AuditFilter::default())
        .await
        .expect("audit")
        .events;
    let recorded = |action: &str, actor: &str| {
        rows.iter()
            .any(|r| r.event.action == action && r.event.actor.subject == actor)
    };
    assert!(recorded("image.reconcile", "alice"));
    assert!(recorded("notification.suspend", "alice"));
    assert!(
        recorded("image.suspend", "bob"),
        "bob's refusal is recorded"
    );
    assert!(recorded("source.reconcile", "alice"));
    let target = rows
        .iter()
        .find(|r| r.event.action == "notification.suspend")
        .expect("row");
    assert_eq!(target.event.target_kind.as_deref(), Some("Alert"));
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn the_check_shows_admins_the_installation_and_everyone_their_stuck_objects(pool: PgPool) {
    let f = fixture(&pool).await;
    // Suspended by Pilothouse two hours ago, past the fixture's one-hour warning.
    let git: Api<DynamicObject> = Api::namespaced_with(
        f.client.clone(),
        "team-a",
        &control::adapters::flux::kinds::GIT_REPOSITORY.api_resource(),
    );
    let long_ago = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let parked: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": { "name": "parked", "annotations": { "pilothouse.dev/suspended-at": long_ago } },
        "spec": { "interval": "5m", "url": "https://example.com/parked", "suspend": true }
    }))
    .expect("object");
    git.create(&PostParams::default(), &parked)
        .await
        .expect("create");

    let check = until("the parked repository reported", async || {
        let check = f.service.flux_check(&f.admin).await.expect("check");
        check
            .stuck
            .iter()
            .any(|s| s.name == "parked")
            .then_some(check)
    })
    .await;
    assert_eq!(check.crds.len(), 14, "{:?}", check.crds);
    assert!(
        check.crds.iter().all(|c| c.present && c.ok),
        "{:?}",
        check.crds
    );
    let alerts = check
        .crds
        .iter()
        .find(|c| c.name == "alerts.notification.toolkit.fluxcd.io")
        .expect("alerts");
    assert_eq!(
        (alerts.supported.as_str(), alerts.required),
        ("v1beta3", false)
    );
    assert_eq!(check.controllers.len(), 6);
    assert!(
        check.controllers.iter().all(|c| c.installed && c.ok),
        "{:?}",
        check.controllers
    );
    assert_eq!(
        check.controllers[0].version.as_deref(),
        Some("simulated"),
        "the tag of the manager image"
    );
    assert!(check.lockdown.as_ref().is_some_and(|l| l.locked_down));
    let parked = check
        .stuck
        .iter()
        .find(|s| s.name == "parked")
        .expect("parked");
    assert_eq!(parked.reason, "suspended");
    assert!((7000..8000).contains(&parked.for_seconds), "{parked:?}");
    assert!(!check.ok);

    // A tenant sees its own stuck objects, and nothing of the installation.
    let hers = f.service.flux_check(&f.alice).await.expect("check");
    assert!(hers.crds.is_empty() && hers.controllers.is_empty() && hers.lockdown.is_none());
    assert!(hers.stuck.iter().any(|s| s.name == "parked"));
    let his = f.service.flux_check(&f.bob).await.expect("check");
    assert!(his.stuck.iter().all(|s| s.namespace == "team-b"));
    // Her overview lists it too.
    let overview = f.service.overview(&f.alice).await.expect("overview");
    assert!(overview.stuck.iter().any(|s| s.name == "parked"));
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn without_the_notification_crds_deployments_and_sources_keep_working(pool: PgPool) {
    let crds: Vec<_> = std::fs::read_dir(sandbox::vendored_crds())
        .expect("crds")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.to_string_lossy().contains("notification.toolkit")
        })
        .collect();
    let sandbox = Sandbox::start(SandboxOptions {
        crds,
        manifests: vec![sandbox::deploy_rbac()],
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    sandbox::demo::seed_and_settle(sandbox.store(), 3).expect("demo without notifications");
    let f = fixture_on(&pool, sandbox).await;

    f.flux
        .health()
        .await
        .expect("healthy without optional CRDs");
    assert_eq!(f.flux.missing_families(), [Family::Notifications]);
    assert_eq!(f.service.missing_families(), [Family::Notifications]);
    assert!(
        f.service
            .list_toolkit(&f.alice, Family::Notifications)
            .await
            .expect("an empty list")
            .is_empty()
    );
    let missing = f
        .service
        .toolkit_detail(
            &f.alice,
            &refs::source("team-a", ToolkitKind::Alert, "failures"),
        )
        .await;
    assert!(
        matches!(&missing, Err(Error::NotFound { .. }))
            && format!("{missing:?}").contains("alerts.notification.toolkit.fluxcd.io"),
        "{missing:?}"
    );
    let deployments = f
        .service
        .list_deployments(&f.alice, &DeploymentFilter::default())
        .await
        .expect("deployments");
    assert!(deployments.total > 0);
    assert!(
        !f.service
            .list_toolkit(&f.alice, Family::Sources)
            .await
            .expect("sources")
            .is_empty()
    );
    assert!(
        !f.service
            .list_toolkit(&f.alice, Family::Images)
            .await
            .expect("images")
            .is_empty()
    );
    let check = f.service.flux_check(&f.admin).await.expect("check");
    let absent: Vec<&str> = check
        .crds
        .iter()
        .filter(|c| !c.present)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        absent,
        [
            "providers.notification.toolkit.fluxcd.io",
            "alerts.notification.toolkit.fluxcd.io",
            "receivers.notification.toolkit.fluxcd.io"
        ]
    );
    assert_eq!(check.missing_families, [Family::Notifications]);
    let notification = check
        .controllers
        .iter()
        .find(|c| c.name == "notification-controller")
        .expect("reported");
    assert!(!notification.installed);
}
