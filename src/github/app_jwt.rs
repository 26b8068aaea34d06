//! GitHub App JWTs, signed RS256 (RSASSA-PKCS1-v1_5 with SHA-256) by
//! `ring`, which seatkeeper already carries for TLS.
//!
//! Why not jsonwebtoken: its `rust_crypto` backend pulls the `rsa` crate,
//! which has an open advisory (RUSTSEC-2023-0071, a timing side channel in
//! RSA decryption), and the `aws_lc_rs` backend needs a C toolchain and
//! CMake to build. Signing a JWT needs only a PEM decoder, base64url and one
//! RSA signature, all here.
//!
//! GitHub's rules (<https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app>):
//! RS256, `iss` the App's id, `iat` 60 s in the past "to protect against
//! clock drift", `exp` at most 10 minutes ahead.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

/// `iat` is backdated this much.
pub const IAT_BACKDATE_SECS: i64 = 60;
/// `exp` lies this far ahead of now (GitHub allows 600 s; a little less
/// leaves room for a clock running slightly fast).
pub const EXP_AHEAD_SECS: i64 = 540;

/// Why a private key cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No `-----BEGIN ... PRIVATE KEY-----` block, or its base64 is broken.
    #[error("no PEM block (`-----BEGIN ...-----` to `-----END ...-----`, base64 in between)")]
    NotPem,
    /// A PEM block of another kind (a certificate, a public key, an EC
    /// key), by its label. Shown lowercase: error texts never carry a
    /// key-block marker that log scanners would flag.
    #[error("the PEM block holds {}, not an RSA private key", .0.to_lowercase())]
    WrongKind(String),
    /// The DER inside did not parse as an RSA key ring accepts (2048 to
    /// 8192 bits).
    #[error("the RSA private key was rejected: {0}")]
    Rejected(String),
    /// ring refused to sign (should not happen with a key it accepted).
    #[error("signing failed")]
    Sign,
}

/// A GitHub App's RSA private key, ready to sign. `Debug` never shows it.
pub struct AppKey {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppKey([REDACTED])")
    }
}

/// One PEM block: its label and the DER bytes.
pub fn pem_block(text: &str) -> Option<(String, Vec<u8>)> {
    let begin = text.find("-----BEGIN ")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body = &rest[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let b64: String = body[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    // RFC 7468 allows no headers in these blocks; an encrypted traditional
    // key ("Proc-Type:") fails to decode here, as it must.
    let der = STANDARD.decode(b64).ok()?;
    Some((label, der))
}

impl AppKey {
    /// Parse the App's key: PKCS#1 (`RSA PRIVATE KEY`, what GitHub hands
    /// out) or PKCS#8 (`PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<AppKey, KeyError> {
        let (label, der) = pem_block(pem).ok_or(KeyError::NotPem)?;
        let pair = match label.as_str() {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            other => return Err(KeyError::WrongKind(other.to_string())),
        }
        .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(AppKey {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// A compact JWS (`header.claims.signature`) over `claims`, RS256.
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String, KeyError> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, input.as_bytes(), &mut sig)
            .map_err(|_| KeyError::Sign)?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// The JWT GitHub wants from App `app_id` at Unix time `now`.
    pub fn app_jwt(&self, app_id: u64, now: i64) -> Result<String, KeyError> {
        self.sign(&serde_json::json!({
            "iat": now - IAT_BACKDATE_SECS,
            "exp": now + EXP_AHEAD_SECS,
            "iss": app_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/sim/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn signs_jwts_the_simulator_verifies() {
        let key = AppKey::from_pem(&fixture("app-private-key.pem")).unwrap();
        let app = crate::simulator::SimApp {
            app_id: 4242,
            client_id: None,
            slug: "seatkeeper".into(),
            installation_id: 1,
            public_key_pem: fixture("app-public-key.pem"),
        };
        let now = 1_800_000_000;
        let token = key.app_jwt(4242, now).unwrap();
        assert_eq!(crate::simulator::verify_app_jwt(&token, &app, now), Ok(()));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"iat": now - 60, "exp": now + 540, "iss": 4242})
        );
        // PKCS#1 v1.5 signatures are deterministic: the same input, the same token.
        assert_eq!(key.app_jwt(4242, now).unwrap(), token);
        // Another key's signature does not verify.
        let other = AppKey::from_pem(&fixture("other-private-key.pem")).unwrap();
        assert!(
            crate::simulator::verify_app_jwt(&other.app_jwt(4242, now).unwrap(), &app, now)
                .is_err()
        );
    }

    #[test]
    fn pkcs8_keys_sign_the_same() {
        // The same key, wrapped in PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`):
        // a PrivateKeyInfo around the PKCS#1 DER.
        let (_, pkcs1) = pem_block(&fixture("app-private-key.pem")).unwrap();
        let pkcs8 = wrap_pkcs8(&pkcs1);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8)
        );
        let a = AppKey::from_pem(&pem).unwrap().app_jwt(1, 0).unwrap();
        let b = AppKey::from_pem(&fixture("app-private-key.pem"))
            .unwrap()
            .app_jwt(1, 0)
            .unwrap();
        assert_eq!(a, b);
    }

    /// DER: SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING pkcs1 }.
    fn wrap_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
        fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            let n = body.len();
            if n < 128 {
                out.push(n as u8);
            } else {
                let bytes: Vec<u8> = n
                    .to_be_bytes()
                    .into_iter()
                    .skip_while(|b| *b == 0)
                    .collect();
                out.push(0x80 | bytes.len() as u8);
                out.extend(bytes);
            }
            out.extend_from_slice(body);
            out
        }
        let alg = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ];
        let mut body = vec![0x02, 0x01, 0x00];
        body.extend_from_slice(&alg);
        body.extend(tlv(0x04, pkcs1));
        tlv(0x30, &body)
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        let public = fixture("app-public-key.pem");
        let cases: &[(&str, &str, KeyError)] = &[
            ("not pem", "not a key", KeyError::NotPem),
            ("empty", "", KeyError::NotPem),
            (
                "no end line",
                "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n",
                KeyError::NotPem,
            ),
            (
                "broken base64",
                "-----BEGIN RSA PRIVATE KEY-----\n@@@@\n-----END RSA PRIVATE KEY-----\n",
                KeyError::NotPem,
            ),
            (
                "a public key",
                &public,
                KeyError::WrongKind("PUBLIC KEY".into()),
            ),
            (
                "an EC key",
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
                KeyError::WrongKind("EC PRIVATE KEY".into()),
            ),
        ];
        for (what, pem, want) in cases {
            assert_eq!(AppKey::from_pem(pem).unwrap_err(), *want, "{what}");
        }
        let garbage = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(
            AppKey::from_pem(garbage),
            Err(KeyError::Rejected(_))
        ));
        let key = AppKey::from_pem(&fixture("app-private-key.pem")).unwrap();
        assert_eq!(format!("{key:?}"), "AppKey([REDACTED])");
    }
}
