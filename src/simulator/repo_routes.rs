//! HTTP handlers for the repository routes: repository, contents (read and
//! write with a `sha` precondition), git refs, pull requests, issues,
//! comments and labels. They parse, lock, call the transitions in
//! `repo.rs`, answer GitHub's JSON, and hand branch moves to the webhook
//! sender.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::pagination;
use super::repo::{IssueState, IssueUpdate, RepoError, SimRepo, branch_name};
use super::repo_json;
use super::server::{
    ApiError, ApiResult, Shared, content_links, empty, header_str, if_none_match, json_response,
    page_request, with_link, wrapped_base64,
};
use super::state::SimState;
use crate::source::git_blob_sha;

const DOC_REPOS: &str = "https://docs.github.com/rest/repos/repos#get-a-repository";
const DOC_PULLS: &str = "https://docs.github.com/rest/pulls/pulls";
const DOC_ISSUES: &str = "https://docs.github.com/rest/issues/issues";

fn repo_error(e: RepoError, doc: &'static str) -> ApiError {
    let status = match &e {
        RepoError::NotFound(_) => 404,
        RepoError::ReadOnly => 403,
        RepoError::StaleSha { .. } | RepoError::HeadModified | RepoError::Protected { .. } => 409,
        RepoError::Invalid(_) => 422,
        RepoError::NotMergeable(_) => 405,
    };
    ApiError::new(status, e.to_string(), doc)
}

fn full_name(owner: &str, repo: &str) -> String {
    format!("{owner}/{repo}")
}

fn find<'a>(st: &'a SimState, full: &str, doc: &'static str) -> Result<&'a SimRepo, ApiError> {
    st.repo(full).ok_or_else(|| ApiError::not_found(doc))
}

/// A JSON request body; bad JSON is 400, a non-object 422, as on GitHub.
fn body_object(body: &[u8], doc: &'static str) -> Result<serde_json::Map<String, Value>, ApiError> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|_| ApiError::new(400, "Problems parsing JSON", doc))?
    };
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::new(
            422,
            "Invalid request.\n\nInvalid input: object is expected.",
            doc,
        )),
    }
}

fn opt_str<'a>(
    m: &'a serde_json::Map<String, Value>,
    key: &str,
    doc: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::new(
            422,
            format!("Invalid request.\n\nFor 'properties/{key}', {other} is not a string."),
            doc,
        )),
    }
}

fn req_str<'a>(
    m: &'a serde_json::Map<String, Value>,
    key: &str,
    doc: &'static str,
) -> Result<&'a str, ApiError> {
    opt_str(m, key, doc)?.ok_or_else(|| {
        ApiError::new(
            422,
            format!("Invalid request.\n\n\"{key}\" wasn't supplied."),
            doc,
        )
    })
}

fn query_value(uri: &Uri, key: &str) -> Option<String> {
    pagination::query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| pagination::percent_decode(v))
        .filter(|v| !v.is_empty())
}

fn number(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::not_found(super::server::DOC_REST))
}

fn page_of(sh: &Shared, uri: &Uri, items: Vec<Value>, doc: &'static str) -> ApiResult {
    let req = page_request(uri.query(), 30, doc)?;
    let total = items.len();
    let page: Vec<Value> = items[req.range(total)].to_vec();
    Ok(with_link(
        json_response(StatusCode::OK, &page),
        sh,
        uri,
        req,
        total,
    ))
}

// ---------------------------------------------------------------------------
// Repository

pub(crate) async fn get_repo(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
) -> ApiResult {
    let st = sh.state();
    let r = find(&st, &full_name(&owner, &repo), DOC_REPOS)?;
    Ok(json_response(
        StatusCode::OK,
        &repo_json::repository(sh.api(), &st, r),
    ))
}

// ---------------------------------------------------------------------------
// Contents

