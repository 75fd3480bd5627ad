//! Every action Pilothouse performs and the role it needs: the one table the policy reads.
//! The permission table in docs/access.md is this table.

use crate::tenancy::TenantRole;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// One namespace (and through it, its tenant).
    Namespace,
    /// One tenant as a whole.
    Tenant,
    /// The installation: tenants, namespaces, global roles.
    Platform,
    /// The audit log.
    AuditLog,
    /// The caller's own things (their API tokens).
    Own,
}

/// What an action needs, beyond platform-admin (which may do everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// At least this role on the target's tenant.
    Tenant(TenantRole),
    /// Platform-admin only.
    PlatformAdmin,
    /// Auditors see every row; tenant admins see their tenants' rows.
    AuditRead,
    /// Auditors (and platform-admins) only.
    AuditorOnly,
    /// Anyone signed in, for their own things; never through an API token.
    SignedIn,
    /// Anyone authenticated, by any means.
    Anyone,
}

/// Whether an action only reads or also changes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Read,
    Change,
}

macro_rules! actions {
    ($( $variant:ident = $name:literal, $effect:ident, $target:ident, $req:expr, $doc:literal; )*) => {
        /// An operation that is authorized and audited.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Action {
            $( #[doc = $doc] #[serde(rename = $name)] $variant, )*
        }

        impl Action {
            /// Every action, in table order.
            pub const ALL: &'static [Action] = &[$( Action::$variant, )*];

            /// The dotted name used in audit rows and the API.
            pub fn as_str(self) -> &'static str {
                match self { $( Action::$variant => $name, )* }
            }

            /// What the action applies to.
            pub fn target_kind(self) -> TargetKind {
                match self { $( Action::$variant => TargetKind::$target, )* }
            }

            /// What the action needs.
            pub fn requirement(self) -> Requirement {
                use Requirement::*;
                use TenantRole::*;
                match self { $( Action::$variant => $req, )* }
            }

            /// Whether the action makes or revokes API tokens, which a token may never do
            /// (or a stolen token could outlive its expiry).
            pub fn manages_tokens(self) -> bool {
                matches!(self, Action::TokenCreate | Action::TokenRevoke | Action::ServiceTokenCreate | Action::ServiceTokenRevoke)
            }

            /// Whether the action changes anything (and so writes intent and outcome rows).
            pub fn is_change(self) -> bool {
                match self { $( Action::$variant => Effect::$effect == Effect::Change, )* }
            }
        }
    };
}

