//! The policy, exhaustively: every principal kind × every action × own or other tenant, checked
//! against the access model as DESIGN.md states it (written out here independently of the table).

use super::*;
use crate::access::grants::TenantGrant;

const OWN_TENANT: &str = "team-a";
const OTHER_TENANT: &str = "team-b";
const OWN_NS: &str = "a-prod";
const OTHER_NS: &str = "b-prod";
const LOOSE_NS: &str = "loose";
static OWN_REF: std::sync::LazyLock<model::reference::NamespaceRef> =
    std::sync::LazyLock::new(|| ns(OWN_NS));
static OTHER_REF: std::sync::LazyLock<model::reference::NamespaceRef> =
    std::sync::LazyLock::new(|| ns(OTHER_NS));

fn ns(name: &str) -> model::reference::NamespaceRef {
    model::reference::NamespaceRef::in_default(name).unwrap()
}

/// Who is asking, in every shape the access model knows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Nobody,
    Tenant(TenantRole),
    Auditor,
    PlatformAdmin,
}

fn grants(who: Who, via: Via) -> Grants {
    let mut grants = Grants::default();
    std::sync::Arc::make_mut(&mut grants.tenancy)
        .namespace_owners
        .insert(ns(OWN_NS), OWN_TENANT.into());
    std::sync::Arc::make_mut(&mut grants.tenancy)
        .namespace_owners
        .insert(ns(OTHER_NS), OTHER_TENANT.into());
    match who {
        Who::Nobody => {}
        Who::Tenant(role) => {
            grants
                .tenants
                .insert(OWN_TENANT.into(), TenantGrant { role, via });
        }
        Who::Auditor => grants.global.push((GlobalRole::Auditor, via)),
        Who::PlatformAdmin => grants.global.push((GlobalRole::PlatformAdmin, via)),
    }
    grants
}

/// The weakest tenant role each tenant-level action needs, as DESIGN.md's access model says.
fn needed_role(action: Action) -> Option<TenantRole> {
    let name = action.as_str();
    let viewer = [
        "deployment.list",
        "deployment.get",
        "package.list",
        "package.get",
        "source.list",
        "source.get",
        "image.list",
        "image.get",
        "notification.list",
        "notification.get",
        "flux.check",
        "tenant.get",
    ];
    let operator = [
        "deployment.create",
        "deployment.update",
        "deployment.delete",
        "deployment.scale",
        "deployment.rollback",
        "deployment.reconcile",
        "deployment.suspend",
        "deployment.resume",
        "deployment.logs",
        "deployment.reveal",
        "workload.restart",
        "pod.delete",
        "cronjob.run",
        "source.reconcile",
        "source.suspend",
        "source.resume",
        "source.create",
        "source.delete",
        "source.download",
        "image.reconcile",
        "image.suspend",
        "image.resume",
        "image.create",
        "image.delete",
        "notification.suspend",
        "notification.resume",
        "notification.create",
        "notification.delete",
    ];
    let admin = [
        "operation.cancel",
        "package.upload",
        "package.delete",
        "membership.list",
        "membership.add",
        "membership.remove",
        "service-token.list",
        "service-token.create",
        "service-token.revoke",
    ];
    if viewer.contains(&name) {
        Some(TenantRole::Viewer)
    } else if operator.contains(&name) {
        Some(TenantRole::Operator)
    } else if admin.contains(&name) {
        Some(TenantRole::Admin)
    } else {
        None
    }
}

fn expected(who: Who, action: Action, own: bool) -> bool {
    if matches!(
        action.requirement(),
        Requirement::SignedIn | Requirement::Anyone
    ) {
        return true;
    }
    match who {
        Who::PlatformAdmin => true,
        Who::Nobody => false,
        Who::Auditor => matches!(action, Action::AuditQuery | Action::AuditVerify),
        Who::Tenant(role) => match action {
            Action::AuditQuery => role == TenantRole::Admin,
            _ => own && needed_role(action).is_some_and(|needed| role >= needed),
        },
    }
}

fn target(action: Action, own: bool) -> Target<'static> {
    match action.target_kind() {
        TargetKind::Namespace => Target::Namespace(if own { &OWN_REF } else { &OTHER_REF }),
        TargetKind::Tenant => Target::Tenant(if own { OWN_TENANT } else { OTHER_TENANT }),
        TargetKind::Platform => Target::Platform,
        TargetKind::AuditLog => Target::AuditLog,
        TargetKind::Own => Target::Own,
    }
}

