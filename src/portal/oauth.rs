//! Sign in with GitHub: the web application flow of a GitHub App's user
//! tokens, with PKCE, used only to learn who the person is.
//!
//! Why no `oauth2` crate: the flow here is one redirect, one form POST and
//! one `GET /user`; the crate's value (providers, refresh, device flow,
//! token types) goes unused, its default HTTP client is a second one
//! (reqwest) beside octocrab's hyper stack, and GitHub answers token errors
//! with status 200 and an `error` body, which we must read ourselves
//! anyway. The exchange below is one request over octocrab's own client
//! (rustls, timeouts), and the PKCE S256 challenge is `sha2` + base64url.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Why signing in failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// GitHub refused the code (`bad_verification_code`: used already,
    /// expired, or its PKCE verifier does not match).
    #[error("GitHub did not accept the sign-in code ({0})")]
    BadCode(String),
    /// GitHub refused the App's credentials or redirect (an operator's
    /// configuration problem).
    #[error("GitHub refused the portal's sign-in settings ({0})")]
    Misconfigured(String),
    /// GitHub could not be reached, or answered an error.
    #[error("GitHub could not be reached: {0}")]
    Unreachable(String),
    /// The user token was not accepted (`GET /user` answered 401).
    #[error("GitHub did not accept the token")]
    BadToken,
}

/// Who a person is, according to GitHub.
#[async_trait]
pub trait Identity: Send + Sync {
    /// Exchange a callback's `code` (with the PKCE verifier) for a user
    /// token and return the token's login; the token is dropped.
    async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String, SignInError>;

    /// The login of a user token (`GET /user`).
    async fn login_of(&self, token: &str) -> Result<String, SignInError>;
}

/// A PKCE verifier (43 characters of base64url: 32 random bytes) and its
/// S256 challenge (RFC 7636).
pub fn pkce() -> (String, String) {
    let verifier = super::session::random_token();
    let challenge = challenge_of(&verifier);
    (verifier, challenge)
}

/// The S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Percent-encode a query value (RFC 3986 unreserved characters kept).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// GitHub's authorize URL for this sign-in.
pub fn authorize_url(
    web: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> String {
    format!(
        "{}/login/oauth/authorize?client_id={}&redirect_uri={}&state={}&code_challenge={}&code_challenge_method=S256",
        web.trim_end_matches('/'),
        encode(client_id),
        encode(redirect_uri),
        encode(state),
        encode(challenge),
    )
}

/// [`Identity`] over GitHub's web host (`/login/oauth/access_token`) and
/// API (`/user`).
pub struct GitHubIdentity {
    web: String,
    api: String,
    client_id: String,
    client_secret: SecretString,
    http: octocrab::Octocrab,
}

impl std::fmt::Debug for GitHubIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubIdentity")
            .field("web", &self.web)
            .field("api", &self.api)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Longest answer read from GitHub during sign-in.
const MAX_ANSWER: usize = 64 * 1024;

impl GitHubIdentity {
    /// An identity over `web` (e.g. `https://github.com`) and `api`
    /// (`https://api.github.com`), with a timeout per request.
    pub fn new(
        web: &str,
        api: &str,
        client_id: &str,
        client_secret: SecretString,
        timeout: Duration,
    ) -> Result<GitHubIdentity, SignInError> {
        // No credentials on this client: the App's secret goes in the form
        // body of one request, the user token in one header.
        let http = octocrab::Octocrab::builder()
            .set_connect_timeout(Some(timeout))
            .set_read_timeout(Some(timeout))
            .build()
            .map_err(|e| SignInError::Unreachable(e.to_string()))?;
        Ok(GitHubIdentity {
            web: web.trim_end_matches('/').to_string(),
            api: api.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret,
            http,
        })
    }

    async fn send(&self, req: http::Request<String>) -> Result<(u16, Vec<u8>), SignInError> {
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| SignInError::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| SignInError::Unreachable(e.to_string()))?
            .to_bytes();
        Ok((status, body.to_vec()))
    }
}

#[derive(Debug, serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[async_trait]
impl Identity for GitHubIdentity {
    async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String, SignInError> {
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| SignInError::Unreachable(e.to_string()))?;
        let req = http::Request::post(format!("{}/login/oauth/access_token", self.web))
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .map_err(|e| SignInError::Unreachable(e.to_string()))?;
        let (status, bytes) = self.send(req).await?;
        if !(200..300).contains(&status) {
            return Err(SignInError::Unreachable(format!(
                "POST /login/oauth/access_token answered {status}"
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes)
            .map_err(|_| SignInError::Unreachable("the token answer was not JSON".to_string()))?;
        match (answer.access_token, answer.error) {
            (Some(token), None) => {
                let token = SecretString::from(token);
                // The token's one use; it is dropped when this returns.
                self.login_of(token.expose_secret()).await
            }
            (_, Some(e)) if e == "bad_verification_code" => Err(SignInError::BadCode(e)),
            (_, Some(e)) => Err(SignInError::Misconfigured(e)),
            (None, None) => Err(SignInError::Unreachable(
                "the token answer had neither a token nor an error".to_string(),
            )),
        }
    }

    async fn login_of(&self, token: &str) -> Result<String, SignInError> {
        let req = http::Request::get(format!("{}/user", self.api))
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(String::new())
            .map_err(|_| SignInError::BadToken)?;
        let (status, bytes) = self.send(req).await?;
        match status {
            200 => {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                v["login"]
                    .as_str()
                    .filter(|l| crate::config::login_problem(l).is_none())
                    .map(str::to_string)
                    .ok_or_else(|| SignInError::Unreachable("GET /user had no login".into()))
            }
            401 | 403 => Err(SignInError::BadToken),
            s => Err(SignInError::Unreachable(format!("GET /user answered {s}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_of_rfc_7636_appendix_b() {
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let (v, c) = pkce();
        assert_eq!(v.len(), 43);
        assert_eq!(challenge_of(&v), c);
    }
}
