//! GitHub's web application flow for a GitHub App's user access tokens
//! (<https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app#using-the-web-application-flow-to-generate-a-user-access-token>),
//! as the portal meets it:
//!
//! 1. `GET /login/oauth/authorize?client_id&redirect_uri&state&code_challenge&code_challenge_method=S256`:
//!    GitHub's consent page. Here it is a form with a text input named
//!    `login`, where the person types which simulated user they are.
//! 2. `POST /login/oauth/authorize` (that form): a redirect to
//!    `redirect_uri?code=...&state=...`. The code is valid for ten minutes
//!    ("The code will expire after 10 minutes") and once.
//! 3. `POST /login/oauth/access_token` with `client_id`, `client_secret`,
//!    `code`, `redirect_uri` and the PKCE `code_verifier`: the user token,
//!    as JSON when `Accept` asks for it, else form-encoded. Failures answer
//!    200 with an `error` body, as GitHub does ("Troubleshooting OAuth app
//!    access token request errors": `incorrect_client_credentials`,
//!    `redirect_uri_mismatch`, `bad_verification_code`).
//! 4. `GET /user` with `Authorization: Bearer <user token>`: who signed in.
//!
//! Tokens and codes live in memory, bounded; this file shares no state
//! with the installation-token machinery of `app_auth.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::server::{ApiError, Shared, header_str, json_response, lock};

/// `GET`/`POST` the consent page.
pub const AUTHORIZE: &str = "/login/oauth/authorize";
/// `POST` a code for a user token.
pub const ACCESS_TOKEN: &str = "/login/oauth/access_token";
/// `GET` the authenticated user.
use super::routes::AUTHENTICATED_USER;

/// The client id of the simulated GitHub App (a made-up value in GitHub's
/// `Iv1.` shape; the demo prints nothing secret).
pub const DEMO_CLIENT_ID: &str = "Iv1.5eatkeeperdemo";
/// Its client secret (the demo's: not a secret).
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";

/// "The code will expire after 10 minutes."
const CODE_TTL: Duration = Duration::from_secs(600);
/// User access tokens of a GitHub App expire after eight hours
/// (`expires_in: 28800`).
const USER_TOKEN_TTL: Duration = Duration::from_secs(28_800);
/// Bounds on what is remembered (a runaway test cannot grow memory).
const MAX_CODES: usize = 10_000;
const MAX_TOKENS: usize = 10_000;

const DOC_TROUBLESHOOT: &str =
    "/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

/// Requests whose authentication is not the simulator's static token: the
/// consent page and the token exchange take none (the client secret is in
/// the body); `GET /user` with a user token of this flow. Any other token
/// on `GET /user` goes through the usual check.
pub(crate) fn own_auth(sh: &Shared, route: &str, headers: &HeaderMap) -> bool {
    route == AUTHORIZE
        || route == ACCESS_TOKEN
        || (route == AUTHENTICATED_USER && user_token_login(sh, headers).is_some())
}

/// The login of the user token (of this flow) a request carries, if any:
/// what `GET /user` answers for it. A `GET /user` handler for other kinds
/// of token (the installation's identity) asks this first.
pub(crate) fn user_token_login(sh: &Shared, headers: &HeaderMap) -> Option<String> {
    sh.oauth.login_of(super::server::auth_token(headers)?)
}

/// A code waiting to be exchanged.
#[derive(Debug, Clone)]
struct PendingCode {
    login: String,
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    issued: Instant,
    used: bool,
}

/// The flow's memory: issued codes and user tokens.
#[derive(Debug)]
pub(crate) struct OAuthState {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    codes: HashMap<String, PendingCode>,
    tokens: HashMap<String, (String, Instant)>,
    code_ttl: Duration,
    down: bool,
}

impl Default for OAuthState {
    fn default() -> Self {
        OAuthState {
            inner: Mutex::new(Inner {
                codes: HashMap::new(),
                tokens: HashMap::new(),
                code_ttl: CODE_TTL,
                down: false,
            }),
        }
    }
}

impl OAuthState {
    /// The login a user token belongs to, while it is valid.
    pub(crate) fn login_of(&self, token: &str) -> Option<String> {
        let inner = lock(&self.inner);
        inner
            .tokens
            .get(token)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(l, _)| l.clone())
    }

    fn mint_token(&self, login: &str) -> String {
        let token = format!("ghu_{}", random_text(36));
        let mut inner = lock(&self.inner);
        let now = Instant::now();
        inner.tokens.retain(|_, (_, exp)| *exp > now);
        if inner.tokens.len() >= MAX_TOKENS {
            inner.tokens.clear();
        }
        inner
            .tokens
            .insert(token.clone(), (login.to_string(), now + USER_TOKEN_TTL));
        token
    }
}

/// Test and demo controls of the flow, from [`super::Simulator::oauth`].
#[derive(Clone)]
pub struct OAuthHandle(pub(crate) Arc<Shared>);

impl std::fmt::Debug for OAuthHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OAuthHandle")
    }
}

