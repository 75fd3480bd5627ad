//! Tracked operations: every change is authorized and its intent audited while the caller
//! waits, then runs in its own task, so it finishes (and is recorded) whether or not anyone
//! still waits. A long change answers at once with the operation's id; its steps, state and
//! result are read from `operations`. One open operation per target (the table's unique
//! index), a few running per principal, a cancel that stops helm the way Ctrl-C would, and
//! operations a stopped server left open are marked interrupted with what the cluster shows.

use super::change::{Change, ChangeOutcome};
use super::executor::{execute, runner};
use super::{RequestContext, Service, principal_key};
use crate::adapters::context::{CANCEL, Progress, ProgressSink};
use crate::{Error, Result};
use model::operation::Answered;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How many operations one principal may have running at once (per replica).
pub const MAX_RUNNING_PER_PRINCIPAL: usize = 4;

/// How often a running operation says it is alive; one silent for three of these is taken
/// for abandoned by a server that stopped.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// How long a cancelled operation may take to stop on its own (helm rolling back) before it
/// is stopped outright.
const CANCEL_GRACE: Duration = Duration::from_secs(60);

/// The operations this process runs now.
#[derive(Debug, Default)]
pub struct Running {
    inner: Mutex<HashMap<Uuid, (String, CancellationToken)>>,
}

impl Running {
    pub(super) fn count(&self, principal: &str) -> usize {
        self.inner
            .lock()
            .map(|m| m.values().filter(|(p, _)| p == principal).count())
            .unwrap_or(0)
    }

    pub(super) fn insert(&self, id: Uuid, principal: String, cancel: CancellationToken) {
        if let Ok(mut m) = self.inner.lock() {
            m.insert(id, (principal, cancel));
        }
    }

    pub(super) fn remove(&self, id: Uuid) {
        if let Ok(mut m) = self.inner.lock() {
            m.remove(&id);
        }
    }

    /// Signals operation `id` to stop; false when this process does not run it.
    pub fn cancel(&self, id: Uuid) -> bool {
        let token = self
            .inner
            .lock()
            .ok()
            .and_then(|m| m.get(&id).map(|(_, t)| t.clone()));
        token.map(|t| t.cancel()).is_some()
    }
}

/// A change accepted as an operation: its id, and its outcome once it ends (for a caller
/// who chooses to wait; dropping it changes nothing).
#[derive(Debug)]
struct Tracked {
    /// The operation's id (also the audit operation id).
    id: Uuid,
    /// The outcome, sent when the operation ends.
    outcome: oneshot::Receiver<Result<ChangeOutcome>>,
}

impl Tracked {
    /// Waits as `wait` says: the outcome if it comes in time; otherwise the operation,
    /// which keeps running.
    async fn answer(mut self, wait: Wait) -> Result<Answered<ChangeOutcome>> {
        let limit = match wait {
            Wait::ToTheEnd => None,
            Wait::UpTo(limit) if limit.is_zero() => return Ok(self.running()),
            Wait::UpTo(limit) => Some(limit),
        };
        let ended = async {
            (&mut self.outcome).await.unwrap_or_else(|_| {
                // Only a panic in the operation's task drops the sender.
                Err(Error::internal(format!(
                    "operation {} ended without an outcome",
                    self.id
                )))
            })
        };
        match limit {
            None => ended.await.map(Answered::Done),
            Some(limit) => match tokio::time::timeout(limit, ended).await {
                Ok(outcome) => outcome.map(Answered::Done),
                Err(_) => Ok(self.running()),
            },
        }
    }

    fn running(&self) -> Answered<ChangeOutcome> {
        Answered::Running(self.id.to_string())
    }
}

/// How long a caller waits for a change before it is answered with the operation to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Until it ends, however long: bulk rows and tests.
    ToTheEnd,
    /// At most this long for a long change ([`Change::is_long`]); zero answers at once with
    /// the operation. A short change is always waited for to its end.
    UpTo(Duration),
}

impl Service {
    /// Makes a change: the one way in for REST, server functions, bulk rows and tests.
    /// Authorizes it, audits its intent and records it as an operation (409 when its target
    /// has one open already), runs it in its own task, and answers as `wait` says: its
    /// outcome, or the operation to follow when it runs on.
    pub async fn change(
        &self,
        ctx: &RequestContext,
        change: Change,
        wait: Wait,
    ) -> Result<Answered<ChangeOutcome>> {
        let wait = if change.is_long() {
            wait
        } else {
            Wait::ToTheEnd
        };
        self.track(ctx, change).await?.answer(wait).await
    }

