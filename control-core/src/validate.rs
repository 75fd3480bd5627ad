//! Checks on names and free text that reach Kubernetes, Postgres or the UI.

use crate::{Error, Result};

/// A Kubernetes DNS-1123 label: tenant slugs and namespaces.
pub fn dns_label(field: &'static str, value: &str) -> Result<()> {
    rfc1123_label(field, value, 63)
}

/// An RFC 1123 label of at most `max` characters (Helm release names use 53).
pub fn rfc1123_label(field: &'static str, value: &str, max: usize) -> Result<()> {
    if model::reference::is_rfc1123_label(value, max) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "{:?} must be 1-{max} lowercase letters, digits or '-', starting and ending with a letter or digit",
                shorten(value)
            ),
        ))
    }
}

/// Human text such as display names: bounded, no control characters.
pub fn text(field: &'static str, value: &str, max_chars: usize) -> Result<()> {
    let count = value.chars().count();
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if count > max_chars {
        return Err(Error::invalid(
            field,
            format!("must be at most {max_chars} characters, got {count}"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// The longest string any field of a request takes, in characters (a values document sent as
/// one string is the largest).
pub const MAX_STRING_CHARS: usize = 1 << 20;

/// Why `value` may not be part of a request, if it may not: a control character other than
/// tab, line feed and carriage return (Postgres stores no U+0000 in `text` or `jsonb`, and
/// the others hide what a field says), or more than [`MAX_STRING_CHARS`] characters.
pub fn unreadable(value: &str) -> Option<String> {
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Some(format!(
            "contains the control character U+{:04X}; remove it",
            u32::from(c)
        ));
    }
    let count = value.chars().count();
    (count > MAX_STRING_CHARS)
        .then(|| format!("is {count} characters long; no field takes more than {MAX_STRING_CHARS}"))
}

/// Refuses a JSON document holding a string or key that [`unreadable`] refuses, naming where
/// it is (`values.auth.password`, `items[2]`); `root` names the document itself.
pub fn json_strings(value: &serde_json::Value, root: &str) -> Result<()> {
    let mut stack = vec![(root.to_owned(), value)];
    while let Some((at, value)) = stack.pop() {
        let child = |key: &str| {
            if at.is_empty() {
                key.to_owned()
            } else {
                format!("{at}.{key}")
            }
        };
        match value {
            serde_json::Value::String(text) => check_string(&at, text)?,
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((format!("{at}[{i}]"), item));
                }
            }
            serde_json::Value::Object(fields) => {
                for (key, item) in fields {
                    // A hostile key is named by where it sits, never echoed.
                    check_string(&at, key)?;
                    stack.push((child(key), item));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses `value` at `field` when [`unreadable`] does.
pub fn check_string(field: &str, value: &str) -> Result<()> {
    match unreadable(value) {
        None => Ok(()),
        Some(message) => Err(Error::Unreadable {
            // Keys come from the request: a place named by very long ones is cut short.
            field: if field.is_empty() {
                "body".into()
            } else {
                shorten(field)
            },
            message,
        }),
    }
}

/// At most 60 characters of `value`, for echoing hostile input back safely.
fn shorten(value: &str) -> String {
    let mut short: String = value.chars().take(60).collect();
    if short.len() < value.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_where_they_sit_and_never_echoed() {
        let body =
            serde_json::json!({ "name": "ok", "values": { "auth": { "password": "a\u{0}b" } } });
        let Err(Error::Unreadable { field, message }) = json_strings(&body, "") else {
            panic!("a NUL passed");
        };
        assert_eq!(field, "values.auth.password");
        assert_eq!(message, "contains the control character U+0000; remove it");
        let list = serde_json::json!({ "items": ["a", "b\u{1b}[31m"] });
        let Err(Error::Unreadable { field, .. }) = json_strings(&list, "") else {
            panic!("an escape sequence passed");
        };
        assert_eq!(field, "items[1]");
        let key = serde_json::json!({ "labels": { "bad\u{7f}key": "v" } });
        assert!(
            matches!(json_strings(&key, ""), Err(Error::Unreadable { field, .. }) if field == "labels")
        );
        let text = serde_json::json!({ "values": "a: 1\n\tb: 2\r\n", "n": 1e300, "ok": true });
        assert!(json_strings(&text, "").is_ok(), "tab and newlines are text");
        assert!(unreadable(&"x".repeat(MAX_STRING_CHARS + 1)).is_some());
        assert!(unreadable("\u{85}").is_some(), "C1 controls too");
    }

    #[test]
    fn dns_labels() {
        for ok in ["a", "team-a", "x1", &"a".repeat(63)] {
            assert!(dns_label("namespace", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Team",
            "a_b",
            "a.b",
            &"a".repeat(64),
            "a;rm -rf /",
            "ä",
        ] {
            assert!(dns_label("namespace", bad).is_err(), "{bad}");
        }
        let error = dns_label("namespace", "Bad Name").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid namespace: \"Bad Name\" must be"),
            "{error}"
        );
    }

    #[test]
    fn texts() {
        assert!(text("display name", "Team A", 200).is_ok());
        for refused in ["  ", "a\u{0}b", &"x".repeat(201)] {
            assert!(
                matches!(
                    text("display name", refused, 200),
                    Err(Error::Invalid {
                        field: "display name",
                        ..
                    })
                ),
                "{refused:?}"
            );
        }
    }
}