impl OAuthHandle {
    /// The App's client id and secret.
    pub fn client(&self) -> (&'static str, &'static str) {
        (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    }

    /// How long a code stays valid (GitHub: ten minutes).
    pub fn set_code_ttl(&self, ttl: Duration) {
        lock(&self.0.oauth.inner).code_ttl = ttl;
    }

    /// Make the three sign-in routes answer 503, as when github.com is
    /// unreachable behind a proxy (the REST routes keep working).
    pub fn set_down(&self, down: bool) {
        lock(&self.0.oauth.inner).down = down;
    }

    /// A user access token for `login`, as the flow would mint it: for API
    /// tests that skip the browser part.
    pub fn user_token(&self, login: &str) -> String {
        self.0.oauth.mint_token(login)
    }

    /// Codes issued so far (used or not).
    pub fn codes_issued(&self) -> usize {
        lock(&self.0.oauth.inner).codes.len()
    }
}

/// The flow's routes, registered by `server::router`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(AUTHORIZE, get(authorize_page).post(authorize_submit))
        .route(ACCESS_TOKEN, axum::routing::post(access_token))
}

fn random_text(len: usize) -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn down(sh: &Shared) -> Option<Response> {
    lock(&sh.oauth.inner)
        .down
        .then(|| ApiError::new(503, "Service Unavailable", super::server::DOC_REST).into_response())
}

/// The parameters of the authorize URL (and of the consent form, which
/// carries them along with `login`).
#[derive(Debug, Deserialize)]
struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login: Option<String>,
}

/// The redirect URI the request names, when the App accepts it. The
/// simulated App's callback is any loopback `http://` URL (a registered
/// callback on a real App; the portal's port is random in tests).
fn accepted_redirect(p: &AuthorizeParams) -> Result<String, &'static str> {
    if p.client_id.as_deref() != Some(DEMO_CLIENT_ID) {
        return Err("No application with this client_id exists.");
    }
    let uri = p.redirect_uri.clone().unwrap_or_default();
    let parsed: Result<http::Uri, _> = uri.parse();
    let loopback = parsed.ok().is_some_and(|u| {
        u.scheme_str() == Some("http")
            && matches!(u.host(), Some("127.0.0.1" | "localhost" | "[::1]"))
    });
    if !loopback {
        return Err("The redirect_uri is not associated with this application.");
    }
    if p.code_challenge.is_some() && p.code_challenge_method.as_deref() != Some("S256") {
        return Err("code_challenge_method must be S256.");
    }
    Ok(uri)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn authorize_page(
    State(sh): State<Arc<Shared>>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    if let Some(r) = down(&sh) {
        return r;
    }
    if let Err(problem) = accepted_redirect(&p) {
        return (StatusCode::BAD_REQUEST, Html(error_page(problem))).into_response();
    }
    let hidden = |name: &str, value: &Option<String>| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(value.as_deref().unwrap_or(""))
        )
    };
    let body = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorize seatkeeper (simulated GitHub)</title></head>
<body><main><h1>Sign in to the simulated GitHub</h1>
<p>An application wants to know who you are. Type the login of a simulated user.</p>
<form method="post" action="{AUTHORIZE}">
{}{}{}{}{}
<label for="login">Login</label> <input id="login" name="login" type="text" autocomplete="username" required autofocus>
<button type="submit" id="authorize">Authorize</button>
</form></main></body></html>"#,
        hidden("client_id", &p.client_id),
        hidden("redirect_uri", &p.redirect_uri),
        hidden("state", &p.state),
        hidden("code_challenge", &p.code_challenge),
        hidden("code_challenge_method", &p.code_challenge_method),
    );
    Html(body).into_response()
}

fn error_page(problem: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head><body><h1>Error</h1><p>{}</p></body></html>",
        escape(problem)
    )
}

