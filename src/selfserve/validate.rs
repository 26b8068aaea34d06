//! Validation of an edited seats.yaml for one login, as `plan --strict`
//! would judge that login, from a few per-user reads ([`read_facts`]) and a
//! pure verdict over them ([`judge`]): O(1) requests at any org size.

use chrono::NaiveDate;

use super::{Ask, Kind, Prepared, Refusal, SelfServeError, admit, entry, prepare};
use crate::config::{Scope, SeatsFile, UserEntry, WhenFull};
use crate::github::live::scoped_slug;
use crate::github::{
    GitHubError, LiveState, LiveUser, Membership, SeatApi, SeatManagementSetting, SeatTotals,
};
use crate::plan::{Action, Finding, SkipCode};
use crate::source::Loaded;

/// What validation learnt about the edited file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The plan's one-line summary, e.g. `Plan: 1 to add ... Seats: 21 -> 22 (cap 60).`
    pub summary: String,
    /// True when the controller will change the login's seat (a grant or a
    /// removal), false when GitHub already matches (e.g. granted by a team).
    pub changes_seat: bool,
    /// True when `policy.suspend` keeps the controller from applying it.
    pub suspended: bool,
    /// With `policy.self_serve.when_full: queue`, a request the seat cap
    /// stops (and nothing else): why it must wait. It is then recorded only
    /// as a pull request labelled [`super::WAITING_LABEL`], never merged
    /// while this holds.
    pub waiting_for_room: Option<String>,
}

/// What a one-login validation reads from GitHub: a handful of requests
/// whatever the org's size (the login's seat, the seat totals, its
/// membership and eligible-team checks), never the whole listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFacts {
    /// The login's seat with every grant the scope lists for it; `None`:
    /// no seat.
    pub seat: Option<LiveUser>,
    /// The scope's seat totals.
    pub totals: SeatTotals,
    /// Why the login cannot be granted a seat (requests only; `None`:
    /// eligible, or not checked for a release).
    pub ineligible: Option<Finding>,
    /// With `policy.assign_via_team`: whether the login is a member of that
    /// team (its membership stands for a direct grant).
    pub via_member: Option<bool>,
}

/// Read the [`LoginFacts`] of `ask` from `file` (the file before or after
/// the edit: only its scope and policy are used), concurrently. Requests:
/// the seat, the totals, and for a request the membership (org), the user
/// (when not a member, or in an enterprise) and one per eligible team until
/// one holds the login; with `assign_via_team` one more.
///
/// The whole listing is read only where the answer depends on every seat:
/// the controller's reconcile and `plan` (removals of seats nobody lists,
/// the typo guard), `reclaim` (idle seats), `validate --online`. A one-login
/// change never needs it.
pub async fn read_facts(
    api: &dyn SeatApi,
    file: &SeatsFile,
    ask: &Ask,
) -> Result<LoginFacts, SelfServeError> {
    let scope = &file.scope;
    let login = ask.login.as_str();
    let eligibility = async {
        match ask.kind {
            Kind::Request => eligibility_of(api, file, login).await,
            Kind::Release => Ok(None),
        }
    };
    let via = async {
        let Some(team) = crate::plan::Desired::from_file(file).assign_via_team() else {
            return Ok(None);
        };
        if let Some(group) = api.idp_group(scope, &team).await? {
            return Err(GitHubError::Config(crate::reconcile::idp_team_message(
                "seats.yaml",
                &team,
                &group,
            )));
        }
        match api.in_team(scope, &team, login).await? {
            Some(member) => Ok(Some(member)),
            None => Err(GitHubError::Config(format!(
                "policy.assign_via_team names `{team}`, which is not an enterprise team of {scope}: create it (enterprise settings, Teams) or fix the slug"
            ))),
        }
    };
    let (seat, totals, ineligible, via_member) = tokio::try_join!(
        api.user_seat(scope, login),
        api.seat_totals(scope),
        eligibility,
        via
    )?;
    Ok(LoginFacts {
        seat,
        totals,
        ineligible,
        via_member,
    })
}

