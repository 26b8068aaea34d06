//! The octocrab implementation of [`SeatApi`].
//!
//! octocrab is the transport only: authentication (PAT, or GitHub App JWT
//! exchanged for installation tokens), the base URL (github.com,
//! GHE.com, the simulator) and raw HTTP calls whose status and headers we
//! read ourselves. Bodies are decoded with seatkeeper's own wire types,
//! because octocrab's `CopilotSeat` cannot decode seats granted by
//! enterprise teams. Retries, rate limits and the client-side throttle live
//! here (octocrab's `retry` and `follow-redirect` features are off on
//! purpose: `GET /orgs/{org}/members/{login}` must see its 302, and a
//! redirect to another host must never carry the token; [`redirect`]
//! follows same-host 301/307/308 itself).

mod app;
mod auth;
mod budgets;
mod contents;
mod etag;
mod identity;
mod listing;
mod packed;
mod redirect;
mod repo;
mod retry;
mod throttle;
mod usage;
mod user_seat;
mod writes;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, Method, StatusCode};
use octocrab::{OctoBody, Octocrab};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use throttle::{
    GET_POINTS, GITHUB_CONTENT_PER_HOUR, GITHUB_CONTENT_PER_MINUTE, GITHUB_MAX_CONCURRENT,
    GITHUB_POINTS_PER_MINUTE, GITHUB_WRITE_INTERVAL, RequestKind, ThrottleConfig, WRITE_POINTS,
};

pub use auth::{is_loopback, read_secret};
pub use contents::Contents;

use super::app_jwt::AppKey;
use super::{
    BillingInfo, GitHubError, LiveState, LiveUser, Membership, Scope, SeatApi, SeatBreakdown,
    SeatManagementSetting, SeatTotals, WriteReport,
};
use app::AppAuth;
use retry::RateLimit;
use throttle::Throttle;
use writes::Write;

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
    /// A token in a file (`--token-file`), re-read when the file changes and
    /// when GitHub answers 401: a rotated Kubernetes Secret needs no restart.
    TokenFile(std::path::PathBuf),
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
            Auth::TokenFile(p) => write!(f, "TokenFile({})", p.display()),
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
    /// REST API root: `https://api.github.com` (default), GHE.com
    /// `https://api.SUBDOMAIN.ghe.com`, or the
    /// simulator's URL (`--github-url`).
    pub base_url: String,
    /// Credentials.
    pub auth: Auth,
    /// Seat pages fetched at once after page 1 (default 4).
    pub page_concurrency: usize,
    /// Entries asked for per page of every listing (`per_page`): default
    /// and GitHub's maximum [`PER_PAGE`]; clamped to 1..=100. Smaller pages
    /// only serve tests that read a multi-page listing of a few entries.
    pub per_page: usize,
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
    /// Where pages read go, for a progress display.
    pub progress: crate::progress::Reporter,
    /// Keep each seat listing page and the billing details with their
    /// `ETag` and send `If-None-Match` next time: a `304` costs no
    /// primary-limit point (default off; the controller turns it on).
    pub conditional_requests: bool,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("page_concurrency", &self.page_concurrency)
            .field("per_page", &self.per_page)
            .field("batch_size", &self.batch_size)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("max_rate_limit_wait", &self.max_rate_limit_wait)
            .field("request_timeout", &self.request_timeout)
            .field("throttle", &self.throttle)
            .field("conditional_requests", &self.conditional_requests)
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
            per_page: PER_PAGE,
            batch_size: 100,
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            throttle: ThrottleConfig::default(),
            retry_sleep: None,
            progress: crate::progress::Reporter::default(),
            conditional_requests: false,
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
    /// The last plausible `x-ratelimit-limit` GitHub reported: the token's
    /// primary limit per hour (see [`crate::rate::plausible_limit`]).
    pub rate_limit_limit: Option<u64>,
    /// When the primary limit resets (`x-ratelimit-reset` of the last
    /// response that carried it).
    pub rate_limit_reset: Option<SystemTime>,
    /// Responses that counted against the primary limit: every answered
    /// request but a `304` and `GET /rate_limit`.
    pub primary_points: u64,
    /// `304 Not Modified` answers (free of the primary limit).
    pub not_modified: u64,
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
    per_page: usize,
    batch_size: usize,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    max_rate_limit_wait: Duration,
    request_timeout: Duration,
    throttle: Throttle,
    retry_sleep: Option<RetrySleep>,
    progress: crate::progress::Reporter,
    counters: Mutex<Counters>,
    /// GitHub App authentication (for what a 403 means).
    app_auth: bool,
    /// Listing pages and billing details with their `ETag`s, when on.
    etags: Option<etag::EtagCache>,
    /// When the primary limit was reported spent: wait for its reset before
    /// sending anything else rather than burning requests on 403s.
    primary_reset: Mutex<Option<SystemTime>>,
    /// What team writes need to know about teams (see [`writes::TeamCache`]).
    teams: Mutex<writes::TeamCache>,
}

