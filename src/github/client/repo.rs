//! [`RepoApi`] for [`GitHubClient`]: repository reads and writes over the
//! same `send()` plumbing (throttle, retries, rate limits, counters) as the
//! seat routes.
//!
//! A stale `sha` on a Contents write is [`Written::Stale`], not an error:
//! GitHub answers 409 ("`PATH` does not match `SHA`"), and some races are
//! reported as a 422 "is at `SHA` but expected `SHA`" or "expected to be at";
//! any other 422 (e.g. `"sha" wasn't supplied`) is a bug and an error.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::contents::Contents;
use super::listing::links;
use super::{GitHubClient, PER_PAGE, Req, Resp, seg};
use crate::github::GitHubError;
use crate::github::repo::{
    AutoMerge, Comment, FileWrite, Issue, IssueChange, MergeRequest, MergeSettings, Merged,
    NewPull, PullFile, PullRequest, RefRead, RefWrite, RepoApi, RepoFile, RepoRef, Repository,
    Written,
};

/// Pages of a repository list read at most (100 items each).
const MAX_LIST_PAGES: usize = 50;

const R_REPO: &str = "/repos/{owner}/{repo}";
const R_CONTENTS: &str = "/repos/{owner}/{repo}/contents/{path}";
const R_REF: &str = "/repos/{owner}/{repo}/git/ref/{ref}";
const R_REFS: &str = "/repos/{owner}/{repo}/git/refs";
const R_REFS_REF: &str = "/repos/{owner}/{repo}/git/refs/{ref}";
const R_PULLS: &str = "/repos/{owner}/{repo}/pulls";
const R_PULL: &str = "/repos/{owner}/{repo}/pulls/{pull_number}";
const R_PULL_FILES: &str = "/repos/{owner}/{repo}/pulls/{pull_number}/files";
const R_PULL_MERGE: &str = "/repos/{owner}/{repo}/pulls/{pull_number}/merge";
const R_ISSUES: &str = "/repos/{owner}/{repo}/issues";
const R_ISSUE: &str = "/repos/{owner}/{repo}/issues/{issue_number}";
const R_ISSUE_COMMENTS: &str = "/repos/{owner}/{repo}/issues/{issue_number}/comments";
const R_ISSUE_LABELS: &str = "/repos/{owner}/{repo}/issues/{issue_number}/labels";
const R_ISSUE_LABEL: &str = "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}";
const R_COMMENT: &str = "/repos/{owner}/{repo}/issues/comments/{comment_id}";

fn base(repo: &RepoRef) -> String {
    format!("/repos/{}/{}", seg(&repo.owner), seg(&repo.name))
}

/// A path of several segments (`dir/seats.yaml`, `heads/main`), each encoded.
fn segs(path: &str) -> String {
    path.trim_matches('/')
        .split('/')
        .map(seg)
        .collect::<Vec<_>>()
        .join("/")
}

/// True for a Contents write refused because the file moved on: GitHub's
/// observed shapes, "`PATH` does not match `SHA`" (409) and the ref
/// precondition's "is at X but expected Y" / "expected to be at". Any other
/// 409 (a protected branch, a ruleset, push protection) has a reason of its
/// own, and reading the file again would only meet it again.
fn is_stale(status: StatusCode, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (status == StatusCode::CONFLICT || status == StatusCode::UNPROCESSABLE_ENTITY)
        && (m.contains("does not match")
            || (m.contains(" is at ") && m.contains("but expected"))
            || m.contains("expected to be at"))
}

/// What to do about a Contents write refused with a reason of its own
/// (github-observed: "Could not update file: Changes must be made through
/// a pull request.", "Required status check \"ci\" is expected.",
/// "Repository rule violations found", push protection's 409).
fn refused_write_advice(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("secret") || m.contains("push protection") {
        "GitHub's push protection found a secret in the new content: remove it from seats.yaml"
    } else {
        "the branch is protected (branch protection or a ruleset): set `policy.self_serve.mode: pull_request` in seats.yaml so requests open a pull request, or give the token a bypass of the rule"
    }
}

