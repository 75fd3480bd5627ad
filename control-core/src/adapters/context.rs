//! What every adapter write is handed: which operation it is, who asked, whose identity the
//! cluster sees, how far the tenant reaches, where progress goes and when to stop.
//!
//! A [`WriteCtx`] is built only by `Service`, from an authorized scope, so an adapter write
//! cannot be reached without an access check. Writes that follow references (rollback holds,
//! source pins, reconcile with source) check [`Boundary`] before they write anything.

use crate::{Error, Result};
use model::audit::Actor;
use model::reference::NamespaceRef;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The service account Pilothouse provisions in every tenant namespace, and acts as there.
pub const TENANT_SERVICE_ACCOUNT: &str = "pilothouse-tenant";

/// Whose identity the API server sees for a write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RunAs {
    /// Pilothouse's own service account.
    Pilothouse,
    /// A tenant's service account, impersonated.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl RunAs {
    /// The tenant service account `name` of `namespace`.
    pub fn tenant(namespace: &str, name: &str) -> Self {
        Self::ServiceAccount {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The same identity for a write in `namespace`: each tenant namespace has its own
    /// service account, so a write that follows a reference acts as that namespace's.
    pub fn in_namespace(&self, namespace: &str) -> Self {
        match self {
            Self::Pilothouse => Self::Pilothouse,
            Self::ServiceAccount { name, .. } => Self::tenant(namespace, name),
        }
    }

    /// The user name the API server sees (`system:serviceaccount:NS:NAME`), if impersonated.
    pub fn user_name(&self) -> Option<String> {
        match self {
            Self::Pilothouse => None,
            Self::ServiceAccount { namespace, name } => {
                Some(format!("system:serviceaccount:{namespace}:{name}"))
            }
        }
    }
}

/// How far a write may reach: the tenant's namespaces and the shared source namespaces, or
/// anywhere (platform-admins acting outside tenants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boundary {
    /// No limit.
    Unrestricted,
    /// Only these.
    Tenant {
        /// The tenant.
        tenant: String,
        /// Its namespaces.
        namespaces: BTreeSet<NamespaceRef>,
        /// Namespaces whose sources every tenant may read (and only read).
        shared_sources: BTreeSet<NamespaceRef>,
    },
}

impl Boundary {
    /// Ok when `namespace` belongs to the tenant; `field` names what pointed there.
    pub fn check(&self, field: &'static str, namespace: &NamespaceRef) -> Result<()> {
        match self {
            Self::Unrestricted => Ok(()),
            Self::Tenant {
                tenant, namespaces, ..
            } if !namespaces.contains(namespace) => Err(Error::OutsideBoundary {
                field,
                message: format!(
                    "points at namespace {} outside tenant {tenant}; only the tenant's own namespaces are allowed",
                    namespace.name()
                ),
            }),
            Self::Tenant { .. } => Ok(()),
        }
    }

    /// Ok when a source in `namespace` may be written (reconciled, suspended, pinned): only
    /// the tenant's own; shared source namespaces are read-only for tenants.
    pub fn check_source_write(&self, field: &'static str, namespace: &NamespaceRef) -> Result<()> {
        match self {
            Self::Tenant {
                tenant,
                shared_sources,
                ..
            } if shared_sources.contains(namespace) => Err(Error::OutsideBoundary {
                field,
                message: format!(
                    "is a source in the shared namespace {}: tenant {tenant} may use it, but only a platform-admin may reconcile, suspend or pin it",
                    namespace.name()
                ),
            }),
            _ => self.check(field, namespace),
        }
    }

    /// The same boundary with more shared source namespaces (the Flux adapter's setting).
    #[must_use]
    pub fn sharing(mut self, more: impl IntoIterator<Item = NamespaceRef>) -> Self {
        if let Self::Tenant { shared_sources, .. } = &mut self {
            shared_sources.extend(more);
        }
        self
    }

    /// Ok when a source in `namespace` may be read (its own or a shared source namespace).
    pub fn check_source_read(&self, field: &'static str, namespace: &NamespaceRef) -> Result<()> {
        match self {
            Self::Tenant { shared_sources, .. } if shared_sources.contains(namespace) => Ok(()),
            _ => self.check(field, namespace),
        }
    }
}

/// One step of a write as it happens, for whoever follows the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// 0–100.
    pub percent: u8,
    /// What is happening, in a few words.
    pub step: String,
}

tokio::task_local! {
    /// The running operation's cancel signal. helm runs several calls below the write context;
    /// the signal reaches it here rather than through every signature on the way.
    pub static CANCEL: tokio_util::sync::CancellationToken;
}

/// Where a write reports its steps; a no-op when nobody follows.
#[derive(Clone, Default)]
pub struct ProgressSink(Option<Arc<dyn Fn(Progress) + Send + Sync>>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProgressSink(followed)"
        } else {
            "ProgressSink(none)"
        })
    }
}

impl ProgressSink {
    /// A sink that calls `report` for every step.
    pub fn new(report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(report)))
    }

    /// Reports a step.
    pub fn report(&self, percent: u8, step: impl Into<String>) {
        if let Some(report) = &self.0 {
            report(Progress {
                percent: percent.min(100),
                step: step.into(),
            });
        }
    }
}

