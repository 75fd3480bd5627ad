//! Secrets never reach the audit log: values under secret-looking keys, `name`/`value` pairs
//! whose name looks secret (environment variables), Secrets' data, and credentials inside
//! URLs, in the parameters and in the error text. Refused attempts keep at most
//! [`DENIED_PARAMETERS_LIMIT`] bytes of parameters, so they cannot grow the chain at will.

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

/// How many bytes of parameters a refused attempt keeps; the rest is a digest.
pub const DENIED_PARAMETERS_LIMIT: usize = 16 * 1024;

/// Replaces, in place, every value whose key looks secret, the value of a `name`/`value` pair
/// whose name does, the data of Kubernetes Secrets, and credentials in URLs.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_secret_object = map.get("kind").and_then(Value::as_str) == Some("Secret");
            let secret_pair = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(key_looks_secret);
            for (key, child) in map.iter_mut() {
                let secret_data = is_secret_object && (key == "data" || key == "stringData");
                if secret_data {
                    redact_all_values(child);
                } else if (key_looks_secret(key) || (secret_pair && key == "value"))
                    && !child.is_null()
                {
                    *child = Value::String(REDACTED.into());
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(text) if text.contains("://") => *text = redact_text(text),
        _ => {}
    }
}

/// `text` with the user info of every URL in it (`https://user:pass@host`) replaced.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(user_end) => {
                out.push_str(REDACTED);
                out.push_str(&authority[user_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// For people reading objects and values (YAML exports, values views): the audit log's rule,
/// except that each value of a Secret's `data` and `stringData` says how large it was
/// (`[REDACTED: 24 bytes]`), so a reader can tell an empty key from a set one.
pub fn redact_for_reading(value: &mut Value) {
    match value {
        Value::Object(map) if map.get("kind").and_then(Value::as_str) == Some("Secret") => {
            let mut kept = Vec::new();
            for key in ["data", "stringData"] {
                if let Some(mut entries) = map.remove(key) {
                    sized(key == "data", &mut entries);
                    kept.push((key, entries));
                }
            }
            redact(value);
            if let Value::Object(map) = value {
                for (key, entries) in kept {
                    map.insert(key.to_owned(), entries);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_for_reading),
        other => redact(other),
    }
}

/// Replaces each value of a Secret's data with its size: decoded bytes for `data` (base64),
/// the text's bytes for `stringData`.
fn sized(base64_values: bool, entries: &mut Value) {
    use base64::Engine;
    let Value::Object(entries) = entries else {
        *entries = Value::String(REDACTED.into());
        return;
    };
    for value in entries.values_mut() {
        let text = value.as_str().unwrap_or_default();
        let bytes = if base64_values {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_or(text.len(), |decoded| decoded.len())
        } else {
            text.len()
        };
        *value = Value::String(format!("[REDACTED: {bytes} bytes]"));
    }
}

/// A refused attempt's parameters: whole when small, else the first
/// [`DENIED_PARAMETERS_LIMIT`] bytes of their JSON as text with the size and SHA-256 of all.
pub fn bounded(parameters: Value) -> Value {
    let text = parameters.to_string();
    if text.len() <= DENIED_PARAMETERS_LIMIT {
        return parameters;
    }
    let mut cut = DENIED_PARAMETERS_LIMIT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    use sha2::Digest;
    serde_json::json!({
        "truncated": {
            "bytes": text.len(),
            "sha256": hex::encode(sha2::Sha256::digest(text.as_bytes())),
        },
        "head": &text[..cut],
    })
}

/// A Secret's `data`: keep the keys (useful to auditors), drop every value.
/// Makes text storable: Postgres keeps no U+0000 in `text` or `jsonb`, so a NUL that got this
/// far is written as the six characters `\u0000` instead of failing the append (and with
/// it, the change it records).
fn storable_text(text: &str) -> String {
    text.replace('\u{0}', "\\u0000")
}

/// [`storable_text`] over every text of `event`, its parameters included.
pub fn storable(event: &mut super::event::NewEvent) {
    storable_value(&mut event.parameters);
    let actor = &mut event.actor;
    for text in [&mut event.action, &mut actor.issuer, &mut actor.subject]
        .into_iter()
        .chain(
            [
                &mut actor.email,
                &mut event.error,
                &mut event.request_id,
                &mut event.client_addr,
                &mut event.tenant,
                &mut event.namespace,
                &mut event.target_kind,
                &mut event.target_name,
            ]
            .into_iter()
            .flatten(),
        )
    {
        if text.contains('\u{0}') {
            *text = storable_text(text);
        }
    }
}

/// [`storable_text`] over every key and string of `value`.
fn storable_value(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('\u{0}') => *text = storable_text(text),
        Value::Array(items) => items.iter_mut().for_each(storable_value),
        Value::Object(fields) => {
            if fields.keys().any(|k| k.contains('\u{0}')) {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(k, v)| (storable_text(&k), v))
                    .collect();
            }
            fields.values_mut().for_each(storable_value);
        }
        _ => {}
    }
}

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

    #[test]
    fn readers_see_the_size_of_secret_data_and_nothing_secret() {
        let mut secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "db" },
            "data": { "password": "aHVudGVyMg==", "empty": "" },
            "stringData": { "token": "abc" },
        });
        redact_for_reading(&mut secret);
        assert_eq!(secret["data"]["password"], "[REDACTED: 7 bytes]");
        assert_eq!(secret["data"]["empty"], "[REDACTED: 0 bytes]");
        assert_eq!(secret["stringData"]["token"], "[REDACTED: 3 bytes]");
        let mut values = serde_json::json!({ "db": { "password": "hunter2", "host": "db" } });
        redact_for_reading(&mut values);
        assert_eq!(values["db"]["password"], REDACTED);
        assert_eq!(values["db"]["host"], "db");
    }
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
    fn env_pairs_urls_and_oversized_denials() {
        let mut values = json!({
            "env": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "LOG_LEVEL", "value": "debug"}],
            "repo": "https://bot:ghp_abc@github.com/org/repo.git",
            "note": "cloned oci://u:p@registry.example.com/x and http://plain.example.com/y",
        });
        redact(&mut values);
        assert_eq!(values["env"][0]["value"], REDACTED);
        assert_eq!(values["env"][1]["value"], "debug");
        assert_eq!(
            values["repo"],
            format!("https://{REDACTED}@github.com/org/repo.git")
        );
        assert_eq!(
            values["note"],
            format!(
                "cloned oci://{REDACTED}@registry.example.com/x and http://plain.example.com/y"
            )
        );
        assert_eq!(redact_text("no url here"), "no url here");

        let small = json!({ "a": 1 });
        assert_eq!(bounded(small.clone()), small);
        let big = json!({ "values": "é".repeat(20_000) });
        let kept = bounded(big.clone());
        assert_eq!(kept["truncated"]["bytes"], big.to_string().len());
        assert_eq!(kept["truncated"]["sha256"].as_str().map(str::len), Some(64));
        assert!(
            kept["head"]
                .as_str()
                .is_some_and(|h| h.len() <= DENIED_PARAMETERS_LIMIT)
        );
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
