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
    FileWrite, MergeRequest, Merged, NewPull, RefRead, RefWrite, RepoApi, RepoRef, Written,
};
use crate::github::{GitHubError, SeatApi};

/// Attempts at one request when the file changes between reading and
/// writing it (a stale `sha`), the first included.
pub const MAX_ATTEMPTS: u32 = 5;

/// Labels put on the pull requests `request` and `release` open.
pub const REQUEST_LABEL: &str = "seatkeeper-request";

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
        let mode = edited.file.policy.self_serve.mode;
        let auto_merge = edited.file.policy.self_serve.auto_merge;
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
                };
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
                    },
                    Opened::Existing { number, url } => Recorded::PullRequest {
                        number,
                        url,
                        merged: None,
                        note: Some("a pull request for this is already open".into()),
                        lines,
                        expires,
                        checked: None,
                        attempts: attempt,
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
}

impl PullContext<'_> {
    fn branch(&self) -> String {
        format!(
            "seatkeeper/{}-{}",
            self.ask.kind.as_str(),
            self.ask.login.to_ascii_lowercase()
        )
    }

    /// Open the pull request (`None`: the branch moved under us, redo), and
    /// merge it when policy allows and its only change is the one entry.
    async fn open(&self, auto_merge: bool) -> Result<Option<Opened>, GitHubError> {
        let (repos, repo) = (self.repos, self.repo);
        let branch = self.branch();
        if let Some(p) = repos
            .list_pulls(repo, Some(&branch), "open")
            .await?
            .into_iter()
            .next()
        {
            return Ok(Some(Opened::Existing {
                number: p.number,
                url: p.html_url,
            }));
        }
        // A branch left from an earlier, closed request is reset to the base.
        if let RefWrite::Refused { .. } = repos
            .create_ref(repo, &format!("refs/heads/{branch}"), self.base_sha)
            .await?
            && let RefWrite::Refused { message } = repos
                .update_ref(repo, &format!("heads/{branch}"), self.base_sha, true)
                .await?
        {
            return Err(GitHubError::Config(format!(
                "cannot create or reset the branch `{branch}` in {repo}: {message}"
            )));
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
        repos.add_labels(repo, pr.number, &[REQUEST_LABEL]).await?;
        let why_not = if !auto_merge {
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
            return Ok(Some(Opened::New {
                number: pr.number,
                url: pr.html_url,
                merged: None,
                note: Some(note),
            }));
        }
        let merge = MergeRequest {
            sha: &head,
            method: "squash",
            title: Some(subject),
            message: Some(body.trim()),
        };
        let (merged, note) = match repos.merge_pull(repo, pr.number, &merge).await? {
            Merged::Merged { sha } => (Some(sha), None),
            Merged::NotMerged { status, message } => (
                None,
                Some(format!(
                    "GitHub did not merge it ({status} {message}): it waits for review"
                )),
            ),
        };
        Ok(Some(Opened::New {
            number: pr.number,
            url: pr.html_url,
            merged,
            note,
        }))
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
                "the pull request changes more than the one entry ({} file(s)): it waits for review",
                files.len()
            )
        }))
    }
}
