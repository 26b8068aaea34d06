//! `seatkeeper reclaim`: GitHub's "reminding inactive users" practice, done
//! the GitOps way. Idle people (the planner's idle rule: no Copilot activity
//! and no sign-in for `policy.inactivity.days`, else time since the grant)
//! who are listed in seats.yaml are first reminded: one comment on one
//! tracking issue mentions everyone newly idle. After
//! `policy.inactivity.remind_days`, one pull request (opened, or updated when
//! it exists) removes the still-idle logins, mentioning each; anyone active
//! again drops out of it, and it is closed when nobody is left.
//!
//! Every bit of state lives in GitHub, not in a local file: the tracking
//! issue and the pull request carry the label [`RECLAIM_LABEL`] and hidden
//! markers (`<!-- seatkeeper:... -->`). A reminder counts from its comment's
//! `created_at` (GitHub's clock) and only while its person has not been seen
//! since: someone who uses Copilot after a reminder needs a new one before
//! they can be proposed for removal.
//!
//! The state cannot be forged: only issues, comments and pull requests
//! authored by seatkeeper's own identity (`GET /user`, or `{slug}[bot]` for
//! a GitHub App, [`IdentityApi`]) count. Anything else carrying the label or
//! a marker is ignored and reported ([`ReclaimReport::ignored`]).
//!
//! Decide early, act late: a seat removed mid-cycle is billed to the
//! cycle's end and its holder keeps access until then, so the removal pull
//! request is opened only in the last `policy.inactivity.act_before_cycle_end_days`
//! of the billing cycle; before that, people whose reminder has run out are
//! reported as due. Right before proposing a removal, each person's
//! AI-credit use this month is read ([`UsageApi`]): anyone who used credits
//! counts as active and is left out.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::SelfServeError;
use crate::config::SeatsFile;
use crate::edit::Edit;
use crate::github::repo::{
    FileWrite, IssueChange, NewPull, RefRead, RefWrite, RepoApi, RepoRef, Written,
};
use crate::github::usage::{IdentityApi, UsageApi};
use crate::github::{GitHubError, SeatApi};

/// The label on the tracking issue and the pull request.
pub const RECLAIM_LABEL: &str = "seatkeeper-reclaim";
/// The branch of the reclaim pull request.
pub const RECLAIM_BRANCH: &str = "seatkeeper/reclaim";
/// GitHub's limit on an issue, pull request or comment body ("Body is too
/// long" past it; github-observed).
pub const MAX_BODY_CHARS: usize = 65_536;
/// Room for the logins of one reminder comment (twice: mentions and marker).
const COMMENT_LOGINS_CHARS: usize = 28_000;
/// Room for the people-facing list of a reclaim pull request.
const PR_LIST_CHARS: usize = 24_000;
/// Most logins one reclaim pull request removes: its marker names them all
/// (39 characters and a space each at most), within the body limit.
pub const MAX_RECLAIM_LOGINS: usize = 800;
// A reclaim pull request's marker (every login, 40 characters each at
// most) fits beside its list and sentences.
const _: () = assert!(MAX_RECLAIM_LOGINS * 40 + PR_LIST_CHARS + 2_000 < MAX_BODY_CHARS);

/// `logins` in order, in groups whose space-joined length stays within
/// `room` (a group holds at least one login).
fn chunks_within(logins: &[String], room: usize) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, l) in logins.iter().enumerate() {
        if i > start && used + l.len() + 1 > room {
            out.push(&logins[start..i]);
            start = i;
            used = 0;
        }
        used += l.len() + 1;
    }
    if start < logins.len() {
        out.push(&logins[start..]);
    }
    out
}

const ISSUE_MARKER: &str = "<!-- seatkeeper:reclaim-reminders -->";
const REMINDED: &str = "<!-- seatkeeper:reminded ";
const PR_MARKER: &str = "<!-- seatkeeper:reclaim ";

/// Where seats.yaml is and the date to judge idleness by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReclaimOptions {
    /// The repository.
    pub repo: RepoRef,
    /// The path of seats.yaml.
    pub path: String,
    /// The branch (the default branch when `None`).
    pub git_ref: Option<String>,
    /// Today (UTC).
    pub today: NaiveDate,
}

/// A person waiting out the reminder period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// The login.
    pub login: String,
    /// When they were reminded.
    pub reminded_at: DateTime<Utc>,
    /// The first day the pull request may propose removing them.
    pub due: NaiveDate,
}

