//! The permission explainer: which grant allows an action, or what is missing.

use super::action::Action;
use super::grants::Grants;
use super::policy::{Target, decide};
pub use model::tenancy::Explanation;

/// Explains `decide`'s answer for `action` on `target` in one sentence about `who`.
pub fn explain(who: &str, grants: &Grants, action: Action, target: Target<'_>) -> Explanation {
    sentence(who, "they", grants, action, target)
}

/// The same sentence addressed to the principal themselves: "you may not …; you are only …".
pub fn explain_to_caller(grants: &Grants, action: Action, target: Target<'_>) -> Explanation {
    sentence("you", "you", grants, action, target)
}

fn sentence(
    who: &str,
    pronoun: &str,
    grants: &Grants,
    action: Action,
    target: Target<'_>,
) -> Explanation {
    match decide(grants, action, target) {
        Ok(decision) => Explanation {
            allowed: true,
            reason: format!("{who} may {action} on {target}: allowed by {decision}"),
        },
        Err(denied) => Explanation {
            allowed: false,
            reason: format!(
                "{who} may not {action} on {target}: it needs {}, and {}",
                denied.needs,
                denied.missing.sentence(pronoun)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::grants::{TenantGrant, Via};
    use crate::access::role::TenantRole;

    fn a_prod() -> model::reference::NamespaceRef {
        model::reference::NamespaceRef::in_default("a-prod").unwrap()
    }

    fn viewer_of_team_a() -> Grants {
        let mut grants = Grants::default();
        std::sync::Arc::make_mut(&mut grants.tenancy)
            .namespace_owners
            .insert(a_prod(), "team-a".into());
        grants.tenants.insert(
            "team-a".into(),
            TenantGrant {
                role: TenantRole::Viewer,
                via: Via::Group("devs".into()),
            },
        );
        grants
    }

    #[test]
    fn names_the_grant_that_allows() {
        let e = explain(
            "bob",
            &viewer_of_team_a(),
            Action::DeploymentGet,
            Target::Namespace(&a_prod()),
        );
        assert!(e.allowed);
        assert_eq!(
            e.reason,
            "bob may deployment.get on namespace a-prod: allowed by role viewer on tenant team-a, held through group devs"
        );
    }

    #[test]
    fn names_what_is_missing() {
        let e = explain(
            "bob",
            &viewer_of_team_a(),
            Action::DeploymentScale,
            Target::Namespace(&a_prod()),
        );
        assert!(!e.allowed);
        assert_eq!(
            e.reason,
            "bob may not deployment.scale on namespace a-prod: it needs operator on the tenant, and they are only viewer on tenant team-a"
        );
    }

    #[test]
    fn speaks_to_the_caller() {
        let e = explain_to_caller(
            &viewer_of_team_a(),
            Action::DeploymentScale,
            Target::Namespace(&a_prod()),
        );
        assert_eq!(
            e.reason,
            "you may not deployment.scale on namespace a-prod: it needs operator on the tenant, and you are only viewer on tenant team-a"
        );
    }
}
