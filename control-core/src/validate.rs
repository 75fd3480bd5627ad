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
