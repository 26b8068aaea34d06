//! [`RepoApi`] on the octocrab client against the simulator over HTTP:
//! every method, the stale-`sha` outcome, conditional ref reads, and the
//! errors a read-only token gets.

use seatkeeper::github::GitHubError;
use seatkeeper::github::args::GitHubArgs;
use seatkeeper::github::client::GitHubClient;
use seatkeeper::github::repo::{
    FileWrite, IssueChange, MergeRequest, Merged, NewPull, RefRead, RefWrite, RepoApi, RepoRef,
    Written,
};
use seatkeeper::simulator::{SimOptions, Simulator, demo_state};

async fn setup() -> (Simulator, GitHubClient, RepoRef) {
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    let client = GitHubClient::new(
        GitHubArgs::for_url(&sim.url())
            .config(Some(sim.token()))
            .unwrap(),
    )
    .await
    .unwrap();
    (sim, client, "acme/copilot-seats".parse().unwrap())
}

#[tokio::test]
async fn files_are_written_with_a_sha_precondition() {
    let (sim, c, repo) = setup().await;
    let info = c.repository(&repo).await.unwrap();
    assert_eq!(info.default_branch, "main");
    assert_eq!(info.can_push, Some(true));
    let file = c
        .read_file(&repo, "seats.yaml", "main")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.sha, seatkeeper::source::git_blob_sha(&file.bytes));
    assert_eq!(c.read_file(&repo, "nope.yaml", "main").await.unwrap(), None);

    let write = |sha| FileWrite {
        path: "seats.yaml",
        branch: "main",
        message: "edit",
        content: b"org: acme\nusers: [alice]\n",
        sha,
    };
    let Written::Committed { commit, html_url } =
        c.write_file(&repo, &write(Some(&file.sha))).await.unwrap()
    else {
        panic!("not committed")
    };
    assert_eq!(
        sim.state().repo("acme/copilot-seats").unwrap().branches["main"],
        commit
    );
    assert!(html_url.unwrap().ends_with(&commit));
    // The same precondition again is stale now: 409, read as Stale.
    match c.write_file(&repo, &write(Some(&file.sha))).await.unwrap() {
        Written::Stale { message } => assert!(message.contains("does not match"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Without a sha for an existing file: a client bug, an error.
    let err = c.write_file(&repo, &write(None)).await.unwrap_err();
    assert!(
        matches!(err, GitHubError::Http { status: 422, .. }),
        "{err}"
    );

    sim.with_state(|s| s.repo_mut("acme/copilot-seats").unwrap().writable = false);
    let fresh = c
        .read_file(&repo, "seats.yaml", "main")
        .await
        .unwrap()
        .unwrap();
    let err = c
        .write_file(&repo, &write(Some(&fresh.sha)))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, GitHubError::Forbidden { .. }), "{text}");
    assert!(
        text.contains("cannot write to acme/copilot-seats") && text.contains("contents: write"),
        "{text}"
    );
    assert_eq!(c.repository(&repo).await.unwrap().can_push, Some(false));
    let missing: RepoRef = "acme/nope".parse().unwrap();
    let err = c.repository(&missing).await.unwrap_err().to_string();
    assert!(err.contains("acme/nope") && err.contains("404"), "{err}");
}

#[tokio::test]
async fn refs_are_read_conditionally() {
    let (sim, c, repo) = setup().await;
    let RefRead::Found { sha, etag } = c.get_ref(&repo, "heads/main", None).await.unwrap() else {
        panic!()
    };
    let etag = etag.unwrap();
    assert_eq!(
        c.get_ref(&repo, "heads/main", Some(&etag)).await.unwrap(),
        RefRead::NotModified
    );
    assert_eq!(
        c.get_ref(&repo, "heads/nope", None).await.unwrap(),
        RefRead::Missing
    );
    assert_eq!(
        c.create_ref(&repo, "refs/heads/x", &sha).await.unwrap(),
        RefWrite::Done
    );
    assert!(matches!(
        c.create_ref(&repo, "refs/heads/x", &sha).await.unwrap(),
        RefWrite::Refused { .. }
    ));
    sim.with_state(|s| s.put_file("acme/copilot-seats", "main", "README.md", "hi\n"));
    let RefRead::Found { sha: moved, .. } =
        c.get_ref(&repo, "heads/main", Some(&etag)).await.unwrap()
    else {
        panic!("the ref moved: a 200")
    };
    assert_ne!(moved, sha);
    assert_eq!(
        c.update_ref(&repo, "heads/x", &moved, false).await.unwrap(),
        RefWrite::Done
    );
    assert!(matches!(
        c.update_ref(&repo, "heads/x", &sha, false).await.unwrap(),
        RefWrite::Refused { .. }
    ));
    assert_eq!(
        c.update_ref(&repo, "heads/x", &sha, true).await.unwrap(),
        RefWrite::Done
    );
}

