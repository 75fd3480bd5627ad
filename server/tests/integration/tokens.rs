//! API tokens for automation: made over REST by a signed-in user for themself and by a tenant
//! admin for a service principal, used as `Authorization: Bearer ph_…`, narrowed to a tenant
//! and to reads, revoked and expired. That the secret never reaches the audit log or the logs
//! is checked in `tests/logs.rs`, which owns its process's logger.
//! Each test starts its own server, so a failure names the behaviour that broke.

use crate::support::TestEnv;
use crate::support::tokens::{make, read_only_token, secret_of, service_token};
use axum::http::StatusCode;
use control::audit::AuditFilter;
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The namespaces of the deployments `token` lists.
async fn listed_namespaces(env: &TestEnv, token: &str) -> Vec<String> {
    let answer = env.get_bearer("/o2dms/v1/deployments", token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let mut namespaces: Vec<String> = parse(&answer.body)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["namespace"].as_str().map(str::to_owned))
        .collect();
    namespaces.sort();
    namespaces.dedup();
    namespaces
}

/// A personal token acts as its maker, audit rows name the token, and it cannot make tokens,
/// so a stolen one cannot outlive its expiry.
#[tokio::test]
async fn a_personal_token_acts_as_its_maker_and_makes_no_tokens() {
    let env = TestEnv::start_with_cluster("token-personal").await;
    let alice = env.bearer("alice");
    let (alices, alices_id) = secret_of(&make(&env, &alice, json!({ "name": "laptop" })).await);
    let me = parse(&env.get_bearer("/o2dms/v1/me", &alices).await.body);
    assert_eq!(me["subject"], "alice", "{me}");
    assert_eq!(
        me["issuer"],
        format!("pilothouse:token:{alices_id}"),
        "{me}"
    );
    assert_eq!(listed_namespaces(&env, &alices).await, ["team-a"]);
    let suspended = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/podinfo/suspend",
            &alices,
            json!({ "reason": "by token" }),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    let rows = env
        .service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                action: Some("deployment.suspend".into()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert!(
        rows.events
            .iter()
            .any(|e| e.event.actor.issuer == format!("pilothouse:token:{alices_id}")),
        "{:?}",
        rows.events
    );

    let again = make(&env, &alices, json!({ "name": "longer" })).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
    assert!(
        again
            .body
            .contains("API tokens cannot make or revoke tokens"),
        "{}",
        again.body
    );
}

/// Read-only: reads pass, every change is refused with the reason.
#[tokio::test]
async fn a_read_only_token_reads_and_changes_nothing() {
    let env = TestEnv::start_with_cluster("token-read-only").await;
    let alice = env.bearer("alice");
    let reader = read_only_token(&env, &alice).await;
    assert_eq!(listed_namespaces(&env, &reader).await, ["team-a"]);
    let refused = env
        .send_bearer(
            "POST",
            "/o2dms/v1/deployments/team-a/podinfo/resume",
            &reader,
            json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("read-only"), "{}", refused.body);
}

/// A platform-admin's token narrowed to team-a reaches team-a only, and administers nothing.
#[tokio::test]
async fn a_platform_admins_token_narrowed_to_a_tenant_reaches_that_tenant_only() {
    let env = TestEnv::start_with_cluster("token-narrowed").await;
    let admin = env.bearer("admin");
    assert!(
        listed_namespaces(&env, &admin)
            .await
            .contains(&"team-b".to_owned())
    );
    let (narrow, _) = secret_of(
        &make(
            &env,
            &admin,
            json!({ "name": "team-a only", "tenant": "team-a" }),
        )
        .await,
    );
    assert_eq!(listed_namespaces(&env, &narrow).await, ["team-a"]);
    let tenant = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants",
            &narrow,
            json!({ "slug": "team-z" }),
        )
        .await;
    assert_eq!(tenant.status, StatusCode::FORBIDDEN, "{}", tenant.body);
}

