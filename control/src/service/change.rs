//! Changes as data: every write the control plane makes to a cluster is a [`Change`], stored
//! in `operations` under its audit operation id and run by an executor (authorize → intent →
//! act → outcome). [`Service::change`](super::Service::change) is the one way to make one;
//! approvals, freezes and Git write-back add states and executors over the same rows.

use crate::access::Action;
use model::action::ToolkitVerb;
use model::deployment::{
    Deployment, DeploymentRequest, DeploymentUpdate, ReconcileOutcome, ReconcileRequest,
    RollbackOutcome,
};
use model::flux::{FluxObject, NewToolkitObject};
use model::operation::Answered;
use model::reference::{DeploymentKind, DeploymentRef, NamespaceRef, ToolkitRef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One write, with everything needed to run it again later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Change {
    /// Create a deployment of `kind` in `namespace`.
    CreateDeployment {
        /// Where.
        namespace: NamespaceRef,
        /// Which kind the request describes.
        kind: DeploymentKind,
        /// What.
        request: DeploymentRequest,
    },
    /// Change values, chart version or extensions.
    UpdateDeployment {
        /// Which.
        deployment: DeploymentRef,
        /// What changes.
        update: DeploymentUpdate,
    },
    /// Delete a deployment.
    DeleteDeployment {
        /// Which.
        deployment: DeploymentRef,
    },
    /// Set the replica count.
    ScaleDeployment {
        /// Which.
        deployment: DeploymentRef,
        /// How many.
        replicas: u32,
        /// The values path, when not `replicaCount`.
        path: Option<String>,
        /// Take over fields another manager owns.
        #[serde(default)]
        force: bool,
    },
    /// Restore a revision (0: the previous one).
    RollbackDeployment {
        /// Which.
        deployment: DeploymentRef,
        /// To which revision.
        revision: u32,
    },
    /// Reconcile now.
    ReconcileDeployment {
        /// Which.
        deployment: DeploymentRef,
        /// How.
        request: ReconcileRequest,
    },
    /// Suspend or resume reconciliation.
    SuspendDeployment {
        /// Which.
        deployment: DeploymentRef,
        /// Suspend (true) or resume (false).
        suspend: bool,
        /// Why, when suspending.
        reason: Option<String>,
        /// Take over fields another manager owns.
        #[serde(default)]
        force: bool,
    },
    /// Reconcile a toolkit object now (a source fetches, an image repository scans).
    ReconcileSource {
        /// Which (stored flat: namespace, kind, name).
        #[serde(flatten)]
        source: ToolkitRef,
    },
    /// Suspend or resume a toolkit object.
    SuspendSource {
        /// Which (stored flat: namespace, kind, name).
        #[serde(flatten)]
        source: ToolkitRef,
        /// Suspend (true) or resume (false).
        suspend: bool,
    },
    /// Create a toolkit object (a source, an image policy, an alert) in `namespace`.
    CreateToolkit {
        /// Where.
        namespace: NamespaceRef,
        /// What.
        object: NewToolkitObject,
    },
    /// Delete a toolkit object.
    DeleteToolkit {
        /// Which (stored flat: namespace, kind, name).
        #[serde(flatten)]
        source: ToolkitRef,
    },
}

impl Change {
    /// The action the caller must be allowed.
    pub fn action(&self) -> Action {
        match self {
            Self::CreateDeployment { .. } => Action::DeploymentCreate,
            Self::UpdateDeployment { .. } => Action::DeploymentUpdate,
            Self::DeleteDeployment { .. } => Action::DeploymentDelete,
            Self::ScaleDeployment { .. } => Action::DeploymentScale,
            Self::RollbackDeployment { .. } => Action::DeploymentRollback,
            Self::ReconcileDeployment { .. } => Action::DeploymentReconcile,
            Self::SuspendDeployment { suspend: true, .. } => Action::DeploymentSuspend,
            Self::SuspendDeployment { suspend: false, .. } => Action::DeploymentResume,
            Self::ReconcileSource { source } => toolkit_action(source, ToolkitVerb::Reconcile),
            Self::SuspendSource {
                source,
                suspend: true,
            } => toolkit_action(source, ToolkitVerb::Suspend),
            Self::SuspendSource {
                source,
                suspend: false,
            } => toolkit_action(source, ToolkitVerb::Resume),
            Self::CreateToolkit { object, .. } => {
                Action::on_toolkit(object.kind().family(), ToolkitVerb::Create)
                    .unwrap_or(Action::SourceCreate)
            }
            Self::DeleteToolkit { source } => toolkit_action(source, ToolkitVerb::Delete),
        }
    }

    /// Whether it can take longer than a request should be held: anything helm runs (it
    /// waits for readiness), and a reconcile that waits for its outcome. These answer with
    /// an operation to follow unless the caller asks to wait.
    pub fn is_long(&self) -> bool {
        match self {
            Self::ReconcileDeployment { request, .. } => !request.no_wait,
            Self::ReconcileSource { .. } => true,
            Self::SuspendDeployment { .. }
            | Self::SuspendSource { .. }
            | Self::CreateToolkit { .. }
            | Self::DeleteToolkit { .. } => false,
            _ => self.kind() == Some(DeploymentKind::Release),
        }
    }

    /// Whether the caller chose to take over fields other managers own.
    pub fn force(&self) -> bool {
        match self {
            Self::UpdateDeployment { update, .. } => update.force,
            Self::ScaleDeployment { force, .. } | Self::SuspendDeployment { force, .. } => *force,
            _ => false,
        }
    }

    /// What it is about, in one of three shapes; the accessors below read this.
    fn subject(&self) -> Subject<'_> {
        match self {
            Self::CreateDeployment {
                namespace,
                kind,
                request,
            } => Subject::New {
                namespace,
                kind: *kind,
                name: &request.name,
            },
            Self::UpdateDeployment { deployment, .. }
            | Self::DeleteDeployment { deployment }
            | Self::ScaleDeployment { deployment, .. }
            | Self::RollbackDeployment { deployment, .. }
            | Self::ReconcileDeployment { deployment, .. }
            | Self::SuspendDeployment { deployment, .. } => Subject::Deployment(deployment),
            Self::ReconcileSource { source }
            | Self::SuspendSource { source, .. }
            | Self::DeleteToolkit { source } => Subject::Source(source),
            Self::CreateToolkit { namespace, object } => Subject::NewToolkit { namespace, object },
        }
    }

    /// The kind of deployment it writes (so the adapter that runs it); none for sources.
    pub fn kind(&self) -> Option<DeploymentKind> {
        match self.subject() {
            Subject::New { kind, .. } => Some(kind),
            Subject::Deployment(deployment) => Some(deployment.kind()),
            Subject::Source(_) | Subject::NewToolkit { .. } => None,
        }
    }

    /// The namespace it writes in.
    pub fn namespace(&self) -> NamespaceRef {
        match self.subject() {
            Subject::New { namespace, .. } => namespace.clone(),
            Subject::Source(source) => source.namespace.clone(),
            Subject::NewToolkit { namespace, .. } => namespace.clone(),
            Subject::Deployment(deployment) => deployment.namespace_ref(),
        }
    }

    /// The kind of object and its name, as the audit log names the target.
    pub fn target(&self) -> (&'static str, &str) {
        match self.subject() {
            Subject::New { kind, name, .. } => (kind.as_str(), name),
            Subject::Deployment(deployment) => (deployment.kind().as_str(), deployment.name()),
            Subject::Source(source) => (source.kind.as_str(), &source.name),
            Subject::NewToolkit { object, .. } => (object.kind().as_str(), object.name()),
        }
    }

    /// The parameters the audit log records (redacted by the log before it stores them).
    pub fn audit_parameters(&self) -> Value {
        match self {
            Self::CreateDeployment { request, .. } => json!({
                "values": request.values, "labels": request.labels, "extensions": request.extensions
            }),
            Self::UpdateDeployment { update, .. } => {
                json!({ "values": update.values, "extensions": update.extensions, "force": update.force })
            }
            Self::DeleteDeployment { .. } => json!({}),
            Self::ScaleDeployment {
                replicas,
                path,
                force,
                ..
            } => json!({ "replicas": replicas, "path": path, "force": force }),
            Self::RollbackDeployment { revision, .. } => json!({ "revision": revision }),
            Self::ReconcileDeployment { request, .. } => {
                serde_json::to_value(request).unwrap_or_default()
            }
            Self::SuspendDeployment { reason, force, .. } => {
                json!({ "reason": reason, "force": force })
            }
            Self::ReconcileSource { source }
            | Self::SuspendSource { source, .. }
            | Self::DeleteToolkit { source } => {
                json!({ "kind": source.kind })
            }
            // A Secret is only named; nothing in the request is secret.
            Self::CreateToolkit { object, .. } => serde_json::to_value(object).unwrap_or_default(),
        }
    }
}

