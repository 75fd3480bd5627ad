//! Leader election among Pilothouse replicas through a `coordination.k8s.io` Lease, as
//! client-go's leaderelection does it: the leader renews the Lease every retry period; a
//! candidate takes it over once it has seen it unchanged for a whole lease duration (its own
//! clock only, so clocks may differ between pods); every write carries the resourceVersion
//! read, so two candidates cannot both win. Work that must happen once (audit retention,
//! tenancy drift repair) runs only while leading and is dropped as soon as the Lease is lost.

use crate::adapters::registry::ClusterRegistry;
use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Which Lease, and who this replica is.
#[derive(Debug, Clone)]
pub struct LeaderConfig {
    /// The Lease's namespace (Pilothouse's own).
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This replica's identity, unique among the candidates (the pod name and a suffix).
    pub identity: String,
    /// How long a Lease not renewed stays with its holder.
    pub lease_duration: Duration,
}

impl LeaderConfig {
    /// How often the leader renews and candidates look.
    pub fn retry_period(&self) -> Duration {
        (self.lease_duration / 5).max(Duration::from_millis(200))
    }

    /// How long the leader keeps leading when renewals fail: less than the lease duration,
    /// so it has stopped before anyone else may take over.
    fn renew_deadline(&self) -> Duration {
        self.lease_duration * 2 / 3
    }
}

/// What `/readyz` and the metrics say about leadership.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LeaderStatus {
    /// This replica.
    pub identity: String,
    /// Whether this replica leads.
    pub leading: bool,
    /// Who holds the Lease, as last read.
    pub holder: Option<String>,
    /// When this replica last renewed the Lease it holds.
    pub last_renewal: Option<DateTime<Utc>>,
}

/// A handle on this replica's leadership; clones share it. Holding the sender keeps the
/// channel open for as long as anyone asks, so waits never see it closed.
#[derive(Clone)]
pub struct Leadership {
    status: Arc<watch::Sender<LeaderStatus>>,
    stop: CancellationToken,
    stopped: CancellationToken,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Leadership {
    /// A replica that always leads: no cluster to hold a Lease in, so one replica only. It
    /// reports nothing to the process-wide metrics (a default handle must not overwrite a
    /// running campaign's gauge); `start` does that for a real sole replica.
    pub fn sole(identity: &str) -> Self {
        let (status, _) = watch::channel(LeaderStatus {
            identity: identity.to_owned(),
            leading: true,
            holder: Some(identity.to_owned()),
            last_renewal: None,
        });
        let stopped = CancellationToken::new();
        stopped.cancel();
        Self {
            status: Arc::new(status),
            stop: CancellationToken::new(),
            stopped,
        }
    }

    /// Campaigns in the first managed cluster, whose API server every replica reaches; leads
    /// alone when there is none.
    pub fn start(clusters: &ClusterRegistry, config: LeaderConfig) -> Self {
        match clusters.clusters().next() {
            Some(cluster) => {
                let api = Api::namespaced(cluster.connection().client().clone(), &config.namespace);
                tracing::info!(identity = %config.identity, lease = %config.name, namespace = %config.namespace, "campaigning for leadership");
                Self::elect(api, config)
            }
            None => {
                crate::metrics::leader(true, None);
                Self::sole(&config.identity)
            }
        }
    }

    /// Starts campaigning for the Lease in `api`'s namespace.
    pub fn elect(api: Api<Lease>, config: LeaderConfig) -> Self {
        let (status, _) = watch::channel(LeaderStatus {
            identity: config.identity.clone(),
            leading: false,
            holder: None,
            last_renewal: None,
        });
        let this = Self {
            status: Arc::new(status),
            stop: CancellationToken::new(),
            stopped: CancellationToken::new(),
        };
        let campaign = Campaign {
            api,
            config,
            status: this.status.clone(),
            observed: None,
            renewed: None,
        };
        tokio::spawn(campaign.run(this.stop.clone(), this.stopped.clone()));
        this
    }

    /// The current status.
    pub fn status(&self) -> LeaderStatus {
        self.status.borrow().clone()
    }

    /// Whether this replica leads now.
    pub fn is_leading(&self) -> bool {
        self.status.borrow().leading
    }

    /// Resolves when this replica leads (at once if it does).
    pub async fn until_leading(&self) {
        // The channel stays open while `self` holds its sender, so the wait cannot fail.
        let _ = self.status.subscribe().wait_for(|s| s.leading).await;
    }

    /// Resolves when this replica stops leading (at once if it does not lead).
    pub async fn until_lost(&self) {
        let _ = self.status.subscribe().wait_for(|s| !s.leading).await;
    }

    /// Runs `work` whenever this replica leads; each run is dropped when leadership is lost,
    /// and started anew when it comes back.
    pub fn spawn_while_leading<F, Fut>(&self, what: &'static str, work: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                this.until_leading().await;
                tracing::info!(work = what, "leading: starting leader work");
                tokio::select! {
                    () = work() => return,
                    () = this.until_lost() => {
                        tracing::info!(work = what, "leadership lost: leader work stopped");
                    }
                }
            }
        });
    }

    /// Stops campaigning and gives the Lease up if held, so another replica takes over at
    /// once instead of after a lease duration.
    pub async fn release(&self) {
        self.stop.cancel();
        self.stopped.cancelled().await;
    }
}