    /// Accepts `change` as an operation and starts it in its own task.
    async fn track(&self, ctx: &RequestContext, change: Change) -> Result<Tracked> {
        let action = change.action();
        let namespace = change.namespace();
        let (kind, name) = change.target();
        let (scope, mut target, grants) = self
            .namespaced(
                ctx,
                action,
                &namespace,
                Some(name),
                change.audit_parameters(),
            )
            .await?;
        target.kind = Some(kind);
        // Which adapter runs a new deployment is the platform's choice: an adapter is a set of
        // credentials and registries, and a tenant picks only among what its kind allows.
        if let Change::CreateDeployment { request, .. } = &change
            && let Some(adapter) = &request.adapter
            && grants
                .global_role(crate::access::GlobalRole::PlatformAdmin)
                .is_none()
        {
            let denied = crate::access::Denied {
                action,
                target: format!("adapter {adapter}"),
                needs: "platform-admin to choose the adapter".into(),
                missing: crate::access::Missing::NotPlatformAdmin,
            };
            return Err(self.deny(ctx, action, &target, denied).await);
        }
        let key = principal_key(&ctx.principal);
        if let Some(wait) = self.refusals.exhausted(&key) {
            return Err(Error::TooManyRefusals {
                seconds: wait.as_secs().max(1),
            });
        }
        if self.running.count(&key) >= MAX_RUNNING_PER_PRINCIPAL {
            return Err(Error::TooManyOperations(MAX_RUNNING_PER_PRINCIPAL));
        }
        // Before anything is recorded: a change no adapter runs is refused at once.
        runner(self.registry.cluster(namespace.cluster())?, &change)?;
        let operation = self.begin_audit(ctx, action, &target).await?;
        if let Err(error) = self.operations.start(operation, &change, ctx).await {
            self.end_audit(ctx, operation, action, &target, Err(&error))
                .await;
            return Err(error);
        }
        self.announce_operation(operation).await;
        let cancel = CancellationToken::new();
        self.running.insert(operation, key, cancel.clone());
        let (send, outcome) = oneshot::channel();
        let this = self.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let (steps, recorder) = this.record_steps(operation);
            let write = this
                .write_ctx(&ctx, operation, action, &scope, &grants, steps)
                .forcing(change.force())
                .cancelled_by(cancel.clone());
            let run = async {
                let cluster = this.registry.cluster(change.namespace().cluster())?;
                let runner = runner(cluster, &change)?;
                execute(&runner, &write, &change).await
            };
            let outcome = CANCEL
                .scope(cancel.clone(), this.run_alive(operation, &cancel, run))
                .await;
            drop(write);
            // Every step is stored before the end is.
            let _ = recorder.await;
            let cancelled = cancel.is_cancelled() && outcome.is_err();
            if let Err(error) = this.operations.finish(operation, &outcome, cancelled).await {
                tracing::error!(%error, %operation, "could not record an operation's end");
            }
            this.end_audit(&ctx, operation, action, &target, outcome.as_ref().map(drop))
                .await;
            this.running.remove(operation);
            this.announce_operation(operation).await;
            let _ = send.send(outcome);
        });
        Ok(Tracked {
            id: operation,
            outcome,
        })
    }

    /// A sink that stores each step with its time and tells live followers; the task it
    /// returns ends once the sink (and every clone of it) is dropped and all are stored.
    fn record_steps(&self, operation: Uuid) -> (ProgressSink, tokio::task::JoinHandle<()>) {
        let (send, mut receive) = mpsc::unbounded_channel::<Progress>();
        let sink = ProgressSink::new(move |step| {
            let _ = send.send(step);
        });
        let this = self.clone();
        let recorder = tokio::spawn(async move {
            while let Some(step) = receive.recv().await {
                match this.operations.add_step(operation, &step).await {
                    Ok(()) => this.announce_operation(operation).await,
                    Err(error) => tracing::warn!(%error, %operation, "could not store a step"),
                }
            }
        });
        (sink, recorder)
    }

    /// Runs `work`, beating the operation's heartbeat while it runs; once cancelled, `work`
    /// has [`CANCEL_GRACE`] to stop by itself before it is dropped (which kills any helm).
    pub(super) async fn run_alive<T>(
        &self,
        operation: Uuid,
        cancel: &CancellationToken,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let beat = async {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                if let Err(error) = self.operations.beat(operation).await {
                    tracing::warn!(%error, %operation, "could not beat an operation's heartbeat");
                }
            }
        };
        let stop = async {
            cancel.cancelled().await;
            tokio::time::sleep(CANCEL_GRACE).await;
        };
        tokio::select! {
            outcome = work => outcome,
            () = beat => Err(Error::internal("the operation's heartbeat loop ended")),
            () = stop => Err(Error::Cancelled(format!(
                "cancelled; it did not stop within {} s and was ended",
                CANCEL_GRACE.as_secs()
            ))),
        }
    }
}
