//! The workloads among a deployment's applied objects and their pods, read from the cluster,
//! and what an operator does to them: restart a rollout, delete a pod, run a CronJob now,
//! read a container's log. The service calls these with the namespace's tenant identity, so
//! the API server holds every read and write to the tenant's own namespaces too.

use crate::{Error, Result};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use model::deployment::{DeploymentEvent, InventoryEntry};
use model::workload::{ContainerSummary, PodLogQuery, PodSummary, WORKLOAD_KINDS, Workload};
use serde_json::json;
use std::collections::BTreeMap;

/// The annotation `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// Log lines a read returns at most.
pub const MAX_TAIL: i64 = 10_000;
/// Bytes a read returns at most (a container that logs long lines).
pub const MAX_LOG_BYTES: i64 = 4 * 1024 * 1024;
/// The field manager of Pilothouse's workload writes.
const MANAGER: &str = "pilothouse";

/// Whether `entry` is a workload kind this module shows.
pub fn is_workload(entry: &InventoryEntry) -> bool {
    matches!(entry.group.as_str(), "apps" | "batch")
        && WORKLOAD_KINDS.iter().any(|(kind, _)| *kind == entry.kind)
}

/// The workload kind a path segment names (`deployments` → `Deployment`).
pub fn kind_of_resource(resource: &str) -> Result<&'static str> {
    WORKLOAD_KINDS
        .iter()
        .find(|(_, plural)| *plural == resource)
        .map(|(kind, _)| *kind)
        .ok_or_else(|| {
            Error::invalid(
                "resource",
                format!(
                    "{resource:?} is not one of {}",
                    WORKLOAD_KINDS.map(|(_, plural)| plural).join(", ")
                ),
            )
        })
}

fn cluster(error: kube::Error) -> Error {
    crate::adapters::cluster_error(error)
}

/// The workloads among `entries` (all in `namespace`), each with its pods and their events:
/// four lists and one read per workload, whatever the pod count.
pub async fn in_namespace(
    client: &Client,
    namespace: &str,
    entries: &[&InventoryEntry],
) -> Result<Vec<Workload>> {
    let params = ListParams::default();
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .map_err(cluster)?
        .items;
    let replica_sets = Api::<ReplicaSet>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .map_err(cluster)?
        .items;
    let jobs = Api::<Job>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .map_err(cluster)?
        .items;
    let events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().fields("involvedObject.kind=Pod"))
        .await
        .map_err(cluster)?
        .items;
    // Who owns whom, by uid: a pod's owner, and that owner's owner (a Deployment's
    // ReplicaSets, a CronJob's Jobs).
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    for (uid, owners) in replica_sets
        .iter()
        .map(|r| (r.uid(), r.owner_references()))
        .chain(jobs.iter().map(|j| (j.uid(), j.owner_references())))
        .chain(pods.iter().map(|p| (p.uid(), p.owner_references())))
    {
        if let (Some(uid), Some(owner)) = (uid, owners.iter().find(|o| o.controller == Some(true)))
        {
            parent.insert(uid, owner.uid.clone());
        }
    }
    let owned_by = |pod: &Pod, workload: &str| {
        let mut at = pod.uid();
        for _ in 0..3 {
            match at.as_ref().and_then(|uid| parent.get(uid)) {
                Some(owner) if owner == workload => return true,
                Some(owner) => at = Some(owner.clone()),
                None => return false,
            }
        }
        false
    };
    let mut workloads = Vec::new();
    for entry in entries {
        let Some((uid, mut workload)) = read(client, namespace, &entry.kind, &entry.name).await?
        else {
            workloads.push(missing(entry));
            continue;
        };
        let mut found: Vec<PodSummary> = pods
            .iter()
            .filter(|pod| owned_by(pod, &uid))
            .map(|pod| summary(pod, &events))
            .collect();
        found.sort_by_key(|p| (!crashing(p), p.name.clone()));
        workload.pods = found;
        workloads.push(workload);
    }
    Ok(workloads)
}