/// Everything an adapter write needs besides its arguments.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    operation: Uuid,
    actor: Actor,
    run_as: RunAs,
    boundary: Boundary,
    progress: ProgressSink,
    cancel: CancellationToken,
    force: bool,
}

impl WriteCtx {
    /// Built by the control plane's `Service` from the scope an access check handed out (and
    /// by test fixtures, with `testing`). Adapters receive one and never build one: the
    /// adapter crates depend on this crate only, so they cannot reach an access check.
    pub fn new(
        operation: Uuid,
        actor: Actor,
        run_as: RunAs,
        boundary: Boundary,
        progress: ProgressSink,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            operation,
            actor,
            run_as,
            boundary,
            progress,
            cancel,
            force: false,
        }
    }

    /// The same context, taking over fields other managers own when `force` (the caller's
    /// explicit choice, recorded with the change).
    #[must_use]
    pub fn forcing(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Whether writes take over fields other managers own.
    pub fn force(&self) -> bool {
        self.force
    }

    /// A context for adapter tests: Pilothouse acting with no boundary.
    #[cfg(feature = "testing")]
    pub fn for_tests() -> Self {
        Self::new(
            Uuid::new_v4(),
            Actor {
                issuer: "test".into(),
                subject: "test".into(),
                email: None,
            },
            RunAs::Pilothouse,
            Boundary::Unrestricted,
            ProgressSink::default(),
            CancellationToken::new(),
        )
    }

    /// The same context acting as another identity (for adapter tests, with `testing`).
    #[cfg(feature = "testing")]
    pub fn with_run_as(mut self, run_as: RunAs) -> Self {
        self.run_as = run_as;
        self
    }

    /// The same context with another boundary (for adapter tests, with `testing`).
    #[cfg(feature = "testing")]
    pub fn with_boundary(mut self, boundary: Boundary) -> Self {
        self.boundary = boundary;
        self
    }

    /// The audit operation id this write belongs to.
    pub fn operation(&self) -> Uuid {
        self.operation
    }

    /// Who asked.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Whose identity the API server sees.
    pub fn run_as(&self) -> &RunAs {
        &self.run_as
    }

    /// Whose identity the API server sees for a write in `namespace`.
    pub fn run_as_in(&self, namespace: &str) -> RunAs {
        self.run_as.in_namespace(namespace)
    }

    /// How far the write may reach.
    pub fn boundary(&self) -> &Boundary {
        &self.boundary
    }

    /// Reports a step of the write.
    pub fn progress(&self, percent: u8, step: impl Into<String>) {
        self.progress.report(percent, step);
    }

    /// Fails when the operation was cancelled; long writes call it between steps.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            Err(Error::Cancelled(format!(
                "operation {} was cancelled before it finished; what was done so far is in the audit log",
                self.operation
            )))
        } else {
            Ok(())
        }
    }

    /// The same context, cancelled by `cancel` (the tracked operation's signal).
    #[must_use]
    pub fn cancelled_by(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// The token that cancels the operation.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(name: &str) -> NamespaceRef {
        NamespaceRef::in_default(name).unwrap()
    }

    #[test]
    fn a_tenant_boundary_admits_its_namespaces_and_reads_shared_sources() {
        let boundary = Boundary::Tenant {
            tenant: "team-a".into(),
            namespaces: [ns("team-a")].into(),
            shared_sources: [ns("flux-system")].into(),
        };
        assert!(
            boundary
                .check("flux.targetNamespace", &ns("team-a"))
                .is_ok()
        );
        let error = boundary
            .check("flux.targetNamespace", &ns("kube-system"))
            .unwrap_err();
        assert_eq!(error.status(), 403);
        assert!(
            error.to_string().contains("flux.targetNamespace"),
            "{error}"
        );
        assert!(error.to_string().contains("kube-system"), "{error}");
        assert!(
            boundary
                .check_source_read("sourceRef", &ns("flux-system"))
                .is_ok()
        );
        assert!(matches!(
            boundary.check("sourceRef", &ns("flux-system")),
            Err(Error::OutsideBoundary {
                field: "sourceRef",
                ..
            })
        ));
        assert!(
            Boundary::Unrestricted
                .check("x", &ns("kube-system"))
                .is_ok()
        );
    }

    #[test]
    fn progress_reaches_the_follower_and_cancellation_stops_the_write() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = {
            let seen = seen.clone();
            ProgressSink::new(move |p| seen.lock().unwrap().push(p))
        };
        let cancel = CancellationToken::new();
        let ctx = WriteCtx::new(
            Uuid::new_v4(),
            Actor {
                issuer: "i".into(),
                subject: "s".into(),
                email: None,
            },
            RunAs::Pilothouse,
            Boundary::Unrestricted,
            sink,
            cancel.clone(),
        );
        ctx.progress(150, "applying");
        assert_eq!(seen.lock().unwrap()[0].percent, 100);
        assert!(ctx.check_cancelled().is_ok());
        cancel.cancel();
        assert_eq!(ctx.check_cancelled().unwrap_err().status(), 409);
    }
}
