//! A Flux deployment's controller log lines: what helm-controller or kustomize-controller
//! logged about this object, read once or followed.

use super::{Cost, RequestContext, Service};
use crate::access::Action;
use crate::{Error, Result};
use futures::Stream;
use model::deployment::LogQuery;
use model::reference::{DeploymentKind, DeploymentRef};
use serde_json::{Value, json};
use std::time::Duration;

/// How often a followed log is read again.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);
/// Lines read per follow step (the controllers log every tenant's objects).
const FOLLOW_TAIL: i64 = 500;

/// The controller that reconciles `deployment`.
fn controller_for(deployment: &DeploymentRef) -> Result<&'static str> {
    match deployment.kind() {
        DeploymentKind::HelmRelease => Ok("helm-controller"),
        DeploymentKind::Kustomization => Ok("kustomize-controller"),
        DeploymentKind::Release => Err(Error::invalid(
            "logs",
            format!(
                "{} is a Helm release, which no controller reconciles; its history and events say what happened",
                deployment.describe()
            ),
        )),
    }
}

/// The lines of `text` (JSON lines, as Flux logs) about `deployment`.
fn about(text: &str, deployment: &DeploymentRef) -> Vec<String> {
    text.lines()
        .filter(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|v| {
                v.get("name").and_then(Value::as_str) == Some(deployment.name())
                    && v.get("namespace").and_then(Value::as_str) == Some(deployment.namespace())
            })
        })
        .map(str::to_owned)
        .collect()
}

/// The lines of `now` that `before` (the previous read) did not have. The window only moves
/// forward, so `now` is an end of `before` followed by new lines; matching the longest such
/// overlap keeps identical lines (same message, same second) apart.
fn after<'a>(now: &'a [String], before: &[String]) -> &'a [String] {
    let overlap = (0..=now.len().min(before.len()))
        .rev()
        .find(|&k| now[..k] == before[before.len() - k..])
        .unwrap_or(0);
    &now[overlap..]
}

impl Service {
    /// The controller's recent lines about `deployment`.
    pub async fn deployment_logs(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
        query: &LogQuery,
    ) -> Result<Vec<String>> {
        let controller = self.authorize_logs(ctx, deployment).await?;
        let (_, logs) = self.logs()?;
        Ok(about(
            &logs.controller_logs(controller, query).await?,
            deployment,
        ))
    }

    /// New lines about `deployment` as the controller logs them, until the stream is
    /// dropped; authorized and charged once, when it starts.
    pub async fn follow_deployment_logs(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<impl Stream<Item = String> + Send + 'static> {
        let controller = self.authorize_logs(ctx, deployment).await?;
        let service = self.clone();
        let deployment = deployment.clone();
        let query = LogQuery {
            tail: Some(FOLLOW_TAIL),
            ..LogQuery::default()
        };
        // Starts after what is there now: the page has already read those lines.
        let (_, logs) = self.logs()?;
        let start = logs
            .controller_logs(controller, &query)
            .await
            .map(|text| about(&text, &deployment))
            .unwrap_or_default();
        let caller = ctx.clone();
        let steps = futures::stream::unfold(start, move |before| {
            let (service, deployment, query) = (service.clone(), deployment.clone(), query.clone());
            let ctx = caller.clone();
            async move {
                loop {
                    tokio::time::sleep(FOLLOW_EVERY).await;
                    // Each step asks again whether the caller may still read these logs and
                    // whether the credential still stands; the stream ends when not.
                    if !service
                        .may_still(&ctx, Action::DeploymentLogs, &deployment)
                        .await
                    {
                        return None;
                    }
                    let Ok((_, logs)) = service.logs() else {
                        return None;
                    };
                    // A failed read (a restarting pod) is tried again at the next step.
                    let Ok(text) = logs.controller_logs(controller, &query).await else {
                        continue;
                    };
                    let now = about(&text, &deployment);
                    let new = after(&now, &before).to_vec();
                    if !new.is_empty() {
                        return Some((new, now));
                    }
                }
            }
        });
        self.counted(
            ctx,
            futures::StreamExt::flat_map(steps, futures::stream::iter),
        )
    }

    /// Whether a stream opened by `ctx` may go on: its credential still stands and its
    /// grants still allow `action` on `deployment` (nothing is recorded; the stream was
    /// authorized when it began).
    pub(super) async fn may_still(
        &self,
        ctx: &RequestContext,
        action: Action,
        deployment: &DeploymentRef,
    ) -> bool {
        if let Some(why) = ctx.credential_lapsed().await {
            tracing::info!(subject = %ctx.principal.subject, %why, "stream ended");
            return false;
        }
        self.grants(ctx).await.is_ok_and(|grants| {
            crate::access::policy::authorize_namespace(&grants, action, &deployment.namespace_ref())
                .is_ok()
        })
    }

    async fn authorize_logs(
        &self,
        ctx: &RequestContext,
        deployment: &DeploymentRef,
    ) -> Result<&'static str> {
        let controller = controller_for(deployment)?;
        self.on_deployment(ctx, Action::DeploymentLogs, deployment, json!({}))
            .await?;
        self.spend(ctx, Cost::ExpensiveRead)?;
        Ok(controller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_objects_lines_and_only_new_ones() {
        let target: DeploymentRef = "default~team-b~Kustomization~analytics"
            .parse()
            .expect("ref");
        let text = [
            r#"{"msg":"a","name":"analytics","namespace":"team-b"}"#,
            r#"{"msg":"b","name":"analytics","namespace":"team-a"}"#,
            r#"{"msg":"c","name":"analytics-db","namespace":"team-b"}"#,
            "not json",
            r#"{"msg":"d","name":"analytics","namespace":"team-b"}"#,
        ]
        .join("\n");
        let lines = about(&text, &target);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"a\"") && lines[1].contains("\"d\""));
        let line = |s: &str| s.to_owned();
        let before = [line("old"), line("x"), line("y")];
        let now = [line("x"), line("y"), line("x"), line("y")];
        assert_eq!(
            after(&now, &before),
            &now[2..],
            "repeated lines still count as new"
        );
        assert_eq!(after(&now, &now), &[] as &[String]);
        assert_eq!(after(&now, &[]), &now[..]);
        assert_eq!(after(&[], &before), &[] as &[String]);
        assert_eq!(after(&[line("z")], &before), &[line("z")]);
        let release: DeploymentRef = "default~team-b~Release~web".parse().expect("ref");
        assert!(matches!(
            controller_for(&release),
            Err(crate::Error::Invalid { .. })
        ));
    }
}
