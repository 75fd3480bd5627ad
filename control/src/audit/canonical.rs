//! The chain's arithmetic: canonical JSON of a row and SHA-256 over the previous hash and it.

use super::event::NewEvent;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The previous hash of the first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// JSON with object keys sorted and no whitespace, so that the same row always hashes the same,
/// whatever order Postgres' jsonb returns keys in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A time as stored by Postgres (microseconds), so the hash survives the round trip.
pub fn stored_time(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

/// The hash of a row: SHA-256 over the previous hash and the row's canonical JSON.
pub fn row_hash(prev: &[u8], seq: i64, occurred_at: DateTime<Utc>, event: &NewEvent) -> [u8; 32] {
    let mut fields = json!({
        "seq": seq,
        "occurredAt": occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "operationId": event.operation_id.to_string(),
        "phase": event.phase.as_str(),
        "actorIssuer": event.actor.issuer,
        "actorSubject": event.actor.subject,
        "actorEmail": event.actor.email,
        "channel": event.channel.as_str(),
        "requestId": event.request_id,
        "clientAddr": event.client_addr,
        "action": event.action,
        "tenant": event.tenant,
        "namespace": event.namespace,
        "targetKind": event.target_kind,
        "targetName": event.target_name,
        "parameters": event.parameters,
        "outcome": event.outcome.map(|o| o.as_str()),
        "error": event.error,
    });
    // Versioning rule: a field added after rows were written enters the hash only when it
    // differs from the value every older row implicitly has, so old rows verify unchanged.
    // `cluster` (migration 0006) is hashed only when it is not `default`.
    if !event.cluster.is_default() {
        fields["cluster"] = json!(event.cluster.as_str());
    }
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical_json(&fields).as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let value = json!({"b": 1, "a": {"d": [true, null], "c": "x\"y"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":"x\"y","d":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn stored_time_drops_nanoseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(stored_time(t).timestamp_subsec_nanos(), 123_456_000);
    }
}
