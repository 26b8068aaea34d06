//! One reconcile: read the live seats, look up what the planner needs
//! (members of teams about to be added, eligibility of users about to be
//! added), plan, guard, and apply in DESIGN.md's order, batch by batch.
//!
//! Safety rules enforced here, not left to callers:
//! - nothing but adds is written unless the whole listing was read: from a
//!   listing that cannot be proven whole, every removal and the seat cap
//!   are held (see [`partial`]);
//! - nothing is written for a guarded plan, in dry-run, or with `suspend`;
//! - writes need `seat_management_setting: assign_selected`;
//! - when any add fails, no removal runs in that reconcile, so nobody who
//!   should keep a seat loses it because its replacement grant failed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use serde::Serialize;

mod budgets;
pub mod cost;
mod eligibility;
pub mod partial;

pub use budgets::BudgetResult;

pub use eligibility::{check_online, eligibility, outside_eligible_teams};

use crate::config::{Pos, Scope};
use crate::github::live::scoped_slug;
use crate::github::{GitHubError, Grant, SeatApi};
use crate::plan::{
    Action, Change, Desired, Finding, Plan, SeatManagementSetting, SkipCode, TeamKind,
};
use crate::source::Loaded;
use eligibility::{fetch_teams, missing_team};

/// How far a reconcile goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Compute and return the plan; never write.
    Plan,
    /// Apply the plan (unless guarded or suspended).
    Apply,
}

/// Options of one reconcile.
#[derive(Debug, Clone)]
pub struct Options {
    /// Plan only, or apply.
    pub mode: Mode,
    /// The date to plan for (expiry, idle days); today in UTC when `None`.
    pub today: Option<NaiveDate>,
    /// Check that users about to be added exist, are org members and are in
    /// an eligible team; ineligible ones are skipped.
    pub check_eligibility: bool,
    /// With `check_eligibility`: also report listed logins that are not being
    /// added (they hold or keep a seat) but are in none of
    /// `policy.eligible_teams`, in [`Outcome::ineligible`]. Nothing is planned
    /// for them: their seats stay (`plan --strict` fails on them).
    pub report_listed_ineligible: bool,
    /// Logins per write request (also the unit between stop checks).
    pub batch_size: usize,
    /// Concurrent look-ups (membership, team members).
    pub concurrency: usize,
    /// Set to stop between batches (graceful shutdown).
    pub stop: Option<Arc<AtomicBool>>,
    /// What the operator allows, whatever seats.yaml says.
    pub bounds: Bounds,
    /// Where progress of long steps goes.
    pub progress: crate::progress::Reporter,
    /// Told of each change as its batch is answered: the record a killed
    /// apply leaves behind.
    pub on_change: ChangeHook,
    /// Also compute [`Outcome::inputs_digest`] (for saved plans).
    pub digest: bool,
    /// Seat prices for the plan's cost preview.
    pub seat_prices: crate::plan::cost::SeatPrices,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Plan,
            today: None,
            check_eligibility: true,
            report_listed_ineligible: false,
            batch_size: 100,
            concurrency: 8,
            stop: None,
            bounds: Bounds::default(),
            progress: crate::progress::Reporter::default(),
            on_change: ChangeHook::default(),
            digest: false,
            seat_prices: crate::plan::cost::SeatPrices::default(),
        }
    }
}

/// The operator's bounds on what a seats.yaml may do: the scopes it may
/// name and ceilings its policy cannot raise (`--allowed-org`,
/// `--allowed-enterprise`, `--max-removals`, `--max-seats`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bounds {
    /// Organizations a file may name; empty: any.
    pub allowed_orgs: Vec<String>,
    /// Enterprises a file may name; empty: any.
    pub allowed_enterprises: Vec<String>,
    /// A removal cap over the file's (both apply).
    pub max_removals: Option<crate::config::MaxRemovals>,
    /// A seat cap over the file's (the lower wins).
    pub max_seats: Option<u64>,
    /// Ceilings on declared budgets (`--max-user-budget`,
    /// `--max-budget-total`).
    pub budgets: crate::plan::budgets::BudgetBounds,
    /// Teams whose membership a file may manage with
    /// `policy.assign_via_team`; empty: none. The file is written by the
    /// people who want seats, and a team's membership can carry far more
    /// than a Copilot seat (repository access, code ownership, on-call).
    pub allowed_assign_teams: Vec<String>,
}