/// The eligibility checks of [`crate::reconcile::eligibility`] for one
/// login, with per-user routes: org membership (then, for a non-member,
/// whether the user exists), and membership of `policy.eligible_teams`,
/// stopping at the first team that holds the login.
async fn eligibility_of(
    api: &dyn SeatApi,
    file: &SeatsFile,
    login: &str,
) -> Result<Option<Finding>, GitHubError> {
    let scope = &file.scope;
    let finding = |code, message: String| Ok(Some(Finding { code, message }));
    match scope {
        Scope::Org(org) => match api.membership(org, login).await? {
            Membership::Member => {}
            Membership::RequesterNotMember => {
                return Err(GitHubError::Config(format!(
                    "GitHub answered 302 to the membership check of {login}: the token's user is not a member of {org}, so GitHub will not say who is; use a token of an org member (or a GitHub App installed on {org})"
                )));
            }
            Membership::NotMember => {
                return if api.user_exists(login).await? {
                    finding(SkipCode::NotAMember, format!("not a member of {org}"))
                } else {
                    finding(SkipCode::NoSuchUser, "no GitHub user has this login".into())
                };
            }
        },
        Scope::Enterprise(_) => {
            if !api.user_exists(login).await? {
                return finding(SkipCode::NoSuchUser, "no GitHub user has this login".into());
            }
        }
    }
    let eligible = &file.policy.eligible_teams;
    if eligible.is_empty() {
        return Ok(None);
    }
    let mut missing = Vec::new();
    for team in eligible {
        let slug = scoped_slug(scope, team);
        match api.in_team(scope, &slug, login).await? {
            Some(true) => return Ok(None),
            Some(false) => {}
            None => missing.push(slug),
        }
    }
    if !missing.is_empty() {
        return Err(GitHubError::Config(format!(
            "policy.eligible_teams names team(s) that do not exist in {scope}: {}",
            missing.join(", ")
        )));
    }
    finding(
        SkipCode::NotInEligibleTeam,
        format!("not in an eligible team ({})", eligible.join(", ")),
    )
}

/// Judge the edited file for `ask` from the [`LoginFacts`] alone: pure, no
/// I/O. The verdicts and messages are `plan --strict`'s for that login: the
/// login's own change comes from the planner itself (run on the login's
/// seat), and the guards (the removal cap, the seat cap, an empty file) are
/// checked on the seat totals moved by that change. Other people's drift is
/// not this request's to answer for: the controller's plan handles it.
pub fn judge(edited: &SeatsFile, facts: &LoginFacts, ask: &Ask) -> Result<Checked, SelfServeError> {
    let setting = &facts.totals.seat_management_setting;
    if *setting != SeatManagementSetting::AssignSelected {
        return Err(GitHubError::NotAssignSelected {
            scope: edited.scope.to_string(),
            setting: setting.as_str().to_string(),
        }
        .into());
    }
    let login = ask.login.as_str();
    let is_login = |name: &str| name.eq_ignore_ascii_case(login);
    let mut desired = crate::plan::Desired::from_file(edited);
    desired.limits = desired
        .limits
        .bounded_by(ask.bounds.max_removals, ask.bounds.max_seats);
    desired.users.retain(|u| is_login(&u.login));
    let via = desired.assign_via_team();
    let live = LiveState {
        seat_management_setting: Some(SeatManagementSetting::AssignSelected),
        users: facts.seat.iter().cloned().collect(),
        team_members: Default::default(),
        assignment_members: via.as_ref().map(|_| match facts.via_member {
            Some(true) => vec![login.to_string()],
            _ => Vec::new(),
        }),
    };
    let mut plan = crate::plan::plan(&desired, &live, ask.today);
    // The login's own change; the planner's other changes come from the
    // partial live state (teams it cannot see granting) and are not real.
    plan.changes
        .retain(|c| matches!(c.action, Action::AddUser | Action::RemoveUser) && is_login(&c.name));
    if let (Some(f), true) = (&facts.ineligible, plan.of(Action::AddUser).next().is_some()) {
        let refusal = match f.code {
            SkipCode::NoSuchUser => Refusal::UnknownUser,
            SkipCode::NotAMember => Refusal::NotMember,
            SkipCode::NotInEligibleTeam => Refusal::NotEligible,
        };
        return Err(SelfServeError::refused(
            refusal,
            format!("{login} is not eligible for a Copilot seat: {}", f.message),
        ));
    }
    let held_now = facts.seat.as_ref().is_some_and(LiveUser::held);
    let listed_now = facts.seat.is_some();
    let held_after = plan.roster_after.iter().any(is_login);
    let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let billed_before = to_usize(facts.totals.billed);
    let seats_before = billed_before.saturating_sub(to_usize(facts.totals.pending));
    let seats_after =
        (seats_before + usize::from(held_after)).saturating_sub(usize::from(held_now));
    let billed_after = billed_before + usize::from(held_after && !listed_now);
    let lost = usize::from(held_now && !held_after);
    let adds_seats = held_after && !held_now;

    // The planner's guards, on the totals this change moves.
    let reasons = desired.limits.guard_reasons(
        &edited.policy,
        crate::plan::GuardTotals {
            removals: lost,
            cap_base: 0,
            seats_before,
            seats_after,
            billed_after,
            adds_seats,
            empty_file: edited.users.is_empty() && edited.teams.is_empty(),
        },
    );
    // Only the seat cap may queue a request: a pull request waiting for
    // room is never merged while the cap holds, so the branch the
    // controller reads never carries it. Every other guard refuses.
    let queues = ask.kind == Kind::Request
        && edited.policy.self_serve.when_full == WhenFull::Queue
        && !reasons.is_empty()
        && reasons
            .iter()
            .all(|r| matches!(r, crate::plan::GuardReason::MaxSeats { .. }));
    let mut waiting_for_room = None;
    if !reasons.is_empty() {
        let reasons: Vec<String> = reasons
            .iter()
            .map(|r| {
                format!(
                    "{} ({})",
                    crate::render::guard_message(r, |s| format!("`{s}`")),
                    crate::render::guard_next_step(r)
                )
            })
            .collect();
        if queues {
            waiting_for_room = Some(reasons.join("; "));
        } else {
            let what = match ask.kind {
                Kind::Request => format!("adding {login}"),
                Kind::Release => format!("removing {login}"),
            };
            return Err(SelfServeError::refused(
                Refusal::Guarded,
                format!(
                    "{what} would leave a plan the controller refuses to apply: {}",
                    reasons.join("; ")
                ),
            ));
        }
    }
    plan.seats_before = seats_before;
    plan.seats_after = seats_after;
    plan.billed_before = billed_before;
    plan.billed_after = billed_after;
    Ok(Checked {
        summary: crate::render::summary_line(&plan),
        changes_seat: !plan.changes.is_empty(),
        suspended: edited.policy.suspend,
        waiting_for_room,
    })
}

