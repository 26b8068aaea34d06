//! The GitHub boundary: the [`SeatApi`] trait, its domain types, GitHub's
//! wire format for seats, and the octocrab implementation in [`client`].

pub mod args;
pub mod client;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use crate::config::Scope;
use crate::plan::{LiveSeat, LiveState, SeatManagementSetting, TeamKind, TeamRef};

/// `GET /orgs/{org}/copilot/billing`, the parts seatkeeper uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingInfo {
    /// How seats are assigned; writes need `assign_selected`.
    pub seat_management_setting: SeatManagementSetting,
    /// `business` or `enterprise`, when reported.
    pub plan_type: Option<String>,
    /// `seat_breakdown`.
    pub seat_breakdown: SeatBreakdown,
}

/// `seat_breakdown` of the billing details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeatBreakdown {
    /// Seats billed this cycle.
    #[serde(default)]
    pub total: u64,
    /// Seats added this cycle.
    #[serde(default)]
    pub added_this_cycle: u64,
    /// Seats pending cancellation.
    #[serde(default)]
    pub pending_cancellation: u64,
    /// Seats pending invitation.
    #[serde(default)]
    pub pending_invitation: u64,
    /// Seats active this cycle.
    #[serde(default)]
    pub active_this_cycle: u64,
    /// Seats inactive this cycle.
    #[serde(default)]
    pub inactive_this_cycle: u64,
}

/// Result of `GET /orgs/{org}/members/{login}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// 204: a member.
    Member,
    /// 404: not a member (or no such user).
    NotMember,
    /// 302: the requester is not an org member, so GitHub will not say.
    RequesterNotMember,
}

/// The outcome of one logical write (all its batches).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WriteReport {
    /// Names GitHub accepted.
    pub applied: Vec<String>,
    /// Names GitHub refused, each with GitHub's message.
    pub failed: Vec<(String, String)>,
    /// `seats_created` / `seats_cancelled` summed over the batches.
    pub seats_changed: u64,
}

/// Errors from GitHub (or the simulator), each with what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    /// 401.
    #[error(
        "GitHub rejected the token (401 {message}): check that GITHUB_TOKEN (or --token-file) holds a valid, unexpired token"
    )]
    Unauthorized {
        /// GitHub's message.
        message: String,
    },
    /// 403 without rate-limit signals.
    #[error(
        "GitHub refused {method} {route} (403 {message}): the token needs the `manage_billing:copilot` scope (classic PAT), or for a GitHub App the organization permission \"GitHub Copilot Business\" (read and write) and \"Members\" (read)"
    )]
    Forbidden {
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// GitHub's message.
        message: String,
    },
    /// 404.
    #[error(
        "GitHub answered 404 for {method} {route} ({message}): check that {scope} exists, that the token can see it, and that it has a Copilot Business or Enterprise plan"
    )]
    NotFound {
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// The org or enterprise.
        scope: String,
        /// GitHub's message.
        message: String,
    },
    /// Writes need `seat_management_setting: assign_selected`.
    #[error(
        "{scope} assigns Copilot seats with `{setting}`, so seats cannot be granted to selected users: in the organization's settings, under Copilot > Access, choose \"Selected users and teams\" (seat_management_setting: assign_selected)"
    )]
    NotAssignSelected {
        /// The org or enterprise.
        scope: String,
        /// The current setting.
        setting: String,
    },
    /// A rate limit that did not reset within the allowed wait.
    #[error(
        "GitHub rate limit exhausted on {route}; it resets in {reset_in_secs} s, longer than the allowed wait of {max_wait_secs} s: retry later or raise --max-rate-limit-wait"
    )]
    RateLimited {
        /// Route template.
        route: String,
        /// Seconds until the reset.
        reset_in_secs: u64,
        /// The configured maximum wait.
        max_wait_secs: u64,
    },
    /// Any other HTTP status after retries.
    #[error("GitHub answered {status} for {method} {route}: {message}")]
    Http {
        /// HTTP status.
        status: u16,
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// GitHub's message.
        message: String,
    },
    /// Connection failure or timeout after retries.
    #[error("cannot reach GitHub for {method} {route}: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// What failed.
        message: String,
    },
    /// The listing could not be read whole; nothing may be written.
    #[error("incomplete seat listing, nothing will be written: {message}")]
    IncompleteListing {
        /// What went wrong.
        message: String,
    },
    /// A response body did not decode.
    #[error("unexpected response from GitHub for {route}: {message}")]
    Decode {
        /// Route template.
        route: String,
        /// What did not decode.
        message: String,
    },
    /// Bad client configuration (auth, URL, key).
    #[error("{0}")]
    Config(String),
}

impl GitHubError {
    /// A short, bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            GitHubError::Unauthorized { .. } => "unauthorized",
            GitHubError::Forbidden { .. } => "forbidden",
            GitHubError::NotFound { .. } => "not_found",
            GitHubError::NotAssignSelected { .. } => "not_assign_selected",
            GitHubError::RateLimited { .. } => "rate_limited",
            GitHubError::Http { .. } => "http",
            GitHubError::Transport { .. } => "transport",
            GitHubError::IncompleteListing { .. } => "incomplete_listing",
            GitHubError::Decode { .. } => "decode",
            GitHubError::Config(_) => "client_config",
        }
    }
}

/// Everything seatkeeper reads from and writes to GitHub. The octocrab
/// client and the simulator-backed tests both go through it.
#[async_trait]
pub trait SeatApi: Send + Sync {
    /// Copilot billing details of an org (`GET /orgs/{org}/copilot/billing`).
    /// For an enterprise scope there is no such route; implementations report
    /// `assign_selected`, since enterprise seat assignment is always selective.
    async fn billing(&self, scope: &Scope) -> Result<BillingInfo, GitHubError>;

