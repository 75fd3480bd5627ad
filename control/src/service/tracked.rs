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
pub struct Tracked {
    /// The operation's id (also the audit operation id).
    pub id: Uuid,
    /// The outcome, sent when the operation ends.
    pub outcome: oneshot::Receiver<Result<ChangeOutcome>>,
}

impl Tracked {
    /// The outcome if it comes within `limit`; otherwise the operation keeps running.
    pub async fn wait(&mut self, limit: Duration) -> Option<Result<ChangeOutcome>> {
        tokio::time::timeout(limit, self.ended()).await.ok()
    }

    /// The outcome, however long it takes.
    pub async fn ended(&mut self) -> Result<ChangeOutcome> {
        (&mut self.outcome).await.unwrap_or_else(|_| {
            // Only a panic in the operation's task drops the sender.
            Err(Error::Conflict(format!(
                "operation {} ended without an outcome; read it at /o2dms/v1/operations/{}",
                self.id, self.id
            )))
        })
    }
}

/// How a change was answered.
#[derive(Debug)]
pub enum Answer<T = ChangeOutcome> {
    /// It ended within the wait: its outcome.
    Done(T),
    /// It runs on as this operation.
    Accepted(Uuid),
}

impl Service {
    /// Accepts `change` as an operation: authorizes it, audits its intent and records it
    /// (409 when its target has one open already), then runs it in its own task.
    pub async fn track(&self, ctx: &RequestContext, change: Change) -> Result<Tracked> {
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
        runner(self.registry.cluster(&namespace.cluster)?, &change)?;
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
                let cluster = this.registry.cluster(&change.namespace().cluster)?;
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

    /// Runs a change: a short one to its end; a long one ([`Change::is_long`]) for at most
    /// `wait`, after which the caller gets the operation to follow.
    pub async fn run_change(
        &self,
        ctx: &RequestContext,
        change: Change,
        wait: Duration,
    ) -> Result<Answer> {
        if !change.is_long() {
            return self.submit(ctx, change).await.map(Answer::Done);
        }
        let mut tracked = self.track(ctx, change).await?;
        if wait.is_zero() {
            return Ok(Answer::Accepted(tracked.id));
        }
        match tracked.wait(wait).await {
            Some(outcome) => outcome.map(Answer::Done),
            None => Ok(Answer::Accepted(tracked.id)),
        }
    }

    /// Runs a change and waits for its outcome, as the endpoints that answer at once do.
    pub async fn submit(&self, ctx: &RequestContext, change: Change) -> Result<ChangeOutcome> {
        self.track(ctx, change).await?.ended().await
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
            () = beat => Err(Error::Conflict("the operation's heartbeat stopped".into())),
            () = stop => Err(Error::Cancelled(format!(
                "cancelled; it did not stop within {} s and was ended",
                CANCEL_GRACE.as_secs()
            ))),
        }
    }
}