impl Bounds {
    /// Refuse a file whose scope, or whose `policy.assign_via_team`, the
    /// operator did not allow ([`Bounds::check`], and a team only when
    /// `--allowed-assign-team` names it).
    pub fn check_file(&self, file: &crate::config::SeatsFile) -> crate::Result<()> {
        self.check(&file.scope)?;
        let Some(team) = &file.policy.assign_via_team else {
            return Ok(());
        };
        let same = |a: &String| {
            crate::github::live::scoped_slug(&file.scope, a)
                .eq_ignore_ascii_case(&crate::github::live::scoped_slug(&file.scope, team))
        };
        if self.allowed_assign_teams.iter().any(same) {
            return Ok(());
        }
        Err(crate::Error::AssignTeamNotAllowed {
            team: team.clone(),
            allowed: if self.allowed_assign_teams.is_empty() {
                "none".to_string()
            } else {
                self.allowed_assign_teams
                    .iter()
                    .map(|t| format!("--allowed-assign-team {t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
    }

    /// Refuse a scope the operator did not allow. With neither list given,
    /// every scope is allowed.
    pub fn check(&self, scope: &Scope) -> crate::Result<()> {
        if self.allowed_orgs.is_empty() && self.allowed_enterprises.is_empty() {
            return Ok(());
        }
        let allowed = match scope {
            Scope::Org(o) => self.allowed_orgs.iter().any(|a| a.eq_ignore_ascii_case(o)),
            Scope::Enterprise(e) => self
                .allowed_enterprises
                .iter()
                .any(|a| a.eq_ignore_ascii_case(e)),
        };
        if allowed {
            return Ok(());
        }
        let list = |flag: &str, v: &[String]| {
            v.iter()
                .map(|x| format!("{flag} {x}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut may: Vec<String> = Vec::new();
        if !self.allowed_orgs.is_empty() {
            may.push(list("--allowed-org", &self.allowed_orgs));
        }
        if !self.allowed_enterprises.is_empty() {
            may.push(list("--allowed-enterprise", &self.allowed_enterprises));
        }
        Err(crate::Error::ScopeNotAllowed {
            scope: match scope {
                Scope::Org(o) => format!("org `{o}`"),
                Scope::Enterprise(e) => format!("enterprise `{e}`"),
            },
            allowed: may.join("; "),
        })
    }
}

/// The operator's bounds as command-line flags (plan, apply, run).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BoundsArgs {
    /// Refuse a seats.yaml that names any other organization (repeatable).
    #[arg(
        long = "allowed-org",
        value_name = "ORG",
        help_heading = "Operator bounds"
    )]
    pub allowed_org: Vec<String>,
    /// Refuse a seats.yaml that names any other enterprise (repeatable).
    #[arg(
        long = "allowed-enterprise",
        value_name = "NAME",
        help_heading = "Operator bounds"
    )]
    pub allowed_enterprise: Vec<String>,
    /// A removal cap seats.yaml cannot raise: a count or a percentage of current seats ("10%"); without it or policy.max_removals, 25%.
    #[arg(long, value_name = "N|PCT%", help_heading = "Operator bounds")]
    pub max_removals: Option<crate::config::MaxRemovals>,
    /// A seat cap (seats billed this cycle) seats.yaml cannot raise.
    #[arg(long, value_name = "N", help_heading = "Operator bounds")]
    pub max_seats: Option<u64>,
    /// A team whose membership seats.yaml may manage with policy.assign_via_team (repeatable); without it the file may manage none.
    #[arg(
        long = "allowed-assign-team",
        value_name = "SLUG",
        help_heading = "Operator bounds"
    )]
    pub allowed_assign_team: Vec<String>,
    /// A ceiling, in whole US dollars a month, on any one AI-credit budget seats.yaml declares (budgets.default included).
    #[arg(long, value_name = "DOLLARS", help_heading = "Operator bounds")]
    pub max_user_budget: Option<u64>,
    /// A ceiling, in whole US dollars a month, on the declared budgets' total (each listed user's budget, else budgets.default).
    #[arg(long, value_name = "DOLLARS", help_heading = "Operator bounds")]
    pub max_budget_total: Option<u64>,
}

impl BoundsArgs {
    /// The bounds a reconcile enforces.
    pub fn bounds(&self) -> Bounds {
        Bounds {
            allowed_orgs: self.allowed_org.clone(),
            allowed_enterprises: self.allowed_enterprise.clone(),
            max_removals: self.max_removals,
            max_seats: self.max_seats,
            allowed_assign_teams: self.allowed_assign_team.clone(),
            budgets: crate::plan::budgets::BudgetBounds {
                max_user_budget: self.max_user_budget,
                max_budget_total: self.max_budget_total,
            },
        }
    }
}

/// A callback for each change result, as it lands: seat changes and, after
/// them, budget changes (each has its own callback; see
/// [`ChangeHook::on_budget`]).
#[derive(Clone, Default)]
pub struct ChangeHook {
    seat: Option<Arc<ChangeFn>>,
    budget: Option<Arc<BudgetFn>>,
}

/// What a [`ChangeHook`] calls for a seat change.
type ChangeFn = dyn Fn(&ChangeResult) + Send + Sync;
/// What a [`ChangeHook`] calls for a budget change.
type BudgetFn = dyn Fn(&BudgetResult) + Send + Sync;

impl ChangeHook {
    /// Call `f` for each seat change result.
    pub fn new(f: impl Fn(&ChangeResult) + Send + Sync + 'static) -> ChangeHook {
        ChangeHook {
            seat: Some(Arc::new(f)),
            budget: None,
        }
    }