#[derive(Deserialize)]
struct RepoJson {
    full_name: String,
    default_branch: String,
    html_url: String,
    #[serde(default)]
    permissions: Option<PermissionsJson>,
    #[serde(default)]
    allow_auto_merge: Option<bool>,
    #[serde(default)]
    allow_squash_merge: Option<bool>,
    #[serde(default)]
    allow_merge_commit: Option<bool>,
    #[serde(default)]
    allow_rebase_merge: Option<bool>,
}

#[derive(Deserialize)]
struct PermissionsJson {
    push: bool,
}

#[derive(Deserialize)]
struct CommitRef {
    sha: String,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct FileCommitJson {
    commit: CommitRef,
}

#[derive(Deserialize)]
struct RefJson {
    object: RefObject,
}

#[derive(Deserialize)]
struct RefObject {
    sha: String,
}

#[derive(Deserialize)]
struct LoginJson {
    login: String,
}

#[derive(Deserialize)]
struct LabelName {
    name: String,
}

/// An issue's labels are names or objects.
#[derive(Deserialize)]
#[serde(untagged)]
enum LabelJson {
    Name(String),
    Object(LabelName),
}

impl LabelJson {
    fn into_name(self) -> String {
        match self {
            LabelJson::Name(n) => n,
            LabelJson::Object(o) => o.name,
        }
    }
}

#[derive(Deserialize)]
struct BranchJson {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
}

#[derive(Deserialize)]
struct PullJson {
    number: u64,
    html_url: String,
    state: String,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    title: String,
    body: Option<String>,
    head: BranchJson,
    base: BranchJson,
    #[serde(default)]
    labels: Vec<LabelJson>,
    user: Option<LoginJson>,
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    mergeable: Option<bool>,
    #[serde(default)]
    mergeable_state: Option<String>,
}

impl From<PullJson> for PullRequest {
    fn from(p: PullJson) -> Self {
        PullRequest {
            number: p.number,
            html_url: p.html_url,
            state: p.state,
            merged: p.merged.unwrap_or(p.merged_at.is_some()),
            title: p.title,
            body: p.body,
            head_ref: p.head.git_ref,
            head_sha: p.head.sha,
            base_ref: p.base.git_ref,
            labels: p.labels.into_iter().map(LabelJson::into_name).collect(),
            user: p.user.map(|u| u.login),
            node_id: p.node_id,
            mergeable: p.mergeable,
            mergeable_state: p.mergeable_state,
        }
    }
}

#[derive(Deserialize)]
struct IssueJson {
    number: u64,
    html_url: String,
    state: String,
    title: String,
    body: Option<String>,
    #[serde(default)]
    labels: Vec<LabelJson>,
    user: Option<LoginJson>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl From<IssueJson> for Issue {
    fn from(i: IssueJson) -> Self {
        Issue {
            number: i.number,
            html_url: i.html_url,
            state: i.state,
            title: i.title,
            body: i.body,
            labels: i.labels.into_iter().map(LabelJson::into_name).collect(),
            user: i.user.map(|u| u.login),
        }
    }
}

#[derive(Deserialize)]
struct CommentJson {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: Option<LoginJson>,
    created_at: DateTime<Utc>,
    html_url: String,
}

impl From<CommentJson> for Comment {
    fn from(c: CommentJson) -> Self {
        Comment {
            id: c.id,
            body: c.body.unwrap_or_default(),
            user: c.user.map(|u| u.login),
            created_at: c.created_at,
            html_url: c.html_url,
        }
    }
}

#[derive(Deserialize)]
struct PullFileJson {
    filename: String,
    status: String,
    additions: u64,
    deletions: u64,
}

#[derive(Deserialize)]
struct MergeJson {
    sha: String,
}

impl GitHubClient {
    async fn repo_send(&self, repo: &RepoRef, req: &Req) -> Result<Resp, GitHubError> {
        let crab = self.crab_for(Some(&repo.owner)).await?;
        self.send(&crab, req).await
    }

