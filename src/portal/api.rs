//! The JSON API for developer portals (Backstage, Port, ...):
//!
//! - `GET /api/v1/me`: the card of the caller ([`super::card::Card`]).
//! - `POST /api/v1/requests` with `{"action": "request" | "release",
//!   "note": "..."}`: exactly the portal's button, answered with the
//!   `seatkeeper request --format json` report; `{"action": "request",
//!   "budget": N}` is `seatkeeper request LOGIN --budget N`.
//!
//! Who calls: either a GitHub user token of the person (`Authorization:
//! Bearer ...`, e.g. what Backstage's GitHub sign-in holds), which the
//! portal shows to `GET /user` once and drops, or the portal's own session
//! cookie together with its CSRF token in `X-CSRF-Token`. The login comes
//! only from GitHub or the session, never from the body.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::Portal;
use super::act::{perform, status_of};
use super::oauth::SignInError;
use super::routes::cookie_notice;
use crate::http_guard::Peer;
use crate::selfserve::Kind;

pub(crate) fn router() -> Router<Arc<Portal>> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/requests", post(requests))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message})),
    )
        .into_response()
}

fn peer_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 512)
}

/// Who calls, and whether they came with the session cookie (then a write
/// needs the CSRF header and the portal's origin).
async fn caller(
    p: &Portal,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<(String, Option<String>), Response> {
    if let Some(token) = bearer(headers) {
        // Each check costs a GitHub request: bounded per address like sign-ins.
        if let Err(d) = p.signins.hit(&ip.to_string(), Instant::now()) {
            return Err(too_many(d.as_secs().max(1)));
        }
        return match p.parts.identity.login_of(token).await {
            Ok(login) => Ok((login, None)),
            Err(SignInError::BadToken) => Err(error(
                StatusCode::UNAUTHORIZED,
                "bad_token",
                "GitHub did not accept the token: sign in again.",
            )),
            Err(e) => {
                tracing::warn!(error = %e, "portal API: GitHub unreachable checking a token");
                Err(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "github_unreachable",
                    "GitHub could not be reached to check the token: try again in a minute.",
                ))
            }
        };
    }
    match p.session(headers) {
        Ok(s) => Ok((s.login, Some(s.csrf))),
        Err(e) => Err(error(
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
            cookie_notice(e),
        )),
    }
}

fn too_many(secs: u64) -> Response {
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many requests in the last hour: wait and try again.",
    );
    if let Ok(v) = HeaderValue::try_from(secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn me(State(p): State<Arc<Portal>>, req: Request) -> Response {
    let ip = peer_ip(&req);
    let (login, _) = match caller(&p, req.headers(), ip).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match super::card::read(
        &*p.parts.seats,
        &*p.parts.repo,
        p.parts.usage.as_deref(),
        &p.parts.target,
        &login,
        Utc::now().date_naive(),
    )
    .await
    {
        Ok(card) => axum::Json(card).into_response(),
        Err(e) => {
            tracing::warn!(login = %login, error = %e, "portal API: cannot read the card");
            error(
                StatusCode::BAD_GATEWAY,
                "github_error",
                "The seat could not be read from GitHub: try again in a minute.",
            )
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    action: String,
    #[serde(default)]
    note: Option<String>,
    /// Whole US dollars a month: a budget request instead of a seat's.
    #[serde(default)]
    budget: Option<u64>,
}

async fn requests(State(p): State<Arc<Portal>>, req: Request) -> Response {
    let ip = peer_ip(&req);
    let (parts, body) = req.into_parts();
    let (login, csrf) = match caller(&p, &parts.headers, ip).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(expected) = csrf {
        let given = parts
            .headers
            .get(super::csrf::HEADER)
            .and_then(|v| v.to_str().ok());
        if !super::csrf::origin_ok(&parts.headers, &p.origin)
            || !super::csrf::token_matches(&expected, given)
        {
            return error(
                StatusCode::FORBIDDEN,
                "csrf",
                "A cookie-authenticated call needs the session's X-CSRF-Token and the portal's origin: nothing was changed.",
            );
        }
    }
    let bytes = match super::routes::capped_body(&p, &parts.headers, body).await {
        Ok(b) => b,
        Err(e) => {
            return error(
                e.status(),
                e.reason(),
                "The body was too large or too slow.",
            );
        }
    };
    let Ok(asked) = serde_json::from_slice::<RequestBody>(&bytes) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_body",
            r#"The body must be {"action": "request" | "release", "note": "optional"} or {"action": "request", "budget": N} (whole US dollars a month)."#,
        );
    };
    let kind = match asked.action.as_str() {
        "request" => Kind::Request,
        "release" if asked.budget.is_none() => Kind::Release,
        "release" => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_action",
                r#""budget" goes with "action": "request" only."#,
            );
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_action",
                r#""action" must be "request" or "release"."#,
            );
        }
    };
    if let Err(secs) = p.rate(&login, ip) {
        return too_many(secs);
    }
    let budget = asked.budget.map(|amount| crate::edit::BudgetEdit::Set {
        amount,
        expires: None,
    });
    // A budget request changes no seat: a note has no place in it.
    let note = asked.note.filter(|_| budget.is_none());
    let report = perform(&p, &login, kind, note, budget).await;
    (status_of(&report), axum::Json(report)).into_response()
}
