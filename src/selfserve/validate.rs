//! Validation of an edited seats.yaml, exactly as `plan --strict` would
//! do it, with the reads it needs started early.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{Ask, Kind, Prepared, Refusal, SelfServeError, admit, entry, prepare};
use crate::config::{Scope, SeatsFile, UserEntry};
use crate::github::{BillingInfo, GitHubError, LiveState, Membership, SeatApi, WriteReport};
use crate::reconcile::{Mode, Options};
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
}

/// Validate the edited file exactly as `plan --strict` would: plan it
/// against the live seats (the login must exist, be an org member and be in
/// an eligible team, the seat cap and the other guards must hold).
pub async fn check(
    api: &dyn SeatApi,
    edited: &Loaded,
    ask: &Ask,
    concurrency: usize,
) -> Result<Checked, SelfServeError> {
    let opts = Options {
        mode: Mode::Plan,
        today: Some(ask.today),
        check_eligibility: true,
        concurrency,
        ..Options::default()
    };
    let outcome = crate::reconcile::reconcile(api, edited, &opts).await?;
    if let Some(i) = outcome
        .ineligible
        .iter()
        .find(|i| i.login.eq_ignore_ascii_case(&ask.login))
    {
        let refusal = if i.reason.starts_with("no GitHub user") {
            Refusal::UnknownUser
        } else if i.reason.starts_with("not a member") {
            Refusal::NotMember
        } else {
            Refusal::NotEligible
        };
        return Err(SelfServeError::refused(
            refusal,
            format!(
                "{} is not eligible for a Copilot seat: {}",
                i.login, i.reason
            ),
        ));
    }
    let plan = &outcome.plan;
    if plan.guard.tripped {
        let reasons: Vec<String> = plan
            .guard
            .reasons
            .iter()
            .map(|r| crate::render::guard_message(r, |s| format!("`{s}`")))
            .collect();
        let what = match ask.kind {
            Kind::Request => format!("adding {}", ask.login),
            Kind::Release => format!("removing {}", ask.login),
        };
        return Err(SelfServeError::refused(
            Refusal::Guarded,
            format!(
                "{what} would leave a plan the controller refuses to apply: {}",
                reasons.join("; ")
            ),
        ));
    }
    let changes_seat = plan
        .changes
        .iter()
        .any(|c| c.name.eq_ignore_ascii_case(&ask.login));
    Ok(Checked {
        summary: crate::render::summary_line(plan),
        changes_seat,
        suspended: edited.file.policy.suspend,
    })
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
/// [`check`] does. The reads validation needs (the whole seat listing and,
/// for a request, the login's org membership) start as soon as the file
/// names its org and run while the editor works, so a request costs one
/// listing's time rather than the edit, then the listing, then the checks.
/// A no-op (already listed, not listed) sends no request at all.
pub async fn validate(
    seats: &dyn SeatApi,
    path: &str,
    text: &str,
    ask: &Ask,
    concurrency: usize,
) -> Result<Validated, SelfServeError> {
    let file = admit(path, text, ask)?;
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
    let scope = file.scope.clone();
    let edit = {
        let (path, text, ask) = (path.to_string(), text.to_string(), ask.clone());
        tokio::task::spawn_blocking(move || prepare(&path, &text, &ask))
    };
    let member = async {
        match (&scope, ask.kind) {
            (Scope::Org(org), Kind::Request) => {
                Some((org.clone(), seats.membership(org, &ask.login).await))
            }
            _ => None,
        }
    };
    let (edit, listing, member) = tokio::join!(edit, seats.list_seats(&scope), member);
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
    let api = Prefetched {
        inner: seats,
        scope,
        listing: Mutex::new(Some(listing)),
        member: Mutex::new(member.map(|(org, m)| (org, ask.login.clone(), m))),
    };
    let checked = check(&api, &edited, ask, concurrency).await?;
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

/// A membership answer read ahead of time: (org, login, answer).
type EarlyMembership = (String, String, Result<Membership, GitHubError>);

/// A [`SeatApi`] that answers one listing and one membership check from
/// reads made ahead of time, once each; everything else goes to `inner`.
struct Prefetched<'a> {
    inner: &'a dyn SeatApi,
    scope: Scope,
    listing: Mutex<Option<Result<LiveState, GitHubError>>>,
    member: Mutex<Option<EarlyMembership>>,
}

fn take<T>(m: &Mutex<Option<T>>) -> Option<T> {
    m.lock().unwrap_or_else(|e| e.into_inner()).take()
}

#[async_trait]
impl SeatApi for Prefetched<'_> {
    async fn billing(&self, scope: &Scope) -> Result<BillingInfo, GitHubError> {
        self.inner.billing(scope).await
    }

    async fn list_seats(&self, scope: &Scope) -> Result<LiveState, GitHubError> {
        if *scope == self.scope
            && let Some(done) = take(&self.listing)
        {
            return done;
        }
        self.inner.list_seats(scope).await
    }

    async fn add_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.inner.add_users(scope, logins).await
    }

    async fn remove_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.inner.remove_users(scope, logins).await
    }

    async fn add_teams(&self, scope: &Scope, teams: &[String]) -> Result<WriteReport, GitHubError> {
        self.inner.add_teams(scope, teams).await
    }

    async fn remove_teams(
        &self,
        scope: &Scope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.inner.remove_teams(scope, teams).await
    }

    async fn membership(&self, org: &str, login: &str) -> Result<Membership, GitHubError> {
        let ready = {
            let mut slot = self.member.lock().unwrap_or_else(|e| e.into_inner());
            let same = slot.as_ref().is_some_and(|(o, l, _)| {
                o.eq_ignore_ascii_case(org) && l.eq_ignore_ascii_case(login)
            });
            if same { slot.take() } else { None }
        };
        match ready {
            Some((_, _, answer)) => answer,
            None => self.inner.membership(org, login).await,
        }
    }

    async fn team_members(
        &self,
        scope: &Scope,
        slug: &str,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        self.inner.team_members(scope, slug).await
    }

    async fn user_exists(&self, login: &str) -> Result<bool, GitHubError> {
        self.inner.user_exists(login).await
    }

    async fn list_members(&self, org: &str) -> Result<Vec<String>, GitHubError> {
        self.inner.list_members(org).await
    }

    async fn add_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.inner.add_team_members(scope, team, logins).await
    }

    async fn remove_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.inner.remove_team_members(scope, team, logins).await
    }
}
