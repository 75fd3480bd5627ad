//! The permission explainer: which grant allows an action, or what is missing.

use super::action::Action;
use super::grants::Grants;
use super::policy::{Target, decide};
use serde::Serialize;

/// The answer to "may this principal do this here, and why?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// The sentence for the user.
    pub reason: String,
}

/// Explains `decide`'s answer for `action` on `target` in one sentence.
pub fn explain(who: &str, grants: &Grants, action: Action, target: Target<'_>) -> Explanation {
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
                denied.missing.sentence("they")
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
}
