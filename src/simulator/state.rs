//! The simulated organization's data and GitHub's seat-assignment rules, as
//! pure transitions over [`SimState`] (no I/O: the HTTP layer in
//! `server.rs` only parses, locks and calls these).
//!
//! Modelled on "Copilot user management" in GitHub's REST docs:
//! <https://docs.github.com/rest/copilot/copilot-user-management>.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::repo::{PushEvent, SimRepo};
use crate::github::SeatBreakdown;
use crate::plan::{SeatManagementSetting, TeamKind, TeamRef};

/// Which side of the API a write came through: the org routes
/// (`/orgs/{org}/copilot/billing/...`) or the enterprise routes
/// (`/enterprises/{enterprise}/copilot/billing/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimScope {
    /// An organization.
    Org,
    /// An enterprise that assigns seats itself.
    Enterprise,
}

impl SimScope {
    /// The kind of team this scope's `selected_teams` /
    /// `selected_enterprise_teams` routes take.
    pub fn team_kind(self) -> TeamKind {
        match self {
            SimScope::Org => TeamKind::Org,
            SimScope::Enterprise => TeamKind::Enterprise,
        }
    }

    pub(crate) fn noun(self) -> &'static str {
        match self {
            SimScope::Org => "organization",
            SimScope::Enterprise => "enterprise",
        }
    }
}

/// A team: an org team (`/orgs/{org}/teams/{slug}`) or an enterprise team
/// (`/enterprises/{enterprise}/teams/{slug}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTeam {
    /// The slug; compared case-insensitively.
    pub slug: String,
    /// The display name (defaults to the slug).
    #[serde(default)]
    pub name: String,
    /// Direct members' logins.
    #[serde(default)]
    pub members: Vec<String>,
    /// The parent team's slug, for nested org teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The team's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Enterprise teams: the identity-provider group its members come from
    /// (`group_id`), when linked to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

impl SimTeam {
    /// A team with these direct members and no parent.
    pub fn new(slug: &str, members: &[&str]) -> SimTeam {
        SimTeam {
            slug: slug.to_string(),
            name: slug.to_string(),
            members: members.iter().map(|m| m.to_string()).collect(),
            parent: None,
            description: None,
            group_id: None,
        }
    }

    /// The same team nested under `parent`.
    pub fn with_parent(mut self, parent: &str) -> SimTeam {
        self.parent = Some(parent.to_string());
        self
    }

    /// The display name, falling back to the slug.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.slug
        } else {
            &self.name
        }
    }
}

/// A further organization of the enterprise. It grants seats to its members
/// as its selections say (derived by [`SimState::normalize`]), and appears
/// in the enterprise listing with `organization` set; its own seat-write
/// routes are not simulated (an enterprise file never writes to an org).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SimOrg {
    /// The organization's login.
    pub login: String,
    /// Its numeric id.
    pub id: u64,
    /// Its members.
    pub members: Vec<String>,
    /// Its teams.
    pub teams: Vec<SimTeam>,
    /// Users it grants a seat directly (lowercase).
    pub selected_users: BTreeSet<String>,
    /// Teams it grants seats through (lowercase).
    pub selected_teams: BTreeSet<String>,
    /// Its seats, one per user (derived from the selections when missing).
    pub seats: Vec<SimSeat>,
}

/// One Copilot seat. Seats are listed in the order of this vector (creation
/// order), so pagination is deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSeat {
    /// The assignee's login, as GitHub spells it.
    pub login: String,
    /// When the seat was created.
    pub created_at: DateTime<Utc>,
    /// Last change to the seat (GitHub still sends this deprecated field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Last Copilot activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// The editor of the last activity, e.g. `vscode/1.98.0/copilot/1.280.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_editor: Option<String>,
    /// Last sign-in to Copilot (reported even with IDE telemetry off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_authenticated_at: Option<DateTime<Utc>>,
    /// Set when the seat is cancelled at the end of the billing cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_cancellation_date: Option<NaiveDate>,
    /// The team granting the seat; `None` for a direct grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigning_team: Option<TeamRef>,
}

impl SimSeat {
    /// A direct seat created at `created_at`, never used.
    pub fn new(login: &str, created_at: DateTime<Utc>) -> SimSeat {
        SimSeat {
            login: login.to_string(),
            created_at,
            updated_at: None,
            last_activity_at: None,
            last_activity_editor: None,
            last_authenticated_at: None,
            pending_cancellation_date: None,
            assigning_team: None,
        }
    }

    /// True while the seat is not pending cancellation.
    pub fn is_active(&self) -> bool {
        self.pending_cancellation_date.is_none()
    }
}

/// A GitHub App installed on the org, for App authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimApp {
    /// The App ID: JWTs must carry it as `iss`.
    pub app_id: u64,
    /// The App's client ID, also accepted as `iss` (GitHub accepts either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The App's slug.
    #[serde(default = "default_app_slug")]
    pub slug: String,
    /// The installation on the org.
    pub installation_id: u64,
    /// The App's RSA public key (PEM, SPKI): JWTs must be RS256-signed by
    /// the matching private key.
    pub public_key_pem: String,
}

fn default_app_slug() -> String {
    "seatkeeper".to_string()
}

