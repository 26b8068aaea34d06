//! `GET /status`: what the controller knows about each org. The details
//! (logins planned or changed, guard and error messages that quote seats.yaml
//! lines) are served only to a client with the operator's bearer token
//! (`--status-token-file`) or with `--status-public`; anyone else who reaches
//! `--listen` gets counts and health.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Shared, lock};

/// Who may read `/status` in full.
pub(super) enum StatusAccess {
    /// Everyone (`--status-public`).
    Public,
    /// A client sending `Authorization: Bearer <token>`; the SHA-256 of the
    /// token is kept, so comparing takes the same time whatever its length.
    Token([u8; 32]),
    /// Nobody: counts and health only.
    Summary,
}

impl StatusAccess {
    /// From `--status-public` and `--status-token-file` (read bounded, with
    /// a warning when others can read it).
    pub(super) fn new(public: bool, token_file: Option<&Path>) -> crate::Result<StatusAccess> {
        if public {
            return Ok(StatusAccess::Public);
        }
        let Some(path) = token_file else {
            return Ok(StatusAccess::Summary);
        };
        let token = crate::github::client::read_secret(path, "status token file")?;
        Ok(StatusAccess::Token(Sha256::digest(token.as_bytes()).into()))
    }

    /// Whether `request` may see the details.
    fn allows(&self, request: &Request) -> bool {
        match self {
            StatusAccess::Public => true,
            StatusAccess::Summary => false,
            StatusAccess::Token(want) => request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|got| {
                    let got: [u8; 32] = Sha256::digest(got.trim().as_bytes()).into();
                    bool::from(got.ct_eq(want))
                }),
        }
    }

    /// How the details are unlocked, for the summary's `detail` line.
    fn hint(&self) -> &'static str {
        match self {
            StatusAccess::Token(_) => {
                "counts only: send `Authorization: Bearer TOKEN` with the --status-token-file token for logins, guard reasons and errors"
            }
            _ => {
                "counts only: start the controller with --status-token-file (or --status-public) to serve logins, guard reasons and errors"
            }
        }
    }
}

#[derive(Serialize)]
struct StatusBody<O> {
    version: &'static str,
    ready: bool,
    dry_run: bool,
    schedule: String,
    jitter_seconds: u64,
    next_run: Option<DateTime<Utc>>,
    webhook: bool,
    /// With `--leader-elect`: who leads, and whether this replica does.
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<crate::leader::LeaderView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
    orgs: O,
}

/// One org in the summary `/status`: health and counts, never a login, a
/// seats.yaml line or an error message.
#[derive(Serialize)]
struct OrgSummary {
    org: Option<String>,
    kind: Option<&'static str>,
    source: String,
    source_valid: Option<bool>,
    suspended: bool,
    running: bool,
    runs: u64,
    last_started_at: Option<DateTime<Utc>>,
    last_finished_at: Option<DateTime<Utc>>,
    last_duration_ms: Option<u64>,
    last_result: Option<&'static str>,
    last_status: Option<String>,
    /// Counts only ("Plan: 1 to add, ...").
    last_summary: Option<String>,
    last_applied: usize,
    last_failed: usize,
    last_success_at: Option<DateTime<Utc>>,
    next_run: Option<DateTime<Utc>>,
    last_planned_total: usize,
    last_held: usize,
    last_guard: usize,
    recent_changes: usize,
    last_error: bool,
    last_points: Option<u64>,
    next_reconcile_allowed_at: Option<DateTime<Utc>>,
    budget_wait: Option<&'static str>,
}

impl OrgSummary {
    fn of(st: OrgStatus) -> OrgSummary {
        OrgSummary {
            org: st.org,
            kind: st.kind,
            source: st.source,
            source_valid: st.source_valid,
            suspended: st.suspended,
            running: st.running,
            runs: st.runs,
            last_started_at: st.last_started_at,
            last_finished_at: st.last_finished_at,
            last_duration_ms: st.last_duration_ms,
            last_result: st.last_result,
            last_status: st.last_status,
            last_summary: st.last_summary,
            last_applied: st.last_applied,
            last_failed: st.last_failed,
            last_success_at: st.last_success_at,
            next_run: st.next_run,
            last_planned_total: st.last_planned_total,
            last_held: st.last_held.len(),
            last_guard: st.last_guard.len(),
            recent_changes: st.recent_changes.len(),
            last_error: st.last_error.is_some(),
            last_points: st.last_points,
            next_reconcile_allowed_at: st.next_reconcile_allowed_at,
            budget_wait: st.budget_wait,
        }
    }
}

