//! The HTTP side: axum routes, GitHub's error bodies and headers, and the
//! request pipeline (recording, latency, faults, auth, rate limits).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::app_auth::{self, JwtError};
use super::faults::{FaultAction, FaultHandle, Outcome, SplitMix64};
use super::json;
use super::listener::ConnHandle;
use super::pagination::{self, PageRequest};
use super::state::{SimError, SimScope, SimState};
use super::webhooks::Hooks;
use super::{RecordedRequest, SimOptions, repo_routes, routes};
use crate::plan::TeamKind;

/// Largest request body accepted (GitHub's own limit is far above what the
/// seat routes need).
const MAX_BODY: usize = 8 * 1024 * 1024;

pub(crate) const DOC_REST: &str = "https://docs.github.com/rest";

/// State shared by every handler.
pub(crate) struct Shared {
    pub state: Mutex<SimState>,
    pub opts: SimOptions,
    pub base_url: String,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub faults: FaultHandle,
    pub limits: Mutex<Limits>,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub tokens: Mutex<HashMap<String, DateTime<Utc>>>,
    pub token_rng: Mutex<SplitMix64>,
    pub seq: AtomicU64,
    pub hooks: Arc<Hooks>,
    pub oauth: super::oauth::OAuthState,
    /// Mixed into the listing routes' `ETag`s: a new salt changes every
    /// `ETag` without changing a body (a bad input the client must survive).
    pub etag_salt: AtomicU64,
}

/// Rate-limit counters.
#[derive(Debug)]
pub(crate) struct Limits {
    pub limit: u64,
    pub used: u64,
    pub reset: i64,
    pub secondary_start: Option<tokio::time::Instant>,
    pub secondary_points: u64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the simulator down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, SimState> {
        lock(&self.state)
    }

    pub(crate) fn api(&self) -> &str {
        &self.base_url
    }

    /// Hand the branch moves recorded in `st` to the webhook sender, each as
    /// a `push` payload built now (the repository as it is after the move).
    pub(crate) fn flush_pushes(&self, st: &mut SimState) {
        for event in st.take_push_events() {
            let Some(repo) = st.repo(&event.repo) else {
                continue;
            };
            let payload = super::repo_json::push_payload(self.api(), st, repo, &event);
            self.hooks
                .send(serde_json::to_vec(&payload).unwrap_or_default());
        }
    }
}

/// A GitHub error response: `{"message", "documentation_url", "status"}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    doc: &'static str,
    headers: Vec<(String, String)>,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>, doc: &'static str) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
            doc,
            headers: Vec::new(),
        }
    }

    pub(crate) fn not_found(doc: &'static str) -> ApiError {
        ApiError::new(404, "Not Found", doc)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "message": self.message,
            "documentation_url": self.doc,
            "status": self.status.as_u16().to_string(),
        });
        let mut r = json_response(self.status, &body);
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                r.headers_mut().insert(k, v);
            }
        }
        r
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// A JSON `200` with a weak `ETag` over its bytes, as GitHub serves its
/// listings (`W/"…"`), or a bodiless `304` carrying the same `ETag` when
/// `If-None-Match` names it (weak comparison, RFC 9110 §13.1.2). The
/// middleware refunds the primary-limit point of a `304`.
pub(crate) fn conditional_json<T: Serialize>(sh: &Shared, req: &HeaderMap, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    // Any digest of the bytes will do: GitHub's ETags are opaque. A fast
    // one keeps 1,000-page listings quick to serve.
    let salt = sh.etag_salt.load(Ordering::Relaxed);
    let h = foldhash::fast::FixedState::with_seed(salt).hash_one(&bytes[..]);
    let etag = format!("W/\"{h:016x}\"");
    let mut r = if if_none_match(req, &etag) {
        empty(StatusCode::NOT_MODIFIED)
    } else {
        let mut r = Response::new(Body::from(bytes));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        r
    };
    if let Ok(v) = HeaderValue::try_from(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

pub(crate) fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// Build the router over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(routes::ORG_BILLING, get(org_billing))
        .route(routes::ORG_SEATS, get(org_seats))
        .route(
            routes::ORG_SELECTED_USERS,
            post(org_add_users).delete(org_remove_users),
        )
        .route(
            routes::ORG_SELECTED_TEAMS,
            post(org_add_teams).delete(org_remove_teams),
        )
        .route(routes::ORG_MEMBER, get(org_member))
        .route(routes::ORG_MEMBER_COPILOT, get(org_member_copilot))
        .route(routes::ORG_TEAM, get(org_team))
        .route(routes::ORG_TEAM_MEMBERS, get(org_team_members))
        .route(routes::ORG_TEAM_MEMBERSHIP, get(org_team_membership))
        .route(routes::ENTERPRISE_MEMBER_COPILOT, get(ent_member_copilot))
        .route(routes::ENTERPRISE_TEAM_MEMBERSHIP, get(ent_team_membership))
        .route(routes::ORG_INSTALLATION, get(org_installation))
        .route(routes::ENTERPRISE_SEATS, get(ent_seats))
        .route(
            routes::ENTERPRISE_SELECTED_USERS,
            post(ent_add_users).delete(ent_remove_users),
        )
        .route(
            routes::ENTERPRISE_SELECTED_TEAMS,
            post(ent_add_teams).delete(ent_remove_teams),
        )
        .route(
            routes::ENTERPRISE_TEAM_MEMBERSHIPS,
            get(ent_team_memberships),
        )
        .route(
            routes::ENTERPRISE_TEAM_MEMBERSHIPS_ADD,
            post(ent_add_memberships),
        )
        .route(
            routes::ENTERPRISE_TEAM_MEMBERSHIPS_REMOVE,
            post(ent_remove_memberships),
        )
        .route(routes::ENTERPRISE_TEAM, get(ent_team))
        .route(routes::ORG_MEMBERS, get(org_members))
        .route(routes::USER, get(get_user))
        .route(routes::REPO, get(repo_routes::get_repo))
        .route(
            routes::CONTENTS,
            get(repo_routes::get_contents).put(repo_routes::put_contents),
        )
        .route(routes::GIT_REF, get(repo_routes::get_ref))
        .route(routes::GIT_REFS, post(repo_routes::create_ref))
        .route(routes::GIT_REFS_REF, patch(repo_routes::update_ref))
        .route(
            routes::PULLS,
            get(repo_routes::list_pulls).post(repo_routes::create_pull),
        )
        .route(
            routes::PULL,
            get(repo_routes::get_pull).patch(repo_routes::update_pull),
        )
        .route(routes::PULL_FILES, get(repo_routes::pull_files))
        .route(routes::PULL_MERGE, put(repo_routes::merge_pull))
        .route(
            routes::ISSUES,
            get(repo_routes::list_issues).post(repo_routes::create_issue),
        )
        .route(routes::ISSUE, patch(repo_routes::update_issue))
        .route(
            routes::ISSUE_COMMENTS,
            get(repo_routes::list_comments).post(repo_routes::create_comment),
        )
        .route(routes::ISSUE_LABELS, post(repo_routes::add_labels))
        .route(routes::ISSUE_LABEL, delete(repo_routes::remove_label))
        .route(
            routes::AUTHENTICATED_USER,
            get(super::identity::authenticated_user),
        )
        .route(routes::APP, get(super::identity::app))
        .route(routes::COMMENT, patch(repo_routes::update_comment))
        .route(routes::RATE_LIMIT, get(rate_limit))
        .route(routes::GRAPHQL, post(repo_routes::graphql))
        .route(routes::APP_ACCESS_TOKENS, post(create_access_token))
        .merge(super::oauth::router())
        .route(
            super::usage::ORG_AI_CREDIT_USAGE,
            get(super::usage::org_usage),
        )
        .route(
            super::usage::ENTERPRISE_AI_CREDIT_USAGE,
            get(super::usage::enterprise_usage),
        )
        .merge(super::budgets::router())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), pipeline))
        .with_state(shared)
}

