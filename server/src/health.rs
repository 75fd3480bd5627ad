//! `/healthz` (the process is up) and `/readyz` (it can serve: database reachable, schema current,
//! not shutting down; with leader election's state as detail).

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

/// The body of both health endpoints.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, `ready` or `not ready`.
    pub status: &'static str,
    /// Why the server is not ready, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The running version.
    pub version: &'static str,
    /// Leader election: this replica, whether it leads, who does, its last renewal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<control::leader::LeaderStatus>,
}

/// Liveness: answers as long as the process serves HTTP.
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        reason: None,
        version: model::build::VERSION,
        leader: None,
    })
}

/// Readiness: 200 when not shutting down, Postgres answers, every migration is applied and the
/// deployment adapters' caches have synced; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let reason = if state.draining.is_cancelled() {
        Some("shutting down".to_owned())
    } else {
        not_ready_because(&state).await
    };
    let (code, status) = match reason {
        None => (StatusCode::OK, "ready"),
        Some(_) => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
    };
    (
        code,
        Json(Health {
            status,
            reason,
            version: model::build::VERSION,
            leader: Some(state.leadership.status()),
        }),
    )
}

/// Why the server cannot serve (the database, its schema, the adapters), if it cannot.
async fn not_ready_because(state: &AppState) -> Option<String> {
    let ready = match control::store::check_ready(&state.pool).await {
        Ok(()) => state.service.adapters_ready().await,
        Err(error) => Err(error),
    };
    let error = ready.err()?;
    tracing::warn!(%error, "not ready");
    Some(match error {
        control::Error::SchemaBehind { .. } | control::Error::Cluster(_) => error.to_string(),
        _ => "database unreachable".to_owned(),
    })
}
