//! Where to send a user after sign-in: only paths on this site, never another origin.

/// `candidate` when it is a same-origin path, otherwise `/`.
pub fn sanitize(candidate: Option<&str>) -> String {
    match candidate {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.starts_with("/auth/")
        && path.len() <= 2048
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_local_paths() {
        assert_eq!(
            sanitize(Some("/deployments?ns=a-prod")),
            "/deployments?ns=a-prod"
        );
        assert_eq!(sanitize(Some("/")), "/");
    }

    #[test]
    fn refuses_other_origins_and_tricks() {
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "deployments",
            "/a\nb",
            "/auth/login",
            "/a\\b",
        ] {
            assert_eq!(sanitize(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(sanitize(None), "/");
    }
}
