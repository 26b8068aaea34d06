//! What `request` and `release` print: a sentence per outcome (text), or
//! one JSON object (`--format json`, for a workflow to comment with).

use chrono::NaiveDate;
use serde::Serialize;

use super::{Ask, Kind, Recorded, SelfServeError};

/// The pull request a request opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// True when seatkeeper merged it.
    pub merged: bool,
    /// True when it waits for room under the seat cap (label
    /// `seatkeeper/waiting-for-room`): never merged while the cap holds.
    pub waiting_for_room: bool,
}

/// The outcome of one request or release, as printed. Versioned by
/// `format_version`: fields may be added, never removed or renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Always 1.
    pub format_version: u32,
    /// `request` or `release`.
    pub action: Kind,
    /// The login whose seat it is.
    pub login: String,
    /// Who asked.
    pub requester: String,
    /// `granted`, `released`, `already_listed`, `not_listed`,
    /// `pull_request` (opened, not merged), `refused` or `error`.
    pub outcome: &'static str,
    /// For `refused` and `error`: a short label (`not_member`, `guarded`, ...).
    pub reason: Option<&'static str>,
    /// One or more sentences for a person.
    pub message: String,
    /// What was edited: `OWNER/REPO:PATH@REF` or a local path.
    pub target: String,
    /// Lines of seats.yaml the edit touched.
    pub lines: Option<[u32; 2]>,
    /// The `expires` written.
    pub expires: Option<NaiveDate>,
    /// The commit that records the change.
    pub commit: Option<String>,
    /// Its web address.
    pub commit_url: Option<String>,
    /// The pull request, in `pull_request` mode.
    pub pull_request: Option<PullReport>,
    /// The validation plan's summary line.
    pub plan: Option<String>,
    /// Attempts it took (more than 1 after a concurrent change).
    pub attempts: u32,
}

impl Report {
    fn new(ask: &Ask, target: &str, outcome: &'static str, message: String) -> Report {
        Report {
            format_version: 1,
            action: ask.kind,
            login: ask.login.clone(),
            requester: ask.requester.clone(),
            outcome,
            reason: None,
            message,
            target: target.to_string(),
            lines: None,
            expires: None,
            commit: None,
            commit_url: None,
            pull_request: None,
            plan: None,
            attempts: 1,
        }
    }

    /// The report for what happened.
    pub fn from_result(
        ask: &Ask,
        target: &str,
        result: &Result<Recorded, SelfServeError>,
    ) -> Report {
        let mut r = Report::seat_report(ask, target, result);
        if let Some(change) = ask.budget {
            // A budget request says what it set, not a seat's words.
            let dropped = change == crate::edit::BudgetEdit::Drop;
            match r.outcome {
                "granted" | "released" => {
                    r.outcome = if dropped {
                        "budget_dropped"
                    } else {
                        "budget_set"
                    };
                    let done = match result {
                        Ok(Recorded::Committed { commit, .. }) => format!(
                            "commit {} in {target}; the controller writes the budget on the push webhook (or its next poll)",
                            &commit[..commit.len().min(7)]
                        ),
                        Ok(Recorded::PullRequest { number, url, .. }) => format!(
                            "pull request #{number} ({url}) merged; the controller writes the budget on the push webhook (or its next poll)"
                        ),
                        _ => format!(
                            "{target} edited; commit it and open a pull request, or run `seatkeeper apply`"
                        ),
                    };
                    r.message = format!("{}: {done}.", r.plan.clone().unwrap_or_default());
                }
                "not_listed" if dropped => {
                    r.message = format!(
                        "{} has no individual budget in {target}: nothing to do.",
                        ask.login
                    );
                }
                _ => {}
            }
        }
        r
    }

