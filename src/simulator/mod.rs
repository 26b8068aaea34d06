//! An in-process fake GitHub: a real HTTP server (axum, on 127.0.0.1 and a
//! random port) that speaks GitHub's REST contract for everything seatkeeper
//! touches: Copilot seat management for orgs and enterprises, org and team
//! membership, users, repositories (contents with `sha` preconditions, git
//! refs, pull requests, issues, comments, labels: `repo.rs`), signed push
//! webhooks (`webhooks.rs`), rate limits and GitHub App installation tokens. Tests, benches, `seatkeeper demo` and `seatkeeper
//! simulator` run against it, since no machine here reaches GitHub.
//!
//! Behaviour follows the official OpenAPI description (`tests/it/simulator.rs`
//! validates every body against it) and, where the description is silent,
//! GitHub's docs ("Copilot user management",
//! <https://docs.github.com/rest/copilot/copilot-user-management>), cited at
//! each rule on [`SimState`]'s transitions.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use seatkeeper::simulator::{SimOptions, Simulator, demo_state};
//! let sim = Simulator::start(demo_state(), SimOptions::default()).await?;
//! println!("GitHub at {} with token {}", sim.url(), sim.token());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Derived seats: a member added to a selected team through
//! [`Simulator::with_state`] gets a seat when the closure returns
//! ([`SimState::normalize`]), as on GitHub.

mod app_auth;
pub mod budgets;
mod enterprise;
mod faults;
mod fixtures;
mod identity;
mod json;
mod listener;
mod oauth;
pub mod pagination;
pub mod repo;
mod repo_json;
mod repo_routes;
mod server;
mod state;
pub mod usage;
mod webhooks;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use app_auth::{IAT_SKEW_SECS, JwtError, MAX_EXP_AHEAD_SECS, verify_app_jwt};
pub use budgets::{SimBudget, SimBudgets};
pub use faults::{ErrorRate, FaultAction, FaultHandle, InjectedFault, ScriptedFault};
pub use fixtures::{
    DEMO_REPO, GenSpec, demo_state, generated_enterprise, generated_login, generated_state,
    generated_state_with,
};
pub use oauth::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, OAuthHandle};
pub use repo::{IssueState, PushEvent, SimComment, SimCommit, SimIssue, SimPull, SimRepo};
pub use state::{
    SimApp, SimError, SimOrg, SimScope, SimSeat, SimState, SimTeam, first_of_next_month,
};
pub use webhooks::{Delivery, WebhookTarget};

use listener::{ConnHandle, KillableListener};
use server::{Limits, Shared, lock};

