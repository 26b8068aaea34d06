//! A git-like repository model for the Contents, Git refs, Pulls and
//! Issues APIs: branches point at commits, a commit holds every file, and
//! every id is what git computes (blob, tree and commit SHA-1s), so a file
//! read from the simulator has the blob SHA `git hash-object` gives.
//!
//! Pure transitions over [`SimRepo`] and [`SimState`]; the HTTP layer is
//! `repo_routes.rs`. A branch that moves records a [`PushEvent`] in the
//! state's outbox, which the server delivers as a signed `push` webhook.
//!
//! Behaviour follows GitHub's REST descriptions and, where they are silent,
//! what GitHub is reported to answer (Contents PUT with a stale `sha`: 409
//! "`PATH` does not match `SHA`"; without a `sha` for an existing file: 422
//! `"sha" wasn't supplied`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::SimState;
use crate::source::git_blob_sha;

/// The SHA of "no commit", as push events name a created branch's `before`.
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// One commit: its files whole (the simulator's repositories are small).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCommit {
    /// The commit SHA, as git computes it.
    pub sha: String,
    /// The root tree SHA.
    pub tree: String,
    /// Parent commit SHAs (two for a merge commit).
    pub parents: Vec<String>,
    /// The commit message.
    pub message: String,
    /// Who made it (a login; the email is `LOGIN@users.noreply.github.com`).
    pub author: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Path -> content, paths without a leading slash.
    pub files: BTreeMap<String, String>,
}

/// Open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    /// Open.
    #[default]
    Open,
    /// Closed.
    Closed,
}

impl IssueState {
    /// `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueState::Open => "open",
            IssueState::Closed => "closed",
        }
    }
}

/// What makes an issue a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimPull {
    /// The branch with the changes.
    pub head: String,
    /// The branch they go into.
    pub base: String,
    /// The merge commit, once merged.
    pub merge_commit: Option<String>,
    /// Who merged it.
    pub merged_by: Option<String>,
    /// When it was merged.
    pub merged_at: Option<DateTime<Utc>>,
    /// Reads of the full pull request so far (for `mergeable_after_reads`).
    #[serde(default, skip)]
    pub reads: u32,
    /// The merge method auto-merge was enabled with (GraphQL
    /// `enablePullRequestAutoMerge`), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_merge: Option<String>,
}

/// An issue or a pull request (they share numbers, as on GitHub).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimIssue {
    /// Its number in the repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: Option<String>,
    /// Author login.
    pub user: String,
    /// Open or closed.
    pub state: IssueState,
    /// `completed`, `not_planned`, ... when closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// Label names.
    pub labels: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Set for a pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<SimPull>,
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimComment {
    /// Unique id.
    pub id: u64,
    /// The issue or pull request number.
    pub issue: u64,
    /// Body (Markdown).
    pub body: String,
    /// Author login.
    pub user: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
}

/// A repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimRepo {
    /// `owner/name`, compared case-insensitively.
    pub full_name: String,
    /// Numeric id.
    pub id: u64,
    /// The default branch.
    pub default_branch: String,
    /// Private repositories are hidden from tokens without access; here it
    /// only shows in the JSON.
    pub private: bool,
    /// False: the token can read the repository but not write to it (every
    /// write answers 403, `permissions.push` is false).
    pub writable: bool,
    /// Branch protection: merging a pull request answers 405 (a review is
    /// required), direct commits to the default branch 409... are allowed.
    pub merge_requires_review: bool,
    /// Branch protection and rulesets: branch name -> the reason GitHub
    /// gives when a direct commit (a Contents write) is refused with 409,
    /// e.g. "Changes must be made through a pull request." (observed bodies
    /// in `../shared/github-observed/README.md`). Pull requests still merge.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub protected: BTreeMap<String, String>,
    /// "Allow auto-merge": GraphQL `enablePullRequestAutoMerge` works only
    /// when set (default false, as on GitHub).
    #[serde(default)]
    pub allow_auto_merge: bool,
    /// Which merge methods the repository allows (each default true).
    #[serde(default = "yes")]
    pub allow_squash_merge: bool,
    /// Merge commits allowed.
    #[serde(default = "yes")]
    pub allow_merge_commit: bool,
    /// Rebase merges allowed.
    #[serde(default = "yes")]
    pub allow_rebase_merge: bool,
    /// `GET .../pulls/{n}` answers `mergeable: null` (GitHub computes it in
    /// the background) for this many reads of each pull request.
    #[serde(default)]
    pub mergeable_after_reads: u32,
    /// Required status checks that never report (a merge answers 405
    /// `Required status check "NAME" is expected.`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_checks: Vec<String>,
    /// Branch name -> commit SHA.
    pub branches: BTreeMap<String, String>,
    /// Commit SHA -> commit.
    pub commits: BTreeMap<String, SimCommit>,
    /// Issues and pull requests, by number.
    pub issues: Vec<SimIssue>,
    /// Comments, in creation order.
    pub comments: Vec<SimComment>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

fn yes() -> bool {
    true
}

