//! Checks on every value that reaches helm's command line. helm runs without a shell, so the
//! danger is a value read as a flag (`--post-renderer=…`), a path outside what was meant, or
//! a control character in a name; each check names the field and says what is allowed.

use control_core::{Error, Result};

/// Helm's limit on release names (RFC 1123 label, at most 53 characters).
pub const MAX_RELEASE_NAME: usize = 53;

/// A release name: lowercase letters, digits and '-', starting and ending with a letter or
/// digit, at most 53 characters.
pub fn release_name(value: &str) -> Result<()> {
    control_core::validate::rfc1123_label("name", value, MAX_RELEASE_NAME)
}

/// Anything else passed as an argument: printable, not empty, not starting with '-'.
pub fn plain(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.starts_with('-') {
        return Err(Error::invalid(
            field,
            format!("{:?} must not start with '-'", shorten(value)),
        ));
    }
    if value.len() > 512 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            field,
            format!(
                "{:?} must be at most 512 printable characters without spaces",
                shorten(value)
            ),
        ));
    }
    Ok(())
}

/// A chart version or version constraint: `1.2.3`, `^1.2`, `>=1.0.0 <2.0.0` is not allowed
/// (no spaces); letters, digits and `.+-~^*<>=x` only.
pub fn chart_version(value: &str) -> Result<()> {
    plain("chartVersion", value)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".+-~^*<>=_".contains(c))
    {
        Ok(())
    } else {
        Err(Error::invalid(
            "chartVersion",
            format!(
                "{:?} is not a chart version such as 1.2.3 or ^1.2",
                shorten(value)
            ),
        ))
    }
}

/// A chart name in a repository: letters, digits, '-', '_' and '.'.
pub fn chart_name(value: &str) -> Result<()> {
    plain("chart", value)?;
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !value.contains("..")
    {
        Ok(())
    } else {
        Err(Error::invalid(
            "chart",
            format!("{:?} is not a chart name", shorten(value)),
        ))
    }
}

/// An `oci://host[:port]/path` chart reference.
pub fn oci_reference(value: &str) -> Result<()> {
    plain("chart", value)?;
    let rest = value.strip_prefix("oci://").ok_or_else(|| {
        Error::invalid(
            "chart",
            format!("{:?} is not an oci:// reference", shorten(value)),
        )
    })?;
    let ok = rest.contains('/')
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@".contains(&b))
        && !rest.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "chart",
            format!(
                "{:?} is not an oci://registry/repository reference",
                shorten(value)
            ),
        ))
    }
}

/// A chart repository URL (`field` names where it came from): http(s) or oci, no
/// credentials inside it.
pub fn repository_url(field: &'static str, value: &str) -> Result<()> {
    plain(field, value)?;
    let rest = ["https://", "http://", "oci://"]
        .iter()
        .find_map(|scheme| value.strip_prefix(scheme))
        .ok_or_else(|| Error::invalid(field, "must start with https://, http:// or oci://"))?;
    if rest
        .split('/')
        .next()
        .is_some_and(|host| host.contains('@'))
    {
        return Err(Error::invalid(
            field,
            "must not carry credentials; set repositoryUsername and repositoryPassword",
        ));
    }
    Ok(())
}

fn shorten(value: &str) -> String {
    value.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_rfc_1123_and_helms_limit() {
        for ok in ["web", "my-cnf-prod", "a1", &"a".repeat(53)] {
            assert!(release_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-web",
            "web-",
            "Web",
            "web_1",
            "web.1",
            &"a".repeat(54),
            "--set=x",
            "a b",
            "é",
        ] {
            assert!(release_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_value_can_become_a_flag() {
        let hostile = [
            "--post-renderer=/bin/sh",
            "-f/etc/passwd",
            "--kubeconfig=/tmp/x",
            "x\n--debug",
            "$(reboot)",
            "a;rm -rf /",
            "../../etc/passwd",
        ];
        for value in hostile {
            assert!(chart_version(value).is_err(), "version {value}");
            assert!(chart_name(value).is_err(), "chart {value}");
            assert!(oci_reference(value).is_err(), "oci {value}");
            assert!(release_name(value).is_err(), "name {value}");
        }
        assert!(chart_version("^1.2.0").is_ok());
        assert!(chart_name("podinfo").is_ok());
        assert!(oci_reference("oci://ghcr.io/stefanprodan/charts/podinfo").is_ok());
        for url in [
            "https://user:pw@charts.example.com",
            "ftp://charts.example.com",
        ] {
            assert!(
                matches!(
                    repository_url("url", url),
                    Err(Error::Invalid { field: "url", .. })
                ),
                "{url}"
            );
        }
        assert!(repository_url("url", "https://charts.example.com").is_ok());
    }
}
