//! GitHub's JSON objects for repositories: Full Repository, File Commit,
//! Git Reference, Pull Request, Diff Entry, Issue, Issue Comment, Label, and
//! the `push` webhook payload, each with every field the official
//! descriptions require. URLs point at the simulator (`api`) or github.com.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::json::{account, node_id, org_simple_for, simple_user, stable_id, ts};
use super::repo::{FileDiff, PushEvent, SimComment, SimCommit, SimIssue, SimRepo};
use super::state::SimState;

const HTML: &str = "https://github.com";

fn owner_login(repo: &SimRepo) -> &str {
    repo.full_name.split('/').next().unwrap_or_default()
}

fn owner(api: &str, st: &SimState, repo: &SimRepo) -> Value {
    let login = owner_login(repo);
    let kind = if login.eq_ignore_ascii_case(&st.org) {
        "Organization"
    } else {
        "User"
    };
    serde_json::to_value(account(api, login, kind)).unwrap_or_default()
}

/// A repository, valid as a Full Repository (`GET /repos/{owner}/{repo}`),
/// a Repository (a pull request's `base.repo`) and a push payload's
/// `repository`.
pub(crate) fn repository(api: &str, st: &SimState, repo: &SimRepo) -> Value {
    let full = &repo.full_name;
    let name = full.split('/').nth(1).unwrap_or_default();
    let u = format!("{api}/repos/{full}");
    let html = format!("{HTML}/{full}");
    let pushed = repo
        .commits
        .values()
        .map(|c| c.at)
        .max()
        .unwrap_or(repo.created_at);
    let open = repo
        .issues
        .iter()
        .filter(|i| i.state == super::repo::IssueState::Open)
        .count();
    let head = json!({
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": name,
        "full_name": full,
        "owner": owner(api, st, repo),
        "private": repo.private,
        "visibility": if repo.private { "private" } else { "public" },
        "html_url": html,
        "description": "Copilot seats, kept by seatkeeper",
        "fork": false,
    });
    let urls = json!({
        "url": u,
        "archive_url": format!("{u}/{{archive_format}}{{/ref}}"),
        "assignees_url": format!("{u}/assignees{{/user}}"),
        "blobs_url": format!("{u}/git/blobs{{/sha}}"),
        "branches_url": format!("{u}/branches{{/branch}}"),
        "collaborators_url": format!("{u}/collaborators{{/collaborator}}"),
        "comments_url": format!("{u}/comments{{/number}}"),
        "commits_url": format!("{u}/commits{{/sha}}"),
        "compare_url": format!("{u}/compare/{{base}}...{{head}}"),
        "contents_url": format!("{u}/contents/{{+path}}"),
        "contributors_url": format!("{u}/contributors"),
        "deployments_url": format!("{u}/deployments"),
        "downloads_url": format!("{u}/downloads"),
        "events_url": format!("{u}/events"),
        "forks_url": format!("{u}/forks"),
        "git_commits_url": format!("{u}/git/commits{{/sha}}"),
        "git_refs_url": format!("{u}/git/refs{{/sha}}"),
        "git_tags_url": format!("{u}/git/tags{{/sha}}"),
    });
    let urls2 = json!({
        "git_url": format!("git://github.com/{full}.git"),
        "issue_comment_url": format!("{u}/issues/comments{{/number}}"),
        "issue_events_url": format!("{u}/issues/events{{/number}}"),
        "issues_url": format!("{u}/issues{{/number}}"),
        "keys_url": format!("{u}/keys{{/key_id}}"),
        "labels_url": format!("{u}/labels{{/name}}"),
        "languages_url": format!("{u}/languages"),
        "merges_url": format!("{u}/merges"),
        "milestones_url": format!("{u}/milestones{{/number}}"),
        "notifications_url": format!("{u}/notifications{{?since,all,participating}}"),
        "pulls_url": format!("{u}/pulls{{/number}}"),
        "releases_url": format!("{u}/releases{{/id}}"),
        "ssh_url": format!("git@github.com:{full}.git"),
        "stargazers_url": format!("{u}/stargazers"),
        "statuses_url": format!("{u}/statuses/{{sha}}"),
        "subscribers_url": format!("{u}/subscribers"),
        "subscription_url": format!("{u}/subscription"),
        "tags_url": format!("{u}/tags"),
        "teams_url": format!("{u}/teams"),
        "trees_url": format!("{u}/git/trees{{/sha}}"),
        "clone_url": format!("{html}.git"),
        "mirror_url": null,
        "hooks_url": format!("{u}/hooks"),
        "svn_url": html,
    });
    let rest = json!({
        "homepage": null,
        "language": null,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": repo.commits.len(),
        "default_branch": repo.default_branch,
        "open_issues_count": open,
        "open_issues": open,
        "topics": [],
        "has_issues": true,
        "has_projects": false,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "pushed_at": ts(pushed),
        "created_at": ts(repo.created_at),
        "updated_at": ts(pushed),
        "permissions": {
            "admin": false,
            "maintain": false,
            "push": repo.writable,
            "triage": repo.writable,
            "pull": true,
        },
        "subscribers_count": 0,
        "network_count": 0,
        "license": null,
        "allow_forking": false,
        "allow_auto_merge": repo.allow_auto_merge,
        "allow_squash_merge": repo.allow_squash_merge,
        "allow_merge_commit": repo.allow_merge_commit,
        "allow_rebase_merge": repo.allow_rebase_merge,
        "is_template": false,
        "web_commit_signoff_required": false,
    });
    let mut v = head;
    if let Some(o) = v.as_object_mut() {
        for part in [urls, urls2, rest] {
            if let Value::Object(m) = part {
                o.extend(m);
            }
        }
    }
    v
}