/// The toolkit object a request names by kind and name in `namespace`: an unknown kind is
/// an invalid `kind` (422, listing the kinds), a bad name a bad reference (400).
pub fn toolkit_ref(namespace: NamespaceRef, kind: &str, name: &str) -> crate::Result<ToolkitRef> {
    let kind = kind
        .parse::<model::reference::ToolkitKind>()
        .map_err(|e| crate::Error::invalid("kind", e.reason))?;
    Ok(ToolkitRef::new(namespace, kind, name)?)
}

/// A reconcile of `object`; 422 for kinds that are not reconciled on request (notification
/// objects, ExternalArtifacts), before anything is authorized or recorded.
pub fn reconcile_toolkit(object: ToolkitRef) -> crate::Result<Change> {
    if !object.kind.reconciles() {
        return Err(crate::Error::invalid(
            "operation",
            format!(
                "a {} is not reconciled on request; suspend or resume it instead",
                object.kind
            ),
        ));
    }
    Ok(Change::ReconcileSource { source: object })
}

/// The creation of `object`, once its namespace and name are valid references.
pub fn create_toolkit(object: NewToolkitObject) -> crate::Result<Change> {
    let namespace = NamespaceRef::in_default(object.namespace())
        .map_err(|e| crate::Error::invalid("namespace", e.reason))?;
    // Checked as a reference would be (a bad name is refused before anything is recorded).
    ToolkitRef::new(namespace.clone(), object.kind(), object.name())?;
    Ok(Change::CreateToolkit { namespace, object })
}