actions! {
    DeploymentList = "deployment.list", Read, Namespace, Tenant(Viewer), "List deployments.";
    DeploymentGet = "deployment.get", Read, Namespace, Tenant(Viewer), "Read one deployment, its status, history, events and YAML.";
    DeploymentCreate = "deployment.create", Change, Namespace, Tenant(Operator), "Create a deployment.";
    DeploymentUpdate = "deployment.update", Change, Namespace, Tenant(Operator), "Change values, chart version or extensions.";
    DeploymentDelete = "deployment.delete", Change, Namespace, Tenant(Operator), "Delete a deployment.";
    DeploymentScale = "deployment.scale", Change, Namespace, Tenant(Operator), "Change the replica count.";
    DeploymentRollback = "deployment.rollback", Change, Namespace, Tenant(Operator), "Roll back to an earlier revision.";
    DeploymentReconcile = "deployment.reconcile", Change, Namespace, Tenant(Operator), "Ask Flux to reconcile now.";
    DeploymentSuspend = "deployment.suspend", Change, Namespace, Tenant(Operator), "Suspend reconciliation.";
    DeploymentResume = "deployment.resume", Change, Namespace, Tenant(Operator), "Resume reconciliation.";
    DeploymentLogs = "deployment.logs", Read, Namespace, Tenant(Operator), "Read controller logs.";
    WorkloadRestart = "workload.restart", Change, Namespace, Tenant(Operator), "Restart a deployment's Deployment, StatefulSet or DaemonSet (`kubectl rollout restart`).";
    PodDelete = "pod.delete", Change, Namespace, Tenant(Operator), "Delete a pod of a deployment (its controller makes a new one).";
    CronJobRun = "cronjob.run", Change, Namespace, Tenant(Operator), "Run a deployment's CronJob now.";
    DeploymentReveal = "deployment.reveal", Change, Namespace, Tenant(Operator), "Read a deployment's Secret data and secret-looking values unredacted (recorded).";
    OperationCancel = "operation.cancel", Change, Namespace, Tenant(Admin), "Cancel anyone's running operation (whoever started one may always cancel it).";
    PackageList = "package.list", Read, Namespace, Tenant(Viewer), "List packages.";
    PackageGet = "package.get", Read, Namespace, Tenant(Viewer), "Read one package.";
    PackageUpload = "package.upload", Change, Namespace, Tenant(Admin), "Upload a chart archive.";
    PackageDelete = "package.delete", Change, Namespace, Tenant(Admin), "Delete a package.";
    SourceList = "source.list", Read, Namespace, Tenant(Viewer), "List Flux sources.";
    SourceCreate = "source.create", Change, Namespace, Tenant(Operator), "Create a Git, Helm or OCI repository.";
    SourceDelete = "source.delete", Change, Namespace, Tenant(Operator), "Delete a source.";
    SourceDownload = "source.download", Read, Namespace, Tenant(Operator), "Download a source's artifact (what Flux fetched).";
    SourceGet = "source.get", Read, Namespace, Tenant(Viewer), "Read one source.";
    SourceReconcile = "source.reconcile", Change, Namespace, Tenant(Operator), "Ask Flux to fetch a source now.";
    SourceSuspend = "source.suspend", Change, Namespace, Tenant(Operator), "Suspend a source.";
    SourceResume = "source.resume", Change, Namespace, Tenant(Operator), "Resume a source.";
    ImageList = "image.list", Read, Namespace, Tenant(Viewer), "List image repositories, policies and update automations.";
    ImageGet = "image.get", Read, Namespace, Tenant(Viewer), "Read one image object.";
    ImageCreate = "image.create", Change, Namespace, Tenant(Operator), "Create an image policy.";
    ImageDelete = "image.delete", Change, Namespace, Tenant(Operator), "Delete an image object.";
    ImageReconcile = "image.reconcile", Change, Namespace, Tenant(Operator), "Ask Flux to scan an image repository or run an image policy or automation now.";
    ImageSuspend = "image.suspend", Change, Namespace, Tenant(Operator), "Suspend an image object.";
    ImageResume = "image.resume", Change, Namespace, Tenant(Operator), "Resume an image object.";
    NotificationList = "notification.list", Read, Namespace, Tenant(Viewer), "List notification providers, alerts and receivers.";
    NotificationGet = "notification.get", Read, Namespace, Tenant(Viewer), "Read one notification object.";
    NotificationCreate = "notification.create", Change, Namespace, Tenant(Operator), "Create an alert for one's deployments.";
    NotificationDelete = "notification.delete", Change, Namespace, Tenant(Operator), "Delete a notification object.";
    NotificationSuspend = "notification.suspend", Change, Namespace, Tenant(Operator), "Suspend a notification object.";
    NotificationResume = "notification.resume", Change, Namespace, Tenant(Operator), "Resume a notification object.";
    FluxCheck = "flux.check", Read, Namespace, Tenant(Viewer), "Check Flux: stuck objects in one's namespaces; platform-admins also see the CRDs and controllers.";
    TenantGet = "tenant.get", Read, Tenant, Tenant(Viewer), "Read a tenant and its namespaces.";
    MembershipList = "membership.list", Read, Tenant, Tenant(Admin), "List a tenant's memberships.";
    MembershipAdd = "membership.add", Change, Tenant, Tenant(Admin), "Give a user or group a role on a tenant.";
    MembershipRemove = "membership.remove", Change, Tenant, Tenant(Admin), "Take a membership away.";
    TenantCreate = "tenant.create", Change, Platform, PlatformAdmin, "Create a tenant.";
    TenantRename = "tenant.rename", Change, Platform, PlatformAdmin, "Change a tenant's display name.";
    TenantDelete = "tenant.delete", Change, Platform, PlatformAdmin, "Delete a tenant that owns no namespaces, with its memberships.";
    TenantNestedFlux = "tenant.nested-flux", Change, Platform, PlatformAdmin, "Allow or forbid a tenant's own content to create Flux objects.";
    NamespaceList = "namespace.list", Read, Platform, PlatformAdmin, "List the clusters' namespaces with their owning tenants.";
    NamespaceAssign = "namespace.assign", Change, Platform, PlatformAdmin, "Give a namespace that no tenant owns to a tenant.";
    NamespaceMove = "namespace.move", Change, Platform, PlatformAdmin, "Give a namespace to another tenant.";
    NamespaceUnassign = "namespace.unassign", Change, Platform, PlatformAdmin, "Take a namespace from its tenant.";
    TenantIdentityEnsure = "tenant-identity.ensure", Change, Platform, PlatformAdmin, "Make or repair a tenant namespace's identities: its tenant and Flux writer service accounts and their role bindings (on assignment, at start-up and periodically).";
    TenantIdentityRemove = "tenant-identity.remove", Change, Platform, PlatformAdmin, "Remove a namespace's identities (on unassignment, or when no tenant owns it).";
    GlobalRoleList = "global-role.list", Read, Platform, PlatformAdmin, "List global role grants.";
    GlobalRoleGrant = "global-role.grant", Change, Platform, PlatformAdmin, "Grant platform-admin or auditor.";
    GlobalRoleRevoke = "global-role.revoke", Change, Platform, PlatformAdmin, "Revoke a global role.";
    TokenCreate = "token.create", Change, Own, SignedIn, "Make an API token for oneself.";
    TokenRevoke = "token.revoke", Change, Own, SignedIn, "Revoke one of one's API tokens.";
    ServiceTokenList = "service-token.list", Read, Tenant, Tenant(Admin), "List the API tokens of a tenant's service principals.";
    ServiceTokenCreate = "service-token.create", Change, Tenant, Tenant(Admin), "Make an API token for a service principal of the tenant.";
    ServiceTokenRevoke = "service-token.revoke", Change, Tenant, Tenant(Admin), "Revoke a service principal's API token.";
    PluginList = "plugin.list", Read, Platform, Anyone, "List the deployment adapters with their capabilities, health and versions.";
    MetricsRead = "metrics.read", Read, Platform, PlatformAdmin, "Read the Prometheus metrics on the main listener (the separate metrics listener needs no sign-in).";
    AccessExplain = "access.explain", Read, Platform, PlatformAdmin, "Explain another principal's permissions.";
    AuditQuery = "audit.query", Read, AuditLog, AuditRead, "Search and export the audit log.";
    AuditVerify = "audit.verify", Read, AuditLog, AuditorOnly, "Recompute the hash chain.";
    AuditArchive = "audit.archive", Change, AuditLog, PlatformAdmin, "Archive old rows behind a checkpoint.";
}