    /// Also call `f` for each budget change result (`add_budget`,
    /// `update_budget`, `remove_budget`), as each write is answered or
    /// skipped: the same record, and the same moment, as a seat change.
    #[must_use]
    pub fn on_budget(mut self, f: impl Fn(&BudgetResult) + Send + Sync + 'static) -> ChangeHook {
        self.budget = Some(Arc::new(f));
        self
    }

    fn call(&self, r: &ChangeResult) {
        if let Some(f) = &self.seat {
            f(r);
        }
    }

    pub(crate) fn call_budget(&self, r: &BudgetResult) {
        if let Some(f) = &self.budget {
            f(r);
        }
    }
}

impl std::fmt::Debug for ChangeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.seat.is_some(), self.budget.is_some()) {
            (false, false) => "ChangeHook(off)",
            (true, false) => "ChangeHook(seats)",
            (false, true) => "ChangeHook(budgets)",
            (true, true) => "ChangeHook(seats, budgets)",
        })
    }
}

/// Why a login was found ineligible, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ineligible {
    /// The login as written.
    pub login: String,
    /// Its position in seats.yaml.
    pub pos: Pos,
    /// What kind of problem.
    pub code: SkipCode,
    /// Why (e.g. `not a member of acme`).
    pub reason: String,
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeResult {
    /// The change.
    pub action: Action,
    /// Login or team slug.
    pub name: String,
    /// The plan's reason label.
    pub reason: &'static str,
    /// `ok`, `failed`, `skipped`, or `pending` (GitHub accepted it for
    /// later: `202`).
    pub result: &'static str,
    /// GitHub's message, or why it was skipped.
    pub message: Option<String>,
}

/// How a reconcile ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing to change.
    InSync,
    /// Plan computed, nothing written (plan mode, dry-run or suspend).
    Planned,
    /// Every change applied.
    Applied,
    /// Some changes failed (see the results).
    PartiallyApplied,
    /// A guard tripped (nothing written), or the typo guard held a removal
    /// (the rest applied).
    Guarded,
    /// Stopped between batches by shutdown.
    Stopped,
}

impl Status {
    /// The `result` label of `seatkeeper_reconcile_total`.
    pub fn metric_result(self) -> &'static str {
        match self {
            Status::InSync | Status::Planned | Status::Applied | Status::Stopped => "success",
            Status::PartiallyApplied => "error",
            Status::Guarded => "guarded",
        }
    }
}

