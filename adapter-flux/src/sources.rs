//! Flux sources as a capability: list them, fetch one now and wait for its artifact,
//! suspend or resume one, and trace any object to the Flux objects and source behind it.

use super::adapter::FluxAdapter;
use super::kinds;
use super::reconcile::now_token;
use super::status::state_of;
use super::trace;
use super::writes::REQUESTED_AT;
use control_core::Namespaces;
use control_core::adapters::Sources;
use control_core::adapters::context::WriteCtx;
use control_core::{Error, Result};
use model::deployment::{DeploymentStatus, ReconcileOutcome, TraceStep};
use model::reference::{DeploymentRef, NamespaceRef, SourceRef};
use model::source::FluxSource;
use serde_json::{Value, json};

#[async_trait::async_trait]
impl Sources for FluxAdapter {
    fn list_sources(&self, visible: &Namespaces) -> Vec<FluxSource> {
        self.cache.sources(visible)
    }

    fn links(&self, visible: &Namespaces) -> Vec<control_core::adapters::Link> {
        super::links::links(&self.cache, visible)
    }

    fn remote_chart(
        &self,
        deployment: &DeploymentRef,
    ) -> Result<control_core::adapters::RemoteChart> {
        super::chart::remote_chart(&self.cache, deployment)
    }

    /// Asks source-controller to fetch a source now and waits for the new artifact.
    async fn reconcile_source(
        &self,
        ctx: &WriteCtx,
        source: &SourceRef,
    ) -> Result<ReconcileOutcome> {
        self.boundary(ctx)
            .check_source_write("source", &source.namespace)?;
        let (namespace, name) = (source.namespace.name(), source.name.as_str());
        let kind = kinds::of_source(source.kind);
        let token = now_token();
        let annotations = json!({ REQUESTED_AT: token });
        let handled = self
            .request_and_wait(ctx, kind, namespace, name, annotations, true)
            .await?;
        let object = match &handled {
            Some(object) => object.clone(),
            None => self
                .cache
                .object(kind, namespace, name)
                .ok_or_else(|| Error::not_found("source", format!("{namespace}/{name}")))?,
        };
        let state = state_of(&object.data);
        let revision = object
            .data
            .pointer("/status/artifact/revision")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let message = match (&handled, state.status) {
            (None, _) => format!(
                "requested; {name} has not finished within {} s",
                self.config.reconcile_timeout.as_secs()
            ),
            (Some(_), DeploymentStatus::Failed) => format!("fetch failed: {}", state.message),
            (Some(_), _) => format!("fetched: {}", state.message),
        };
        Ok(ReconcileOutcome {
            finished: handled.is_some(),
            state,
            revision,
            message,
        })
    }

    /// Suspends or resumes a source.
    async fn set_source_suspended(
        &self,
        ctx: &WriteCtx,
        source: &SourceRef,
        suspend: bool,
    ) -> Result<()> {
        self.boundary(ctx)
            .check_source_write("source", &source.namespace)?;
        let (namespace, name) = (source.namespace.name(), source.name.as_str());
        let kind = kinds::of_source(source.kind);
        self.writer_in(ctx, namespace)?
            .merge(
                kind,
                namespace,
                name,
                json!({ "spec": { "suspend": suspend } }),
            )
            .await?;
        Ok(())
    }

    async fn trace(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &NamespaceRef,
        name: &str,
        visible: &Namespaces,
    ) -> Result<Vec<TraceStep>> {
        let readable = |ns: &str| visible.contains_in(&self.cluster, ns);
        trace::trace(
            &self.client,
            api_version,
            kind,
            namespace.name(),
            name,
            readable,
        )
        .await
    }
}