impl Default for SimRepo {
    fn default() -> Self {
        SimRepo {
            full_name: String::new(),
            id: 0,
            default_branch: "main".to_string(),
            private: true,
            writable: true,
            merge_requires_review: false,
            protected: BTreeMap::new(),
            allow_auto_merge: false,
            allow_squash_merge: true,
            allow_merge_commit: true,
            allow_rebase_merge: true,
            required_checks: Vec::new(),
            mergeable_after_reads: 0,
            branches: BTreeMap::new(),
            commits: BTreeMap::new(),
            issues: Vec::new(),
            comments: Vec::new(),
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        }
    }
}

/// A branch that moved: delivered as a `push` webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// `owner/name`.
    pub repo: String,
    /// `refs/heads/BRANCH`.
    pub git_ref: String,
    /// The SHA before ([`ZERO_SHA`] for a new branch).
    pub before: String,
    /// The SHA after.
    pub after: String,
    /// Commits new to the branch, oldest first.
    pub commits: Vec<String>,
    /// The branch was created.
    pub created: bool,
    /// The branch moved to a commit that does not descend from `before`.
    pub forced: bool,
    /// Who pushed.
    pub pusher: String,
}

/// Why a repository write was refused; the HTTP layer maps each to GitHub's
/// status and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// 404: no such repository, branch, commit, file or issue.
    #[error("{0}")]
    NotFound(String),
    /// 403: the token cannot write.
    #[error("Resource not accessible by personal access token")]
    ReadOnly,
    /// 409: the `sha` sent is not the file's current blob SHA.
    #[error("{path} does not match {sha}")]
    StaleSha {
        /// The file.
        path: String,
        /// The SHA sent.
        sha: String,
    },
    /// 422: a validation failure, with GitHub's message.
    #[error("{0}")]
    Invalid(String),
    /// 405: the pull request cannot be merged.
    #[error("{0}")]
    NotMergeable(String),
    /// 409: the branch is protected (or a ruleset applies): GitHub's
    /// observed wording, "Could not update file: Changes must be made
    /// through a pull request." (`Could not create file: ...` for a new one).
    #[error("Could not {verb} file: {reason}")]
    Protected {
        /// `update` or `create`.
        verb: &'static str,
        /// The rule's reason.
        reason: String,
    },
    /// 409: the head moved since the SHA the merge was pinned to.
    #[error("Head branch was modified. Review and try the merge again.")]
    HeadModified,
}

/// GitHub refuses an issue, pull request or comment body over 65,536
/// characters: "422 Body is too long" (observed: telia-oss/github-pr-resource#259,
/// danger/danger#424).
fn body_fits(body: Option<&str>) -> Result<(), RepoError> {
    match body {
        Some(b) if b.chars().count() > 65_536 => Err(RepoError::Invalid(
            "Body is too long (maximum is 65536 characters)".into(),
        )),
        _ => Ok(()),
    }
}

fn sha1_hex(kind: &str, body: &[u8]) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(format!("{kind} {}\0", body.len()).as_bytes());
    h.update(body);
    h.digest().to_string()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The tree SHA git computes for `files` (mode 100644 for files, 40000 for
/// directories; entries ordered as git orders them, a directory's name
/// compared with a trailing `/`).
pub fn tree_sha(files: &BTreeMap<String, String>) -> String {
    enum Node {
        File(String),
        Dir(BTreeMap<String, Node>),
    }
    fn insert(dir: &mut BTreeMap<String, Node>, path: &str, content: &str) {
        match path.split_once('/') {
            Some((head, rest)) => {
                let entry = dir
                    .entry(head.to_string())
                    .or_insert_with(|| Node::Dir(BTreeMap::new()));
                if let Node::Dir(d) = entry {
                    insert(d, rest, content);
                }
            }
            None => {
                dir.insert(
                    path.to_string(),
                    Node::File(git_blob_sha(content.as_bytes())),
                );
            }
        }
    }
    fn hash(dir: &BTreeMap<String, Node>) -> String {
        let mut entries: Vec<(String, &str, String)> = dir
            .iter()
            .map(|(name, node)| match node {
                Node::File(sha) => (name.clone(), "100644", sha.clone()),
                Node::Dir(d) => (format!("{name}/"), "40000", hash(d)),
            })
            .collect();
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut body = Vec::new();
        for (key, mode, sha) in entries {
            body.extend_from_slice(mode.as_bytes());
            body.push(b' ');
            body.extend_from_slice(key.trim_end_matches('/').as_bytes());
            body.push(0);
            body.extend_from_slice(&hex_bytes(&sha));
        }
        sha1_hex("tree", &body)
    }
    let mut root = BTreeMap::new();
    for (path, content) in files {
        insert(&mut root, path, content);
    }
    hash(&root)
}

/// The commit SHA git computes for these fields.
pub fn commit_sha(
    tree: &str,
    parents: &[String],
    author: &str,
    at: DateTime<Utc>,
    message: &str,
) -> String {
    let person = format!(
        "{author} <{author}@users.noreply.github.com> {} +0000",
        at.timestamp()
    );
    let mut body = format!("tree {tree}\n");
    for p in parents {
        body.push_str(&format!("parent {p}\n"));
    }
    body.push_str(&format!("author {person}\ncommitter {person}\n\n{message}"));
    sha1_hex("commit", body.as_bytes())
}

/// A branch name (`main`) from `main`, `refs/heads/main` or `heads/main`.
pub fn branch_name(r: &str) -> &str {
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("heads/"))
        .unwrap_or(r)
}