async fn not_found() -> Response {
    ApiError::not_found(DOC_REST).into_response()
}

// ---------------------------------------------------------------------------
// Pipeline

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(sh: &'a Shared) -> (InFlight<'a>, usize) {
        let now = sh.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        sh.max_in_flight.fetch_max(now, Ordering::SeqCst);
        (InFlight(sh), now)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The token of `Authorization: Bearer X` or `Authorization: token X`.
pub(crate) fn auth_token(h: &HeaderMap) -> Option<&str> {
    let v = header_str(h, "authorization")?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| rest.trim())
}

fn authorized(sh: &Shared, h: &HeaderMap) -> bool {
    let Some(token) = auth_token(h) else {
        return false;
    };
    if token == sh.opts.token {
        return true;
    }
    lock(&sh.tokens)
        .get(token)
        .is_some_and(|exp| *exp > Utc::now())
}

/// True when the request carries a minted installation token (not the
/// static token).
pub(crate) fn is_installation_token(sh: &Shared, h: &HeaderMap) -> bool {
    auth_token(h).is_some_and(|t| t != sh.opts.token && lock(&sh.tokens).contains_key(t))
}

/// Routes that refuse GitHub App installation tokens. The enterprise-teams
/// docs: "These endpoints are not compatible with fine-grained personal
/// access tokens or GitHub App access tokens"; the GHEC description marks
/// `selected_users` of the enterprise `enabledForGitHubApps: false` (the
/// enterprise seat listing and `selected_enterprise_teams` true).
fn app_token_refused(sh: &Shared, h: &HeaderMap, method: &Method, route: &str) -> bool {
    let enterprise_teams = route.starts_with("/enterprises/{enterprise}/teams");
    let enterprise_users = route == routes::ENTERPRISE_SELECTED_USERS && method != Method::GET;
    (enterprise_teams || enterprise_users) && is_installation_token(sh, h)
}

fn unix_now() -> i64 {
    Utc::now().timestamp()
}

/// Points a request costs against the secondary limit
/// (<https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#calculating-points-for-the-secondary-rate-limit>):
/// 1 for reads, 5 for writes.
fn secondary_points(method: &Method) -> u64 {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        1
    } else {
        5
    }
}

fn secondary_error(status: u16, retry_after: u64) -> ApiError {
    let mut e = ApiError::new(
        status,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
        "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits",
    );
    e.headers
        .push(("retry-after".to_string(), retry_after.to_string()));
    e
}

/// Apply the primary and secondary limits; `Err` is the refusal to send.
fn consume_limits(
    sh: &Shared,
    method: &Method,
    route: &str,
    in_flight: usize,
) -> Result<(), ApiError> {
    let mut l = lock(&sh.limits);
    let now = unix_now();
    if now >= l.reset {
        l.used = 0;
        l.reset = now + sh.opts.rate_limit_window.as_secs().max(1) as i64;
    }
    if let Some(sec) = &sh.opts.secondary {
        if sec.max_concurrent.is_some_and(|m| in_flight > m) {
            return Err(secondary_error(sec.status, sec.window.as_secs().max(1)));
        }
        if sec.points_per_window > 0 {
            let t = tokio::time::Instant::now();
            let start = *l.secondary_start.get_or_insert(t);
            let elapsed = t.duration_since(start);
            if elapsed >= sec.window {
                l.secondary_start = Some(t);
                l.secondary_points = 0;
            }
            let cost = secondary_points(method);
            if l.secondary_points + cost > sec.points_per_window {
                let left = sec
                    .window
                    .saturating_sub(t.duration_since(l.secondary_start.unwrap_or(t)));
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                return Err(secondary_error(sec.status, secs.max(1)));
            }
            l.secondary_points += cost;
        }
    }
    // GitHub: "Accessing this endpoint does not count against your REST API
    // rate limit" (GET /rate_limit).
    if route == routes::RATE_LIMIT {
        return Ok(());
    }
    if l.used >= l.limit {
        return Err(ApiError::new(
            403,
            "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
            "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-primary-rate-limits",
        ));
    }
    l.used += 1;
    Ok(())
}