impl Action {
    /// Whether the action changes who may do what, so that cached grants and token
    /// principals are dropped the moment it succeeds.
    pub fn changes_access(self) -> bool {
        use Action::*;
        matches!(
            self,
            TenantCreate
                | TenantDelete
                | TenantNestedFlux
                | NamespaceAssign
                | NamespaceMove
                | NamespaceUnassign
                | MembershipAdd
                | MembershipRemove
                | GlobalRoleGrant
                | GlobalRoleRevoke
                | TokenRevoke
                | ServiceTokenRevoke
        )
    }
}

/// What one does to a Flux toolkit object (a source, image or notification object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolkitVerb {
    /// List a family.
    List,
    /// Read one.
    Get,
    /// Ask its controller to reconcile now.
    Reconcile,
    /// Suspend it.
    Suspend,
    /// Resume it.
    Resume,
    /// Create one.
    Create,
    /// Delete it.
    Delete,
    /// Download what it fetched (sources only).
    Download,
}

impl Action {
    /// The action for doing `verb` to an object of `family`; none when the family offers no
    /// such thing (notification objects are not reconciled on request).
    pub fn on_toolkit(family: crate::reference::Family, verb: ToolkitVerb) -> Option<Self> {
        use crate::reference::Family::*;
        use ToolkitVerb::*;
        Some(match (family, verb) {
            (Sources, List) => Action::SourceList,
            (Sources, Get) => Action::SourceGet,
            (Sources, Reconcile) => Action::SourceReconcile,
            (Sources, Suspend) => Action::SourceSuspend,
            (Sources, Resume) => Action::SourceResume,
            (Sources, Create) => Action::SourceCreate,
            (Sources, Delete) => Action::SourceDelete,
            (Sources, Download) => Action::SourceDownload,
            (Images | Notifications, Download) => return None,
            (Images, List) => Action::ImageList,
            (Images, Get) => Action::ImageGet,
            (Images, Reconcile) => Action::ImageReconcile,
            (Images, Suspend) => Action::ImageSuspend,
            (Images, Resume) => Action::ImageResume,
            (Images, Create) => Action::ImageCreate,
            (Images, Delete) => Action::ImageDelete,
            (Notifications, List) => Action::NotificationList,
            (Notifications, Get) => Action::NotificationGet,
            (Notifications, Reconcile) => return None,
            (Notifications, Suspend) => Action::NotificationSuspend,
            (Notifications, Resume) => Action::NotificationResume,
            (Notifications, Create) => Action::NotificationCreate,
            (Notifications, Delete) => Action::NotificationDelete,
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(role) => write!(f, "{role} on the tenant"),
            Self::PlatformAdmin => f.write_str("platform-admin"),
            Self::AuditRead => f.write_str("auditor (all rows) or admin on a tenant (its rows)"),
            Self::AuditorOnly => f.write_str("auditor"),
            Self::SignedIn => f.write_str("a signed-in user (not an API token)"),
            Self::Anyone => f.write_str("anyone authenticated"),
        }
    }
}

/// The permission table as Markdown rows, for docs/access.md.
pub fn markdown_table() -> String {
    let mut out = String::from("| action | applies to | needs |\n|---|---|---|\n");
    for action in Action::ALL {
        let target = match action.target_kind() {
            TargetKind::Namespace => "namespace",
            TargetKind::Tenant => "tenant",
            TargetKind::Platform => "platform",
            TargetKind::AuditLog => "audit log",
            TargetKind::Own => "own tokens",
        };
        out.push_str(&format!(
            "| `{action}` | {target} | {} |\n",
            action.requirement()
        ));
    }
    out
}

/// An action refused, with what is missing: shown to the user and written to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The refused action.
    pub action: Action,
    /// What it was aimed at.
    pub target: String,
    /// What the action needs.
    pub needs: String,
    /// What the principal lacks.
    pub missing: Missing,
}