/// The reclaim pull request after a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReclaimPull {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// `opened`, `updated`, `unchanged` or `closed`.
    pub action: &'static str,
    /// The logins it removes (none once closed).
    pub logins: Vec<String>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReclaimReport {
    /// Always 1.
    pub format_version: u32,
    /// `OWNER/REPO:PATH@REF`.
    pub target: String,
    /// Idle people listed in seats.yaml (not protected), with their idle days.
    pub idle: BTreeMap<String, i64>,
    /// Reminded by this run.
    pub reminded: Vec<String>,
    /// The tracking issue's number.
    pub reminder_issue: Option<u64>,
    /// Reminded earlier, still inside `remind_days`.
    pub waiting: Vec<Waiting>,
    /// The pull request, when there is (or was) one.
    pub pull_request: Option<ReclaimPull>,
    /// Logins the pull request no longer removes (active again).
    pub dropped: Vec<String>,
    /// seatkeeper's own login: the only author whose issues, comments and
    /// pull requests count.
    pub identity: String,
    /// Labelled issues, marked comments and reclaim pull requests by anyone
    /// else: ignored.
    pub ignored: Vec<Ignored>,
    /// The first day of the next billing cycle.
    pub cycle_end: NaiveDate,
    /// The first day a removal may be proposed in this cycle.
    pub removal_window_start: NaiveDate,
    /// Reminded long enough but before the removal window: proposed for
    /// removal from `removal_window_start`.
    pub due: Vec<String>,
    /// Left out because they used AI credits this month.
    pub used_ai_credits: Vec<String>,
    /// Why AI-credit use could not be read, when it could not.
    pub usage_note: Option<String>,
}

/// Something carrying reclaim's label or marker that seatkeeper did not write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// `issue`, `comment` or `pull_request`.
    pub kind: &'static str,
    /// The issue or pull request number (for a comment, its issue's).
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// Its author, when GitHub names one.
    pub author: Option<String>,
}

impl ReclaimReport {
    /// The text form.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {} idle", self.target, self.idle.len());
        if !self.idle.is_empty() {
            let list: Vec<String> = self
                .idle
                .iter()
                .map(|(l, d)| format!("{l} ({d} days)"))
                .collect();
            out.push_str(&format!(": {}", list.join(", ")));
        }
        out.push('\n');
        if !self.reminded.is_empty() {
            out.push_str(&format!(
                "reminded: {} (issue #{})\n",
                self.reminded.join(", "),
                self.reminder_issue.unwrap_or_default()
            ));
        }
        for w in &self.waiting {
            out.push_str(&format!(
                "waiting: {} (reminded {}, proposed for removal from {})\n",
                w.login,
                w.reminded_at.date_naive(),
                w.due
            ));
        }
        if !self.due.is_empty() {
            out.push_str(&format!(
                "due, proposed for removal from {} (the last days of the billing cycle ending {}): {}\n",
                self.removal_window_start,
                self.cycle_end,
                self.due.join(", ")
            ));
        }
        if !self.used_ai_credits.is_empty() {
            out.push_str(&format!(
                "used AI credits this month, not proposed: {}\n",
                self.used_ai_credits.join(", ")
            ));
        }
        if let Some(n) = &self.usage_note {
            out.push_str(&format!("note: {n}\n"));
        }
        if !self.dropped.is_empty() {
            out.push_str(&format!(
                "active again, dropped from the pull request: {}\n",
                self.dropped.join(", ")
            ));
        }
        for i in &self.ignored {
            out.push_str(&format!(
                "ignored: {} #{} by {} ({}): not written by {}\n",
                i.kind.replace('_', " "),
                i.number,
                i.author.as_deref().unwrap_or("nobody"),
                i.url,
                self.identity
            ));
        }
        if let Some(p) = &self.pull_request {
            out.push_str(&format!(
                "pull request #{} {}: {} ({})\n",
                p.number,
                p.action,
                if p.logins.is_empty() {
                    "nobody".to_string()
                } else {
                    p.logins.join(", ")
                },
                p.url
            ));
        }
        out
    }
}

fn marked_logins<'a>(text: &'a str, marker: &str) -> Option<Vec<&'a str>> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    let end = rest.find("-->")?;
    Some(rest[..end].split_whitespace().collect())
}

fn config_error(message: String) -> SelfServeError {
    SelfServeError::from(GitHubError::Config(message))
}

