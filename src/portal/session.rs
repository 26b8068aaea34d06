//! Signed cookies: the session (`seatkeeper-session`) and the sign-in in
//! progress (`seatkeeper-oauth`, its `state` and PKCE verifier).
//!
//! A cookie's value is `v1.<payload>.<mac>`: the payload is JSON in
//! base64url, the MAC an HMAC-SHA256 over the cookie's purpose and the
//! payload, so one kind of cookie never passes for another. Nothing secret
//! is in a payload (a login, random ids, an expiry); the GitHub token is
//! never stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The session cookie's name: its own, since browsers share cookies across
/// the ports of one host (the simulator's pages sit beside the portal in
/// the demo).
pub const SESSION_COOKIE: &str = "seatkeeper-session";
/// The cookie of a sign-in in progress.
pub const PENDING_COOKIE: &str = "seatkeeper-oauth";
/// How long a sign-in may take between leaving for GitHub and coming back
/// (GitHub's codes live ten minutes).
pub const PENDING_TTL_SECS: i64 = 600;
/// Shortest session key accepted from a file.
pub const MIN_KEY_BYTES: usize = 32;

/// Signs and checks cookie values.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

/// Why a cookie was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieProblem {
    /// No such cookie.
    Missing,
    /// Not signed by this portal's key (changed, forged, or from before a
    /// key change).
    Tampered,
    /// Signed, but past its expiry.
    Expired,
    /// Signed and current, but signed out since.
    SignedOut,
}

impl Signer {
    /// A signer over `key` (at least [`MIN_KEY_BYTES`] bytes).
    pub fn new(key: Vec<u8>) -> Signer {
        Signer { key }
    }

    /// A signer with a random key: sessions end when the process does.
    pub fn random() -> Signer {
        Signer::new(random_bytes::<32>().to_vec())
    }

    fn mac(&self, purpose: &str, payload: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(purpose.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac
    }

    /// The signed cookie value of `value` for `purpose`.
    pub fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let json = serde_json::to_vec(value).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(purpose, &payload).finalize().into_bytes());
        format!("v1.{payload}.{tag}")
    }

    /// The value of a cookie sealed for `purpose`, when its MAC holds.
    pub fn open<T: DeserializeOwned>(&self, purpose: &str, text: &str) -> Result<T, CookieProblem> {
        let mut parts = text.split('.');
        let (Some("v1"), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CookieProblem::Tampered);
        };
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| CookieProblem::Tampered)?;
        // verify_slice compares in constant time.
        self.mac(purpose, payload)
            .verify_slice(&tag)
            .map_err(|_| CookieProblem::Tampered)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| CookieProblem::Tampered)?;
        serde_json::from_slice(&json).map_err(|_| CookieProblem::Tampered)
    }
}

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Their GitHub login, from `GET /user` at sign-in.
    pub login: String,
    /// This session's id (for sign-out).
    pub sid: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// Unix time it ends.
    pub exp: i64,
}

impl Session {
    /// A new session for `login`, ending `ttl_secs` from `now`.
    pub fn new(login: &str, now: i64, ttl_secs: i64) -> Session {
        Session {
            login: login.to_string(),
            sid: random_token(),
            csrf: random_token(),
            exp: now + ttl_secs,
        }
    }
}

/// A sign-in on its way to GitHub and back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The `state` sent to GitHub; the callback must bring it back.
    pub state: String,
    /// The PKCE `code_verifier`.
    pub verifier: String,
    /// Unix time it ends.
    pub exp: i64,
}

/// `n` random bytes from `rand`'s thread generator (a CSPRNG seeded from
/// the operating system).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore as _;
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// 32 random bytes as base64url text.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
/// unless `secure` is false (a portal on loopback over plain HTTP);
/// `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let mut s = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax");
    if secure {
        s.push_str("; Secure");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_purpose() {
        let s = Signer::new(vec![7; 32]);
        let v = Session::new("mona", 100, 60);
        let sealed = s.seal("session", &v);
        assert_eq!(s.open::<Session>("session", &sealed), Ok(v));
        assert_eq!(
            s.open::<Session>("pending", &sealed),
            Err(CookieProblem::Tampered)
        );
        let other = Signer::new(vec![8; 32]);
        assert_eq!(
            other.open::<Session>("session", &sealed),
            Err(CookieProblem::Tampered)
        );
        // One changed character of the payload.
        let mut bytes = sealed.into_bytes();
        bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(
            s.open::<Session>("session", &changed),
            Err(CookieProblem::Tampered)
        );
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("a=1; seatkeeper-session_x=2; seatkeeper-session=3"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("3"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
