//! The octocrab implementation of [`SeatApi`].
//!
//! octocrab is the transport only: authentication (PAT, or GitHub App JWT
//! exchanged for installation tokens), the base URL (github.com, GHES,
//! GHE.com, the simulator) and raw HTTP calls whose status and headers we
//! read ourselves. Bodies are decoded with seatkeeper's own wire types,
//! because octocrab's `CopilotSeat` cannot decode seats granted by
//! enterprise teams. Retries, rate limits and the client-side throttle live
//! here (octocrab's `retry` and `follow-redirect` features are off on
//! purpose: `GET /orgs/{org}/members/{login}` must see its 302).

#[path = "retry.rs"]
mod retry;
#[path = "throttle.rs"]
mod throttle;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::StreamExt;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, Method, StatusCode};
use octocrab::models::{AppId, InstallationId};
use octocrab::{OctoBody, Octocrab};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use throttle::{
    GET_POINTS, GITHUB_MAX_CONCURRENT, GITHUB_POINTS_PER_MINUTE, ThrottleConfig, WRITE_POINTS,
};

use super::{
    BillingInfo, GitHubError, Membership, Scope, SeatApi, SeatBreakdown, SeatJson,
    SeatListResponse, WriteReport,
};
use crate::plan::{LiveSeat, LiveState, SeatManagementSetting};
use retry::RateLimit;
use throttle::Throttle;

/// github.com's REST API.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";
/// GitHub's largest page; its default (50) is the trap that made other tools
/// see only 50 seats.
pub const PER_PAGE: usize = 100;

/// How the client authenticates. `Debug` never shows the secrets.
#[derive(Clone)]
pub enum Auth {
    /// A personal access token (classic: `manage_billing:copilot` and
    /// `read:org`) or any other bearer token.
    Token(SecretString),
    /// A GitHub App: a JWT signed with the App's key is exchanged for an
    /// installation token. Without an installation id the installation is
    /// discovered with `GET /orgs/{org}/installation` on first use.
    App {
        /// The App's id (the JWT's `iss`).
        app_id: u64,
        /// The App's RSA private key, PEM.
        private_key_pem: SecretString,
        /// The installation on the org or enterprise, when known.
        installation_id: Option<u64>,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Token([REDACTED])"),
            Auth::App {
                app_id,
                installation_id,
                ..
            } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("private_key_pem", &"[REDACTED]")
                .field("installation_id", installation_id)
                .finish(),
        }
    }
}

/// How the client waits before a retry: given the wait GitHub asked for (or
/// the backoff chose), returns a future that completes when it is over.
pub type RetrySleep = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// Everything [`GitHubClient::new`] needs. Build with [`ClientConfig::new`]
/// and adjust the public fields.
#[derive(Clone)]
pub struct ClientConfig {
    /// REST API root: `https://api.github.com` (default), a GHES
    /// `https://HOST/api/v3`, GHE.com `https://api.SUBDOMAIN.ghe.com`, or the
    /// simulator's URL (`--github-url`).
    pub base_url: String,
    /// Credentials.
    pub auth: Auth,
    /// Seat pages fetched at once after page 1 (default 4).
    pub page_concurrency: usize,
    /// Logins or teams per write request (default 100).
    pub batch_size: usize,
    /// Attempts per request for transient failures (5xx, timeouts,
    /// connection errors), the first included (default 4). Rate-limit waits
    /// are bounded separately, by the same number of waits.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles per retry (default 500 ms).
    pub backoff_base: Duration,
    /// Largest backoff ceiling (default 30 s).
    pub backoff_max: Duration,
    /// Longest single rate-limit wait (default 5 min); a longer one fails
    /// with [`GitHubError::RateLimited`] (`--max-rate-limit-wait`).
    pub max_rate_limit_wait: Duration,
    /// One attempt, body included, times out after this (default 30 s).
    pub request_timeout: Duration,
    /// Client-side limits under GitHub's secondary rate limits.
    pub throttle: ThrottleConfig,
    /// Replaces `tokio::time::sleep` for retry and rate-limit waits (not the
    /// throttle's pacing). Tests inject one that records the waits asked for
    /// and returns at once: paused tokio time needs `test-util` and does not
    /// mix well with real sockets.
    pub retry_sleep: Option<RetrySleep>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("page_concurrency", &self.page_concurrency)
            .field("batch_size", &self.batch_size)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("max_rate_limit_wait", &self.max_rate_limit_wait)
            .field("request_timeout", &self.request_timeout)
            .field("throttle", &self.throttle)
            .field(
                "retry_sleep",
                &if self.retry_sleep.is_some() {
                    "custom"
                } else {
                    "tokio::time::sleep"
                },
            )
            .finish()
    }
}

impl ClientConfig {
    /// Defaults for github.com with these credentials.
    pub fn new(auth: Auth) -> Self {
        ClientConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            auth,
            page_concurrency: 4,
            batch_size: 100,
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            throttle: ThrottleConfig::default(),
            retry_sleep: None,
        }
    }

    /// The same configuration against another API root.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// A snapshot of the client's counters, exported as Prometheus metrics by
/// the controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Responses by (method, route template, status). The route is a
    /// template such as `/orgs/{org}/copilot/billing/seats`, never a concrete
    /// org or login. Status `0` counts attempts that got no response
    /// (connection error or timeout).
    pub requests: BTreeMap<(String, String, u16), u64>,
    /// The last `x-ratelimit-remaining` GitHub reported.
    pub rate_limit_remaining: Option<u64>,
    /// Requests sent again after a transient failure or a rate limit.
    pub retries: u64,
    /// Of those, how many waited for a rate limit.
    pub rate_limit_waits: u64,
    /// Total time spent waiting before retries (backoff and rate limits;
    /// the throttle's own waits are not included).
    pub retry_wait: Duration,
    /// The most requests that were ever in flight at once.
    pub peak_in_flight: usize,
}

