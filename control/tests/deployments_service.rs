//! Deployments through the service: access is checked per namespace before Kubernetes is
//! touched, lists are filtered to the caller's namespaces, changes are audited (with values
//! redacted), and controller logs show a tenant only its own lines. Each test has its own
//! database and cluster, so a failure names the behaviour that broke.

mod cluster;
mod refs;
mod support;

use control::Error;
use control::RequestContext;
use control::adapters::flux::FluxConfig;
use control::audit::query::AuditFilter;
use control::service::change::{Change, ChangeOutcome};
use model::deployment::LogQuery;
use model::deployment::{DeploymentFilter, DeploymentRequest};
use model::reference::ToolkitKind;
use serde_json::json;
use sqlx::PgPool;
use support::{person, seeded};

/// The service over a demo cluster whose Flux controllers run; team-a and team-b own the
/// namespaces of the same names besides the seeded ones.
struct Fixture {
    service: control::Service,
    client: kube::Client,
    admin: RequestContext,
    alice: RequestContext,
    bob: RequestContext,
    // Dropping it stops the cluster.
    _sandbox: sandbox::Sandbox,
}

async fn fixture(pool: &PgPool) -> Fixture {
    let (sandbox, client) = cluster::demo_cluster(3).await;
    let admin = person("admin", &[]);
    let seeded = seeded(pool.clone()).await;
    let (service, _) = cluster::serve(pool, seeded, &sandbox, FluxConfig::default(), &admin).await;
    Fixture {
        service,
        client,
        admin,
        alice: person("alice", &[]),
        bob: person("bob", &["b-viewers"]),
        _sandbox: sandbox,
    }
}

/// A HelmRelease `api` in `namespace` from chart source `source`, with a secret among its values.
fn api_request(namespace: &str, source: &str) -> DeploymentRequest {
    serde_json::from_value(json!({ "name": "api", "namespace": namespace,
        "values": { "replicaCount": 1, "auth": { "password": "hunter2" } },
        "extensions": { "flux.chart": "podinfo", "flux.sourceRef": source } }))
    .expect("request")
}

/// The audit rows `filter` finds, as the platform-admin sees them.
async fn audit_rows(
    service: &control::Service,
    admin: &RequestContext,
    filter: AuditFilter,
) -> Vec<control::audit::AuditEvent> {
    service
        .query_audit(admin, &filter)
        .await
        .expect("audit")
        .events
}

/// The fixture, with alice's release `api` in team-a.
async fn with_alices_api(pool: &PgPool) -> Fixture {
    let f = fixture(pool).await;
    refs::created(&f.service, &f.alice, &api_request("team-a", "podinfo"))
        .await
        .expect("create");
    f
}

/// Lists hold the caller's namespaces only; paging through the merged list gives the same
/// rows as one big page.
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn lists_hold_the_callers_namespaces_and_page_like_one_big_page(pool: PgPool) {
    let Fixture {
        service,
        admin,
        alice,
        bob,
        ..
    } = &fixture(&pool).await;
    let stranger = person("mallory", &[]);
    let mine = service
        .list_deployments(alice, &DeploymentFilter::default())
        .await
        .expect("list");
    assert!(
        mine.total > 0 && mine.items.iter().all(|d| d.namespace == "team-a"),
        "{mine:?}"
    );
    let theirs = service
        .list_deployments(bob, &DeploymentFilter::default())
        .await
        .expect("list");
    assert!(theirs.total > 0 && theirs.items.iter().all(|d| d.namespace == "team-b"));
    assert_eq!(
        service
            .list_deployments(&stranger, &DeploymentFilter::default())
            .await
            .expect("list")
            .total,
        0
    );
    let everything = service
        .list_deployments(admin, &DeploymentFilter::default())
        .await
        .expect("list");
    assert!(everything.total > mine.total + theirs.total - 1);

    // Paging through the merged list gives the same rows as one big page.
    let mut paged = Vec::new();
    while paged.len() < everything.total {
        let page = service
            .list_deployments(
                admin,
                &DeploymentFilter {
                    limit: Some(2),
                    offset: Some(paged.len()),
                    ..DeploymentFilter::default()
                },
            )
            .await
            .expect("page");
        assert!(!page.items.is_empty());
        paged.extend(page.items.into_iter().map(|d| (d.namespace, d.name)));
    }
    let whole: Vec<_> = everything
        .items
        .iter()
        .map(|d| (d.namespace.clone(), d.name.clone()))
        .collect();
    assert_eq!(paged, whole);
}