fn same(a: Option<&str>, own: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(own))
}

/// The GitHub reads and writes one reclaim run needs.
#[derive(Clone, Copy)]
pub struct ReclaimApis<'a> {
    /// Seats.
    pub seats: &'a dyn SeatApi,
    /// The repository.
    pub repos: &'a dyn RepoApi,
    /// seatkeeper's own login.
    pub identity: &'a dyn IdentityApi,
    /// AI-credit use.
    pub usage: &'a dyn UsageApi,
}

/// One run of `seatkeeper reclaim`.
pub async fn reclaim(
    apis: ReclaimApis<'_>,
    opts: &ReclaimOptions,
) -> Result<ReclaimReport, SelfServeError> {
    let ReclaimApis { seats, repos, .. } = apis;
    let repo = &opts.repo;
    let own = apis.identity.own_login().await?;
    let info = repos.repository(repo).await?;
    let branch = opts
        .git_ref
        .clone()
        .unwrap_or_else(|| info.default_branch.clone());
    let target = format!("github:{repo}/{}@{branch}", opts.path);
    let base = match repos
        .get_ref(repo, &format!("heads/{branch}"), None)
        .await?
    {
        RefRead::Found { sha, .. } => sha,
        _ => {
            return Err(config_error(format!(
                "{repo} has no branch `{branch}` (--ref)"
            )));
        }
    };
    let file = repos
        .read_file(repo, &opts.path, &base)
        .await?
        .ok_or_else(|| config_error(format!("{repo} has no file `{}` on `{branch}`", opts.path)))?;
    let text = String::from_utf8_lossy(&file.bytes).into_owned();
    let seats_file = SeatsFile::parse(&target, text.as_bytes()).map_err(SelfServeError::Invalid)?;
    let Some(inactivity) = seats_file.policy.inactivity else {
        return Err(config_error(format!(
            "{target} sets no policy.inactivity: reclaim needs `inactivity: {{days: N}}` to know who is idle"
        )));
    };
    let remind_days = inactivity.remind_days();

    let live = seats.list_seats(&seats_file.scope).await?;
    let plan = crate::plan::plan(
        &crate::plan::Desired::from_file(&seats_file),
        &live,
        opts.today,
    );
    let protected: BTreeSet<String> = seats_file
        .policy
        .protected
        .iter()
        .map(|l| l.to_ascii_lowercase())
        .collect();
    // Idle people seats.yaml lists (as written there), with when last seen.
    let mut idle: BTreeMap<String, (i64, DateTime<Utc>)> = BTreeMap::new();
    for i in &plan.inactive {
        let key = i.login.to_ascii_lowercase();
        let (Some(entry), Some(user)) = (
            seats_file.user(&i.login),
            live.users
                .iter()
                .find(|u| u.login.eq_ignore_ascii_case(&i.login)),
        ) else {
            continue;
        };
        if protected.contains(&key) {
            continue;
        }
        idle.insert(entry.login.clone(), (i.days_idle, user.last_seen().0));
    }

    // The tracking issue and its reminders: only seatkeeper's own count.
    let mut ignored = Vec::new();
    let mut issue = None;
    for i in repos.list_issues(repo, &[RECLAIM_LABEL], "open").await? {
        let ours = same(i.user.as_deref(), &own);
        if ours && issue.is_none() && i.body.as_deref().is_some_and(|b| b.contains(ISSUE_MARKER)) {
            issue = Some(i);
        } else if !ours {
            ignored.push(Ignored {
                kind: "issue",
                number: i.number,
                url: i.html_url.clone(),
                author: i.user.clone(),
            });
        }
    }
    let mut reminders: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    if let Some(issue) = &issue {
        for c in repos.list_comments(repo, issue.number).await? {
            if !same(c.user.as_deref(), &own) {
                // Replies are welcome; a marker from anyone else is a forgery.
                if c.body.contains("<!-- seatkeeper:") {
                    ignored.push(Ignored {
                        kind: "comment",
                        number: issue.number,
                        url: c.html_url.clone(),
                        author: c.user.clone(),
                    });
                }
                continue;
            }
            for login in marked_logins(&c.body, REMINDED).unwrap_or_default() {
                let at = reminders
                    .entry(login.to_ascii_lowercase())
                    .or_insert(c.created_at);
                *at = (*at).max(c.created_at);
            }
        }
    }
    let mut to_remind = Vec::new();
    let mut to_remove = Vec::new();
    let mut waiting = Vec::new();
    for (login, (_, seen)) in &idle {
        match reminders.get(&login.to_ascii_lowercase()) {
            // A reminder counts while its person has not been seen since.
            Some(&at) if *seen < at => {
                let due = at
                    .date_naive()
                    .checked_add_days(Days::new(u64::from(remind_days)))
                    .unwrap_or(NaiveDate::MAX);
                if opts.today >= due {
                    to_remove.push(login.clone());
                } else {
                    waiting.push(Waiting {
                        login: login.clone(),
                        reminded_at: at,
                        due,
                    });
                }
            }
            _ => to_remind.push(login.clone()),
        }
    }
    let (cycle_end, _) = crate::plan::cost::cycle_end(opts.today, &live);
    let window_start = inactivity.removal_window_start(cycle_end);
    let mut open = None;
    for p in repos.list_pulls(repo, Some(RECLAIM_BRANCH), "open").await? {
        if open.is_none() && same(p.user.as_deref(), &own) {
            open = Some(p);
        } else {
            ignored.push(Ignored {
                kind: "pull_request",
                number: p.number,
                url: p.html_url.clone(),
                author: p.user.clone(),
            });
        }
    }
    // Before the window, nobody is proposed (an open pull request from the
    // window of an earlier cycle is still kept up to date).
    let mut due = Vec::new();
    if opts.today < window_start && open.is_none() {
        due = std::mem::take(&mut to_remove);
    }
    // One pull request names at most MAX_RECLAIM_LOGINS (its body must stay
    // under GitHub's limit); the rest stay due and come in the next run's.
    if to_remove.len() > MAX_RECLAIM_LOGINS {
        tracing::info!(
            due = to_remove.len(),
            proposed = MAX_RECLAIM_LOGINS,
            "more idle seats are due than one reclaim pull request names: the rest follow"
        );
        to_remove.truncate(MAX_RECLAIM_LOGINS);
    }
    // Per-user AI-credit use counts as activity: read it for the people
    // about to be proposed, right before proposing them.
    let mut used_ai_credits = Vec::new();
    let mut usage_note = None;
    if !to_remove.is_empty() {
        let usage = crate::reconcile::cost::usage_of(
            apis.usage,
            &seats_file.scope,
            &to_remove,
            opts.today,
            MAX_RECLAIM_LOGINS,
        )
        .await?;
        usage_note = usage.note.clone();
        to_remove.retain(|l| {
            let used = usage.credits.get(l).is_some_and(|c| *c > 0);
            if used {
                used_ai_credits.push(l.clone());
            }
            !used
        });
    }

    let mut report = ReclaimReport {
        format_version: 1,
        target: target.clone(),
        idle: idle.iter().map(|(l, (d, _))| (l.clone(), *d)).collect(),
        reminded: Vec::new(),
        reminder_issue: issue.as_ref().map(|i| i.number),
        waiting,
        pull_request: None,
        dropped: Vec::new(),
        identity: own.clone(),
        ignored,
        cycle_end,
        removal_window_start: window_start,
        due,
        used_ai_credits,
        usage_note,
    };

    if !to_remind.is_empty() {
        let number = match &issue {
            Some(i) => i.number,
            None => {
                let body = format!(
                    "seatkeeper reminds people here whose Copilot seat in `{}` has had no activity for {} days (`policy.inactivity.days`). \
                     If a seat stays unused for {remind_days} more days (`policy.inactivity.remind_days`), a pull request proposes removing it.\n\n{ISSUE_MARKER}\n",
                    opts.path, inactivity.days
                );
                repos
                    .create_issue(repo, "Idle Copilot seats", &body, &[RECLAIM_LABEL])
                    .await?
                    .number
            }
        };
        let due = opts
            .today
            .checked_add_days(Days::new(u64::from(remind_days)))
            .unwrap_or(NaiveDate::MAX);
        // GitHub refuses a comment over 65,536 characters ("Body is too
        // long"): one comment per group of logins that fits, each with its
        // own marker (the state is read from every comment).
        for group in chunks_within(&to_remind, COMMENT_LOGINS_CHARS) {
            let mentions: Vec<String> = group.iter().map(|l| format!("@{l}")).collect();
            let body = format!(
                "{}: your Copilot seat has had no activity for at least {} days. If it stays unused until {due} ({remind_days} days), a pull request will remove you from `{}`. \
                 Using Copilot (or signing in to it) keeps the seat; `seatkeeper release LOGIN` gives it back now.\n\n{REMINDED}{} -->\n",
                mentions.join(" "),
                inactivity.days,
                opts.path,
                group.join(" ")
            );
            repos.create_comment(repo, number, &body).await?;
        }
        report.reminded = to_remind;
        report.reminder_issue = Some(number);
    }

    if let Some(pr) = &open {
        let before = pr
            .body
            .as_deref()
            .and_then(|b| marked_logins(b, PR_MARKER))
            .unwrap_or_default();
        let keep: BTreeSet<String> = to_remove.iter().map(|l| l.to_ascii_lowercase()).collect();
        report.dropped = before
            .iter()
            .filter(|l| !keep.contains(&l.to_ascii_lowercase()))
            .map(|l| l.to_string())
            .collect();
    }
    report.pull_request = propose(
        repos,
        repo,
        opts,
        &branch,
        &base,
        &file.sha,
        &text,
        &to_remove,
        &idle,
        &reminders,
        open.as_ref(),
        &report.dropped,
        cycle_end,
    )
    .await?;
    Ok(report)
}