fn rate_headers(sh: &Shared, h: &mut HeaderMap) {
    let l = lock(&sh.limits);
    let pairs = [
        ("x-ratelimit-limit", l.limit.to_string()),
        (
            "x-ratelimit-remaining",
            l.limit.saturating_sub(l.used).to_string(),
        ),
        ("x-ratelimit-reset", l.reset.to_string()),
        ("x-ratelimit-used", l.used.to_string()),
        ("x-ratelimit-resource", "core".to_string()),
    ];
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::try_from(v) {
            h.insert(k, v);
        }
    }
}

fn headers_vec(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn body_json(bytes: &[u8]) -> Option<serde_json::Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        }),
    )
}

/// Every request passes here. hyper drops a handler whose client hung up,
/// so a write still waiting (latency) would never apply; GitHub finishes it
/// anyway. With [`SimOptions::finish_abandoned_requests`] the request runs
/// in its own task, which a hang-up does not cancel.
async fn pipeline(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if !sh.opts.finish_abandoned_requests {
        return handle(sh, req, next).await;
    }
    tokio::spawn(handle(sh, req, next))
        .await
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

/// One request: count, record, delay, fault, authenticate, rate-limit, then
/// the handler; GitHub's headers on the way out.
async fn handle(sh: Arc<Shared>, req: Request, next: Next) -> Response {
    let (_guard, in_flight) = InFlight::enter(&sh);
    let seq = sh.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|c| c.0.clone());
    let req_headers = headers_vec(req.headers());
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await;
    let request_body = match &bytes {
        Ok(b) if sh.opts.record_requests => body_json(b),
        _ => None,
    };

    let decision = sh.faults.decide(seq, method.as_str(), &route);
    let latency = sh.opts.latency + decision.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let mut dropped = false;
    let mut counted = false;
    let mut handled_at = std::time::Instant::now();
    let mut response = 'resp: {
        let bytes = match bytes {
            Ok(b) => b,
            Err(_) => {
                break 'resp ApiError::new(413, "Request body too large", DOC_REST).into_response();
            }
        };
        if let Some(v) = header_str(&parts.headers, "x-github-api-version") {
            if !sh.opts.api_versions.iter().any(|a| a == v.trim()) {
                // https://docs.github.com/rest/about-the-rest-api/api-versions:
                // an unsupported version is answered with 400.
                break 'resp ApiError::new(
                    400,
                    format!("API version '{v}' is not supported."),
                    "https://docs.github.com/rest/about-the-rest-api/api-versions",
                )
                .into_response();
            }
        }
        match decision.outcome {
            Some(Outcome::Drop) => {
                if let Some(c) = &conn {
                    c.kill();
                }
                dropped = true;
                break 'resp empty(StatusCode::INTERNAL_SERVER_ERROR);
            }
            Some(Outcome::Status {
                status,
                headers,
                message,
            }) => {
                let message = message.unwrap_or_else(|| {
                    StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Injected fault")
                        .to_string()
                });
                let mut e = ApiError::new(status, message, DOC_REST);
                e.headers = headers;
                break 'resp e.into_response();
            }
            None => {}
        }
        let jwt_route = route == routes::APP_ACCESS_TOKENS
            || route == routes::ORG_INSTALLATION
            || route == routes::APP
            || super::oauth::own_auth(&sh, &route, &parts.headers);
        if !jwt_route && !route.is_empty() && !authorized(&sh, &parts.headers) {
            break 'resp ApiError::new(401, "Bad credentials", DOC_REST).into_response();
        }
        if app_token_refused(&sh, &parts.headers, &method, &route) {
            // GitHub's generic answer for a token type a route does not take.
            break 'resp ApiError::new(
                403,
                "Resource not accessible by integration",
                "https://docs.github.com/enterprise-cloud@latest/rest/enterprise-teams/enterprise-teams",
            )
            .into_response();
        }
        if !route.is_empty() {
            if let Err(e) = consume_limits(&sh, &method, &route, in_flight) {
                break 'resp e.into_response();
            }
            counted = route != routes::RATE_LIMIT;
        }
        handled_at = std::time::Instant::now();
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    };

    // axum's own rejections (a path segment that is not UTF-8, a body over
    // the extractor's limit) are plain text; GitHub always answers JSON.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status().as_u16() >= 400 && !is_json && !dropped {
        let status = response.status();
        let message = status.canonical_reason().unwrap_or("Error");
        response = ApiError::new(status.as_u16(), message, DOC_REST).into_response();
    }
    let status = response.status();
    // Conditional requests answered 304 do not count against the primary
    // limit (https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
    if counted && status == StatusCode::NOT_MODIFIED {
        let mut l = lock(&sh.limits);
        l.used = l.used.saturating_sub(1);
    }
    if status.is_success() && !dropped {
        let later_second = decision.after.iter().any(|a| {
            matches!(
                a,
                FaultAction::GrantEnterpriseSeatAfter {
                    later_second: true,
                    ..
                }
            )
        });
        if later_second {
            // The response is dated when it was made; the changes it
            // triggers land together, in the next second.
            let made = Utc::now();
            let date = made.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            if let Ok(v) = HeaderValue::try_from(date) {
                response.headers_mut().insert(header::DATE, v);
            }
            let ms = 1000 - u64::from(made.timestamp_subsec_millis().min(999));
            tokio::time::sleep(std::time::Duration::from_millis(ms + 5)).await;
        }
        for action in &decision.after {
            apply_after(&sh, action);
        }
    }
    let h = response.headers_mut();
    rate_headers(&sh, h);
    h.insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    h.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    if let Ok(v) = HeaderValue::try_from(format!("{seq:08X}:SIM")) {
        h.insert("x-github-request-id", v);
    }

    let response_headers = headers_vec(response.headers());
    let (response, response_body) = if sh.opts.record_response_bodies && !dropped {
        let (parts, body) = response.into_parts();
        let b = to_bytes(body, usize::MAX).await.unwrap_or_default();
        let v = body_json(&b);
        (Response::from_parts(parts, Body::from(b)), v)
    } else {
        (response, None)
    };
    if sh.opts.record_requests {
        lock(&sh.requests).push(RecordedRequest {
            seq,
            method: method.to_string(),
            path,
            query,
            route,
            status: if dropped { 0 } else { status.as_u16() },
            body: request_body,
            headers: req_headers,
            response_headers,
            response_body,
            at: handled_at,
        });
    }
    response
}

