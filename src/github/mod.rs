//! The GitHub boundary: the [`SeatApi`] trait, its domain types ([`live`]:
//! a live user with its set of grants), GitHub's wire format for seats
//! ([`wire`]), repository writes ([`repo::RepoApi`]), and the octocrab
//! implementation of both in [`client`].

pub mod app_jwt;
pub mod args;
pub mod budgets;
pub mod client;
pub mod live;
pub mod repo;
pub mod usage;
pub mod wire;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::config::Scope;
pub use live::{
    Grant, GrantSeat, IdleSignal, LiveState, LiveUser, PlanType, SeatManagementSetting, TeamKind,
    TeamRef,
};
pub use wire::{PageSeat, PageSeats, SeatJson, SeatListResponse};

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

/// The seat totals a one-login change is checked against, from one request
/// (org: `GET /orgs/{org}/copilot/billing`; enterprise: page 1 of the
/// listing, `per_page=1`, for its `total_seats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatTotals {
    /// Users billed this cycle, pending cancellations included (org:
    /// `seat_breakdown.total`; enterprise: `total_seats`, each user once).
    pub billed: u64,
    /// Of those, seats pending cancellation (org:
    /// `seat_breakdown.pending_cancellation`; an enterprise does not report
    /// it without the whole listing: 0).
    pub pending: u64,
    /// How the org assigns seats; enterprises always assign to selected
    /// users and teams.
    pub seat_management_setting: SeatManagementSetting,
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
    /// Names GitHub accepted for later (`202`, e.g. an enterprise team
    /// DELETE: `{"message": "Status for delete command"}`), each with
    /// GitHub's message: neither done nor failed; the next reconcile's plan
    /// shows whether it happened.
    #[serde(default)]
    pub pending: Vec<(String, String)>,
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
    #[error("GitHub refused {method} {route} (403 {message}): {advice}")]
    Forbidden {
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// GitHub's message.
        message: String,
        /// What the token or App needs for this route.
        advice: String,
    },
    /// 404.
    #[error("GitHub answered 404 for {method} {route} ({message}): {hint}")]
    NotFound {
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// The org or enterprise.
        scope: String,
        /// GitHub's message.
        message: String,
        /// Which of the org, the token's reach or the API root is likely
        /// wrong, and how to check.
        hint: String,
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
    #[error(
        "cannot reach GitHub at {url} ({method} {route}): {message}; check the network, or --github-url if that is not the API you meant (GHE.com: https://api.SUBDOMAIN.ghe.com)"
    )]
    Transport {
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// The URL that could not be reached.
        url: String,
        /// What failed.
        message: String,
    },
    /// The listing could not be read whole: no removal and no seat-cap
    /// check may be made from it (a reconcile applies adds only, from
    /// `partial`).
    #[error("incomplete seat listing: {message}")]
    IncompleteListing {
        /// What went wrong.
        message: String,
        /// The pages shifted while they were read (seats changed meanwhile),
        /// so reading again may succeed; false for a page that kept failing
        /// or a listing too large to read.
        shifted: bool,
        /// The seat listing's pages that were read, folded (page 1 on, in
        /// order), when page 1 was read: every holder in it held a seat while
        /// it was read, but holders on the pages not read are missing.
        /// `None` for member lists and when page 1 itself failed.
        partial: Option<std::sync::Arc<LiveState>>,
    },
    /// A response body did not decode.
    #[error("unexpected response from GitHub for {route}: {message}")]
    Decode {
        /// Route template.
        route: String,
        /// What did not decode.
        message: String,
    },
    /// A write refused for the org's or enterprise's Copilot settings: a
    /// 422 that names no login or team of the request (GHEC: "Copilot is not
    /// enabled for this enterprise, billing has not been set up for this
    /// enterprise, a public code suggestions policy has not been set for
    /// this enterprise, or the enterprise's Copilot access setting is set to
    /// enable Copilot for all users or is unconfigured"; orgs: the payment
    /// method, the public-code policy). Every other write to the scope would
    /// get the same answer, so none is sent.
    #[error("{scope} refused {method} {route} (422 {message}): {advice}")]
    ScopePolicy {
        /// The org or enterprise.
        scope: String,
        /// HTTP method.
        method: String,
        /// Route template.
        route: String,
        /// GitHub's message.
        message: String,
        /// What to change, from the message.
        advice: String,
    },
    /// A repository write refused with a reason of its own (409): a
    /// protected branch, a ruleset, push protection. Not a stale `sha`:
    /// trying again would meet the same rule.
    #[error("GitHub refused to write {what}: {message} ({advice})")]
    WriteRefused {
        /// The file and repository.
        what: String,
        /// GitHub's reason.
        message: String,
        /// What to change.
        advice: String,
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
            GitHubError::ScopePolicy { .. } => "scope_policy",
            GitHubError::WriteRefused { .. } => "write_refused",
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

    /// Every member of an org (`GET /orgs/{org}/members`, every page), read
    /// whole or not at all: cheaper than one membership check per login once
    /// many logins need checking.
    async fn list_members(&self, org: &str) -> Result<Vec<String>, GitHubError>;

    /// [`SeatApi::list_members`] when it takes at most `max_pages` pages of
    /// 100, else `None` after one request (page 1 says how many follow): the
    /// caller checks logins one by one instead, whichever costs fewer
    /// requests.
    async fn list_members_within(
        &self,
        org: &str,
        max_pages: usize,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        let _ = max_pages;
        self.list_members(org).await.map(Some)
    }

    /// One user's seat, with every grant the scope lists for them, or
    /// `None` when they hold none (404): `GET /orgs/{org}/members/{username}/copilot`
    /// or `GET /enterprises/{enterprise}/members/{username}/copilot`. What a
    /// one-login request reads instead of the whole listing. The default
    /// reads the whole listing (for test doubles); the client overrides it.
    async fn user_seat(&self, scope: &Scope, login: &str) -> Result<Option<LiveUser>, GitHubError> {
        Ok(self
            .list_seats(scope)
            .await?
            .users
            .into_iter()
            .find(|u| u.login.eq_ignore_ascii_case(login)))
    }

    /// The scope's seat totals from one request (see [`SeatTotals`]). The
    /// default reads the whole listing (for test doubles); the client
    /// overrides it.
    async fn seat_totals(&self, scope: &Scope) -> Result<SeatTotals, GitHubError> {
        let live = self.list_seats(scope).await?;
        Ok(SeatTotals {
            billed: live.users.len() as u64,
            pending: live.pending() as u64,
            seat_management_setting: live
                .seat_management_setting
                .unwrap_or(SeatManagementSetting::AssignSelected),
        })
    }

    /// Is `login` a member of the team `slug` (child teams included)? `None`
    /// when the team does not exist. The client asks the per-user routes
    /// (`GET /orgs/{org}/teams/{team_slug}/memberships/{username}`, the
    /// enterprise twin) and, only on a 404, whether the team exists; the
    /// default reads the team's member list.
    async fn in_team(
        &self,
        scope: &Scope,
        slug: &str,
        login: &str,
    ) -> Result<Option<bool>, GitHubError> {
        Ok(self
            .team_members(scope, slug)
            .await?
            .map(|m| m.iter().any(|l| l.eq_ignore_ascii_case(login))))
    }

    /// The identity-provider group an enterprise team's membership comes
    /// from (`group_id` of `GET /enterprises/{enterprise}/teams/{team_slug}`),
    /// when any. `None` for org teams, teams without one, and test doubles.
    async fn idp_group(&self, scope: &Scope, slug: &str) -> Result<Option<String>, GitHubError> {
        let _ = (scope, slug);
        Ok(None)
    }

    /// Add users to an enterprise team (`POST .../memberships/add`), batched:
    /// how seats are assigned in an enterprise dedicated to Copilot.
    async fn add_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError>;

    /// Remove users from an enterprise team (`POST .../memberships/remove`), batched.
    async fn remove_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError>;

    /// The billing budgets routes, when this implementation has them
    /// (the GitHub client does; test doubles need not).
    fn budgets(&self) -> Option<&dyn budgets::BudgetApi> {
        None
    }
}
