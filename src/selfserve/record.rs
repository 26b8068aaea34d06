//! Recording a request in a repository: a commit straight to the ref
//! (`mode: commit`) or a pull request (`mode: pull_request`), through
//! [`RepoApi`]. A file that changes between the read and the write (a stale
//! `sha`) is read again and the request redone on the fresh content, at
//! most [`MAX_ATTEMPTS`] times; nothing is written when validation fails.

use chrono::NaiveDate;

use super::{
    Ask, Checked, Kind, Prepared, Refusal, SelfServeError, Validated, commit_message, validate,
};
use crate::config::{Pos, SelfServeMode};
use crate::github::repo::{
    AutoMerge, FileWrite, MergeRequest, MergeSettings, Merged, NewPull, RefRead, RefWrite, RepoApi,
    RepoRef, Written,
};
use crate::github::{GitHubError, SeatApi};

/// Attempts at one request when the file changes between reading and
/// writing it (a stale `sha`), the first included.
pub const MAX_ATTEMPTS: u32 = 5;

/// Labels put on the pull requests `request` and `release` open.
pub const REQUEST_LABEL: &str = "seatkeeper-request";

/// The label of a request queued at the seat cap
/// (`policy.self_serve.when_full: queue`): seatkeeper never merges a pull
/// request carrying it, and takes it off only when a later `request` for
/// the same login finds room.
pub const WAITING_LABEL: &str = "seatkeeper/waiting-for-room";

/// What a request or release wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The login is already listed: nothing written.
    AlreadyListed {
        /// Where its login is written.
        pos: Pos,
    },
    /// The login is not listed (release): nothing written.
    NotListed,
    /// A local file was edited (`--file`).
    Edited {
        /// Lines the edit touched.
        lines: (u32, u32),
        /// The `expires` written.
        expires: Option<NaiveDate>,
        /// What validation found.
        checked: Checked,
        /// Attempts it took.
        attempts: u32,
    },
    /// A commit on the ref records it (`mode: commit`).
    Committed {
        /// The commit SHA.
        commit: String,
        /// The commit's web address.
        url: Option<String>,
        /// Lines the edit touched.
        lines: (u32, u32),
        /// The `expires` written.
        expires: Option<NaiveDate>,
        /// What validation found.
        checked: Checked,
        /// Attempts it took.
        attempts: u32,
    },
    /// A pull request records it (`mode: pull_request`).
    PullRequest {
        /// Its number.
        number: u64,
        /// Its web address.
        url: String,
        /// The merge commit when seatkeeper merged it.
        merged: Option<String>,
        /// Why it was not merged, when it was not.
        note: Option<String>,
        /// Lines the edit touched.
        lines: (u32, u32),
        /// The `expires` written.
        expires: Option<NaiveDate>,
        /// What validation found (`None` for a pull request that was
        /// already open).
        checked: Option<Checked>,
        /// Attempts it took.
        attempts: u32,
        /// True when it waits for room under the seat cap
        /// ([`WAITING_LABEL`]).
        waiting_for_room: bool,
    },
}

/// Where a request is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    /// The repository holding seats.yaml.
    pub repo: RepoRef,
    /// The path of seats.yaml in it.
    pub path: String,
    /// The branch; the repository's default branch when `None`.
    pub git_ref: Option<String>,
    /// Concurrent look-ups while validating.
    pub concurrency: usize,
}

impl RecordOptions {
    /// How the file is named in messages: as a `--config` source names it
    /// (`github:OWNER/REPO/PATH@REF`).
    pub fn shown(&self, branch: &str) -> String {
        format!("github:{}/{}@{branch}", self.repo, self.path)
    }

    /// [`RecordOptions::shown`] for the ref given or resolved so far.
    pub fn target(&self) -> String {
        match &self.git_ref {
            Some(b) => self.shown(b),
            None => format!("github:{}/{}", self.repo, self.path),
        }
    }
}

fn missing(what: String) -> SelfServeError {
    SelfServeError::from(GitHubError::Config(what))
}

