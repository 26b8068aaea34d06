//! GitHub App authentication: verifying the App's JWT as GitHub does and
//! minting installation tokens.
//!
//! GitHub's rules (<https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app>):
//! RS256, `iss` = the App's ID (or client ID), `iat` in the past (GitHub
//! suggests 60 s back "to protect against clock drift"), and `exp` no more
//! than 10 minutes into the future.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::faults::SplitMix64;
use super::state::SimApp;

/// Allowed clock skew for `iat`.
pub const IAT_SKEW_SECS: i64 = 60;
/// The furthest `exp` may lie ahead.
pub const MAX_EXP_AHEAD_SECS: i64 = 600;

/// Why a JWT is refused (each a 401 with GitHub's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// No `Authorization: Bearer` header.
    #[error("A JSON web token could not be decoded")]
    Missing,
    /// Not a JWT, wrong algorithm, or a signature the App's key does not verify.
    #[error("A JSON web token could not be decoded")]
    Undecodable,
    /// `exp` missing or in the past.
    #[error(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
    )]
    Expired,
    /// `exp` more than 10 minutes ahead.
    #[error("'Expiration time' claim ('exp') is too far in the future")]
    ExpTooFar,
    /// `iat` missing or in the future.
    #[error(
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
    )]
    IatInFuture,
    /// `iss` is not this App.
    #[error("'Issuer' claim ('iss') must be an Integer")]
    WrongIssuer,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<serde_json::Value>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
}

/// Verify an App JWT against the App's public key at time `now` (Unix seconds).
pub fn verify_app_jwt(token: &str, app: &SimApp, now: i64) -> Result<(), JwtError> {
    let key = DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes())
        .map_err(|_| JwtError::Undecodable)?;
    let mut v = Validation::new(Algorithm::RS256);
    // Time claims are checked below with GitHub's own rules and messages.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|_| JwtError::Undecodable)?;
    let c = data.claims;
    let iss_ok = match &c.iss {
        Some(serde_json::Value::Number(n)) => n.as_u64() == Some(app.app_id),
        Some(serde_json::Value::String(s)) => {
            s.parse::<u64>().ok() == Some(app.app_id)
                || app.client_id.as_deref() == Some(s.as_str())
        }
        _ => false,
    };
    if !iss_ok {
        return Err(JwtError::WrongIssuer);
    }
    match c.iat {
        Some(iat) if iat <= now + IAT_SKEW_SECS => {}
        _ => return Err(JwtError::IatInFuture),
    }
    match c.exp {
        Some(exp) if exp <= now => Err(JwtError::Expired),
        Some(exp) if exp > now + MAX_EXP_AHEAD_SECS => Err(JwtError::ExpTooFar),
        Some(_) => Ok(()),
        None => Err(JwtError::Expired),
    }
}

/// A fresh installation token: `ghs_` and 36 alphanumerics, as GitHub's.
pub(crate) fn mint_token(rng: &mut SplitMix64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = String::from("ghs_");
    for _ in 0..36 {
        let i = (rng.next_u64() % ALPHABET.len() as u64) as usize;
        s.push(char::from(ALPHABET[i]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_github() {
        let mut rng = SplitMix64(3);
        let t = mint_token(&mut rng);
        assert!(t.starts_with("ghs_"));
        assert_eq!(t.len(), 40);
        assert_ne!(t, mint_token(&mut rng));
    }

    #[test]
    fn garbage_is_undecodable() {
        let app = SimApp {
            app_id: 1,
            client_id: None,
            slug: "x".into(),
            installation_id: 2,
            public_key_pem: "not a key".into(),
        };
        assert_eq!(verify_app_jwt("a.b.c", &app, 0), Err(JwtError::Undecodable));
    }
}