/// A workload in the inventory that is not in the cluster.
fn missing(entry: &InventoryEntry) -> Workload {
    Workload {
        kind: entry.kind.clone(),
        namespace: entry.namespace.clone(),
        name: entry.name.clone(),
        desired: 0,
        updated: 0,
        ready: 0,
        available: 0,
        message: "not in the cluster: it was applied and has since been deleted".into(),
        healthy: false,
        schedule: None,
        last_schedule: None,
        pods: Vec::new(),
    }
}

/// One workload's rollout, and its uid (for the pods it owns); none when it is not there.
async fn read(
    client: &Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Option<(String, Workload)>> {
    let shell = |desired, updated, ready, available, message: String, healthy| Workload {
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        desired,
        updated,
        ready,
        available,
        message,
        healthy,
        schedule: None,
        last_schedule: None,
        pods: Vec::new(),
    };
    let condition_message = |conditions: Option<Vec<(String, String, String)>>| {
        conditions
            .unwrap_or_default()
            .into_iter()
            .find(|(kind, _, _)| kind == "Progressing" || kind == "Available")
            .map(|(_, _, message)| message)
            .unwrap_or_default()
    };
    let found = match kind {
        "Deployment" => Api::<Deployment>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(cluster)?
            .map(|d| {
                let status = d.status.clone().unwrap_or_default();
                let desired = d.spec.replicas.unwrap_or(1);
                let conditions = status.conditions.map(|c| {
                    c.into_iter()
                        .map(|c| {
                            (
                                c.type_.unwrap_or_default(),
                                c.status.unwrap_or_default(),
                                c.message.unwrap_or_default(),
                            )
                        })
                        .collect()
                });
                let ready = status.ready_replicas.unwrap_or(0);
                let updated = status.updated_replicas.unwrap_or(0);
                let workload = shell(
                    desired,
                    updated,
                    ready,
                    status.available_replicas.unwrap_or(0),
                    condition_message(conditions),
                    ready >= desired && updated >= desired,
                );
                (d.uid(), workload)
            }),
        "StatefulSet" => Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(cluster)?
            .map(|s| {
                let status = s.status.clone().unwrap_or_default();
                let desired = s.spec.replicas.unwrap_or(1);
                let ready = status.ready_replicas.unwrap_or(0);
                let workload = shell(
                    desired,
                    status.updated_replicas.unwrap_or(0),
                    ready,
                    status.available_replicas.unwrap_or(0),
                    format!("{ready} of {desired} ready"),
                    ready >= desired,
                );
                (s.uid(), workload)
            }),
        "DaemonSet" => Api::<DaemonSet>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(cluster)?
            .map(|d| {
                let status = d.status.clone().unwrap_or_default();
                let desired = status.desired_number_scheduled;
                let workload = shell(
                    desired,
                    status.updated_number_scheduled.unwrap_or(0),
                    status.number_ready,
                    status.number_available.unwrap_or(0),
                    format!("{} of {desired} ready", status.number_ready),
                    status.number_ready >= desired,
                );
                (d.uid(), workload)
            }),
        "Job" => Api::<Job>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(cluster)?
            .map(|j| (j.uid(), job(&j, shell))),
        "CronJob" => Api::<CronJob>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(cluster)?
            .map(|c| {
                let suspended = c.spec.suspend == Some(true);
                let mut workload = shell(
                    0,
                    0,
                    0,
                    0,
                    if suspended {
                        "suspended".into()
                    } else {
                        "scheduled".into()
                    },
                    !suspended,
                );
                workload.schedule = Some(c.spec.schedule.clone());
                workload.last_schedule = c
                    .status
                    .as_ref()
                    .and_then(|s| s.last_schedule_time.as_ref())
                    .map(|t| t.0.to_string());
                (c.uid(), workload)
            }),
        _ => None,
    };
    Ok(found.and_then(|(uid, workload)| uid.map(|uid| (uid, workload))))
}

fn job(job: &Job, shell: impl Fn(i32, i32, i32, i32, String, bool) -> Workload) -> Workload {
    let status = job.status.clone().unwrap_or_default();
    let desired = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
    let succeeded = status.succeeded.unwrap_or(0);
    let failed = status.failed.unwrap_or(0);
    let message = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.status == "True")
        .map(|c| c.message.unwrap_or(c.type_))
        .unwrap_or_else(|| format!("{succeeded} of {desired} succeeded, {failed} failed"));
    shell(
        desired,
        succeeded,
        status.ready.unwrap_or(0),
        succeeded,
        message,
        succeeded >= desired,
    )
}

