//! What the caller may do where, in the policy's words, for pages that show an action they
//! may not take as disabled with its reason instead of hiding it.

use crate::access::explain::{Explanation, explain_to_caller};
use crate::access::{Action, Grants, Target};
use model::reference::NamespaceRef;
use std::collections::BTreeMap;

/// The operations a deployment's page offers.
pub(super) const DEPLOYMENT_PAGE: [Action; 11] = [
    Action::DeploymentReconcile,
    Action::DeploymentSuspend,
    Action::DeploymentResume,
    Action::DeploymentScale,
    Action::DeploymentRollback,
    Action::DeploymentUpdate,
    Action::DeploymentDelete,
    Action::DeploymentLogs,
    Action::WorkloadRestart,
    Action::PodDelete,
    Action::CronJobRun,
];

/// What a row of a toolkit family's table offers.
pub(super) fn toolkit_row(family: model::reference::Family) -> Vec<Action> {
    use model::action::ToolkitVerb::{Delete, Download, Reconcile, Resume, Suspend};
    [Reconcile, Suspend, Resume, Delete, Download]
        .into_iter()
        .filter_map(|verb| Action::on_toolkit(family, verb))
        .collect()
}

/// What a row of the packages table offers.
pub(super) const PACKAGE_ROW: [Action; 1] = [Action::PackageDelete];

/// Whether `grants` allow each of `actions` in `namespace`, and why, by action name.
pub(super) fn permissions_in(
    grants: &Grants,
    namespace: &NamespaceRef,
    actions: &[Action],
) -> BTreeMap<String, Explanation> {
    actions
        .iter()
        .map(|action| {
            let why = explain_to_caller(grants, *action, Target::Namespace(namespace));
            (action.as_str().to_owned(), why)
        })
        .collect()
}

/// The same for many rows: computed once per namespace, cloned into each row.
pub(super) fn permissions_by_namespace<'a>(
    grants: &Grants,
    namespaces: impl IntoIterator<Item = &'a str>,
    actions: &[Action],
) -> BTreeMap<String, BTreeMap<String, Explanation>> {
    let mut by_namespace = BTreeMap::new();
    for name in namespaces {
        if by_namespace.contains_key(name) {
            continue;
        }
        if let Ok(namespace) = NamespaceRef::in_default(name) {
            by_namespace.insert(name.to_owned(), permissions_in(grants, &namespace, actions));
        }
    }
    by_namespace
}