/// Record `ask` in the repository: validate, then commit or open a pull
/// request, per `policy.self_serve.mode` of the file on the ref. Without a
/// ref, the repository's default branch is used and set in `opts`.
pub async fn record(
    seats: &dyn SeatApi,
    repos: &dyn RepoApi,
    ask: &Ask,
    opts: &mut RecordOptions,
) -> Result<Recorded, SelfServeError> {
    // With the branch given, read the repository and the file at once.
    let (info, mut first) = match &opts.git_ref {
        Some(b) => {
            let (info, file) = tokio::join!(
                repos.repository(&opts.repo),
                repos.read_file(&opts.repo, &opts.path, b)
            );
            (info?, Some(file))
        }
        None => (repos.repository(&opts.repo).await?, None),
    };
    let branch = opts
        .git_ref
        .get_or_insert_with(|| info.default_branch.clone())
        .clone();
    let opts = &*opts;
    let repo = &opts.repo;
    if info.can_push == Some(false) {
        return Err(SelfServeError::Refused {
            refusal: Refusal::NoWritePermission,
            message: format!(
                "the token cannot push to {repo} (GitHub reports permissions.push: false), so the request cannot be recorded: nothing was written; use a token or GitHub App with contents: write on {repo}"
            ),
        });
    }
    let shown = opts.shown(&branch);
    for attempt in 1..=MAX_ATTEMPTS {
        let read = match first.take() {
            Some(read) => read,
            None => repos.read_file(repo, &opts.path, &branch).await,
        };
        let Some(file) = read? else {
            // Say which is missing: the branch or the file.
            let what = match repos
                .get_ref(repo, &format!("heads/{branch}"), None)
                .await?
            {
                RefRead::Found { .. } => format!(
                    "{repo} has no file `{}` on `{branch}` (--path): nothing was written",
                    opts.path
                ),
                _ => format!("{repo} has no branch `{branch}` (--ref): nothing was written"),
            };
            return Err(missing(what));
        };
        let text = String::from_utf8_lossy(&file.bytes).into_owned();
        let (edited, lines, expires, checked) =
            match validate(seats, &shown, &text, ask, opts.concurrency).await? {
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
        let policy = edited.file.policy.self_serve;
        let waiting = checked.waiting_for_room.clone();
        // A request queued at the seat cap is only ever a pull request; and
        // once there is room, a queued one for this login is merged rather
        // than committed beside it (which would list the login twice).
        let mode = if waiting.is_some()
            || (policy.when_full == crate::config::WhenFull::Queue
                && policy.mode == SelfServeMode::Commit
                && queued_pull(repos, repo, ask).await?)
        {
            SelfServeMode::PullRequest
        } else {
            policy.mode
        };
        let auto_merge = policy.auto_merge;
        let message = commit_message(ask, &opts.path, expires);
        let outcome = match mode {
            SelfServeMode::Commit => {
                let write = FileWrite {
                    path: &opts.path,
                    branch: &branch,
                    message: &message,
                    content: edited.text.as_bytes(),
                    sha: Some(&file.sha),
                };
                match repos.write_file(repo, &write).await? {
                    Written::Committed { commit, html_url } => Some(Recorded::Committed {
                        commit,
                        url: html_url,
                        lines,
                        expires,
                        checked,
                        attempts: attempt,
                    }),
                    Written::Stale { message } => {
                        tracing::info!(%repo, attempt, %message, "seats.yaml changed since it was read: redoing the request on the fresh content");
                        None
                    }
                }
            }
            SelfServeMode::PullRequest => {
                // Pin the base: the pull request branches from the commit
                // whose file was edited (the file read again there must be
                // the same blob, else redo).
                let head = match repos
                    .get_ref(repo, &format!("heads/{branch}"), None)
                    .await?
                {
                    RefRead::Found { sha, .. } => sha,
                    _ => {
                        return Err(missing(format!(
                            "{repo} has no branch `{branch}` (--ref): nothing was written"
                        )));
                    }
                };
                let pinned = repos.read_file(repo, &opts.path, &head).await?;
                if pinned.is_none_or(|p| p.sha != file.sha) {
                    continue;
                }
                let pr = PullContext {
                    repos,
                    repo,
                    ask,
                    path: &opts.path,
                    base: &branch,
                    base_sha: &head,
                    file_sha: &file.sha,
                    text: &edited.text,
                    message: &message,
                    lines,
                    settings: info.merge,
                    waiting: waiting.as_deref(),
                };
                let waiting_for_room = waiting.is_some();
                pr.open(auto_merge).await?.map(|p| match p {
                    Opened::New {
                        number,
                        url,
                        merged,
                        note,
                    } => Recorded::PullRequest {
                        number,
                        url,
                        merged,
                        note,
                        lines,
                        expires,
                        checked: Some(checked.clone()),
                        attempts: attempt,
                        waiting_for_room,
                    },
                    Opened::Existing { number, url } => Recorded::PullRequest {
                        number,
                        url,
                        merged: None,
                        note: Some(match &waiting {
                            Some(why) => format!(
                                "a pull request for this is already open, waiting for room: {why}"
                            ),
                            None => "a pull request for this is already open".into(),
                        }),
                        lines,
                        expires,
                        checked: None,
                        attempts: attempt,
                        waiting_for_room,
                    },
                })
            }
        };
        if let Some(done) = outcome {
            return Ok(done);
        }
        // A short pause so two writers racing on one file do not stay in lockstep.
        tokio::time::sleep(std::time::Duration::from_millis(
            rand::random_range(20..120) * u64::from(attempt),
        ))
        .await;
    }
    Err(SelfServeError::Contended {
        path: shown,
        attempts: MAX_ATTEMPTS,
    })
}

/// The branch a request or release for `ask` is proposed from.
fn request_branch(ask: &Ask) -> String {
    format!(
        "seatkeeper/{}-{}",
        ask.kind.as_str(),
        ask.login.to_ascii_lowercase()
    )
}

/// True when a pull request for `ask` waits for room (open, from its
/// branch, labelled [`WAITING_LABEL`]).
async fn queued_pull(repos: &dyn RepoApi, repo: &RepoRef, ask: &Ask) -> Result<bool, GitHubError> {
    let open = repos
        .list_pulls(repo, Some(&request_branch(ask)), "open")
        .await?;
    Ok(open.iter().any(|p| has_waiting_label(&p.labels)))
}

fn has_waiting_label(labels: &[String]) -> bool {
    labels.iter().any(|l| l.eq_ignore_ascii_case(WAITING_LABEL))
}

/// What opening a pull request gave.
enum Opened {
    New {
        number: u64,
        url: String,
        merged: Option<String>,
        note: Option<String>,
    },
    Existing {
        number: u64,
        url: String,
    },
}

/// A pull request to settle: opened by this run, or queued earlier.
struct Pull<'a> {
    number: u64,
    node_id: &'a str,
    url: String,
    head: &'a str,
}