impl SimRepo {
    /// An empty repository.
    pub fn new(full_name: &str, id: u64, default_branch: &str) -> SimRepo {
        SimRepo {
            full_name: full_name.to_string(),
            id,
            default_branch: default_branch.to_string(),
            ..SimRepo::default()
        }
    }

    /// The commit a ref names: a branch (`main`, `refs/heads/main`) or a
    /// full commit SHA.
    pub fn resolve(&self, r: &str) -> Option<&SimCommit> {
        let sha = self
            .branches
            .get(branch_name(r))
            .map(String::as_str)
            .unwrap_or(r);
        self.commits.get(sha)
    }

    /// The head commit of a branch.
    pub fn head(&self, branch: &str) -> Option<&SimCommit> {
        self.branches
            .get(branch_name(branch))
            .and_then(|s| self.commits.get(s))
    }

    /// A file's content at a ref.
    pub fn file(&self, r: &str, path: &str) -> Option<&str> {
        self.resolve(r)?
            .files
            .get(path.trim_matches('/'))
            .map(String::as_str)
    }

    /// Store a commit of `files` on top of `parents`; returns its SHA.
    pub fn make_commit(
        &mut self,
        parents: Vec<String>,
        files: BTreeMap<String, String>,
        message: &str,
        author: &str,
        at: DateTime<Utc>,
    ) -> String {
        let tree = tree_sha(&files);
        let sha = commit_sha(&tree, &parents, author, at, message);
        self.commits.insert(
            sha.clone(),
            SimCommit {
                sha: sha.clone(),
                tree,
                parents,
                message: message.to_string(),
                author: author.to_string(),
                at,
                files,
            },
        );
        sha
    }

    /// Is `ancestor` reachable from `sha` (or equal to it)?
    pub fn descends(&self, sha: &str, ancestor: &str) -> bool {
        let mut queue = VecDeque::from([sha.to_string()]);
        let mut seen = BTreeSet::new();
        while let Some(s) = queue.pop_front() {
            if s == ancestor {
                return true;
            }
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                queue.extend(c.parents.iter().cloned());
            }
        }
        false
    }

    /// Commits reachable from `to` and not from `from`, oldest first.
    pub fn commits_between(&self, from: Option<&str>, to: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![to.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(s) = stack.pop() {
            if from.is_some_and(|f| self.descends(f, &s)) || !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                stack.extend(c.parents.iter().cloned());
                out.push((c.at, s));
            }
        }
        out.sort();
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// The nearest common ancestor of two commits.
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        let mut queue = VecDeque::from([a.to_string()]);
        let mut seen = BTreeSet::new();
        while let Some(s) = queue.pop_front() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if self.descends(b, &s) {
                return Some(s);
            }
            if let Some(c) = self.commits.get(&s) {
                queue.extend(c.parents.iter().cloned());
            }
        }
        None
    }

    /// An issue or pull request by number.
    pub fn issue(&self, number: u64) -> Option<&SimIssue> {
        self.issues.iter().find(|i| i.number == number)
    }

    fn issue_mut(&mut self, number: u64) -> Result<&mut SimIssue, RepoError> {
        self.issues
            .iter_mut()
            .find(|i| i.number == number)
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))
    }

    fn next_number(&self) -> u64 {
        self.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1
    }

    fn writable(&self) -> Result<(), RepoError> {
        if self.writable {
            Ok(())
        } else {
            Err(RepoError::ReadOnly)
        }
    }

    /// Open pull requests from `head` into `base`.
    pub fn open_pull(&self, head: &str, base: &str) -> Option<&SimIssue> {
        self.issues.iter().find(|i| {
            i.state == IssueState::Open
                && i.pull
                    .as_ref()
                    .is_some_and(|p| p.head == head && p.base == base)
        })
    }
}

/// What `PUT /repos/{owner}/{repo}/contents/{path}` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCommitted {
    /// The new commit.
    pub commit: String,
    /// The file's new blob SHA.
    pub blob: String,
    /// True when the file was created (201), false when updated (200).
    pub created: bool,
}

/// A pull request's changes against its merge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path.
    pub filename: String,
    /// `added`, `removed` or `modified`.
    pub status: &'static str,
    /// Lines added.
    pub additions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// The blob SHA on the head side (the base side for a removal).
    pub sha: String,
    /// A unified diff of the file.
    pub patch: String,
}

impl SimState {
    /// A repository by `owner/name` (case-insensitive).
    pub fn repo(&self, full_name: &str) -> Option<&SimRepo> {
        self.repos
            .iter()
            .find(|r| r.full_name.eq_ignore_ascii_case(full_name))
    }