pub(crate) async fn get_contents(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, path)): Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/repos/contents#get-repository-content";
    let st = sh.state();
    let full_req = full_name(&owner, &repo);
    let r = find(&st, &full_req, doc)?;
    let full = r.full_name.clone();
    let git_ref = query_value(&uri, "ref").unwrap_or_else(|| r.default_branch.clone());
    let commit = r
        .resolve(&git_ref)
        .ok_or_else(|| ApiError::new(404, format!("No commit found for the ref {git_ref}"), doc))?;
    let shown_ref = branch_name(&git_ref).to_string();
    let path = path.trim_matches('/').to_string();
    let api = sh.api();
    if let Some(content) = commit.files.get(&path) {
        let bytes = content.as_bytes();
        let sha = git_blob_sha(bytes);
        let etag = format!("\"{sha}\"");
        let mut resp = if if_none_match(&headers, &etag) {
            empty(StatusCode::NOT_MODIFIED)
        } else if header_str(&headers, "accept").is_some_and(|a| a.contains("vnd.github.raw")) {
            let mut resp = Response::new(Body::from(content.clone()));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.github.raw; charset=utf-8"),
            );
            resp
        } else {
            let name = path.rsplit('/').next().unwrap_or(&path).to_string();
            let mut body = content_links(api, &full, &shown_ref, &path, &sha, "file");
            if let Some(o) = body.as_object_mut() {
                o.insert("type".into(), "file".into());
                o.insert("encoding".into(), "base64".into());
                o.insert("size".into(), bytes.len().into());
                o.insert("name".into(), name.into());
                o.insert("path".into(), path.clone().into());
                o.insert("content".into(), wrapped_base64(bytes).into());
                o.insert("sha".into(), sha.clone().into());
                let raw = format!("https://raw.githubusercontent.com/{full}/{shown_ref}/{path}");
                o.insert("download_url".into(), raw.into());
            }
            json_response(StatusCode::OK, &body)
        };
        if let Ok(v) = HeaderValue::try_from(etag) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    // A directory: list its direct entries.
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut entries: std::collections::BTreeMap<String, Value> = Default::default();
    for (fpath, content) in &commit.files {
        let Some(rest) = fpath.strip_prefix(&prefix) else {
            continue;
        };
        let (name, kind) = match rest.split_once('/') {
            Some((dir, _)) => (dir.to_string(), "dir"),
            None => (rest.to_string(), "file"),
        };
        if entries.contains_key(&name) {
            continue;
        }
        let epath = format!("{prefix}{name}");
        let (sha, size) = if kind == "file" {
            (git_blob_sha(content.as_bytes()), content.len())
        } else {
            (git_blob_sha(epath.as_bytes()), 0)
        };
        let mut e = content_links(api, &full, &shown_ref, &epath, &sha, kind);
        if let Some(o) = e.as_object_mut() {
            o.insert("type".into(), kind.into());
            o.insert("size".into(), size.into());
            o.insert("name".into(), name.clone().into());
            o.insert("path".into(), epath.clone().into());
            o.insert("sha".into(), sha.into());
            let dl = (kind == "file")
                .then(|| format!("https://raw.githubusercontent.com/{full}/{shown_ref}/{epath}"));
            o.insert("download_url".into(), dl.into());
        }
        entries.insert(name, e);
    }
    if entries.is_empty() {
        return Err(ApiError::not_found(doc));
    }
    let list: Vec<Value> = entries.into_values().collect();
    Ok(json_response(StatusCode::OK, &list))
}

pub(crate) async fn put_contents(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, path)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/repos/contents#create-or-update-file-contents";
    let m = body_object(&body, doc)?;
    let message = req_str(&m, "message", doc)?.to_string();
    let content_b64 = req_str(&m, "content", doc)?;
    let compact: String = content_b64.split_ascii_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| ApiError::new(422, "Invalid request.\n\ncontent is not valid Base64", doc))?;
    let content = String::from_utf8(bytes).map_err(|_| {
        ApiError::new(
            422,
            "Invalid request.\n\ncontent is not UTF-8 text (the simulator stores text files)",
            doc,
        )
    })?;
    let sha = opt_str(&m, "sha", doc)?.map(str::to_string);
    let branch = opt_str(&m, "branch", doc)?.map(str::to_string);
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    let path = path.trim_matches('/').to_string();
    let done = st
        .put_contents(
            &full,
            &path,
            branch.as_deref(),
            content.clone(),
            sha.as_deref(),
            &message,
        )
        .map_err(|e| repo_error(e, doc))?;
    let r = find(&st, &full, doc)?;
    let branch = branch.unwrap_or_else(|| r.default_branch.clone());
    let commit = r
        .commits
        .get(&done.commit)
        .map(|c| repo_json::commit(sh.api(), &r.full_name, c));
    let body = json!({
        "content": repo_json::file_entry(sh.api(), &r.full_name, branch_name(&branch), &path, &content),
        "commit": commit,
    });
    sh.flush_pushes(&mut st);
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &body))
}

