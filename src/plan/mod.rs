//! The pure planner: desired state + live state + today's date -> [`Plan`].
//!
//! No I/O and no async here. Every rule of DESIGN.md "Reconcile semantics"
//! lives in [`plan`]; the reconciler only gathers inputs and applies output.
//! The live side is a list of users, each with the set of grants GitHub
//! lists for them ([`crate::github::live`]).

pub mod budgets;
pub mod cost;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::{Policy, Scope, SeatsFile};
pub use crate::github::live::{
    Grant, GrantSeat, IdleSignal, LiveState, LiveUser, SeatManagementSetting, TeamKind, TeamRef,
};
pub use rules::plan;

/// A desired user, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    /// The login as written in seats.yaml.
    pub login: String,
    /// The last day the seat is wanted.
    pub expires: Option<NaiveDate>,
}

/// The desired state: what seats.yaml asks for, plus eligibility findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The org or enterprise.
    pub scope: Scope,
    /// Users listed in seats.yaml, in file order.
    pub users: Vec<DesiredUser>,
    /// Team slugs listed in seats.yaml, in file order, as the scope names
    /// them (enterprise slugs with their `ent:` prefix).
    pub teams: Vec<String>,
    /// The policy block.
    pub policy: Policy,
    /// The removal and seat caps in force: the file's, bounded by the
    /// operator's flags, with the default when neither sets one.
    pub limits: Limits,
    /// Logins that failed an eligibility check (not a member, not in an
    /// eligible team, no such user): shown with `!` and never added. Keyed by
    /// lowercase login.
    pub ineligible: BTreeMap<String, Finding>,
}

/// Why a desired login cannot be granted: a machine code and prose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What kind of problem.
    pub code: SkipCode,
    /// For a reader, e.g. `not a member of acme`.
    pub message: String,
}

/// The kinds of eligibility problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipCode {
    /// No GitHub user has this login.
    NoSuchUser,
    /// A GitHub user, but not a member of the org.
    NotAMember,
    /// A member, but in none of `policy.eligible_teams`.
    NotInEligibleTeam,
}

impl SkipCode {
    /// The JSON label.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipCode::NoSuchUser => "no_such_user",
            SkipCode::NotAMember => "not_a_member",
            SkipCode::NotInEligibleTeam => "not_in_eligible_team",
        }
    }
}

/// Who set a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitSource {
    /// seats.yaml's `policy`.
    File,
    /// The operator's command-line flag (`--max-removals`, `--max-seats`).
    Flag,
    /// Neither: seatkeeper's default (25 % of current seats for removals).
    Default,
}

/// The default removal cap when neither seats.yaml nor the operator sets
/// one: peribolos' `--maximum-removal-delta` default, 25 %.
pub const DEFAULT_MAX_REMOVALS: crate::config::MaxRemovals =
    crate::config::MaxRemovals::Percent(25.0);

/// The caps in force for one plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Limits {
    /// Removal caps; a plan over any of them is guarded (the stricter wins).
    pub max_removals: Vec<(crate::config::MaxRemovals, LimitSource)>,
    /// The seat cap and who set it (the lower of the file's and the flag's).
    pub max_seats: Option<(u64, LimitSource)>,
}

impl Limits {
    /// The file's caps, and the default removal cap when the file sets none.
    pub fn from_policy(policy: &Policy) -> Limits {
        Limits {
            max_removals: vec![match policy.max_removals {
                Some(m) => (m, LimitSource::File),
                None => (DEFAULT_MAX_REMOVALS, LimitSource::Default),
            }],
            max_seats: policy.max_seats.map(|n| (n, LimitSource::File)),
        }
    }

    /// Bound by the operator's ceilings, which the file cannot raise: both
    /// removal caps apply (the default gives way to a flag); the lower seat cap wins.
    pub fn bounded_by(
        mut self,
        max_removals: Option<crate::config::MaxRemovals>,
        max_seats: Option<u64>,
    ) -> Limits {
        if let Some(m) = max_removals {
            self.max_removals
                .retain(|(_, src)| *src != LimitSource::Default);
            self.max_removals.push((m, LimitSource::Flag));
        }
        if let Some(n) = max_seats {
            self.max_seats = match self.max_seats {
                Some((f, src)) if f <= n => Some((f, src)),
                _ => Some((n, LimitSource::Flag)),
            };
        }
        self
    }
}

/// The totals a plan's guards look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardTotals {
    /// Removals counted against the removal cap.
    pub removals: usize,
    /// What a percentage removal cap is taken of.
    pub cap_base: usize,
    /// Seats held before.
    pub seats_before: usize,
    /// Seats held after.
    pub seats_after: usize,
    /// Seats billed this cycle after.
    pub billed_after: usize,
    /// The plan adds a seat (the seat cap only stops growth).
    pub adds_seats: bool,
    /// seats.yaml lists no user and no team.
    pub empty_file: bool,
}