    fn seat_report(ask: &Ask, target: &str, result: &Result<Recorded, SelfServeError>) -> Report {
        let login = &ask.login;
        match result {
            Err(e) => {
                let outcome = match e {
                    SelfServeError::Refused { .. } => "refused",
                    _ => "error",
                };
                let mut r = Report::new(ask, target, outcome, e.to_string());
                r.reason = Some(e.label());
                r
            }
            Ok(Recorded::AlreadyListed { pos }) => Report::new(
                ask,
                target,
                "already_listed",
                format!(
                    "{login} is already listed in {target} (line {}): nothing to do.",
                    pos.line
                ),
            ),
            Ok(Recorded::NotListed) => Report::new(
                ask,
                target,
                "not_listed",
                format!("{login} is not listed in {target}: nothing to do."),
            ),
            Ok(Recorded::Edited {
                lines,
                expires,
                checked,
                attempts,
            }) => {
                let (outcome, what) = match ask.kind {
                    Kind::Request => ("granted", format!("added {login} to {target}")),
                    Kind::Release => ("released", format!("removed {login} from {target}")),
                };
                let mut message = format!(
                    "{} ({}); commit it and open a pull request, or run `seatkeeper apply`.",
                    capitalize(&what),
                    line_text(*lines)
                );
                if checked.suspended {
                    message.push_str(
                        " policy.suspend is true: nothing is applied until it is lifted.",
                    );
                }
                let mut r = Report::new(ask, target, outcome, message);
                r.lines = Some([lines.0, lines.1]);
                r.expires = *expires;
                r.plan = Some(checked.summary.clone());
                r.attempts = *attempts;
                r
            }
            Ok(Recorded::Committed {
                commit,
                url,
                lines,
                expires,
                checked,
                attempts,
            }) => {
                let short = &commit[..commit.len().min(7)];
                let (outcome, mut message) = match ask.kind {
                    Kind::Request => (
                        "granted",
                        format!(
                            "Granted a Copilot seat to {login}: commit {short} adds {} of {target} (requested by {}).",
                            line_text(*lines),
                            ask.requester
                        ),
                    ),
                    Kind::Release => (
                        "released",
                        format!(
                            "Released the Copilot seat of {login}: commit {short} removes {} of {target} (by {}).",
                            line_text(*lines),
                            ask.requester
                        ),
                    ),
                };
                message.push_str(&follow_up(ask, checked));
                let mut r = Report::new(ask, target, outcome, message);
                r.lines = Some([lines.0, lines.1]);
                r.expires = *expires;
                r.commit = Some(commit.clone());
                r.commit_url = url.clone();
                r.plan = Some(checked.summary.clone());
                r.attempts = *attempts;
                r
            }
            Ok(Recorded::PullRequest {
                number,
                url,
                merged,
                note,
                lines,
                expires,
                checked,
                attempts,
                waiting_for_room,
            }) => {
                let verb = match ask.kind {
                    Kind::Request => format!("grant a Copilot seat to {login}"),
                    Kind::Release => format!("release the Copilot seat of {login}"),
                };
                let (outcome, mut message) = match (merged, ask.kind) {
                    (Some(sha), Kind::Request) => (
                        "granted",
                        format!(
                            "Granted a Copilot seat to {login}: pull request #{number} ({url}) merged as {}.",
                            &sha[..sha.len().min(7)]
                        ),
                    ),
                    (Some(sha), Kind::Release) => (
                        "released",
                        format!(
                            "Released the Copilot seat of {login}: pull request #{number} ({url}) merged as {}.",
                            &sha[..sha.len().min(7)]
                        ),
                    ),
                    (None, _) => (
                        "pull_request",
                        format!(
                            "Pull request #{number} ({url}) asks to {verb}{}.",
                            note.as_deref()
                                .map(|n| format!("; {n}"))
                                .unwrap_or_default()
                        ),
                    ),
                };
                if let (Some(_), Some(c)) = (merged, checked) {
                    message.push_str(&follow_up(ask, c));
                }
                let mut r = Report::new(ask, target, outcome, message);
                r.lines = Some([lines.0, lines.1]);
                r.expires = *expires;
                r.commit = merged.clone();
                r.pull_request = Some(PullReport {
                    number: *number,
                    url: url.clone(),
                    merged: merged.is_some(),
                    waiting_for_room: *waiting_for_room,
                });
                r.plan = checked.as_ref().map(|c| c.summary.clone());
                r.attempts = *attempts;
                r
            }
        }
    }

    /// 0 when granted, released or already so; 1 when refused or failed.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            "refused" | "error" => 1,
            _ => 0,
        }
    }

    /// The text form: what happened, on stdout; refusals and errors go to stderr.
    pub fn text(&self) -> String {
        let mut out = self.message.clone();
        if let Some(plan) = &self.plan {
            out.push('\n');
            out.push_str(plan);
        }
        out.push('\n');
        out
    }

    /// The JSON form, one object and a newline.
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// What happens next, after a commit on the ref.
fn follow_up(ask: &Ask, checked: &super::Checked) -> String {
    if checked.suspended {
        return " policy.suspend is true: the controller applies nothing until it is lifted."
            .to_string();
    }
    match (ask.kind, checked.changes_seat) {
        (Kind::Request, true) => {
            " The controller grants the seat on the push webhook (or its next poll).".to_string()
        }
        (Kind::Release, true) => {
            " The controller cancels the seat on the push webhook (or its next poll).".to_string()
        }
        (Kind::Request, false) => {
            format!(" {} already holds a seat; the entry keeps it.", ask.login)
        }
        (Kind::Release, false) => format!(
            " No seat changes now ({} holds none directly, or it is protected).",
            ask.login
        ),
    }
}

fn line_text((a, b): (u32, u32)) -> String {
    if a == b {
        format!("line {a}")
    } else {
        format!("lines {a}-{b}")
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