// ---------------------------------------------------------------------------
// Git refs

pub(crate) async fn get_ref(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, git_ref)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/git/refs#get-a-reference";
    let st = sh.state();
    let r = find(&st, &full_name(&owner, &repo), doc)?;
    let Some(branch) = git_ref.strip_prefix("heads/") else {
        return Err(ApiError::not_found(doc));
    };
    let sha = r
        .branches
        .get(branch)
        .ok_or_else(|| ApiError::not_found(doc))?;
    let etag = format!(
        "W/\"{}\"",
        git_blob_sha(format!("{branch}:{sha}").as_bytes())
    );
    let mut resp = if if_none_match(&headers, &etag) {
        empty(StatusCode::NOT_MODIFIED)
    } else {
        json_response(
            StatusCode::OK,
            &repo_json::git_ref(sh.api(), &r.full_name, branch, sha),
        )
    };
    if let Ok(v) = HeaderValue::try_from(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

pub(crate) async fn create_ref(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/git/refs#create-a-reference";
    let m = body_object(&body, doc)?;
    let full_ref = req_str(&m, "ref", doc)?.to_string();
    let sha = req_str(&m, "sha", doc)?.to_string();
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    st.create_ref(&full, &full_ref, &sha)
        .map_err(|e| repo_error(e, doc))?;
    let r = find(&st, &full, doc)?;
    let branch = branch_name(&full_ref).to_string();
    let body = repo_json::git_ref(sh.api(), &r.full_name, &branch, &sha);
    sh.flush_pushes(&mut st);
    Ok(json_response(StatusCode::CREATED, &body))
}

pub(crate) async fn update_ref(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, git_ref)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/git/refs#update-a-reference";
    let m = body_object(&body, doc)?;
    let sha = req_str(&m, "sha", doc)?.to_string();
    let force = match m.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::new(
                422,
                format!("Invalid request.\n\nFor 'properties/force', {other} is not a boolean."),
                doc,
            ));
        }
    };
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    st.update_ref(&full, &git_ref, &sha, force)
        .map_err(|e| repo_error(e, doc))?;
    let r = find(&st, &full, doc)?;
    let body = repo_json::git_ref(sh.api(), &r.full_name, branch_name(&git_ref), &sha);
    sh.flush_pushes(&mut st);
    Ok(json_response(StatusCode::OK, &body))
}

// ---------------------------------------------------------------------------
// Pull requests

fn pull_json(sh: &Shared, st: &SimState, full: &str, n: u64, detail: bool) -> ApiResult {
    let r = find(st, full, DOC_PULLS)?;
    let i = r
        .issue(n)
        .filter(|i| i.pull.is_some())
        .ok_or_else(|| ApiError::not_found(DOC_PULLS))?;
    Ok(json_response(
        StatusCode::OK,
        &repo_json::pull(sh.api(), st, r, i, detail),
    ))
}

pub(crate) async fn list_pulls(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
    uri: Uri,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/pulls/pulls#list-pull-requests";
    let state = query_value(&uri, "state").unwrap_or_else(|| "open".into());
    let head = query_value(&uri, "head");
    let base = query_value(&uri, "base");
    let st = sh.state();
    let r = find(&st, &full_name(&owner, &repo), doc)?;
    let owner_login = r.full_name.split('/').next().unwrap_or_default();
    let items: Vec<Value> = r
        .issues
        .iter()
        .rev()
        .filter(|i| {
            let Some(p) = &i.pull else { return false };
            let state_ok = state == "all" || i.state.as_str() == state;
            let head_ok = head.as_deref().is_none_or(|h| {
                let (o, b) = h.split_once(':').unwrap_or((owner_login, h));
                o.eq_ignore_ascii_case(owner_login) && b == p.head
            });
            let base_ok = base.as_deref().is_none_or(|b| b == p.base);
            state_ok && head_ok && base_ok
        })
        .map(|i| repo_json::pull(sh.api(), &st, r, i, false))
        .collect();
    page_of(&sh, &uri, items, doc)
}

