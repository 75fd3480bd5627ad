//! The metrics Pilothouse reports, by name, in one place. They go to the `metrics` facade;
//! the server installs the Prometheus recorder that serves them. Labels are bounded: kinds,
//! adapters, operations and outcomes, never user ids or object names.

use std::time::Duration;

/// `ok` or `error`, the outcome label of every timed operation.
pub fn outcome<T, E>(result: &Result<T, E>) -> &'static str {
    if result.is_ok() { "ok" } else { "error" }
}

/// One adapter operation (a change run by a deployment or sources adapter).
pub fn adapter_operation(
    adapter: &str,
    operation: &'static str,
    outcome: &'static str,
    took: Duration,
) {
    let labels = [
        ("adapter", adapter.to_owned()),
        ("operation", operation.to_owned()),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!("pilothouse_adapter_operations_total", &labels).increment(1);
    metrics::histogram!("pilothouse_adapter_operation_seconds", &labels).record(took.as_secs_f64());
}

/// One run of the helm binary.
pub fn helm_invocation(operation: &'static str, outcome: &'static str, took: Duration) {
    let labels = [("operation", operation), ("outcome", outcome)];
    metrics::counter!("pilothouse_helm_invocations_total", &labels).increment(1);
    metrics::histogram!("pilothouse_helm_invocation_seconds", &labels).record(took.as_secs_f64());
}

/// One audit row appended (or refused by the database).
pub fn audit_append(outcome: &'static str, took: Duration) {
    metrics::counter!("pilothouse_audit_appends_total", "outcome" => outcome).increment(1);
    metrics::histogram!("pilothouse_audit_append_seconds").record(took.as_secs_f64());
}

/// One verification of the audit chain: `intact`, `broken` or `error`.
pub fn audit_verify(result: &'static str) {
    metrics::counter!("pilothouse_audit_verifications_total", "result" => result).increment(1);
}

/// How many objects a watch cache holds for `kind`.
pub fn watch_objects(kind: &'static str, objects: usize) {
    metrics::gauge!("pilothouse_watch_objects", "kind" => kind).set(objects as f64);
}

/// Whether the watch cache for `kind` is current.
pub fn watch_synced(kind: &'static str, synced: bool) {
    metrics::gauge!("pilothouse_watch_synced", "kind" => kind).set(if synced { 1.0 } else { 0.0 });
}

/// A watch for `kind` failed or lost its history and starts again.
pub fn watch_restart(kind: &'static str) {
    metrics::counter!("pilothouse_watch_restarts_total", "kind" => kind).increment(1);
}

/// A server-sent event stream (`events` or `logs`) opened (`+1`) or closed (`-1`).
pub fn sse_clients(stream: &'static str, change: f64) {
    metrics::gauge!("pilothouse_sse_clients", "stream" => stream).increment(change);
}

/// A sign-in ended: `ok`, `denied` (the provider or our checks refused it) or `error`.
pub fn sign_in(outcome: &'static str) {
    metrics::counter!("pilothouse_sign_ins_total", "outcome" => outcome).increment(1);
}

/// Whether this replica leads (`1`) and when it last renewed its Lease.
pub fn leader(leading: bool, last_renewal: Option<chrono::DateTime<chrono::Utc>>) {
    metrics::gauge!("pilothouse_leader").set(if leading { 1.0 } else { 0.0 });
    if let Some(at) = last_renewal {
        metrics::gauge!("pilothouse_leader_last_renewal_timestamp_seconds")
            .set(at.timestamp() as f64);
    }
}