impl Limits {
    /// The guards that trip on `t`, in the planner's order: the removal
    /// cap (the stricter wins, and `removals: additive` has none), the seat
    /// cap, and an empty file while seats exist. The planner and the
    /// one-login check of self-serve both judge by this, so a request is
    /// refused exactly when the controller's plan would be guarded.
    pub fn guard_reasons(&self, policy: &Policy, t: GuardTotals) -> Vec<GuardReason> {
        let enforce = policy.removals == crate::config::RemovalMode::Enforce;
        let mut reasons = Vec::new();
        if enforce
            && let Some((limit, set_by)) = self
                .max_removals
                .iter()
                .find(|(limit, _)| limit.exceeded(t.removals, t.seats_before.max(t.cap_base)))
        {
            reasons.push(GuardReason::MaxRemovals {
                removals: t.removals,
                limit: limit.to_string(),
                set_by: *set_by,
            });
        }
        if let Some((max, set_by)) = self.max_seats
            && t.adds_seats
            && t.billed_after as u64 > max
        {
            reasons.push(GuardReason::MaxSeats {
                seats_after: t.seats_after,
                billed_after: t.billed_after,
                max_seats: max,
                set_by,
            });
        }
        if enforce && t.empty_file && t.seats_before > 0 && !policy.allow_empty {
            reasons.push(GuardReason::EmptyDesired {
                seats_before: t.seats_before,
            });
        }
        reasons
    }
}

impl Desired {
    /// The planner's view of a seats.yaml (no eligibility findings yet).
    pub fn from_file(file: &SeatsFile) -> Desired {
        Desired {
            scope: file.scope.clone(),
            users: file
                .users
                .iter()
                .map(|u| DesiredUser {
                    login: u.login.clone(),
                    expires: u.expires,
                })
                .collect(),
            teams: file
                .teams
                .iter()
                .map(|t| crate::github::live::scoped_slug(&file.scope, &t.slug))
                .collect(),
            limits: Limits::from_policy(&file.policy),
            policy: file.policy.clone(),
            ineligible: BTreeMap::new(),
        }
    }

    /// The enterprise team whose membership stands for a seat
    /// (`policy.assign_via_team`), canonical.
    pub fn assign_via_team(&self) -> Option<String> {
        match &self.scope {
            Scope::Enterprise(_) => self
                .policy
                .assign_via_team
                .as_deref()
                .map(crate::github::live::enterprise_slug),
            Scope::Org(_) => None,
        }
    }
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `POST selected_teams`.
    AddTeam,
    /// `POST selected_users` (or, with `assign_via_team`, add to that team).
    AddUser,
    /// `DELETE selected_teams`.
    RemoveTeam,
    /// `DELETE selected_users` (or, with `assign_via_team`, remove from that team).
    RemoveUser,
}

impl Action {
    /// The JSON / metric label of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AddTeam => "add_team",
            Action::AddUser => "add_user",
            Action::RemoveTeam => "remove_team",
            Action::RemoveUser => "remove_user",
        }
    }

    /// True for the two removal actions.
    pub fn is_removal(self) -> bool {
        matches!(self, Action::RemoveTeam | Action::RemoveUser)
    }
}

/// Why a change is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Desired and holding no seat.
    New,
    /// Desired and the seat is pending cancellation: POST restores it.
    Restore,
    /// Desired (or protected) and the only grant is a team being removed.
    TeamRemoved,
    /// Holding a direct seat but not in seats.yaml.
    NotDesired,
    /// Listed in seats.yaml with an `expires` date in the past.
    Expired,
    /// Idle longer than `policy.inactivity.days` with `action: remove`.
    Inactive,
    /// Listed but not eligible (outside `policy.eligible_teams`), with
    /// `policy.remove_ineligible: true`.
    Ineligible,
}

impl Reason {
    /// The JSON label of the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Restore => "restore",
            Reason::TeamRemoved => "team_removed",
            Reason::NotDesired => "not_desired",
            Reason::Expired => "expired",
            Reason::Inactive => "inactive",
            Reason::Ineligible => "ineligible",
        }
    }
}