/// Reading one deployment is checked against its namespace.
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_deployment_in_another_tenants_namespace_is_forbidden(pool: PgPool) {
    let Fixture { service, alice, .. } = &fixture(&pool).await;
    assert!(matches!(
        service
            .get_deployment(alice, &refs::hr("team-b", "podinfo"))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(
        service
            .get_deployment(alice, &refs::hr("team-a", "podinfo"))
            .await
            .is_ok()
    );
}

/// A viewer may not create; an operator creates, scales and suspends, and every step is in the
/// audit log, refusals included, with secret values redacted.
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn changes_are_checked_and_audited_with_values_redacted(pool: PgPool) {
    let Fixture {
        service,
        admin,
        alice,
        bob,
        ..
    } = &fixture(&pool).await;
    let refused = refs::created(service, bob, &api_request("team-b", "charts"))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("only viewer on tenant team-b"),
        "{refused}"
    );

    refs::created(service, alice, &api_request("team-a", "podinfo"))
        .await
        .expect("create");
    refs::made(
        service,
        alice,
        refs::scale(refs::hr("team-a", "api"), 3, false),
    )
    .await
    .and_then(ChangeOutcome::into_deployment)
    .expect("scale");
    refs::made(
        service,
        alice,
        Change::SuspendDeployment {
            deployment: refs::hr("team-a", "api"),
            suspend: true,
            reason: Some("load test".into()),
            force: false,
        },
    )
    .await
    .expect("suspend");

    let rows = audit_rows(
        service,
        admin,
        AuditFilter {
            namespace: Some("team-a".into()),
            ..AuditFilter::default()
        },
    )
    .await;
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.event.action.as_str(), r.event.phase.as_str()))
        .collect();
    for expected in [
        ("deployment.create", "intent"),
        ("deployment.create", "outcome"),
        ("deployment.scale", "outcome"),
        ("deployment.suspend", "outcome"),
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }
    let create = rows
        .iter()
        .find(|r| r.event.action == "deployment.create")
        .expect("create row");
    assert!(
        !create.event.parameters.to_string().contains("hunter2"),
        "{}",
        create.event.parameters
    );

    let denied = audit_rows(
        service,
        admin,
        AuditFilter {
            action: Some("deployment.create".into()),
            namespace: Some("team-b".into()),
            ..AuditFilter::default()
        },
    )
    .await;
    assert!(denied.iter().any(|r| r.event.actor.subject == "bob"));
}

/// A field kustomize-controller applies from Git wins: a change to it is refused, naming the
/// owner, until the change is forced; both are audited.
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn a_field_applied_from_git_is_refused_until_the_change_is_forced(pool: PgPool) {
    let f = &with_alices_api(&pool).await;
    let (service, admin, alice) = (&f.service, &f.admin, &f.alice);
    // kustomize-controller now applies the release from Git: its replicaCount wins, and a
    // change to it is refused, naming the owner, until alice chooses to take it over.
    let from_git = json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": { "name": "api", "namespace": "team-a" },
        "spec": { "interval": "5m", "chart": { "spec": { "chart": "podinfo", "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } } },
                  "values": { "replicaCount": 2 } } });
    let releases: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        f.client.clone(),
        "team-a",
        &control::adapters::flux::kinds::HELM_RELEASE.api_resource(),
    );
    releases
        .patch(
            "api",
            &kube::api::PatchParams::apply("kustomize-controller").force(),
            &kube::api::Patch::Apply(from_git),
        )
        .await
        .expect("kustomize-controller applies");
    let refused = refs::made(
        service,
        alice,
        refs::scale(refs::hr("team-a", "api"), 7, false),
    )
    .await
    .and_then(ChangeOutcome::into_deployment)
    .unwrap_err();
    assert_eq!(refused.status(), 409, "{refused}");
    let message = refused.to_string();
    for words in [
        "spec.values.replicaCount",
        "kustomize-controller",
        "from Git",
        "force",
    ] {
        assert!(message.contains(words), "{words}: {message}");
    }
    let unchanged = releases.get("api").await.expect("get");
    assert_eq!(unchanged.data["spec"]["values"]["replicaCount"], 2);
    let forced = refs::made(
        service,
        alice,
        refs::scale(refs::hr("team-a", "api"), 7, true),
    )
    .await
    .and_then(ChangeOutcome::into_deployment)
    .expect("a forced scale takes the field over");
    assert_eq!(forced.name, "api");
    let taken = releases.get("api").await.expect("get");
    assert_eq!(taken.data["spec"]["values"]["replicaCount"], 7);
    let forced_rows = audit_rows(
        service,
        admin,
        AuditFilter {
            action: Some("deployment.scale".into()),
            ..AuditFilter::default()
        },
    )
    .await;
    assert!(
        forced_rows
            .iter()
            .any(|r| r.event.parameters["force"] == true && r.event.parameters["replicas"] == 7),
        "the forced change is recorded as forced"
    );
    assert!(
        forced_rows.iter().any(|r| r
            .event
            .error
            .as_deref()
            .is_some_and(|e| e.contains("kustomize-controller"))),
        "the refused change is recorded with its reason"
    );
}

