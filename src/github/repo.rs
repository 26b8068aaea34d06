//! Repository writes, the sibling of [`super::SeatApi`]: the [`RepoApi`]
//! trait over the Contents, Git refs, Pulls and Issues REST APIs, and its
//! domain types. `seatkeeper request`, `release` and `reclaim` record their
//! changes through it; the octocrab client implements it in
//! `client/repo.rs`, and tests run it against the simulator over HTTP.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::GitHubError;

/// A repository, `OWNER/REPO`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoRef {
    /// The owner (an org or a user).
    pub owner: String,
    /// The repository's name.
    pub name: String,
}

impl std::fmt::Display for RepoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl std::str::FromStr for RepoRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 100
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        match s.split_once('/') {
            Some((o, n)) if ok(o) && ok(n) && n != "." && n != ".." => Ok(RepoRef {
                owner: o.to_string(),
                name: n.to_string(),
            }),
            _ => Err(format!(
                "`{s}` is not a repository: write OWNER/REPO, e.g. acme/copilot-seats"
            )),
        }
    }
}

/// What `GET /repos/{owner}/{repo}` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// `owner/name` as GitHub spells it.
    pub full_name: String,
    /// The default branch.
    pub default_branch: String,
    /// Whether the token may push (`permissions.push`), when GitHub says.
    pub can_push: Option<bool>,
    /// The repository's web address.
    pub html_url: String,
    /// How pull requests may be merged, when GitHub says (a token without
    /// admin rights may not be shown them).
    pub merge: MergeSettings,
}

/// The repository's merge settings (`allow_auto_merge`, `allow_squash_merge`,
/// `allow_merge_commit`, `allow_rebase_merge`); `None`: not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeSettings {
    /// "Allow auto-merge".
    pub allow_auto_merge: Option<bool>,
    /// Squash merges.
    pub allow_squash_merge: Option<bool>,
    /// Merge commits.
    pub allow_merge_commit: Option<bool>,
    /// Rebase merges.
    pub allow_rebase_merge: Option<bool>,
}

impl MergeSettings {
    /// The merge method to use: squash (one commit per request) when
    /// allowed or not reported, else a merge commit, else a rebase; `None`
    /// when the repository allows none.
    pub fn method(&self) -> Option<&'static str> {
        let ok = |v: Option<bool>| v != Some(false);
        if ok(self.allow_squash_merge) {
            Some("squash")
        } else if ok(self.allow_merge_commit) {
            Some("merge")
        } else if ok(self.allow_rebase_merge) {
            Some("rebase")
        } else {
            None
        }
    }
}

/// The outcome of GraphQL `enablePullRequestAutoMerge`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoMerge {
    /// Auto-merge is on: GitHub merges the pull request once its required
    /// reviews and checks pass.
    Enabled,
    /// GitHub refused (its GraphQL error message), e.g. "Pull request is in
    /// clean status" (nothing blocks it: merge it now) or "Auto merge is not
    /// allowed for this repository".
    Refused {
        /// GitHub's message.
        message: String,
    },
}

/// A file read with its blob SHA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// The content.
    pub bytes: Vec<u8>,
    /// The git blob SHA (the precondition of a write).
    pub sha: String,
}

/// A file to write with `PUT /repos/{owner}/{repo}/contents/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite<'a> {
    /// The path in the repository.
    pub path: &'a str,
    /// The branch to commit to.
    pub branch: &'a str,
    /// The commit message.
    pub message: &'a str,
    /// The new content.
    pub content: &'a [u8],
    /// The blob SHA the file must still have (`None` to create it).
    pub sha: Option<&'a str>,
}

/// The outcome of a file write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Committed.
    Committed {
        /// The new commit's SHA.
        commit: String,
        /// The commit's web address, when GitHub sent it.
        html_url: Option<String>,
    },
    /// The file changed since it was read (409, or a 422 saying the SHA does
    /// not match): read it again and redo the edit.
    Stale {
        /// GitHub's message.
        message: String,
    },
}

/// A git reference read with `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefRead {
    /// 304: it still points where the ETag said (costs no rate limit).
    NotModified,
    /// Where it points.
    Found {
        /// The commit SHA.
        sha: String,
        /// The ETag for the next read.
        etag: Option<String>,
    },
    /// No such reference.
    Missing,
}