pub(super) async fn status(State(sh): State<Arc<Shared>>, request: Request) -> Response {
    let next_run = sh.next_run().await;
    let orgs: Vec<OrgStatus> = sh
        .orgs
        .iter()
        .map(|slot| {
            let mut st = lock(&slot.status).clone();
            st.next_run = next_run;
            st
        })
        .collect();
    let ready = sh.not_ready().is_empty();
    let body = |detail| StatusBody {
        version: env!("CARGO_PKG_VERSION"),
        ready,
        dry_run: sh.dry_run,
        schedule: sh.schedule.clone(),
        jitter_seconds: sh.jitter,
        next_run,
        webhook: sh.webhook.is_some(),
        leader: sh.leader.as_ref().map(|el| el.view()),
        detail,
        orgs: (),
    };
    if sh.status_access.allows(&request) {
        axum::Json(body(None).with(orgs)).into_response()
    } else {
        let summary: Vec<OrgSummary> = orgs.into_iter().map(OrgSummary::of).collect();
        axum::Json(body(Some(sh.status_access.hint())).with(summary)).into_response()
    }
}

impl StatusBody<()> {
    /// The same body with these orgs.
    fn with<O: Serialize>(self, orgs: Vec<O>) -> StatusBody<Vec<O>> {
        StatusBody {
            version: self.version,
            ready: self.ready,
            dry_run: self.dry_run,
            schedule: self.schedule,
            jitter_seconds: self.jitter_seconds,
            next_run: self.next_run,
            webhook: self.webhook,
            leader: self.leader,
            detail: self.detail,
            orgs,
        }
    }
}

/// One org's entry in `/status`.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct OrgStatus {
    /// The org or enterprise name, once a valid file named it.
    pub(super) org: Option<String>,
    /// `org` or `enterprise`.
    pub(super) kind: Option<&'static str>,
    /// The source as configured.
    pub(super) source: String,
    /// Blob SHA of the source at the last read.
    pub(super) source_sha: Option<String>,
    /// The commit the last read came from (github: sources, with a webhook
    /// or `--poll-interval`).
    pub(super) source_commit: Option<String>,
    /// Whether the last read was readable and valid.
    pub(super) source_valid: Option<bool>,
    /// `policy.suspend` of the last valid read.
    pub(super) suspended: bool,
    /// A reconcile is running now.
    pub(super) running: bool,
    /// Reconciles finished since start.
    pub(super) runs: u64,
    pub(super) last_started_at: Option<DateTime<Utc>>,
    pub(super) last_finished_at: Option<DateTime<Utc>>,
    pub(super) last_duration_ms: Option<u64>,
    /// `success`, `error` or `guarded`.
    pub(super) last_result: Option<&'static str>,
    /// How the last reconcile ended (`in_sync`, `applied`, ..., `invalid_source`, `error`).
    pub(super) last_status: Option<String>,
    /// The last plan's one-line summary.
    pub(super) last_summary: Option<String>,
    /// Changes applied and failed by the last reconcile.
    pub(super) last_applied: usize,
    pub(super) last_failed: usize,
    pub(super) last_error: Option<String>,
    pub(super) last_success_at: Option<DateTime<Utc>>,
    pub(super) next_run: Option<DateTime<Utc>>,
    /// The last plan's changes (at most [`STATUS_CHANGES`]), so a dry run
    /// says who would gain or lose a seat.
    pub(super) last_planned: Vec<PlannedChange>,
    /// How many changes the last plan had in all.
    pub(super) last_planned_total: usize,
    /// Removals the typo guard held in the last plan.
    pub(super) last_held: Vec<crate::plan::HeldRemoval>,
    /// Guard reasons of the last plan, as sentences.
    pub(super) last_guard: Vec<String>,
    /// The latest changes written, newest first (at most
    /// [`RECENT_CHANGES`]), each with the source commit that asked for it.
    pub(super) recent_changes: Vec<RecentChange>,
    /// GitHub primary rate-limit points the last reconcile spent, with the
    /// usage read made after it.
    pub(super) last_points: Option<u64>,
    /// When the rate budget lets the next reconcile start (now or earlier:
    /// at once).
    pub(super) next_reconcile_allowed_at: Option<DateTime<Utc>>,
    /// Why it waits: `rate_budget` (the `--rate-budget` share of the hour
    /// is spent) or `rate_limit_remaining` (GitHub has fewer points left
    /// than the reconcile needs); absent when it need not wait.
    pub(super) budget_wait: Option<&'static str>,
}

/// At most this many planned changes are kept for `/status`.
pub(super) const STATUS_CHANGES: usize = 1000;

/// One change of a plan, as `/status` shows it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PlannedChange {
    pub(super) action: &'static str,
    pub(super) name: String,
    pub(super) reason: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) keeps_via: Vec<String>,
}

/// How many changes `/status` keeps per org.
pub const RECENT_CHANGES: usize = 50;

/// One change in `/status`: what was written, and the commit behind it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct RecentChange {
    pub(super) at: DateTime<Utc>,
    /// `add_user`, `remove_user`, `add_team`, `remove_team`.
    pub(super) action: &'static str,
    /// Login or team slug.
    pub(super) name: String,
    /// The plan's reason.
    pub(super) reason: &'static str,
    /// `ok` or `failed`.
    pub(super) result: &'static str,
    /// Blob SHA of seats.yaml that asked for it.
    pub(super) source_sha: Option<String>,
    /// The commit of that seats.yaml (github: sources with a webhook or
    /// `--poll-interval`); for a request, the commit that granted it.
    pub(super) commit: Option<String>,
}
