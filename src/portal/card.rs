//! What the card shows a signed-in person, read from GitHub and seats.yaml
//! (a handful of requests, never the whole seat listing), and the same
//! value as the JSON of `GET /api/v1/me`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::config::{SeatsFile, SelfServeMode};
use crate::github::live::Grant;
use crate::github::repo::{RepoApi, RepoRef};
use crate::github::{GitHubError, SeatApi};
use crate::selfserve::{Ask, Kind, SelfServeError};

/// Where seats.yaml is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The repository.
    pub repo: RepoRef,
    /// The file's path in it.
    pub path: String,
    /// The branch the controller reads.
    pub git_ref: String,
}

/// The seat's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatState {
    /// A seat is held.
    Held,
    /// Every grant ends at the next billing cycle.
    PendingCancellation,
    /// No seat.
    None,
}

/// The person's seat as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seat {
    /// Held, ending, or none.
    pub state: SeatState,
    /// When a pending cancellation takes effect.
    pub pending_cancellation_date: Option<NaiveDate>,
    /// How it is held: `direct`, `team:SLUG`, `org:NAME`.
    pub grants: Vec<String>,
    /// GitHub's `last_activity_at`.
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// May the person ask for a seat?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    /// True when a request would pass the membership and team checks.
    pub eligible: bool,
    /// `not_a_member`, `not_in_eligible_team`, `no_such_user` when not.
    pub code: Option<&'static str>,
    /// Why not, for a person.
    pub reason: Option<String>,
    /// The teams that make a member eligible (`policy.eligible_teams`;
    /// empty: every member).
    pub eligible_teams: Vec<String>,
}

/// An open pull request asking for the person's seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenRequest {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// What it waits for, for a person.
    pub waits_for: String,
}

/// Everything the card shows. Versioned by `format_version`: fields may be
/// added, never removed or renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    /// Always 1.
    pub format_version: u32,
    /// The signed-in person.
    pub login: String,
    /// The org (or enterprise) of seats.yaml.
    pub scope: String,
    /// `org` or `enterprise`.
    pub scope_kind: &'static str,
    /// Copilot plan of the scope (`business`, `enterprise`).
    pub plan_type: Option<String>,
    /// The seat.
    pub seat: Seat,
    /// Listed by name in seats.yaml.
    pub listed: bool,
    /// The entry's `expires`.
    pub expires: Option<NaiveDate>,
    /// The entry's `note`.
    pub note: Option<String>,
    /// Eligibility.
    pub eligibility: Eligibility,
    /// An open pull request for this person's seat.
    pub open_request: Option<OpenRequest>,
    /// `commit` or `pull_request`: how a request is recorded.
    pub mode: &'static str,
    /// The AI-credit budget and this month's use, when seats.yaml manages
    /// budgets (has `budgets:`); `null` otherwise and the page hides the row.
    pub budget: Option<super::budget::BudgetCard>,
    /// Seats billed and the cap, e.g. for "12 of 60 seats in use".
    pub seats_billed: u64,
    /// `policy.max_seats`.
    pub seat_cap: Option<u64>,
}

impl Card {
    /// The person holds a seat now.
    pub fn has_seat(&self) -> bool {
        self.seat.state == SeatState::Held
    }

    /// Listed in seats.yaml, eligible, but not (yet) held: the controller
    /// is applying it. A listed login that is not eligible is skipped by
    /// the controller, never applied: the card says why instead.
    pub fn applying(&self) -> bool {
        self.listed && self.eligibility.eligible && self.seat.state == SeatState::None
    }
}

/// Read seats.yaml from `target`.
pub async fn read_file(
    repo: &dyn RepoApi,
    target: &Target,
) -> Result<(String, SeatsFile), SelfServeError> {
    let file = repo
        .read_file(&target.repo, &target.path, &target.git_ref)
        .await?
        .ok_or_else(|| {
            SelfServeError::from(GitHubError::Config(format!(
                "{} has no {} on {}",
                target.repo, target.path, target.git_ref
            )))
        })?;
    let text = String::from_utf8_lossy(&file.bytes).into_owned();
    let parsed =
        SeatsFile::parse(&target.path, text.as_bytes()).map_err(SelfServeError::Invalid)?;
    Ok((text, parsed))
}