impl ClientStats {
    /// Requests sent, all routes and statuses.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Requests sent for one method and route template, any status.
    pub fn requests_to(&self, method: &str, route: &str) -> u64 {
        self.requests
            .iter()
            .filter(|((m, r, _), _)| m == method && r == route)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Install rustls's ring crypto provider as the process default, once.
/// Harmless when a provider is already installed.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err only means another provider is already the default: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The octocrab-backed [`SeatApi`]. Cheap to clone; clones share the
/// connection pool, throttle and counters.
#[derive(Clone)]
pub struct GitHubClient {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: String,
    auth: AuthMode,
    page_concurrency: usize,
    batch_size: usize,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    max_rate_limit_wait: Duration,
    request_timeout: Duration,
    throttle: Throttle,
    retry_sleep: Option<RetrySleep>,
    counters: Mutex<Counters>,
    /// When the primary limit was reported spent: wait for its reset before
    /// sending anything else rather than burning requests on 403s.
    primary_reset: Mutex<Option<SystemTime>>,
}

enum AuthMode {
    /// PAT, or App with a known installation: one client for everything.
    Fixed(Arc<Octocrab>),
    /// App without an installation id: the App-JWT client, and installation
    /// clients discovered per org (lowercased). Each installation client is
    /// kept behind an `Arc` because octocrab caches the installation token
    /// inside it: a clone would fetch its own token.
    Discover {
        app: Arc<Octocrab>,
        installations: tokio::sync::Mutex<HashMap<String, Arc<Octocrab>>>,
    },
}

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(String, String, u16), u64>,
    rate_limit_remaining: Option<u64>,
    retries: u64,
    rate_limit_waits: u64,
    retry_wait: Duration,
}

impl fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.inner.auth {
            AuthMode::Fixed(_) => "fixed",
            AuthMode::Discover { .. } => "app (installation discovered per org)",
        };
        f.debug_struct("GitHubClient")
            .field("base_url", &self.inner.base_url)
            .field("auth", &auth)
            .field("page_concurrency", &self.inner.page_concurrency)
            .field("batch_size", &self.inner.batch_size)
            .finish_non_exhaustive()
    }
}

/// One request: the concrete path and the route template it is counted under.
struct Req {
    method: Method,
    route: &'static str,
    path: String,
    body: Option<String>,
    /// An ETag for `If-None-Match` (conditional GETs answer 304).
    if_none_match: Option<String>,
}

impl Req {
    fn get(route: &'static str, path: String) -> Self {
        Req {
            method: Method::GET,
            route,
            path,
            body: None,
            if_none_match: None,
        }
    }
}

/// A response read whole.
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    /// GitHub's `message`, else the start of the body.
    fn message(&self) -> String {
        #[derive(Deserialize)]
        struct ErrorBody {
            message: Option<String>,
            errors: Option<serde_json::Value>,
        }
        if let Ok(ErrorBody {
            message: Some(m),
            errors,
        }) = serde_json::from_str::<ErrorBody>(&self.body)
        {
            return match errors {
                Some(e) if !e.is_null() && e != serde_json::json!([]) => format!("{m} ({e})"),
                _ => m,
            };
        }
        let text = self.body.trim();
        if text.is_empty() {
            self.status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            text.chars().take(300).collect()
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, route: &str) -> Result<T, GitHubError> {
        serde_json::from_str(&self.body).map_err(|e| GitHubError::Decode {
            route: route.to_string(),
            message: e.to_string(),
        })
    }
}

/// A path segment, percent-encoded outside RFC 3986's unreserved set.
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Human name of a scope for messages ("organization `acme`").
fn scope_label(scope: &Scope) -> String {
    match scope {
        Scope::Org(o) => format!("organization `{o}`"),
        Scope::Enterprise(e) => format!("enterprise `{e}`"),
    }
}

/// The full chain of an error's causes, for transport messages.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

/// The kinds of write, each a set operation on the seat assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    AddUsers,
    RemoveUsers,
    AddTeams,
    RemoveTeams,
}

impl Write {
    fn method(self) -> Method {
        match self {
            Write::AddUsers | Write::AddTeams => Method::POST,
            Write::RemoveUsers | Write::RemoveTeams => Method::DELETE,
        }
    }

    /// Route template, concrete path and body key (checked against the GHEC
    /// OpenAPI description: users take `selected_usernames` on both scopes,
    /// org teams `selected_teams`, enterprise teams `selected_enterprise_teams`).
    fn target(self, scope: &Scope) -> (&'static str, String, &'static str) {
        let users = matches!(self, Write::AddUsers | Write::RemoveUsers);
        match (scope, users) {
            (Scope::Org(o), true) => (
                "/orgs/{org}/copilot/billing/selected_users",
                format!("/orgs/{}/copilot/billing/selected_users", seg(o)),
                "selected_usernames",
            ),
            (Scope::Org(o), false) => (
                "/orgs/{org}/copilot/billing/selected_teams",
                format!("/orgs/{}/copilot/billing/selected_teams", seg(o)),
                "selected_teams",
            ),
            (Scope::Enterprise(e), true) => (
                "/enterprises/{enterprise}/copilot/billing/selected_users",
                format!("/enterprises/{}/copilot/billing/selected_users", seg(e)),
                "selected_usernames",
            ),
            (Scope::Enterprise(e), false) => (
                "/enterprises/{enterprise}/copilot/billing/selected_enterprise_teams",
                format!(
                    "/enterprises/{}/copilot/billing/selected_enterprise_teams",
                    seg(e)
                ),
                "selected_enterprise_teams",
            ),
        }
    }
}

/// How a 422 on a write is read.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// The scope does not assign seats to selected users and teams.
    NotAssignSelected,
    /// Copilot or its billing is not set up: no login is at fault.
    ScopeWide,
    /// Some name in the batch was refused.
    Names,
}