/// A file's entry as the Contents API names it (`content` of a File Commit).
pub(crate) fn file_entry(api: &str, full: &str, git_ref: &str, path: &str, content: &str) -> Value {
    let sha = crate::source::git_blob_sha(content.as_bytes());
    let name = path.rsplit('/').next().unwrap_or(path);
    let url = format!("{api}/repos/{full}/contents/{path}?ref={git_ref}");
    let git = format!("{api}/repos/{full}/git/blobs/{sha}");
    let html = format!("{HTML}/{full}/blob/{git_ref}/{path}");
    json!({
        "name": name,
        "path": path,
        "sha": sha,
        "size": content.len(),
        "url": url,
        "html_url": html,
        "git_url": git,
        "download_url": format!("https://raw.githubusercontent.com/{full}/{git_ref}/{path}"),
        "type": "file",
        "_links": { "self": url, "git": git, "html": html },
    })
}

fn person(login: &str, at: DateTime<Utc>) -> Value {
    json!({
        "name": login,
        "email": format!("{login}@users.noreply.github.com"),
        "date": ts(at),
    })
}

/// The `commit` of a File Commit.
pub(crate) fn commit(api: &str, full: &str, c: &SimCommit) -> Value {
    let u = format!("{api}/repos/{full}/git/commits/{}", c.sha);
    let parents: Vec<Value> = c
        .parents
        .iter()
        .map(|p| {
            json!({
                "url": format!("{api}/repos/{full}/git/commits/{p}"),
                "html_url": format!("{HTML}/{full}/commit/{p}"),
                "sha": p,
            })
        })
        .collect();
    json!({
        "sha": c.sha,
        "node_id": node_id("Commit", stable_id("commit", &c.sha)),
        "url": u,
        "html_url": format!("{HTML}/{full}/commit/{}", c.sha),
        "author": person(&c.author, c.at),
        "committer": person(&c.author, c.at),
        "message": c.message,
        "tree": { "url": format!("{api}/repos/{full}/git/trees/{}", c.tree), "sha": c.tree },
        "parents": parents,
        "verification": { "verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null },
    })
}

/// A Git Reference for a branch.
pub(crate) fn git_ref(api: &str, full: &str, branch: &str, sha: &str) -> Value {
    json!({
        "ref": format!("refs/heads/{branch}"),
        "node_id": node_id("Ref", stable_id("ref", &format!("{full}:{branch}"))),
        "url": format!("{api}/repos/{full}/git/refs/heads/{branch}"),
        "object": {
            "type": "commit",
            "sha": sha,
            "url": format!("{api}/repos/{full}/git/commits/{sha}"),
        },
    })
}

/// A Label (colour and id derived from the name).
pub(crate) fn label(api: &str, full: &str, name: &str) -> Value {
    let id = stable_id("label", &format!("{full}:{name}"));
    json!({
        "id": id,
        "node_id": node_id("Label", id),
        "url": format!("{api}/repos/{full}/labels/{}", name.replace(' ', "%20")),
        "name": name,
        "description": null,
        "color": format!("{:06x}", id % 0x1000000),
        "default": false,
    })
}

fn issue_id(full: &str, number: u64) -> u64 {
    stable_id("issue", &format!("{full}#{number}"))
}

/// An Issue (for a pull request, with its `pull_request` links, as the
/// Issues API lists pull requests too).
pub(crate) fn issue(api: &str, full: &str, i: &SimIssue, comments: usize) -> Value {
    let u = format!("{api}/repos/{full}/issues/{}", i.number);
    let id = issue_id(full, i.number);
    let labels: Vec<Value> = i.labels.iter().map(|l| label(api, full, l)).collect();
    let mut v = json!({
        "id": id,
        "node_id": node_id("Issue", id),
        "url": u,
        "repository_url": format!("{api}/repos/{full}"),
        "labels_url": format!("{u}/labels{{/name}}"),
        "comments_url": format!("{u}/comments"),
        "events_url": format!("{u}/events"),
        "html_url": format!("{HTML}/{full}/{}/{}", if i.pull.is_some() { "pull" } else { "issues" }, i.number),
        "number": i.number,
        "state": i.state.as_str(),
        "state_reason": i.state_reason,
        "title": i.title,
        "body": i.body,
        "user": simple_user(api, &i.user),
        "labels": labels,
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "comments": comments,
        "closed_at": i.closed_at.map(ts),
        "created_at": ts(i.created_at),
        "updated_at": ts(i.updated_at),
        "author_association": "MEMBER",
    });
    if let (Some(p), Some(o)) = (&i.pull, v.as_object_mut()) {
        let pu = format!("{api}/repos/{full}/pulls/{}", i.number);
        let html = format!("{HTML}/{full}/pull/{}", i.number);
        o.insert(
            "pull_request".into(),
            json!({
                "url": pu,
                "html_url": html,
                "diff_url": format!("{html}.diff"),
                "patch_url": format!("{html}.patch"),
                "merged_at": p.merged_at.map(ts),
            }),
        );
    }
    v
}

/// An Issue Comment.
pub(crate) fn comment(api: &str, full: &str, c: &SimComment, is_pull: bool) -> Value {
    let kind = if is_pull { "pull" } else { "issues" };
    json!({
        "id": c.id,
        "node_id": node_id("IssueComment", c.id),
        "url": format!("{api}/repos/{full}/issues/comments/{}", c.id),
        "html_url": format!("{HTML}/{full}/{kind}/{}#issuecomment-{}", c.issue, c.id),
        "issue_url": format!("{api}/repos/{full}/issues/{}", c.issue),
        "body": c.body,
        "user": simple_user(api, &c.user),
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "author_association": "MEMBER",
    })
}

fn branch_side(api: &str, st: &SimState, repo: &SimRepo, branch: &str, sha: &str) -> Value {
    let login = owner_login(repo);
    json!({
        "label": format!("{login}:{branch}"),
        "ref": branch,
        "sha": sha,
        "user": owner(api, st, repo),
        "repo": repository(api, st, repo),
    })
}

/// A Pull Request; `full_detail` adds what only `GET .../pulls/{n}` and the
/// write routes return (mergeability, counts), as opposed to the list's
/// Pull Request Simple.
pub(crate) fn pull(
    api: &str,
    st: &SimState,
    repo: &SimRepo,
    i: &SimIssue,
    full_detail: bool,
) -> Value {
    let full = &repo.full_name;
    let Some(p) = &i.pull else {
        return Value::Null;
    };
    let n = i.number;
    let u = format!("{api}/repos/{full}/pulls/{n}");
    let html = format!("{HTML}/{full}/pull/{n}");
    let issue_url = format!("{api}/repos/{full}/issues/{n}");
    let id = issue_id(full, n);
    let head_sha = repo
        .head(&p.head)
        .map(|c| c.sha.clone())
        .unwrap_or_default();
    let base_sha = repo
        .head(&p.base)
        .map(|c| c.sha.clone())
        .unwrap_or_default();
    let statuses = format!("{api}/repos/{full}/statuses/{head_sha}");
    let labels: Vec<Value> = i.labels.iter().map(|l| label(api, full, l)).collect();
    let link = |href: &str| json!({ "href": href });
    let mut v = json!({
        "url": u,
        "id": id,
        "node_id": node_id("PullRequest", id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": issue_url,
        "commits_url": format!("{u}/commits"),
        "review_comments_url": format!("{u}/comments"),
        "review_comment_url": format!("{api}/repos/{full}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue_url}/comments"),
        "statuses_url": statuses,
        "number": n,
        "state": i.state.as_str(),
        "locked": false,
        "title": i.title,
        "user": simple_user(api, &i.user),
        "body": i.body,
        "labels": labels,
        "milestone": null,
        "active_lock_reason": null,
        "created_at": ts(i.created_at),
        "updated_at": ts(i.updated_at),
        "closed_at": i.closed_at.map(ts),
        "merged_at": p.merged_at.map(ts),
        "merge_commit_sha": p.merge_commit,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": branch_side(api, st, repo, &p.head, &head_sha),
        "base": branch_side(api, st, repo, &p.base, &base_sha),
        "_links": {
            "self": link(&u),
            "html": link(&html),
            "issue": link(&issue_url),
            "comments": link(&format!("{issue_url}/comments")),
            "review_comments": link(&format!("{u}/comments")),
            "review_comment": link(&format!("{api}/repos/{full}/pulls/comments{{/number}}")),
            "commits": link(&format!("{u}/commits")),
            "statuses": link(&statuses),
        },
        "author_association": "MEMBER",
        "auto_merge": match &p.auto_merge {
            Some(method) => json!({
                "enabled_by": simple_user(api, &st.viewer),
                "merge_method": method,
                "commit_title": i.title,
                "commit_message": "",
            }),
            None => Value::Null,
        },
        "draft": false,
    });
    if full_detail && let Some(o) = v.as_object_mut() {
        let files = st.pull_files(full, n).unwrap_or_default();
        let merged = p.merged_at.is_some();
        let open = i.state == super::repo::IssueState::Open;
        let commits = if merged || head_sha.is_empty() {
            0
        } else {
            repo.commits_between(Some(&base_sha), &head_sha).len()
        };
        let comments = repo.comments.iter().filter(|c| c.issue == n).count();
        // GitHub computes mergeability in the background: null at first.
        let computing = repo.mergeable_after_reads > 0 && p.reads <= repo.mergeable_after_reads;
        let fields = [
            ("merged", json!(merged)),
            (
                "mergeable",
                if open && !computing {
                    json!(!repo.merge_requires_review && repo.required_checks.is_empty())
                } else {
                    Value::Null
                },
            ),
            ("rebaseable", Value::Null),
            (
                "mergeable_state",
                json!(if !open || computing {
                    "unknown"
                } else if repo.merge_requires_review || !repo.required_checks.is_empty() {
                    "blocked"
                } else {
                    "clean"
                }),
            ),
            (
                "merged_by",
                p.merged_by.as_deref().map_or(Value::Null, |l| {
                    serde_json::to_value(simple_user(api, l)).unwrap_or_default()
                }),
            ),
            ("comments", json!(comments)),
            ("review_comments", json!(0)),
            ("maintainer_can_modify", json!(false)),
            ("commits", json!(commits)),
            (
                "additions",
                json!(files.iter().map(|f| f.additions).sum::<usize>()),
            ),
            (
                "deletions",
                json!(files.iter().map(|f| f.deletions).sum::<usize>()),
            ),
            ("changed_files", json!(files.len())),
        ];
        for (k, val) in fields {
            o.insert(k.into(), val);
        }
    }
    v
}

/// A Diff Entry of `GET .../pulls/{n}/files`.
pub(crate) fn diff_entry(api: &str, full: &str, head_sha: &str, f: &FileDiff) -> Value {
    json!({
        "sha": f.sha,
        "filename": f.filename,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": format!("{HTML}/{full}/blob/{head_sha}/{}", f.filename),
        "raw_url": format!("{HTML}/{full}/raw/{head_sha}/{}", f.filename),
        "contents_url": format!("{api}/repos/{full}/contents/{}?ref={head_sha}", f.filename),
        "patch": f.patch,
    })
}

fn payload_commit(full: &str, c: &SimCommit, parent: Option<&SimCommit>) -> Value {
    let (mut added, mut removed, mut modified) = (Vec::new(), Vec::new(), Vec::new());
    let empty = std::collections::BTreeMap::new();
    let before = parent.map_or(&empty, |p| &p.files);
    for (path, content) in &c.files {
        match before.get(path) {
            None => added.push(path.clone()),
            Some(old) if old != content => modified.push(path.clone()),
            Some(_) => {}
        }
    }
    for path in before.keys() {
        if !c.files.contains_key(path) {
            removed.push(path.clone());
        }
    }
    let who = json!({
        "name": c.author,
        "email": format!("{}@users.noreply.github.com", c.author),
        "username": c.author,
        "date": ts(c.at),
    });
    json!({
        "id": c.sha,
        "tree_id": c.tree,
        "distinct": true,
        "message": c.message,
        "timestamp": ts(c.at),
        "url": format!("{HTML}/{full}/commit/{}", c.sha),
        "author": who,
        "committer": who,
        "added": added,
        "removed": removed,
        "modified": modified,
    })
}

/// The `push` webhook payload for a branch move.
pub(crate) fn push_payload(api: &str, st: &SimState, repo: &SimRepo, e: &PushEvent) -> Value {
    let full = &repo.full_name;
    let commits: Vec<Value> = e
        .commits
        .iter()
        .filter_map(|s| repo.commits.get(s))
        .map(|c| {
            let parent = c.parents.first().and_then(|p| repo.commits.get(p));
            payload_commit(full, c, parent)
        })
        .collect();
    let head = repo.commits.get(&e.after).map(|c| {
        let parent = c.parents.first().and_then(|p| repo.commits.get(p));
        payload_commit(full, c, parent)
    });
    let mut v = json!({
        "ref": e.git_ref,
        "before": e.before,
        "after": e.after,
        "created": e.created,
        "deleted": false,
        "forced": e.forced,
        "base_ref": null,
        "compare": format!("{HTML}/{full}/compare/{}...{}", &e.before[..12.min(e.before.len())], &e.after[..12.min(e.after.len())]),
        "commits": commits,
        "head_commit": head,
        "repository": repository(api, st, repo),
        "pusher": { "name": e.pusher, "email": format!("{}@users.noreply.github.com", e.pusher) },
        "sender": simple_user(api, &e.pusher),
    });
    if owner_login(repo).eq_ignore_ascii_case(&st.org)
        && let Some(o) = v.as_object_mut()
    {
        o.insert(
            "organization".into(),
            serde_json::to_value(org_simple_for(api, &st.org, st.org_id)).unwrap_or_default(),
        );
    }
    v
}