/// A post-response fault: change the seats (e.g. between two pages).
fn apply_after(sh: &Shared, action: &FaultAction) {
    let mut st = sh.state();
    let now = Utc::now();
    match action {
        FaultAction::InsertSeatAfter(login) => {
            if !st.is_member(login) {
                st.members.push(login.clone());
                st.invalidate();
            }
            let mut seat = super::state::SimSeat::new(login, now);
            seat.updated_at = Some(now);
            st.insert_seat(seat);
        }
        FaultAction::RemoveSeatAfter(login) => {
            let login = login
                .clone()
                .or_else(|| st.seats.first().map(|s| s.login.clone()));
            if let Some(l) = login {
                st.remove_seat(&l);
            }
        }
        FaultAction::GrantEnterpriseSeatAfter { login, .. } => {
            if !st
                .enterprise_member_set()
                .contains(&login.to_ascii_lowercase())
            {
                st.enterprise_members.push(login.clone());
            }
            st.enterprise_selected_users
                .insert(login.to_ascii_lowercase());
            let mut seat = super::state::SimSeat::new(login, now);
            seat.updated_at = Some(now);
            st.insert_enterprise_seat(seat);
        }
        FaultAction::RemoveEnterpriseSeatsAfter(login) => {
            st.remove_enterprise_seats(login);
        }
        FaultAction::CommitAfter {
            repo,
            branch,
            path,
            content,
        } => {
            st.commit_file(
                repo,
                branch,
                path,
                content,
                &format!("Update {path}"),
                "octocat",
            );
            sh.flush_pushes(&mut st);
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Helpers for handlers

fn check_org(st: &SimState, org: &str) -> Result<(), ApiError> {
    if st.org.eq_ignore_ascii_case(org) {
        Ok(())
    } else {
        Err(ApiError::not_found(DOC_REST))
    }
}

fn check_enterprise(st: &SimState, ent: &str) -> Result<(), ApiError> {
    match &st.enterprise {
        Some(e) if e.eq_ignore_ascii_case(ent) => Ok(()),
        _ => Err(ApiError::not_found(DOC_REST)),
    }
}

/// Parse `{"<key>": ["name", ...]}` as GitHub validates it: bad JSON is
/// 400 "Problems parsing JSON"; a missing key, a non-array, a non-string
/// item or an empty array (`minItems: 1`) is 422 "Invalid request".
fn parse_names(body: &[u8], key: &str, doc: &'static str) -> Result<Vec<String>, ApiError> {
    let v: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|_| ApiError::new(400, "Problems parsing JSON", doc))?
    };
    let Some(obj) = v.as_object() else {
        return Err(ApiError::new(
            422,
            "Invalid request.\n\nInvalid input: object is expected.",
            doc,
        ));
    };
    let Some(list) = obj.get(key) else {
        return Err(ApiError::new(
            422,
            format!("Invalid request.\n\n\"{key}\" wasn't supplied."),
            doc,
        ));
    };
    let Some(items) = list.as_array() else {
        return Err(ApiError::new(
            422,
            format!("Invalid request.\n\nFor 'properties/{key}', {list} is not an array."),
            doc,
        ));
    };
    if items.is_empty() {
        return Err(ApiError::new(
            422,
            format!("Invalid request.\n\nFor 'properties/{key}', [] has fewer than 1 items."),
            doc,
        ));
    }
    items
        .iter()
        .map(|i| {
            i.as_str().map(str::to_string).ok_or_else(|| {
                ApiError::new(
                    422,
                    format!("Invalid request.\n\nFor 'items', {i} is not a string."),
                    doc,
                )
            })
        })
        .collect()
}

/// GitHub's status for each refusal: 404 for users or teams that do not
/// exist in the scope (listed on the routes), 422 for the rest.
fn sim_error(e: SimError, doc: &'static str) -> ApiError {
    let status = match e {
        SimError::NotMembers { .. } | SimError::UnknownTeams { .. } => 404,
        _ => 422,
    };
    ApiError::new(status, e.to_string(), doc)
}

pub(crate) fn page_request(
    query: Option<&str>,
    default: usize,
    doc: &'static str,
) -> Result<PageRequest, ApiError> {
    pagination::parse_page_request(query, default)
        .map_err(|e| ApiError::new(422, e.to_string(), doc))
}

pub(crate) fn with_link(
    mut r: Response,
    sh: &Shared,
    uri: &Uri,
    req: PageRequest,
    total: usize,
) -> Response {
    if let Some(link) = pagination::link_header(
        &sh.base_url,
        uri.path(),
        uri.query(),
        req.page,
        req.last_page(total),
    ) {
        if let Ok(v) = HeaderValue::try_from(link) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    r
}

// ---------------------------------------------------------------------------
// Copilot seat management

async fn org_billing(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let st = sh.state();
    check_org(&st, &org)?;
    let body = json!({
        "seat_breakdown": st.seat_breakdown(),
        "seat_management_setting": st.seat_management_setting.as_str(),
        "public_code_suggestions": st.public_code_suggestions,
        "ide_chat": "enabled",
        "platform_chat": "enabled",
        "cli": "enabled",
        "plan_type": st.plan_type,
    });
    Ok(conditional_json(&sh, &headers, &body))
}

#[derive(Serialize)]
struct SeatList {
    total_seats: usize,
    seats: Vec<json::SeatDetail>,
}

/// One page of the org's seat listing. Seats are kept in listing order, so
/// a page is a slice: O(per_page) per request even for 100,000 seats.
fn seats_page(sh: &Shared, uri: &Uri, headers: &HeaderMap, doc: &'static str) -> ApiResult {
    let req = page_request(uri.query(), 50, doc)?;
    let (total, seats) = {
        let st = sh.state();
        let total = st.seats.len();
        let org = (!st.org.is_empty()).then(|| json::org_simple(sh.api(), &st));
        let seats: Vec<json::SeatDetail> = st.seats[req.range(total)]
            .iter()
            .map(|s| json::seat(sh.api(), &st, org.as_ref(), s))
            .collect();
        (total, seats)
    };
    let r = conditional_json(
        sh,
        headers,
        &SeatList {
            total_seats: total,
            seats,
        },
    );
    Ok(with_link(r, sh, uri, req, total))
}

async fn org_seats(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult {
    check_org(&sh.state(), &org)?;
    seats_page(
        &sh,
        &uri,
        &headers,
        "https://docs.github.com/rest/copilot/copilot-user-management#list-all-copilot-seat-assignments-for-an-organization",
    )
}

/// One page of the enterprise listing: one entry per granting organization
/// or enterprise team of each user, while `total_seats` counts each user
/// once, so the pages (sized by entries) run past `total_seats / per_page`.
async fn ent_seats(
    State(sh): State<Arc<Shared>>,
    Path(ent): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult {
    let doc = "https://docs.github.com/enterprise-cloud@latest/rest/copilot/copilot-user-management#list-all-copilot-seat-assignments-for-an-enterprise";
    check_enterprise(&sh.state(), &ent)?;
    let req = page_request(uri.query(), 50, doc)?;
    let (entries, users, seats) = {
        let mut st = sh.state();
        let listing = st.enterprise_listing();
        let n = listing.entries.len();
        let seats: Vec<json::SeatDetail> = listing.entries[req.range(n)]
            .iter()
            .map(|&e| json::enterprise_entry(sh.api(), &st, e))
            .collect();
        (n, listing.users, seats)
    };
    let r = conditional_json(
        &sh,
        &headers,
        &SeatList {
            total_seats: users,
            seats,
        },
    );
    Ok(with_link(r, &sh, &uri, req, entries))
}

#[derive(Clone, Copy)]
enum Write {
    AddUsers,
    RemoveUsers,
    AddTeams,
    RemoveTeams,
}

fn write_doc(scope: SimScope, w: Write) -> &'static str {
    match (scope, w) {
        (SimScope::Org, Write::AddUsers) => {
            "https://docs.github.com/rest/copilot/copilot-user-management#add-users-to-the-copilot-subscription-for-an-organization"
        }
        (SimScope::Org, Write::RemoveUsers) => {
            "https://docs.github.com/rest/copilot/copilot-user-management#remove-users-from-the-copilot-subscription-for-an-organization"
        }
        (SimScope::Org, Write::AddTeams) => {
            "https://docs.github.com/rest/copilot/copilot-user-management#add-teams-to-the-copilot-subscription-for-an-organization"
        }
        (SimScope::Org, Write::RemoveTeams) => {
            "https://docs.github.com/rest/copilot/copilot-user-management#remove-teams-from-the-copilot-subscription-for-an-organization"
        }
        (SimScope::Enterprise, Write::AddUsers) => {
            "https://docs.github.com/enterprise-cloud@latest/rest/copilot/copilot-user-management#add-users-to-the-copilot-subscription-for-an-enterprise"
        }
        (SimScope::Enterprise, Write::RemoveUsers) => {
            "https://docs.github.com/enterprise-cloud@latest/rest/copilot/copilot-user-management#remove-users-from-the-copilot-subscription-for-an-enterprise"
        }
        (SimScope::Enterprise, Write::AddTeams) => {
            "https://docs.github.com/enterprise-cloud@latest/rest/copilot/copilot-user-management#add-enterprise-teams-to-the-copilot-subscription-for-an-enterprise"
        }
        (SimScope::Enterprise, Write::RemoveTeams) => {
            "https://docs.github.com/enterprise-cloud@latest/rest/copilot/copilot-user-management#remove-enterprise-teams-from-the-copilot-subscription-for-an-enterprise"
        }
    }
}

/// The team routes take "team names" (the request bodies' own words), not
/// slugs: each value is looked up by name, and a value that names no team
/// refuses the request with GitHub's 404, after the setting's 422.
fn team_slugs_by_name(
    st: &SimState,
    scope: SimScope,
    names: &[String],
) -> Result<Vec<String>, SimError> {
    st.check_setting(scope)?;
    let kind = scope.team_kind();
    let mut slugs = Vec::with_capacity(names.len());
    let mut unknown = Vec::new();
    for n in names {
        match st.team_by_name(kind, n) {
            Some(t) => slugs.push(t.slug.clone()),
            None => unknown.push(n.clone()),
        }
    }
    if unknown.is_empty() {
        Ok(slugs)
    } else {
        Err(SimError::UnknownTeams {
            scope: scope.noun(),
            slugs: unknown,
        })
    }
}

/// Every seat write: check the scope, parse the body, apply the pure
/// transition, answer `seats_created` (201) or `seats_cancelled` (200).
fn seat_write(sh: &Shared, scope: SimScope, name: &str, w: Write, body: &[u8]) -> ApiResult {
    let doc = write_doc(scope, w);
    {
        let st = sh.state();
        match scope {
            SimScope::Org => check_org(&st, name)?,
            SimScope::Enterprise => check_enterprise(&st, name)?,
        }
    }
    let key = match (scope, w) {
        (_, Write::AddUsers | Write::RemoveUsers) => "selected_usernames",
        (SimScope::Org, _) => "selected_teams",
        (SimScope::Enterprise, _) => "selected_enterprise_teams",
    };
    let mut names = parse_names(body, key, doc)?;
    if matches!(w, Write::AddTeams | Write::RemoveTeams) {
        names = team_slugs_by_name(&sh.state(), scope, &names).map_err(|e| sim_error(e, doc))?;
    }
    if matches!(w, Write::AddUsers | Write::RemoveUsers) {
        let rejected = sh.faults.rejected_among(&names);
        if !rejected.is_empty() {
            return Err(sim_error(SimError::Rejected { logins: rejected }, doc));
        }
    }
    let now = Utc::now();
    let mut st = sh.state();
    if scope == SimScope::Enterprise
        && matches!(w, Write::RemoveTeams)
        && st.defer_enterprise_team_deletes
    {
        // The GHEC description's "202 Response": accepted, done later.
        st.check_setting(scope).map_err(|e| sim_error(e, doc))?;
        st.pending_team_deletes
            .extend(names.iter().map(|n| n.to_ascii_lowercase()));
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({ "message": "Status for delete command" }),
        ));
    }
    let result = match w {
        Write::AddUsers => st.add_users(scope, &names, now),
        Write::RemoveUsers => st.remove_users(scope, &names, now),
        Write::AddTeams => st.add_teams(scope, &names, now),
        Write::RemoveTeams => st.remove_teams(scope, &names, now),
    };
    drop(st);
    let n = result.map_err(|e| sim_error(e, doc))?;
    Ok(match w {
        Write::AddUsers | Write::AddTeams => {
            json_response(StatusCode::CREATED, &json!({ "seats_created": n }))
        }
        Write::RemoveUsers | Write::RemoveTeams => {
            json_response(StatusCode::OK, &json!({ "seats_cancelled": n }))
        }
    })
}

async fn org_add_users(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Org, &org, Write::AddUsers, &body)
}