/// What a refused principal lacks; worded for them ("you") or about them ("they").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The action does not apply to that kind of target.
    WrongTarget(String),
    /// A platform-admin action.
    NotPlatformAdmin,
    /// An auditor action.
    NotAuditor,
    /// Audit rows need auditor or a tenant admin role.
    NoAuditAccess,
    /// The namespace has no tenant, so only platform-admins act on it.
    UnownedNamespace(String),
    /// A weaker role than needed on the tenant.
    OnlyRole(TenantRole, String),
    /// No role at all on the tenant; `namespace` when the action was aimed at one of its
    /// namespaces (the caller is then not told whose it is).
    NoRole {
        /// The tenant.
        tenant: String,
        /// The namespace aimed at, if any.
        namespace: Option<String>,
    },
    /// Not this role on any tenant (for actions over every namespace the principal has).
    NoTenantWith(TenantRole),
    /// The request came with a read-only API token.
    ReadOnlyToken,
    /// The request came with an API token, which may not make or revoke tokens.
    ByToken,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "forbidden: {} on {} needs {}; {}",
            self.action, self.target, self.needs, self.missing
        )
    }
}

impl std::error::Error for Denied {}

impl Missing {
    /// The sentence with `pronoun` ("you" or "they") as its subject.
    pub fn sentence(&self, pronoun: &str) -> String {
        match self {
            Self::WrongTarget(what) => what.clone(),
            Self::NotPlatformAdmin => format!("{pronoun} are not a platform-admin"),
            Self::NotAuditor => format!("{pronoun} are not an auditor"),
            Self::NoAuditAccess => {
                format!("{pronoun} are neither an auditor nor admin of any tenant")
            }
            // To the caller, a namespace of no tenant and one of another tenant read the same:
            // a refusal tells nobody who owns what.
            Self::UnownedNamespace(ns) if pronoun == "you" => {
                format!("you have no role in namespace {ns}")
            }
            Self::UnownedNamespace(ns) => {
                format!(
                    "namespace {ns} belongs to no tenant, so only platform-admins may act on it"
                )
            }
            Self::OnlyRole(role, tenant) => format!("{pronoun} are only {role} on tenant {tenant}"),
            Self::NoRole {
                namespace: Some(ns),
                ..
            } if pronoun == "you" => format!("you have no role in namespace {ns}"),
            Self::NoRole { tenant, .. } => format!("{pronoun} have no role on tenant {tenant}"),
            Self::NoTenantWith(role) => format!("{pronoun} are not {role} on any tenant"),
            Self::ByToken => {
                "API tokens cannot make or revoke tokens; sign in to manage them".to_owned()
            }
            Self::ReadOnlyToken => {
                "the API token used is read-only; use one made without read-only to change things"
                    .to_owned()
            }
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence("you"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn the_access_doc_shows_the_same_table() {
        let doc = include_str!("../../docs/access.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/access.md's permission table is out of date; paste this:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn reads_are_not_changes() {
        assert!(!Action::DeploymentGet.is_change());
        assert!(!Action::AuditQuery.is_change());
        assert!(!Action::MembershipList.is_change());
        assert!(Action::DeploymentScale.is_change());
        assert!(Action::TenantCreate.is_change());
        assert!(Action::MembershipAdd.is_change());
    }
}
