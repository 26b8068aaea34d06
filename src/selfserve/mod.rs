//! Self-serve seat requests with a git record: `seatkeeper request`,
//! `release` and `reclaim`.
//!
//! seats.yaml stays the only truth. A request validates the login exactly
//! as `plan --strict` would (it plans the edited file against the live seats
//! and refuses when the plan is guarded or the login would be skipped as
//! ineligible), edits the file format-preservingly ([`crate::edit`]: only the
//! new entry's lines change) and records the change: a commit through the
//! Contents API, a pull request, or a local file. The controller applies it
//! on the push webhook (or a short poll of the ref), so the seat follows in
//! seconds and the commit says who asked, when and how.
//!
//! Split by responsibility: [`prepare`] decides what the edit is (pure:
//! policy, the edit itself), [`check`] validates it against GitHub through
//! [`SeatApi`], [`record()`] writes it to a repository through
//! [`crate::github::repo::RepoApi`] (a commit, or a pull request, retrying a
//! stale `sha` on the fresh content), [`edit_local`] records it in a local
//! file, [`reclaim`] reminds idle people and then proposes removing them,
//! and [`args`] is the command line and its output.
//!
//! Pull requests and auto-merge: with `mode: pull_request` and `auto_merge:
//! true`, a pull request whose only change is the requester's own validated
//! entry is merged. When the repository allows auto-merge
//! (`allow_auto_merge`), seatkeeper turns it on with GraphQL's
//! `enablePullRequestAutoMerge` (REST has no such call) and GitHub merges it
//! once its required reviews and checks pass; otherwise (or when GitHub says
//! nothing blocks it) seatkeeper merges it through the REST merge endpoint,
//! pinned to the head SHA it wrote, with a method the repository allows,
//! after a bounded wait for GitHub's mergeability. A refusal is reported with
//! its real reason (a required review, a pending check, a disallowed method).
//! An open pull request from the request's branch is adopted only when
//! seatkeeper's own identity opened it ([`crate::github::repo::RepoApi::own_login`])
//! and its only change is the entry.
//!
//! The seat cap: no self-serve write can make the controller's next plan
//! guarded. A request over the cap is refused, or with
//! `policy.self_serve.when_full: queue` opened as a pull request labelled
//! [`WAITING_LABEL`] that is never merged while the cap holds (the branch the
//! controller reads never carries it); a later request for the same login
//! that finds room takes the label off and settles it like a new one.

pub mod args;
mod budget;
mod output;
pub mod reclaim;
mod record;
mod validate;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::config::{ConfigError, Pos, SeatsFile, SelfServeMode, login_problem};
use crate::edit::{Edit, EditError, NewUser};
use crate::github::{GitHubError, SeatApi};
use crate::source::{Loaded, git_blob_sha};

pub use output::Report;
pub use record::{MAX_ATTEMPTS, REQUEST_LABEL, RecordOptions, Recorded, WAITING_LABEL, record};
pub use validate::{Checked, LoginFacts, Validated, check, read_facts, validate};

/// Longest `--note` accepted (a note is for reviewers, not an essay).
pub const MAX_NOTE_CHARS: usize = 200;
/// Longest `--source` kept in the commit message.
pub const MAX_SOURCE_CHARS: usize = 200;

/// Asking for a seat, or giving one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `seatkeeper request`: add the login.
    Request,
    /// `seatkeeper release`: remove the login.
    Release,
}

impl Kind {
    /// The command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Release => "release",
        }
    }
}

/// What is asked, by whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    /// Request or release.
    pub kind: Kind,
    /// The login whose seat it is.
    pub login: String,
    /// Who asks (the login itself unless policy allows asking for others).
    pub requester: String,
    /// `note:` of a new entry.
    pub note: Option<String>,
    /// `expires:` of a new entry (else `policy.self_serve.default_expiry_days`).
    pub expires: Option<NaiveDate>,
    /// Where the request came from (an issue URL, a chat message), for the record.
    pub source: Option<String>,
    /// The date to plan for (UTC today unless given).
    pub today: NaiveDate,
    /// The operator's bounds, applied exactly as the controller applies
    /// them: no self-serve write can leave a plan the controller refuses.
    pub bounds: crate::reconcile::Bounds,
    /// `request --budget` / `release --budget`: change the login's
    /// individual AI-credit budget instead of its seat.
    pub budget: Option<crate::edit::BudgetEdit>,
}

