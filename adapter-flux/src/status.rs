//! Flux conditions to Pilothouse statuses, as the reference adapter maps them:
//! Ready=True → deployed; Ready=False while progressing (or Reconciling=True) → deploying;
//! Ready=False for any other reason → failed; Ready=Unknown → deploying; no conditions →
//! pending. `spec.suspend` is shown beside the underlying state.

use model::deployment::{Condition, DeploymentState, DeploymentStatus};
use serde_json::Value;

/// Reasons that mean "still working" rather than "failed".
const PROGRESSING_REASONS: [&str; 3] =
    ["Progressing", "ProgressingWithRetry", "DependencyNotReady"];

/// The state of a Flux object (HelmRelease or Kustomization) from its status and spec.
pub fn state_of(object: &Value) -> DeploymentState {
    let conditions = conditions(object);
    let suspended = object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    let reconciling = conditions
        .iter()
        .any(|c| c.kind == "Reconciling" && c.status == "True");
    let ready = conditions.iter().find(|c| c.kind == "Ready");
    let (status, progress, message) = match ready {
        None if conditions.is_empty() => (
            DeploymentStatus::Pending,
            0,
            "waiting for the controller".to_owned(),
        ),
        None => (
            DeploymentStatus::Deploying,
            25,
            "no Ready condition yet".to_owned(),
        ),
        Some(ready) => match ready.status.as_str() {
            "True" => (DeploymentStatus::Deployed, 100, ready.message.clone()),
            "False" if reconciling || PROGRESSING_REASONS.contains(&ready.reason.as_str()) => {
                (DeploymentStatus::Deploying, 50, ready.message.clone())
            }
            "False" => (DeploymentStatus::Failed, 100, ready.message.clone()),
            _ => (DeploymentStatus::Deploying, 50, ready.message.clone()),
        },
    };
    DeploymentState {
        status,
        suspended,
        progress,
        message,
        conditions,
        // Kept in the metadata, which the caller adds (`cache::to_deployment`).
        suspend_reason: None,
    }
}

/// The object's conditions, as reported.
pub fn conditions(object: &Value) -> Vec<Condition> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(condition).collect())
        .unwrap_or_default()
}

fn condition(value: &Value) -> Option<Condition> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(Condition {
        kind: text("type")?,
        status: text("status")?,
        reason: text("reason").unwrap_or_default(),
        message: text("message").unwrap_or_default(),
        last_transition_time: text("lastTransitionTime"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(conditions: Value, suspend: bool) -> Value {
        json!({ "spec": { "suspend": suspend }, "status": { "conditions": conditions } })
    }

    fn ready(status: &str, reason: &str) -> Value {
        json!({ "type": "Ready", "status": status, "reason": reason, "message": format!("{reason} message") })
    }

    #[test]
    fn the_reference_mapping() {
        let cases = [
            (
                json!([ready("True", "ReconciliationSucceeded")]),
                DeploymentStatus::Deployed,
                100,
            ),
            (
                json!([ready("False", "Progressing")]),
                DeploymentStatus::Deploying,
                50,
            ),
            (
                json!([ready("False", "InstallFailed"), { "type": "Reconciling", "status": "True", "reason": "Progressing" }]),
                DeploymentStatus::Deploying,
                50,
            ),
            (
                json!([ready("False", "InstallFailed")]),
                DeploymentStatus::Failed,
                100,
            ),
            (
                json!([ready("False", "ArtifactFailed")]),
                DeploymentStatus::Failed,
                100,
            ),
            (
                json!([ready("Unknown", "Progressing")]),
                DeploymentStatus::Deploying,
                50,
            ),
            (json!([]), DeploymentStatus::Pending, 0),
        ];
        for (conditions, status, progress) in cases {
            let state = state_of(&with(conditions.clone(), false));
            assert_eq!(
                (state.status, state.progress),
                (status, progress),
                "{conditions}"
            );
            assert!(!state.suspended);
        }
        assert_eq!(state_of(&json!({})).status, DeploymentStatus::Pending);
    }

    #[test]
    fn suspension_is_shown_beside_the_state() {
        let state = state_of(&with(
            json!([ready("True", "ReconciliationSucceeded")]),
            true,
        ));
        assert_eq!(
            (state.status, state.suspended),
            (DeploymentStatus::Deployed, true)
        );
        assert_eq!(state.message, "ReconciliationSucceeded message");
        assert_eq!(state.conditions[0].kind, "Ready");
    }
}