/// The result of one reconcile.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The org or enterprise.
    pub scope: Scope,
    /// The plan.
    pub plan: Plan,
    /// How it ended.
    pub status: Status,
    /// Held seats and seats pending cancellation in the listing.
    pub seats_active: usize,
    /// Seats pending cancellation in the listing.
    pub seats_pending: usize,
    /// One entry per change that was attempted or skipped (apply mode).
    pub results: Vec<ChangeResult>,
    /// Users skipped as ineligible.
    pub ineligible: Vec<Ineligible>,
    /// Desired teams GitHub reports without members.
    pub empty_teams: Vec<String>,
    /// With [`Options::digest`]: SHA-256 of what the plan was computed from
    /// (seats.yaml's bytes, the live listing, the date), hex.
    pub inputs_digest: Option<String>,
    /// One entry per budget change attempted or skipped (apply mode).
    pub budget_results: Vec<BudgetResult>,
}

impl Outcome {
    /// Changes that failed.
    pub fn failed(&self) -> impl Iterator<Item = &ChangeResult> {
        self.results.iter().filter(|r| r.result == "failed")
    }

    /// Budget changes that failed.
    pub fn budgets_failed(&self) -> impl Iterator<Item = &BudgetResult> {
        self.budget_results.iter().filter(|r| r.result == "failed")
    }

    /// The `result` label of `seatkeeper_reconcile_total`: a plan whose
    /// typo guard held a removal counts as guarded even when the rest applied.
    pub fn metric_result(&self) -> &'static str {
        match self.status {
            Status::PartiallyApplied => "error",
            _ if self.plan.is_guarded() => "guarded",
            s => s.metric_result(),
        }
    }
}

fn stopped(stop: &Option<Arc<AtomicBool>>) -> bool {
    stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
}

/// Run one reconcile of `source` against `api`: [`prepare`], then, in
/// apply mode and unless guarded, suspended or in sync, [`apply`].
pub async fn reconcile(
    api: &dyn SeatApi,
    source: &Loaded,
    opts: &Options,
) -> crate::Result<Outcome> {
    let mut outcome = prepare(api, source, opts).await?;
    if opts.mode == Mode::Apply && outcome.status == Status::Planned && !source.file.policy.suspend
    {
        apply(api, source, opts, &mut outcome).await?;
    }
    Ok(outcome)
}

