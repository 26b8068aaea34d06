//! Look-ups the planner needs: members of teams, and whether the logins
//! about to be added can be granted a seat.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::Ineligible;
use crate::config::{Diagnostic, Scope};
use crate::github::live::scoped_slug;
use crate::github::{GitHubError, Membership, SeatApi};
use crate::plan::SkipCode;
use crate::source::Loaded;

/// A team in seats.yaml that GitHub does not know, at its line.
pub(super) fn missing_team(t: &crate::config::TeamEntry, scope: &Scope) -> Diagnostic {
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
pub(super) async fn fetch_teams(
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
///
/// Membership is read whichever way costs fewer requests: for a few logins,
/// one `GET /orgs/{org}/members/{login}` each; for many, the org's member
/// list (100 a page), when its page count (page 1's `Link`) is below the
/// number of logins. Only non-members then cost a `GET /users/{login}` each,
/// to tell "no such user" from "not a member".
pub async fn eligibility(
    api: &dyn SeatApi,
    source: &Loaded,
    logins: &[String],
    seat_holders: usize,
    opts: &super::Options,
) -> crate::Result<Vec<Ineligible>> {
    let file = &source.file;
    let scope = &file.scope;
    let concurrency = opts.concurrency.max(1);
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
    // Many logins: the member list, if it takes fewer pages than there are
    // logins. Every holder of an org seat is a member, so the seats already
    // held bound the list from below: when that alone is too many pages, no
    // request is spent finding out; otherwise page 1 tells.
    let lower_bound_pages = seat_holders.div_ceil(100);
    let members: Option<BTreeSet<String>> = match org {
        Some(org)
            if logins.len() > MEMBER_CHECKS_BEFORE_LISTING && lower_bound_pages < logins.len() =>
        {
            api.list_members_within(org, logins.len() - 1)
                .await?
                .map(|m| m.iter().map(|l| l.to_ascii_lowercase()).collect())
        }
        _ => None,
    };
    let total = logins.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let members = &members;
    let done = &done;
    let checks: Vec<(String, Result<Option<Verdict>, GitHubError>)> =
        futures::stream::iter(logins.iter().cloned().map(|login| async move {
            let verdict = async {
                let login = login.as_str();
                if let Some(org) = org {
                    let member = match members {
                        Some(m) => m.contains(&login.to_ascii_lowercase()),
                        None => match api.membership(org, login).await? {
                            Membership::Member => true,
                            Membership::RequesterNotMember => {
                                return Err(GitHubError::Config(format!(
                                    "GitHub answered 302 to the membership check of {login}: the token's user is not a member of {org}, so GitHub will not say who is; use a token of an org member (or a GitHub App installed on {org})"
                                )));
                            }
                            Membership::NotMember => false,
                        },
                    };
                    if member {
                        return Ok(None);
                    }
                }
                Ok(Some(if api.user_exists(login).await? {
                    match org {
                        Some(org) => (SkipCode::NotAMember, format!("not a member of {org}")),
                        None => return Ok(None),
                    }
                } else {
                    (
                        SkipCode::NoSuchUser,
                        "no GitHub user has this login".to_string(),
                    )
                }))
            }
            .await;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            opts.progress
                .report(crate::progress::Progress::Checked { done: n, total });
            (login.clone(), verdict)
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (login, verdict) in checks {
        let finding = match verdict? {
            Some(r) => Some(r),
            None => eligible_members.as_ref().and_then(|m| {
                (!m.contains(&login.to_ascii_lowercase())).then(|| {
                    (
                        SkipCode::NotInEligibleTeam,
                        format!("not in an eligible team ({})", eligible.join(", ")),
                    )
                })
            }),
        };
        if let Some((code, reason)) = finding {
            out.push(Ineligible {
                pos: pos_of(&login),
                login,
                code,
                reason,
            });
        }
    }
    out.sort_by(|a, b| a.pos.cmp(&b.pos).then(a.login.cmp(&b.login)));
    Ok(out)
}

/// Why a listed login outside `policy.eligible_teams` loses its seat with
/// `policy.remove_ineligible: true`.
pub const REMOVED_INELIGIBLE: &str =
    "listed, but not in an eligible team: policy.remove_ineligible removes the seat";

/// Listed logins other than `adding` (those hold or keep a seat) that are in
/// none of `policy.eligible_teams`: one read of each eligible team, nothing
/// per login. Empty without `eligible_teams`.
pub async fn listed_outside_eligible_teams(
    api: &dyn SeatApi,
    source: &Loaded,
    adding: &[String],
    opts: &super::Options,
) -> crate::Result<Vec<Ineligible>> {
    let adding: BTreeSet<String> = adding.iter().map(|l| l.to_ascii_lowercase()).collect();
    let listed: Vec<&crate::config::UserEntry> = source
        .file
        .users
        .iter()
        .filter(|u| !adding.contains(&u.login.to_ascii_lowercase()))
        .collect();
    outside_eligible_teams(api, &source.file, &source.path, &listed, opts.concurrency).await
}

/// Which of `entries` are in none of `policy.eligible_teams` (read once
/// each); empty without `eligible_teams`. `path` names the file in errors.
pub async fn outside_eligible_teams(
    api: &dyn SeatApi,
    file: &crate::config::SeatsFile,
    path: &str,
    entries: &[&crate::config::UserEntry],
    concurrency: usize,
) -> crate::Result<Vec<Ineligible>> {
    let eligible = &file.policy.eligible_teams;
    if eligible.is_empty() || entries.is_empty() {
        return Ok(Vec::new());
    }
    let scope = &file.scope;
    let slugs: Vec<String> = eligible.iter().map(|t| scoped_slug(scope, t)).collect();
    let teams = fetch_teams(api, scope, slugs.clone(), concurrency.max(1)).await?;
    let mut members = BTreeSet::new();
    let mut missing = Vec::new();
    for slug in &slugs {
        match teams.get(slug) {
            Some(Some(m)) => members.extend(m.iter().map(|l| l.to_ascii_lowercase())),
            _ => missing.push(slug.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(GitHubError::Config(format!(
            "{path}: policy.eligible_teams names team(s) that do not exist in {scope}: {}",
            missing.join(", ")
        ))
        .into());
    }
    Ok(entries
        .iter()
        .filter(|u| !members.contains(&u.login.to_ascii_lowercase()))
        .map(|u| Ineligible {
            login: u.login.clone(),
            pos: u.pos,
            code: SkipCode::NotInEligibleTeam,
            reason: format!(
                "listed, but not in an eligible team ({}): the seat stays until the entry is removed",
                eligible.join(", ")
            ),
        })
        .collect())
}

/// What is wrong with one login, if anything.
type Verdict = (SkipCode, String);

/// Up to this many logins are checked one request each; past it, the org's
/// member list is read instead when that is cheaper.
pub const MEMBER_CHECKS_BEFORE_LISTING: usize = 10;

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
    let opts = super::Options {
        concurrency,
        ..super::Options::default()
    };
    for i in eligibility(api, source, &logins, 0, &opts).await? {
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