pub(crate) async fn create_pull(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let doc = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request";
    let m = body_object(&body, doc)?;
    let title = req_str(&m, "title", doc)?.to_string();
    let head = req_str(&m, "head", doc)?.to_string();
    let base = req_str(&m, "base", doc)?.to_string();
    let pr_body = opt_str(&m, "body", doc)?.map(str::to_string);
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    let n = st
        .create_pull(&full, &title, pr_body, &head, &base)
        .map_err(|e| repo_error(e, doc))?;
    let mut resp = pull_json(&sh, &st, &full, n, true)?;
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

pub(crate) async fn get_pull(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
) -> ApiResult {
    let mut st = sh.state();
    let (full, n) = (full_name(&owner, &repo), number(&n)?);
    // Count the read: mergeability shows after `mergeable_after_reads`.
    if let Ok(r) = st.repo_mut(&full)
        && let Some(p) = r
            .issues
            .iter_mut()
            .find(|i| i.number == n)
            .and_then(|i| i.pull.as_mut())
    {
        p.reads = p.reads.saturating_add(1);
    }
    pull_json(&sh, &st, &full, n, true)
}

fn issue_update(
    m: &serde_json::Map<String, Value>,
    doc: &'static str,
) -> Result<IssueUpdate, ApiError> {
    let state = match opt_str(m, "state", doc)? {
        None => None,
        Some("open") => Some(IssueState::Open),
        Some("closed") => Some(IssueState::Closed),
        Some(other) => {
            return Err(ApiError::new(
                422,
                format!(
                    "Invalid request.\n\nFor 'properties/state', \"{other}\" is not one of [\"open\", \"closed\"]."
                ),
                doc,
            ));
        }
    };
    let labels = match m.get("labels") {
        None | Some(Value::Null) => None,
        Some(v) => Some(label_names(v, doc)?),
    };
    Ok(IssueUpdate {
        title: opt_str(m, "title", doc)?.map(str::to_string),
        body: opt_str(m, "body", doc)?.map(str::to_string),
        state,
        state_reason: opt_str(m, "state_reason", doc)?.map(str::to_string),
        labels,
    })
}

pub(crate) async fn update_pull(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/pulls/pulls#update-a-pull-request";
    let m = body_object(&body, doc)?;
    let mut update = issue_update(&m, doc)?;
    update.labels = None;
    let n = number(&n)?;
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    if find(&st, &full, doc)?
        .issue(n)
        .is_none_or(|i| i.pull.is_none())
    {
        return Err(ApiError::not_found(doc));
    }
    st.update_issue(&full, n, update)
        .map_err(|e| repo_error(e, doc))?;
    pull_json(&sh, &st, &full, n, true)
}

pub(crate) async fn pull_files(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
    uri: Uri,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files";
    let n = number(&n)?;
    let st = sh.state();
    let full = full_name(&owner, &repo);
    let r = find(&st, &full, doc)?;
    let files = st.pull_files(&full, n).map_err(|e| repo_error(e, doc))?;
    let head = r
        .issue(n)
        .and_then(|i| i.pull.as_ref())
        .and_then(|p| {
            r.head(&p.head)
                .map(|c| c.sha.clone())
                .or(p.merge_commit.clone())
        })
        .unwrap_or_default();
    let items: Vec<Value> = files
        .iter()
        .map(|f| repo_json::diff_entry(sh.api(), &r.full_name, &head, f))
        .collect();
    page_of(&sh, &uri, items, doc)
}

pub(crate) async fn merge_pull(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request";
    let m = body_object(&body, doc)?;
    let sha = opt_str(&m, "sha", doc)?.map(str::to_string);
    let method = opt_str(&m, "merge_method", doc)?
        .unwrap_or("merge")
        .to_string();
    let title = opt_str(&m, "commit_title", doc)?.map(str::to_string);
    let message = opt_str(&m, "commit_message", doc)?.map(str::to_string);
    let n = number(&n)?;
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    let commit = st
        .merge_pull(
            &full,
            n,
            sha.as_deref(),
            &method,
            title.as_deref(),
            message.as_deref(),
        )
        .map_err(|e| repo_error(e, doc))?;
    sh.flush_pushes(&mut st);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sha": commit, "merged": true, "message": "Pull Request successfully merged" }),
    ))
}

// ---------------------------------------------------------------------------
// Issues, comments, labels

