//! One reconcile: read the live seats, look up what the planner needs
//! (members of teams about to be added, eligibility of users about to be
//! added), plan, guard, and apply in DESIGN.md's order, batch by batch.
//!
//! Safety rules enforced here, not left to callers:
//! - nothing is written unless the whole listing was read (the client
//!   returns an error rather than a partial listing);
//! - nothing is written for a guarded plan, in dry-run, or with `suspend`;
//! - writes need `seat_management_setting: assign_selected`;
//! - when any add fails, no removal runs in that reconcile, so nobody who
//!   should keep a seat loses it because its replacement grant failed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use futures::StreamExt;
use serde::Serialize;

use crate::config::{Diagnostic, Pos, Scope};
use crate::github::live::scoped_slug;
use crate::github::{GitHubError, Grant, Membership, SeatApi};
use crate::plan::{Action, Change, Desired, Plan, SeatManagementSetting, TeamKind};
use crate::source::Loaded;

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
    /// Logins per write request (also the unit between stop checks).
    pub batch_size: usize,
    /// Concurrent look-ups (membership, team members).
    pub concurrency: usize,
    /// Set to stop between batches (graceful shutdown).
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Plan,
            today: None,
            check_eligibility: true,
            batch_size: 100,
            concurrency: 8,
            stop: None,
        }
    }
}

/// Why a login was found ineligible, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ineligible {
    /// The login as written.
    pub login: String,
    /// Its position in seats.yaml.
    pub pos: Pos,
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
    /// `ok`, `failed` or `skipped`.
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
    /// A guard tripped; nothing written.
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
}

impl Outcome {
    /// Changes that failed.
    pub fn failed(&self) -> impl Iterator<Item = &ChangeResult> {
        self.results.iter().filter(|r| r.result == "failed")
    }
}

fn stopped(stop: &Option<Arc<AtomicBool>>) -> bool {
    stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
}

/// Run one reconcile of `source` against `api`.
pub async fn reconcile(
    api: &dyn SeatApi,
    source: &Loaded,
    opts: &Options,
) -> crate::Result<Outcome> {
    let file = &source.file;
    let scope = &file.scope;
    let today = opts
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());

    let mut live = api.list_seats(scope).await?;
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
        ineligible = eligibility(api, source, &candidates, opts.concurrency).await?;
        if !ineligible.is_empty() {
            desired.ineligible = ineligible
                .iter()
                .map(|i| (i.login.to_ascii_lowercase(), i.reason.clone()))
                .collect();
            plan = crate::plan::plan(&desired, &live, today);
        }
    }
    let empty_teams = plan.empty_teams.clone();
    let mut outcome = Outcome {
        scope: scope.clone(),
        status: Status::Planned,
        seats_active,
        seats_pending,
        results: Vec::new(),
        ineligible,
        empty_teams,
        plan,
    };
    if outcome.plan.guard.tripped {
        outcome.status = Status::Guarded;
        return Ok(outcome);
    }
    if outcome.plan.is_empty() {
        outcome.status = Status::InSync;
        return Ok(outcome);
    }
    if opts.mode == Mode::Plan || file.policy.suspend {
        return Ok(outcome);
    }
    apply(api, source, opts, &mut outcome).await?;
    Ok(outcome)
}

/// Apply `outcome.plan` in DESIGN.md's order, recording each change.
async fn apply(
    api: &dyn SeatApi,
    source: &Loaded,
    opts: &Options,
    outcome: &mut Outcome,
) -> crate::Result<()> {
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
                record(outcome, &scope, sha, c, "skipped", Some(why.clone()));
            }
            continue;
        }
        for chunk in changes.chunks(batch) {
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
                    record(outcome, &scope, sha, c, "skipped", Some(why.into()));
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
                    for c in chunk {
                        match failed.get(&c.name.to_ascii_lowercase()) {
                            Some(msg) => {
                                if !action.is_removal() {
                                    adds_failed = true;
                                }
                                record(outcome, &scope, sha, c, "failed", Some(msg.clone()));
                            }
                            None => record(outcome, &scope, sha, c, "ok", None),
                        }
                    }
                }
                Err(e) => {
                    if !action.is_removal() {
                        adds_failed = true;
                    }
                    for c in chunk {
                        record(outcome, &scope, sha, c, "failed", Some(e.to_string()));
                    }
                    hard_error = Some(e);
                }
            }
        }
    }
    outcome.status = if was_stopped {
        Status::Stopped
    } else if outcome.failed().next().is_some() {
        Status::PartiallyApplied
    } else {
        Status::Applied
    };
    Ok(())
}

fn record(
    outcome: &mut Outcome,
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
    outcome.results.push(ChangeResult {
        action: c.action,
        name: c.name.clone(),
        reason,
        result,
        message,
    });
}

/// A team in seats.yaml that GitHub does not know, at its line.
fn missing_team(t: &crate::config::TeamEntry, scope: &Scope) -> Diagnostic {
    Diagnostic {
        pos: t.pos,
        len: t.slug.chars().count() as u32,
        message: format!("team `{}` does not exist in {scope}", t.slug),
        help: Some(
            "use the team's slug as shown in its URL (github.com/orgs/ORG/teams/SLUG)".into(),
        ),
    }
}

