//! GitHub App authentication: verifying the App's JWT as GitHub does and
//! minting installation tokens.
//!
//! GitHub's rules (<https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app>):
//! RS256, `iss` = the App's ID (or client ID), `iat` in the past (GitHub
//! suggests 60 s back "to protect against clock drift"), and `exp` no more
//! than 10 minutes into the future.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
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
    let c = decode_rs256(token, &app.public_key_pem).ok_or(JwtError::Undecodable)?;
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

/// The claims of a compact RS256 JWS whose signature `public_key_pem`
/// verifies; `None` for anything else (another algorithm, a bad signature,
/// not a JWT). Time claims are checked by the caller, with GitHub's messages.
fn decode_rs256(token: &str, public_key_pem: &str) -> Option<Claims> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
    }
    let mut parts = token.split('.');
    let (header, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let h: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if h.alg != "RS256" {
        return None;
    }
    let key = rsa_public_key(public_key_pem)?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    let signed = &token[..header.len() + 1 + payload.len()];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &sig)
        .ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The PKCS#1 `RSAPublicKey` DER of a `PUBLIC KEY` (SubjectPublicKeyInfo,
/// what `openssl rsa -pubout` writes) or `RSA PUBLIC KEY` PEM.
fn rsa_public_key(pem: &str) -> Option<Vec<u8>> {
    let (label, der) = crate::github::app_jwt::pem_block(pem)?;
    match label.as_str() {
        "RSA PUBLIC KEY" => Some(der),
        "PUBLIC KEY" => {
            // SEQUENCE { SEQUENCE { OID, params }, BIT STRING { 0 unused bits, RSAPublicKey } }
            let (tag, spki, _) = der_tlv(&der)?;
            if tag != 0x30 {
                return None;
            }
            let (tag, algorithm, rest) = der_tlv(spki)?;
            const RSA_ENCRYPTION: &[u8] = &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
            ];
            if tag != 0x30 || !algorithm.starts_with(RSA_ENCRYPTION) {
                return None;
            }
            let (tag, bits, _) = der_tlv(rest)?;
            match (tag, bits.split_first()) {
                (0x03, Some((0, key))) => Some(key.to_vec()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One DER tag-length-value: `(tag, value, rest)`.
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
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
