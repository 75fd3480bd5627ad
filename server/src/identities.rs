//! Tenant identities kept in step with the tenancy: on the leader, a repair pass as it starts
//! leading and then every few minutes puts back a tenant service account or binding someone
//! deleted or changed, and removes those of namespaces no tenant owns. Each change is audited
//! by the service.

use control::Service;
use control::leader::Leadership;
use std::time::Duration;

/// How often the repair pass runs after the first.
const PERIOD: Duration = Duration::from_secs(5 * 60);

/// Runs one pass now and logs what it changed.
async fn repair_once(service: &Service) {
    match service.repair_tenant_identities().await {
        Ok(changes) if changes.is_empty() => tracing::debug!("tenant identities are in place"),
        Ok(changes) => {
            for change in changes {
                tracing::warn!(%change, "tenant identity drift repaired");
            }
        }
        Err(error) => tracing::error!(%error, "tenant identities could not be checked"),
    }
}

/// Starts the repair on the leader: a pass as soon as it leads, then periodically.
pub fn spawn(service: Service, leadership: &Leadership) {
    leadership.spawn_while_leading("tenancy drift repair", move || {
        let service = service.clone();
        async move {
            loop {
                repair_once(&service).await;
                tokio::time::sleep(PERIOD).await;
            }
        }
    });
}
