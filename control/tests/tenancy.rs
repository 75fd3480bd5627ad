//! Tenancy administration against real Postgres: authorized, validated, audited.

mod support;

fn ns(name: &str) -> model::reference::NamespaceRef {
    model::reference::NamespaceRef::in_default(name).expect("namespace")
}

use control::Error;
use control::access::policy::Target;
use control::access::{Action, GlobalRole, Grantee, Principal, TenantRole};
use control::audit::{AuditFilter, Outcome, Phase};
use sqlx::PgPool;
use support::{person, seeded};

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn platform_admin_builds_tenancy_and_others_see_their_part(pool: PgPool) {
    let service = seeded(pool).await;
    let all = service.list_tenants(&person("admin", &[])).await.unwrap();
    assert_eq!(
        all.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(),
        ["team-a", "team-b"]
    );
    assert_eq!(all[0].namespaces, ["a-dev", "a-prod"]);

    let alice = service.list_tenants(&person("alice", &[])).await.unwrap();
    assert_eq!(
        alice.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(),
        ["team-a"]
    );
    let bob = service
        .list_tenants(&person("bob", &["b-viewers"]))
        .await
        .unwrap();
    assert_eq!(
        bob.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(),
        ["team-b"]
    );
    assert!(
        service
            .list_tenants(&person("mallory", &[]))
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn grants_come_from_users_and_groups(pool: PgPool) {
    let service = seeded(pool).await;
    let grants = service
        .grants(&person("bob", &["b-viewers", "unrelated"]))
        .await
        .unwrap();
    assert_eq!(grants.tenants["team-b"].role, TenantRole::Viewer);
    assert_eq!(grants.tenancy.namespace_owners[&ns("b-prod")], "team-b");
    assert_eq!(
        control::access::policy::visible_namespaces(&grants, Action::DeploymentList),
        control::access::Namespaces::only_in_default(["b-prod"])
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn non_admins_are_refused_and_the_refusal_is_audited(pool: PgPool) {
    let service = seeded(pool).await;
    let alice = person("alice", &[]);
    let error = service
        .create_tenant(&alice, "rogue", "Rogue")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden(_)), "{error}");
    assert!(
        error.to_string().contains("needs platform-admin"),
        "{error}"
    );

    let error = service
        .add_membership(
            &alice,
            "team-a",
            &Grantee::User("eve".into()),
            TenantRole::Admin,
        )
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("you are only operator on tenant team-a"),
        "{error}"
    );

    let admin = person("admin", &[]);
    let denials = service
        .query_audit(
            &admin,
            &AuditFilter {
                outcome: Some(Outcome::Denied),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = denials
        .events
        .iter()
        .map(|e| e.event.action.as_str())
        .collect();
    assert_eq!(actions, ["membership.add", "tenant.create"]);
    assert!(
        denials
            .events
            .iter()
            .all(|e| e.event.phase == Phase::Denied && e.event.actor.subject == "alice")
    );
    assert!(
        service
            .list_tenants(&admin)
            .await
            .unwrap()
            .iter()
            .all(|t| t.slug != "rogue")
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn tenant_admins_manage_their_own_memberships_only(pool: PgPool) {
    let service = seeded(pool).await;
    let admin = person("admin", &[]);
    service
        .add_membership(
            &admin,
            "team-b",
            &Grantee::User("dave".into()),
            TenantRole::Admin,
        )
        .await
        .unwrap();
    let dave = person("dave", &[]);
    service
        .add_membership(
            &dave,
            "team-b",
            &Grantee::User("erin".into()),
            TenantRole::Operator,
        )
        .await
        .unwrap();
    let members = service.list_memberships(&dave, "team-b").await.unwrap();
    let names: Vec<(&str, TenantRole)> = members
        .iter()
        .map(|m| (m.grantee.as_str(), m.role))
        .collect();
    assert_eq!(
        names,
        [
            ("b-viewers", TenantRole::Viewer),
            ("dave", TenantRole::Admin),
            ("erin", TenantRole::Operator)
        ]
    );

    // Upgrading replaces the role; removing takes it away.
    service
        .add_membership(
            &dave,
            "team-b",
            &Grantee::User("erin".into()),
            TenantRole::Viewer,
        )
        .await
        .unwrap();
    service
        .remove_membership(&dave, "team-b", &Grantee::User("erin".into()))
        .await
        .unwrap();
    assert!(
        service
            .grants(&person("erin", &[]))
            .await
            .unwrap()
            .tenants
            .is_empty()
    );

    let error = service
        .add_membership(
            &dave,
            "team-a",
            &Grantee::User("erin".into()),
            TenantRole::Viewer,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden(_)));
    let error = service
        .remove_membership(&dave, "team-b", &Grantee::User("nobody".into()))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "membership not found: user nobody on tenant team-b"
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn tenant_and_namespace_errors_say_what_went_wrong(pool: PgPool) {
    let service = seeded(pool).await;
    let admin = person("admin", &[]);
    let error = service
        .create_tenant(&admin, "team-a", "Again")
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "tenant already exists: team-a");
    let error = service
        .create_tenant(&admin, "Team A!", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Invalid {
                field: "tenant",
                ..
            }
        ),
        "{error}"
    );
    let error = service
        .create_tenant(&admin, "ok", "bad\u{7}name")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Invalid {
                field: "display name",
                ..
            }
        ),
        "{error}"
    );
    let error = service
        .assign_namespace(&admin, "b-prod", "team-a")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "conflict: namespace b-prod already belongs to tenant team-b; unassign it first"
    );
    let error = service
        .assign_namespace(&admin, "new-ns", "no-such-tenant")
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "tenant not found: no-such-tenant");
    let error = service
        .rename_tenant(&admin, "ghost", "Ghost")
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "tenant not found: ghost");

    // A failed change still leaves an intent and a failure outcome.
    let failures = service
        .query_audit(
            &admin,
            &AuditFilter {
                outcome: Some(Outcome::Failure),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(failures.events.len(), 4, "{:#?}", failures.events);
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn rename_unassign_and_delete(pool: PgPool) {
    let service = seeded(pool).await;
    let admin = person("admin", &[]);
    service
        .rename_tenant(&admin, "team-a", "Team Alpha")
        .await
        .unwrap();
    service
        .unassign_namespace(&admin, "a-dev", None)
        .await
        .unwrap();
    let a = service.get_tenant(&admin, "team-a").await.unwrap();
    assert_eq!(
        (a.display_name.as_str(), a.namespaces.as_slice()),
        ("Team Alpha", &["a-prod".to_owned()][..])
    );
    let refused = service.delete_tenant(&admin, "team-a").await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "conflict: tenant team-a still owns namespaces a-prod; unassign them or move them to another tenant first"
    );
    let wrong_owner = service
        .unassign_namespace(&admin, "a-prod", Some("team-b"))
        .await
        .unwrap_err();
    assert_eq!(
        wrong_owner.to_string(),
        "namespace assignment not found: a-prod of tenant team-b"
    );
    service
        .move_namespace(&admin, "a-prod", "team-b")
        .await
        .unwrap();
    assert_eq!(
        service
            .get_tenant(&admin, "team-b")
            .await
            .unwrap()
            .namespaces,
        ["a-prod", "b-prod"]
    );
    let taken = service
        .assign_namespace(&admin, "a-prod", "team-a")
        .await
        .unwrap_err();
    assert!(
        taken
            .to_string()
            .contains("already belongs to tenant team-b"),
        "{taken}"
    );
    service.delete_tenant(&admin, "team-a").await.unwrap();
    assert!(
        service
            .grants(&person("alice", &[]))
            .await
            .unwrap()
            .tenants
            .is_empty()
    );
    assert!(
        service
            .grants(&admin)
            .await
            .unwrap()
            .tenancy
            .namespace_owners
            .get(&ns("a-prod"))
            .is_some_and(|t| t == "team-b"),
        "the moved namespace outlives its old tenant"
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn global_roles_and_bootstrap(pool: PgPool) {
    let service = seeded(pool).await;
    let admin = person("admin", &[]);
    // Bootstrapping again changes nothing.
    service
        .bootstrap_platform_admin(&Grantee::User("admin".into()))
        .await
        .unwrap();
    service
        .grant_global_role(
            &admin,
            &Grantee::Group("auditors".into()),
            GlobalRole::Auditor,
        )
        .await
        .unwrap();
    let carol = person("carol", &["auditors"]);
    assert!(service.verify_audit(&carol).await.unwrap().is_valid());
    assert!(matches!(
        service.create_tenant(&carol, "x", "X").await,
        Err(Error::Forbidden(_))
    ));
    let roles = service.list_global_roles(&admin).await.unwrap();
    assert_eq!(roles.len(), 2);
    service
        .revoke_global_role(
            &admin,
            &Grantee::Group("auditors".into()),
            GlobalRole::Auditor,
        )
        .await
        .unwrap();
    assert!(matches!(
        service.verify_audit(&carol).await,
        Err(Error::Forbidden(_))
    ));

    // Nobody could administer Pilothouse after the last platform-admin went.
    let me = Grantee::User("admin".into());
    let last = service
        .revoke_global_role(&admin, &me, GlobalRole::PlatformAdmin)
        .await
        .unwrap_err();
    assert_eq!(
        last.to_string(),
        "conflict: user admin is the last platform-admin; grant platform-admin to someone else first"
    );
    let ops = Grantee::Group("ops".into());
    service
        .grant_global_role(&admin, &ops, GlobalRole::PlatformAdmin)
        .await
        .unwrap();
    service
        .revoke_global_role(&admin, &me, GlobalRole::PlatformAdmin)
        .await
        .unwrap();
    let ops_member = person("olga", &["ops"]);
    assert!(matches!(
        service
            .revoke_global_role(&ops_member, &ops, GlobalRole::PlatformAdmin)
            .await,
        Err(Error::Conflict(_))
    ));
    service
        .grant_global_role(&ops_member, &me, GlobalRole::PlatformAdmin)
        .await
        .unwrap();

    let bootstrap = service
        .query_audit(
            &admin,
            &AuditFilter {
                actor: Some("system".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        bootstrap.events.len(),
        2,
        "intent and outcome of the one bootstrap grant"
    );
}

#[sqlx::test(migrator = "control::store::MIGRATOR")]
async fn the_explainer_names_the_grant_or_the_gap(pool: PgPool) {
    let service = seeded(pool).await;
    let bob = person("bob", &["b-viewers"]);
    let own = service
        .explain(
            &bob,
            None,
            Action::DeploymentGet,
            Target::Namespace(&ns("b-prod")),
        )
        .await
        .unwrap();
    assert!(own.allowed);
    assert!(
        own.reason
            .contains("role viewer on tenant team-b, held through group b-viewers"),
        "{}",
        own.reason
    );
    let other = service
        .explain(
            &bob,
            None,
            Action::DeploymentGet,
            Target::Namespace(&ns("a-prod")),
        )
        .await
        .unwrap();
    assert!(!other.allowed);
    assert!(
        other.reason.contains("they have no role on tenant team-a"),
        "{}",
        other.reason
    );

    let alice = Principal {
        subject: "alice".into(),
        ..bob.principal.clone()
    };
    let error = service
        .explain(
            &bob,
            Some(&alice),
            Action::DeploymentGet,
            Target::Namespace(&ns("a-prod")),
        )
        .await;
    assert!(matches!(error, Err(Error::Forbidden(_))));
    let admin = person("admin", &[]);
    let theirs = service
        .explain(
            &admin,
            Some(&alice),
            Action::DeploymentScale,
            Target::Namespace(&ns("a-prod")),
        )
        .await
        .unwrap();
    assert!(theirs.allowed, "{}", theirs.reason);
}