#[tokio::test]
async fn pull_requests_issues_comments_and_labels() {
    let (sim, c, repo) = setup().await;
    let RefRead::Found { sha, .. } = c.get_ref(&repo, "heads/main", None).await.unwrap() else {
        panic!()
    };
    c.create_ref(&repo, "refs/heads/seatkeeper/request-nadia", &sha)
        .await
        .unwrap();
    let file = c
        .read_file(&repo, "seats.yaml", &sha)
        .await
        .unwrap()
        .unwrap();
    let mut text = String::from_utf8(file.bytes).unwrap();
    text.push_str("  - nadia\n");
    let Written::Committed { commit, .. } = c
        .write_file(
            &repo,
            &FileWrite {
                path: "seats.yaml",
                branch: "seatkeeper/request-nadia",
                message: "grant nadia",
                content: text.as_bytes(),
                sha: Some(&file.sha),
            },
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    let pr = c
        .create_pull(
            &repo,
            &NewPull {
                title: "Grant nadia",
                body: "Requested by @nadia",
                head: "seatkeeper/request-nadia",
                base: "main",
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            pr.state.as_str(),
            pr.head_sha.as_str(),
            pr.base_ref.as_str()
        ),
        ("open", commit.as_str(), "main")
    );
    let listed = c
        .list_pulls(&repo, Some("seatkeeper/request-nadia"), "open")
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![pr.number]
    );
    assert!(
        c.list_pulls(&repo, Some("other"), "open")
            .await
            .unwrap()
            .is_empty()
    );
    let files = c.pull_files(&repo, pr.number).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (
            files[0].filename.as_str(),
            files[0].additions,
            files[0].deletions
        ),
        ("seats.yaml", 1, 0)
    );
    c.add_labels(&repo, pr.number, &["seatkeeper-request"])
        .await
        .unwrap();
    let edited = c
        .update_pull(
            &repo,
            pr.number,
            &IssueChange {
                body: Some("edited"),
                ..IssueChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.body.as_deref(), Some("edited"));
    assert_eq!(edited.labels, vec!["seatkeeper-request"]);

    // Branch protection: 405, left open.
    sim.with_state(|s| {
        s.repo_mut("acme/copilot-seats")
            .unwrap()
            .merge_requires_review = true
    });
    let merge = MergeRequest {
        sha: &commit,
        method: "squash",
        title: None,
        message: None,
    };
    match c.merge_pull(&repo, pr.number, &merge).await.unwrap() {
        Merged::NotMerged { status, message } => {
            assert_eq!((status, message.contains("review")), (405, true))
        }
        m => panic!("{m:?}"),
    }
    sim.with_state(|s| {
        s.repo_mut("acme/copilot-seats")
            .unwrap()
            .merge_requires_review = false
    });
    let stale = MergeRequest {
        sha: &sha,
        ..merge.clone()
    };
    assert!(matches!(
        c.merge_pull(&repo, pr.number, &stale).await.unwrap(),
        Merged::NotMerged { status: 409, .. }
    ));
    let Merged::Merged { sha: merged } = c.merge_pull(&repo, pr.number, &merge).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        sim.state().repo("acme/copilot-seats").unwrap().branches["main"],
        merged
    );
    let after = c.get_pull(&repo, pr.number).await.unwrap();
    assert!(after.merged && after.state == "closed");

    let issue = c
        .create_issue(
            &repo,
            "Idle Copilot seats",
            "@chen",
            &["seatkeeper-reclaim"],
        )
        .await
        .unwrap();
    let open = c
        .list_issues(&repo, &["seatkeeper-reclaim"], "open")
        .await
        .unwrap();
    assert_eq!(
        open.iter().map(|i| i.number).collect::<Vec<_>>(),
        vec![issue.number],
        "pull requests are not issues"
    );
    assert!(
        c.list_issues(&repo, &["other"], "open")
            .await
            .unwrap()
            .is_empty()
    );
    let comment = c
        .create_comment(&repo, issue.number, "hello @chen")
        .await
        .unwrap();
    let edited = c
        .update_comment(&repo, comment.id, "hello again")
        .await
        .unwrap();
    assert_eq!(edited.body, "hello again");
    let all = c.list_comments(&repo, issue.number).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].user.as_deref(), Some("seatkeeper-bot"));
    let closed = c
        .update_issue(
            &repo,
            issue.number,
            &IssueChange {
                state: Some("closed"),
                ..IssueChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.state, "closed");
    assert!(
        c.list_issues(&repo, &["seatkeeper-reclaim"], "open")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn long_lists_are_read_page_by_page() {
    let (sim, c, repo) = setup().await;
    sim.with_state(|s| {
        for i in 0..230 {
            s.create_issue(
                "acme/copilot-seats",
                &format!("issue {i}"),
                None,
                vec!["many".into()],
            )
            .unwrap();
        }
    });
    let issues = c.list_issues(&repo, &["many"], "open").await.unwrap();
    assert_eq!(issues.len(), 230);
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.route == "/repos/{owner}/{repo}/issues")
        .count();
    assert_eq!(pages, 3);
}