/// One change in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// A login (user actions) or a team slug (team actions), as written in
    /// seats.yaml for adds and as GitHub spells it for removals.
    pub name: String,
    /// Why.
    pub reason: Reason,
    /// Days since the user was last seen (see `idle_signal`); set for user
    /// removals and restores.
    pub days_idle: Option<i64>,
    /// True when the seat never showed any Copilot activity or sign-in.
    pub never_active: bool,
    /// Which timestamp `days_idle` counts from.
    pub idle_signal: Option<IdleSignal>,
    /// For restores: the cancellation date the add undoes.
    pub pending_cancellation_date: Option<NaiveDate>,
    /// For team changes: how many users the team grants a seat now
    /// (removals) or will grant (adds, when its members are known).
    pub seats: Option<usize>,
    /// For team removals: how many of those users lose their seat (the rest
    /// keep it through another grant).
    pub seats_lost: Option<usize>,
    /// For `team_removed` adds: the team whose grant is going away.
    pub via_team: Option<String>,
    /// For `expired` removals: the `expires` date from seats.yaml.
    pub expires: Option<NaiveDate>,
    /// For user removals: the grants that keep the user's seat after the
    /// plan (`team ent:platform`, `org acme`); empty when the seat is lost.
    pub keeps_via: Vec<String>,
}

impl Change {
    /// A change with only its action, name and reason set.
    pub fn new(action: Action, name: &str, reason: Reason) -> Change {
        Change {
            action,
            name: name.to_string(),
            reason,
            days_idle: None,
            never_active: false,
            idle_signal: None,
            pending_cancellation_date: None,
            seats: None,
            seats_lost: None,
            via_team: None,
            expires: None,
            keeps_via: Vec::new(),
        }
    }

    /// True for a user removal that takes a seat away (no other grant keeps it).
    pub fn loses_seat(&self) -> bool {
        self.action == Action::RemoveUser && self.keeps_via.is_empty()
    }
}

/// An idle seat found by the inactivity policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inactive {
    /// The seat holder.
    pub login: String,
    /// Days since the user was last seen.
    pub days_idle: i64,
    /// True when the seat never showed any Copilot activity or sign-in.
    pub never_active: bool,
    /// Which timestamp `days_idle` counts from.
    pub signal: IdleSignal,
}

/// A desired login that is not added, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The login as written in seats.yaml.
    pub login: String,
    /// What kind of problem.
    pub code: SkipCode,
    /// Why it is skipped, for a reader.
    pub reason: String,
}

/// A removal the typo guard holds back: seats.yaml lists a login GitHub does
/// not know (or that is not a member) that is close to the login whose seat
/// would go, so the removal is probably the typo's doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRemoval {
    /// The seat holder whose removal is held, as GitHub spells it.
    pub login: String,
    /// The login seats.yaml lists instead, as written.
    pub listed: String,
    /// What GitHub says of the listed login.
    pub code: SkipCode,
}

/// A seat holder whose every held grant is outside this file: an
/// organization's grant seen from the enterprise, or an enterprise team seen
/// from an org. Counted as held, never removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOutside {
    /// The login as GitHub spells it.
    pub login: String,
    /// What grants the seat (`org acme`, `team ent:x`).
    pub via: Vec<String>,
}

/// A guard that stopped the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuardReason {
    /// More seats lost than `policy.max_removals` allows.
    MaxRemovals {
        /// Seats the plan would take away.
        removals: usize,
        /// The limit, as written (a count or a percentage).
        limit: String,
        /// Who set it.
        set_by: LimitSource,
    },
    /// The plan adds seats and would end above `policy.max_seats` in what is
    /// billed this cycle (seats pending cancellation are billed until their
    /// `pending_cancellation_date`).
    MaxSeats {
        /// Seats held after apply.
        seats_after: usize,
        /// Seats billed this cycle after apply.
        billed_after: usize,
        /// The cap.
        max_seats: u64,
        /// Who set it.
        set_by: LimitSource,
    },
    /// seats.yaml lists no users and no teams while seats exist.
    EmptyDesired {
        /// Seats that would all be removed.
        seats_before: usize,
    },
}

/// The guard verdict for a plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Guard {
    /// True when the plan must not be applied.
    pub tripped: bool,
    /// Every reason, in a fixed order.
    pub reasons: Vec<GuardReason>,
}

/// A sorted list of logins, stored as one newline-terminated string: a
/// 100,000-seat roster is one allocation, and it is already the input a line
/// diff wants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    text: String,
    len: usize,
}

impl Roster {
    /// The logins, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.text.lines()
    }

    /// Number of logins.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no logins.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One login per line, each followed by `\n`.
    pub fn as_text(&self) -> &str {
        &self.text
    }
}

impl<S: AsRef<str>> FromIterator<S> for Roster {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut r = Roster::default();
        for login in iter {
            r.text.push_str(login.as_ref());
            r.text.push('\n');
            r.len += 1;
        }
        // Growth by doubling leaves up to half the text unused for as long
        // as the plan lives (two rosters of 100,000 logins).
        r.text.shrink_to_fit();
        r
    }
}