struct PullContext<'a> {
    repos: &'a dyn RepoApi,
    repo: &'a RepoRef,
    ask: &'a Ask,
    path: &'a str,
    base: &'a str,
    base_sha: &'a str,
    file_sha: &'a str,
    text: &'a str,
    message: &'a str,
    lines: (u32, u32),
    settings: MergeSettings,
    /// Why the request waits for room under the seat cap, when it does.
    waiting: Option<&'a str>,
}

/// Reads of a new pull request's mergeability (GitHub computes it in the
/// background: `mergeable: null` at first), 250 ms apart: at most ~1.5 s.
const MERGEABILITY_READS: u32 = 6;

impl PullContext<'_> {
    fn branch(&self) -> String {
        request_branch(self.ask)
    }

    /// Open the pull request (`None`: the branch moved under us, redo), and
    /// merge it when policy allows and its only change is the one entry.
    async fn open(&self, auto_merge: bool) -> Result<Option<Opened>, GitHubError> {
        let (repos, repo) = (self.repos, self.repo);
        let mut branch = self.branch();
        if let Some(p) = repos
            .list_pulls(repo, Some(&branch), "open")
            .await?
            .into_iter()
            .next()
        {
            // Anyone who can push may open a pull request from this branch
            // name: it is this request, pending, only when seatkeeper's own
            // identity opened it and it changes the entry and nothing else.
            // Anything else is never adopted.
            let me = repos.own_login().await?;
            let author = p.user.as_deref().unwrap_or("an unknown user");
            if !author.eq_ignore_ascii_case(&me) {
                return Err(GitHubError::Config(format!(
                    "pull request #{} from `{branch}` in {repo} is already open, opened by @{author}, not by seatkeeper's own identity (@{me}): seatkeeper does not adopt a pull request it did not make, so nothing was written (close #{} or review it, then ask again)",
                    p.number, p.number
                )));
            }
            if let Some(why) = self.only_change(p.number).await? {
                return Err(GitHubError::Config(format!(
                    "pull request #{} from `{branch}` in {repo} is already open, and {why}: seatkeeper does not adopt a pull request it did not make, so nothing was written (close #{} or review it, then ask again)",
                    p.number, p.number
                )));
            }
            if self.waiting.is_none() && has_waiting_label(&p.labels) {
                // There is room now: the queued request goes ahead as a
                // new one would (merged per policy, or left for review).
                repos.remove_label(repo, p.number, WAITING_LABEL).await?;
                let pull = Pull {
                    number: p.number,
                    node_id: &p.node_id,
                    url: p.html_url.clone(),
                    head: &p.head_sha,
                };
                return self.settle(auto_merge, pull).await.map(Some);
            }
            if self.waiting.is_some() && !has_waiting_label(&p.labels) {
                // Full now: a pending request says so too.
                repos.add_labels(repo, p.number, &[WAITING_LABEL]).await?;
            }
            return Ok(Some(Opened::Existing {
                number: p.number,
                url: p.html_url,
            }));
        }
        // The name is taken (a closed request's branch, or someone else's):
        // never reset it; this run gets a branch of its own.
        if let RefWrite::Refused { .. } = repos
            .create_ref(repo, &format!("refs/heads/{branch}"), self.base_sha)
            .await?
        {
            branch = format!("{branch}-{:08x}", rand::random::<u32>());
            if let RefWrite::Refused { message } = repos
                .create_ref(repo, &format!("refs/heads/{branch}"), self.base_sha)
                .await?
            {
                return Err(GitHubError::Config(format!(
                    "cannot create the branch `{branch}` in {repo}: {message}"
                )));
            }
        }
        let write = FileWrite {
            path: self.path,
            branch: &branch,
            message: self.message,
            content: self.text.as_bytes(),
            sha: Some(self.file_sha),
        };
        let head = match repos.write_file(repo, &write).await? {
            Written::Committed { commit, .. } => commit,
            Written::Stale { .. } => return Ok(None),
        };
        let (subject, body) = self
            .message
            .split_once("\n\n")
            .unwrap_or((self.message, ""));
        let pr_body = format!(
            "{body}\n\n<!-- seatkeeper:{} {} -->\n",
            self.ask.kind.as_str(),
            self.ask.login
        );
        let pr = repos
            .create_pull(
                repo,
                &NewPull {
                    title: subject,
                    body: pr_body.trim_start(),
                    head: &branch,
                    base: self.base,
                },
            )
            .await?;
        let labels: &[&str] = match self.waiting {
            Some(_) => &[REQUEST_LABEL, WAITING_LABEL],
            None => &[REQUEST_LABEL],
        };
        repos.add_labels(repo, pr.number, labels).await?;
        let pull = Pull {
            number: pr.number,
            node_id: &pr.node_id,
            url: pr.html_url.clone(),
            head: &head,
        };
        self.settle(auto_merge, pull).await.map(Some)
    }

    /// Merge a pull request of this run (or a queued one that now has
    /// room) when policy allows, or say why it waits.
    async fn settle(&self, auto_merge: bool, pr: Pull<'_>) -> Result<Opened, GitHubError> {
        let (repos, repo) = (self.repos, self.repo);
        let (subject, body) = self
            .message
            .split_once("\n\n")
            .unwrap_or((self.message, ""));
        let head = pr.head;
        let why_not = if let Some(why) = self.waiting {
            Some(format!(
                "it waits for room (label `{WAITING_LABEL}`): {why}. seatkeeper never merges it while the cap is reached; ask again once seats are free and it goes ahead"
            ))
        } else if !auto_merge {
            Some("policy.self_serve.auto_merge is false: it waits for review".to_string())
        } else if !self.ask.is_own() {
            Some(format!(
                "{} asked for {}: a request for someone else waits for review",
                self.ask.requester, self.ask.login
            ))
        } else {
            self.only_change(pr.number).await?
        };
        if let Some(note) = why_not {
            return Ok(Opened::New {
                number: pr.number,
                url: pr.url,
                merged: None,
                note: Some(note),
            });
        }
        let done = |merged: Option<String>, note: String| {
            Ok(Opened::New {
                number: pr.number,
                url: pr.url.clone(),
                merged,
                note: Some(note),
            })
        };
        let Some(method) = self.settings.method() else {
            return done(
                None,
                format!(
                    "{repo} allows no merge method (allow_squash_merge, allow_merge_commit and allow_rebase_merge are all false): someone with admin rights must merge it"
                ),
            );
        };
        // Auto-merge first, when the repository allows it: GitHub then
        // merges the pull request itself once its reviews and checks pass.
        let mut auto = None;
        if self.settings.allow_auto_merge == Some(true) {
            match repos.enable_auto_merge(repo, pr.node_id, method).await? {
                AutoMerge::Enabled => {
                    return done(
                        None,
                        format!(
                            "auto-merge is on ({method}): GitHub merges it as soon as its required reviews and checks pass"
                        ),
                    );
                }
                // "Pull request is in clean status": nothing blocks it, so
                // it is merged now, below.
                AutoMerge::Refused { message } => auto = Some(message),
            }
        }
        let state = self.mergeability(pr.number).await?;
        let merge = MergeRequest {
            sha: head,
            method,
            title: Some(subject),
            message: Some(body.trim()),
        };
        match repos.merge_pull(repo, pr.number, &merge).await? {
            Merged::Merged { sha } => Ok(Opened::New {
                number: pr.number,
                url: pr.url,
                merged: Some(sha),
                note: None,
            }),
            Merged::NotMerged { status, message } => done(
                None,
                why_not_merged(
                    status,
                    &message,
                    state.as_deref(),
                    self.settings.allow_auto_merge,
                    auto.as_deref(),
                ),
            ),
        }
    }

    /// `mergeable_state` once GitHub has computed it (bounded wait; `None`
    /// when it is still computing).
    async fn mergeability(&self, number: u64) -> Result<Option<String>, GitHubError> {
        for read in 0..MERGEABILITY_READS {
            let p = self.repos.get_pull(self.repo, number).await?;
            if p.mergeable.is_some() {
                return Ok(p.mergeable_state);
            }
            if read + 1 < MERGEABILITY_READS {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
        Ok(None)
    }

    /// `None` when the pull request changes only the entry's lines of
    /// seats.yaml (a line of a flow list `[a, b]` counts as removed and
    /// added); else why not.
    async fn only_change(&self, number: u64) -> Result<Option<String>, GitHubError> {
        let files = self.repos.pull_files(self.repo, number).await?;
        let span = u64::from(self.lines.1.saturating_sub(self.lines.0) + 1);
        let ok = match files.as_slice() {
            [f] if f.filename == self.path => {
                let (grown, shrunk) = match self.ask.kind {
                    Kind::Request => (f.additions, f.deletions),
                    Kind::Release => (f.deletions, f.additions),
                };
                grown >= 1 && grown <= span && shrunk <= grown
            }
            _ => false,
        };
        Ok((!ok).then(|| {
            format!(
                "the pull request changes more than the one entry ({} file(s)), so it waits for review",
                files.len()
            )
        }))
    }
}

/// The real reason a merge was refused, from GitHub's 405/409/422 message
/// and `mergeable_state`, with what happens next.
fn why_not_merged(
    status: u16,
    message: &str,
    state: Option<&str>,
    auto_allowed: Option<bool>,
    auto_refused: Option<&str>,
) -> String {
    let lower = message.to_ascii_lowercase();
    let state = state.map_or(String::new(), |s| format!("; mergeable_state: {s}"));
    let auto = match (auto_allowed, auto_refused) {
        (Some(true), Some(m)) => format!(" (auto-merge was refused: {m})"),
        (Some(true), None) => String::new(),
        _ => " (turn on \"Allow auto-merge\" in the repository's settings and GitHub merges such requests itself once they pass)".to_string(),
    };
    // 409 first: "Head branch was modified. Review and try the merge again."
    // names a review but is not about one.
    if status == 409 || lower.contains("head branch was modified") {
        format!(
            "not merged: the pull request's branch moved ({status} {message}): review the new commits and merge by hand"
        )
    } else if lower.contains("review") {
        format!(
            "not merged: a required review is missing ({status} {message}{state}): a reviewer with write access must approve it{auto}"
        )
    } else if lower.contains("status check") || lower.contains("checks") {
        format!(
            "not merged: a required check has not passed ({status} {message}{state}): it can be merged once the check passes{auto}"
        )
    } else if lower.contains("not allowed") {
        format!(
            "not merged: the repository's settings refuse that merge method ({status} {message}): allow it, or merge by hand"
        )
    } else {
        format!("not merged: GitHub answered {status} {message}{state}")
    }
}

#[cfg(test)]
mod merge_tests {
    use super::why_not_merged;

    #[test]
    fn each_refusal_names_its_real_reason() {
        #[rustfmt::skip]
        let cases = [
            (405, "At least 1 approving review is required by reviewers with write access.", Some("blocked"), None, "a required review is missing"),
            (405, "Required status check \"ci\" is expected.", Some("blocked"), None, "a required check has not passed"),
            (405, "Squash merges are not allowed on this repository.", Some("clean"), None, "refuse that merge method"),
            (409, "Head branch was modified. Review and try the merge again.", None, None, "branch moved"),
        ];
        for (status, message, state, auto, want) in cases {
            let why = why_not_merged(status, message, state, auto, None);
            assert!(why.contains(want) && why.contains(message), "{why}");
        }
        assert!(
            why_not_merged(
                405,
                "Required status check \"ci\" is expected.",
                None,
                Some(false),
                None
            )
            .contains("Allow auto-merge")
        );
    }
}