/// The outcome of a reference write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefWrite {
    /// Done.
    Done,
    /// Refused with 422 (already exists, not a fast-forward, ...).
    Refused {
        /// GitHub's message.
        message: String,
    },
}

/// A pull request, the parts seatkeeper uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub html_url: String,
    /// `open` or `closed`.
    pub state: String,
    /// Merged (only in the full object; false in lists).
    pub merged: bool,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
    /// The head branch.
    pub head_ref: String,
    /// The head commit.
    pub head_sha: String,
    /// The base branch.
    pub base_ref: String,
    /// Label names.
    pub labels: Vec<String>,
    /// Author login.
    pub user: Option<String>,
    /// The GraphQL node id (what `enablePullRequestAutoMerge` takes).
    pub node_id: String,
    /// `mergeable` (full object only): `None` while GitHub computes it.
    pub mergeable: Option<bool>,
    /// `mergeable_state` (full object only): `clean`, `blocked`, `behind`,
    /// `dirty`, `unstable`, `unknown`...
    pub mergeable_state: Option<String>,
}

/// A pull request to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPull<'a> {
    /// Title.
    pub title: &'a str,
    /// Body (Markdown).
    pub body: &'a str,
    /// The head branch.
    pub head: &'a str,
    /// The base branch.
    pub base: &'a str,
}

/// Changes to an issue or pull request; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueChange<'a> {
    /// New title.
    pub title: Option<&'a str>,
    /// New body.
    pub body: Option<&'a str>,
    /// `open` or `closed`.
    pub state: Option<&'a str>,
}

/// A file a pull request changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullFile {
    /// The path.
    pub filename: String,
    /// `added`, `removed`, `modified`, ...
    pub status: String,
    /// Lines added.
    pub additions: u64,
    /// Lines removed.
    pub deletions: u64,
}

/// A merge to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest<'a> {
    /// The head SHA the pull request must still have.
    pub sha: &'a str,
    /// `merge`, `squash` or `rebase`.
    pub method: &'a str,
    /// The merge commit's title.
    pub title: Option<&'a str>,
    /// The merge commit's message.
    pub message: Option<&'a str>,
}

/// The outcome of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// Merged; the new commit on the base branch.
    Merged {
        /// Its SHA.
        sha: String,
    },
    /// GitHub would not merge it (405 not mergeable or a required review, 409
    /// head moved, 422): it stays open.
    NotMerged {
        /// The HTTP status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
}

/// An issue, the parts seatkeeper uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub html_url: String,
    /// `open` or `closed`.
    pub state: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
    /// Label names.
    pub labels: Vec<String>,
    /// Author login.
    pub user: Option<String>,
}

/// An issue or pull request comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: u64,
    /// Body.
    pub body: String,
    /// Author login.
    pub user: Option<String>,
    /// When it was written (GitHub's clock).
    pub created_at: DateTime<Utc>,
    /// Its web address.
    pub html_url: String,
}

/// Everything seatkeeper reads from and writes to a repository.
#[async_trait]
pub trait RepoApi: Send + Sync {
    /// `GET /repos/{owner}/{repo}`.
    async fn repository(&self, repo: &RepoRef) -> Result<Repository, GitHubError>;