impl Ask {
    /// True when the requester asks for their own seat (logins ignore case).
    pub fn is_own(&self) -> bool {
        self.login.eq_ignore_ascii_case(&self.requester)
    }

    /// `--source`, on one line, without control characters, bounded: it goes
    /// into a commit message and must not forge trailers.
    pub fn source_line(&self) -> Option<String> {
        let s = self.source.as_deref()?;
        let clean: String = s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        (!clean.is_empty()).then(|| clean.chars().take(MAX_SOURCE_CHARS).collect())
    }
}

/// Why a request was refused. Nothing is written when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The login (or the requester's) is not a GitHub login.
    MalformedLogin,
    /// No GitHub user has the login.
    UnknownUser,
    /// The user is not a member of the org.
    NotMember,
    /// The user is in none of `policy.eligible_teams`.
    NotEligible,
    /// The plan of the edited file is guarded (seat cap, removals, empty file).
    Guarded,
    /// A requester asked for someone else and policy does not allow it.
    ForOthers,
    /// `--note` or `--expires` is not acceptable.
    BadEntry,
    /// The token cannot write to the repository.
    NoWritePermission,
    /// The file or the change is outside the operator's bounds
    /// (`--allowed-org`, `--allowed-assign-team`, ...).
    OperatorBounds,
}

impl Refusal {
    /// The JSON label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::MalformedLogin => "malformed_login",
            Refusal::UnknownUser => "unknown_user",
            Refusal::NotMember => "not_member",
            Refusal::NotEligible => "not_eligible",
            Refusal::Guarded => "guarded",
            Refusal::ForOthers => "for_others",
            Refusal::BadEntry => "bad_entry",
            Refusal::NoWritePermission => "no_write_permission",
            Refusal::OperatorBounds => "operator_bounds",
        }
    }
}

/// Why a request or release did not happen. Each message names the problem
/// and what to do; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum SelfServeError {
    /// The request breaks a rule (see [`Refusal`]).
    #[error("{message}")]
    Refused {
        /// Which rule.
        refusal: Refusal,
        /// What is wrong, for the requester.
        message: String,
    },
    /// seats.yaml (on the ref, or the local file) does not parse or validate.
    #[error(
        "{0}\nseats.yaml must be fixed before seats can be requested (run `seatkeeper validate`)"
    )]
    Invalid(ConfigError),
    /// The editor would not change this file safely.
    #[error("{0}")]
    Edit(EditError),
    /// GitHub failed.
    #[error(transparent)]
    GitHub(Box<GitHubError>),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file kept changing under us.
    #[error(
        "{path} changed {attempts} times between reading and writing it (concurrent edits): nothing was written; try again"
    )]
    Contended {
        /// The file.
        path: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl SelfServeError {
    /// A short, bounded label for JSON output.
    pub fn label(&self) -> &'static str {
        match self {
            SelfServeError::Refused { refusal, .. } => refusal.as_str(),
            SelfServeError::Invalid(_) => "invalid_file",
            SelfServeError::Edit(_) => "uneditable_file",
            SelfServeError::GitHub(e) => e.metric_label(),
            SelfServeError::Io { .. } => "io",
            SelfServeError::Contended { .. } => "contended",
        }
    }

    fn refused(refusal: Refusal, message: impl Into<String>) -> SelfServeError {
        SelfServeError::Refused {
            refusal,
            message: message.into(),
        }
    }
}

impl From<GitHubError> for SelfServeError {
    fn from(e: GitHubError) -> Self {
        SelfServeError::GitHub(Box::new(e))
    }
}

impl From<crate::Error> for SelfServeError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Config(c) => SelfServeError::Invalid(c),
            crate::Error::GitHub(g) => SelfServeError::GitHub(g),
            crate::Error::Io { path, source } => SelfServeError::Io { path, source },
            other => GitHubError::Config(other.to_string()).into(),
        }
    }
}

