//! CSRF protection for session-authenticated, state-changing requests: the request must carry
//! the session's token (header `x-csrf-token` or form field `csrf_token`) or come from our own
//! origin (`Origin` header, which browsers send on every cross-site and same-site POST).

use axum::http::{HeaderMap, Method};

/// The header a script may send the token in.
pub const HEADER: &str = "x-csrf-token";

/// Whether `method` changes state and so needs the check.
pub fn needs_check(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request proves it comes from our pages.
pub fn is_same_site(
    headers: &HeaderMap,
    public_origin: &str,
    session_token: Option<&str>,
    form_token: Option<&str>,
) -> bool {
    let sent = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .or(form_token);
    if let (Some(sent), Some(expected)) = (sent, session_token)
        && constant_time_eq(sent.as_bytes(), expected.as_bytes())
    {
        return true;
    }
    headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin == public_origin)
}

/// Compares without stopping at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const ORIGIN: &str = "https://pilothouse.example";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn our_origin_or_our_token_passes() {
        assert!(is_same_site(
            &headers(&[("origin", ORIGIN)]),
            ORIGIN,
            None,
            None
        ));
        assert!(is_same_site(
            &headers(&[(HEADER, "t0k")]),
            ORIGIN,
            Some("t0k"),
            None
        ));
        assert!(is_same_site(
            &headers(&[]),
            ORIGIN,
            Some("t0k"),
            Some("t0k")
        ));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(!is_same_site(&headers(&[]), ORIGIN, Some("t0k"), None));
        assert!(!is_same_site(
            &headers(&[("origin", "https://evil.example")]),
            ORIGIN,
            Some("t0k"),
            None
        ));
        assert!(!is_same_site(
            &headers(&[(HEADER, "wrong")]),
            ORIGIN,
            Some("t0k"),
            None
        ));
        assert!(!is_same_site(
            &headers(&[(HEADER, "t0k")]),
            ORIGIN,
            None,
            None
        ));
        assert!(!is_same_site(
            &headers(&[("origin", "null")]),
            ORIGIN,
            None,
            None
        ));
    }

    #[test]
    fn only_unsafe_methods_are_checked() {
        assert!(
            needs_check(&Method::POST)
                && needs_check(&Method::DELETE)
                && needs_check(&Method::PATCH)
        );
        assert!(!needs_check(&Method::GET) && !needs_check(&Method::HEAD));
    }
}