fn grant_label(g: &Grant) -> String {
    match g {
        Grant::Direct => "direct".to_string(),
        Grant::Team(t) => format!("team:{}", t.slug),
        Grant::Organization { org, .. } => format!("org:{org}"),
    }
}

/// Read the card of `login`.
pub async fn read(
    seats: &dyn SeatApi,
    repo: &dyn RepoApi,
    usage: Option<&dyn crate::github::usage::UsageApi>,
    target: &Target,
    login: &str,
    today: NaiveDate,
) -> Result<Card, SelfServeError> {
    let (_, file) = read_file(repo, target).await?;
    let ask = Ask {
        kind: Kind::Request,
        login: login.to_string(),
        requester: login.to_string(),
        note: None,
        expires: None,
        source: None,
        today,
        bounds: crate::reconcile::Bounds::default(),
        budget: None,
    };
    let branch = format!("seatkeeper/request-{}", login.to_ascii_lowercase());
    let pulls = async {
        match file.policy.self_serve.mode {
            SelfServeMode::PullRequest => {
                repo.list_pulls(&target.repo, Some(&branch), "open").await
            }
            _ => Ok(Vec::new()),
        }
    };
    let mut budget = super::budget::of(&file, login, today);
    let credits = async {
        // Read only when the row is shown; a failure only hides the line.
        match budget {
            Some(_) => Ok(super::budget::credits_used(usage, &file.scope, login, today).await),
            None => Ok(None),
        }
    };
    let (facts, billing, pulls, credits) = tokio::try_join!(
        async { crate::selfserve::read_facts(seats, &file, &ask).await },
        async {
            seats
                .billing(&file.scope)
                .await
                .map_err(SelfServeError::from)
        },
        async { pulls.await.map_err(SelfServeError::from) },
        credits,
    )?;
    if let Some(b) = &mut budget {
        b.credits_used = credits;
    }
    let entry = file
        .users
        .iter()
        .find(|u| u.login.eq_ignore_ascii_case(login));
    let seat = match &facts.seat {
        None => Seat {
            state: SeatState::None,
            pending_cancellation_date: None,
            grants: Vec::new(),
            last_activity_at: None,
        },
        Some(u) => Seat {
            state: if u.held() {
                SeatState::Held
            } else {
                SeatState::PendingCancellation
            },
            pending_cancellation_date: u
                .grants
                .iter()
                .filter_map(|g| g.pending_cancellation_date)
                .max(),
            grants: u.grants.iter().map(|g| grant_label(&g.grant)).collect(),
            last_activity_at: u.last_activity_at,
        },
    };
    let mode = match file.policy.self_serve.mode {
        SelfServeMode::PullRequest => "pull_request",
        _ => "commit",
    };
    let auto_merge = file.policy.self_serve.auto_merge;
    Ok(Card {
        format_version: 1,
        login: facts
            .seat
            .as_ref()
            .map_or_else(|| login.to_string(), |s| s.login.clone()),
        scope: file.scope.name().to_string(),
        scope_kind: file.scope.kind(),
        plan_type: billing.plan_type,
        seat,
        listed: entry.is_some(),
        expires: entry.and_then(|e| e.expires),
        note: entry.and_then(|e| e.note.clone()),
        eligibility: Eligibility {
            eligible: facts.ineligible.is_none(),
            code: facts.ineligible.as_ref().map(|f| f.code.as_str()),
            reason: facts.ineligible.as_ref().map(|f| f.message.clone()),
            eligible_teams: file.policy.eligible_teams.clone(),
        },
        open_request: pulls.into_iter().next().map(|p| OpenRequest {
            number: p.number,
            url: p.html_url,
            waits_for: if auto_merge {
                "its required reviews and checks; it merges itself once they pass".to_string()
            } else {
                "a reviewer to approve and merge it".to_string()
            },
        }),
        mode,
        budget,
        seats_billed: facts.totals.billed,
        seat_cap: file.policy.max_seats,
    })
}