    /// Every seat, from every page. Never a partial listing: a failed page or
    /// a `total_seats` that changed while paging is an error.
    async fn list_seats(&self, scope: &Scope) -> Result<LiveState, GitHubError>;

    /// Grant seats to users (`POST .../selected_users`), batched.
    async fn add_users(&self, scope: &Scope, logins: &[String])
    -> Result<WriteReport, GitHubError>;

    /// Cancel users' direct seats (`DELETE .../selected_users`), batched.
    async fn remove_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError>;

    /// Grant seats to teams (`POST .../selected_teams` or `selected_enterprise_teams`).
    async fn add_teams(&self, scope: &Scope, teams: &[String]) -> Result<WriteReport, GitHubError>;

    /// Cancel teams' seats (`DELETE .../selected_teams` or `selected_enterprise_teams`).
    async fn remove_teams(
        &self,
        scope: &Scope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError>;

    /// Is `login` a member of `org` (`GET /orgs/{org}/members/{login}`)?
    async fn membership(&self, org: &str, login: &str) -> Result<Membership, GitHubError>;

    /// Logins of a team's members (child teams included), or `None` when the
    /// team does not exist.
    async fn team_members(
        &self,
        scope: &Scope,
        slug: &str,
    ) -> Result<Option<Vec<String>>, GitHubError>;

    /// Does a GitHub user with this login exist (`GET /users/{login}`)?
    async fn user_exists(&self, login: &str) -> Result<bool, GitHubError>;
}

// ---------------------------------------------------------------------------
// Wire format: GitHub's JSON for the seat listing, decoded leniently (GitHub
// adds fields over time; nulls appear where the description allows them).

/// `GET .../copilot/billing/seats` response (and the `--live-state` file,
/// which may add a top-level `seat_management_setting`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeatListResponse {
    /// Seats billed in total (all pages).
    pub total_seats: u64,
    /// The seats of this page.
    #[serde(default)]
    pub seats: Vec<SeatJson>,
    /// Only in `--live-state` files: the org's seat management setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_management_setting: Option<String>,
}

/// A seat as GitHub sends it (only the fields seatkeeper reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeatJson {
    /// When the seat was granted (required by GitHub's schema).
    pub created_at: DateTime<Utc>,
    /// The seat holder; GitHub's schema allows it to be absent or null.
    #[serde(default)]
    pub assignee: Option<AssigneeJson>,
    /// The team granting the seat: an org team, an enterprise team, or null.
    #[serde(default)]
    pub assigning_team: Option<TeamJson>,
    /// `YYYY-MM-DD` when pending cancellation.
    #[serde(default)]
    pub pending_cancellation_date: Option<NaiveDate>,
    /// Last Copilot activity.
    #[serde(default)]
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// The part of `simple-user` seatkeeper reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssigneeJson {
    /// The login.
    pub login: String,
}

/// An `assigning_team`: GitHub's `oneOf` of Team and Enterprise Team. Only
/// enterprise teams carry `group_id` (required in their schema, nullable),
/// so its presence tells them apart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamJson {
    /// The slug.
    pub slug: String,
    /// Present (possibly null) only on enterprise teams.
    #[serde(default, deserialize_with = "present")]
    pub group_id: Option<Option<serde_json::Value>>,
    /// Present only on enterprise teams in recent descriptions.
    #[serde(default, deserialize_with = "present")]
    pub sync_to_organizations: Option<Option<serde_json::Value>>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<serde_json::Value>>, D::Error> {
    Ok(Some(Option::<serde_json::Value>::deserialize(d)?))
}

impl TeamJson {
    /// Org team or enterprise team.
    pub fn kind(&self) -> TeamKind {
        if self.group_id.is_some() || self.sync_to_organizations.is_some() {
            TeamKind::Enterprise
        } else {
            TeamKind::Org
        }
    }
}

impl SeatJson {
    /// Our domain seat; `None` for a seat without an assignee (it cannot be
    /// managed by login, so it is counted but never planned).
    pub fn to_live(&self) -> Option<LiveSeat> {
        let assignee = self.assignee.as_ref()?;
        Some(LiveSeat {
            login: assignee.login.clone(),
            assigning_team: self.assigning_team.as_ref().map(|t| TeamRef {
                kind: t.kind(),
                slug: t.slug.clone(),
            }),
            pending_cancellation_date: self.pending_cancellation_date,
            last_activity_at: self.last_activity_at,
            created_at: self.created_at,
        })
    }
}

impl SeatListResponse {
    /// Decode a `--live-state` file (GitHub's listing shape).
    pub fn from_json(path: &str, text: &str) -> crate::Result<SeatListResponse> {
        serde_json::from_str(text).map_err(|e| crate::Error::LiveState {
            path: path.to_string(),
            message: format!(
                "{e} (expected the body of GET /orgs/ORG/copilot/billing/seats: {{\"total_seats\": N, \"seats\": [...]}})"
            ),
        })
    }

    /// The planner's live state from one complete listing.
    pub fn into_live_state(self) -> LiveState {
        LiveState {
            seat_management_setting: self
                .seat_management_setting
                .as_deref()
                .map(SeatManagementSetting::parse),
            seats: self.seats.iter().filter_map(SeatJson::to_live).collect(),
            team_members: BTreeMap::new(),
        }
    }
}