/// The whole simulated GitHub: one organization (and optionally the
/// enterprise it belongs to), its members, teams, Copilot seats,
/// repositories ([`SimRepo`]: branches, commits, pull requests, issues) and
/// GitHub App.
///
/// Logins and team slugs compare case-insensitively everywhere, as GitHub's
/// do. `selected_users` and the selected team sets hold lowercase names.
///
/// After editing fields directly (outside `Simulator::with_state`, which does
/// it for you), call [`SimState::normalize`] so lookups and derived seats are
/// up to date.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SimState {
    /// The organization's login (`/orgs/{org}/...`).
    pub org: String,
    /// The organization's numeric id.
    pub org_id: u64,
    /// The enterprise's slug, when the enterprise routes should answer.
    pub enterprise: Option<String>,
    /// How seats are assigned; writes to the org routes need `assign_selected`.
    pub seat_management_setting: SeatManagementSetting,
    /// `business` or `enterprise`.
    pub plan_type: String,
    /// `allow`, `block` or `unconfigured`.
    pub public_code_suggestions: String,
    /// Members of the org (or of the enterprise, for enterprise scope).
    pub members: Vec<String>,
    /// Other GitHub users that exist but are not members.
    pub users: Vec<String>,
    /// Org teams.
    pub teams: Vec<SimTeam>,
    /// Enterprise teams.
    pub enterprise_teams: Vec<SimTeam>,
    /// Users granted a seat directly (lowercase logins).
    pub selected_users: BTreeSet<String>,
    /// Org teams granting seats (lowercase slugs).
    pub selected_teams: BTreeSet<String>,
    /// Enterprise teams granting seats (lowercase slugs).
    pub selected_enterprise_teams: BTreeSet<String>,
    /// The primary organization's seats, one per user, in listing order.
    pub seats: Vec<SimSeat>,
    /// Further organizations of the enterprise.
    pub orgs: Vec<SimOrg>,
    /// Enterprise members who are in no organization (an enterprise
    /// dedicated to Copilot has no organizations at all).
    pub enterprise_members: Vec<String>,
    /// Users the enterprise grants a seat directly (lowercase logins).
    pub enterprise_selected_users: BTreeSet<String>,
    /// Enterprise-level grants, one per user and grant: `assigning_team`
    /// `None` for a direct enterprise grant, else the enterprise team.
    pub enterprise_seats: Vec<SimSeat>,
    /// The enterprise's Copilot access setting: enterprise writes need
    /// `assign_selected` (GHEC 422: "the enterprise's Copilot access setting
    /// is set to enable Copilot for all users or is unconfigured").
    pub enterprise_seat_management_setting: SeatManagementSetting,
    /// The enterprise's public-code-suggestions policy: `allow`, `block` or
    /// `unconfigured` (GHEC 422: "a public code suggestions policy has not
    /// been set for this enterprise").
    pub enterprise_public_code_suggestions: String,
    /// The next billing date: cancelled seats go away then.
    pub next_billing_date: NaiveDate,
    /// The default branch of repositories created by [`SimState::put_file`].
    pub default_branch: String,
    /// Repositories: branches, commits, pull requests, issues, comments.
    pub repos: Vec<SimRepo>,
    /// The login the token acts as: author of commits, issues and comments
    /// made through the API.
    pub viewer: String,
    /// The GitHub App installed on the org, if any.
    pub app: Option<SimApp>,
    /// Answer `DELETE .../selected_enterprise_teams` as GitHub may: `202
    /// {"message": "Status for delete command"}`, the teams staying
    /// selected until [`SimState::finish_team_deletes`] (done later).
    #[serde(default)]
    pub defer_enterprise_team_deletes: bool,
    /// Enterprise team deletes accepted (202) and not yet done, by slug.
    #[serde(default)]
    pub pending_team_deletes: BTreeSet<String>,
    /// AI-credit use per person and day, for the usage report routes.
    #[serde(default)]
    pub ai_credits: Vec<super::usage::SimCredits>,
    /// Answer the usage report routes 404, as GitHub does for a token that
    /// may not read the account's billing.
    #[serde(default)]
    pub ai_credit_usage_hidden: bool,
    /// Billing budgets of the org and the enterprise.
    #[serde(default)]
    pub budgets: super::budgets::SimBudgets,
    /// Branch moves not yet delivered as push webhooks.
    #[serde(skip)]
    pub(super) outbox: Vec<PushEvent>,
    #[serde(skip)]
    pub(super) cache: Cache,
}

/// Lookup tables rebuilt from the public fields; never serialized.
#[derive(Debug, Clone, Default)]
pub(super) struct Cache {
    valid: bool,
    seats: HashMap<String, usize>,
    members: HashMap<String, usize>,
    users: HashMap<String, usize>,
    /// The enterprise listing's entry order and user count, built on the
    /// first page read after a change.
    pub(super) listing: Option<std::sync::Arc<super::enterprise::Listing>>,
}

impl Default for SimState {
    fn default() -> Self {
        SimState {
            org: "acme".to_string(),
            org_id: 1000,
            enterprise: None,
            seat_management_setting: SeatManagementSetting::AssignSelected,
            plan_type: "business".to_string(),
            public_code_suggestions: "allow".to_string(),
            members: Vec::new(),
            users: Vec::new(),
            teams: Vec::new(),
            enterprise_teams: Vec::new(),
            selected_users: BTreeSet::new(),
            selected_teams: BTreeSet::new(),
            selected_enterprise_teams: BTreeSet::new(),
            seats: Vec::new(),
            orgs: Vec::new(),
            enterprise_members: Vec::new(),
            enterprise_selected_users: BTreeSet::new(),
            enterprise_seats: Vec::new(),
            enterprise_seat_management_setting: SeatManagementSetting::AssignSelected,
            enterprise_public_code_suggestions: "allow".to_string(),
            next_billing_date: first_of_next_month(Utc::now().date_naive()),
            default_branch: "main".to_string(),
            repos: Vec::new(),
            viewer: "seatkeeper-bot".to_string(),
            app: None,
            defer_enterprise_team_deletes: false,
            pending_team_deletes: BTreeSet::new(),
            ai_credits: Vec::new(),
            ai_credit_usage_hidden: false,
            budgets: Default::default(),
            outbox: Vec::new(),
            cache: Cache::default(),
        }
    }
}

