//! Reconciling a Flux object as `flux reconcile` does: the requestedAt annotation (and
//! forceAt/resetAt for HelmReleases), the source first when asked, then waiting on the watch
//! cache for the controller's outcome up to the reconcile timeout.

use super::adapter::FluxAdapter;
use super::kinds::{self, FluxKind, HELM_CHART, HELM_RELEASE};
use super::status::state_of;
use super::types::DeploymentStatusFields;
use super::writes::REQUESTED_AT;
use chrono::{SecondsFormat, Utc};
use control_core::adapters::DeploymentAdapter;
use control_core::adapters::context::WriteCtx;
use control_core::{Error, Result};
use kube::api::DynamicObject;
use model::deployment::{DeploymentStatus, ReconcileOutcome, ReconcileRequest};
use model::reference::DeploymentRef;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// HelmRelease: force a one-off install or upgrade.
pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
/// HelmRelease: reset the install and upgrade failure counters.
pub const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";

/// How often a waiting reconcile looks at the cache.
const POLL: Duration = Duration::from_millis(200);

/// Flux's reconcile token: the time, as `flux reconcile` writes it.
pub(super) fn now_token() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true)
}

impl FluxAdapter {
    /// Asks for a reconciliation and, unless told not to, waits for its outcome.
    pub(super) async fn reconcile_and_wait(
        &self,
        ctx: &WriteCtx,
        deployment: &DeploymentRef,
        request: ReconcileRequest,
    ) -> Result<ReconcileOutcome> {
        let (namespace, name) = (deployment.namespace(), deployment.name());
        let kind = kinds::of(deployment.kind())?;
        let current = self.writer.find(kind, namespace, name).await?;
        if kind != HELM_RELEASE && (request.force || request.reset) {
            return Err(Error::invalid(
                "force",
                "force and reset apply to HelmReleases only",
            ));
        }
        if current
            .data
            .pointer("/spec/suspend")
            .and_then(Value::as_bool)
            == Some(true)
        {
            return Err(Error::Conflict(format!(
                "{name} is suspended; resume it before reconciling"
            )));
        }
        let token = now_token();
        let wait = !request.no_wait;
        if request.with_source {
            let (source_kind, source_ns, source_name) = match current
                .data
                .pointer("/status/helmChart")
                .and_then(Value::as_str)
                .and_then(|c| c.split_once('/'))
            {
                Some((ns, chart)) if kind == HELM_RELEASE => {
                    (HELM_CHART, ns.to_owned(), chart.to_owned())
                }
                _ => Self::source_of(kind, &current)?,
            };
            // The source is followed by reference: it must be the tenant's to touch.
            self.boundary(ctx)
                .check_source_write("sourceRef", &self.namespace_ref(&source_ns)?)?;
            ctx.progress(
                10,
                format!("fetching {} {source_ns}/{source_name}", source_kind.kind),
            );
            let annotations = json!({ REQUESTED_AT: token });
            let source = self
                .request_and_wait(
                    ctx,
                    source_kind,
                    &source_ns,
                    &source_name,
                    annotations,
                    true,
                )
                .await?;
            let failed = source
                .as_ref()
                .map(|s| state_of(&s.data))
                .filter(|s| s.status == DeploymentStatus::Failed);
            if source.is_none() || failed.is_some() {
                let state = state_of(&current.data);
                let message = match failed {
                    Some(s) => format!(
                        "{} {source_ns}/{source_name} failed: {}; {name} was not reconciled",
                        source_kind.kind, s.message
                    ),
                    None => format!(
                        "{} {source_ns}/{source_name} did not finish within {} s; {name} was not reconciled",
                        source_kind.kind,
                        self.config.reconcile_timeout.as_secs()
                    ),
                };
                return Ok(ReconcileOutcome {
                    finished: false,
                    state,
                    revision: None,
                    message,
                });
            }
        }
        ctx.check_cancelled()?;
        ctx.progress(50, format!("reconciling {}", deployment.describe()));
        let mut annotations = json!({ REQUESTED_AT: token });
        if request.force {
            annotations[FORCE_AT] = json!(token);
        }
        if request.reset {
            annotations[RESET_AT] = json!(token);
        }
        let outcome = self
            .request_and_wait(ctx, kind, namespace, name, annotations, wait)
            .await?;
        Ok(match outcome {
            Some(object) => {
                let deployment = self.row(kind, &object);
                let message = match deployment.state.status {
                    DeploymentStatus::Failed => {
                        format!("reconciliation failed: {}", deployment.state.message)
                    }
                    _ => format!("reconciled: {}", deployment.state.message),
                };
                ReconcileOutcome {
                    finished: true,
                    state: deployment.state,
                    revision: deployment.revision,
                    message,
                }
            }
            None => {
                let deployment = self.get(deployment)?;
                let message = if wait {
                    format!(
                        "requested; {name} has not finished within {} s. Flux keeps working on it: watch its events",
                        self.config.reconcile_timeout.as_secs()
                    )
                } else {
                    "requested; Flux reconciles it shortly".to_owned()
                };
                ReconcileOutcome {
                    finished: false,
                    state: deployment.state,
                    revision: deployment.revision,
                    message,
                }
            }
        })
    }

    /// Sets requestedAt (and any extra annotations; `annotations` holds the requestedAt
    /// token) and, unless `no_wait`, waits until the controller has handled it or the
    /// reconcile timeout passes.
    pub(super) async fn request_and_wait(
        &self,
        ctx: &WriteCtx,
        kind: FluxKind,
        namespace: &str,
        name: &str,
        annotations: Value,
        wait: bool,
    ) -> Result<Option<Arc<DynamicObject>>> {
        let token = annotations[REQUESTED_AT]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.writer_in(ctx, namespace)?
            .merge(
                kind,
                namespace,
                name,
                json!({ "metadata": { "annotations": annotations } }),
            )
            .await?;
        if !wait {
            return Ok(None);
        }
        let deadline = Instant::now() + self.config.reconcile_timeout;
        loop {
            if let Some(object) = self.cache.object(kind, namespace, name) {
                let handled = DeploymentStatusFields::of(&object.data)
                    .last_handled_reconcile_at
                    .as_deref()
                    == Some(token.as_str());
                if handled && state_of(&object.data).status != DeploymentStatus::Deploying {
                    return Ok(Some(object));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