fn label_names(v: &Value, doc: &'static str) -> Result<Vec<String>, ApiError> {
    let items = v.as_array().ok_or_else(|| {
        ApiError::new(
            422,
            "Invalid request.\n\nFor 'labels', expected an array.",
            doc,
        )
    })?;
    items
        .iter()
        .map(|i| match i {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::new(422, "Invalid request.\n\nA label needs a name.", doc)
                }),
            other => Err(ApiError::new(
                422,
                format!("Invalid request.\n\nFor 'items', {other} is not a string."),
                doc,
            )),
        })
        .collect()
}

fn issue_json(sh: &Shared, st: &SimState, full: &str, n: u64, status: StatusCode) -> ApiResult {
    let r = find(st, full, DOC_ISSUES)?;
    let i = r.issue(n).ok_or_else(|| ApiError::not_found(DOC_ISSUES))?;
    let comments = r.comments.iter().filter(|c| c.issue == n).count();
    Ok(json_response(
        status,
        &repo_json::issue(sh.api(), &r.full_name, i, comments),
    ))
}

pub(crate) async fn list_issues(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
    uri: Uri,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/issues#list-repository-issues";
    let state = query_value(&uri, "state").unwrap_or_else(|| "open".into());
    let labels: Vec<String> = query_value(&uri, "labels")
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let creator = query_value(&uri, "creator");
    let st = sh.state();
    let r = find(&st, &full_name(&owner, &repo), doc)?;
    let items: Vec<Value> = r
        .issues
        .iter()
        .rev()
        .filter(|i| state == "all" || i.state.as_str() == state)
        .filter(|i| {
            labels
                .iter()
                .all(|l| i.labels.iter().any(|have| have.eq_ignore_ascii_case(l)))
        })
        .filter(|i| {
            creator
                .as_deref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&i.user))
        })
        .map(|i| {
            let comments = r.comments.iter().filter(|c| c.issue == i.number).count();
            repo_json::issue(sh.api(), &r.full_name, i, comments)
        })
        .collect();
    page_of(&sh, &uri, items, doc)
}

pub(crate) async fn create_issue(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/issues#create-an-issue";
    let m = body_object(&body, doc)?;
    let title = req_str(&m, "title", doc)?.to_string();
    let issue_body = opt_str(&m, "body", doc)?.map(str::to_string);
    let labels = match m.get("labels") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => label_names(v, doc)?,
    };
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    let n = st
        .create_issue(&full, &title, issue_body, labels)
        .map_err(|e| repo_error(e, doc))?;
    issue_json(&sh, &st, &full, n, StatusCode::CREATED)
}

pub(crate) async fn update_issue(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/issues#update-an-issue";
    let m = body_object(&body, doc)?;
    let update = issue_update(&m, doc)?;
    let n = number(&n)?;
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    st.update_issue(&full, n, update)
        .map_err(|e| repo_error(e, doc))?;
    issue_json(&sh, &st, &full, n, StatusCode::OK)
}

pub(crate) async fn list_comments(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
    uri: Uri,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/comments#list-issue-comments";
    let n = number(&n)?;
    let st = sh.state();
    let r = find(&st, &full_name(&owner, &repo), doc)?;
    let issue = r.issue(n).ok_or_else(|| ApiError::not_found(doc))?;
    let items: Vec<Value> = r
        .comments
        .iter()
        .filter(|c| c.issue == n)
        .map(|c| repo_json::comment(sh.api(), &r.full_name, c, issue.pull.is_some()))
        .collect();
    page_of(&sh, &uri, items, doc)
}

pub(crate) async fn create_comment(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
    let m = body_object(&body, doc)?;
    let text = req_str(&m, "body", doc)?.to_string();
    let n = number(&n)?;
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    let id = st
        .create_comment(&full, n, &text)
        .map_err(|e| repo_error(e, doc))?;
    let r = find(&st, &full, doc)?;
    let is_pull = r.issue(n).is_some_and(|i| i.pull.is_some());
    let c = r
        .comments
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(doc))?;
    Ok(json_response(
        StatusCode::CREATED,
        &repo_json::comment(sh.api(), &r.full_name, c, is_pull),
    ))
}