/// The first day of the month after `day`: GitHub bills Copilot monthly.
pub fn first_of_next_month(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    first.checked_add_months(Months::new(1)).unwrap_or(first)
}

/// Why GitHub refuses a seat write. Every variant is a 422 for the whole
/// request: nothing is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Writes need `seat_management_setting: assign_selected`.
    #[error("{}", not_assign_selected_message(setting))]
    NotAssignSelected {
        /// The current setting.
        setting: String,
    },
    /// Logins that are not members (or do not exist): GitHub's 404, shaped
    /// as `../shared/github-observed/README.md` records ("One or more users
    /// do not exist in this organization: LOGINS"; the exact words are
    /// inferred, the status documented).
    #[error("One or more users do not exist in this {scope}: {}", logins.join(", "))]
    NotMembers {
        /// `organization` or `enterprise`.
        scope: &'static str,
        /// The offending logins.
        logins: Vec<String>,
    },
    /// Seats granted through a team cannot be cancelled per user.
    #[error(
        "The following users have a Copilot seat assigned through a team and cannot be removed individually: {}. Remove them from the team, or remove the team from the Copilot subscription.",
        logins.join(", ")
    )]
    TeamAssigned {
        /// The offending logins.
        logins: Vec<String>,
    },
    /// Team values (names, as the request bodies document) that name no
    /// team: GitHub's 404 ("One or more teams do not exist in this
    /// organization: VALUES"; words inferred, status documented).
    #[error("One or more teams do not exist in this {scope}: {}", slugs.join(", "))]
    UnknownTeams {
        /// `organization` or `enterprise`.
        scope: &'static str,
        /// The offending slugs.
        slugs: Vec<String>,
    },
    /// An enterprise write refused for the enterprise's Copilot policies;
    /// the message is GHEC's documented 422 wording.
    #[error("{0}")]
    EnterprisePolicy(String),
    /// Logins refused by an injected fault.
    #[error("The following users could not be assigned or removed: {}.", logins.join(", "))]
    Rejected {
        /// The offending logins.
        logins: Vec<String>,
    },
}