/// Bad requests name the field and make no token.
#[tokio::test]
async fn bad_token_requests_name_the_field_and_make_nothing() {
    let env = TestEnv::start_with_cluster("token-bad-requests").await;
    let alice = env.bearer("alice");
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (
            json!({ "name": "x", "expiresInDays": 0 }),
            "expires in days",
        ),
        (
            json!({ "name": "x", "expiresInDays": 10_000 }),
            "expires in days",
        ),
        (json!({ "name": "x", "tenant": "Team_A" }), "tenant"),
        (json!({ "name": "x", "service": "ci" }), "tenant"),
    ] {
        let answer = make(&env, &alice, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            answer.body
        );
        assert_eq!(parse(&answer.body)["field"], field, "{body}");
    }
    let unknown = make(&env, &alice, json!({ "name": "x", "tenant": "nobody" })).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    let listed = env.get_bearer("/o2dms/v1/tokens", &alice).await;
    assert_eq!(parse(&listed.body), json!([]), "{}", listed.body);
}

/// Service tokens: a tenant admin makes one (an operator may not); it acts with the service
/// principal's roles, none until it is made a member.
#[tokio::test]
async fn a_service_token_acts_with_the_service_principals_roles() {
    let env = TestEnv::start_with_cluster("token-service").await;
    let alice = env.bearer("alice");
    let refused = make(
        &env,
        &alice,
        json!({ "name": "ci", "tenant": "team-a", "service": "deployer" }),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "an operator may not: {}",
        refused.body
    );
    let (dave, service, _) = service_token(&env).await;
    let me = parse(&env.get_bearer("/o2dms/v1/me", &service).await.body);
    assert_eq!(me["subject"], "service:team-a:deployer", "{me}");
    assert!(
        listed_namespaces(&env, &service).await.is_empty(),
        "no membership yet"
    );
    let member = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-a/members",
            &dave,
            json!({ "user": "service:team-a:deployer", "role": "viewer" }),
        )
        .await;
    assert!(member.status.is_success(), "{}", member.body);
    assert_eq!(listed_namespaces(&env, &service).await, ["team-a"]);
}

/// Listing shows one's own tokens and the service tokens of tenants one administers, never a
/// secret; revoking others' personal tokens finds nothing, service tokens need the tenant's
/// admin, and a revoked token is refused saying so.
#[tokio::test]
async fn tokens_are_listed_and_revoked_by_those_they_belong_to() {
    let env = TestEnv::start_with_cluster("token-revoke").await;
    let alice = env.bearer("alice");
    let (alices, alices_id) = secret_of(&make(&env, &alice, json!({ "name": "laptop" })).await);
    let (dave, service, service_id) = service_token(&env).await;

    let listed = env.get_bearer("/o2dms/v1/tokens", &dave).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(listed.body.contains(&service_id), "{}", listed.body);
    assert!(!listed.body.contains(&alices_id), "{}", listed.body);
    assert!(!listed.body.contains("ph_"), "{}", listed.body);
    let listed = env.get_bearer("/o2dms/v1/tokens", &alice).await;
    assert!(
        listed.body.contains(&alices_id) && !listed.body.contains(&service_id),
        "{}",
        listed.body
    );

    let path = |id: &str| format!("/o2dms/v1/tokens/{id}");
    let answer = env
        .send_bearer("DELETE", &path(&alices_id), &dave, json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    let answer = env
        .send_bearer("DELETE", &path(&service_id), &alice, json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    // Used once before revoking, so a cached credential must be dropped too.
    assert_eq!(listed_namespaces(&env, &alices).await, ["team-a"]);
    let answer = env
        .send_bearer("DELETE", &path(&service_id), &dave, json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    let answer = env
        .send_bearer("DELETE", &path(&alices_id), &alice, json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    for revoked in [&service, &alices] {
        let answer = env.get_bearer("/o2dms/v1/deployments", revoked).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
        assert!(answer.body.contains("revoked"), "{}", answer.body);
    }
}

/// Expired tokens are refused, saying so; unknown ones too.
#[tokio::test]
async fn expired_and_unknown_tokens_are_refused() {
    let env = TestEnv::start_with_cluster("token-expired").await;
    let alice = env.bearer("alice");
    let reader = read_only_token(&env, &alice).await;
    // Expired in the database before its first use, as time would: nothing has cached it.
    let pool = sqlx::PgPool::connect(env.config.database.url.as_deref().expect("url"))
        .await
        .expect("pool");
    sqlx::query(
        "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'dashboards'",
    )
    .execute(&pool)
    .await
    .expect("expire");
    let answer = env.get_bearer("/o2dms/v1/deployments", &reader).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert!(answer.body.contains("expired"), "{}", answer.body);
    let answer = env
        .get_bearer("/o2dms/v1/deployments", "ph_not-a-real-token")
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
}
