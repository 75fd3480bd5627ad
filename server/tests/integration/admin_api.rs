//! Tenancy administration over REST, with bearer tokens from the real provider: tenants,
//! namespace assignment and moves, memberships by user and group, global roles, the clusters'
//! namespaces with their owners, and the access check; each refusal with its status, field
//! and message, and nothing changed by a refused call. Each test starts its own server, so a
//! failure names the behaviour that broke.

use crate::support::TestEnv;
use axum::http::StatusCode;
use control::audit::{AuditFilter, Channel};
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Asserts `answer` is `status` with a message containing `says` (and `field`, when given).
fn refused(answer: &crate::support::Answer, status: StatusCode, field: Option<&str>, says: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    let body = parse(&answer.body);
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains(says)),
        "{body}"
    );
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
}

/// Starts a server with the sandbox; tenant team-a owns namespace team-a and alice operates it.
async fn env(name: &str) -> TestEnv {
    TestEnv::start_with_cluster(name).await
}

/// Makes tenant `slug` as the platform-admin.
async fn tenant(env: &TestEnv, admin: &str, slug: &str) {
    let made = env
        .send_bearer("POST", "/o2dms/v1/tenants", admin, json!({ "slug": slug }))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
}

/// Tenant team-b owning namespace team-b, made by the platform-admin.
async fn team_b(env: &TestEnv, admin: &str) {
    tenant(env, admin, "team-b").await;
    let assigned = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/namespaces",
            admin,
            json!({ "namespace": "team-b" }),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
}

/// Tenants: made once, with a valid slug, by a platform-admin only; renamed.
#[tokio::test]
async fn tenants_are_made_renamed_and_refused() {
    let env = env("admin-tenants").await;
    let admin = env.bearer("admin");
    let alice = env.bearer("alice");
    let created = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants",
            &admin,
            json!({ "slug": "team-b", "displayName": "Team B" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        parse(&created.body),
        json!({ "slug": "team-b", "displayName": "Team B", "namespaces": [], "nestedFlux": false })
    );
    let again = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants",
            &admin,
            json!({ "slug": "team-b" }),
        )
        .await;
    refused(
        &again,
        StatusCode::CONFLICT,
        None,
        "tenant already exists: team-b",
    );
    let bad = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants",
            &admin,
            json!({ "slug": "Team_B" }),
        )
        .await;
    refused(
        &bad,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("tenant"),
        "Team_B",
    );
    let hostile = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants",
            &admin,
            json!({ "slug": "x", "displayName": "" }),
        )
        .await;
    assert_eq!(
        hostile.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        hostile.body
    );
    let by_operator = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants",
            &alice,
            json!({ "slug": "mine" }),
        )
        .await;
    refused(&by_operator, StatusCode::FORBIDDEN, None, "platform-admin");
    let renamed = env
        .send_bearer(
            "PATCH",
            "/o2dms/v1/tenants/team-b",
            &admin,
            json!({ "displayName": "Team Bravo" }),
        )
        .await;
    assert_eq!(
        parse(&renamed.body)["displayName"],
        "Team Bravo",
        "{}",
        renamed.body
    );
}