/// GitHub's 422 for an org whose Copilot access is not "selected members":
/// the observed body for "all members" (CopilotHelper test data
/// `CopilotBillingUser_WrongSettings.json`), and the route's documented
/// cause in its own words otherwise (exact wording unknown).
fn not_assign_selected_message(setting: &str) -> String {
    match setting {
        "assign_all" => "Your organization has enabled Copilot access for all members. Enable access for selected members in order to manage seats via the API.".to_string(),
        _ => format!(
            "The organization's Copilot access setting is unconfigured or disabled ({setting}): seats can only be assigned to selected members."
        ),
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Case-insensitive de-duplication that keeps the first spelling and order.
fn dedup_ci(names: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    names
        .iter()
        .filter(|n| seen.insert(lower(n)))
        .cloned()
        .collect()
}

impl SimState {
    /// An empty org with this login.
    pub fn new(org: &str) -> SimState {
        SimState {
            org: org.to_string(),
            ..SimState::default()
        }
    }

    /// Carry out the enterprise team deletes answered with 202 (GitHub does
    /// them later); returns the seats set pending cancellation.
    pub fn finish_team_deletes(&mut self, now: DateTime<Utc>) -> u64 {
        let slugs: Vec<String> = std::mem::take(&mut self.pending_team_deletes)
            .into_iter()
            .collect();
        let n = self.ent_remove_teams(&slugs, now).unwrap_or(0);
        self.invalidate();
        n
    }

    /// Mark the lookup tables stale after editing fields directly.
    pub fn invalidate(&mut self) {
        self.cache.valid = false;
        self.cache.listing = None;
    }

    fn ensure_cache(&mut self) {
        // Lengths catch most direct edits made without `invalidate()`.
        if self.cache.valid
            && self.cache.seats.len() == self.seats.len()
            && self.cache.members.len() <= self.members.len()
            && self.cache.users.len() <= self.users.len()
        {
            return;
        }
        let mut cache = Cache {
            valid: true,
            ..Cache::default()
        };
        for (i, s) in self.seats.iter().enumerate() {
            cache.seats.insert(lower(&s.login), i);
        }
        for (i, m) in self.members.iter().enumerate() {
            cache.members.insert(lower(m), i);
        }
        for (i, u) in self.users.iter().enumerate() {
            cache.users.insert(lower(u), i);
        }
        self.cache = cache;
    }

    /// Rebuild lookups and derive what GitHub derives: a seat for every
    /// member of a selected team who has none (a member added to a team later
    /// gets a seat), re-resolution of team seats whose holder left the team
    /// (another selected team, else a direct grant, else pending
    /// cancellation), and `selected_users` for every active direct seat. It
    /// never touches seats otherwise, so hand-made fixtures stay as written.
    pub fn normalize(&mut self, now: DateTime<Utc>) {
        self.invalidate();
        self.ensure_cache();
        for seat in &self.seats {
            if seat.is_active() && seat.assigning_team.is_none() {
                self.selected_users.insert(lower(&seat.login));
            }
        }
        let granting = self.granting_teams();
        for (team, members) in &granting {
            for m in members {
                if !self.cache.seats.contains_key(&lower(m)) {
                    self.push_seat(m, Some(team.clone()), now);
                }
            }
        }
        let direct: Vec<String> = self
            .selected_users
            .iter()
            .filter(|l| !self.cache.seats.contains_key(*l))
            .cloned()
            .collect();
        for l in direct {
            let login = self.canonical_login(&l).unwrap_or(l);
            self.push_seat(&login, None, now);
        }
        let member_sets: Vec<(TeamRef, HashSet<String>)> = granting
            .into_iter()
            .map(|(t, ms)| (t, ms.iter().map(|m| lower(m)).collect()))
            .collect();
        for i in 0..self.seats.len() {
            let seat = &self.seats[i];
            let Some(team) = seat.assigning_team.clone() else {
                continue;
            };
            if !seat.is_active() || !self.is_selected_team(&team) {
                continue;
            }
            let key = lower(&seat.login);
            let still = member_sets
                .iter()
                .any(|(t, ms)| same_team(t, &team) && ms.contains(&key));
            if !still {
                self.resolve_after_team_loss(i, &team, &member_sets, now);
            }
        }
        self.normalize_enterprise(now);
    }

    /// The lowercase key of the team sets for a team kind.
    fn selected_set(&self, kind: TeamKind) -> &BTreeSet<String> {
        match kind {
            TeamKind::Org => &self.selected_teams,
            TeamKind::Enterprise => &self.selected_enterprise_teams,
        }
    }

    fn selected_set_mut(&mut self, kind: TeamKind) -> &mut BTreeSet<String> {
        match kind {
            TeamKind::Org => &mut self.selected_teams,
            TeamKind::Enterprise => &mut self.selected_enterprise_teams,
        }
    }

    fn is_selected_team(&self, team: &TeamRef) -> bool {
        self.selected_set(team.kind).contains(&lower(&team.slug))
    }

    /// Every selected org team, in slug order, with its effective members.
    fn granting_teams(&self) -> Vec<(TeamRef, Vec<String>)> {
        // Enterprise teams grant enterprise-level entries (enterprise.rs).
        let mut out = Vec::new();
        for kind in [TeamKind::Org] {
            for slug in self.selected_set(kind) {
                if let Some(team) = self.team(kind, slug) {
                    let r = TeamRef {
                        kind,
                        slug: team.slug.as_str().into(),
                    };
                    out.push((r, self.effective_members(kind, slug)));
                }
            }
        }
        out
    }

    /// The teams of one kind.
    pub fn teams_of(&self, kind: TeamKind) -> &[SimTeam] {
        match kind {
            TeamKind::Org => &self.teams,
            TeamKind::Enterprise => &self.enterprise_teams,
        }
    }

    /// A team by slug (case-insensitive).
    pub fn team(&self, kind: TeamKind, slug: &str) -> Option<&SimTeam> {
        match kind {
            TeamKind::Org => self
                .teams
                .iter()
                .find(|t| t.slug.eq_ignore_ascii_case(slug)),
            TeamKind::Enterprise => self.enterprise_team(slug),
        }
    }

    /// The team whose name is `name` (ignoring case): what the team write
    /// routes take ("List of team names").
    pub fn team_by_name(&self, kind: TeamKind, name: &str) -> Option<&SimTeam> {
        let named = |t: &&SimTeam| match kind {
            TeamKind::Org => t.display_name().eq_ignore_ascii_case(name),
            // Enterprise team names carry no `ent:` (the slug does).
            TeamKind::Enterprise => {
                let n = t.display_name();
                n.strip_prefix("ent:")
                    .unwrap_or(n)
                    .eq_ignore_ascii_case(name)
            }
        };
        self.teams_of(kind).iter().find(named)
    }

    /// Direct child teams of a team.
    pub fn child_teams(&self, kind: TeamKind, slug: &str) -> Vec<&SimTeam> {
        let same = |a: &str, b: &str| match kind {
            TeamKind::Org => a.eq_ignore_ascii_case(b),
            TeamKind::Enterprise => crate::github::live::enterprise_slug(a)
                .eq_ignore_ascii_case(&crate::github::live::enterprise_slug(b)),
        };
        self.teams_of(kind)
            .iter()
            .filter(|t| t.parent.as_deref().is_some_and(|p| same(p, slug)))
            .collect()
    }

    /// A team's members including those of its child teams, recursively
    /// (<https://docs.github.com/rest/teams/members#list-team-members>: "Team
    /// members will include the members of child teams"). Each login once,
    /// the team's own members first, spelled as in `members` when known.
    pub fn effective_members(&self, kind: TeamKind, slug: &str) -> Vec<String> {
        self.effective_members_detailed(kind, slug)
            .into_iter()
            .map(|(login, _)| login)
            .collect()
    }

    /// [`SimState::effective_members`] with GitHub's `inherited` flag: true
    /// when the membership comes from a child team.
    pub fn effective_members_detailed(&self, kind: TeamKind, slug: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mut seen_logins = HashSet::new();
        let mut seen_teams = HashSet::new();
        let root = lower(slug);
        let mut stack = vec![root.clone()];
        while let Some(s) = stack.pop() {
            if !seen_teams.insert(s.clone()) {
                continue;
            }
            let Some(team) = self.team(kind, &s) else {
                continue;
            };
            for m in &team.members {
                if seen_logins.insert(lower(m)) {
                    let canon = self
                        .cache_member(m)
                        .map(|i| self.members[i].clone())
                        .unwrap_or_else(|| m.clone());
                    out.push((canon, s != root));
                }
            }
            // Children pushed in reverse so they are visited in listed order.
            let children: Vec<String> = self
                .child_teams(kind, &s)
                .iter()
                .map(|t| lower(&t.slug))
                .collect();
            stack.extend(children.into_iter().rev());
        }
        out
    }

    fn cache_member(&self, login: &str) -> Option<usize> {
        if self.cache.valid {
            self.cache.members.get(&lower(login)).copied()
        } else {
            self.members
                .iter()
                .position(|m| m.eq_ignore_ascii_case(login))
        }
    }

    /// Is `login` a member (case-insensitive)?
    pub fn is_member(&mut self, login: &str) -> bool {
        self.ensure_cache();
        self.cache.members.contains_key(&lower(login))
    }

    /// Does a GitHub user `login` exist (member or not)?
    pub fn user_exists(&mut self, login: &str) -> bool {
        self.canonical_login(login).is_some()
    }

    /// The login as GitHub spells it, for members and other known users.
    pub fn canonical_login(&mut self, login: &str) -> Option<String> {
        self.ensure_cache();
        let key = lower(login);
        if let Some(&i) = self.cache.members.get(&key) {
            return Some(self.members[i].clone());
        }
        if let Some(&i) = self.cache.users.get(&key) {
            return Some(self.users[i].clone());
        }
        // Members of the enterprise's other organizations, or of the
        // enterprise alone, are GitHub users too.
        self.orgs
            .iter()
            .flat_map(|o| &o.members)
            .chain(&self.enterprise_members)
            .find(|m| m.eq_ignore_ascii_case(login))
            .cloned()
    }

    /// The index of `login`'s seat in [`SimState::seats`].
    pub fn seat_index(&mut self, login: &str) -> Option<usize> {
        self.ensure_cache();
        self.cache.seats.get(&lower(login)).copied()
    }

    /// `login`'s seat.
    pub fn seat(&mut self, login: &str) -> Option<&SimSeat> {
        let i = self.seat_index(login)?;
        self.seats.get(i)
    }

    fn push_seat(&mut self, login: &str, team: Option<TeamRef>, now: DateTime<Utc>) {
        self.ensure_cache();
        let mut seat = SimSeat::new(login, now);
        seat.updated_at = Some(now);
        seat.assigning_team = team;
        self.cache.seats.insert(lower(login), self.seats.len());
        self.seats.push(seat);
    }

    /// Add a seat directly to the listing (for fixtures and the
    /// "seats change between pages" fault); no membership check.
    pub fn insert_seat(&mut self, seat: SimSeat) {
        self.ensure_cache();
        self.cache.listing = None;
        let key = lower(&seat.login);
        if let Some(&i) = self.cache.seats.get(&key) {
            self.seats[i] = seat;
        } else {
            self.cache.seats.insert(key, self.seats.len());
            self.seats.push(seat);
        }
    }

    /// Add an enterprise-level entry directly (for fixtures and the "seats
    /// change between pages" fault in enterprise scope); no checks.
    pub fn insert_enterprise_seat(&mut self, seat: SimSeat) {
        self.cache.listing = None;
        self.enterprise_seats.push(seat);
    }

    /// Remove a user's enterprise-level entries outright.
    pub fn remove_enterprise_seats(&mut self, login: &str) -> usize {
        self.cache.listing = None;
        let before = self.enterprise_seats.len();
        self.enterprise_seats
            .retain(|s| !s.login.eq_ignore_ascii_case(login));
        self.enterprise_selected_users.remove(&lower(login));
        before - self.enterprise_seats.len()
    }

    /// Remove a seat from the listing outright (as the billing cycle does).
    pub fn remove_seat(&mut self, login: &str) -> Option<SimSeat> {
        let i = self.seat_index(login)?;
        let seat = self.seats.remove(i);
        self.selected_users.remove(&lower(login));
        self.invalidate();
        Some(seat)
    }

    /// Commit a file to `git_ref` (a branch) of `repo`, creating the
    /// repository and the branch as needed, as the [`SimState::viewer`]: the
    /// branch moves, as a push would move it.
    pub fn put_file(&mut self, repo: &str, git_ref: &str, path: &str, content: &str) {
        let path = path.trim_start_matches('/');
        let viewer = self.viewer.clone();
        self.commit_file(
            repo,
            git_ref,
            path,
            content,
            &format!("Update {path}"),
            &viewer,
        );
    }

    /// The end of the billing cycle: seats pending cancellation go away and
    /// the next billing date moves a month on.
    pub fn advance_billing_cycle(&mut self) {
        self.seats.retain(|s| s.is_active());
        self.enterprise_seats.retain(|s| s.is_active());
        for o in &mut self.orgs {
            o.seats.retain(|s| s.is_active());
        }
        self.next_billing_date = self
            .next_billing_date
            .checked_add_months(Months::new(1))
            .unwrap_or(self.next_billing_date);
        self.invalidate();
    }

    pub(crate) fn check_setting(&self, scope: SimScope) -> Result<(), SimError> {
        // Enterprise assignment is always selective; only the org routes
        // depend on the org's setting (the 422 of every org write route:
        // "the organization's Copilot access setting is set to enable Copilot
        // for all users or is unconfigured").
        if scope == SimScope::Org
            && self.seat_management_setting != SeatManagementSetting::AssignSelected
        {
            return Err(SimError::NotAssignSelected {
                setting: self.seat_management_setting.as_str().to_string(),
            });
        }
        Ok(())
    }

    /// `POST .../selected_users`: grant seats. Returns `seats_created`: new
    /// seats plus seats pending cancellation that were restored (GitHub:
    /// "the total number of new seats that were created and existing seats
    /// that were refreshed"); a user already holding an active seat counts 0.
    /// Any non-member makes the whole request fail.
    pub fn add_users(
        &mut self,
        scope: SimScope,
        logins: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.cache.listing = None;
        if scope == SimScope::Enterprise {
            return self.ent_add_users(logins, now);
        }
        self.check_setting(scope)?;
        self.ensure_cache();
        let logins = dedup_ci(logins);
        let bad: Vec<String> = logins
            .iter()
            .filter(|l| !self.cache.members.contains_key(&lower(l)))
            .cloned()
            .collect();
        if !bad.is_empty() {
            return Err(SimError::NotMembers {
                scope: scope.noun(),
                logins: bad,
            });
        }
        let mut created = 0;
        for l in &logins {
            let key = lower(l);
            self.selected_users.insert(key.clone());
            match self.cache.seats.get(&key).copied() {
                None => {
                    let canon = self.members[self.cache.members[&key]].clone();
                    self.push_seat(&canon, None, now);
                    created += 1;
                }
                Some(i) => {
                    let seat = &mut self.seats[i];
                    if !seat.is_active() {
                        seat.pending_cancellation_date = None;
                        seat.assigning_team = None;
                        seat.updated_at = Some(now);
                        created += 1;
                    }
                }
            }
        }
        Ok(created)
    }

    /// `DELETE .../selected_users`: cancel direct seats. The seat stays
    /// listed with `pending_cancellation_date` = the next billing date
    /// ("Sets seats for all users specified to 'pending cancellation'").
    /// A seat granted through a team makes the whole request fail; a login
    /// without a seat (or already pending) counts 0.
    pub fn remove_users(
        &mut self,
        scope: SimScope,
        logins: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.cache.listing = None;
        if scope == SimScope::Enterprise {
            return self.ent_remove_users(logins, now);
        }
        self.check_setting(scope)?;
        self.ensure_cache();
        let logins = dedup_ci(logins);
        let team_assigned: Vec<String> = logins
            .iter()
            .filter_map(|l| self.cache.seats.get(&lower(l)).map(|&i| &self.seats[i]))
            .filter(|s| s.is_active() && s.assigning_team.is_some())
            .map(|s| s.login.clone())
            .collect();
        if !team_assigned.is_empty() {
            return Err(SimError::TeamAssigned {
                logins: team_assigned,
            });
        }
        let mut cancelled = 0;
        let date = self.next_billing_date;
        for l in &logins {
            let key = lower(l);
            self.selected_users.remove(&key);
            if let Some(&i) = self.cache.seats.get(&key) {
                let seat = &mut self.seats[i];
                if seat.is_active() {
                    seat.pending_cancellation_date = Some(date);
                    seat.updated_at = Some(now);
                    cancelled += 1;
                }
            }
        }
        Ok(cancelled)
    }

    fn unknown_teams(&self, kind: TeamKind, slugs: &[String]) -> Vec<String> {
        slugs
            .iter()
            .filter(|s| self.team(kind, s).is_none())
            .cloned()
            .collect()
    }

    /// `POST .../selected_teams` (or `selected_enterprise_teams`): every
    /// effective member gets a seat with `assigning_team` = the team. New and
    /// restored seats count; an active direct seat is kept and now shows the
    /// team (a team grant is what the listing reports when both exist).
    pub fn add_teams(
        &mut self,
        scope: SimScope,
        slugs: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.cache.listing = None;
        if scope == SimScope::Enterprise {
            return self.ent_add_teams(slugs, now);
        }
        let (kind, slugs) = self.team_write(scope, slugs)?;
        let mut created = 0;
        for slug in &slugs {
            let Some(team) = self.team(kind, slug) else {
                continue;
            };
            let team_ref = TeamRef {
                kind,
                slug: team.slug.as_str().into(),
            };
            self.selected_set_mut(kind).insert(lower(slug));
            for m in self.effective_members(kind, slug) {
                match self.cache.seats.get(&lower(&m)).copied() {
                    None => {
                        self.push_seat(&m, Some(team_ref.clone()), now);
                        created += 1;
                    }
                    Some(i) => {
                        let seat = &mut self.seats[i];
                        if !seat.is_active() {
                            seat.pending_cancellation_date = None;
                            seat.assigning_team = Some(team_ref.clone());
                            seat.updated_at = Some(now);
                            created += 1;
                        } else if seat.assigning_team.is_none() {
                            seat.assigning_team = Some(team_ref.clone());
                        }
                    }
                }
            }
        }
        Ok(created)
    }

    /// What every team write checks first, as GitHub does: the seat
    /// management setting, then that every team exists (one unknown team
    /// refuses the whole request). Returns the team kind and the slugs,
    /// de-duplicated ignoring case.
    fn team_write(
        &mut self,
        scope: SimScope,
        slugs: &[String],
    ) -> Result<(TeamKind, Vec<String>), SimError> {
        self.check_setting(scope)?;
        self.ensure_cache();
        let kind = scope.team_kind();
        let slugs = dedup_ci(slugs);
        let unknown = self.unknown_teams(kind, &slugs);
        if !unknown.is_empty() {
            return Err(SimError::UnknownTeams {
                scope: scope.noun(),
                slugs: unknown,
            });
        }
        Ok((kind, slugs))
    }

    /// `DELETE .../selected_teams` (or `selected_enterprise_teams`): the
    /// team's seats go pending cancellation "unless they retain access
    /// through another team" (or a direct grant), in which case
    /// `assigning_team` moves to that grant. A team that grants nothing
    /// counts 0.
    pub fn remove_teams(
        &mut self,
        scope: SimScope,
        slugs: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.cache.listing = None;
        if scope == SimScope::Enterprise {
            return self.ent_remove_teams(slugs, now);
        }
        let (kind, slugs) = self.team_write(scope, slugs)?;
        let mut removed = Vec::new();
        for slug in &slugs {
            if self.selected_set_mut(kind).remove(&lower(slug)) {
                removed.push(TeamRef {
                    kind,
                    slug: slug.as_str().into(),
                });
            }
        }
        if removed.is_empty() {
            return Ok(0);
        }
        let member_sets: Vec<(TeamRef, HashSet<String>)> = self
            .granting_teams()
            .into_iter()
            .map(|(t, ms)| (t, ms.iter().map(|m| lower(m)).collect()))
            .collect();
        let before = self.seats.iter().filter(|s| s.is_active()).count();
        for i in 0..self.seats.len() {
            let seat = &self.seats[i];
            if !seat.is_active() {
                continue;
            }
            let Some(team) = seat.assigning_team.clone() else {
                continue;
            };
            if removed.iter().any(|r| same_team(r, &team)) {
                self.resolve_after_team_loss(i, &team, &member_sets, now);
            }
        }
        let after = self.seats.iter().filter(|s| s.is_active()).count();
        Ok((before - after) as u64)
    }

    /// The seat at `i` lost its grant through `lost`: move it to another
    /// selected team, else to a direct grant, else cancel it.
    fn resolve_after_team_loss(
        &mut self,
        i: usize,
        lost: &TeamRef,
        member_sets: &[(TeamRef, HashSet<String>)],
        now: DateTime<Utc>,
    ) {
        let key = lower(&self.seats[i].login);
        let other = member_sets
            .iter()
            .find(|(t, ms)| !same_team(t, lost) && self.is_selected_team(t) && ms.contains(&key))
            .map(|(t, _)| t.clone());
        let direct = self.selected_users.contains(&key);
        let date = self.next_billing_date;
        let seat = &mut self.seats[i];
        match other {
            Some(t) => seat.assigning_team = Some(t),
            None if direct => seat.assigning_team = None,
            None => {
                seat.pending_cancellation_date = Some(date);
                seat.updated_at = Some(now);
            }
        }
    }

    /// `seat_breakdown` of `GET /orgs/{org}/copilot/billing`, computed from the
    /// seats: the cycle is the month before `next_billing_date`.
    pub fn seat_breakdown(&self) -> SeatBreakdown {
        let cycle_start = self
            .next_billing_date
            .checked_sub_months(Months::new(1))
            .unwrap_or(self.next_billing_date);
        let mut b = SeatBreakdown {
            total: self.seats.len() as u64,
            ..SeatBreakdown::default()
        };
        for s in &self.seats {
            if s.created_at.date_naive() >= cycle_start {
                b.added_this_cycle += 1;
            }
            if !s.is_active() {
                b.pending_cancellation += 1;
            }
            if s.last_activity_at
                .is_some_and(|a| a.date_naive() >= cycle_start)
            {
                b.active_this_cycle += 1;
            }
        }
        b.inactive_this_cycle = b.total - b.active_this_cycle;
        b
    }
}

fn same_team(a: &TeamRef, b: &TeamRef) -> bool {
    a.kind == b.kind && a.slug.eq_ignore_ascii_case(&b.slug)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 10, 12, 0, 0).unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn org() -> SimState {
        let mut st = SimState::new("acme");
        st.next_billing_date = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
        st.members = s(&["Alice", "bob", "carol", "dave", "erin"]);
        st.users = s(&["outsider"]);
        st.teams = vec![
            SimTeam::new("eng", &["alice"]),
            SimTeam::new("eng-sre", &["bob"]).with_parent("eng"),
            SimTeam::new("data", &["carol", "bob"]),
            SimTeam::new("empty", &[]),
        ];
        st.normalize(now());
        st
    }

    #[test]
    fn add_users_counts_new_and_restored_only() {
        let mut st = org();
        assert_eq!(
            st.add_users(SimScope::Org, &s(&["alice", "BOB"]), now()),
            Ok(2)
        );
        assert_eq!(st.seats[0].login, "Alice", "canonical spelling kept");
        assert_eq!(st.add_users(SimScope::Org, &s(&["ALICE"]), now()), Ok(0));
        st.remove_users(SimScope::Org, &s(&["alice"]), now())
            .unwrap();
        assert!(!st.seat("alice").unwrap().is_active());
        assert_eq!(st.add_users(SimScope::Org, &s(&["alice"]), now()), Ok(1));
        assert!(st.seat("alice").unwrap().is_active(), "restored");
        assert_eq!(st.seats.len(), 2, "restore reuses the seat");
    }

    #[test]
    fn add_users_rejects_whole_request_for_non_members() {
        let mut st = org();
        let err = st
            .add_users(SimScope::Org, &s(&["alice", "outsider", "ghost"]), now())
            .unwrap_err();
        assert_eq!(
            err,
            SimError::NotMembers {
                scope: "organization",
                logins: s(&["outsider", "ghost"])
            }
        );
        assert!(st.seats.is_empty(), "nothing applied");
        assert!(err.to_string().contains("outsider, ghost"));
    }

    #[test]
    fn writes_need_assign_selected() {
        let mut st = org();
        st.seat_management_setting = SeatManagementSetting::AssignAll;
        let err = st
            .add_users(SimScope::Org, &s(&["alice"]), now())
            .unwrap_err();
        assert!(matches!(err, SimError::NotAssignSelected { .. }));
        assert!(
            err.to_string()
                .contains("enabled Copilot access for all members"),
            "{err}"
        );
        // The enterprise routes do not depend on the org setting.
        assert_eq!(
            st.add_users(SimScope::Enterprise, &s(&["alice"]), now()),
            Ok(1)
        );
    }

    #[test]
    fn remove_users_marks_pending_and_keeps_listing() {
        let mut st = org();
        st.add_users(SimScope::Org, &s(&["alice", "bob"]), now())
            .unwrap();
        assert_eq!(
            st.remove_users(SimScope::Org, &s(&["alice", "dave"]), now()),
            Ok(1)
        );
        let seat = st.seat("alice").unwrap();
        assert_eq!(
            seat.pending_cancellation_date,
            NaiveDate::from_ymd_opt(2025, 4, 1)
        );
        assert_eq!(st.seats.len(), 2);
        assert_eq!(st.remove_users(SimScope::Org, &s(&["alice"]), now()), Ok(0));
        assert!(!st.selected_users.contains("alice"));
    }

    #[test]
    fn remove_users_refuses_team_granted_seats() {
        let mut st = org();
        st.add_teams(SimScope::Org, &s(&["data"]), now()).unwrap();
        st.add_users(SimScope::Org, &s(&["alice"]), now()).unwrap();
        let err = st
            .remove_users(SimScope::Org, &s(&["alice", "carol"]), now())
            .unwrap_err();
        assert_eq!(
            err,
            SimError::TeamAssigned {
                logins: s(&["carol"])
            }
        );
        assert!(st.seat("alice").unwrap().is_active(), "nothing applied");
    }

    #[test]
    fn team_add_includes_child_teams_and_restores() {
        let mut st = org();
        assert_eq!(st.add_teams(SimScope::Org, &s(&["ENG"]), now()), Ok(2));
        let bob = st.seat("bob").unwrap();
        assert_eq!(
            bob.assigning_team,
            Some(TeamRef {
                kind: TeamKind::Org,
                slug: "eng".into()
            })
        );
        assert_eq!(st.add_teams(SimScope::Org, &s(&["eng"]), now()), Ok(0));
        assert_eq!(st.add_teams(SimScope::Org, &s(&["empty"]), now()), Ok(0));
        let err = st
            .add_teams(SimScope::Org, &s(&["nope"]), now())
            .unwrap_err();
        assert!(matches!(err, SimError::UnknownTeams { .. }));
    }

    #[test]
    fn team_removal_keeps_seats_with_other_grants() {
        let mut st = org();
        st.add_users(SimScope::Org, &s(&["alice"]), now()).unwrap();
        st.add_teams(SimScope::Org, &s(&["eng", "data"]), now())
            .unwrap();
        // alice: direct + eng; bob: eng (via child) + data; carol: data.
        assert_eq!(st.remove_teams(SimScope::Org, &s(&["eng"]), now()), Ok(0));
        assert_eq!(st.seat("alice").unwrap().assigning_team, None);
        assert_eq!(
            st.seat("bob")
                .unwrap()
                .assigning_team
                .as_ref()
                .unwrap()
                .slug,
            "data".into()
        );
        assert_eq!(st.remove_teams(SimScope::Org, &s(&["data"]), now()), Ok(2));
        assert!(!st.seat("bob").unwrap().is_active());
        assert!(!st.seat("carol").unwrap().is_active());
        assert!(st.seat("alice").unwrap().is_active());
        // Removing a team that grants nothing counts 0.
        assert_eq!(st.remove_teams(SimScope::Org, &s(&["data"]), now()), Ok(0));
    }

    #[test]
    fn normalize_derives_team_seats_for_new_members() {
        let mut st = org();
        st.add_teams(SimScope::Org, &s(&["data"]), now()).unwrap();
        st.teams[2].members.push("dave".into());
        st.teams[2].members.retain(|m| m != "carol");
        st.normalize(now());
        assert!(st.seat("dave").unwrap().is_active());
        assert!(!st.seat("carol").unwrap().is_active(), "left the team");
    }

    #[test]
    fn breakdown_counts_from_seats() {
        let mut st = org();
        st.add_users(SimScope::Org, &s(&["alice", "bob", "carol"]), now())
            .unwrap();
        st.seats[0].last_activity_at = Some(now());
        st.remove_users(SimScope::Org, &s(&["carol"]), now())
            .unwrap();
        let b = st.seat_breakdown();
        assert_eq!(b.total, 3);
        assert_eq!(b.pending_cancellation, 1);
        assert_eq!(b.added_this_cycle, 3);
        assert_eq!(b.active_this_cycle, 1);
        assert_eq!(b.inactive_this_cycle, 2);
    }

    #[test]
    fn billing_cycle_drops_pending() {
        let mut st = org();
        st.add_users(SimScope::Org, &s(&["alice", "bob"]), now())
            .unwrap();
        st.remove_users(SimScope::Org, &s(&["bob"]), now()).unwrap();
        st.advance_billing_cycle();
        assert_eq!(st.seats.len(), 1);
        assert!(st.seat("bob").is_none());
        assert_eq!(
            st.next_billing_date,
            NaiveDate::from_ymd_opt(2025, 5, 1).unwrap()
        );
    }

    #[test]
    fn yaml_round_trip() {
        let mut st = org();
        st.add_teams(SimScope::Org, &s(&["data"]), now()).unwrap();
        let text = serde_saphyr::to_string(&st).unwrap();
        let mut back: SimState = serde_saphyr::from_str(&text).unwrap();
        back.normalize(now());
        assert_eq!(back.seats, st.seats);
        assert_eq!(back.selected_teams, st.selected_teams);
    }

    #[test]
    fn next_month() {
        let d = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        assert_eq!(
            first_of_next_month(d),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
    }
}