/// Route templates as the simulator registers them: what
/// `RecordedRequest::route` holds and what fault patterns match.
pub mod routes {
    /// `GET` Copilot billing details of an org.
    pub const ORG_BILLING: &str = "/orgs/{org}/copilot/billing";
    /// `GET` the org's seat listing.
    pub const ORG_SEATS: &str = "/orgs/{org}/copilot/billing/seats";
    /// `POST`/`DELETE` seats for users.
    pub const ORG_SELECTED_USERS: &str = "/orgs/{org}/copilot/billing/selected_users";
    /// `POST`/`DELETE` seats for teams.
    pub const ORG_SELECTED_TEAMS: &str = "/orgs/{org}/copilot/billing/selected_teams";
    /// `GET` membership check (204/404/302).
    pub const ORG_MEMBER: &str = "/orgs/{org}/members/{username}";
    /// `GET` one member's seat.
    pub const ORG_MEMBER_COPILOT: &str = "/orgs/{org}/members/{username}/copilot";
    /// `GET` a team by slug.
    pub const ORG_TEAM: &str = "/orgs/{org}/teams/{team_slug}";
    /// `GET` a team's members (child teams included).
    pub const ORG_TEAM_MEMBERS: &str = "/orgs/{org}/teams/{team_slug}/members";
    /// `GET` one user's membership of an org team (child teams included).
    pub const ORG_TEAM_MEMBERSHIP: &str = "/orgs/{org}/teams/{team_slug}/memberships/{username}";
    /// `GET` one user's Copilot seat in an enterprise (every grant of it).
    pub const ENTERPRISE_MEMBER_COPILOT: &str =
        "/enterprises/{enterprise}/members/{username}/copilot";
    /// `GET` whether a user is a member of an enterprise team.
    pub const ENTERPRISE_TEAM_MEMBERSHIP: &str =
        "/enterprises/{enterprise}/teams/{enterprise_team}/memberships/{username}";
    /// `GET` the App's installation on the org (App JWT).
    pub const ORG_INSTALLATION: &str = "/orgs/{org}/installation";
    /// `GET` the enterprise's seat listing.
    pub const ENTERPRISE_SEATS: &str = "/enterprises/{enterprise}/copilot/billing/seats";
    /// `POST`/`DELETE` enterprise seats for users.
    pub const ENTERPRISE_SELECTED_USERS: &str =
        "/enterprises/{enterprise}/copilot/billing/selected_users";
    /// `POST`/`DELETE` enterprise seats for enterprise teams.
    pub const ENTERPRISE_SELECTED_TEAMS: &str =
        "/enterprises/{enterprise}/copilot/billing/selected_enterprise_teams";
    /// `GET` an enterprise team's members.
    pub const ENTERPRISE_TEAM_MEMBERSHIPS: &str =
        "/enterprises/{enterprise}/teams/{enterprise_team}/memberships";
    /// `POST` add members to an enterprise team, in bulk.
    pub const ENTERPRISE_TEAM_MEMBERSHIPS_ADD: &str =
        "/enterprises/{enterprise}/teams/{enterprise_team}/memberships/add";
    /// `POST` remove members from an enterprise team, in bulk.
    pub const ENTERPRISE_TEAM_MEMBERSHIPS_REMOVE: &str =
        "/enterprises/{enterprise}/teams/{enterprise_team}/memberships/remove";
    /// `GET` an enterprise team (its OpenAPI path names the slug `{team_slug}`).
    pub const ENTERPRISE_TEAM: &str = "/enterprises/{enterprise}/teams/{enterprise_team}";
    /// `GET` every member of an org, paged.
    pub const ORG_MEMBERS: &str = "/orgs/{org}/members";
    /// `GET` a user.
    pub const USER: &str = "/users/{username}";
    /// `GET` a repository.
    pub const REPO: &str = "/repos/{owner}/{repo}";
    /// `GET` repository contents, `PUT` a file (with a `sha` precondition).
    pub const CONTENTS: &str = "/repos/{owner}/{repo}/contents/{*path}";
    /// `GET` a git reference (`heads/BRANCH`), with ETags.
    pub const GIT_REF: &str = "/repos/{owner}/{repo}/git/ref/{*ref}";
    /// `POST` a git reference.
    pub const GIT_REFS: &str = "/repos/{owner}/{repo}/git/refs";
    /// `PATCH` a git reference.
    pub const GIT_REFS_REF: &str = "/repos/{owner}/{repo}/git/refs/{*ref}";
    /// `GET` (list) and `POST` pull requests.
    pub const PULLS: &str = "/repos/{owner}/{repo}/pulls";
    /// `GET` and `PATCH` a pull request.
    pub const PULL: &str = "/repos/{owner}/{repo}/pulls/{pull_number}";
    /// `GET` a pull request's files.
    pub const PULL_FILES: &str = "/repos/{owner}/{repo}/pulls/{pull_number}/files";
    /// `PUT` merge a pull request.
    pub const PULL_MERGE: &str = "/repos/{owner}/{repo}/pulls/{pull_number}/merge";
    /// `GET` (list) and `POST` issues.
    pub const ISSUES: &str = "/repos/{owner}/{repo}/issues";
    /// `PATCH` an issue.
    pub const ISSUE: &str = "/repos/{owner}/{repo}/issues/{issue_number}";
    /// `GET` (list) and `POST` an issue's comments.
    pub const ISSUE_COMMENTS: &str = "/repos/{owner}/{repo}/issues/{issue_number}/comments";
    /// `POST` labels to an issue.
    pub const ISSUE_LABELS: &str = "/repos/{owner}/{repo}/issues/{issue_number}/labels";
    /// `DELETE` one label from an issue.
    pub const ISSUE_LABEL: &str = "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}";
    /// `GET` the authenticated user.
    pub const AUTHENTICATED_USER: &str = "/user";
    /// `GET` the authenticated App (its JWT).
    pub const APP: &str = "/app";
    /// `PATCH` an issue comment.
    pub const COMMENT: &str = "/repos/{owner}/{repo}/issues/comments/{comment_id}";
    /// `GET` rate limit status.
    pub const RATE_LIMIT: &str = "/rate_limit";
    /// `POST` GraphQL; the simulator serves one mutation,
    /// `enablePullRequestAutoMerge`.
    pub const GRAPHQL: &str = "/graphql";
    /// `POST` an installation token (App JWT).
    pub const APP_ACCESS_TOKENS: &str = "/app/installations/{installation_id}/access_tokens";
}