/// Namespaces: assigned, refused when another tenant owns them, moved on request, listed with
/// their owners to platform-admins only; a move is audited through the API channel.
#[tokio::test]
async fn namespaces_are_assigned_moved_and_listed_with_owners() {
    let env = env("admin-namespaces").await;
    let admin = env.bearer("admin");
    let alice = env.bearer("alice");
    tenant(&env, &admin, "team-b").await;
    let assigned = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/namespaces",
            &admin,
            json!({ "namespace": "team-b" }),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    assert_eq!(parse(&assigned.body)["namespaces"], json!(["team-b"]));
    let taken = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/namespaces",
            &admin,
            json!({ "namespace": "team-a" }),
        )
        .await;
    refused(
        &taken,
        StatusCode::CONFLICT,
        None,
        "namespace team-a already belongs to tenant team-a",
    );
    let invalid = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/namespaces",
            &admin,
            json!({ "namespace": "-x" }),
        )
        .await;
    refused(
        &invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("namespace"),
        "",
    );
    let moved = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/namespaces",
            &admin,
            json!({ "namespace": "platform", "move": false }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::CREATED, "{}", moved.body);
    env.send_bearer(
        "POST",
        "/o2dms/v1/tenants",
        &admin,
        json!({ "slug": "platform" }),
    )
    .await;
    let moved = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/platform/namespaces",
            &admin,
            json!({ "namespace": "platform", "move": true }),
        )
        .await;
    assert_eq!(
        parse(&moved.body)["namespaces"],
        json!(["platform"]),
        "{}",
        moved.body
    );
    let wrong_owner = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/tenants/team-b/namespaces/platform",
            &admin,
            json!({}),
        )
        .await;
    refused(
        &wrong_owner,
        StatusCode::NOT_FOUND,
        None,
        "platform of tenant team-b",
    );
    let listed = parse(&env.get_bearer("/o2dms/v1/namespaces", &admin).await.body);
    let owner = |name: &str| {
        listed
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        owner("team-a"),
        json!({ "cluster": "default", "name": "team-a", "tenant": "team-a", "inCluster": true })
    );
    assert_eq!(owner("platform")["tenant"], "platform");
    assert_eq!(
        owner("kube-system")["tenant"],
        Value::Null,
        "unassigned namespaces are listed too"
    );
    refused(
        &env.get_bearer("/o2dms/v1/namespaces", &alice).await,
        StatusCode::FORBIDDEN,
        None,
        "platform-admin",
    );
    let audited = env
        .service
        .query_audit(
            &env.admin(),
            &AuditFilter {
                action: Some("namespace.move".into()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert!(
        audited
            .events
            .iter()
            .any(|e| e.event.channel == Channel::Api
                && e.event.namespace.as_deref() == Some("platform")),
        "{:?}",
        audited.events
    );
}

/// A tenant that owns namespaces is not deleted, and the refusal names them; once they are
/// unassigned it is, members and all.
#[tokio::test]
async fn a_tenant_is_deleted_only_once_it_owns_no_namespace() {
    let env = env("admin-tenant-delete").await;
    let admin = env.bearer("admin");
    team_b(&env, &admin).await;
    let owns = env
        .send_bearer("DELETE", "/o2dms/v1/tenants/team-b", &admin, json!({}))
        .await;
    refused(
        &owns,
        StatusCode::CONFLICT,
        None,
        "tenant team-b still owns namespaces team-b",
    );
    // Members do not hold a tenant back.
    let member = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/members",
            &admin,
            json!({ "user": "dave", "role": "admin" }),
        )
        .await;
    assert_eq!(member.status, StatusCode::CREATED, "{}", member.body);
    let unassigned = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/tenants/team-b/namespaces/team-b",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(
        unassigned.status,
        StatusCode::NO_CONTENT,
        "{}",
        unassigned.body
    );
    let deleted = env
        .send_bearer("DELETE", "/o2dms/v1/tenants/team-b", &admin, json!({}))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(
        env.get_bearer("/o2dms/v1/tenants/team-b", &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Memberships by user and by group; dave administers team-b and nothing else.
#[tokio::test]
async fn tenant_admins_manage_members_of_their_tenant_only() {
    let env = env("admin-members").await;
    let admin = env.bearer("admin");
    let dave = env.bearer("dave");
    team_b(&env, &admin).await;
    let added = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/members",
            &admin,
            json!({ "user": "dave", "role": "admin" }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let by_dave = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/members",
            &dave,
            json!({ "group": "b-viewers", "role": "viewer" }),
        )
        .await;
    assert_eq!(by_dave.status, StatusCode::CREATED, "{}", by_dave.body);
    let changed = env
        .send_bearer(
            "PUT",
            "/o2dms/v1/tenants/team-b/members/group/b-viewers",
            &dave,
            json!({ "role": "operator" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert!(
        parse(&changed.body)
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["grantee"] == "b-viewers" && m["role"] == "operator"),
        "{}",
        changed.body
    );
    let nobody = env
        .send_bearer(
            "PUT",
            "/o2dms/v1/tenants/team-b/members/user/nobody",
            &dave,
            json!({ "role": "viewer" }),
        )
        .await;
    refused(
        &nobody,
        StatusCode::NOT_FOUND,
        None,
        "membership not found: user nobody on tenant team-b",
    );
    let bad_role = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/members",
            &dave,
            json!({ "user": "erin", "role": "root" }),
        )
        .await;
    refused(
        &bad_role,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("role"),
        "\"root\" is not one of viewer, operator, admin",
    );
    let both = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-b/members",
            &dave,
            json!({ "user": "erin", "group": "g", "role": "viewer" }),
        )
        .await;
    refused(
        &both,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("user"),
        "exactly one of user or group",
    );
    let elsewhere = env
        .send_bearer(
            "POST",
            "/o2dms/v1/tenants/team-a/members",
            &dave,
            json!({ "user": "dave", "role": "admin" }),
        )
        .await;
    refused(&elsewhere, StatusCode::FORBIDDEN, None, "team-a");
    assert_eq!(
        env.get_bearer("/o2dms/v1/tenants/team-a/members", &dave)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let removed = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/tenants/team-b/members/group/b-viewers",
            &dave,
            json!({}),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let members = parse(
        &env.get_bearer("/o2dms/v1/tenants/team-b/members", &dave)
            .await
            .body,
    );
    assert_eq!(
        members,
        json!([{ "tenant": "team-b", "granteeKind": "user", "grantee": "dave", "role": "admin" }])
    );
}

/// Global roles: granted, listed to platform-admins only; the last platform-admin stays.
#[tokio::test]
async fn global_roles_are_granted_and_the_last_platform_admin_stays() {
    let env = env("admin-global-roles").await;
    let admin = env.bearer("admin");
    let dave = env.bearer("dave");
    let granted = env
        .send_bearer(
            "POST",
            "/o2dms/v1/global-roles",
            &admin,
            json!({ "user": "carol", "role": "auditor" }),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let last = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/global-roles/platform-admin/user/admin",
            &admin,
            json!({}),
        )
        .await;
    refused(
        &last,
        StatusCode::CONFLICT,
        None,
        "user admin is the last platform-admin",
    );
    let unknown = env
        .send_bearer(
            "DELETE",
            "/o2dms/v1/global-roles/root/user/admin",
            &admin,
            json!({}),
        )
        .await;
    refused(
        &unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("role"),
        "not one of platform-admin, auditor",
    );
    let roles = parse(&env.get_bearer("/o2dms/v1/global-roles", &admin).await.body);
    assert_eq!(roles.as_array().map(Vec::len), Some(2), "{roles}");
    refused(
        &env.get_bearer("/o2dms/v1/global-roles", &dave).await,
        StatusCode::FORBIDDEN,
        None,
        "platform-admin",
    );
}

/// The access check, from the same policy code: allowed and refused with reasons, by user and
/// by group; unknown actions and missing namespaces refused; others explained to platform-admins
/// only.
#[tokio::test]
async fn the_access_check_explains_each_decision() {
    let env = env("admin-access-check").await;
    let admin = env.bearer("admin");
    let alice = env.bearer("alice");
    team_b(&env, &admin).await;
    let check = |query: &str| {
        let path = format!("/o2dms/v1/access/check?{query}");
        let env = &env;
        let admin = admin.clone();
        async move { env.get_bearer(&path, &admin).await }
    };
    let may = parse(
        &check("subject=alice&action=deployment.scale&namespace=team-a")
            .await
            .body,
    );
    assert_eq!(may["allowed"], true, "{may}");
    let may_not = parse(
        &check("subject=alice&action=deployment.scale&namespace=team-b")
            .await
            .body,
    );
    assert_eq!(may_not["allowed"], false, "{may_not}");
    assert!(
        may_not["reason"]
            .as_str()
            .is_some_and(|r| r.contains("they have no role on tenant team-b")),
        "{may_not}"
    );
    let unowned = parse(
        &check("subject=alice&action=deployment.get&namespace=kube-system")
            .await
            .body,
    );
    assert!(
        unowned["reason"]
            .as_str()
            .is_some_and(|r| r.contains("kube-system")),
        "{unowned}"
    );
    let group = parse(
        &check("groups=b-viewers&action=deployment.get&namespace=team-b")
            .await
            .body,
    );
    assert_eq!(
        group["allowed"], false,
        "the group's membership was removed: {group}"
    );
    assert!(
        group["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("members of group b-viewers")),
        "{group}"
    );
    refused(
        &check("subject=alice&action=deploy.everything&namespace=team-a").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("action"),
        "not an action",
    );
    refused(
        &check("subject=alice&action=deployment.get").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("namespace"),
        "applies to a namespace",
    );
    let prying = env
        .get_bearer(
            "/o2dms/v1/access/check?subject=bob&action=deployment.get&namespace=team-a",
            &alice,
        )
        .await;
    assert_eq!(
        prying.status,
        StatusCode::FORBIDDEN,
        "explaining someone else is for platform-admins"
    );
    let own = parse(
        &env.get_bearer(
            "/o2dms/v1/access/check?subject=alice&action=deployment.get&namespace=team-a",
            &alice,
        )
        .await
        .body,
    );
    assert_eq!(own["allowed"], true, "{own}");
}