/// Whether a pod's container is crashing or it failed.
fn crashing(pod: &PodSummary) -> bool {
    pod.phase.contains("BackOff") || pod.phase == "Failed" || pod.phase.contains("Error")
}

/// One pod as the page shows it.
fn summary(pod: &Pod, events: &[Event]) -> PodSummary {
    let status = pod.status.clone().unwrap_or_default();
    let statuses = status.container_statuses.unwrap_or_default();
    let spec_containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let mut phase = status.phase.unwrap_or_else(|| "Unknown".into());
    let mut last_termination = None;
    let containers: Vec<ContainerSummary> = spec_containers
        .iter()
        .map(|c| {
            let s = statuses.iter().find(|s| s.name == c.name);
            let state = s.and_then(|s| s.state.as_ref());
            let waiting = state.and_then(|s| s.waiting.as_ref());
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if let Some(reason) = waiting.and_then(|w| w.reason.clone())
                && reason != "ContainerCreating"
            {
                phase = reason;
            }
            let last = s
                .and_then(|s| s.last_state.as_ref())
                .and_then(|l| l.terminated.as_ref());
            if let Some(last) = last {
                last_termination = Some(format!(
                    "{}, exit code {}",
                    last.reason.clone().unwrap_or_else(|| "Terminated".into()),
                    last.exit_code
                ));
            }
            ContainerSummary {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                ready: s.is_some_and(|s| s.ready),
                restarts: s.map_or(0, |s| s.restart_count),
                state: match (waiting, terminated) {
                    (Some(w), _) => format!("Waiting: {}", w.reason.clone().unwrap_or_default()),
                    (_, Some(t)) => format!("Terminated: {}", t.reason.clone().unwrap_or_default()),
                    _ if s.is_some() => "Running".into(),
                    _ => "Pending".into(),
                },
                has_previous: last.is_some(),
            }
        })
        .collect();
    let name = pod.name_any();
    let mut pod_events: Vec<DeploymentEvent> = events
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name.as_str()))
        .map(|e| DeploymentEvent {
            kind: e.type_.clone().unwrap_or_else(|| "Normal".into()),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
            last_seen: e
                .last_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string())),
            source: e
                .source
                .as_ref()
                .and_then(|s| s.component.clone())
                .unwrap_or_default(),
        })
        .collect();
    pod_events.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
    pod_events.truncate(20);
    PodSummary {
        ready: format!(
            "{}/{}",
            containers.iter().filter(|c| c.ready).count(),
            containers.len()
        ),
        restarts: containers.iter().map(|c| c.restarts).sum(),
        name,
        phase,
        last_termination,
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        started_at: status.start_time.map(|t| t.0.to_string()),
        containers,
        events: pod_events,
    }
}

/// A container's log: the last lines, bounded in count and bytes.
pub async fn pod_log(
    client: &Client,
    namespace: &str,
    pod: &str,
    query: &PodLogQuery,
) -> Result<String> {
    let tail = query.tail.unwrap_or(200);
    if !(1..=MAX_TAIL).contains(&tail) {
        return Err(Error::invalid(
            "tail",
            format!("must be between 1 and {MAX_TAIL} lines"),
        ));
    }
    if let Some(container) = &query.container {
        crate::validate::dns_label("container", container)?;
    }
    Api::<Pod>::namespaced(client.clone(), namespace)
        .logs(pod, &log_params(query, tail, false))
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 400 => Error::invalid("container", s.message),
            kube::Error::Api(s) if s.code == 404 => Error::not_found("pod", pod.to_owned()),
            other => cluster(other),
        })
}