#[allow(clippy::large_enum_variant)] // one per client, never moved
enum AuthMode {
    /// A token: one client for everything.
    Fixed(Arc<Octocrab>),
    /// A token file: one client, rebuilt when the file's token changes.
    Rotating(auth::Rotating),
    /// A GitHub App: installation tokens minted with the App's JWT and
    /// renewed before they expire.
    App(AppAuth),
}

/// Re-reads of a seat listing that shifted while it was read.
pub const LISTING_REREADS: u32 = 3;

/// The largest response body read (64 MiB); GitHub's largest page here is
/// about 100 KB.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Why one HTTP attempt got no usable response.
enum AttemptError {
    /// The request failed (connection, TLS, timeout inside octocrab).
    Octocrab(octocrab::Error),
    /// The body broke off mid-way.
    Body(String),
    /// The body passed [`MAX_RESPONSE_BYTES`].
    TooLarge,
}

/// An octocrab client for `base_url` sending `Authorization: Bearer TOKEN`.
fn build_crab(base_url: &str, bearer: String) -> Result<Octocrab, GitHubError> {
    Octocrab::builder()
        .base_uri(base_url)
        .map_err(|_| {
            GitHubError::Config(format!(
                "--github-url `{base_url}` is not a valid URL (expected e.g. https://api.github.com or https://api.SUBDOMAIN.ghe.com)"
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
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .personal_token(bearer)
        .build()
        .map_err(|e| {
            GitHubError::Config(format!(
                "cannot build the GitHub client: {}",
                error_chain(&e)
            ))
        })
}

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(String, String, u16), u64>,
    rate_limit_remaining: Option<u64>,
    rate_limit_limit: Option<u64>,
    rate_limit_reset: Option<SystemTime>,
    primary_points: u64,
    not_modified: u64,
    /// An implausible `x-ratelimit-limit` was logged already.
    warned_limit: bool,
    retries: u64,
    rate_limit_waits: u64,
    retry_wait: Duration,
}

impl fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.inner.auth {
            AuthMode::Fixed(_) => "token",
            AuthMode::Rotating(_) => "token file",
            AuthMode::App(AppAuth {
                installation_id: Some(_),
                ..
            }) => "app",
            AuthMode::App(_) => "app (installation discovered per org)",
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
    /// `GET` one team by slug: `/orgs/{org}/teams/{slug}` or its enterprise
    /// twin (whose slugs carry `ent:`).
    fn team(scope: &Scope, slug: &str) -> Self {
        match scope {
            Scope::Org(o) => Req::get(
                "/orgs/{org}/teams/{team_slug}",
                format!("/orgs/{}/teams/{}", seg(o), seg(slug)),
            ),
            Scope::Enterprise(e) => Req::get(
                "/enterprises/{enterprise}/teams/{team_slug}",
                format!("/enterprises/{}/teams/{}", seg(e), seg(slug)),
            ),
        }
    }

    fn get(route: &'static str, path: String) -> Self {
        Req {
            method: Method::GET,
            route,
            path,
            body: None,
            if_none_match: None,
        }
    }

    /// How the throttle treats this request: reads run concurrently; writes
    /// go one at a time; a write to a repository (a commit, an issue, a
    /// comment, a pull request, a merge) or to GraphQL also counts against
    /// GitHub's content-creation limits.
    fn throttle_kind(&self) -> RequestKind {
        if self.method == Method::GET {
            RequestKind::Read
        } else if self.route.starts_with("/repos/") || self.route == "/graphql" {
            RequestKind::Content
        } else {
            RequestKind::Write
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

/// What a 403 on `route` most likely means, for a token or an App.
///
/// Enterprise teams: GitHub's docs say these endpoints are "only available
/// to authenticated members of the enterprise team's enterprise with classic
/// personal access tokens" and "not compatible with fine-grained personal
/// access tokens or GitHub App access tokens" (a later changelog adds an
/// "Enterprise teams" permission for Apps installed on the enterprise).
/// Enterprise seat management is for enterprise owners; its description names
/// only classic scopes, and Apps need an enterprise-level permission for
/// Copilot seat management on an installation on the enterprise account.
fn forbidden_advice(route: &str, app: bool) -> String {
    let enterprise_teams = route.starts_with("/enterprises/{enterprise}/teams");
    let enterprise_copilot = route.starts_with("/enterprises/{enterprise}/copilot");
    match (enterprise_teams, enterprise_copilot, app) {
        (true, _, true) => "GitHub's enterprise-teams API does not accept GitHub App installation tokens unless the App is installed on the enterprise with the \"Enterprise teams\" enterprise permission; use a classic personal access token of an enterprise owner with `admin:enterprise` (`read:enterprise` for reads) instead".to_string(),
        (true, _, false) => "the enterprise-teams API takes a classic personal access token of an enterprise member with `read:enterprise` for reads and `admin:enterprise` for writes; fine-grained tokens are not accepted".to_string(),
        (_, true, true) => "a GitHub App can manage enterprise Copilot seats only when installed on the enterprise account with the enterprise permission for Copilot seat management (\"Enterprise Copilot license management\", read and write); otherwise use a classic personal access token of an enterprise owner with `manage_billing:copilot` (or `admin:enterprise`; `read:enterprise` for reads)".to_string(),
        (_, true, false) => "enterprise seats are managed by enterprise owners (billing managers may only read): use a classic personal access token of an enterprise owner with `manage_billing:copilot` or `admin:enterprise` (`read:enterprise` is enough to read)".to_string(),
        (_, _, true) => "the GitHub App needs the organization permissions \"GitHub Copilot Business\" (read and write) and \"Members\" (read), installed on the organization".to_string(),
        (_, _, false) => "the token needs the `manage_billing:copilot` scope (classic PAT, with `read:org`), or for a fine-grained token the organization permissions \"GitHub Copilot Business\" (read and write) and \"Members\" (read); its user must be an organization owner".to_string(),
    }
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

impl GitHubClient {
    /// Build a client. Nothing is sent yet: a bad token shows on the first
    /// request; a bad base URL or private key fails here.
    pub async fn new(config: ClientConfig) -> Result<Self, GitHubError> {
        install_crypto_provider();
        let base_url = config.base_url.trim_end_matches('/').to_string();
        // A token must not cross a network in clear text, nor go to a host
        // hidden behind user information: parsed, not pattern-matched.
        crate::github::args::check_api_url(&base_url)?;
        let auth = match &config.auth {
            Auth::TokenFile(path) => {
                let url = base_url.clone();
                AuthMode::Rotating(auth::Rotating::new(
                    path.clone(),
                    Box::new(move |token: &str| build_crab(&url, token.to_string())),
                )?)
            }
            Auth::Token(token) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(GitHubError::Config(
                        "the GitHub token is empty: set GITHUB_TOKEN (or --token-file)".into(),
                    ));
                }
                let crab = build_crab(&base_url, token.expose_secret().trim().to_string())?;
                AuthMode::Fixed(Arc::new(crab))
            }
            Auth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                let key = AppKey::from_pem(private_key_pem.expose_secret()).map_err(|e| {
                    GitHubError::Config(format!(
                        "the GitHub App private key is not an RSA key in PEM form ({e}): use the .pem file GitHub generated for App {app_id}"
                    ))
                })?;
                // Fail on a bad --github-url now, not at the first request.
                build_crab(&base_url, String::new())?;
                AuthMode::App(AppAuth {
                    app_id: *app_id,
                    key,
                    installation_id: *installation_id,
                    installations: tokio::sync::Mutex::new(HashMap::new()),
                })
            }
        };
        let loopback = auth::is_loopback(&base_url);
        Ok(GitHubClient {
            inner: Arc::new(Inner {
                app_auth: matches!(config.auth, Auth::App { .. }),
                base_url,
                auth,
                page_concurrency: config.page_concurrency.max(1),
                per_page: config.per_page.clamp(1, PER_PAGE),
                batch_size: config.batch_size.max(1),
                max_attempts: config.max_attempts.max(1),
                backoff_base: config.backoff_base,
                backoff_max: config.backoff_max,
                max_rate_limit_wait: config.max_rate_limit_wait,
                request_timeout: config.request_timeout,
                throttle: Throttle::new(config.throttle, loopback),
                retry_sleep: config.retry_sleep.clone(),
                progress: config.progress.clone(),
                counters: Mutex::new(Counters::default()),
                primary_reset: Mutex::new(None),
                teams: Mutex::new(writes::TeamCache::default()),
                etags: config.conditional_requests.then(etag::EtagCache::default),
            }),
        })
    }

    /// A snapshot of the request counters and the last rate-limit reading.
    pub fn stats(&self) -> ClientStats {
        let c = self.counters();
        ClientStats {
            requests: c.requests.clone(),
            rate_limit_remaining: c.rate_limit_remaining,
            rate_limit_limit: c.rate_limit_limit,
            rate_limit_reset: c.rate_limit_reset,
            primary_points: c.primary_points,
            not_modified: c.not_modified,
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

    /// Send one logical request: throttled, retried on transient failures,
    /// waiting out rate limits. Any HTTP response that is not retried is
    /// returned for the caller to interpret (redirects: [`redirect`]).
    async fn send_once(&self, crab: &Octocrab, req: &Req) -> Result<Resp, GitHubError> {
        let inner = &self.inner;
        let kind = req.throttle_kind();
        let mut failures = 0u32;
        let mut rate_limit_waits = 0u32;
        // Secondary limits without `retry-after` met so far: each doubles the next wait.
        let mut unstated_waits = 0u32;
        // The client after a token-file rotation this request retried on.
        let mut rotated: Option<Arc<Octocrab>> = None;
        loop {
            self.wait_for_primary_reset(req).await?;
            let request = self.build_request(req)?;
            let slot = inner.throttle.acquire(kind).await;
            let crab = rotated.as_deref().unwrap_or(crab);
            let attempt =
                tokio::time::timeout(inner.request_timeout, Self::attempt(crab, request)).await;
            drop(slot);
            let failure = match attempt {
                Err(_) => format!(
                    "no complete response within {} s",
                    inner.request_timeout.as_secs_f32()
                ),
                Ok(Err(AttemptError::Octocrab(e))) => match self.octocrab_error(e) {
                    Ok(transient) => transient,
                    Err(fatal) => return Err(fatal),
                },
                Ok(Err(AttemptError::Body(e))) => format!("the response body broke off: {e}"),
                Ok(Err(AttemptError::TooLarge)) => {
                    return Err(GitHubError::Decode {
                        route: req.route.to_string(),
                        message: format!(
                            "the response body is larger than {} MiB (a page of 100 seats is about 100 KB): is --github-url `{}` a GitHub REST API root?",
                            MAX_RESPONSE_BYTES >> 20,
                            inner.base_url
                        ),
                    });
                }
                Ok(Ok(resp)) => {
                    self.record(req, resp.status.as_u16(), &resp.headers);
                    // A 401 right after the Secret was rotated: the file may
                    // already hold the new token. Once per request.
                    if resp.status == StatusCode::UNAUTHORIZED
                        && rotated.is_none()
                        && let AuthMode::Rotating(r) = &inner.auth
                        && matches!(r.reload(), Ok(true))
                    {
                        rotated = Some(r.current());
                        continue;
                    }
                    if let Some(limit) = retry::rate_limit(
                        resp.status,
                        &resp.headers,
                        &resp.message(),
                        SystemTime::now(),
                    ) {
                        rate_limit_waits += 1;
                        let wait = limit.wait(unstated_waits);
                        if limit == RateLimit::SecondaryUnstated {
                            unstated_waits += 1;
                        }
                        if wait > inner.max_rate_limit_wait || rate_limit_waits > inner.max_attempts
                        {
                            return Err(GitHubError::RateLimited {
                                route: req.route.to_string(),
                                reset_in_secs: wait.as_secs(),
                                max_wait_secs: inner.max_rate_limit_wait.as_secs(),
                            });
                        }
                        // A short wait is routine; a long one explains a stall.
                        if wait >= Duration::from_secs(5) {
                            tracing::warn!(
                                method = %req.method,
                                route = req.route,
                                status = resp.status.as_u16(),
                                wait_s = wait.as_secs(),
                                primary = matches!(limit, RateLimit::Primary(_)),
                                "GitHub rate limit: waiting before retrying"
                            );
                        } else {
                            tracing::debug!(
                                method = %req.method,
                                route = req.route,
                                status = resp.status.as_u16(),
                                wait_ms = wait.as_millis() as u64,
                                "GitHub rate limit: waiting before retrying"
                            );
                        }
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
                            tracing::error!(
                                method = %req.method,
                                url = %self.url(req),
                                status = resp.status.as_u16(),
                                attempts = failures,
                                "GitHub kept failing"
                            );
                            return Ok(resp);
                        }
                        let wait = retry::backoff(failures, inner.backoff_base, inner.backoff_max);
                        // Retries that end in success are routine: debug.
                        tracing::debug!(
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
                tracing::error!(
                    method = %req.method,
                    url = %self.url(req),
                    attempts = failures,
                    error = %failure,
                    "cannot reach GitHub"
                );
                return Err(GitHubError::Transport {
                    method: req.method.to_string(),
                    route: req.route.to_string(),
                    url: self.url(req),
                    message: format!("{failure} (after {failures} attempts)"),
                });
            }
            let wait = retry::backoff(failures, inner.backoff_base, inner.backoff_max);
            tracing::debug!(
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

    /// The full URL of a request, for messages (no query string: it holds
    /// nothing secret, but page numbers are noise).
    fn url(&self, req: &Req) -> String {
        let path = req.path.split('?').next().unwrap_or(&req.path);
        format!("{}{path}", self.inner.base_url)
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
    ) -> Result<Resp, AttemptError> {
        use http_body_util::BodyExt;
        let response = crab
            .execute(request)
            .await
            .map_err(AttemptError::Octocrab)?;
        let status = response.status();
        let headers = response.headers().clone();
        // Bounded: a wrong --github-url or a hostile proxy must not make
        // the controller buffer an endless body.
        let bytes = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    AttemptError::TooLarge
                } else {
                    AttemptError::Body(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Split octocrab's errors: `Ok(message)` is transient (retry), `Err` is final.
    fn octocrab_error(&self, e: octocrab::Error) -> Result<String, GitHubError> {
        match &e {
            // Our calls read statuses themselves (`execute`); kept for an
            // octocrab that turns a status into an error after all.
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
        if status == 304 {
            c.not_modified += 1;
        } else if status != 0 && req.route != "/rate_limit" {
            c.primary_points += 1;
        }
        if let Some(raw) = headers.get("x-ratelimit-limit") {
            let text = raw.to_str().unwrap_or("");
            match crate::rate::plausible_limit(text) {
                Some(limit) => c.rate_limit_limit = Some(limit),
                None if !c.warned_limit => {
                    c.warned_limit = true;
                    tracing::warn!(
                        value = text,
                        "GitHub sent an x-ratelimit-limit that is not a plausible hourly limit: ignored, the rate budget keeps the last good value or its default (logged once)"
                    );
                }
                None => {}
            }
        }
        if let Some(d) = retry::until_reset(headers, SystemTime::now()) {
            c.rate_limit_reset = Some(SystemTime::now() + d);
        }
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

    /// A 404 on the org's Copilot billing route means one of three things:
    /// the API root is wrong (e.g. a proxy path that serves no REST API), the org
    /// does not exist (or has no Copilot plan), or the token cannot see it.
    /// One `GET /rate_limit` (served on every API root, free of the rate
    /// limit) tells the first apart; a classic token's `X-OAuth-Scopes`
    /// header tells a missing scope.
    async fn diagnose_404(
        &self,
        crab: &Octocrab,
        req: &Req,
        resp: &Resp,
        scope: &Scope,
    ) -> GitHubError {
        let base = &self.inner.base_url;
        let probe = self
            .send(crab, &Req::get("/rate_limit", "/rate_limit".into()))
            .await;
        let api_root_ok = probe.as_ref().is_ok_and(|r| {
            r.status.is_success() && serde_json::from_str::<serde_json::Value>(&r.body).is_ok()
        });
        let scopes = resp
            .headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .collect::<Vec<_>>()
            });
        let hint = if !api_root_ok {
            format!(
                "{base} does not look like a GitHub REST API root (GET {base}/rate_limit did not answer): for github.com leave --github-url unset; for GHE.com use https://api.SUBDOMAIN.ghe.com (GitHub Enterprise Server has no Copilot seat API)"
            )
        } else if let Some(scopes) = scopes.filter(|s| {
            !s.iter()
                .any(|x| x == "manage_billing:copilot" || x == "read:org" || x == "admin:org")
        }) {
            format!(
                "the API root answers, but the token's scopes ({}) include neither `manage_billing:copilot` nor `read:org`: GitHub hides {} from it",
                if scopes.iter().all(String::is_empty) {
                    "none".to_string()
                } else {
                    scopes.join(", ")
                },
                scope_label(scope)
            )
        } else {
            format!(
                "the API root at {base} answers, so {} does not exist, has no Copilot Business or Enterprise plan, or the token (or App installation) cannot see it: check the name in seats.yaml and that the token's user is an owner of it",
                scope_label(scope)
            )
        };
        GitHubError::NotFound {
            method: req.method.to_string(),
            route: req.route.to_string(),
            scope: scope_label(scope),
            message: resp.message(),
            hint,
        }
    }

    fn teams(&self) -> std::sync::MutexGuard<'_, writes::TeamCache> {
        self.inner.teams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The error for a response we could not use.
    fn status_error(&self, req: &Req, resp: &Resp, scope: Option<&Scope>) -> GitHubError {
        let method = req.method.to_string();
        let route = req.route.to_string();
        let message = resp.message();
        match resp.status {
            StatusCode::UNAUTHORIZED => GitHubError::Unauthorized { message },
            StatusCode::FORBIDDEN => GitHubError::Forbidden {
                advice: forbidden_advice(req.route, self.inner.app_auth),
                method,
                route,
                message,
            },
            StatusCode::NOT_FOUND => {
                let scope = scope.map_or_else(|| "the resource".to_string(), scope_label);
                GitHubError::NotFound {
                    hint: format!(
                        "check that {scope} exists, that the token can see it, and that it has a Copilot Business or Enterprise plan"
                    ),
                    method,
                    route,
                    scope,
                    message,
                }
            }
            status => GitHubError::Http {
                status: status.as_u16(),
                method,
                route,
                message,
            },
        }
    }
}

#[async_trait]
impl SeatApi for GitHubClient {
    fn budgets(&self) -> Option<&dyn crate::github::budgets::BudgetApi> {
        Some(self)
    }

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
        let mut req = Req::get(
            "/orgs/{org}/copilot/billing",
            format!("/orgs/{}/copilot/billing", seg(org)),
        );
        let cached = self.inner.etags.as_ref().and_then(|c| c.billing(org));
        req.if_none_match = cached.as_ref().map(|(etag, _)| etag.clone());
        let mut resp = self.send(&crab, &req).await?;
        if resp.status == StatusCode::NOT_MODIFIED {
            if let Some((_, info)) = cached {
                return Ok(info);
            }
            if let Some(c) = &self.inner.etags {
                c.orphan(req.route);
            }
            req.if_none_match = None;
            resp = self.send(&crab, &req).await?;
        }
        if resp.status == StatusCode::NOT_FOUND {
            return Err(self.diagnose_404(&crab, &req, &resp, scope).await);
        }
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        let info: BillingInfo = resp.json(req.route)?;
        if let Some(c) = &self.inner.etags
            && let Some(etag) = resp
                .headers
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
        {
            c.store_billing(org, etag.to_string(), info.clone());
        }
        Ok(info)
    }

    async fn list_seats(&self, scope: &Scope) -> Result<LiveState, GitHubError> {
        // A listing that shifted while it was read (a seat granted or
        // removed meanwhile) is read again at once, a few times, with a
        // little jitter so two readers do not keep colliding with the same
        // writer; only a listing that keeps shifting is reported incomplete.
        let mut reads = 0;
        loop {
            reads += 1;
            match self.read_listing(scope).await {
                Err(GitHubError::IncompleteListing {
                    message,
                    shifted: true,
                    ..
                }) if reads <= LISTING_REREADS => {
                    tracing::debug!(scope = %scope, reads, %message, "seat listing shifted: reading it again");
                    let jitter = Duration::from_millis(rand::random_range(20..=200));
                    tokio::time::sleep(jitter).await;
                }
                Err(GitHubError::IncompleteListing {
                    message,
                    shifted: true,
                    partial,
                }) => {
                    return Err(GitHubError::IncompleteListing {
                        message: format!("{message} (read {reads} times)"),
                        shifted: true,
                        partial,
                    });
                }
                other => return other,
            }
        }
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
        self.write_teams(scope, Write::AddTeams, teams).await
    }

    async fn remove_teams(
        &self,
        scope: &Scope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write_teams(scope, Write::RemoveTeams, teams).await
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

    async fn list_members(&self, org: &str) -> Result<Vec<String>, GitHubError> {
        Ok(self
            .list_members_within(org, usize::MAX)
            .await?
            .unwrap_or_default())
    }

    async fn list_members_within(
        &self,
        org: &str,
        max_pages: usize,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        let scope = Scope::Org(org.to_string());
        let crab = self.crab_for(Some(org)).await?;
        let listed = self
            .list_logins_within(
                &crab,
                "/orgs/{org}/members",
                format!("/orgs/{}/members", seg(org)),
                &scope,
                max_pages,
            )
            .await?;
        match listed {
            listing::Paged::Logins(l) => Ok(Some(l)),
            listing::Paged::TooMany(pages) => {
                tracing::debug!(
                    org,
                    pages,
                    max_pages,
                    "the member list is longer than checking each login: checking one by one"
                );
                Ok(None)
            }
            listing::Paged::NotFound => Err(GitHubError::NotFound {
                method: "GET".into(),
                route: "/orgs/{org}/members".into(),
                scope: scope_label(&scope),
                message: "Not Found".into(),
                hint: format!(
                    "check that {} exists and that the token can see its members",
                    scope_label(&scope)
                ),
            }),
        }
    }

    async fn user_seat(&self, scope: &Scope, login: &str) -> Result<Option<LiveUser>, GitHubError> {
        self.read_user_seat(scope, login).await
    }

    async fn seat_totals(&self, scope: &Scope) -> Result<SeatTotals, GitHubError> {
        self.read_seat_totals(scope).await
    }

    async fn idp_group(&self, scope: &Scope, slug: &str) -> Result<Option<String>, GitHubError> {
        self.read_idp_group(scope, slug).await
    }

    async fn in_team(
        &self,
        scope: &Scope,
        slug: &str,
        login: &str,
    ) -> Result<Option<bool>, GitHubError> {
        self.read_in_team(scope, slug, login).await
    }

    async fn add_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(scope, Write::AddMembers(team), logins).await
    }

    async fn remove_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(scope, Write::RemoveMembers(team), logins).await
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
}
