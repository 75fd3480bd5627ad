//! The values editor: typed values checked as they are typed (YAML with line and column,
//! then the chart's `values.schema.json`), previewed as a values diff and a rendered-manifest
//! diff, and applied as one audited update.

use super::change::Change;
use super::{RequestContext, Service};
use crate::access::Action;
use crate::adapters::helm::preview::unified_diff;
use crate::values::{parse_values, schema_problems};
use crate::{Error, Result};
use model::deployment::{DeploymentUpdate, Preview};
use model::reference::{DeploymentKind, DeploymentRef};
use model::values::{ValuesPreview, ValuesProblem};
use serde_json::{Map, Value, json};

/// Values as the editor shows them: YAML, or nothing for none.
pub fn values_yaml(values: &Map<String, Value>) -> String {
    if values.is_empty() {
        return String::new();
    }
    serde_yaml::to_string(values).unwrap_or_default()
}

impl Service {
    /// The values a deployment runs with, as the editor's YAML.
    pub async fn values_text(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<String> {
        refuse_kustomization(deployment)?;
        // Redacted: an edit keeps the secrets it leaves as `[REDACTED]` (`reveal::restored`).
        Ok(values_yaml(
            &self.deployment_values(ctx, deployment, false).await?,
        ))
    }

    /// What is wrong with `text` as this deployment's values: YAML errors with their place,
    /// then what the chart's schema rejects (when the chart has a schema Pilothouse holds).
    pub async fn check_values(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        text: &str,
    ) -> Result<Vec<ValuesProblem>> {
        self.on_deployment(ctx, Action::DeploymentGet, deployment, json!({}))
            .await?;
        refuse_kustomization(deployment)?;
        let values = match parse_values(text) {
            Ok(values) => values,
            Err(problem) => return Ok(vec![problem]),
        };
        Ok(
            match self.adapter_for(deployment)?.values_schema(deployment)? {
                Some(schema) => schema_problems(&schema, &values, text),
                None => Vec::new(),
            },
        )
    }

    /// The values diff and, for Helm releases, the rendered-manifest diff that applying
    /// `text` would make; nothing is changed. A preview runs helm twice, so it needs the right
    /// to make the change and is charged as an expensive read.
    pub async fn preview_values(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        text: &str,
    ) -> Result<ValuesPreview> {
        self.namespaced(
            ctx,
            Action::DeploymentUpdate,
            &deployment.namespace_ref(),
            Some(deployment.name()),
            json!({ "preview": true }),
        )
        .await?;
        self.spend(ctx, super::Cost::ExpensiveRead)?;
        refuse_kustomization(deployment)?;
        let current = self.raw_values(ctx, deployment).await?;
        let values = super::reveal::restored(checked(text)?, &current);
        let values_diff = unified_diff(&values_yaml(&current), &values_yaml(&values));
        if deployment.kind() != DeploymentKind::Release {
            return Ok(
                match self.flux_manifest_diff(deployment, &current, &values).await {
                    Ok((manifest_diff, note)) => ValuesPreview {
                        values_diff,
                        manifest_diff: Some(manifest_diff),
                        note,
                    },
                    Err(error) => ValuesPreview {
                        values_diff,
                        manifest_diff: None,
                        note: Some(format!(
                            "Only the values diff is shown: {}. helm-controller renders the chart when the change is applied.",
                            match &error {
                                Error::Invalid {
                                    field: "chart",
                                    message,
                                } => message.clone(),
                                other => other.to_string(),
                            }
                        )),
                    },
                },
            );
        }
        let change = Preview::Upgrade {
            values: Some(values),
            version: None,
        };
        let manifest_diff = self.preview_deployment(ctx, deployment, &change).await?;
        Ok(ValuesPreview {
            values_diff,
            manifest_diff: Some(manifest_diff),
            note: None,
        })
    }

    /// The change that applies typed values (checked as YAML first).
    pub fn values_change(
        &self,
        deployment: &DeploymentRef,
        text: &str,
        force: bool,
    ) -> Result<Change> {
        refuse_kustomization(deployment)?;
        Ok(Change::UpdateDeployment {
            deployment: deployment.clone(),
            update: DeploymentUpdate {
                values: Some(checked(text)?),
                force,
                ..DeploymentUpdate::default()
            },
        })
    }

    /// A Flux HelmRelease's rendered-manifest diff: its chart fetched as helm-controller
    /// would (from the HelmRepository or OCI registry, within the registry policy) and
    /// rendered with the running and the proposed values; with a note on what it leaves out.
    async fn flux_manifest_diff(
        &self,
        deployment: &DeploymentRef,
        current: &Map<String, Value>,
        proposed: &Map<String, Value>,
    ) -> Result<(String, Option<String>)> {
        let adapter = self.adapter_for(deployment)?;
        let sources = adapter
            .as_toolkit()
            .ok_or_else(|| Error::invalid("chart", "the adapter does not know Flux sources"))?;
        let chart = sources.remote_chart(deployment)?;
        let helm = self.helm()?;
        let (running, changed) = tokio::try_join!(
            helm.render_remote(&chart, current),
            helm.render_remote(&chart, proposed)
        )?;
        let note = chart.values_from.then(|| {
            "Rendered with spec.values only; the values helm-controller reads from ConfigMaps and Secrets (valuesFrom) are not included.".to_owned()
        });
        Ok((unified_diff(&running, &changed), note))
    }
}

fn checked(text: &str) -> Result<Map<String, Value>> {
    parse_values(text).map_err(|problem| Error::invalid("values", problem.to_string()))
}

fn refuse_kustomization(deployment: &DeploymentRef) -> Result<()> {
    if deployment.kind() == DeploymentKind::Kustomization {
        return Err(Error::invalid(
            "values",
            format!(
                "{} is a Kustomization, which has no values",
                deployment.describe()
            ),
        ));
    }
    Ok(())
}