/// A container's log as it is written: lines until the container stops or the caller goes.
pub async fn follow_pod_log(
    client: &Client,
    namespace: &str,
    pod: &str,
    query: &PodLogQuery,
) -> Result<impl futures::Stream<Item = String> + Send + use<>> {
    use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
    if let Some(container) = &query.container {
        crate::validate::dns_label("container", container)?;
    }
    let reader = Api::<Pod>::namespaced(client.clone(), namespace)
        .log_stream(
            pod,
            &log_params(query, query.tail.unwrap_or(50).clamp(1, MAX_TAIL), true),
        )
        .await
        .map_err(cluster)?;
    Ok(reader
        .lines()
        .into_stream()
        .take_while(|line| futures::future::ready(line.is_ok()))
        .filter_map(|line| futures::future::ready(line.ok())))
}

fn log_params(query: &PodLogQuery, tail: i64, follow: bool) -> LogParams {
    LogParams {
        container: query.container.clone(),
        previous: query.previous,
        tail_lines: Some(tail),
        limit_bytes: Some(MAX_LOG_BYTES),
        follow,
        ..LogParams::default()
    }
}

/// `kubectl rollout restart`: a new pod-template annotation, so the controller rolls the pods.
pub async fn restart(client: &Client, namespace: &str, kind: &str, name: &str) -> Result<()> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch =
        json!({ "spec": { "template": { "metadata": { "annotations": { RESTARTED_AT: at } } } } });
    let params = PatchParams::default();
    let patch = Patch::Merge(&patch);
    let result = match kind {
        "Deployment" => Api::<Deployment>::namespaced(client.clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
        "StatefulSet" => Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
        "DaemonSet" => Api::<DaemonSet>::namespaced(client.clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
        other => {
            return Err(Error::invalid(
                "resource",
                format!("a {other} is not restarted; delete its pod or run it again"),
            ));
        }
    };
    result.map_err(|e| not_found_or(e, kind, name))
}

/// Deletes a pod (its controller makes a new one).
pub async fn delete_pod(client: &Client, namespace: &str, pod: &str) -> Result<()> {
    Api::<Pod>::namespaced(client.clone(), namespace)
        .delete(pod, &DeleteParams::default())
        .await
        .map(drop)
        .map_err(|e| not_found_or(e, "pod", pod))
}

/// `kubectl create job --from=cronjob/NAME`: a Job from the CronJob's template, owned by it,
/// named `NAME-manual-<time>`; answers its name.
pub async fn run_cronjob(client: &Client, namespace: &str, name: &str) -> Result<String> {
    let cronjob = Api::<CronJob>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(cluster)?
        .ok_or_else(|| Error::not_found("CronJob", name.to_owned()))?;
    let template = cronjob.spec.job_template.clone();
    let stamp = chrono::Utc::now().format("%y%m%d%H%M%S");
    // Job names are labels: the CronJob's name is cut so the suffix always fits.
    let base: String = name.chars().take(63 - 20).collect();
    let job_name = format!("{}-manual-{stamp}", base.trim_end_matches('-'));
    let mut annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    annotations.insert("cronjob.kubernetes.io/instantiate".into(), "manual".into());
    let job = Job {
        metadata: kube::api::ObjectMeta {
            name: Some(job_name.clone()),
            namespace: Some(namespace.to_owned()),
            labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
            annotations: Some(annotations),
            owner_references: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    api_version: "batch/v1".into(),
                    kind: "CronJob".into(),
                    name: name.to_owned(),
                    uid: cronjob.uid().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                },
            ]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    };
    Api::<Job>::namespaced(client.clone(), namespace)
        .create(
            &PostParams {
                field_manager: Some(MANAGER.into()),
                ..PostParams::default()
            },
            &job,
        )
        .await
        .map_err(cluster)?;
    Ok(job_name)
}

fn not_found_or(error: kube::Error, kind: &str, name: &str) -> Error {
    match error {
        kube::Error::Api(s) if s.code == 404 => {
            Error::not_found("object", format!("{kind} {name}"))
        }
        other => cluster(other),
    }
}