/// GitHub documents these 422 causes for the selected_users/teams routes:
/// "Copilot Business or Enterprise is not enabled for this organization,
/// billing has not been set up for this organization, a public code
/// suggestions policy has not been set for this organization, or the
/// organization's Copilot access setting is set to enable Copilot for all
/// users or is unconfigured." Anything else is about the names sent.
fn classify_422(message: &str) -> Refusal {
    let m = message.to_ascii_lowercase();
    let setting = [
        "assign_selected",
        "access setting",
        "seat management setting",
        "for all users",
        "unconfigured",
    ];
    let scope_wide = [
        "billing has not been set up",
        "code suggestions policy",
        "not enabled for this organization",
        "not enabled for this enterprise",
    ];
    if setting.iter().any(|p| m.contains(p)) {
        Refusal::NotAssignSelected
    } else if scope_wide.iter().any(|p| m.contains(p)) {
        Refusal::ScopeWide
    } else {
        Refusal::Names
    }
}

/// Outcome of one write request.
enum BatchOutcome {
    Applied(u64),
    Refused(String),
}

#[derive(Deserialize)]
struct WriteResponse {
    #[serde(default)]
    seats_created: Option<u64>,
    #[serde(default)]
    seats_cancelled: Option<u64>,
}

#[derive(Deserialize)]
struct LoginJson {
    login: String,
}

#[derive(Deserialize)]
struct InstallationJson {
    id: u64,
}

