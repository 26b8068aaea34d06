//! Cross-site request forgery: every form and every cookie-authenticated
//! API write carries the session's CSRF token, compared in constant time;
//! a request that names another origin is refused before the token is even
//! looked at. The session cookie is `SameSite=Lax` on top of both.

use subtle::ConstantTimeEq;

/// The form field and the API header that carry the token.
pub const FIELD: &str = "csrf";
/// The header the JSON API takes it in (cookie-authenticated calls only).
pub const HEADER: &str = "x-csrf-token";

/// True when `given` is the session's token.
pub fn token_matches(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else {
        return false;
    };
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// True when the request may come from the portal's own pages: its
/// `Origin` (sent by browsers on every POST) is the portal's, or, without
/// one, `Sec-Fetch-Site` does not say another site sent it. A client that
/// sends neither (curl) still needs the token.
pub fn origin_ok(headers: &http::HeaderMap, own_origin: &str) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match get("origin") {
        Some(origin) => origin.trim_end_matches('/') == own_origin.trim_end_matches('/'),
        None => !matches!(get("sec-fetch-site"), Some("cross-site" | "same-site")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_origins() {
        assert!(token_matches("abc", Some("abc")));
        assert!(!token_matches("abc", Some("abd")));
        assert!(!token_matches("abc", None));
        assert!(!token_matches("", Some("")));
        let mut h = http::HeaderMap::new();
        assert!(origin_ok(&h, "http://127.0.0.1:1"));
        h.insert(
            "origin",
            http::HeaderValue::from_static("http://evil.example"),
        );
        assert!(!origin_ok(&h, "http://127.0.0.1:1"));
        h.insert(
            "origin",
            http::HeaderValue::from_static("http://127.0.0.1:1"),
        );
        assert!(origin_ok(&h, "http://127.0.0.1:1/"));
    }
}