async fn org_remove_users(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Org, &org, Write::RemoveUsers, &body)
}

async fn org_add_teams(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Org, &org, Write::AddTeams, &body)
}

async fn org_remove_teams(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Org, &org, Write::RemoveTeams, &body)
}

async fn ent_add_users(
    State(sh): State<Arc<Shared>>,
    Path(e): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Enterprise, &e, Write::AddUsers, &body)
}

async fn ent_remove_users(
    State(sh): State<Arc<Shared>>,
    Path(e): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Enterprise, &e, Write::RemoveUsers, &body)
}

async fn ent_add_teams(
    State(sh): State<Arc<Shared>>,
    Path(e): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Enterprise, &e, Write::AddTeams, &body)
}

async fn ent_remove_teams(
    State(sh): State<Arc<Shared>>,
    Path(e): Path<String>,
    body: Bytes,
) -> ApiResult {
    seat_write(&sh, SimScope::Enterprise, &e, Write::RemoveTeams, &body)
}

// ---------------------------------------------------------------------------
// Members, teams, users

async fn org_member(
    State(sh): State<Arc<Shared>>,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult {
    let mut st = sh.state();
    check_org(&st, &org)?;
    if !sh.opts.requester_is_member {
        // "302: Response if requester is not an organization member".
        let mut r = empty(StatusCode::FOUND);
        let loc = format!("{}/orgs/{}/public_members/{user}", sh.base_url, st.org);
        if let Ok(v) = HeaderValue::try_from(loc) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(r);
    }
    if st.is_member(&user) {
        Ok(empty(StatusCode::NO_CONTENT))
    } else {
        Err(ApiError::new(
            404,
            "User does not exist or is not a member of the organization",
            "https://docs.github.com/rest/orgs/members#check-organization-membership-for-a-user",
        ))
    }
}

async fn org_member_copilot(
    State(sh): State<Arc<Shared>>,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/copilot/copilot-user-management#get-copilot-seat-assignment-details-for-a-user";
    let mut st = sh.state();
    check_org(&st, &org)?;
    let Some(i) = st.seat_index(&user) else {
        return Err(ApiError::not_found(doc));
    };
    let org_json = json::org_simple(sh.api(), &st);
    let body = json::seat(sh.api(), &st, Some(&org_json), &st.seats[i]);
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /orgs/{org}/teams/{team_slug}/memberships/{username}`: 200 with the
/// membership ("Team members will include the members of child teams"), 404
/// "if user has no team membership" (or no such team).
async fn org_team_membership(
    State(sh): State<Arc<Shared>>,
    Path((org, slug, user)): Path<(String, String, String)>,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user";
    let st = sh.state();
    check_org(&st, &org)?;
    let team = st
        .team(TeamKind::Org, &slug)
        .ok_or(ApiError::not_found(doc))?;
    let member = st
        .effective_members(TeamKind::Org, &slug)
        .iter()
        .any(|m| m.eq_ignore_ascii_case(&user));
    if !member {
        return Err(ApiError::not_found(doc));
    }
    let id = json::stable_id("team", &team.slug);
    let body = serde_json::json!({
        "url": format!("{}/teams/{id}/memberships/{user}", sh.api()),
        "role": "member",
        "state": "active",
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /enterprises/{enterprise}/members/{username}/copilot`: the user's
/// entries of the enterprise listing (one per grant) with the listing's
/// `total_seats`; 404 when the user holds none.
async fn ent_member_copilot(
    State(sh): State<Arc<Shared>>,
    Path((ent, user)): Path<(String, String)>,
) -> ApiResult {
    let doc = "https://docs.github.com/enterprise-cloud@latest/rest/copilot/copilot-user-management#get-copilot-seat-assignment-details-for-an-enterprise-user";
    let mut st = sh.state();
    check_enterprise(&st, &ent)?;
    let listing = st.enterprise_listing();
    let seats: Vec<json::SeatDetail> = listing
        .entries
        .iter()
        .filter(|&&e| st.entry(e).0.login.eq_ignore_ascii_case(&user))
        .map(|&e| json::enterprise_entry(sh.api(), &st, e))
        .collect();
    if seats.is_empty() {
        return Err(ApiError::not_found(doc));
    }
    Ok(json_response(
        StatusCode::OK,
        &SeatList {
            total_seats: listing.users,
            seats,
        },
    ))
}

/// `GET /enterprises/{enterprise}/teams/{enterprise-team}/memberships/{username}`:
/// 200 with the user when a member, else 404.
async fn ent_team_membership(
    State(sh): State<Arc<Shared>>,
    Path((ent, slug, user)): Path<(String, String, String)>,
) -> ApiResult {
    let doc = "https://docs.github.com/enterprise-cloud@latest/rest/enterprise-teams/enterprise-team-members#get-enterprise-team-membership";
    let st = sh.state();
    check_enterprise(&st, &ent)?;
    if st.enterprise_team(&slug).is_none() {
        return Err(ApiError::not_found(doc));
    }
    let found = st
        .effective_members(TeamKind::Enterprise, &slug)
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(&user))
        .ok_or(ApiError::not_found(doc))?;
    Ok(json_response(
        StatusCode::OK,
        &json::simple_user(sh.api(), &found),
    ))
}

async fn org_team(
    State(sh): State<Arc<Shared>>,
    Path((org, slug)): Path<(String, String)>,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/teams/teams#get-a-team-by-name";
    let st = sh.state();
    check_org(&st, &org)?;
    let team = st
        .team(TeamKind::Org, &slug)
        .ok_or(ApiError::not_found(doc))?;
    let count = st.effective_members(TeamKind::Org, &slug).len();
    let body = json::team_full(sh.api(), &st, team, count);
    Ok(json_response(StatusCode::OK, &body))
}

fn members_page(
    sh: &Shared,
    kind: TeamKind,
    slug: &str,
    uri: &Uri,
    doc: &'static str,
) -> ApiResult {
    // Both member listings default to 30 per page (the description's default).
    let req = page_request(uri.query(), 30, doc)?;
    let role = pagination::query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| *k == "role")
        .map(|(_, v)| v.to_string());
    let (total, body) = {
        let st = sh.state();
        if st.team(kind, slug).is_none() {
            return Err(ApiError::not_found(doc));
        }
        // The simulator has no maintainers: role=maintainer lists nobody.
        let members = if role.as_deref() == Some("maintainer") {
            Vec::new()
        } else {
            st.effective_members_detailed(kind, slug)
        };
        let total = members.len();
        let page = &members[req.range(total)];
        let body = match kind {
            TeamKind::Org => serde_json::to_value(
                page.iter()
                    .map(|(l, inh)| json::team_member(sh.api(), l, *inh))
                    .collect::<Vec<_>>(),
            ),
            TeamKind::Enterprise => serde_json::to_value(
                page.iter()
                    .map(|(l, _)| json::simple_user(sh.api(), l))
                    .collect::<Vec<_>>(),
            ),
        }
        .unwrap_or_default();
        (total, body)
    };
    Ok(with_link(
        json_response(StatusCode::OK, &body),
        sh,
        uri,
        req,
        total,
    ))
}