async fn authorize_submit(
    State(sh): State<Arc<Shared>>,
    axum::Form(p): axum::Form<AuthorizeParams>,
) -> Response {
    if let Some(r) = down(&sh) {
        return r;
    }
    let redirect = match accepted_redirect(&p) {
        Ok(r) => r,
        Err(problem) => {
            return (StatusCode::BAD_REQUEST, Html(error_page(problem))).into_response();
        }
    };
    let typed = p.login.as_deref().unwrap_or("").trim();
    let Some(login) = sh.state().canonical_login(typed) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(error_page(&format!(
                "Incorrect username: no simulated user is called `{typed}`."
            ))),
        )
            .into_response();
    };
    let code = random_text(20);
    {
        let mut inner = lock(&sh.oauth.inner);
        let ttl = inner.code_ttl;
        inner
            .codes
            .retain(|_, c| c.issued.elapsed() < ttl && !c.used);
        if inner.codes.len() >= MAX_CODES {
            inner.codes.clear();
        }
        inner.codes.insert(
            code.clone(),
            PendingCode {
                login,
                client_id: DEMO_CLIENT_ID.to_string(),
                redirect_uri: redirect.clone(),
                challenge: p.code_challenge.clone(),
                issued: Instant::now(),
                used: false,
            },
        );
    }
    let mut query = format!("code={code}");
    if let Some(state) = &p.state {
        query.push_str("&state=");
        query.push_str(&percent_encode(state));
    }
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = format!("{redirect}{sep}{query}");
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = header::HeaderValue::try_from(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn percent_encode(s: &str) -> String {
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

/// The token request: form-encoded (as GitHub documents it) or JSON.
#[derive(Debug, Default, Deserialize)]
struct TokenParams {
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

#[derive(Debug, Serialize)]
struct TokenError {
    error: &'static str,
    error_description: &'static str,
    error_uri: String,
}

#[derive(Debug, Serialize)]
struct TokenGrant {
    access_token: String,
    expires_in: u64,
    refresh_token: String,
    refresh_token_expires_in: u64,
    scope: String,
    token_type: &'static str,
}

fn token_error(code: &'static str) -> TokenError {
    let (description, anchor) = match code {
        "incorrect_client_credentials" => (
            "The client_id and/or client_secret passed are incorrect.",
            "incorrect-client-credentials",
        ),
        "redirect_uri_mismatch" => (
            "The redirect_uri MUST match the registered callback URL for this application.",
            "redirect-uri-mismatch2",
        ),
        _ => (
            "The code passed is incorrect or expired.",
            "bad-verification-code",
        ),
    };
    TokenError {
        error: code,
        error_description: description,
        error_uri: format!("{DOC_TROUBLESHOOT}/#{anchor}"),
    }
}

/// Redeem a code: checks in GitHub's order (client, code, redirect, PKCE);
/// the code is spent by the first attempt whatever its outcome, as a
/// replayed code must never work. A PKCE verifier that does not match is
/// answered as a bad code: the troubleshooting page lists no other error
/// for a code that cannot be redeemed.
fn redeem(sh: &Shared, p: &TokenParams) -> Result<String, &'static str> {
    if p.client_id.as_deref() != Some(DEMO_CLIENT_ID)
        || p.client_secret.as_deref() != Some(DEMO_CLIENT_SECRET)
    {
        return Err("incorrect_client_credentials");
    }
    let mut inner = lock(&sh.oauth.inner);
    let ttl = inner.code_ttl;
    let code = p.code.as_deref().unwrap_or("");
    let Some(pending) = inner.codes.get_mut(code) else {
        return Err("bad_verification_code");
    };
    if pending.used || pending.issued.elapsed() >= ttl || pending.client_id != DEMO_CLIENT_ID {
        pending.used = true;
        return Err("bad_verification_code");
    }
    pending.used = true;
    if let Some(r) = &p.redirect_uri
        && *r != pending.redirect_uri
    {
        return Err("redirect_uri_mismatch");
    }
    if let Some(challenge) = &pending.challenge {
        let verifier = p.code_verifier.as_deref().unwrap_or("");
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        if verifier.is_empty() || computed != *challenge {
            return Err("bad_verification_code");
        }
    }
    Ok(pending.login.clone())
}

async fn access_token(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = down(&sh) {
        return r;
    }
    let json_body = header_str(&headers, "content-type").is_some_and(|c| c.contains("json"));
    let params: TokenParams = if json_body {
        serde_json::from_slice(&body).unwrap_or_default()
    } else {
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    };
    let wants_json = header_str(&headers, "accept").is_some_and(|a| a.contains("json"));
    let answer = |value: &dyn erased::Answer| {
        if wants_json {
            value.json()
        } else {
            value.form()
        }
    };
    match redeem(&sh, &params) {
        Err(code) => answer(&token_error(code)),
        Ok(login) => {
            let grant = TokenGrant {
                access_token: sh.oauth.mint_token(&login),
                expires_in: USER_TOKEN_TTL.as_secs(),
                refresh_token: format!("ghr_{}", random_text(76)),
                refresh_token_expires_in: 15_897_600,
                scope: String::new(),
                token_type: "bearer",
            };
            answer(&grant)
        }
    }
}

/// One answer, as JSON or form-encoded.
mod erased {
    use axum::response::{IntoResponse, Response};
    use serde::Serialize;

    pub(super) trait Answer {
        fn json(&self) -> Response;
        fn form(&self) -> Response;
    }

    impl<T: Serialize> Answer for T {
        fn json(&self) -> Response {
            super::json_response(axum::http::StatusCode::OK, self)
        }
        fn form(&self) -> Response {
            axum::Form(self).into_response()
        }
    }
}

/// `GET /user` with a user token (reached through [`super::identity`]).
pub(crate) async fn authenticated_user(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = down(&sh) {
        return r;
    }
    match user_token_login(&sh, &headers) {
        Some(login) => json_response(StatusCode::OK, &super::json::public_user(sh.api(), &login)),
        None => ApiError::new(
            401,
            "Bad credentials",
            "https://docs.github.com/rest/users/users#get-the-authenticated-user",
        )
        .into_response(),
    }
}

impl super::Simulator {
    /// The web application flow's controls (client id and secret, code
    /// lifetime, an outage of the sign-in routes).
    pub fn oauth(&self) -> OAuthHandle {
        OAuthHandle(self.shared.clone())
    }
}