/// The secondary rate limit
/// (<https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>):
/// a points budget per window (GET 1 point, POST/DELETE 5) and optionally a
/// cap on concurrent requests. Exceeding either answers `status` with
/// `retry-after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondaryLimit {
    /// Points allowed per window (GitHub: 900 per minute).
    pub points_per_window: u64,
    /// The window (GitHub: one minute).
    pub window: Duration,
    /// Status to answer: 403 or 429 (GitHub sends either).
    pub status: u16,
    /// Concurrent requests allowed (GitHub: 100), or no cap.
    pub max_concurrent: Option<usize>,
}

impl Default for SecondaryLimit {
    fn default() -> Self {
        SecondaryLimit {
            points_per_window: 900,
            window: Duration::from_secs(60),
            status: 403,
            max_concurrent: Some(100),
        }
    }
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The static token it accepts (`Authorization: Bearer|token TOKEN`).
    pub token: String,
    /// Where to listen; `None` is 127.0.0.1 on a random port.
    pub listen: Option<SocketAddr>,
    /// Added to every request (e.g. 50 ms for benches).
    pub latency: Duration,
    /// Primary rate limit per window (GitHub: 5,000 per hour).
    pub rate_limit: u64,
    /// The primary limit's window.
    pub rate_limit_window: Duration,
    /// The secondary limit; off by default.
    pub secondary: Option<SecondaryLimit>,
    /// Seed of the RNG behind fault error rates.
    pub fault_seed: u64,
    /// Accepted `X-GitHub-Api-Version` values (others get 400); a request
    /// without the header is accepted, as on GitHub.
    pub api_versions: Vec<String>,
    /// False makes membership checks answer 302, as GitHub does when the
    /// requester is not an org member.
    pub requester_is_member: bool,
    /// Record every request (see [`Simulator::requests`]).
    pub record_requests: bool,
    /// Also record response bodies (for contract tests; costs memory).
    pub record_response_bodies: bool,
    /// How long a minted GitHub App installation token is valid (GitHub:
    /// one hour).
    pub installation_token_ttl: Duration,
    /// Deliver push webhooks here from the start (see [`Simulator::set_webhook`]).
    pub webhook: Option<WebhookTarget>,
    /// Finish every request even when its client disconnects first (a
    /// timeout, a killed process), as GitHub applies a write whose answer
    /// nobody reads. Off (the default), the request is dropped with its
    /// connection: a write still waiting on injected latency never applies.
    pub finish_abandoned_requests: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            token: "sim-token".to_string(),
            listen: None,
            latency: Duration::ZERO,
            rate_limit: 5000,
            rate_limit_window: Duration::from_secs(3600),
            secondary: None,
            fault_seed: 0,
            // Both versions GitHub serves: 2026-03-10 is the first with
            // breaking changes, none of them in the routes simulated here.
            api_versions: vec!["2022-11-28".to_string(), "2026-03-10".to_string()],
            requester_is_member: true,
            record_requests: true,
            record_response_bodies: false,
            installation_token_ttl: Duration::from_secs(3600),
            webhook: None,
            finish_abandoned_requests: false,
        }
    }
}

/// One request the simulator answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Arrival order, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// The path as sent.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// The matched route template (see [`routes`]); empty when none matched.
    pub route: String,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The request body as JSON (a JSON string when it was not JSON).
    pub body: Option<serde_json::Value>,
    /// Request headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Response headers, names lowercase.
    pub response_headers: Vec<(String, String)>,
    /// The response body, with [`SimOptions::record_response_bodies`].
    pub response_body: Option<serde_json::Value>,
    /// When the handler ran (after any latency): the instant a write took
    /// effect, to compare with other servers' logs in the same process.
    /// Not serialized: an `Instant` means nothing outside its process.
    #[serde(skip, default = "std::time::Instant::now")]
    pub at: std::time::Instant,
}

impl RecordedRequest {
    /// A request header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A response header's value.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Rate-limit counters, for assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    /// The primary limit.
    pub limit: u64,
    /// Requests counted in this window.
    pub used: u64,
    /// Unix time the window resets.
    pub reset: i64,
    /// Requests in flight now.
    pub in_flight: usize,
    /// The most requests ever in flight at once.
    pub max_in_flight: usize,
}

/// A running simulator. Dropping it stops the server (without waiting);
/// [`Simulator::shutdown`] stops it and waits.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    sender: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("url", &self.url())
            .finish()
    }
}