async fn org_team_members(
    State(sh): State<Arc<Shared>>,
    Path((org, slug)): Path<(String, String)>,
    uri: Uri,
) -> ApiResult {
    check_org(&sh.state(), &org)?;
    members_page(
        &sh,
        TeamKind::Org,
        &slug,
        &uri,
        "https://docs.github.com/rest/teams/members#list-team-members",
    )
}

async fn ent_team_memberships(
    State(sh): State<Arc<Shared>>,
    Path((ent, slug)): Path<(String, String)>,
    uri: Uri,
) -> ApiResult {
    check_enterprise(&sh.state(), &ent)?;
    members_page(
        &sh,
        TeamKind::Enterprise,
        &slug,
        &uri,
        "https://docs.github.com/enterprise-cloud@latest/rest/enterprise-teams/enterprise-team-members#list-members-in-an-enterprise-team",
    )
}

async fn ent_team(
    State(sh): State<Arc<Shared>>,
    Path((ent, slug)): Path<(String, String)>,
) -> ApiResult {
    let st = sh.state();
    check_enterprise(&st, &ent)?;
    // The description documents 200 and 403 only; a missing team answers
    // 404 like every other missing resource.
    let team = st.enterprise_team(&slug).ok_or(ApiError::not_found(
        "https://docs.github.com/enterprise-cloud@latest/rest/enterprise-teams/enterprise-teams#get-an-enterprise-team",
    ))?;
    Ok(json_response(
        StatusCode::OK,
        &json::enterprise_team(sh.api(), &st, team),
    ))
}