/// Read the live state and plan: the outcome is `InSync`, `Guarded` or
/// `Planned`, and nothing is written.
pub async fn prepare(api: &dyn SeatApi, source: &Loaded, opts: &Options) -> crate::Result<Outcome> {
    let file = &source.file;
    let scope = &file.scope;
    opts.bounds.check_file(file)?;
    let today = opts
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());

    let (mut live, incomplete) = match api.list_seats(scope).await {
        Ok(live) => (live, None),
        // The pages read still show who held a seat: adds only (see `partial`).
        Err(GitHubError::IncompleteListing {
            message,
            partial: Some(pages),
            ..
        }) => {
            let mut live = Arc::unwrap_or_clone(pages);
            // The billing details go with the last page, which may not have
            // been read: ask again (enterprise: no request).
            live.seat_management_setting = Some(api.billing(scope).await?.seat_management_setting);
            tracing::warn!(
                scope = %scope,
                check = "listing_whole",
                reason = %message,
                seats_read = live.users.len(),
                "seat listing not proven whole: adds only, every removal and the seat cap held"
            );
            (live, Some(message))
        }
        Err(e) => return Err(e.into()),
    };
    let setting = live
        .seat_management_setting
        .clone()
        .unwrap_or(SeatManagementSetting::AssignSelected);
    if setting != SeatManagementSetting::AssignSelected {
        return Err(GitHubError::NotAssignSelected {
            scope: scope.to_string(),
            setting: setting.as_str().to_string(),
        }
        .into());
    }
    let seats_active = live.held();
    let seats_pending = live.pending();

    let mut desired = Desired::from_file(file);
    desired.limits = desired
        .limits
        .bounded_by(opts.bounds.max_removals, opts.bounds.max_seats);
    // Members of desired teams that grant nothing yet: needed to count seats,
    // to spot empty teams, and to tell a missing team from a new one.
    let kind = match scope {
        Scope::Org(_) => TeamKind::Org,
        Scope::Enterprise(_) => TeamKind::Enterprise,
    };
    let granting: BTreeSet<String> = live
        .users
        .iter()
        .flat_map(|u| &u.grants)
        .filter(|g| g.held())
        .filter_map(|g| match &g.grant {
            Grant::Team(t) if t.kind == kind => Some(t.slug.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let lookups: Vec<(&crate::config::TeamEntry, String)> = file
        .teams
        .iter()
        .map(|t| (t, scoped_slug(scope, &t.slug)))
        .filter(|(_, slug)| !granting.contains(&slug.to_ascii_lowercase()))
        .collect();
    let via = desired.assign_via_team();
    let mut slugs: Vec<String> = lookups.iter().map(|(_, s)| s.clone()).collect();
    slugs.extend(via.clone());
    let mut found = fetch_teams(api, scope, slugs, opts.concurrency).await?;
    let mut missing = Vec::new();
    for (t, slug) in &lookups {
        match found.get(slug) {
            Some(Some(members)) => {
                live.team_members.insert(slug.clone(), members.clone());
            }
            _ => missing.push(missing_team(t, scope)),
        }
    }
    if !missing.is_empty() {
        return Err(crate::config::ConfigError::new(&source.path, &source.text, missing).into());
    }
    if let Some(via) = &via {
        // The assigning team's membership stands for the direct grants: read
        // it whole (a failed page is an error, never a partial list).
        // A team fed by an identity provider takes its members from the IdP
        // (SCIM, and a daily reconciliation): every membership written here
        // would be undone.
        if let Some(group) = api.idp_group(scope, via).await? {
            return Err(GitHubError::Config(idp_team_message(&source.path, via, &group)).into());
        }
        match found.remove(via) {
            Some(Some(members)) => live.assignment_members = Some(members),
            _ => {
                return Err(GitHubError::Config(format!(
                    "{}: policy.assign_via_team names `{via}`, which is not an enterprise team of {scope}: create it (enterprise settings, Teams) or fix the slug",
                    source.path
                ))
                .into());
            }
        }
    }

    let mut plan = crate::plan::plan(&desired, &live, today);
    let mut ineligible = Vec::new();
    if opts.check_eligibility {
        let candidates: Vec<String> = plan.of(Action::AddUser).map(|c| c.name.clone()).collect();
        ineligible = eligibility(api, source, &candidates, seats_active, opts).await?;
        // `policy.remove_ineligible`: listed seat holders outside
        // `eligible_teams` are ineligible to the planner too, which then
        // plans their removal (counted toward the removal cap).
        let listed = if file.policy.remove_ineligible {
            eligibility::listed_outside_eligible_teams(api, source, &candidates, opts).await?
        } else {
            Vec::new()
        };
        let removing = listed.iter().map(|i| Ineligible {
            reason: eligibility::REMOVED_INELIGIBLE.to_string(),
            ..i.clone()
        });
        ineligible.extend(removing);
        if !ineligible.is_empty() {
            desired.ineligible = ineligible
                .iter()
                .map(|i| {
                    (
                        i.login.to_ascii_lowercase(),
                        Finding {
                            code: i.code,
                            message: i.reason.clone(),
                        },
                    )
                })
                .collect();
            plan = crate::plan::plan(&desired, &live, today);
        }
        if opts.report_listed_ineligible && !file.policy.remove_ineligible {
            // Reported only: never in `desired.ineligible`, which would plan
            // a removal nobody asked for.
            ineligible.extend(
                eligibility::listed_outside_eligible_teams(api, source, &candidates, opts).await?,
            );
            ineligible.sort_by(|a, b| a.pos.cmp(&b.pos).then(a.login.cmp(&b.login)));
        }
    }
    if let Some(reason) = incomplete {
        plan = partial::adds_only(plan, reason, desired.limits.max_seats.map(|(n, _)| n));
    }
    budgets::plan_into(api, source, &desired, opts, today, &mut plan).await?;
    cost::attach(&mut plan, &live, today, opts.seat_prices);
    let inputs_digest = opts.digest.then(|| digest(source, &live, today));
    let empty_teams = plan.empty_teams.clone();
    let status = if plan.guard.tripped
        || plan.budgets_guarded()
        || (plan.partial.is_some() && plan.is_empty())
    {
        Status::Guarded
    } else if plan.is_empty() {
        Status::InSync
    } else {
        Status::Planned
    };
    Ok(Outcome {
        scope: scope.clone(),
        status,
        seats_active,
        seats_pending,
        results: Vec::new(),
        ineligible,
        empty_teams,
        inputs_digest,
        plan,
        budget_results: Vec::new(),
    })
}

/// Why `policy.assign_via_team` cannot name a team whose membership comes
/// from an identity provider group.
pub fn idp_team_message(path: &str, team: &str, group: &str) -> String {
    format!(
        "{path}: policy.assign_via_team names `{team}`, whose members come from an identity provider group (group_id {group}): the IdP's sync (SCIM, and its daily reconciliation) would undo every membership seatkeeper writes, so seats would come and go; name an enterprise team without an IdP group, or grant the IdP team itself under `teams:`"
    )
}

/// SHA-256 over seats.yaml's bytes, the listing (as JSON) and the date, hex:
/// what a saved plan was computed from.
pub fn digest(source: &Loaded, live: &crate::github::LiveState, today: NaiveDate) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"seats.yaml\0");
    h.update(source.text.as_bytes());
    h.update(b"\0listing\0");
    h.update(serde_json::to_vec(&live.users).unwrap_or_default());
    h.update(b"\0today\0");
    h.update(today.to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Apply `outcome.plan` (from [`prepare`]) in DESIGN.md's order, recording
/// each change as its batch is answered.
pub async fn apply(
    api: &dyn SeatApi,
    source: &Loaded,
    opts: &Options,
    outcome: &mut Outcome,
) -> crate::Result<()> {
    // A tripped guard (seats or budgets) stops the whole plan, whoever calls
    // apply: nothing is written.
    if outcome.plan.guard.tripped || outcome.plan.budgets_guarded() {
        outcome.status = Status::Guarded;
        return Ok(());
    }
    let scope = outcome.scope.clone();
    let sha = source.sha.as_deref().unwrap_or("");
    let batch = opts.batch_size.max(1);
    let mut adds_failed = false;
    let mut hard_error: Option<GitHubError> = None;
    let mut was_stopped = false;
    for action in [
        Action::AddTeam,
        Action::AddUser,
        Action::RemoveTeam,
        Action::RemoveUser,
    ] {
        let changes: Vec<Change> = outcome.plan.of(action).cloned().collect();
        if changes.is_empty() {
            continue;
        }
        let skip_reason = if hard_error.is_some() {
            Some("not attempted: an earlier write failed".to_string())
        } else if was_stopped {
            Some("not attempted: stopped by shutdown".to_string())
        } else if action.is_removal() && adds_failed {
            Some(
                "not attempted: an add failed, so removals wait for the next reconcile".to_string(),
            )
        } else {
            None
        };
        if let Some(why) = skip_reason {
            for c in &changes {
                record(
                    outcome,
                    &opts.on_change,
                    &scope,
                    sha,
                    c,
                    "skipped",
                    Some(why.clone()),
                );
            }
            continue;
        }
        let batches = changes.len().div_ceil(batch);
        for (n, chunk) in changes.chunks(batch).enumerate() {
            opts.progress.report(crate::progress::Progress::Batches {
                done: n,
                total: batches,
            });
            if stopped(&opts.stop) {
                was_stopped = true;
            }
            if was_stopped || hard_error.is_some() {
                let why = if was_stopped {
                    "not attempted: stopped by shutdown"
                } else {
                    "not attempted: an earlier write failed"
                };
                for c in chunk {
                    record(
                        outcome,
                        &opts.on_change,
                        &scope,
                        sha,
                        c,
                        "skipped",
                        Some(why.into()),
                    );
                }
                continue;
            }
            let names: Vec<String> = chunk.iter().map(|c| c.name.clone()).collect();
            let via = outcome.plan.assign_via_team.as_deref();
            let result = match (action, via) {
                (Action::AddTeam, _) => api.add_teams(&scope, &names).await,
                (Action::AddUser, None) => api.add_users(&scope, &names).await,
                (Action::AddUser, Some(team)) => api.add_team_members(&scope, team, &names).await,
                (Action::RemoveTeam, _) => api.remove_teams(&scope, &names).await,
                (Action::RemoveUser, None) => api.remove_users(&scope, &names).await,
                (Action::RemoveUser, Some(team)) => {
                    api.remove_team_members(&scope, team, &names).await
                }
            };
            match result {
                Ok(report) => {
                    let failed: BTreeMap<String, String> = report
                        .failed
                        .into_iter()
                        .map(|(n, m)| (n.to_ascii_lowercase(), m))
                        .collect();
                    let pending: BTreeMap<String, String> = report
                        .pending
                        .into_iter()
                        .map(|(n, m)| (n.to_ascii_lowercase(), m))
                        .collect();
                    for c in chunk {
                        if let Some(msg) = pending.get(&c.name.to_ascii_lowercase()) {
                            // Accepted for later (202): not done, not failed;
                            // the next plan re-plans it if it did not happen.
                            record(
                                outcome,
                                &opts.on_change,
                                &scope,
                                sha,
                                c,
                                "pending",
                                Some(format!(
                                    "accepted, pending: GitHub answered 202 ({msg}); the next reconcile checks it"
                                )),
                            );
                            continue;
                        }
                        match failed.get(&c.name.to_ascii_lowercase()) {
                            Some(msg) => {
                                if !action.is_removal() {
                                    adds_failed = true;
                                }
                                record(
                                    outcome,
                                    &opts.on_change,
                                    &scope,
                                    sha,
                                    c,
                                    "failed",
                                    Some(msg.clone()),
                                );
                            }
                            None => record(outcome, &opts.on_change, &scope, sha, c, "ok", None),
                        }
                    }
                }
                Err(e) => {
                    if !action.is_removal() {
                        adds_failed = true;
                    }
                    for c in chunk {
                        record(
                            outcome,
                            &opts.on_change,
                            &scope,
                            sha,
                            c,
                            "failed",
                            Some(e.to_string()),
                        );
                    }
                    hard_error = Some(e);
                }
            }
        }
    }
    let seats_failed = adds_failed || hard_error.is_some() || outcome.failed().next().is_some();
    if !outcome.plan.budget_changes().is_empty() {
        budgets::apply(api, source, opts, outcome, seats_failed || was_stopped).await;
        was_stopped |= stopped(&opts.stop);
    }
    outcome.status = if was_stopped {
        Status::Stopped
    } else if outcome.failed().next().is_some() || outcome.budgets_failed().next().is_some() {
        Status::PartiallyApplied
    } else {
        Status::Applied
    };
    Ok(())
}

fn record(
    outcome: &mut Outcome,
    hook: &ChangeHook,
    scope: &Scope,
    sha: &str,
    c: &Change,
    result: &'static str,
    message: Option<String>,
) {
    let action = c.action.as_str();
    let reason = c.reason.as_str();
    let msg = message.as_deref().unwrap_or("");
    // The audit trail: one structured event per change.
    match c.action {
        Action::AddTeam | Action::RemoveTeam => tracing::info!(
            event = "seat_change", org = %scope.name(), action, team = %c.name,
            source_sha = sha, result, reason, message = msg
        ),
        Action::AddUser | Action::RemoveUser => tracing::info!(
            event = "seat_change", org = %scope.name(), action, login = %c.name,
            source_sha = sha, result, reason, message = msg
        ),
    }
    let r = ChangeResult {
        action: c.action,
        name: c.name.clone(),
        reason,
        result,
        message,
    };
    hook.call(&r);
    outcome.results.push(r);
}
