//! While helm waits for a release's objects to become ready, which workloads it is still
//! waiting for: the new revision's manifest (from its release Secret) names them, and the
//! cluster says how many of their replicas are ready. Reported as operation steps such as
//! "waiting for Deployment team-b/web (1/2 ready)", only when the picture changes.

use super::adapter::HelmAdapter;
use super::preview::manifest_objects;
use control_core::Result;
use control_core::adapters::context::WriteCtx;
use kube::api::{Api, ApiResource, DynamicObject};
use model::deployment::InventoryEntry;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// How often the workloads are read while helm waits.
const EVERY: Duration = Duration::from_secs(2);
/// The most workloads read per look (a chart with more is described by its first ones).
const MAX_WORKLOADS: usize = 20;

/// One workload of the release and how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `Deployment`, `StatefulSet` or `DaemonSet`.
    pub kind: String,
    /// `namespace/name`.
    pub object: String,
    /// Replicas ready.
    pub ready: i64,
    /// Replicas wanted.
    pub desired: i64,
}

impl Readiness {
    fn is_ready(&self) -> bool {
        self.ready >= self.desired
    }
}

/// The step that describes `workloads`, with its percent (20 to 80 as they become ready);
/// none when the release has no workloads.
pub fn describe(workloads: &[Readiness]) -> Option<(u8, String)> {
    if workloads.is_empty() {
        return None;
    }
    let waiting: Vec<&Readiness> = workloads.iter().filter(|w| !w.is_ready()).collect();
    let done = workloads.len() - waiting.len();
    let percent = 20 + (60 * done / workloads.len()) as u8;
    let text = match waiting.as_slice() {
        [] => format!(
            "all {} workload{} ready; helm is finishing",
            workloads.len(),
            if workloads.len() == 1 { "" } else { "s" }
        ),
        [first, rest @ ..] => {
            let head = format!(
                "waiting for {} {} ({}/{} ready)",
                first.kind, first.object, first.ready, first.desired
            );
            match rest.len() {
                0 => head,
                1 => format!("{head} and 1 more workload"),
                n => format!("{head} and {n} more workloads"),
            }
        }
    };
    Some((percent, text))
}

/// The workload kinds (all in `apps`) whose readiness is read, with their plural.
const WORKLOADS: [(&str, &str); 3] = [
    ("Deployment", "deployments"),
    ("StatefulSet", "statefulsets"),
    ("DaemonSet", "daemonsets"),
];

/// Ready and desired replicas as a workload's status tells them.
fn replicas(kind: &str, object: &Value) -> (i64, i64) {
    let number = |path: &str| object.pointer(path).and_then(Value::as_i64);
    match kind {
        "DaemonSet" => (
            number("/status/numberReady").unwrap_or(0),
            number("/status/desiredNumberScheduled").unwrap_or(1),
        ),
        _ => (
            number("/status/readyReplicas").unwrap_or(0),
            number("/spec/replicas").unwrap_or(1),
        ),
    }
}

impl HelmAdapter {
    /// Runs `work` (a helm run that waits for `namespace/name`'s objects) and, meanwhile,
    /// reports which workloads of the revision after `before` are not ready yet.
    pub(super) async fn reporting_readiness<T>(
        &self,
        ctx: &WriteCtx,
        namespace: &str,
        name: &str,
        before: u32,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::pin!(work);
        let mut workloads: Option<Vec<InventoryEntry>> = None;
        let mut said = String::new();
        loop {
            tokio::select! {
                out = &mut work => return out,
                () = tokio::time::sleep(EVERY) => {}
            }
            if workloads.is_none() {
                workloads = self.new_workloads(namespace, name, before).await;
            }
            let Some(entries) = &workloads else { continue };
            let read = tokio::select! {
                out = &mut work => return out,
                read = self.readiness(entries) => read,
            };
            if let Some((percent, step)) = describe(&read)
                && step != said
            {
                ctx.progress(percent, step.clone());
                said = step;
            }
        }
    }

    /// The workloads the newest revision after `before` applies; none until helm has
    /// stored it.
    async fn new_workloads(
        &self,
        namespace: &str,
        name: &str,
        before: u32,
    ) -> Option<Vec<InventoryEntry>> {
        let newest = self
            .cache
            .revisions(namespace, name)
            .into_iter()
            .map(|(version, _)| version)
            .filter(|v| *v > before)
            .max()?;
        let release = self.revision(namespace, name, newest).await.ok()?;
        Some(
            manifest_objects(&release.manifest, namespace)
                .into_iter()
                .filter(|e| e.group == "apps" && WORKLOADS.iter().any(|(k, _)| *k == e.kind))
                .take(MAX_WORKLOADS)
                .collect(),
        )
    }

    /// How far each workload is; one that cannot be read counts as not ready.
    async fn readiness(&self, entries: &[InventoryEntry]) -> Vec<Readiness> {
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some((_, plural)) = WORKLOADS.iter().find(|(k, _)| *k == entry.kind) else {
                continue;
            };
            let resource = ApiResource {
                group: entry.group.clone(),
                version: entry.version.clone(),
                api_version: format!("{}/{}", entry.group, entry.version),
                kind: entry.kind.clone(),
                plural: (*plural).to_owned(),
            };
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), &entry.namespace, &resource);
            let (ready, desired) = match api.get_opt(&entry.name).await {
                Ok(Some(object)) => {
                    let value = serde_json::to_value(&object).unwrap_or(Value::Null);
                    replicas(&entry.kind, &value)
                }
                _ => (0, 1),
            };
            out.push(Readiness {
                kind: entry.kind.clone(),
                object: format!("{}/{}", entry.namespace, entry.name),
                ready,
                desired,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workload(kind: &str, object: &str, ready: i64, desired: i64) -> Readiness {
        Readiness {
            kind: kind.into(),
            object: object.into(),
            ready,
            desired,
        }
    }

    #[test]
    fn names_the_first_workload_still_waited_for() {
        assert_eq!(describe(&[]), None);
        assert_eq!(
            describe(&[workload("Deployment", "team-b/web", 1, 2)]),
            Some((20, "waiting for Deployment team-b/web (1/2 ready)".into()))
        );
        assert_eq!(
            describe(&[
                workload("Deployment", "team-b/api", 2, 2),
                workload("Deployment", "team-b/web", 0, 1),
                workload("StatefulSet", "team-b/db", 0, 3),
            ]),
            Some((
                40,
                "waiting for Deployment team-b/web (0/1 ready) and 1 more workload".into()
            ))
        );
        assert_eq!(
            describe(&[
                workload("Deployment", "team-b/api", 2, 2),
                workload("DaemonSet", "team-b/agent", 3, 3),
            ]),
            Some((80, "all 2 workloads ready; helm is finishing".into()))
        );
    }

    #[test]
    fn reads_replicas_as_each_kind_reports_them() {
        let deployment = json!({ "spec": { "replicas": 3 }, "status": { "readyReplicas": 2 } });
        assert_eq!(replicas("Deployment", &deployment), (2, 3));
        // No status yet, no replicas field: one wanted, none ready.
        assert_eq!(replicas("StatefulSet", &json!({ "spec": {} })), (0, 1));
        let daemons = json!({ "status": { "numberReady": 4, "desiredNumberScheduled": 5 } });
        assert_eq!(replicas("DaemonSet", &daemons), (4, 5));
    }
}