/// `POST .../memberships/add|remove`: `{"usernames": [...]}`, answered with
/// the users added or removed.
fn membership_write(sh: &Shared, ent: &str, slug: &str, add: bool, body: &[u8]) -> ApiResult {
    let doc = if add {
        "https://docs.github.com/enterprise-cloud@latest/rest/enterprise-teams/enterprise-team-members#bulk-add-team-members"
    } else {
        "https://docs.github.com/enterprise-cloud@latest/rest/enterprise-teams/enterprise-team-members#bulk-remove-team-members"
    };
    check_enterprise(&sh.state(), ent)?;
    let names = parse_names(body, "usernames", doc)?;
    let rejected = sh.faults.rejected_among(&names);
    if !rejected.is_empty() {
        return Err(sim_error(SimError::Rejected { logins: rejected }, doc));
    }
    let now = Utc::now();
    let result = {
        let mut st = sh.state();
        if add {
            st.ent_add_members(slug, &names, now)
        } else {
            st.ent_remove_members(slug, &names, now)
        }
    };
    let users: Vec<json::SimpleUser> = result
        .map_err(|e| sim_error(e, doc))?
        .iter()
        .map(|l| json::simple_user(sh.api(), l))
        .collect();
    Ok(json_response(StatusCode::OK, &users))
}