/// The action for `verb` on `object`'s family. A reconcile of a kind that is not reconciled
/// on request is never built ([`reconcile_toolkit`]); were one read back, it would be checked
/// as the family's resume.
fn toolkit_action(object: &ToolkitRef, verb: ToolkitVerb) -> Action {
    let family = object.kind.family();
    Action::on_toolkit(family, verb)
        .or_else(|| Action::on_toolkit(family, ToolkitVerb::Resume))
        .unwrap_or(Action::SourceResume)
}

/// What a change is about: a deployment to create, one that exists, or a source.
enum Subject<'a> {
    New {
        namespace: &'a NamespaceRef,
        kind: DeploymentKind,
        name: &'a str,
    },
    Deployment(&'a DeploymentRef),
    Source(&'a ToolkitRef),
    NewToolkit {
        namespace: &'a NamespaceRef,
        object: &'a NewToolkitObject,
    },
}

/// What a change came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "camelCase")]
pub enum ChangeOutcome {
    /// The deployment as it is now.
    Deployment(Box<Deployment>),
    /// What a rollback restored.
    Rollback(RollbackOutcome),
    /// What a reconcile came to.
    Reconcile(ReconcileOutcome),
    /// Done; nothing to show (a delete, a source suspended).
    Done,
    /// The toolkit object created.
    Toolkit(Box<FluxObject>),
}

impl ChangeOutcome {
    /// The deployment, for changes that return one.
    pub fn into_deployment(self) -> crate::Result<Deployment> {
        match self {
            Self::Deployment(deployment) => Ok(*deployment),
            other => Err(unexpected(&other)),
        }
    }

    /// The toolkit object created.
    pub fn into_toolkit(self) -> crate::Result<FluxObject> {
        match self {
            Self::Toolkit(object) => Ok(*object),
            other => Err(unexpected(&other)),
        }
    }

    /// The rollback's outcome.
    pub fn into_rollback(self) -> crate::Result<RollbackOutcome> {
        match self {
            Self::Rollback(outcome) => Ok(outcome),
            other => Err(unexpected(&other)),
        }
    }

    /// The reconcile's outcome.
    pub fn into_reconcile(self) -> crate::Result<ReconcileOutcome> {
        match self {
            Self::Reconcile(outcome) => Ok(outcome),
            other => Err(unexpected(&other)),
        }
    }

    /// Nothing, for changes that return nothing.
    pub fn into_done(self) -> crate::Result<()> {
        match self {
            Self::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

/// An answer waited for to its end ([`Wait::ToTheEnd`](super::tracked::Wait::ToTheEnd)).
pub trait Ended {
    /// The outcome; a change still running after such a wait is a bug.
    fn ended(self) -> crate::Result<ChangeOutcome>;
}

impl Ended for Answered<ChangeOutcome> {
    fn ended(self) -> crate::Result<ChangeOutcome> {
        match self {
            Answered::Done(outcome) => Ok(outcome),
            Answered::Running(id) => Err(crate::Error::internal(format!(
                "operation {id} was waited for to its end but still runs"
            ))),
        }
    }
}

/// A change's outcome of another shape than its endpoint returns: a bug, never user input.
fn unexpected(outcome: &ChangeOutcome) -> crate::Error {
    crate::Error::internal(format!(
        "the change returned an outcome of another kind ({})",
        match outcome {
            ChangeOutcome::Deployment(_) => "deployment",
            ChangeOutcome::Rollback(_) => "rollback",
            ChangeOutcome::Reconcile(_) => "reconcile",
            ChangeOutcome::Done => "done",
            ChangeOutcome::Toolkit(_) => "toolkit object",
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_round_trips_as_json_and_names_its_action() {
        let deployment: DeploymentRef = "default~team-a~Kustomization~shop".parse().unwrap();
        let change = Change::SuspendDeployment {
            deployment: deployment.clone(),
            suspend: true,
            reason: Some("freeze".into()),
            force: false,
        };
        let stored = serde_json::to_value(&change).unwrap();
        assert_eq!(stored["type"], "suspendDeployment");
        assert_eq!(serde_json::from_value::<Change>(stored).unwrap(), change);
        assert_eq!(change.action(), Action::DeploymentSuspend);
        assert_eq!(change.target(), ("Kustomization", "shop"));
        assert_eq!(change.namespace(), deployment.namespace_ref());
        let resume = Change::SuspendDeployment {
            deployment,
            suspend: false,
            reason: None,
            force: true,
        };
        assert!(resume.force());
        assert_eq!(resume.action(), Action::DeploymentResume);
    }

    #[test]
    fn a_toolkit_change_is_stored_flat_as_before_sources_were_typed() {
        let stored = json!({
            "type": "suspendSource",
            "namespace": { "cluster": "default", "namespace": "team-a" },
            "kind": "GitRepository",
            "name": "shop",
            "suspend": true,
        });
        let change: Change = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(change.action(), Action::SourceSuspend);
        // The audit log names the object's own kind.
        assert_eq!(change.target(), ("GitRepository", "shop"));
        assert_eq!(serde_json::to_value(&change).unwrap(), stored);
    }

    #[test]
    fn an_outcome_of_the_wrong_shape_is_an_error_not_a_panic() {
        assert!(matches!(
            ChangeOutcome::Done.into_deployment(),
            Err(crate::Error::Internal(_))
        ));
        assert!(ChangeOutcome::Done.into_done().is_ok());
    }
}