    /// The repository, mutable.
    pub fn repo_mut(&mut self, full_name: &str) -> Result<&mut SimRepo, RepoError> {
        self.repos
            .iter_mut()
            .find(|r| r.full_name.eq_ignore_ascii_case(full_name))
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))
    }

    /// The repository, created (empty, with the state's default branch) when missing.
    pub fn repo_or_create(&mut self, full_name: &str) -> &mut SimRepo {
        if let Some(i) = self
            .repos
            .iter()
            .position(|r| r.full_name.eq_ignore_ascii_case(full_name))
        {
            return &mut self.repos[i];
        }
        let id = super::json::stable_id("repository", full_name);
        let branch = self.default_branch.clone();
        self.repos.push(SimRepo::new(full_name, id, &branch));
        let last = self.repos.len() - 1;
        &mut self.repos[last]
    }

    /// A file's content in a repository at a ref (branch or commit SHA).
    pub fn file(&self, repo: &str, r: &str, path: &str) -> Option<&str> {
        self.repo(repo)?.file(r, path)
    }

    /// Move a branch (created when missing) and record the push.
    pub fn set_branch(&mut self, repo: &str, branch: &str, sha: &str, pusher: &str) {
        let Ok(r) = self.repo_mut(repo) else { return };
        let branch = branch_name(branch).to_string();
        let before = r.branches.insert(branch.clone(), sha.to_string());
        if before.as_deref() == Some(sha) {
            return;
        }
        let forced = before.as_deref().is_some_and(|b| !r.descends(sha, b));
        let commits = r.commits_between(before.as_deref(), sha);
        let event = PushEvent {
            repo: r.full_name.clone(),
            git_ref: format!("refs/heads/{branch}"),
            before: before.clone().unwrap_or_else(|| ZERO_SHA.to_string()),
            after: sha.to_string(),
            commits,
            created: before.is_none(),
            forced,
            pusher: pusher.to_string(),
        };
        self.outbox.push(event);
    }

    /// Commit `content` at `path` on `branch` of `repo` as `author`,
    /// creating the repository and the branch (from the default branch) as
    /// needed: for fixtures and tests. Returns the commit SHA.
    pub fn commit_file(
        &mut self,
        repo: &str,
        branch: &str,
        path: &str,
        content: &str,
        message: &str,
        author: &str,
    ) -> String {
        let now = Utc::now();
        let branch = branch_name(branch).to_string();
        let r = self.repo_or_create(repo);
        let base = r
            .branches
            .get(&branch)
            .or_else(|| r.branches.get(&r.default_branch))
            .cloned();
        let mut files = base
            .as_ref()
            .and_then(|b| r.commits.get(b))
            .map(|c| c.files.clone())
            .unwrap_or_default();
        files.insert(path.trim_matches('/').to_string(), content.to_string());
        let parents: Vec<String> = base.into_iter().collect();
        let sha = r.make_commit(parents, files, message, author, now);
        let full = r.full_name.clone();
        self.set_branch(&full, &branch, &sha, author);
        sha
    }

    /// `PUT /repos/{owner}/{repo}/contents/{path}`: create or update a file
    /// with a `sha` precondition.
    pub fn put_contents(
        &mut self,
        repo: &str,
        path: &str,
        branch: Option<&str>,
        content: String,
        sha: Option<&str>,
        message: &str,
    ) -> Result<FileCommitted, RepoError> {
        let author = self.viewer.clone();
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let branch = branch_name(branch.unwrap_or(&r.default_branch)).to_string();
        let head = r
            .head(&branch)
            .ok_or_else(|| RepoError::NotFound(format!("Branch {branch} not found")))?;
        let path = path.trim_matches('/').to_string();
        let current = head.files.get(&path).map(|c| git_blob_sha(c.as_bytes()));
        if let Some(reason) = r.protected.get(&branch) {
            return Err(RepoError::Protected {
                verb: if current.is_some() {
                    "update"
                } else {
                    "create"
                },
                reason: reason.clone(),
            });
        }
        match (&current, sha) {
            (Some(_), None) => {
                return Err(RepoError::Invalid(
                    "Invalid request.\n\n\"sha\" wasn't supplied.".into(),
                ));
            }
            (Some(cur), Some(s)) if cur != s => {
                return Err(RepoError::StaleSha {
                    path,
                    sha: s.to_string(),
                });
            }
            _ => {}
        }
        let blob = git_blob_sha(content.as_bytes());
        let mut files = head.files.clone();
        let parent = head.sha.clone();
        files.insert(path, content);
        let commit = r.make_commit(vec![parent], files, message, &author, Utc::now());
        let full = r.full_name.clone();
        self.set_branch(&full, &branch, &commit, &author);
        Ok(FileCommitted {
            commit,
            blob,
            created: current.is_none(),
        })
    }

    /// `POST /repos/{owner}/{repo}/git/refs`.
    pub fn create_ref(&mut self, repo: &str, full_ref: &str, sha: &str) -> Result<(), RepoError> {
        let author = self.viewer.clone();
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let Some(branch) = full_ref.strip_prefix("refs/heads/") else {
            return Err(RepoError::Invalid(
                "Reference name must start with 'refs/heads/' (only branches are simulated)".into(),
            ));
        };
        if branch.is_empty() {
            return Err(RepoError::Invalid("Reference name is invalid".into()));
        }
        if r.branches.contains_key(branch) {
            return Err(RepoError::Invalid("Reference already exists".into()));
        }
        if !r.commits.contains_key(sha) {
            return Err(RepoError::Invalid("Object does not exist".into()));
        }
        let full = r.full_name.clone();
        let branch = branch.to_string();
        self.set_branch(&full, &branch, sha, &author);
        Ok(())
    }

    /// `PATCH /repos/{owner}/{repo}/git/refs/{ref}`.
    pub fn update_ref(
        &mut self,
        repo: &str,
        git_ref: &str,
        sha: &str,
        force: bool,
    ) -> Result<(), RepoError> {
        let author = self.viewer.clone();
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let branch = branch_name(git_ref).to_string();
        let Some(current) = r.branches.get(&branch).cloned() else {
            return Err(RepoError::Invalid("Reference does not exist".into()));
        };
        if !r.commits.contains_key(sha) {
            return Err(RepoError::Invalid("Object does not exist".into()));
        }
        if !force && !r.descends(sha, &current) {
            return Err(RepoError::Invalid("Update is not a fast forward".into()));
        }
        let full = r.full_name.clone();
        self.set_branch(&full, &branch, sha, &author);
        Ok(())
    }

    /// `POST /repos/{owner}/{repo}/pulls`; returns the number.
    pub fn create_pull(
        &mut self,
        repo: &str,
        title: &str,
        body: Option<String>,
        head: &str,
        base: &str,
    ) -> Result<u64, RepoError> {
        body_fits(body.as_deref())?;
        let user = self.viewer.clone();
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let owner = r
            .full_name
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        // `head` may be namespaced `owner:branch`.
        let head = match head.split_once(':') {
            Some((o, b)) if o.eq_ignore_ascii_case(&owner) => b,
            Some(_) => {
                return Err(RepoError::Invalid(
                    "Validation Failed: head must be a branch of this repository (forks are not simulated)"
                        .into(),
                ));
            }
            None => head,
        }
        .to_string();
        let (Some(h), Some(b)) = (r.head(&head), r.head(base)) else {
            return Err(RepoError::Invalid(format!(
                "Validation Failed: {}",
                if r.head(&head).is_none() {
                    "head is invalid"
                } else {
                    "base is invalid"
                }
            )));
        };
        if r.descends(&b.sha, &h.sha) {
            return Err(RepoError::Invalid(format!(
                "Validation Failed: No commits between {base} and {head}"
            )));
        }
        if r.open_pull(&head, base).is_some() {
            return Err(RepoError::Invalid(format!(
                "Validation Failed: A pull request already exists for {owner}:{head}."
            )));
        }
        let number = r.next_number();
        let now = Utc::now();
        r.issues.push(SimIssue {
            number,
            title: title.to_string(),
            body,
            user,
            state: IssueState::Open,
            state_reason: None,
            labels: Vec::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            pull: Some(SimPull {
                head,
                base: branch_name(base).to_string(),
                merge_commit: None,
                merged_by: None,
                merged_at: None,
                auto_merge: None,
                reads: 0,
            }),
        });
        Ok(number)
    }

    /// The files a pull request changes, against the merge base of its
    /// branches (GitHub's three-dot diff).
    pub fn pull_files(&self, repo: &str, number: u64) -> Result<Vec<FileDiff>, RepoError> {
        let r = self
            .repo(repo)
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))?;
        let pull = r
            .issue(number)
            .and_then(|i| i.pull.as_ref())
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))?;
        let head = r
            .head(&pull.head)
            .map(|c| c.sha.clone())
            .or_else(|| pull.merge_commit.clone())
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))?;
        let base = r
            .head(&pull.base)
            .map(|c| c.sha.clone())
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))?;
        let from = r.merge_base(&head, &base).unwrap_or(base);
        let empty = BTreeMap::new();
        let old = r.commits.get(&from).map_or(&empty, |c| &c.files);
        let new = r.commits.get(&head).map_or(&empty, |c| &c.files);
        let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        let mut out = Vec::new();
        for path in paths {
            let (a, b) = (old.get(path), new.get(path));
            if a == b {
                continue;
            }
            let before = a.map(String::as_str).unwrap_or("");
            let after = b.map(String::as_str).unwrap_or("");
            let diff = similar::TextDiff::from_lines(before, after);
            let (mut additions, mut deletions) = (0, 0);
            for change in diff.iter_all_changes() {
                match change.tag() {
                    similar::ChangeTag::Insert => additions += 1,
                    similar::ChangeTag::Delete => deletions += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
            let patch = diff.unified_diff().context_radius(3).to_string();
            out.push(FileDiff {
                filename: path.clone(),
                status: match (a, b) {
                    (None, _) => "added",
                    (_, None) => "removed",
                    _ => "modified",
                },
                additions,
                deletions,
                sha: git_blob_sha(b.or(a).map(String::as_bytes).unwrap_or_default()),
                patch,
            });
        }
        Ok(out)
    }

    /// GraphQL `enablePullRequestAutoMerge` for the pull request with this
    /// node id: GitHub's refusals when the repository does not allow
    /// auto-merge, or when nothing blocks the merge ("clean status": merge
    /// it instead); else auto-merge is on and the number is returned.
    pub fn enable_auto_merge(&mut self, node: &str, method: &str) -> Result<u64, String> {
        for r in &mut self.repos {
            let blocked = r.merge_requires_review || !r.required_checks.is_empty();
            let allow = r.allow_auto_merge;
            for i in &mut r.issues {
                // As the pull's JSON spells it (`repo_json::pull`).
                let id = super::json::node_id(
                    "PullRequest",
                    super::json::stable_id("issue", &format!("{}#{}", r.full_name, i.number)),
                );
                if id != node {
                    continue;
                }
                let Some(p) = &mut i.pull else {
                    break;
                };
                if !allow {
                    return Err("Pull request Auto merge is not allowed for this repository".into());
                }
                if !blocked {
                    return Err("Pull request is in clean status".into());
                }
                p.auto_merge = Some(method.to_ascii_lowercase());
                return Ok(i.number);
            }
        }
        Err(format!(
            "Could not resolve to a node with the global id of '{node}'"
        ))
    }

    /// `PUT /repos/{owner}/{repo}/pulls/{n}/merge`: a three-way merge of the
    /// files (a path changed on both sides differently is a conflict);
    /// returns the new commit on the base branch.
    pub fn merge_pull(
        &mut self,
        repo: &str,
        number: u64,
        sha: Option<&str>,
        method: &str,
        title: Option<&str>,
        message: Option<&str>,
    ) -> Result<String, RepoError> {
        let user = self.viewer.clone();
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let issue = r
            .issue(number)
            .cloned()
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))?;
        let Some(pull) = &issue.pull else {
            return Err(RepoError::NotFound("Not Found".into()));
        };
        if issue.state == IssueState::Closed {
            return Err(RepoError::NotMergeable(
                "Pull Request is not mergeable".into(),
            ));
        }
        let allowed = match method {
            "squash" => r.allow_squash_merge,
            "rebase" => r.allow_rebase_merge,
            _ => r.allow_merge_commit,
        };
        if !allowed {
            let what = match method {
                "squash" => "Squash merges",
                "rebase" => "Rebase merges",
                _ => "Merge commits",
            };
            return Err(RepoError::NotMergeable(format!(
                "{what} are not allowed on this repository."
            )));
        }
        if r.merge_requires_review {
            return Err(RepoError::NotMergeable(
                "At least 1 approving review is required by reviewers with write access.".into(),
            ));
        }
        if let Some(check) = r.required_checks.first() {
            return Err(RepoError::NotMergeable(format!(
                "Required status check \"{check}\" is expected."
            )));
        }
        let (Some(head), Some(base)) = (r.head(&pull.head).cloned(), r.head(&pull.base).cloned())
        else {
            return Err(RepoError::NotMergeable(
                "Pull Request is not mergeable".into(),
            ));
        };
        if sha.is_some_and(|s| s != head.sha) {
            return Err(RepoError::HeadModified);
        }
        let mb = r.merge_base(&head.sha, &base.sha);
        let ancestor = mb
            .as_ref()
            .and_then(|s| r.commits.get(s))
            .map(|c| c.files.clone())
            .unwrap_or_default();
        let mut files = base.files.clone();
        let paths: BTreeSet<String> = ancestor
            .keys()
            .chain(head.files.keys())
            .chain(base.files.keys())
            .cloned()
            .collect();
        for path in paths {
            let (m, h, b) = (
                ancestor.get(&path),
                head.files.get(&path),
                base.files.get(&path),
            );
            if h == m || h == b {
                continue;
            }
            if b == m {
                match h {
                    Some(c) => files.insert(path, c.clone()),
                    None => files.remove(&path),
                };
                continue;
            }
            return Err(RepoError::NotMergeable("Merge conflict".into()));
        }
        let title = title
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} (#{number})", issue.title));
        let msg = match message {
            Some(m) if !m.is_empty() => format!("{title}\n\n{m}"),
            _ => title,
        };
        let parents = match method {
            "merge" => vec![base.sha.clone(), head.sha.clone()],
            "squash" | "rebase" => vec![base.sha.clone()],
            other => {
                return Err(RepoError::Invalid(format!(
                    "Invalid request.\n\n{other:?} is not a valid merge_method."
                )));
            }
        };
        let now = Utc::now();
        let commit = r.make_commit(parents, files, &msg, &user, now);
        let base_branch = pull.base.clone();
        let i = r.issue_mut(number)?;
        i.state = IssueState::Closed;
        i.closed_at = Some(now);
        i.updated_at = now;
        if let Some(p) = &mut i.pull {
            p.merge_commit = Some(commit.clone());
            p.merged_by = Some(user.clone());
            p.merged_at = Some(now);
        }
        let full = r.full_name.clone();
        self.set_branch(&full, &base_branch, &commit, &user);
        Ok(commit)
    }

    /// `POST /repos/{owner}/{repo}/issues`; returns the number.
    pub fn create_issue(
        &mut self,
        repo: &str,
        title: &str,
        body: Option<String>,
        labels: Vec<String>,
    ) -> Result<u64, RepoError> {
        body_fits(body.as_deref())?;
        let user = self.viewer.clone();
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let number = r.next_number();
        let now = Utc::now();
        r.issues.push(SimIssue {
            number,
            title: title.to_string(),
            body,
            user,
            state: IssueState::Open,
            state_reason: None,
            labels: dedup_labels(labels),
            created_at: now,
            updated_at: now,
            closed_at: None,
            pull: None,
        });
        Ok(number)
    }

    /// `PATCH /repos/{owner}/{repo}/issues/{n}` and `.../pulls/{n}`.
    pub fn update_issue(
        &mut self,
        repo: &str,
        number: u64,
        update: IssueUpdate,
    ) -> Result<(), RepoError> {
        body_fits(update.body.as_deref())?;
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let i = r.issue_mut(number)?;
        let now = Utc::now();
        if let Some(t) = update.title {
            i.title = t;
        }
        if let Some(b) = update.body {
            i.body = Some(b);
        }
        if let Some(l) = update.labels {
            i.labels = dedup_labels(l);
        }
        if let Some(s) = update.state
            && s != i.state
        {
            if i.pull.as_ref().is_some_and(|p| p.merged_at.is_some()) {
                return Err(RepoError::Invalid(
                    "Validation Failed: cannot change the state of a merged pull request".into(),
                ));
            }
            i.state = s;
            i.closed_at = (s == IssueState::Closed).then_some(now);
            i.state_reason = update.state_reason.or_else(|| {
                Some(match s {
                    IssueState::Closed => "completed".to_string(),
                    IssueState::Open => "reopened".to_string(),
                })
            });
        }
        i.updated_at = now;
        Ok(())
    }

    /// `POST /repos/{owner}/{repo}/issues/{n}/labels`.
    pub fn add_labels(
        &mut self,
        repo: &str,
        number: u64,
        labels: Vec<String>,
    ) -> Result<(), RepoError> {
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let i = r.issue_mut(number)?;
        let mut all = i.labels.clone();
        all.extend(labels);
        i.labels = dedup_labels(all);
        i.updated_at = Utc::now();
        Ok(())
    }

    /// `DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}` (names
    /// compare without case, as GitHub's do).
    pub fn remove_label(&mut self, repo: &str, number: u64, name: &str) -> Result<(), RepoError> {
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let i = r.issue_mut(number)?;
        let before = i.labels.len();
        i.labels.retain(|l| !l.eq_ignore_ascii_case(name));
        if i.labels.len() == before {
            return Err(RepoError::NotFound("Label does not exist".into()));
        }
        i.updated_at = Utc::now();
        Ok(())
    }

    /// `POST /repos/{owner}/{repo}/issues/{n}/comments`; returns the id.
    pub fn create_comment(
        &mut self,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<u64, RepoError> {
        body_fits(Some(body))?;
        let user = self.viewer.clone();
        let r = self.repo_mut(repo)?;
        r.writable()?;
        r.issue_mut(number)?;
        let id = r.id * 100_000 + r.comments.len() as u64 + 1;
        let now = Utc::now();
        r.comments.push(SimComment {
            id,
            issue: number,
            body: body.to_string(),
            user,
            created_at: now,
            updated_at: now,
        });
        Ok(id)
    }

    /// `PATCH /repos/{owner}/{repo}/issues/comments/{id}`.
    pub fn update_comment(&mut self, repo: &str, id: u64, body: &str) -> Result<(), RepoError> {
        body_fits(Some(body))?;
        let r = self.repo_mut(repo)?;
        r.writable()?;
        let c = r
            .comments
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| RepoError::NotFound("Not Found".into()))?;
        c.body = body.to_string();
        c.updated_at = Utc::now();
        Ok(())
    }

    /// Take the branch moves recorded since the last call.
    pub fn take_push_events(&mut self) -> Vec<PushEvent> {
        std::mem::take(&mut self.outbox)
    }
}