fn everyone() -> Vec<Who> {
    let mut all = vec![Who::Nobody, Who::Auditor, Who::PlatformAdmin];
    all.extend(TenantRole::ALL.map(Who::Tenant));
    all
}

#[test]
fn every_role_action_and_tenant_is_decided_as_the_access_model_says() {
    let mut checked = 0;
    for via in [Via::User, Via::Group("devs".into())] {
        for who in everyone() {
            let grants = grants(who, via.clone());
            for &action in Action::ALL {
                for own in [true, false] {
                    let decision = decide(&grants, action, target(action, own));
                    assert_eq!(
                        decision.is_ok(),
                        expected(who, action, own),
                        "{who:?} {action} own={own}: {decision:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 2 * 6 * Action::ALL.len() * 2);
}

#[test]
fn every_tenant_action_in_the_table_is_covered_by_the_model() {
    for &action in Action::ALL {
        if let Requirement::Tenant(role) = action.requirement() {
            assert_eq!(needed_role(action), Some(role), "{action}");
            assert!(matches!(
                action.target_kind(),
                TargetKind::Namespace | TargetKind::Tenant
            ));
        }
    }
}

#[test]
fn unassigned_namespaces_are_for_platform_admins_only() {
    let admin = grants(Who::Tenant(TenantRole::Admin), Via::User);
    let denied = decide(
        &admin,
        Action::DeploymentGet,
        Target::Namespace(&ns(LOOSE_NS)),
    )
    .unwrap_err();
    assert!(
        denied
            .missing
            .sentence("they")
            .contains("belongs to no tenant"),
        "{denied}"
    );
    // The caller is told no more than about another tenant's namespace.
    assert_eq!(
        denied.missing.to_string(),
        format!("you have no role in namespace {LOOSE_NS}")
    );
    let platform = grants(Who::PlatformAdmin, Via::User);
    let scope = authorize_namespace(&platform, Action::DeploymentDelete, &ns(LOOSE_NS)).unwrap();
    assert_eq!(scope.tenant(), None);
}

#[test]
fn denials_say_what_is_needed_and_what_is_missing() {
    let viewer = grants(Who::Tenant(TenantRole::Viewer), Via::Group("devs".into()));
    let denied = decide(
        &viewer,
        Action::DeploymentScale,
        Target::Namespace(&ns(OWN_NS)),
    )
    .unwrap_err();
    assert_eq!(
        denied.to_string(),
        "forbidden: deployment.scale on namespace a-prod needs operator on the tenant; \
         you are only viewer on tenant team-a"
    );
    let denied = decide(
        &viewer,
        Action::DeploymentGet,
        Target::Namespace(&ns(OTHER_NS)),
    )
    .unwrap_err();
    assert!(
        denied
            .missing
            .sentence("they")
            .contains("no role on tenant team-b"),
        "{denied}"
    );
    assert!(
        !denied.to_string().contains("team-b"),
        "the caller is not told whose namespace it is: {denied}"
    );
}

#[test]
fn a_wrong_target_kind_is_refused() {
    let platform = grants(Who::PlatformAdmin, Via::User);
    assert!(
        decide(
            &platform,
            Action::TenantCreate,
            Target::Namespace(&ns(OWN_NS))
        )
        .is_err()
    );
}

#[test]
fn decisions_name_the_grant() {
    let operator = grants(Who::Tenant(TenantRole::Operator), Via::Group("devs".into()));
    let decision = decide(
        &operator,
        Action::DeploymentScale,
        Target::Namespace(&ns(OWN_NS)),
    )
    .unwrap();
    assert_eq!(
        decision.to_string(),
        "role operator on tenant team-a, held through group devs"
    );
}

#[test]
fn the_strongest_tenant_role_wins() {
    let mut grants = grants(Who::Tenant(TenantRole::Viewer), Via::User);
    grants.add_tenant_role(OWN_TENANT, TenantRole::Admin, Via::Group("leads".into()));
    grants.add_tenant_role(OWN_TENANT, TenantRole::Operator, Via::User);
    assert_eq!(grants.tenants[OWN_TENANT].role, TenantRole::Admin);
}

#[test]
fn lists_see_only_permitted_namespaces() {
    let viewer = grants(Who::Tenant(TenantRole::Viewer), Via::User);
    assert_eq!(
        visible_namespaces(&viewer, Action::DeploymentList),
        Namespaces::only_in_default([OWN_NS])
    );
    assert_eq!(
        visible_namespaces(&viewer, Action::DeploymentLogs),
        Namespaces::Only(BTreeSet::new())
    );
    let platform = grants(Who::PlatformAdmin, Via::User);
    assert_eq!(
        visible_namespaces(&platform, Action::DeploymentList),
        Namespaces::All
    );
}

#[test]
fn audit_scopes_follow_the_role() {
    let admin = grants(Who::Tenant(TenantRole::Admin), Via::User);
    let scope = authorize_audit(&admin, Action::AuditQuery).unwrap();
    assert_eq!(
        scope.tenants(),
        &Visible::Only([OWN_TENANT.to_owned()].into())
    );
    let auditor = grants(Who::Auditor, Via::User);
    assert_eq!(
        authorize_audit(&auditor, Action::AuditQuery)
            .unwrap()
            .tenants(),
        &Visible::All
    );
    assert_eq!(
        authorize_audit(&admin, Action::AuditVerify)
            .unwrap_err()
            .missing,
        Missing::NotAuditor
    );
    assert_eq!(
        authorize_audit(&auditor, Action::AuditArchive)
            .unwrap_err()
            .missing,
        Missing::NotPlatformAdmin
    );
}

#[test]
fn a_token_narrowed_to_a_tenant_keeps_only_its_role_there() {
    let mut platform = grants(Who::PlatformAdmin, Via::User);
    platform.narrow(&crate::access::Narrowing {
        tenant: Some(OWN_TENANT.into()),
        read_only: false,
    });
    assert!(
        decide(
            &platform,
            Action::DeploymentDelete,
            Target::Namespace(&ns(OWN_NS))
        )
        .is_ok()
    );
    assert!(
        decide(
            &platform,
            Action::DeploymentGet,
            Target::Namespace(&ns(OTHER_NS))
        )
        .is_err()
    );
    assert_eq!(
        decide(&platform, Action::TenantCreate, Target::Platform)
            .unwrap_err()
            .missing,
        Missing::NotPlatformAdmin
    );
    assert_eq!(
        decide(&platform, Action::AuditVerify, Target::AuditLog)
            .unwrap_err()
            .missing,
        Missing::NotAuditor
    );

    let mut operator = grants(Who::Tenant(TenantRole::Operator), Via::User);
    operator.narrow(&crate::access::Narrowing {
        tenant: Some(OTHER_TENANT.into()),
        read_only: false,
    });
    assert!(
        decide(
            &operator,
            Action::DeploymentGet,
            Target::Namespace(&ns(OWN_NS))
        )
        .is_err(),
        "narrowed to a tenant it has no role on, the token reaches nothing"
    );
}

#[test]
fn a_read_only_token_reads_and_changes_nothing_and_no_token_makes_tokens() {
    let mut admin = grants(Who::PlatformAdmin, Via::User);
    admin.narrow(&crate::access::Narrowing {
        tenant: None,
        read_only: true,
    });
    assert!(
        decide(
            &admin,
            Action::DeploymentGet,
            Target::Namespace(&ns(OTHER_NS))
        )
        .is_ok()
    );
    for &action in Action::ALL.iter().filter(|a| a.is_change()) {
        let denied = decide(&admin, action, target(action, true)).unwrap_err();
        assert_eq!(denied.missing, Missing::ReadOnlyToken, "{action}");
    }
    assert_eq!(
        visible_namespaces(&admin, Action::DeploymentDelete),
        Namespaces::Only(Default::default())
    );

    let mut full = grants(Who::Tenant(TenantRole::Admin), Via::User);
    full.narrow(&crate::access::Narrowing::default());
    let denied = decide(&full, Action::TokenCreate, Target::Own).unwrap_err();
    assert_eq!(denied.missing, Missing::ByToken);
    assert!(
        decide(
            &full,
            Action::ServiceTokenCreate,
            Target::Tenant(OWN_TENANT)
        )
        .is_err()
    );
    assert!(
        decide(
            &full,
            Action::DeploymentDelete,
            Target::Namespace(&ns(OWN_NS))
        )
        .is_ok()
    );
}