async fn ent_add_memberships(
    State(sh): State<Arc<Shared>>,
    Path((ent, slug)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    membership_write(&sh, &ent, &slug, true, &body)
}

async fn ent_remove_memberships(
    State(sh): State<Arc<Shared>>,
    Path((ent, slug)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    membership_write(&sh, &ent, &slug, false, &body)
}

/// `GET /orgs/{org}/members`: "List all users who are members of an
/// organization", 30 a page by default, at most 100.
async fn org_members(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    uri: Uri,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/orgs/members#list-organization-members";
    let req = page_request(uri.query(), 30, doc)?;
    let (total, body) = {
        let st = sh.state();
        check_org(&st, &org)?;
        let total = st.members.len();
        let page: Vec<json::SimpleUser> = st.members[req.range(total)]
            .iter()
            .map(|l| json::simple_user(sh.api(), l))
            .collect();
        (total, page)
    };
    Ok(with_link(
        json_response(StatusCode::OK, &body),
        &sh,
        &uri,
        req,
        total,
    ))
}

async fn get_user(State(sh): State<Arc<Shared>>, Path(user): Path<String>) -> ApiResult {
    let login = sh.state().canonical_login(&user);
    match login {
        Some(l) => Ok(json_response(
            StatusCode::OK,
            &json::public_user(sh.api(), &l),
        )),
        None => Err(ApiError::not_found(
            "https://docs.github.com/rest/users/users#get-a-user",
        )),
    }
}

// ---------------------------------------------------------------------------
// Contents helpers (the routes are in repo_routes.rs)

/// Base64 wrapped at 60 columns with a trailing newline, as GitHub sends `content`.
pub(crate) fn wrapped_base64(bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(b64.len() + b64.len() / 60 + 1);
    for chunk in b64.as_bytes().chunks(60) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

pub(crate) fn if_none_match(h: &HeaderMap, etag: &str) -> bool {
    let Some(v) = header_str(h, "if-none-match") else {
        return false;
    };
    let bare = etag.trim_start_matches("W/").trim_matches('"');
    v.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/").trim_matches('"') == bare
    })
}

pub(crate) fn content_links(
    api: &str,
    repo: &str,
    git_ref: &str,
    path: &str,
    sha: &str,
    kind: &str,
) -> serde_json::Value {
    let url = format!("{api}/repos/{repo}/contents/{path}?ref={git_ref}");
    let git = if kind == "dir" {
        format!("{api}/repos/{repo}/git/trees/{sha}")
    } else {
        format!("{api}/repos/{repo}/git/blobs/{sha}")
    };
    let html = format!(
        "https://github.com/{repo}/{}/{git_ref}/{path}",
        if kind == "dir" { "tree" } else { "blob" }
    );
    json!({ "url": url, "git_url": git, "html_url": html, "_links": { "self": url, "git": git, "html": html } })
}

// ---------------------------------------------------------------------------
// Rate limit

async fn rate_limit(State(sh): State<Arc<Shared>>) -> Response {
    let core = {
        let l = lock(&sh.limits);
        json!({
            "limit": l.limit,
            "remaining": l.limit.saturating_sub(l.used),
            "reset": l.reset,
            "used": l.used,
            "resource": "core",
        })
    };
    let reset = unix_now() + 60;
    let other =
        |limit: u64| json!({ "limit": limit, "remaining": limit, "reset": reset, "used": 0 });
    let body = json!({
        "resources": {
            "core": core,
            "search": other(30),
            "graphql": other(5000),
            "code_search": other(10),
            "integration_manifest": other(5000),
        },
        "rate": core,
    });
    json_response(StatusCode::OK, &body)
}

// ---------------------------------------------------------------------------
// GitHub App

fn jwt_error(e: JwtError) -> ApiError {
    ApiError::new(401, e.to_string(), DOC_REST)
}

/// Verify the App JWT of a request; the App must be configured in state.
pub(crate) fn verify_jwt(
    sh: &Shared,
    headers: &HeaderMap,
) -> Result<super::state::SimApp, ApiError> {
    let token = match header_str(headers, "authorization").and_then(|v| v.trim().split_once(' ')) {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_string(),
        _ => return Err(jwt_error(JwtError::Missing)),
    };
    let app = sh
        .state()
        .app
        .clone()
        .ok_or_else(|| jwt_error(JwtError::Undecodable))?;
    app_auth::verify_app_jwt(&token, &app, unix_now()).map_err(jwt_error)?;
    Ok(app)
}

fn app_permissions() -> serde_json::Value {
    json!({
        "organization_copilot_seat_management": "write",
        "members": "read",
        "contents": "read",
        "metadata": "read",
    })
}

async fn create_access_token(
    State(sh): State<Arc<Shared>>,
    Path(installation): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let doc =
        "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app";
    let app = verify_jwt(&sh, &headers)?;
    if installation.parse::<u64>().ok() != Some(app.installation_id) {
        return Err(ApiError::not_found(doc));
    }
    if !body.iter().all(u8::is_ascii_whitespace)
        && serde_json::from_slice::<serde_json::Value>(&body).is_err()
    {
        return Err(ApiError::new(400, "Problems parsing JSON", doc));
    }
    let token = app_auth::mint_token(&mut lock(&sh.token_rng));
    let expires = Utc::now()
        + chrono::Duration::from_std(sh.opts.installation_token_ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
    lock(&sh.tokens).insert(token.clone(), expires);
    let body = json!({
        "token": token,
        "expires_at": json::ts(expires),
        "permissions": app_permissions(),
        "repository_selection": "all",
    });
    Ok(json_response(StatusCode::CREATED, &body))
}

async fn org_installation(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let app = verify_jwt(&sh, &headers)?;
    let st = sh.state();
    check_org(&st, &org)?;
    let api = sh.api();
    let created = json::ts(DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default());
    let id = app.installation_id;
    let mut body = json!({
        "id": id,
        "account": json::org_account(api, &st),
        "access_tokens_url": format!("{api}/app/installations/{id}/access_tokens"),
        "repositories_url": format!("{api}/installation/repositories"),
        "html_url": format!("https://github.com/organizations/{}/settings/installations/{id}", st.org),
        "app_id": app.app_id,
        "app_slug": app.slug,
        "target_id": st.org_id,
        "target_type": "Organization",
        "permissions": app_permissions(),
        "events": [],
        "created_at": created,
        "updated_at": created,
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "repository_selection": "all",
        "suspended_by": null,
        "suspended_at": null,
    });
    if let (Some(c), Some(o)) = (&app.client_id, body.as_object_mut()) {
        o.insert("client_id".into(), c.clone().into());
    }
    Ok(json_response(StatusCode::OK, &body))
}