/// A computed plan: the value every renderer prints and the applier executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The org or enterprise.
    pub scope: Scope,
    /// Users holding a seat now (through any grant; pending cancellations do
    /// not count).
    pub seats_before: usize,
    /// Users holding a seat after apply (members of added teams counted when known).
    pub seats_after: usize,
    /// Users billed this cycle now: every listed user, pending or not ("a
    /// seat pending cancellation is billed until its pending_cancellation_date").
    pub billed_before: usize,
    /// Users billed this cycle after apply: the listed ones plus new seats.
    pub billed_after: usize,
    /// `policy.max_seats`, for display.
    pub max_seats: Option<u64>,
    /// With `policy.assign_via_team`: the enterprise team whose membership
    /// the user changes write.
    pub assign_via_team: Option<String>,
    /// Changes in apply order: team adds, user adds, team removals, user removals.
    pub changes: Vec<Change>,
    /// Idle seats per the inactivity policy (empty without one).
    pub inactive: Vec<Inactive>,
    /// `policy.inactivity.days`, when an inactivity policy is set.
    pub inactivity_days: Option<u32>,
    /// With `action: remove` before the removal window: the first day idle
    /// seats will be removed (the last `act_before_cycle_end_days` of the
    /// billing cycle).
    pub idle_removal_from: Option<NaiveDate>,
    /// Desired logins that are not added (ineligible).
    pub skipped: Vec<Skipped>,
    /// Desired teams with no members: nothing to add, reported instead.
    pub empty_teams: Vec<String>,
    /// Desired teams whose members are unknown (seat counts exclude them).
    pub unknown_teams: Vec<String>,
    /// Holders whose every held grant is outside this file: never removed,
    /// listed for the reader.
    pub held_outside: Vec<HeldOutside>,
    /// Removals held back by the typo guard (not in `changes`, never
    /// applied); a plan holding any counts as guarded for exit codes and
    /// metrics.
    pub held: Vec<HeldRemoval>,
    /// Seat holders now, sorted case-insensitively, for the roster diff.
    pub roster_before: Roster,
    /// Seat holders after apply, sorted the same way.
    pub roster_after: Roster,
    /// The guard verdict.
    pub guard: Guard,
    /// Set when the seat listing could not be proven whole: `changes` holds
    /// adds only (none when a seat cap is in force) and what is held is here.
    pub partial: Option<PartialListing>,
    /// The cost preview, when the reconciler computed one (the planner
    /// leaves it `None`: prices and usage are not its inputs).
    pub cost: Option<cost::CostPreview>,
    /// The AI-credit budget plan, when seats.yaml manages budgets and the
    /// budgets could be read.
    pub budgets: Option<budgets::BudgetPlan>,
    /// Why budgets were not planned though seats.yaml declares some (the
    /// token may not read budgets): seats are planned anyway.
    pub budgets_unavailable: Option<String>,
}

/// What a plan from an incomplete seat listing holds back. Adds are
/// idempotent (GitHub answers `seats_created: 0` for a login that already
/// holds a seat), so they go out from the pages read; a removal, the removal
/// cap and the seat cap all need the whole listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialListing {
    /// The check that failed: why the listing is not proven whole.
    pub reason: String,
    /// Removals planned from the pages read, held (more may sit on the
    /// pages not read).
    pub held_removals: Vec<Change>,
    /// Adds held too: a seat cap is in force and cannot be checked.
    pub held_adds: Vec<Change>,
    /// That seat cap.
    pub max_seats: Option<u64>,
}

impl Plan {
    /// True when there is nothing to change (seats or budgets).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.budget_changes().is_empty()
    }

    /// True when a guard tripped, the typo guard holds a removal, or the
    /// listing was incomplete (adds only): the plan must not be taken as done.
    pub fn is_guarded(&self) -> bool {
        self.guard.tripped
            || !self.held.is_empty()
            || self.partial.is_some()
            || self.budgets_guarded()
    }

    /// True when a budget guard stops the plan (nothing is written).
    pub fn budgets_guarded(&self) -> bool {
        self.budgets.as_ref().is_some_and(|b| b.is_guarded())
    }

    /// Budget changes, in apply order (none without budgets).
    pub fn budget_changes(&self) -> &[budgets::BudgetChange] {
        self.budgets.as_ref().map_or(&[], |b| &b.changes)
    }

    /// Changes of one action, in plan order.
    pub fn of(&self, action: Action) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.action == action)
    }

    /// Number of user adds that restore a pending seat.
    pub fn restores(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.reason == Reason::Restore)
            .count()
    }
}