    /// The error for a repository route's response: 404 and 403 name the
    /// repository and the permission it takes.
    fn repo_error(&self, repo: &RepoRef, req: &Req, resp: &Resp, needs: &str) -> GitHubError {
        let message = resp.message();
        match resp.status {
            StatusCode::NOT_FOUND => GitHubError::Http {
                status: 404,
                method: req.method.to_string(),
                route: req.route.to_string(),
                message: format!(
                    "{message}: {repo} (or what the request names in it) does not exist, or the token cannot see the repository (it needs {needs})"
                ),
            },
            StatusCode::FORBIDDEN => GitHubError::Forbidden {
                method: req.method.to_string(),
                route: req.route.to_string(),
                message,
                advice: format!(
                    "the token cannot write to {repo}: a fine-grained token or GitHub App needs {needs} on that repository; a classic token needs the `repo` scope and push access"
                ),
            },
            _ => self.status_error(req, resp, None),
        }
    }

    /// Send a request and decode its success body; any other status is the
    /// repository route's error, naming the permission it takes.
    async fn repo_call<T: DeserializeOwned>(
        &self,
        repo: &RepoRef,
        req: &Req,
        needs: &str,
    ) -> Result<T, GitHubError> {
        let resp = self.repo_send(repo, req).await?;
        if !resp.status.is_success() {
            return Err(self.repo_error(repo, req, &resp, needs));
        }
        resp.json::<T>(req.route)
    }

    fn json_req(method: Method, route: &'static str, path: String, body: serde_json::Value) -> Req {
        Req {
            method,
            route,
            path,
            body: Some(body.to_string()),
            if_none_match: None,
        }
    }

    /// Every page of a list (`per_page=100`, following `rel="next"`).
    async fn repo_list<T: DeserializeOwned>(
        &self,
        repo: &RepoRef,
        route: &'static str,
        path: String,
        query: &str,
        needs: &str,
    ) -> Result<Vec<T>, GitHubError> {
        let mut out = Vec::new();
        for page in 1..=MAX_LIST_PAGES {
            let sep = if query.is_empty() { "" } else { "&" };
            let req = Req::get(
                route,
                format!("{path}?{query}{sep}per_page={PER_PAGE}&page={page}"),
            );
            let resp = self.repo_send(repo, &req).await?;
            if !resp.status.is_success() {
                return Err(self.repo_error(repo, &req, &resp, needs));
            }
            let items: Vec<T> = resp.json(route)?;
            out.extend(items);
            if !links(&resp.headers).next {
                return Ok(out);
            }
        }
        Err(GitHubError::IncompleteListing {
            message: format!("{route}: more than {MAX_LIST_PAGES} pages"),
            shifted: false,
            partial: None,
        })
    }
}

#[async_trait]
impl RepoApi for GitHubClient {
    async fn repository(&self, repo: &RepoRef) -> Result<Repository, GitHubError> {
        let req = Req::get(R_REPO, base(repo));
        let resp = self.repo_send(repo, &req).await?;
        if !resp.status.is_success() {
            return Err(self.repo_error(repo, &req, &resp, "metadata: read"));
        }
        let r: RepoJson = resp.json(R_REPO)?;
        Ok(Repository {
            full_name: r.full_name,
            default_branch: r.default_branch,
            can_push: r.permissions.map(|p| p.push),
            html_url: r.html_url,
            merge: MergeSettings {
                allow_auto_merge: r.allow_auto_merge,
                allow_squash_merge: r.allow_squash_merge,
                allow_merge_commit: r.allow_merge_commit,
                allow_rebase_merge: r.allow_rebase_merge,
            },
        })
    }