/// Validate the edited file for `ask` as `plan --strict` would for that
/// login: [`read_facts`], then [`judge`]. `concurrency` is kept for callers;
/// a one-login check sends its few requests at once.
pub async fn check(
    api: &dyn SeatApi,
    edited: &Loaded,
    ask: &Ask,
    concurrency: usize,
) -> Result<Checked, SelfServeError> {
    let _ = concurrency;
    let facts = read_facts(api, &edited.file, ask).await?;
    let mut checked = judge(&edited.file, &facts, ask)?;
    near_the_cap(api, edited, &facts, ask, &mut checked).await?;
    Ok(checked)
}

/// The one-login check sees GitHub's seat totals and this login's change;
/// entries already merged but not yet applied (a request a moment ago, a
/// team just listed) become seats too when the controller applies them.
/// When they could matter (a seat cap in force, and the seats billed after
/// this request plus every listed user could pass it, or the file lists
/// teams), the controller's own plan of the edited file is computed from
/// the whole listing, and its seat-cap verdict is the request's: refused,
/// or queued with `when_full: queue`. Far from the cap nothing more is read.
async fn near_the_cap(
    seats: &dyn SeatApi,
    edited: &Loaded,
    facts: &LoginFacts,
    ask: &Ask,
    checked: &mut Checked,
) -> Result<(), SelfServeError> {
    let limits = crate::plan::Limits::from_policy(&edited.file.policy)
        .bounded_by(ask.bounds.max_removals, ask.bounds.max_seats);
    let Some((cap, _)) = limits.max_seats else {
        return Ok(());
    };
    if ask.kind != Kind::Request || checked.waiting_for_room.is_some() || !checked.changes_seat {
        return Ok(());
    }
    let worst = facts
        .totals
        .billed
        .saturating_add(edited.file.users.len() as u64);
    if worst <= cap && edited.file.teams.is_empty() {
        return Ok(());
    }
    let opts = crate::reconcile::Options {
        today: Some(ask.today),
        bounds: ask.bounds.clone(),
        ..Default::default()
    };
    let outcome = crate::reconcile::prepare(seats, edited, &opts).await?;
    let over: Vec<String> = outcome
        .plan
        .guard
        .reasons
        .iter()
        .filter(|r| matches!(r, crate::plan::GuardReason::MaxSeats { .. }))
        .map(|r| {
            format!(
                "{} ({})",
                crate::render::guard_message(r, |s| format!("`{s}`")),
                crate::render::guard_next_step(r)
            )
        })
        .collect();
    if over.is_empty() {
        return Ok(());
    }
    let why = format!(
        "{} (counting the entries seats.yaml lists that the controller has not applied yet)",
        over.join("; ")
    );
    if edited.file.policy.self_serve.when_full == WhenFull::Queue {
        checked.waiting_for_room = Some(why);
        return Ok(());
    }
    Err(SelfServeError::refused(
        Refusal::Guarded,
        format!(
            "adding {} would leave a plan the controller refuses to apply: {why}",
            ask.login
        ),
    ))
}