impl GitHubClient {
    /// Build a client. Nothing is sent yet: a bad token shows on the first
    /// request; a bad base URL or private key fails here.
    pub async fn new(config: ClientConfig) -> Result<Self, GitHubError> {
        install_crypto_provider();
        let base_url = config.base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(GitHubError::Config(format!(
                "--github-url `{base_url}` must start with https:// (e.g. https://api.github.com, https://HOST/api/v3 for GitHub Enterprise Server)"
            )));
        }
        let builder = || -> Result<_, GitHubError> {
            let b = Octocrab::builder()
                .base_uri(base_url.as_str())
                .map_err(|_| {
                    GitHubError::Config(format!(
                        "--github-url `{base_url}` is not a valid URL (expected e.g. https://api.github.com or https://HOST/api/v3)"
                    ))
                })?
                .add_header(
                    http::header::ACCEPT,
                    "application/vnd.github+json".to_string(),
                )
                .add_header(
                    HeaderName::from_static("x-github-api-version"),
                    API_VERSION.to_string(),
                )
                .set_connect_timeout(Some(Duration::from_secs(10)));
            Ok(b)
        };
        let build_err = |e: octocrab::Error| {
            GitHubError::Config(format!(
                "cannot build the GitHub client: {}",
                error_chain(&e)
            ))
        };
        let auth = match &config.auth {
            Auth::Token(token) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(GitHubError::Config(
                        "the GitHub token is empty: set GITHUB_TOKEN (or --token-file)".into(),
                    ));
                }
                let crab = builder()?
                    .personal_token(token.expose_secret().trim().to_string())
                    .build()
                    .map_err(build_err)?;
                AuthMode::Fixed(Arc::new(crab))
            }
            Auth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                let key = octocrab::EncodingKey::from_rsa_pem(
                    private_key_pem.expose_secret().as_bytes(),
                )
                .map_err(|e| {
                    GitHubError::Config(format!(
                        "the GitHub App private key is not an RSA key in PEM form ({e}): use the .pem file GitHub generated for App {app_id}"
                    ))
                })?;
                let app = builder()?
                    .app(AppId(*app_id), key)
                    .build()
                    .map_err(build_err)?;
                match installation_id {
                    Some(id) => AuthMode::Fixed(Arc::new(
                        app.installation(InstallationId(*id)).map_err(build_err)?,
                    )),
                    None => AuthMode::Discover {
                        app: Arc::new(app),
                        installations: tokio::sync::Mutex::new(HashMap::new()),
                    },
                }
            }
        };
        Ok(GitHubClient {
            inner: Arc::new(Inner {
                base_url,
                auth,
                page_concurrency: config.page_concurrency.max(1),
                batch_size: config.batch_size.max(1),
                max_attempts: config.max_attempts.max(1),
                backoff_base: config.backoff_base,
                backoff_max: config.backoff_max,
                max_rate_limit_wait: config.max_rate_limit_wait,
                request_timeout: config.request_timeout,
                throttle: Throttle::new(config.throttle),
                retry_sleep: config.retry_sleep.clone(),
                counters: Mutex::new(Counters::default()),
                primary_reset: Mutex::new(None),
            }),
        })
    }

    /// A snapshot of the request counters and the last rate-limit reading.
    pub fn stats(&self) -> ClientStats {
        let c = self.counters();
        ClientStats {
            requests: c.requests.clone(),
            rate_limit_remaining: c.rate_limit_remaining,
            retries: c.retries,
            rate_limit_waits: c.rate_limit_waits,
            retry_wait: c.retry_wait,
            peak_in_flight: self.inner.throttle.peak(),
        }
    }

    /// For App auth without an installation id: find (and remember) the
    /// App's installation on `org`. A no-op for other auth.
    pub async fn resolve_installation(&self, org: &str) -> Result<(), GitHubError> {
        self.crab_for(Some(org)).await.map(|_| ())
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The octocrab client that carries the right credentials for `org`.
    async fn crab_for(&self, org: Option<&str>) -> Result<Arc<Octocrab>, GitHubError> {
        let (app, installations) = match &self.inner.auth {
            AuthMode::Fixed(crab) => return Ok(Arc::clone(crab)),
            AuthMode::Discover { app, installations } => (app, installations),
        };
        let mut known = installations.lock().await;
        let Some(org) = org else {
            return known.values().next().cloned().ok_or_else(|| {
                GitHubError::Config(
                    "GitHub App auth without an installation id needs an organization to find the installation: set the installation id (--app-installation-id)".into(),
                )
            });
        };
        let key = org.to_ascii_lowercase();
        if let Some(crab) = known.get(&key) {
            return Ok(Arc::clone(crab));
        }
        let req = Req::get(
            "/orgs/{org}/installation",
            format!("/orgs/{}/installation", seg(org)),
        );
        let resp = self.send(app, &req).await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Err(GitHubError::Config(format!(
                "the GitHub App is not installed on organization `{org}` (GET /orgs/{{org}}/installation answered 404): install it there, or set --app-installation-id"
            )));
        }
        if resp.status == StatusCode::UNAUTHORIZED {
            return Err(GitHubError::Config(format!(
                "GitHub rejected the App's JWT (401 {}): check the App id and that the private key is the App's current key",
                resp.message()
            )));
        }
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, None));
        }
        let installation: InstallationJson = resp.json(req.route)?;
        tracing::info!(
            org,
            installation_id = installation.id,
            "found the GitHub App installation"
        );
        let crab = Arc::new(
            app.installation(InstallationId(installation.id))
                .map_err(|e| GitHubError::Config(error_chain(&e)))?,
        );
        known.insert(key, Arc::clone(&crab));
        Ok(crab)
    }

    async fn crab_for_scope(&self, scope: &Scope) -> Result<Arc<Octocrab>, GitHubError> {
        match scope {
            Scope::Org(org) => self.crab_for(Some(org)).await,
            Scope::Enterprise(e) => match &self.inner.auth {
                AuthMode::Fixed(crab) => Ok(Arc::clone(crab)),
                AuthMode::Discover { .. } => Err(GitHubError::Config(format!(
                    "GitHub App auth for enterprise `{e}` needs the installation id: set --app-installation-id (the App's installation on the enterprise)"
                ))),
            },
        }
    }

    /// Send one logical request: throttled, retried on transient failures,
    /// waiting out rate limits. Any HTTP response that is not retried is
    /// returned for the caller to interpret.
    async fn send(&self, crab: &Octocrab, req: &Req) -> Result<Resp, GitHubError> {
        let inner = &self.inner;
        let cost = if req.method == Method::GET {
            GET_POINTS
        } else {
            WRITE_POINTS
        };
        let mut failures = 0u32;
        let mut rate_limit_waits = 0u32;
        loop {
            self.wait_for_primary_reset(req).await?;
            let request = self.build_request(req)?;
            let slot = inner.throttle.acquire(cost).await;
            let attempt =
                tokio::time::timeout(inner.request_timeout, Self::attempt(crab, request)).await;
            drop(slot);
            let failure = match attempt {
                Err(_) => format!(
                    "no complete response within {} s",
                    inner.request_timeout.as_secs_f32()
                ),
                Ok(Err(e)) => match self.octocrab_error(e) {
                    Ok(transient) => transient,
                    Err(fatal) => return Err(fatal),
                },
                Ok(Ok(resp)) => {
                    self.record(req, resp.status.as_u16(), &resp.headers);
                    if let Some(limit) = retry::rate_limit(
                        resp.status,
                        &resp.headers,
                        &resp.message(),
                        SystemTime::now(),
                    ) {
                        rate_limit_waits += 1;
                        let wait = limit.wait();
                        if wait > inner.max_rate_limit_wait || rate_limit_waits > inner.max_attempts
                        {
                            return Err(GitHubError::RateLimited {
                                route: req.route.to_string(),
                                reset_in_secs: wait.as_secs(),
                                max_wait_secs: inner.max_rate_limit_wait.as_secs(),
                            });
                        }
                        tracing::warn!(
                            method = %req.method,
                            route = req.route,
                            status = resp.status.as_u16(),
                            wait_s = wait.as_secs(),
                            primary = matches!(limit, RateLimit::Primary(_)),
                            "GitHub rate limit: waiting before retrying"
                        );
                        self.note_retry(wait, true);
                        self.retry_sleep(wait).await;
                        // This wait covered the reset the response announced;
                        // the retry's own answer says whether it is still spent.
                        *self
                            .inner
                            .primary_reset
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()) = None;
                        continue;
                    }
                    if resp.status.is_server_error() {
                        failures += 1;
                        if failures >= inner.max_attempts {
                            return Ok(resp);
                        }
                        let wait = retry::backoff(failures, inner.backoff_base, inner.backoff_max);
                        tracing::warn!(
                            method = %req.method,
                            route = req.route,
                            status = resp.status.as_u16(),
                            attempt = failures,
                            wait_ms = wait.as_millis() as u64,
                            "GitHub server error: retrying"
                        );
                        self.note_retry(wait, false);
                        self.retry_sleep(wait).await;
                        continue;
                    }
                    return Ok(resp);
                }
            };
            // No HTTP response: a timeout or a connection error.
            self.record(req, 0, &HeaderMap::new());
            failures += 1;
            if failures >= inner.max_attempts {
                return Err(GitHubError::Transport {
                    method: req.method.to_string(),
                    route: req.route.to_string(),
                    message: format!("{failure} (after {failures} attempts)"),
                });
            }
            let wait = retry::backoff(failures, inner.backoff_base, inner.backoff_max);
            tracing::warn!(
                method = %req.method,
                route = req.route,
                attempt = failures,
                wait_ms = wait.as_millis() as u64,
                error = %failure,
                "cannot reach GitHub: retrying"
            );
            self.note_retry(wait, false);
            self.retry_sleep(wait).await;
        }
    }

    /// The HTTP request for one attempt (rebuilt per attempt: `execute`
    /// consumes it).
    fn build_request(&self, req: &Req) -> Result<http::Request<OctoBody>, GitHubError> {
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(req.path.as_str());
        if let Some(etag) = &req.if_none_match {
            builder = builder.header(http::header::IF_NONE_MATCH, etag.as_str());
        }
        let body = match &req.body {
            Some(b) => {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json");
                OctoBody::from(b.clone())
            }
            None => OctoBody::empty(),
        };
        builder.body(body).map_err(|e| {
            GitHubError::Config(format!(
                "cannot build {} {} for {}: {e}",
                req.method, req.route, self.inner.base_url
            ))
        })
    }

    /// One HTTP exchange, body read whole.
    async fn attempt(
        crab: &Octocrab,
        request: http::Request<OctoBody>,
    ) -> Result<Resp, octocrab::Error> {
        let response = crab.execute(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = crab.body_to_string(response).await?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    /// Split octocrab's errors: `Ok(message)` is transient (retry), `Err` is final.
    fn octocrab_error(&self, e: octocrab::Error) -> Result<String, GitHubError> {
        match &e {
            // Only the installation-token exchange turns a status into an
            // octocrab error here: our own calls read statuses themselves.
            octocrab::Error::GitHub { source, .. } => {
                if source.status_code.is_server_error() {
                    Ok(format!(
                        "installation token request failed: {} {}",
                        source.status_code, source.message
                    ))
                } else {
                    Err(GitHubError::Config(format!(
                        "GitHub refused the App's installation token request ({} {}): check the App id, that the private key is the App's current key, and the installation id",
                        source.status_code.as_u16(),
                        source.message
                    )))
                }
            }
            octocrab::Error::JWT { .. } => Err(GitHubError::Config(format!(
                "cannot sign the GitHub App JWT: {}",
                error_chain(&e)
            ))),
            octocrab::Error::Http { .. }
            | octocrab::Error::Uri { .. }
            | octocrab::Error::UriParse { .. }
            | octocrab::Error::InvalidHeaderValue { .. } => Err(GitHubError::Config(format!(
                "cannot build a request for {}: {}",
                self.inner.base_url,
                error_chain(&e)
            ))),
            _ => Ok(error_chain(&e)),
        }
    }

    fn record(&self, req: &Req, status: u16, headers: &HeaderMap) {
        let mut c = self.counters();
        *c.requests
            .entry((req.method.to_string(), req.route.to_string(), status))
            .or_default() += 1;
        if let Some(remaining) = retry::header_u64(headers, "x-ratelimit-remaining") {
            c.rate_limit_remaining = Some(remaining);
            drop(c);
            let mut reset = self
                .inner
                .primary_reset
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *reset = if remaining == 0 {
                retry::until_reset(headers, SystemTime::now()).map(|d| SystemTime::now() + d)
            } else {
                None
            };
        }
    }

    /// Wait before a retry (the injected sleep in tests).
    async fn retry_sleep(&self, wait: Duration) {
        match &self.inner.retry_sleep {
            Some(sleep) => sleep(wait).await,
            None => tokio::time::sleep(wait).await,
        }
    }

    fn note_retry(&self, wait: Duration, rate_limit: bool) {
        let mut c = self.counters();
        c.retries += 1;
        c.retry_wait += wait;
        if rate_limit {
            c.rate_limit_waits += 1;
        }
    }

    /// After a response said `x-ratelimit-remaining: 0`, hold every request
    /// until the reset instead of sending it into a certain 403.
    async fn wait_for_primary_reset(&self, req: &Req) -> Result<(), GitHubError> {
        let reset = *self
            .inner
            .primary_reset
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(reset) = reset else { return Ok(()) };
        let Ok(wait) = reset.duration_since(SystemTime::now()) else {
            return Ok(());
        };
        if wait > self.inner.max_rate_limit_wait {
            return Err(GitHubError::RateLimited {
                route: req.route.to_string(),
                reset_in_secs: wait.as_secs(),
                max_wait_secs: self.inner.max_rate_limit_wait.as_secs(),
            });
        }
        tracing::warn!(
            route = req.route,
            wait_s = wait.as_secs(),
            "GitHub primary rate limit spent: waiting for the reset"
        );
        self.note_retry(wait, true);
        self.retry_sleep(wait).await;
        let mut r = self
            .inner
            .primary_reset
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *r == Some(reset) {
            *r = None;
        }
        Ok(())
    }

    /// The error for a response we could not use.
    fn status_error(&self, req: &Req, resp: &Resp, scope: Option<&Scope>) -> GitHubError {
        let method = req.method.to_string();
        let route = req.route.to_string();
        let message = resp.message();
        match resp.status {
            StatusCode::UNAUTHORIZED => GitHubError::Unauthorized { message },
            StatusCode::FORBIDDEN => GitHubError::Forbidden {
                method,
                route,
                message,
            },
            StatusCode::NOT_FOUND => GitHubError::NotFound {
                method,
                route,
                scope: scope.map_or_else(|| "the resource".to_string(), scope_label),
                message,
            },
            status => GitHubError::Http {
                status: status.as_u16(),
                method,
                route,
                message,
            },
        }
    }

    /// GET one page of the seat listing.
    async fn seat_page(
        &self,
        crab: &Octocrab,
        scope: &Scope,
        page: usize,
    ) -> Result<SeatListResponse, GitHubError> {
        let (route, base) = match scope {
            Scope::Org(o) => (
                "/orgs/{org}/copilot/billing/seats",
                format!("/orgs/{}/copilot/billing/seats", seg(o)),
            ),
            Scope::Enterprise(e) => (
                "/enterprises/{enterprise}/copilot/billing/seats",
                format!("/enterprises/{}/copilot/billing/seats", seg(e)),
            ),
        };
        let req = Req::get(route, format!("{base}?per_page={PER_PAGE}&page={page}"));
        let resp = self.send(crab, &req).await?;
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        resp.json(route)
    }

    /// One write of one batch.
    async fn write_batch(
        &self,
        crab: &Octocrab,
        scope: &Scope,
        kind: Write,
        names: &[String],
    ) -> Result<BatchOutcome, GitHubError> {
        let (route, path, key) = kind.target(scope);
        let body = serde_json::json!({ key: names }).to_string();
        let req = Req {
            method: kind.method(),
            route,
            path,
            body: Some(body),
            if_none_match: None,
        };
        let resp = self.send(crab, &req).await?;
        if resp.status.is_success() {
            let changed = serde_json::from_str::<WriteResponse>(&resp.body)
                .map(|r| r.seats_created.or(r.seats_cancelled).unwrap_or(0))
                .unwrap_or(0);
            return Ok(BatchOutcome::Applied(changed));
        }
        if resp.status != StatusCode::UNPROCESSABLE_ENTITY {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        let message = resp.message();
        match classify_422(&message) {
            Refusal::Names => Ok(BatchOutcome::Refused(message)),
            Refusal::NotAssignSelected => Err(self.not_assign_selected(scope, &req, message).await),
            Refusal::ScopeWide => Err(self.status_error(&req, &resp, Some(scope))),
        }
    }

    /// Confirm a "not assign_selected" refusal with the billing route (org
    /// scope) so the error names the current setting; if billing says
    /// `assign_selected` after all, the 422 was about something else.
    async fn not_assign_selected(&self, scope: &Scope, req: &Req, message: String) -> GitHubError {
        let setting = match scope {
            Scope::Org(_) => match self.billing(scope).await {
                Ok(b) if b.seat_management_setting == SeatManagementSetting::AssignSelected => {
                    return GitHubError::Http {
                        status: 422,
                        method: req.method.to_string(),
                        route: req.route.to_string(),
                        message,
                    };
                }
                Ok(b) => setting_name(&b.seat_management_setting),
                Err(_) => "not assign_selected".to_string(),
            },
            Scope::Enterprise(_) => "not assign_selected".to_string(),
        };
        GitHubError::NotAssignSelected {
            scope: scope_label(scope),
            setting,
        }
    }

    /// Apply one logical write: batches of `batch_size`; a batch refused
    /// with 422 is bisected until each refused name stands alone, so one bad
    /// login never blocks the others.
    ///
    /// Retrying these writes (after a 5xx, a timeout, a dropped connection
    /// or a rate limit) is safe because they are set operations on the seat
    /// assignment, not increments. GitHub's REST reference ("Copilot user
    /// management", <https://docs.github.com/en/rest/copilot/copilot-user-management>):
    /// "Add users to the Copilot subscription" purchases a seat "for each
    /// user specified" and "the response contains the total number of new
    /// seats that were created and existing seats that were refreshed", so
    /// re-adding a user who holds a seat buys no second one; "Remove users" "sets
    /// seats for all users specified to 'pending cancellation'" and counts
    /// the seats so set, so cancelling again changes nothing. The team routes
    /// are documented the same way. A request that GitHub applied but whose
    /// answer was lost can therefore be sent again without granting (and
    /// billing) or cancelling anything twice; `tests/github_client.rs`
    /// checks it against the simulator.
    async fn write(
        &self,
        scope: &Scope,
        kind: Write,
        names: &[String],
    ) -> Result<WriteReport, GitHubError> {
        let mut report = WriteReport::default();
        if names.is_empty() {
            return Ok(report);
        }
        let crab = self.crab_for_scope(scope).await?;
        for batch in names.chunks(self.inner.batch_size) {
            // Depth-first, left half first, so `applied` keeps input order.
            let mut pending: Vec<&[String]> = vec![batch];
            while let Some(chunk) = pending.pop() {
                match self.write_batch(&crab, scope, kind, chunk).await? {
                    BatchOutcome::Applied(n) => {
                        report.applied.extend(chunk.iter().cloned());
                        report.seats_changed += n;
                    }
                    BatchOutcome::Refused(message) if chunk.len() == 1 => {
                        tracing::warn!(
                            name = %chunk[0],
                            route = kind.target(scope).0,
                            %message,
                            "GitHub refused one name"
                        );
                        report.failed.push((chunk[0].clone(), message));
                    }
                    BatchOutcome::Refused(_) => {
                        let (left, right) = chunk.split_at(chunk.len() / 2);
                        pending.push(right);
                        pending.push(left);
                    }
                }
            }
        }
        Ok(report)
    }

    /// GET every page of a plain JSON array of users (`per_page=100`),
    /// stopping at the first short page. `None` on a 404 of page 1.
    async fn list_logins(
        &self,
        crab: &Octocrab,
        route: &'static str,
        base: String,
        scope: &Scope,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        let mut logins = Vec::new();
        for page in 1.. {
            let req = Req::get(route, format!("{base}?per_page={PER_PAGE}&page={page}"));
            let resp = self.send(crab, &req).await?;
            if page == 1 && resp.status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !resp.status.is_success() {
                return Err(self.status_error(&req, &resp, Some(scope)));
            }
            let users: Vec<LoginJson> = resp.json(route)?;
            let n = users.len();
            logins.extend(users.into_iter().map(|u| u.login));
            if n < PER_PAGE || !has_next_link(&resp.headers) {
                break;
            }
        }
        Ok(Some(logins))
    }
}

/// The seat listing in page order, built while pages arrive in any order:
/// a page that comes early waits (as `LiveSeat`s) until those before it are in.
struct Assembly {
    live: Vec<LiveSeat>,
    /// Seats in the pages appended so far, with or without an assignee.
    held: u64,
    next: usize,
    early: BTreeMap<usize, (u64, Vec<LiveSeat>)>,
}

impl Assembly {
    fn new(total: u64) -> Self {
        Assembly {
            live: Vec::with_capacity(usize::try_from(total).unwrap_or(0).min(1 << 24)),
            held: 0,
            next: 1,
            early: BTreeMap::new(),
        }
    }

    fn add(&mut self, page: usize, body: &SeatListResponse) {
        let seats: Vec<LiveSeat> = body.seats.iter().filter_map(SeatJson::to_live).collect();
        self.early.insert(page, (body.seats.len() as u64, seats));
        while let Some((held, seats)) = self.early.remove(&self.next) {
            self.held += held;
            self.live.extend(seats);
            self.next += 1;
        }
    }
}

/// When GitHub sends a `Link` header, it is the authority on whether another
/// page exists; without one, a full page means "maybe".
fn has_next_link(headers: &HeaderMap) -> bool {
    match headers
        .get(http::header::LINK)
        .and_then(|v| v.to_str().ok())
    {
        Some(link) => link.contains("rel=\"next\""),
        None => true,
    }
}

fn setting_name(s: &SeatManagementSetting) -> String {
    match s {
        SeatManagementSetting::AssignSelected => "assign_selected".into(),
        SeatManagementSetting::AssignAll => "assign_all".into(),
        SeatManagementSetting::Disabled => "disabled".into(),
        SeatManagementSetting::Unconfigured => "unconfigured".into(),
        SeatManagementSetting::Other(o) => o.clone(),
    }
}

/// A file read with [`GitHubClient::get_contents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// 304: the file still has the ETag that was sent.
    NotModified,
    /// The file as it is now.
    File {
        /// The decoded content.
        bytes: Vec<u8>,
        /// The git blob SHA GitHub reports.
        sha: String,
        /// The `ETag` to send next time, when GitHub sent one.
        etag: Option<String>,
    },
}

#[derive(Deserialize)]
struct ContentsJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
    sha: String,
}