    /// A file at a ref (branch, tag or commit SHA), or `None` when it does not exist.
    async fn read_file(
        &self,
        repo: &RepoRef,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<RepoFile>, GitHubError>;

    /// Create or update a file with a `sha` precondition.
    async fn write_file(
        &self,
        repo: &RepoRef,
        file: &FileWrite<'_>,
    ) -> Result<Written, GitHubError>;

    /// Where `heads/BRANCH` points (`GET .../git/ref/{ref}`), conditionally.
    async fn get_ref(
        &self,
        repo: &RepoRef,
        git_ref: &str,
        if_none_match: Option<&str>,
    ) -> Result<RefRead, GitHubError>;

    /// Create `refs/heads/BRANCH` at `sha`.
    async fn create_ref(
        &self,
        repo: &RepoRef,
        full_ref: &str,
        sha: &str,
    ) -> Result<RefWrite, GitHubError>;

    /// Move `heads/BRANCH` to `sha` (`force`: even when not a fast-forward).
    async fn update_ref(
        &self,
        repo: &RepoRef,
        git_ref: &str,
        sha: &str,
        force: bool,
    ) -> Result<RefWrite, GitHubError>;

    /// Pull requests in `state` (`open`, `closed`, `all`) from `head` (a
    /// branch of this repository) when given, newest first.
    async fn list_pulls(
        &self,
        repo: &RepoRef,
        head: Option<&str>,
        state: &str,
    ) -> Result<Vec<PullRequest>, GitHubError>;

    /// Open a pull request.
    async fn create_pull(
        &self,
        repo: &RepoRef,
        pull: &NewPull<'_>,
    ) -> Result<PullRequest, GitHubError>;

    /// One pull request.
    async fn get_pull(&self, repo: &RepoRef, number: u64) -> Result<PullRequest, GitHubError>;

    /// Change a pull request's title, body or state.
    async fn update_pull(
        &self,
        repo: &RepoRef,
        number: u64,
        change: &IssueChange<'_>,
    ) -> Result<PullRequest, GitHubError>;

    /// The files a pull request changes.
    async fn pull_files(&self, repo: &RepoRef, number: u64) -> Result<Vec<PullFile>, GitHubError>;

    /// Merge a pull request, pinned to its head SHA.
    async fn merge_pull(
        &self,
        repo: &RepoRef,
        number: u64,
        merge: &MergeRequest<'_>,
    ) -> Result<Merged, GitHubError>;

    /// Turn on auto-merge (GraphQL `enablePullRequestAutoMerge`, `POST
    /// /graphql`) with `method` (`squash`, `merge`, `rebase`).
    async fn enable_auto_merge(
        &self,
        repo: &RepoRef,
        pull_node_id: &str,
        method: &str,
    ) -> Result<AutoMerge, GitHubError>;

    /// Issues (not pull requests) in `state` carrying every label in `labels`.
    async fn list_issues(
        &self,
        repo: &RepoRef,
        labels: &[&str],
        state: &str,
    ) -> Result<Vec<Issue>, GitHubError>;

    /// Open an issue.
    async fn create_issue(
        &self,
        repo: &RepoRef,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> Result<Issue, GitHubError>;

    /// Change an issue's title, body or state.
    async fn update_issue(
        &self,
        repo: &RepoRef,
        number: u64,
        change: &IssueChange<'_>,
    ) -> Result<Issue, GitHubError>;

    /// Every comment of an issue or pull request, oldest first.
    async fn list_comments(&self, repo: &RepoRef, number: u64)
    -> Result<Vec<Comment>, GitHubError>;

    /// Comment on an issue or pull request.
    async fn create_comment(
        &self,
        repo: &RepoRef,
        number: u64,
        body: &str,
    ) -> Result<Comment, GitHubError>;

    /// Edit a comment.
    async fn update_comment(
        &self,
        repo: &RepoRef,
        id: u64,
        body: &str,
    ) -> Result<Comment, GitHubError>;

    /// Add labels to an issue or pull request (GitHub creates missing labels).
    async fn add_labels(
        &self,
        repo: &RepoRef,
        number: u64,
        labels: &[&str],
    ) -> Result<(), GitHubError>;

    /// Take one label off an issue or pull request; `false` when it did
    /// not carry it (GitHub's 404).
    async fn remove_label(
        &self,
        repo: &RepoRef,
        number: u64,
        label: &str,
    ) -> Result<bool, GitHubError>;

    /// The login seatkeeper's own writes are authored by (`GET /user`; for
    /// a GitHub App, `{slug}[bot]` from `GET /app`).
    async fn own_login(&self) -> Result<String, GitHubError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_refs() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("acme/copilot-seats", Some(("acme", "copilot-seats"))),
            ("a-b/c.d_e", Some(("a-b", "c.d_e"))),
            ("acme", None),
            ("acme/", None),
            ("/seats", None),
            ("acme/seats/x", None),
            ("acme/..", None),
            ("ac me/seats", None),
        ];
        for (s, want) in cases {
            let got: Result<RepoRef, String> = s.parse();
            match (got, want) {
                (Ok(r), Some((o, n))) => assert_eq!((r.owner.as_str(), r.name.as_str()), (*o, *n)),
                (Err(e), None) => assert!(e.contains("OWNER/REPO"), "{e}"),
                (g, w) => panic!("{s}: got {g:?}, want {w:?}"),
            }
        }
    }
}