/// The edit a request or release makes to one version of seats.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// The file changes: validate, then record it.
    Change {
        /// The edited file, parsed (for validation).
        edited: Box<Loaded>,
        /// 1-based lines the edit touched (of the new text for an addition,
        /// of the old text for a removal).
        lines: (u32, u32),
        /// The `expires` written, when any.
        expires: Option<NaiveDate>,
    },
    /// A request for a login already listed: nothing to do.
    AlreadyListed {
        /// Where the entry's login is written.
        pos: Pos,
    },
    /// A release of a login that is not listed: nothing to do.
    NotListed,
}

/// Decide the edit `ask` makes to `text` (read from `path`): parse it, apply
/// policy (who may ask, expiry), edit it. Pure: no I/O.
pub fn prepare(path: &str, text: &str, ask: &Ask) -> Result<Prepared, SelfServeError> {
    let file = admit(path, text, ask)?;
    let edit = match ask.kind {
        Kind::Request => {
            let (expires, note) = entry(&file, ask)?;
            let user = NewUser {
                login: &ask.login,
                note,
                expires,
            };
            (crate::edit::add_user(path, text, &user), expires)
        }
        Kind::Release => (crate::edit::remove_user(path, text, &ask.login), None),
    };
    let (result, expires) = edit;
    match result.map_err(edit_error)? {
        Edit::AlreadyListed { pos } => Ok(Prepared::AlreadyListed { pos }),
        Edit::NotListed => Ok(Prepared::NotListed),
        Edit::Changed { text, lines } => {
            let sha = git_blob_sha(text.as_bytes());
            let edited = Loaded::parse(path, text.as_bytes(), Some(sha))?;
            Ok(Prepared::Change {
                edited: Box::new(edited),
                lines: (*lines.start(), *lines.end()),
                expires,
            })
        }
    }
}

/// The checks that need no edit and no request: both logins are GitHub
/// logins, the file parses and validates, and policy lets the requester ask.
/// Returns the parsed file.
pub fn admit(path: &str, text: &str, ask: &Ask) -> Result<SeatsFile, SelfServeError> {
    for (what, login) in [("login", &ask.login), ("requester", &ask.requester)] {
        if let Some(problem) = login_problem(login) {
            return Err(SelfServeError::refused(
                Refusal::MalformedLogin,
                format!("`{login}` is not a GitHub login ({what}): it {problem}"),
            ));
        }
    }
    let file = SeatsFile::parse(path, text.as_bytes()).map_err(SelfServeError::Invalid)?;
    ask.bounds
        .check_file(&file)
        .map_err(|e| SelfServeError::refused(Refusal::OperatorBounds, e.to_string()))?;
    let policy = file.policy.self_serve;
    if !ask.is_own() && !policy.allow_requests_for_others {
        let verb = match ask.kind {
            Kind::Request => "ask for",
            Kind::Release => "release",
        };
        return Err(SelfServeError::refused(
            Refusal::ForOthers,
            format!(
                "{} may not {verb} a seat for {}: {path} does not set `policy.self_serve.allow_requests_for_others: true`, so only {} can",
                ask.requester, ask.login, ask.login
            ),
        ));
    }
    Ok(file)
}

/// The `expires` and `note` a request writes: `--expires`, else today plus
/// `policy.self_serve.default_expiry_days`; refused when already past, or
/// when the note is not one short line.
pub fn entry<'a>(
    file: &SeatsFile,
    ask: &'a Ask,
) -> Result<(Option<NaiveDate>, Option<&'a str>), SelfServeError> {
    let policy = file.policy.self_serve;
    let expires = match ask.expires {
        Some(d) => Some(d),
        None => policy
            .default_expiry_days
            .and_then(|n| ask.today.checked_add_days(Days::new(u64::from(n)))),
    };
    if let Some(d) = expires
        && d < ask.today
    {
        return Err(SelfServeError::refused(
            Refusal::BadEntry,
            format!(
                "--expires {d} is in the past (today is {}): a seat that has already expired is never granted",
                ask.today
            ),
        ));
    }
    let note = match ask.note.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            return Err(SelfServeError::refused(
                Refusal::BadEntry,
                format!("--note is longer than {MAX_NOTE_CHARS} characters"),
            ));
        }
        Some(n) if n.chars().any(char::is_control) => {
            return Err(SelfServeError::refused(
                Refusal::BadEntry,
                "--note must be one line of text",
            ));
        }
        Some(n) => Some(n),
    };
    Ok((expires, note))
}