impl GitHubClient {
    /// Read one file with the Contents API (`GET
    /// /repos/{owner}/{repo}/contents/{path}?ref=REF`). With `if_none_match`
    /// (the ETag of an earlier read) an unchanged file costs no rate limit
    /// and answers [`Contents::NotModified`].
    pub async fn get_contents(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        reference: &str,
        if_none_match: Option<&str>,
    ) -> Result<Contents, GitHubError> {
        let crab = self.crab_for(Some(owner)).await?;
        let encoded: Vec<String> = path.trim_matches('/').split('/').map(seg).collect();
        let route = "/repos/{owner}/{repo}/contents/{path}";
        let mut req = Req::get(
            route,
            format!(
                "/repos/{}/{}/contents/{}?ref={}",
                seg(owner),
                seg(repo),
                encoded.join("/"),
                seg(reference)
            ),
        );
        req.if_none_match = if_none_match.map(str::to_string);
        let resp = self.send(&crab, &req).await?;
        if resp.status == StatusCode::NOT_MODIFIED {
            return Ok(Contents::NotModified);
        }
        if resp.status == StatusCode::NOT_FOUND {
            return Err(GitHubError::Http {
                status: 404,
                method: "GET".into(),
                route: route.into(),
                message: format!(
                    "no file `{path}` at `{reference}` in {owner}/{repo}, or the token cannot read that repository (it needs contents: read)"
                ),
            });
        }
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, None));
        }
        let body: ContentsJson = resp.json(route)?;
        if body.kind != "file" {
            return Err(GitHubError::Decode {
                route: route.into(),
                message: format!("`{path}` is a {}, not a file", body.kind),
            });
        }
        // Files over 1 MB come without content (`encoding: none`); seats.yaml
        // may not be that big anyway.
        let content = match (body.encoding.as_deref(), body.content) {
            (Some("base64"), Some(c)) => c,
            (encoding, _) => {
                return Err(GitHubError::Decode {
                    route: route.into(),
                    message: format!(
                        "`{path}` came without base64 content (encoding {}): seats.yaml may be at most 1 MiB",
                        encoding.unwrap_or("missing")
                    ),
                });
            }
        };
        use base64::Engine as _;
        let compact: String = content.split_ascii_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| GitHubError::Decode {
                route: route.into(),
                message: format!("`{path}`: content is not valid base64: {e}"),
            })?;
        let etag = resp
            .headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Contents::File {
            bytes,
            sha: body.sha,
            etag,
        })
    }
}