/// The campaign loop and what it has seen.
struct Campaign {
    api: Api<Lease>,
    config: LeaderConfig,
    status: Arc<watch::Sender<LeaderStatus>>,
    /// The Lease's resourceVersion as last read, and when it was first seen.
    observed: Option<(String, Instant)>,
    /// When this replica last renewed successfully (its clock for the deadline, and the
    /// wall-clock time for `/readyz`).
    renewed: Option<(Instant, DateTime<Utc>)>,
}

impl Campaign {
    async fn run(mut self, stop: CancellationToken, stopped: CancellationToken) {
        let mut tick = tokio::time::interval(self.config.retry_period());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let holder = match self.try_acquire_or_renew().await {
                Ok(holder) => holder,
                Err(error) => {
                    tracing::warn!(%error, lease = %self.config.name, "leader election: the Lease could not be read or written");
                    // The leader keeps leading until its renew deadline passes.
                    self.status.borrow().holder.clone()
                }
            };
            let leading = holder.as_deref() == Some(&self.config.identity)
                && self
                    .renewed
                    .is_some_and(|(at, _)| at.elapsed() < self.config.renew_deadline());
            self.publish(leading, holder);
        }
        if self.status.borrow().leading {
            // Stop leader work before the Lease goes, so two never overlap.
            self.publish(false, None);
            if let Err(error) = self.give_up().await {
                tracing::warn!(%error, "leader election: the Lease could not be released; it expires by itself");
            } else {
                tracing::info!(lease = %self.config.name, "leader election: Lease released");
            }
        }
        stopped.cancel();
    }

    fn publish(&self, leading: bool, holder: Option<String>) {
        let was = self.status.borrow().leading;
        if leading != was {
            if leading {
                tracing::info!(identity = %self.config.identity, "leader election: leading");
            } else {
                tracing::warn!(identity = %self.config.identity, ?holder, "leader election: not leading");
            }
        }
        let last_renewal = self.renewed.map(|(_, at)| at);
        self.status.send_replace(LeaderStatus {
            identity: self.config.identity.clone(),
            leading,
            holder,
            last_renewal,
        });
        crate::metrics::leader(leading, last_renewal);
    }

    /// One round: create the Lease, renew it, take it over once expired, or leave it.
    /// Returns the holder afterwards.
    async fn try_acquire_or_renew(&mut self) -> Result<Option<String>, kube::Error> {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let me = self.config.identity.clone();
        let seconds = i32::try_from(self.config.lease_duration.as_secs().max(1)).unwrap_or(15);
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.renewed = Some((Instant::now(), Utc::now()));
                    Ok(Some(me))
                }
                // Another replica created it first.
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(None),
                Err(error) => Err(error),
            };
        };
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let first_seen = match &self.observed {
            Some((seen, at)) if *seen == version => *at,
            _ => Instant::now(),
        };
        self.observed = Some((version, first_seen));
        let mine = holder.as_deref() == Some(me.as_str());
        let held_for = Duration::from_secs(
            spec.lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(self.config.lease_duration.as_secs()),
        );
        let expired = holder.is_none() || first_seen.elapsed() >= held_for;
        if !mine && !expired {
            return Ok(holder);
        }
        if !mine {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = Some(me.clone());
        spec.lease_duration_seconds = Some(seconds);
        spec.renew_time = Some(now);
        // The resourceVersion read makes this a compare-and-swap: 409 if anyone wrote since.
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                self.renewed = Some((Instant::now(), Utc::now()));
                Ok(Some(me))
            }
            // Someone wrote first: whoever it was holds it now; the next look says who.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                Ok(if mine { None } else { holder })
            }
            Err(error) => Err(error),
        }
    }

    /// Clears the holder so a candidate takes the Lease at its next look.
    async fn give_up(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(k8s_openapi::jiff::Timestamp::now()));
        self.api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sole_replica_leads_for_good() {
        let sole = Leadership::sole("only");
        assert!(sole.is_leading());
        tokio::time::timeout(Duration::from_secs(1), sole.until_leading())
            .await
            .expect("leads at once");
        let lost = tokio::time::timeout(Duration::from_millis(200), sole.until_lost()).await;
        assert!(lost.is_err(), "a sole replica never loses leadership");
        tokio::time::timeout(Duration::from_secs(1), sole.release())
            .await
            .expect("nothing to release");
    }
}