/// A team's member logins, or `None` when the team does not exist.
type TeamLookup = Option<Vec<String>>;

/// Members of each team, read once each, concurrently (bounded).
async fn fetch_teams(
    api: &dyn SeatApi,
    scope: &Scope,
    slugs: Vec<String>,
    concurrency: usize,
) -> Result<BTreeMap<String, TeamLookup>, GitHubError> {
    let results: Vec<(String, Result<TeamLookup, GitHubError>)> = futures::stream::iter(
        // Owned names: a future borrowing the iterator's items is not `Send`
        // for every lifetime, which tokio::spawn (the controller) needs.
        slugs.into_iter().map(|s| async move {
            let r = api.team_members(scope, &s).await;
            (s, r)
        }),
    )
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    let mut out = BTreeMap::new();
    for (slug, r) in results {
        out.insert(slug, r?);
    }
    Ok(out)
}

/// Check `logins` (as written in seats.yaml): each must exist, be a member
/// of the org, and, when `policy.eligible_teams` is set, belong to one of
/// those teams. Each eligible team's member list is read once.
pub async fn eligibility(
    api: &dyn SeatApi,
    source: &Loaded,
    logins: &[String],
    concurrency: usize,
) -> crate::Result<Vec<Ineligible>> {
    let file = &source.file;
    let scope = &file.scope;
    let mut out = Vec::new();
    let pos_of = |login: &str| file.user(login).map(|u| u.pos).unwrap_or_default();

    let eligible = &file.policy.eligible_teams;
    let mut eligible_members: Option<BTreeSet<String>> = None;
    if !eligible.is_empty() && !logins.is_empty() {
        let slugs: Vec<String> = eligible.iter().map(|t| scoped_slug(scope, t)).collect();
        let teams = fetch_teams(api, scope, slugs.clone(), concurrency).await?;
        let mut all = BTreeSet::new();
        let mut missing = Vec::new();
        for slug in &slugs {
            match teams.get(slug) {
                Some(Some(m)) => all.extend(m.iter().map(|l| l.to_ascii_lowercase())),
                _ => missing.push(slug.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(GitHubError::Config(format!(
                "{}: policy.eligible_teams names team(s) that do not exist in {scope}: {}",
                source.path,
                missing.join(", ")
            ))
            .into());
        }
        eligible_members = Some(all);
    }

    let org = match scope {
        Scope::Org(o) => Some(o.as_str()),
        Scope::Enterprise(_) => None,
    };
    let checks: Vec<(String, Result<Option<String>, GitHubError>)> =
        futures::stream::iter(logins.iter().cloned().map(|login| async move {
            let verdict = async {
                let login = login.as_str();
                if let Some(org) = org {
                    match api.membership(org, login).await? {
                        Membership::Member => return Ok(None),
                        Membership::RequesterNotMember => {
                            return Err(GitHubError::Config(format!(
                                "GitHub answered 302 to the membership check of {login}: the token's user is not a member of {org}, so GitHub will not say who is; use a token of an org member (or a GitHub App installed on {org})"
                            )));
                        }
                        Membership::NotMember => {}
                    }
                }
                Ok(Some(if api.user_exists(login).await? {
                    match org {
                        Some(org) => format!("not a member of {org}"),
                        None => return Ok(None),
                    }
                } else {
                    "no GitHub user has this login".to_string()
                }))
            }
            .await;
            (login.clone(), verdict)
        }))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (login, verdict) in checks {
        let reason = match verdict? {
            Some(r) => Some(r),
            None => eligible_members.as_ref().and_then(|m| {
                (!m.contains(&login.to_ascii_lowercase()))
                    .then(|| format!("not in an eligible team ({})", eligible.join(", ")))
            }),
        };
        if let Some(reason) = reason {
            out.push(Ineligible {
                pos: pos_of(&login),
                login,
                reason,
            });
        }
    }
    out.sort_by(|a, b| a.pos.cmp(&b.pos).then(a.login.cmp(&b.login)));
    Ok(out)
}

/// `validate --online`: every listed user exists, is an org member and is in
/// an eligible team; every team (and eligible team) exists. Each problem
/// points at its line in seats.yaml; none means valid.
pub async fn check_online(
    api: &dyn SeatApi,
    source: &Loaded,
    concurrency: usize,
) -> crate::Result<crate::config::ConfigError> {
    let file = &source.file;
    let mut diags = Vec::new();
    let teams = fetch_teams(
        api,
        &file.scope,
        file.teams
            .iter()
            .map(|t| scoped_slug(&file.scope, &t.slug))
            .collect(),
        concurrency,
    )
    .await?;
    for t in &file.teams {
        if !matches!(teams.get(&scoped_slug(&file.scope, &t.slug)), Some(Some(_))) {
            diags.push(missing_team(t, &file.scope));
        }
    }
    let logins: Vec<String> = file.users.iter().map(|u| u.login.clone()).collect();
    for i in eligibility(api, source, &logins, concurrency).await? {
        let len = i.login.chars().count() as u32;
        diags.push(Diagnostic {
            pos: i.pos,
            len,
            message: format!("`{}` is not eligible: {}", i.login, i.reason),
            help: None,
        });
    }
    Ok(crate::config::ConfigError::new(
        &source.path,
        &source.text,
        diags,
    ))
}