#[async_trait]
impl SeatApi for GitHubClient {
    async fn billing(&self, scope: &Scope) -> Result<BillingInfo, GitHubError> {
        let org = match scope {
            Scope::Org(org) => org,
            // No billing route for enterprise seat assignment, which is
            // always to selected users and enterprise teams.
            Scope::Enterprise(_) => {
                return Ok(BillingInfo {
                    seat_management_setting: SeatManagementSetting::AssignSelected,
                    plan_type: None,
                    seat_breakdown: SeatBreakdown::default(),
                });
            }
        };
        let crab = self.crab_for_scope(scope).await?;
        let req = Req::get(
            "/orgs/{org}/copilot/billing",
            format!("/orgs/{}/copilot/billing", seg(org)),
        );
        let resp = self.send(&crab, &req).await?;
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        resp.json(req.route)
    }

    async fn list_seats(&self, scope: &Scope) -> Result<LiveState, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        // Errors that say what to fix stay as they are; the rest mean "the
        // listing could not be read whole".
        let incomplete = |page: usize, e: GitHubError| match e {
            GitHubError::Unauthorized { .. }
            | GitHubError::Forbidden { .. }
            | GitHubError::NotFound { .. }
            | GitHubError::RateLimited { .. }
            | GitHubError::Config(_) => e,
            other => GitHubError::IncompleteListing {
                message: format!("page {page} failed: {other}"),
            },
        };
        // Page 1 goes alone: it says how many pages follow, and it is the
        // request that meets a bad token, a spent limit or an App's first
        // token exchange, once. The billing details then go first among
        // pages 2..N, within the same concurrency: one round trip fewer
        // than asking for them before page 1.
        let first = self
            .seat_page(&crab, scope, 1)
            .await
            .map_err(|e| incomplete(1, e))?;
        let total = first.total_seats;
        let pages = usize::try_from(total)
            .unwrap_or(usize::MAX)
            .div_ceil(PER_PAGE)
            .max(1);
        // Each page becomes `LiveSeat`s as it arrives and its JSON is
        // dropped: holding every page's `SeatJson` until the last one came
        // cost tens of MB at 100,000 seats.
        let mut listing = Assembly::new(total);
        listing.add(1, &first);
        drop(first);
        let mut setting = None;
        {
            enum Part {
                Billing(Result<BillingInfo, GitHubError>),
                Page(usize, Result<SeatListResponse, GitHubError>),
            }
            let concurrency = self.inner.page_concurrency;
            let crab = &crab;
            // `None` is the billing details, `Some(n)` page n.
            let items = std::iter::once(None).chain((2..=pages).map(Some));
            let mut stream = futures::stream::iter(items)
                .map(|item| async move {
                    match item {
                        None => Part::Billing(self.billing(scope).await),
                        Some(page) => Part::Page(page, self.seat_page(crab, scope, page).await),
                    }
                })
                .buffer_unordered(concurrency);
            while let Some(part) = stream.next().await {
                // Returning drops the stream, which cancels the requests still in flight.
                let (page, result) = match part {
                    Part::Billing(info) => {
                        setting = Some(info?.seat_management_setting);
                        continue;
                    }
                    Part::Page(page, result) => (page, result),
                };
                let body = result.map_err(|e| incomplete(page, e))?;
                if body.total_seats != total {
                    return Err(GitHubError::IncompleteListing {
                        message: format!(
                            "total_seats changed while paging (page 1 said {total}, page {page} says {}): seats were granted or removed meanwhile; the next reconcile will read them again",
                            body.total_seats
                        ),
                    });
                }
                listing.add(page, &body);
            }
        }
        // The billing details are one of the stream's items, so they are here
        // unless the stream ended early, which returns above; stay total anyway.
        let setting = setting.ok_or_else(|| GitHubError::IncompleteListing {
            message: "the Copilot billing details were not read".into(),
        })?;
        let Assembly { live, held, .. } = listing;
        if held != total {
            return Err(GitHubError::IncompleteListing {
                message: format!("GitHub reported {total} seats but {pages} page(s) held {held}"),
            });
        }
        if let Scope::Org(_) = scope {
            // One seat per user in an org listing: a repeat means the pages
            // shifted under us (a seat left and another came meanwhile).
            // Sorted indices find it without a copy of every login.
            let mut order: Vec<u32> = (0..live.len() as u32).collect();
            let login = |i: u32| live[i as usize].login.as_bytes();
            let folded = |i: u32| login(i).iter().map(u8::to_ascii_lowercase);
            order.sort_unstable_by(|&a, &b| folded(a).cmp(folded(b)));
            if let Some(w) = order
                .windows(2)
                .find(|w| login(w[0]).eq_ignore_ascii_case(login(w[1])))
            {
                let login = live[w[0] as usize].login.to_ascii_lowercase();
                return Err(GitHubError::IncompleteListing {
                    message: format!(
                        "{login} appears twice in the seat listing: seats changed while paging"
                    ),
                });
            }
        }
        let skipped = total - live.len() as u64;
        if skipped > 0 {
            tracing::warn!(
                scope = %scope,
                skipped,
                "seats without an assignee skipped: they cannot be managed by login"
            );
        }
        tracing::debug!(scope = %scope, seats = live.len(), pages, "listed Copilot seats");
        Ok(LiveState {
            seat_management_setting: Some(setting),
            seats: live,
            team_members: BTreeMap::new(),
        })
    }

    async fn add_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(scope, Write::AddUsers, logins).await
    }

    async fn remove_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(scope, Write::RemoveUsers, logins).await
    }

    async fn add_teams(&self, scope: &Scope, teams: &[String]) -> Result<WriteReport, GitHubError> {
        self.write(scope, Write::AddTeams, teams).await
    }

    async fn remove_teams(
        &self,
        scope: &Scope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(scope, Write::RemoveTeams, teams).await
    }

    async fn membership(&self, org: &str, login: &str) -> Result<Membership, GitHubError> {
        let crab = self.crab_for(Some(org)).await?;
        let req = Req::get(
            "/orgs/{org}/members/{username}",
            format!("/orgs/{}/members/{}", seg(org), seg(login)),
        );
        let resp = self.send(&crab, &req).await?;
        match resp.status {
            StatusCode::NO_CONTENT => Ok(Membership::Member),
            StatusCode::NOT_FOUND => Ok(Membership::NotMember),
            StatusCode::FOUND => Ok(Membership::RequesterNotMember),
            _ => Err(self.status_error(&req, &resp, Some(&Scope::Org(org.to_string())))),
        }
    }

    async fn team_members(
        &self,
        scope: &Scope,
        slug: &str,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let (route, base) = match scope {
            Scope::Org(o) => (
                "/orgs/{org}/teams/{team_slug}/members",
                format!("/orgs/{}/teams/{}/members", seg(o), seg(slug)),
            ),
            Scope::Enterprise(e) => (
                "/enterprises/{enterprise}/teams/{enterprise-team}/memberships",
                format!("/enterprises/{}/teams/{}/memberships", seg(e), seg(slug)),
            ),
        };
        self.list_logins(&crab, route, base, scope).await
    }

    async fn user_exists(&self, login: &str) -> Result<bool, GitHubError> {
        let crab = self.crab_for(None).await?;
        let req = Req::get("/users/{username}", format!("/users/{}", seg(login)));
        let resp = self.send(&crab, &req).await?;
        match resp.status {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(&req, &resp, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let config = ClientConfig::new(Auth::Token(SecretString::from("ghp_secret123")));
        let text = format!("{config:?}");
        assert!(!text.contains("ghp_secret123"), "{text}");
        let app = Auth::App {
            app_id: 7,
            private_key_pem: SecretString::from("-----BEGIN RSA PRIVATE KEY-----abc"),
            installation_id: None,
        };
        assert!(!format!("{app:?}").contains("PRIVATE"));
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("octo-cat_1.x"), "octo-cat_1.x");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn refusals_are_classified() {
        assert_eq!(
            classify_422(
                "Copilot Business or Enterprise is not enabled for this organization, billing has not been set up for this organization, a public code suggestions policy has not been set for this organization, or the organization's Copilot access setting is set to enable Copilot for all users or is unconfigured."
            ),
            Refusal::NotAssignSelected
        );
        assert_eq!(
            classify_422("billing has not been set up for this organization"),
            Refusal::ScopeWide
        );
        assert_eq!(
            classify_422("User mallory is not a member of the organization"),
            Refusal::Names
        );
    }

    #[test]
    fn write_targets_use_the_documented_body_keys() {
        let org = Scope::Org("acme".into());
        let ent = Scope::Enterprise("big".into());
        assert_eq!(Write::AddUsers.target(&org).2, "selected_usernames");
        assert_eq!(Write::RemoveTeams.target(&org).2, "selected_teams");
        assert_eq!(Write::AddUsers.target(&ent).2, "selected_usernames");
        assert_eq!(Write::AddTeams.target(&ent).2, "selected_enterprise_teams");
        assert_eq!(
            Write::RemoveTeams.target(&ent).1,
            "/enterprises/big/copilot/billing/selected_enterprise_teams"
        );
    }
}