/// Open, update, keep or close the one reclaim pull request.
// The run's facts, passed as they are: bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
async fn propose(
    repos: &dyn RepoApi,
    repo: &RepoRef,
    opts: &ReclaimOptions,
    branch: &str,
    base: &str,
    base_blob: &str,
    text: &str,
    to_remove: &[String],
    idle: &BTreeMap<String, (i64, DateTime<Utc>)>,
    reminders: &BTreeMap<String, DateTime<Utc>>,
    open: Option<&crate::github::repo::PullRequest>,
    dropped: &[String],
    cycle_end: NaiveDate,
) -> Result<Option<ReclaimPull>, SelfServeError> {
    if to_remove.is_empty() {
        let Some(pr) = open else { return Ok(None) };
        repos
            .create_comment(
                repo,
                pr.number,
                &format!(
                    "Everyone this pull request removed is active again ({}): closing it.",
                    dropped
                        .iter()
                        .map(|l| format!("@{l}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            )
            .await?;
        repos
            .update_pull(
                repo,
                pr.number,
                &IssueChange {
                    state: Some("closed"),
                    ..IssueChange::default()
                },
            )
            .await?;
        return Ok(Some(ReclaimPull {
            number: pr.number,
            url: pr.html_url.clone(),
            action: "closed",
            logins: Vec::new(),
        }));
    }
    let shown = format!("github:{repo}/{}@{branch}", opts.path);
    let new_text =
        match crate::edit::remove_users(&shown, text, to_remove).map_err(|e| match e {
            crate::edit::EditError::Invalid(c) => SelfServeError::Invalid(c),
            other => SelfServeError::Edit(other),
        })? {
            Edit::Changed { text, .. } => text,
            Edit::NotListed | Edit::AlreadyListed { .. } => return Ok(None),
        };
    let mut lines: Vec<String> = to_remove
        .iter()
        .map(|l| {
            let days = idle.get(l).map(|(d, _)| *d).unwrap_or_default();
            let reminded = reminders
                .get(&l.to_ascii_lowercase())
                .map(|t| format!(", reminded {}", t.date_naive()))
                .unwrap_or_default();
            format!("- @{l}: no Copilot activity for {days} days{reminded}")
        })
        .collect();
    // The list is for people; the marker (every login) is the state. Past
    // what fits under GitHub's 65,536-character body limit, the list says
    // how many more there are: the diff names every one.
    let mut shown = 0;
    let mut used = 0;
    for l in &lines {
        if used + l.len() + 1 > PR_LIST_CHARS {
            break;
        }
        used += l.len() + 1;
        shown += 1;
    }
    if shown < lines.len() {
        let more = lines.len() - shown;
        lines.truncate(shown);
        lines.push(format!("- ... and {more} more: the diff names every one"));
    }
    let title = format!(
        "{}: reclaim {} idle Copilot seat{}",
        opts.path,
        to_remove.len(),
        if to_remove.len() == 1 { "" } else { "s" }
    );
    let body = format!(
        "These people were reminded and have still not used their Copilot seat; merging removes them from `{}` and the controller cancels their seats (GitHub bills a cancelled seat to the end of the cycle, {cycle_end}, and its holder keeps access until then).\n\n{}\n\n\
         Anyone who uses Copilot again drops out of this pull request on the next `seatkeeper reclaim`.\n\n{PR_MARKER}{} -->\n",
        opts.path,
        lines.join("\n"),
        to_remove.join(" ")
    );
    let message = format!(
        "{title}\n\n{}\n\nSeatkeeper-Action: reclaim\n",
        to_remove
            .iter()
            .map(|l| format!("Seatkeeper-Login: {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    if let Some(pr) = open {
        // Unchanged when the branch already holds exactly this edit and the
        // pull request names the same people (idle day counts in its text
        // grow daily; that alone is no reason to push again).
        let current = repos.read_file(repo, &opts.path, RECLAIM_BRANCH).await?;
        let same_file = current
            .as_ref()
            .is_some_and(|f| f.bytes == new_text.as_bytes());
        let named = pr
            .body
            .as_deref()
            .and_then(|b| marked_logins(b, PR_MARKER))
            .unwrap_or_default();
        if same_file && named == to_remove.iter().map(String::as_str).collect::<Vec<_>>() {
            return Ok(Some(ReclaimPull {
                number: pr.number,
                url: pr.html_url.clone(),
                action: "unchanged",
                logins: to_remove.to_vec(),
            }));
        }
    }
    // Start the branch afresh from the base, then commit the one edit.
    let full_ref = format!("refs/heads/{RECLAIM_BRANCH}");
    if let RefWrite::Refused { .. } = repos.create_ref(repo, &full_ref, base).await?
        && let RefWrite::Refused { message } = repos
            .update_ref(repo, &format!("heads/{RECLAIM_BRANCH}"), base, true)
            .await?
    {
        return Err(config_error(format!(
            "cannot create or reset the branch `{RECLAIM_BRANCH}` in {repo}: {message}"
        )));
    }
    let write = FileWrite {
        path: &opts.path,
        branch: RECLAIM_BRANCH,
        message: &message,
        content: new_text.as_bytes(),
        sha: Some(base_blob),
    };
    if let Written::Stale { message } = repos.write_file(repo, &write).await? {
        return Err(config_error(format!(
            "{} changed on {RECLAIM_BRANCH} while reclaim wrote it ({message}): run it again",
            opts.path
        )));
    }
    let (number, url, action) = match open {
        Some(pr) => {
            repos
                .update_pull(
                    repo,
                    pr.number,
                    &IssueChange {
                        title: Some(&title),
                        body: Some(&body),
                        state: None,
                    },
                )
                .await?;
            (pr.number, pr.html_url.clone(), "updated")
        }
        None => {
            let pr = repos
                .create_pull(
                    repo,
                    &NewPull {
                        title: &title,
                        body: &body,
                        head: RECLAIM_BRANCH,
                        base: branch,
                    },
                )
                .await?;
            repos.add_labels(repo, pr.number, &[RECLAIM_LABEL]).await?;
            (pr.number, pr.html_url, "opened")
        }
    };
    Ok(Some(ReclaimPull {
        number,
        url,
        action,
        logins: to_remove.to_vec(),
    }))
}

#[cfg(test)]
mod tests {

    #[test]
    fn chunks_stay_within_their_room() {
        let logins: Vec<String> = (0..5000).map(|i| format!("{:0>39}", i)).collect();
        let chunks = chunks_within(&logins, COMMENT_LOGINS_CHARS);
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 5000);
        for c in &chunks {
            assert!(c.join(" ").len() <= COMMENT_LOGINS_CHARS);
            // Mentions and marker, with the sentence around them.
            assert!(2 * c.join(" ").len() + c.len() + 1_000 < MAX_BODY_CHARS);
        }
        assert_eq!(
            chunks_within(&logins[..1], 1).len(),
            1,
            "one login per group at least"
        );
    }

    use super::*;

    #[test]
    fn markers_round_trip() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, Option<Vec<&str>>)] = &[
            ("x\n<!-- seatkeeper:reminded alice bob -->\n", REMINDED, Some(vec!["alice", "bob"])),
            ("<!-- seatkeeper:reclaim chen -->", PR_MARKER, Some(vec!["chen"])),
            ("<!-- seatkeeper:reminded alice", REMINDED, None),
            ("nothing here", PR_MARKER, None),
        ];
        for (text, marker, want) in cases {
            assert_eq!(marked_logins(text, marker), want.clone(), "{text}");
        }
    }
}