pub(crate) async fn update_comment(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/comments#update-an-issue-comment";
    let m = body_object(&body, doc)?;
    let text = req_str(&m, "body", doc)?.to_string();
    let id = number(&id)?;
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    st.update_comment(&full, id, &text)
        .map_err(|e| repo_error(e, doc))?;
    let r = find(&st, &full, doc)?;
    let c = r
        .comments
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(doc))?;
    let is_pull = r.issue(c.issue).is_some_and(|i| i.pull.is_some());
    Ok(json_response(
        StatusCode::OK,
        &repo_json::comment(sh.api(), &r.full_name, c, is_pull),
    ))
}

pub(crate) async fn add_labels(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue";
    let v: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::new(400, "Problems parsing JSON", doc))?;
    let names = match &v {
        Value::Object(o) => label_names(o.get("labels").unwrap_or(&Value::Null), doc)?,
        other => label_names(other, doc)?,
    };
    if names.is_empty() {
        return Err(ApiError::new(
            422,
            "Invalid request.\n\nFor 'properties/labels', [] has fewer than 1 items.",
            doc,
        ));
    }
    let n = number(&n)?;
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    st.add_labels(&full, n, names)
        .map_err(|e| repo_error(e, doc))?;
    let r = find(&st, &full, doc)?;
    let labels: Vec<Value> = r
        .issue(n)
        .map(|i| {
            i.labels
                .iter()
                .map(|l| repo_json::label(sh.api(), &r.full_name, l))
                .collect()
        })
        .unwrap_or_default();
    Ok(json_response(StatusCode::OK, &labels))
}

/// `DELETE .../issues/{n}/labels/{name}`: 200 with the labels left, 404
/// "Label does not exist" when the issue does not carry it.
pub(crate) async fn remove_label(
    State(sh): State<Arc<Shared>>,
    Path((owner, repo, n, name)): Path<(String, String, String, String)>,
) -> ApiResult {
    let doc = "https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue";
    let n = number(&n)?;
    let mut st = sh.state();
    let full = full_name(&owner, &repo);
    st.remove_label(&full, n, &name)
        .map_err(|e| repo_error(e, doc))?;
    let r = find(&st, &full, doc)?;
    let labels: Vec<Value> = r
        .issue(n)
        .map(|i| {
            i.labels
                .iter()
                .map(|l| repo_json::label(sh.api(), &r.full_name, l))
                .collect()
        })
        .unwrap_or_default();
    Ok(json_response(StatusCode::OK, &labels))
}

/// `POST /graphql`, shaped like GitHub's GraphQL answers (200 with `data`,
/// and `errors` for a refusal). Only `enablePullRequestAutoMerge(input:
/// {pullRequestId, mergeMethod})` is served, with its variables.
pub(crate) async fn graphql(State(sh): State<Arc<Shared>>, body: Bytes) -> ApiResult {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let query = v["query"].as_str().unwrap_or("");
    let vars = &v["variables"];
    let error = |kind: &str, message: String| {
        json!({
            "data": { "enablePullRequestAutoMerge": null },
            "errors": [{
                "type": kind,
                "path": ["enablePullRequestAutoMerge"],
                "locations": [{ "line": 1, "column": 1 }],
                "message": message,
            }],
        })
    };
    if !query.contains("enablePullRequestAutoMerge") {
        return Ok(json_response(
            StatusCode::OK,
            &json!({ "errors": [{ "message": "the simulator serves only the enablePullRequestAutoMerge mutation" }] }),
        ));
    }
    let (Some(node), Some(method)) = (vars["pullRequestId"].as_str(), vars["mergeMethod"].as_str())
    else {
        return Ok(json_response(
            StatusCode::OK,
            &json!({ "errors": [{ "message": "Variable $pullRequestId and $mergeMethod of type ID! and PullRequestMergeMethod are required" }] }),
        ));
    };
    let body = match sh.state().enable_auto_merge(node, method) {
        Ok(number) => json!({
            "data": { "enablePullRequestAutoMerge": { "pullRequest": {
                "number": number,
                "autoMergeRequest": { "mergeMethod": method.to_ascii_uppercase() },
            } } },
        }),
        Err(m) if m.starts_with("Could not resolve") => error("NOT_FOUND", m),
        Err(m) => error("UNPROCESSABLE", m),
    };
    Ok(json_response(StatusCode::OK, &body))
}
