//! A request or release from the portal: exactly `seatkeeper request` /
//! `release` ([`crate::selfserve::record`]) for the signed-in login, then
//! the controller is woken so the seat follows at once.

use axum::http::StatusCode;
use chrono::Utc;

use super::Portal;
use super::admin::RecentChange;
use crate::selfserve::{Ask, Kind, RecordOptions, Recorded, Report};

/// Concurrent GitHub look-ups while validating one request.
const CONCURRENCY: usize = 4;

/// Ask for (or give back) `login`'s seat; `note` is the entry's note.
/// With `budget`, the request is `request --budget` instead: the entry's
/// individual AI-credit budget changes, not its seat.
pub(crate) async fn perform(
    p: &Portal,
    login: &str,
    kind: Kind,
    note: Option<String>,
    budget: Option<crate::edit::BudgetEdit>,
) -> Report {
    let ask = Ask {
        kind,
        login: login.to_string(),
        // Only the session's login: nobody asks for someone else here.
        requester: login.to_string(),
        note: note.filter(|n| !n.trim().is_empty()),
        expires: None,
        source: Some(format!("the seatkeeper portal ({})", p.origin)),
        today: Utc::now().date_naive(),
        bounds: p.parts.bounds.clone(),
        budget,
    };
    let mut opts = RecordOptions {
        repo: p.parts.target.repo.clone(),
        path: p.parts.target.path.clone(),
        git_ref: Some(p.parts.target.git_ref.clone()),
        concurrency: CONCURRENCY,
    };
    let result = crate::selfserve::record(&*p.parts.seats, &*p.parts.repo, &ask, &mut opts).await;
    let report = Report::from_result(&ask, &opts.target(), &result);
    let written = match &result {
        Ok(Recorded::Committed { commit, url, .. }) => Some((commit.clone(), url.clone())),
        Ok(Recorded::PullRequest {
            number,
            url,
            merged,
            ..
        }) => {
            let short = merged.clone().unwrap_or_else(|| format!("#{number}"));
            Some((short, Some(url.clone())))
        }
        _ => None,
    };
    if let Some((commit, url)) = written {
        (p.parts.kick)();
        p.recent.push(RecentChange {
            when: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            subject: format!("{} by {login}: {}", kind.as_str(), report.outcome),
            short: commit.chars().take(7).collect(),
            url,
        });
    }
    tracing::info!(
        login = %login,
        action = kind.as_str(),
        outcome = report.outcome,
        reason = report.reason.unwrap_or(""),
        "portal: self-serve {}",
        kind.as_str()
    );
    report
}

/// After a granted request: wait up to this long for the controller (just
/// woken) to assign the seat, so the page that follows says "You have a
/// Copilot seat" instead of "being assigned".
const SETTLE: std::time::Duration = std::time::Duration::from_secs(3);

/// Wait (bounded by [`SETTLE`]) until `login` holds a seat; false when it
/// does not by then (the page then reloads itself until it does).
pub(crate) async fn settle(p: &Portal, login: &str) -> bool {
    let Ok((_, file)) = super::card::read_file(&*p.parts.repo, &p.parts.target).await else {
        return false;
    };
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        if let Ok(Some(seat)) = p.parts.seats.user_seat(&file.scope, login).await
            && seat.held()
        {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The status code of a report: 200 for what happened or needed nothing;
/// for a refusal, what the rule means (403 the person may not, 409 the
/// seat cap or a busy file, 422 a bad entry); 503 when the portal cannot
/// write (the operators' problem); 502 when GitHub failed.
pub(crate) fn status_of(report: &Report) -> StatusCode {
    match (report.outcome, report.reason) {
        ("refused" | "error", Some(reason)) => match reason {
            "not_member" | "not_eligible" | "unknown_user" | "for_others" | "operator_bounds" => {
                StatusCode::FORBIDDEN
            }
            "guarded" | "contended" => StatusCode::CONFLICT,
            "bad_entry" | "malformed_login" => StatusCode::UNPROCESSABLE_ENTITY,
            "no_write_permission" | "invalid_file" | "uneditable_file" | "config" => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_GATEWAY,
        },
        ("refused" | "error", None) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::OK,
    }
}

/// What a person can do about a refusal or an error.
pub(crate) fn what_to_do(report: &Report) -> &'static str {
    match report.reason.unwrap_or("") {
        "not_member" | "unknown_user" => {
            "Ask an owner of the organization to add you, then sign in again."
        }
        "not_eligible" => {
            "Ask to join one of the eligible teams, then come back and request a seat."
        }
        "guarded" => {
            "Every seat the organization allows is taken: ask the Copilot administrators to raise the cap or free a seat."
        }
        "operator_bounds" => "The operators do not allow this change: ask them.",
        "bad_entry" | "malformed_login" => "Fix the note (one short line) and try again.",
        "no_write_permission" | "invalid_file" | "uneditable_file" | "config" => {
            "The portal cannot record requests right now: tell the Copilot administrators. Nothing was written."
        }
        "contended" => "Others were changing the seat list at the same moment: try again.",
        _ => "GitHub did not answer as expected: nothing was written; try again in a minute.",
    }
}