impl Simulator {
    /// Start serving `state` on `opts.listen` (default 127.0.0.1, random port).
    pub async fn start(mut state: SimState, opts: SimOptions) -> std::io::Result<Simulator> {
        let listen = opts
            .listen
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        state.normalize(Utc::now());
        // History made before the start is not pushed anywhere.
        state.take_push_events();
        let now = Utc::now().timestamp();
        let (hooks, hook_queue) = webhooks::Hooks::new(opts.fault_seed ^ 0x5eed);
        let hooks = Arc::new(hooks);
        if let Some(t) = &opts.webhook {
            hooks.set_target(Some(t.clone()));
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            base_url: format!("http://{addr}"),
            requests: Mutex::new(Vec::new()),
            faults: FaultHandle::new(opts.fault_seed),
            limits: Mutex::new(Limits {
                limit: opts.rate_limit,
                used: 0,
                reset: now + opts.rate_limit_window.as_secs().max(1) as i64,
                secondary_start: None,
                secondary_points: 0,
            }),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            tokens: Mutex::new(HashMap::new()),
            etag_salt: AtomicU64::new(0),
            token_rng: Mutex::new(faults::SplitMix64(
                opts.fault_seed ^ (now as u64).wrapping_mul(0x9E37_79B9),
            )),
            seq: AtomicU64::new(0),
            hooks: hooks.clone(),
            oauth: oauth::OAuthState::default(),
            opts,
        });
        let sender = tokio::spawn(hooks.run(hook_queue));
        let app =
            server::router(shared.clone()).into_make_service_with_connect_info::<ConnHandle>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(KillableListener { inner: listener }, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Simulator {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
            sender: Some(sender),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The static token it accepts.
    pub fn token(&self) -> String {
        self.shared.opts.token.clone()
    }

    /// A snapshot of the state.
    pub fn state(&self) -> SimState {
        lock(&self.shared.state).clone()
    }

    /// Change the live state. Afterwards seats are derived again
    /// ([`SimState::normalize`]): e.g. a member added to a selected team gets
    /// a seat.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        let mut st = lock(&self.shared.state);
        let r = f(&mut st);
        st.normalize(Utc::now());
        // A branch moved here is pushed like one moved through the API.
        self.shared.flush_pushes(&mut st);
        r
    }

    /// Look at the state in place, without copying it (cheap on a big
    /// state, e.g. to poll one seat). Anything changed here is not derived
    /// again or pushed: change the state with [`Simulator::with_state`].
    pub fn peek<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        f(&mut lock(&self.shared.state))
    }

    /// Accept `token` too (until `expires`), e.g. one token per process so
    /// the request log tells the processes' writes apart.
    pub fn add_token(&self, token: &str, expires: DateTime<Utc>) {
        lock(&self.shared.tokens).insert(token.to_string(), expires);
    }

    /// Deliver push webhooks to `target` from now on (`None`: stop).
    pub fn set_webhook(&self, target: Option<WebhookTarget>) {
        self.shared.hooks.set_target(target);
    }

    /// Every webhook delivery so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.hooks.deliveries()
    }

    /// A handle that reads the deliveries later (e.g. from another task).
    pub fn delivery_log(&self) -> impl Fn() -> Vec<Delivery> + Send + Sync + 'static {
        let hooks = self.shared.hooks.clone();
        move || hooks.deliveries()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Forget recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// The fault controls.
    pub fn faults(&self) -> FaultHandle {
        self.shared.faults.clone()
    }

    /// Rate-limit and concurrency counters.
    pub fn rate_limit(&self) -> RateLimitSnapshot {
        let l = lock(&self.shared.limits);
        RateLimitSnapshot {
            limit: l.limit,
            used: l.used,
            reset: l.reset,
            in_flight: self.shared.in_flight.load(Ordering::SeqCst),
            max_in_flight: self.shared.max_in_flight.load(Ordering::SeqCst),
        }
    }

    /// The most requests that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Reset the max-in-flight counter.
    pub fn reset_max_in_flight(&self) {
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
    }

    /// Set the primary budget: `remaining` requests left, resetting in `reset_in`.
    pub fn set_rate_limit(&self, remaining: u64, reset_in: Duration) {
        let mut l = lock(&self.shared.limits);
        l.used = l.limit.saturating_sub(remaining);
        l.reset = Utc::now().timestamp() + reset_in.as_secs() as i64;
    }

    /// Change every listing `ETag` without changing a body (0: the plain
    /// hash of the body). GitHub's `ETag`s are opaque; a deploy or a proxy
    /// can change them while the data stays the same.
    pub fn set_etag_salt(&self, salt: u64) {
        self.shared.etag_salt.store(salt, Ordering::Relaxed);
    }

    /// Reset the secondary limit's window.
    pub fn reset_secondary_limit(&self) {
        let mut l = lock(&self.shared.limits);
        l.secondary_start = None;
        l.secondary_points = 0;
    }

    /// Stop serving and wait for the server task (at most 5 s, then abort).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(sender) = self.sender.take() {
            sender.abort();
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(sender) = self.sender.take() {
            sender.abort();
        }
    }
}