/// The outcome of editing and validating one version of seats.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validated {
    /// Nothing to do: [`Prepared::AlreadyListed`] or [`Prepared::NotListed`].
    NoOp(Prepared),
    /// The file changes, and the change is valid.
    Change {
        /// The edited file.
        edited: Box<Loaded>,
        /// Lines the edit touched.
        lines: (u32, u32),
        /// The `expires` written.
        expires: Option<NaiveDate>,
        /// What validation found.
        checked: Checked,
    },
}

/// Edit `text` (read from `path`) for `ask` and validate the result as
/// [`check`] does. The reads validation needs ([`read_facts`]) start as soon
/// as the file is admitted and run while the editor works. A no-op (not
/// listed) sends no request; "already listed" sends one membership check.
pub async fn validate(
    seats: &dyn SeatApi,
    path: &str,
    text: &str,
    ask: &Ask,
    _concurrency: usize,
) -> Result<Validated, SelfServeError> {
    let file = admit(path, text, ask)?;
    if let Some(change) = ask.budget {
        return super::budget::validate(path, text, &file, ask, change);
    }
    if ask.kind == Kind::Request {
        entry(&file, ask)?;
    }
    match (ask.kind, file.user(&ask.login)) {
        (Kind::Request, Some(u)) => {
            listed_entry_gives_a_seat(seats, &file, u, path, ask).await?;
            return Ok(Validated::NoOp(Prepared::AlreadyListed { pos: u.pos }));
        }
        (Kind::Release, None) => return Ok(Validated::NoOp(Prepared::NotListed)),
        _ => {}
    }
    let edit = {
        let (path, text, ask) = (path.to_string(), text.to_string(), ask.clone());
        tokio::task::spawn_blocking(move || prepare(&path, &text, &ask))
    };
    // The reads need only the scope and the policy, which the edit does not
    // change: they run while the editor works.
    let (edit, facts) = tokio::join!(edit, read_facts(seats, &file, ask));
    let prepared = edit.map_err(|e| {
        SelfServeError::from(GitHubError::Config(format!(
            "the seats.yaml editor failed: {e}"
        )))
    })??;
    let (edited, lines, expires) = match prepared {
        Prepared::Change {
            edited,
            lines,
            expires,
        } => (edited, lines, expires),
        other => return Ok(Validated::NoOp(other)),
    };
    let facts = facts?;
    let mut checked = judge(&edited.file, &facts, ask)?;
    near_the_cap(seats, &edited, &facts, ask, &mut checked).await?;
    Ok(Validated::Change {
        edited,
        lines,
        expires,
        checked,
    })
}

/// "Already listed" is the truth only when the entry gives the person a
/// seat: an entry that expired, or a login GitHub will not seat (not a
/// member of the org), leaves them without one, and saying "nothing to do"
/// would leave them waiting forever. One membership check (org scope).
async fn listed_entry_gives_a_seat(
    seats: &dyn SeatApi,
    file: &SeatsFile,
    entry: &UserEntry,
    path: &str,
    ask: &Ask,
) -> Result<(), SelfServeError> {
    let at = format!("{path}:{}:{}", entry.pos.line, entry.pos.col);
    if let Some(d) = entry.expires.filter(|d| *d < ask.today) {
        return Err(SelfServeError::refused(
            Refusal::BadEntry,
            format!(
                "{at}: {} is listed, but the entry expired on {d}, so it gives no seat: ask again with `--expires` a later date, or remove the `expires` line in a pull request",
                entry.login
            ),
        ));
    }
    if let Scope::Org(org) = &file.scope
        && seats.membership(org, &entry.login).await? == Membership::NotMember
    {
        return Err(SelfServeError::refused(
            Refusal::NotMember,
            format!(
                "{at}: {} is listed, but is not a member of the organization `{org}`, and GitHub seats members only: an owner of `{org}` must invite them; the entry then takes effect by itself",
                entry.login
            ),
        ));
    }
    // `policy.eligible_teams` holds for listed logins too (one read per
    // eligible team): a seat kept outside them is reported, not confirmed.
    let outside = crate::reconcile::outside_eligible_teams(seats, file, path, &[entry], 1).await?;
    if let Some(i) = outside.first() {
        return Err(SelfServeError::refused(
            Refusal::NotEligible,
            format!("{at}: {} is {}", i.login, i.reason),
        ));
    }
    Ok(())
}
