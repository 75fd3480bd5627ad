//! Secrets never reach the audit log: values under secret-looking keys, and Secrets' data.

use serde_json::Value;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Words that mark a key as secret, wherever they appear in it (`dbPassword`, `api_key`).
const SECRET_WORDS: [&str; 7] = [
    "password",
    "passwd",
    "token",
    "secret",
    "key",
    "credential",
    "pwd",
];

/// Replaces, in place, every value whose key looks secret and the data of Kubernetes Secrets.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_secret_object = map.get("kind").and_then(Value::as_str) == Some("Secret");
            for (key, child) in map.iter_mut() {
                let secret_data = is_secret_object && (key == "data" || key == "stringData");
                if secret_data {
                    redact_all_values(child);
                } else if key_looks_secret(key) && !child.is_null() {
                    *child = Value::String(REDACTED.into());
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// A Secret's `data`: keep the keys (useful to auditors), drop every value.
fn redact_all_values(value: &mut Value) {
    match value {
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| *v = Value::String(REDACTED.into())),
        other => *other = Value::String(REDACTED.into()),
    }
}

/// Splits `dbPassword`, `db_password`, `db-password` into words and looks for a secret one.
fn key_looks_secret(key: &str) -> bool {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut word));
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    words.push(word);
    let joined = key.to_lowercase();
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || [
            "apikey",
            "accesskey",
            "privatekey",
            "secretkey",
            "authtoken",
        ]
        .iter()
        .any(|compound| joined.contains(compound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_looking_keys_are_redacted_at_any_depth() {
        let mut values = json!({
            "replicaCount": 3,
            "postgresql": {"auth": {"password": "hunter2", "username": "app"}},
            "apiKey": "abc", "api_key": "def", "AWS_SECRET_ACCESS_KEY": "ghi",
            "github-token": "jkl", "tls": {"privateKey": "-----BEGIN"},
            "monkey": "banana", "keyboard": "qwerty",
            "items": [{"dbPassword": "x"}],
        });
        redact(&mut values);
        assert_eq!(values["replicaCount"], 3);
        assert_eq!(values["postgresql"]["auth"]["password"], REDACTED);
        assert_eq!(values["postgresql"]["auth"]["username"], "app");
        for key in ["apiKey", "api_key", "AWS_SECRET_ACCESS_KEY", "github-token"] {
            assert_eq!(values[key], REDACTED, "{key}");
        }
        assert_eq!(values["tls"]["privateKey"], REDACTED);
        assert_eq!(values["items"][0]["dbPassword"], REDACTED);
        assert_eq!(values["monkey"], "banana");
        assert_eq!(values["keyboard"], "qwerty");
    }

    #[test]
    fn secrets_keep_their_keys_but_lose_their_data() {
        let mut object = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db"},
            "data": {"user": "YXBw", "pass": "aHVudGVyMg=="},
            "stringData": {"url": "postgres://app:hunter2@db"},
        });
        redact(&mut object);
        assert_eq!(object["metadata"]["name"], "db");
        assert_eq!(object["data"]["user"], REDACTED);
        assert_eq!(object["data"]["pass"], REDACTED);
        assert_eq!(object["stringData"]["url"], REDACTED);
    }
}