/// Fields of an issue or pull request update; `None` leaves one as is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueUpdate {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New state.
    pub state: Option<IssueState>,
    /// Why it was closed or reopened.
    pub state_reason: Option<String>,
    /// The labels, replacing the current ones.
    pub labels: Option<Vec<String>>,
}

/// Labels compare case-insensitively on GitHub; the first spelling stays.
fn dedup_labels(labels: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    labels
        .into_iter()
        .filter(|l| !l.is_empty() && seen.insert(l.to_ascii_lowercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_match_git() {
        // `git init; printf 'hello\n' > a; git add a; git write-tree`
        let mut files = BTreeMap::new();
        files.insert("a".to_string(), "hello\n".to_string());
        assert_eq!(tree_sha(&files), "0976950c1fdbcb52435a433913017bf044b3a58f");
        // `mkdir d; printf 'x\n' > d/b; git add d; git write-tree`
        files.insert("d/b".to_string(), "x\n".to_string());
        assert_eq!(tree_sha(&files), "ebdeed74f4ec8c2863f42fa14f68a93564d09e3f");
        // `d-` sorts before the directory `d` (compared as `d/`), `d2` after.
        files.insert("d2/c".to_string(), "y\n".to_string());
        files.insert("d-".to_string(), "z\n".to_string());
        let tree = tree_sha(&files);
        assert_eq!(tree, "ba39731cc396cc86515eab8c6d95633a1b6e607f");
        assert_eq!(
            tree_sha(&BTreeMap::new()),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
        // `printf 'init\n' | git commit-tree TREE` with author and committer
        // octocat <octocat@users.noreply.github.com> at 1700000000 +0000.
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            commit_sha(&tree, &[], "octocat", at, "init\n"),
            "bb57b9ee6f5779514908e8dad69182055ecd8ce2"
        );
    }

    fn state() -> SimState {
        let mut st = SimState::new("acme");
        st.commit_file(
            "acme/seats",
            "main",
            "seats.yaml",
            "org: acme\n",
            "init",
            "octocat",
        );
        st.take_push_events();
        st
    }

    #[test]
    fn contents_put_honours_the_sha_precondition() {
        let mut st = state();
        let old = git_blob_sha(b"org: acme\n");
        #[rustfmt::skip]
        // (sha sent, branch, Ok(created) or the error's text)
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<bool, &'a str>);
        let cases: &[Case] = &[
            (None, None, Err("\"sha\" wasn't supplied")),
            (Some("0123"), None, Err("seats.yaml does not match 0123")),
            (
                Some(old.as_str()),
                Some("nope"),
                Err("Branch nope not found"),
            ),
            (Some(old.as_str()), None, Ok(false)),
        ];
        for (sha, branch, want) in cases {
            let got = st.put_contents(
                "ACME/seats",
                "seats.yaml",
                *branch,
                "org: acme\nusers: [a]\n".into(),
                *sha,
                "m",
            );
            match (got, want) {
                (Ok(c), Ok(created)) => assert_eq!(c.created, *created),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
                (g, w) => panic!("{sha:?}: got {g:?}, want {w:?}"),
            }
        }
        let events = st.take_push_events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].git_ref, "refs/heads/main");
        assert_eq!(events[0].commits.len(), 1);
        assert!(!events[0].forced && !events[0].created);
        // A new file needs no sha; a stale sha for a new path is ignored.
        let c = st
            .put_contents(
                "acme/seats",
                "docs/x.md",
                None,
                "x".into(),
                Some("stale"),
                "m",
            )
            .unwrap();
        assert!(c.created);
        st.repo_mut("acme/seats").unwrap().writable = false;
        assert_eq!(
            st.put_contents("acme/seats", "docs/y.md", None, "y".into(), None, "m"),
            Err(RepoError::ReadOnly)
        );
    }

    #[test]
    fn pull_requests_diff_and_merge_three_ways() {
        let mut st = state();
        let main = st.repo("acme/seats").unwrap().branches["main"].clone();
        st.create_ref("acme/seats", "refs/heads/feature", &main)
            .unwrap();
        assert_eq!(
            st.create_ref("acme/seats", "refs/heads/feature", &main),
            Err(RepoError::Invalid("Reference already exists".into()))
        );
        let sha = git_blob_sha(b"org: acme\n");
        st.put_contents(
            "acme/seats",
            "seats.yaml",
            Some("feature"),
            "org: acme\nusers: [a]\n".into(),
            Some(&sha),
            "add a",
        )
        .unwrap();
        let n = st
            .create_pull("acme/seats", "Add a", None, "acme:feature", "main")
            .unwrap();
        assert!(
            st.create_pull("acme/seats", "again", None, "feature", "main")
                .is_err()
        );
        // Main moves on elsewhere: no conflict.
        st.put_contents(
            "acme/seats",
            "README.md",
            None,
            "hi\n".into(),
            None,
            "readme",
        )
        .unwrap();
        let files = st.pull_files("acme/seats", n).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(
            (
                files[0].filename.as_str(),
                files[0].status,
                files[0].additions,
                files[0].deletions
            ),
            ("seats.yaml", "modified", 1, 0)
        );
        assert_eq!(
            st.merge_pull("acme/seats", n, Some("0000"), "squash", None, None),
            Err(RepoError::HeadModified)
        );
        st.take_push_events();
        let head = st.repo("acme/seats").unwrap().branches["feature"].clone();
        let merged = st
            .merge_pull("acme/seats", n, Some(&head), "squash", None, None)
            .unwrap();
        let r = st.repo("acme/seats").unwrap();
        assert_eq!(r.branches["main"], merged);
        assert_eq!(
            r.file("main", "seats.yaml"),
            Some("org: acme\nusers: [a]\n")
        );
        assert_eq!(r.file("main", "README.md"), Some("hi\n"));
        assert_eq!(r.issue(n).unwrap().state, IssueState::Closed);
        assert_eq!(st.take_push_events().len(), 1);
        assert!(matches!(
            st.merge_pull("acme/seats", n, None, "merge", None, None),
            Err(RepoError::NotMergeable(_))
        ));
    }

    #[test]
    fn conflicting_merges_and_refs() {
        let mut st = state();
        let main = st.repo("acme/seats").unwrap().branches["main"].clone();
        st.create_ref("acme/seats", "refs/heads/x", &main).unwrap();
        let sha = git_blob_sha(b"org: acme\n");
        st.put_contents(
            "acme/seats",
            "seats.yaml",
            Some("x"),
            "org: acme\nusers: [x]\n".into(),
            Some(&sha),
            "x",
        )
        .unwrap();
        st.put_contents(
            "acme/seats",
            "seats.yaml",
            None,
            "org: acme\nusers: [y]\n".into(),
            Some(&sha),
            "y",
        )
        .unwrap();
        let n = st
            .create_pull("acme/seats", "x", None, "x", "main")
            .unwrap();
        assert_eq!(
            st.merge_pull("acme/seats", n, None, "merge", None, None),
            Err(RepoError::NotMergeable("Merge conflict".into()))
        );
        // Moving x back to main is not a fast-forward; with force it is allowed.
        assert_eq!(
            st.update_ref("acme/seats", "heads/x", &main, false),
            Err(RepoError::Invalid("Update is not a fast forward".into()))
        );
        st.take_push_events();
        st.update_ref("acme/seats", "heads/x", &main, true).unwrap();
        let ev = st.take_push_events();
        assert!(ev[0].forced, "{ev:?}");
    }
}