/// Every change is also an operation, under the audit operation id of its rows, with the
/// adapter's steps; a failed change is a failed operation with the same error.
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn every_change_is_an_operation_under_its_audit_operation_id(pool: PgPool) {
    let f = &with_alices_api(&pool).await;
    let (service, admin, alice) = (&f.service, &f.admin, &f.alice);
    let rows = audit_rows(
        service,
        admin,
        AuditFilter {
            action: Some("deployment.create".into()),
            ..AuditFilter::default()
        },
    )
    .await;
    let create = rows
        .iter()
        .find(|r| r.event.action == "deployment.create")
        .expect("create row");
    // Every change is also an operation, under the audit operation id of its rows.
    let operations = control::store::operations::OperationLog::new(pool.clone());
    let recorded = operations
        .get(create.event.operation_id)
        .await
        .expect("the create is an operation");
    assert_eq!(recorded.state, "succeeded");
    assert!(
        matches!(recorded.change(), Ok(control::service::change::Change::CreateDeployment { request, .. }) if request.name == "api"),
        "{recorded:?}"
    );
    assert!(
        recorded
            .steps
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["step"].as_str().is_some_and(|t| t.contains("creating"))),
        "the adapter's progress is kept: {:?}",
        recorded.steps
    );
    let failed = refs::made(
        service,
        alice,
        refs::scale(refs::ks("team-a", "shop"), 2, false),
    )
    .await
    .unwrap_err();
    let failed_row = audit_rows(
        service,
        admin,
        AuditFilter {
            action: Some("deployment.scale".into()),
            outcome: Some(control::audit::Outcome::Failure),
            ..AuditFilter::default()
        },
    )
    .await
    .into_iter()
    .next()
    .expect("the failed scale is audited");
    let failed_op = operations
        .get(failed_row.event.operation_id)
        .await
        .expect("the failed scale is an operation");
    assert_eq!(failed_op.state, "failed");
    assert_eq!(
        failed_op.error.as_deref(),
        Some(failed.to_string().as_str())
    );
}

/// Controller logs: alice sees team-a lines only, bob (a viewer) none, admin all.
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn controller_logs_show_a_tenant_its_own_lines(pool: PgPool) {
    let Fixture {
        service,
        admin,
        alice,
        bob,
        ..
    } = &fixture(&pool).await;
    let all = service
        .controller_logs(admin, "kustomize-controller", &LogQuery::default())
        .await
        .expect("logs");
    assert!(all.contains("\"namespace\":\"team-b\""));
    let hers = service
        .controller_logs(alice, "kustomize-controller", &LogQuery::default())
        .await
        .expect("logs");
    assert!(
        hers.contains("\"namespace\":\"team-a\"") && !hers.contains("\"namespace\":\"team-b\""),
        "{hers}"
    );
    assert!(matches!(
        service
            .controller_logs(bob, "kustomize-controller", &LogQuery::default())
            .await,
        Err(Error::Forbidden(_))
    ));
}

/// A source is fetched by its tenant's operators, not by viewers; sources are listed for the
/// caller's namespaces.
#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn sources_are_fetched_by_operators_and_listed_by_namespace(pool: PgPool) {
    let Fixture {
        service,
        alice,
        bob,
        ..
    } = &fixture(&pool).await;
    let fetch = |namespace| Change::ReconcileSource {
        source: refs::source(namespace, ToolkitKind::GitRepository, "shop"),
    };
    let fetched = refs::made(service, alice, fetch("team-a"))
        .await
        .and_then(ChangeOutcome::into_reconcile)
        .expect("alice operates team-a");
    assert!(
        fetched.finished && fetched.message.starts_with("fetched"),
        "{fetched:?}"
    );
    assert!(matches!(
        refs::made(service, bob, fetch("team-b")).await,
        Err(Error::Forbidden(_))
    ));

    let sources = service
        .list_toolkit(bob, model::reference::Family::Sources)
        .await
        .expect("sources");
    assert!(!sources.is_empty() && sources.iter().all(|s| s.namespace == "team-b"));
}