pub(super) fn edit_error(e: EditError) -> SelfServeError {
    match e {
        EditError::Invalid(c) => SelfServeError::Invalid(c),
        EditError::InvalidEntry { problem, login, .. } => SelfServeError::refused(
            Refusal::BadEntry,
            format!("cannot add `{login}`: {problem}"),
        ),
        other => SelfServeError::Edit(other),
    }
}

/// The commit message of a request or release: a subject naming the login,
/// a sentence naming the requester and the source, and trailers a script
/// can read back (`git log --format=%(trailers)`).
pub fn commit_message(ask: &Ask, path: &str, expires: Option<NaiveDate>) -> String {
    if let Some(b) = ask.budget {
        return budget::commit_message(ask, path, b);
    }
    let subject = match ask.kind {
        Kind::Request => format!("{path}: grant a Copilot seat to {}", ask.login),
        Kind::Release => format!("{path}: release the Copilot seat of {}", ask.login),
    };
    let mut body = match ask.kind {
        Kind::Request => format!("Requested by @{}", ask.requester),
        Kind::Release => format!("Released by @{}", ask.requester),
    };
    let source = ask.source_line();
    if let Some(s) = &source {
        body.push_str(&format!(" via {s}"));
    }
    body.push_str(" with `seatkeeper ");
    body.push_str(ask.kind.as_str());
    body.push_str("`.");
    let mut trailers = vec![
        format!("Seatkeeper-Action: {}", ask.kind.as_str()),
        format!("Seatkeeper-Login: {}", ask.login),
        format!("Requested-by: {}", ask.requester),
    ];
    if let Some(d) = expires {
        trailers.push(format!("Seatkeeper-Expires: {d}"));
    }
    if let Some(s) = source {
        trailers.push(format!("Seatkeeper-Source: {s}"));
    }
    format!("{subject}\n\n{body}\n\n{}\n", trailers.join("\n"))
}

/// `--file`: edit a local seats.yaml in place (for a pull request made by
/// hand), with the same rules. The file is re-read just before it is
/// replaced: if it changed meanwhile, the edit is redone on the new text.
pub async fn edit_local(
    api: &dyn SeatApi,
    path: &std::path::Path,
    ask: &Ask,
    concurrency: usize,
) -> Result<Recorded, SelfServeError> {
    let shown = path.display().to_string();
    let io = |source| SelfServeError::Io {
        path: shown.clone(),
        source,
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let bytes = crate::config::read_file(path).map_err(SelfServeError::from)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (edited, lines, expires, checked) =
            match validate(api, &shown, &text, ask, concurrency).await? {
                Validated::NoOp(Prepared::AlreadyListed { pos }) => {
                    return Ok(Recorded::AlreadyListed { pos });
                }
                Validated::NoOp(_) => return Ok(Recorded::NotListed),
                Validated::Change {
                    edited,
                    lines,
                    expires,
                    checked,
                } => (edited, lines, expires, checked),
            };
        // A local file may be the very file a controller reads: a request
        // over the seat cap is never written to it, queued or not.
        if let Some(why) = &checked.waiting_for_room {
            return Err(SelfServeError::refused(
                Refusal::Guarded,
                format!(
                    "adding {} would leave a plan the controller refuses to apply: {why} (policy.self_serve.when_full: queue queues a request only as a pull request, with --repo)",
                    ask.login
                ),
            ));
        }
        let now = std::fs::read(path).map_err(io)?;
        if now != bytes {
            tracing::info!(path = %shown, attempt, "seats.yaml changed while validating: redoing the edit");
            continue;
        }
        let tmp = path.with_extension("yaml.seatkeeper-tmp");
        std::fs::write(&tmp, edited.text.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        return Ok(Recorded::Edited {
            lines,
            expires,
            checked,
            attempts: attempt,
        });
    }
    Err(SelfServeError::Contended {
        path: shown,
        attempts: MAX_ATTEMPTS,
    })
}

/// Which way a request goes, from the file's policy.
pub fn mode_of(file: &SeatsFile) -> SelfServeMode {
    file.policy.self_serve.mode
}

#[cfg(test)]
mod tests;