    async fn read_file(
        &self,
        repo: &RepoRef,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<RepoFile>, GitHubError> {
        match self
            .get_contents(&repo.owner, &repo.name, path, git_ref, None)
            .await
        {
            Ok(Contents::File { bytes, sha, .. }) => Ok(Some(RepoFile { bytes, sha })),
            Ok(Contents::NotModified) => Err(GitHubError::Decode {
                route: R_CONTENTS.into(),
                message: "304 Not Modified without If-None-Match".into(),
            }),
            Err(GitHubError::Http { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write_file(
        &self,
        repo: &RepoRef,
        file: &FileWrite<'_>,
    ) -> Result<Written, GitHubError> {
        use base64::Engine as _;
        let mut body = serde_json::json!({
            "message": file.message,
            "content": base64::engine::general_purpose::STANDARD.encode(file.content),
            "branch": file.branch,
        });
        if let (Some(sha), Some(o)) = (file.sha, body.as_object_mut()) {
            o.insert("sha".into(), sha.into());
        }
        let req = Self::json_req(
            Method::PUT,
            R_CONTENTS,
            format!("{}/contents/{}", base(repo), segs(file.path)),
            body,
        );
        let resp = self.repo_send(repo, &req).await?;
        if resp.status.is_success() {
            let c: FileCommitJson = resp.json(R_CONTENTS)?;
            return Ok(Written::Committed {
                commit: c.commit.sha,
                html_url: c.commit.html_url,
            });
        }
        let message = resp.message();
        if is_stale(resp.status, &message) {
            return Ok(Written::Stale { message });
        }
        if resp.status == StatusCode::CONFLICT {
            return Err(GitHubError::WriteRefused {
                what: format!("{} on {repo}", file.path),
                advice: refused_write_advice(&message).to_string(),
                message,
            });
        }
        Err(self.repo_error(repo, &req, &resp, "contents: write"))
    }

    async fn get_ref(
        &self,
        repo: &RepoRef,
        git_ref: &str,
        if_none_match: Option<&str>,
    ) -> Result<RefRead, GitHubError> {
        let mut req = Req::get(R_REF, format!("{}/git/ref/{}", base(repo), segs(git_ref)));
        req.if_none_match = if_none_match.map(str::to_string);
        let resp = self.repo_send(repo, &req).await?;
        match resp.status {
            StatusCode::NOT_MODIFIED => Ok(RefRead::NotModified),
            // 409: "Git Repository is empty".
            StatusCode::NOT_FOUND | StatusCode::CONFLICT => Ok(RefRead::Missing),
            s if s.is_success() => {
                let r: RefJson = resp.json(R_REF)?;
                let etag = resp
                    .headers
                    .get(http::header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                Ok(RefRead::Found {
                    sha: r.object.sha,
                    etag,
                })
            }
            _ => Err(self.repo_error(repo, &req, &resp, "contents: read")),
        }
    }

    async fn create_ref(
        &self,
        repo: &RepoRef,
        full_ref: &str,
        sha: &str,
    ) -> Result<RefWrite, GitHubError> {
        let req = Self::json_req(
            Method::POST,
            R_REFS,
            format!("{}/git/refs", base(repo)),
            serde_json::json!({ "ref": full_ref, "sha": sha }),
        );
        let resp = self.repo_send(repo, &req).await?;
        match resp.status {
            s if s.is_success() => Ok(RefWrite::Done),
            StatusCode::UNPROCESSABLE_ENTITY => Ok(RefWrite::Refused {
                message: resp.message(),
            }),
            _ => Err(self.repo_error(repo, &req, &resp, "contents: write")),
        }
    }

    async fn update_ref(
        &self,
        repo: &RepoRef,
        git_ref: &str,
        sha: &str,
        force: bool,
    ) -> Result<RefWrite, GitHubError> {
        let req = Self::json_req(
            Method::PATCH,
            R_REFS_REF,
            format!("{}/git/refs/{}", base(repo), segs(git_ref)),
            serde_json::json!({ "sha": sha, "force": force }),
        );
        let resp = self.repo_send(repo, &req).await?;
        match resp.status {
            s if s.is_success() => Ok(RefWrite::Done),
            StatusCode::UNPROCESSABLE_ENTITY => Ok(RefWrite::Refused {
                message: resp.message(),
            }),
            _ => Err(self.repo_error(repo, &req, &resp, "contents: write")),
        }
    }

    async fn list_pulls(
        &self,
        repo: &RepoRef,
        head: Option<&str>,
        state: &str,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let mut query = format!("state={}", seg(state));
        if let Some(h) = head {
            query.push_str(&format!("&head={}", seg(&format!("{}:{h}", repo.owner))));
        }
        let pulls: Vec<PullJson> = self
            .repo_list(
                repo,
                R_PULLS,
                format!("{}/pulls", base(repo)),
                &query,
                "pull requests: read",
            )
            .await?;
        Ok(pulls.into_iter().map(PullRequest::from).collect())
    }

    async fn create_pull(
        &self,
        repo: &RepoRef,
        pull: &NewPull<'_>,
    ) -> Result<PullRequest, GitHubError> {
        let req = Self::json_req(
            Method::POST,
            R_PULLS,
            format!("{}/pulls", base(repo)),
            serde_json::json!({
                "title": pull.title,
                "body": pull.body,
                "head": pull.head,
                "base": pull.base,
            }),
        );
        Ok(self
            .repo_call::<PullJson>(repo, &req, "pull requests: write")
            .await?
            .into())
    }

    async fn get_pull(&self, repo: &RepoRef, number: u64) -> Result<PullRequest, GitHubError> {
        let req = Req::get(R_PULL, format!("{}/pulls/{number}", base(repo)));
        Ok(self
            .repo_call::<PullJson>(repo, &req, "pull requests: read")
            .await?
            .into())
    }

    async fn update_pull(
        &self,
        repo: &RepoRef,
        number: u64,
        change: &IssueChange<'_>,
    ) -> Result<PullRequest, GitHubError> {
        let req = Self::json_req(
            Method::PATCH,
            R_PULL,
            format!("{}/pulls/{number}", base(repo)),
            change_body(change),
        );
        Ok(self
            .repo_call::<PullJson>(repo, &req, "pull requests: write")
            .await?
            .into())
    }

    async fn pull_files(&self, repo: &RepoRef, number: u64) -> Result<Vec<PullFile>, GitHubError> {
        let files: Vec<PullFileJson> = self
            .repo_list(
                repo,
                R_PULL_FILES,
                format!("{}/pulls/{number}/files", base(repo)),
                "",
                "pull requests: read",
            )
            .await?;
        Ok(files
            .into_iter()
            .map(|f| PullFile {
                filename: f.filename,
                status: f.status,
                additions: f.additions,
                deletions: f.deletions,
            })
            .collect())
    }

    async fn enable_auto_merge(
        &self,
        repo: &RepoRef,
        pull_node_id: &str,
        method: &str,
    ) -> Result<AutoMerge, GitHubError> {
        const MUTATION: &str = "mutation($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!) { enablePullRequestAutoMerge(input: {pullRequestId: $pullRequestId, mergeMethod: $mergeMethod}) { pullRequest { number autoMergeRequest { mergeMethod } } } }";
        let body = serde_json::json!({
            "query": MUTATION,
            "variables": {
                "pullRequestId": pull_node_id,
                "mergeMethod": method.to_ascii_uppercase(),
            },
        });
        let req = Self::json_req(Method::POST, "/graphql", "/graphql".into(), body);
        let resp = self.repo_send(repo, &req).await?;
        if !resp.status.is_success() {
            return Err(self.repo_error(repo, &req, &resp, "pull requests: write"));
        }
        // GraphQL answers 200 either way: refusals come as `errors`.
        #[derive(Deserialize)]
        struct GqlError {
            message: String,
        }
        #[derive(Deserialize)]
        struct Gql {
            #[serde(default)]
            errors: Vec<GqlError>,
        }
        let g: Gql = resp.json("/graphql")?;
        Ok(match g.errors.into_iter().next() {
            Some(e) => AutoMerge::Refused { message: e.message },
            None => AutoMerge::Enabled,
        })
    }

    async fn merge_pull(
        &self,
        repo: &RepoRef,
        number: u64,
        merge: &MergeRequest<'_>,
    ) -> Result<Merged, GitHubError> {
        let mut body = serde_json::json!({ "sha": merge.sha, "merge_method": merge.method });
        if let Some(o) = body.as_object_mut() {
            if let Some(t) = merge.title {
                o.insert("commit_title".into(), t.into());
            }
            if let Some(m) = merge.message {
                o.insert("commit_message".into(), m.into());
            }
        }
        let req = Self::json_req(
            Method::PUT,
            R_PULL_MERGE,
            format!("{}/pulls/{number}/merge", base(repo)),
            body,
        );
        let resp = self.repo_send(repo, &req).await?;
        match resp.status {
            s if s.is_success() => Ok(Merged::Merged {
                sha: resp.json::<MergeJson>(R_PULL_MERGE)?.sha,
            }),
            StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::CONFLICT
            | StatusCode::UNPROCESSABLE_ENTITY => Ok(Merged::NotMerged {
                status: resp.status.as_u16(),
                message: resp.message(),
            }),
            _ => Err(self.repo_error(
                repo,
                &req,
                &resp,
                "contents: write and pull requests: write",
            )),
        }
    }

    async fn list_issues(
        &self,
        repo: &RepoRef,
        labels: &[&str],
        state: &str,
    ) -> Result<Vec<Issue>, GitHubError> {
        let mut query = format!("state={}", seg(state));
        if !labels.is_empty() {
            let joined: Vec<String> = labels.iter().map(|l| seg(l)).collect();
            query.push_str(&format!("&labels={}", joined.join(",")));
        }
        let issues: Vec<IssueJson> = self
            .repo_list(
                repo,
                R_ISSUES,
                format!("{}/issues", base(repo)),
                &query,
                "issues: read",
            )
            .await?;
        // The Issues API lists pull requests too.
        Ok(issues
            .into_iter()
            .filter(|i| i.pull_request.is_none())
            .map(Issue::from)
            .collect())
    }

    async fn create_issue(
        &self,
        repo: &RepoRef,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> Result<Issue, GitHubError> {
        let req = Self::json_req(
            Method::POST,
            R_ISSUES,
            format!("{}/issues", base(repo)),
            serde_json::json!({ "title": title, "body": body, "labels": labels }),
        );
        Ok(self
            .repo_call::<IssueJson>(repo, &req, "issues: write")
            .await?
            .into())
    }

    async fn update_issue(
        &self,
        repo: &RepoRef,
        number: u64,
        change: &IssueChange<'_>,
    ) -> Result<Issue, GitHubError> {
        let req = Self::json_req(
            Method::PATCH,
            R_ISSUE,
            format!("{}/issues/{number}", base(repo)),
            change_body(change),
        );
        Ok(self
            .repo_call::<IssueJson>(repo, &req, "issues: write")
            .await?
            .into())
    }

    async fn list_comments(
        &self,
        repo: &RepoRef,
        number: u64,
    ) -> Result<Vec<Comment>, GitHubError> {
        let comments: Vec<CommentJson> = self
            .repo_list(
                repo,
                R_ISSUE_COMMENTS,
                format!("{}/issues/{number}/comments", base(repo)),
                "",
                "issues: read",
            )
            .await?;
        Ok(comments.into_iter().map(Comment::from).collect())
    }

    async fn create_comment(
        &self,
        repo: &RepoRef,
        number: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let req = Self::json_req(
            Method::POST,
            R_ISSUE_COMMENTS,
            format!("{}/issues/{number}/comments", base(repo)),
            serde_json::json!({ "body": body }),
        );
        Ok(self
            .repo_call::<CommentJson>(repo, &req, "issues: write")
            .await?
            .into())
    }

    async fn update_comment(
        &self,
        repo: &RepoRef,
        id: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let req = Self::json_req(
            Method::PATCH,
            R_COMMENT,
            format!("{}/issues/comments/{id}", base(repo)),
            serde_json::json!({ "body": body }),
        );
        Ok(self
            .repo_call::<CommentJson>(repo, &req, "issues: write")
            .await?
            .into())
    }

    async fn add_labels(
        &self,
        repo: &RepoRef,
        number: u64,
        labels: &[&str],
    ) -> Result<(), GitHubError> {
        if labels.is_empty() {
            return Ok(());
        }
        let req = Self::json_req(
            Method::POST,
            R_ISSUE_LABELS,
            format!("{}/issues/{number}/labels", base(repo)),
            serde_json::json!({ "labels": labels }),
        );
        let resp = self.repo_send(repo, &req).await?;
        if !resp.status.is_success() {
            return Err(self.repo_error(repo, &req, &resp, "issues: write"));
        }
        Ok(())
    }

    async fn remove_label(
        &self,
        repo: &RepoRef,
        number: u64,
        label: &str,
    ) -> Result<bool, GitHubError> {
        let req = Req {
            method: Method::DELETE,
            route: R_ISSUE_LABEL,
            path: format!("{}/issues/{number}/labels/{}", base(repo), seg(label)),
            body: None,
            if_none_match: None,
        };
        let resp = self.repo_send(repo, &req).await?;
        match resp.status {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.repo_error(repo, &req, &resp, "issues: write")),
        }
    }

    async fn own_login(&self) -> Result<String, GitHubError> {
        self.read_own_login().await
    }
}

fn change_body(change: &IssueChange<'_>) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    if let Some(t) = change.title {
        m.insert("title".into(), t.into());
    }
    if let Some(b) = change.body {
        m.insert("body".into(), b.into());
    }
    if let Some(s) = change.state {
        m.insert("state".into(), s.into());
    }
    serde_json::Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_writes_are_recognised() {
        #[rustfmt::skip]
        let cases: &[(u16, &str, bool)] = &[
            (409, "seats.yaml does not match 3d2f", true),
            (409, "refs/heads/main expected to be at 1a2b", true),
            // github-observed: protected branches and rulesets are not stale.
            (409, "Could not update file: Changes must be made through a pull request.", false),
            (409, "Could not create file: Required status check \"ci\" is expected.", false),
            (409, "Could not update file: 6 of 6 required status checks are expected.", false),
            (409, "Repository rule violations found\n\nChanges must be made through a pull request.", false),
            (422, "refs/heads/main is at 1a2b but expected 3c4d", true),
            (422, "seats.yaml does not match 3d2f", true),
            (422, "Invalid request.\n\n\"sha\" wasn't supplied.", false),
            (422, "Validation Failed", false),
            (404, "Not Found", false),
        ];
        for (status, message, want) in cases {
            let s = StatusCode::from_u16(*status).unwrap();
            assert_eq!(is_stale(s, message), *want, "{status} {message}");
        }
    }

    #[test]
    fn refused_writes_say_what_to_change() {
        assert!(
            refused_write_advice(
                "Could not update file: Changes must be made through a pull request."
            )
            .contains("policy.self_serve.mode: pull_request")
        );
        assert!(refused_write_advice("Secret detected in content").contains("push protection"));
    }

    #[test]
    fn paths_keep_their_slashes() {
        assert_eq!(segs("/config/seats.yaml"), "config/seats.yaml");
        assert_eq!(segs("heads/feature/x y"), "heads/feature/x%20y");
    }
}
