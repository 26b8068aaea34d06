//! `seatkeeper request` and `release` as real processes against the
//! simulator over HTTP: every outcome and every bad input of issue 12, each
//! refused with a clear message, exit 1 and nothing written.

use std::path::PathBuf;
use std::process::{Command, Output};

use seatkeeper::simulator::{SimOptions, Simulator, demo_state, routes};
use serde_json::Value;

use crate::support::{json_of, text};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(sim: &Simulator, args: &[&str]) -> Output {
    crate::support::run_cli(sim, args)
}

/// Requests that change anything on the simulated GitHub.
fn writes(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

async fn demo_sim() -> Simulator {
    Simulator::start(demo_state(), SimOptions::default())
        .await
        .expect("simulator")
}

fn demo_text() -> String {
    std::fs::read_to_string(root().join("examples/demo/seats.yaml")).unwrap()
}

/// The demo seats.yaml (edited by `change`) in a fresh directory.
fn demo_file(change: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.yaml");
    std::fs::write(&path, change(demo_text())).unwrap();
    (dir, path)
}

fn lines_added(before: &str, after: &str) -> Vec<String> {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let mut added = Vec::new();
    let mut i = 0;
    for line in &new {
        if i < old.len() && old[i] == *line {
            i += 1;
        } else {
            added.push(line.to_string());
        }
    }
    assert_eq!(i, old.len(), "lines were removed or reordered:\n{after}");
    added
}

#[tokio::test(flavor = "multi_thread")]
async fn request_adds_one_line_to_a_local_file() {
    let sim = demo_sim().await;
    let (_dir, path) = demo_file(|t| t);
    let p = path.to_str().unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let out = run(&sim, &["request", "nadia", "--file", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("Added nadia to "), "{stdout}");
    assert!(
        // The login's own change on GitHub's totals: nadia's new seat, not
        // the demo's other drift (the controller's plan answers for that).
        stdout.contains("Seats: 21 -> 22; billed this cycle: 22 -> 23 (cap 60)."),
        "{stdout}"
    );
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(lines_added(&before, &after), vec!["  - nadia"]);
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));

    // Asking again is a no-op that says so.
    let again = run(&sim, &["request", "Nadia", "--file", p]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).starts_with("Nadia is already listed in "),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);

    // Release gives it back: the file is as before.
    let rel = run(&sim, &["release", "nadia", "--file", p]);
    assert_eq!(rel.status.code(), Some(0), "{}", text(&rel.stderr));
    assert!(text(&rel.stdout).starts_with("Removed nadia from "));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    let none = run(&sim, &["release", "nadia", "--file", p]);
    assert_eq!(none.status.code(), Some(0));
    assert!(text(&none.stdout).contains("nadia is not listed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_carries_the_outcome_and_the_entry() {
    let sim = demo_sim().await;
    let (_dir, path) = demo_file(|t| t);
    let out = run(
        &sim,
        &[
            "request",
            "oskar",
            "--file",
            path.to_str().unwrap(),
            "--note",
            "data team trial",
            "--expires",
            "2099-01-31",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["action"], "request");
    assert_eq!(v["outcome"], "granted");
    assert_eq!(v["login"], "oskar");
    assert_eq!(v["requester"], "oskar");
    assert_eq!(v["expires"], "2099-01-31");
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.contains("  - login: oskar\n    expires: 2099-01-31\n    note: data team trial\n"),
        "{after}"
    );
    let lines = v["lines"].as_array().unwrap();
    assert_eq!(lines[1].as_u64().unwrap() - lines[0].as_u64().unwrap(), 2);
}

/// Every bad input: a clear message naming the problem, exit 1, the file
/// untouched, nothing written to GitHub.
#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_refused_and_nothing_is_written() {
    let sim = demo_sim().await;
    let demo = demo_text();
    let capped = demo.replace("max_seats: 60", "max_seats: 21");
    let eligible = demo.replace(
        "  protected: [Octo-Admin]",
        "  protected: [Octo-Admin]\n  eligible_teams: [engineering]",
    );
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Vec<&str>, &str, &str)> = vec![
        ("malformed", demo.clone(), vec!["request", "not_a_login"], "malformed_login", "`not_a_login` is not a GitHub login (login): it contains '_'"),
        ("unknown", demo.clone(), vec!["request", "nobody-here"], "unknown_user", "nobody-here is not eligible for a Copilot seat: no GitHub user has this login"),
        ("not a member", demo.clone(), vec!["request", "octocat"], "not_member", "octocat is not eligible for a Copilot seat: not a member of acme"),
        ("ineligible", eligible, vec!["request", "nadia"], "not_eligible", "nadia is not eligible for a Copilot seat: not in an eligible team (engineering)"),
        ("over the cap", capped, vec!["request", "nadia"], "guarded", "adding nadia would leave a plan the controller refuses to apply: 23 seats billed this cycle after apply (22 held, 1 pending cancellation and billed until their date) exceed `policy.max_seats` (21)"),
        ("for someone else", demo.clone(), vec!["request", "nadia", "--requester", "alice"], "for_others", "alice may not ask for a seat for nadia"),
        ("does not parse", "org: acme\nusers:\n  - alice\n  - Alice\n".to_string(), vec!["request", "nadia"], "invalid_file", "`Alice` is listed twice in `users`"),
        ("expired", demo.clone(), vec!["request", "nadia", "--expires", "2020-01-01"], "bad_entry", "--expires 2020-01-01 is in the past"),
    ];
    for (name, file, args, reason, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seats.yaml");
        std::fs::write(&path, &file).unwrap();
        let p = path.to_str().unwrap();
        sim.clear_requests();
        let mut text_args = args.clone();
        text_args.extend(["--file", p]);
        let out = run(&sim, &text_args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: {}", text(&out.stdout));
        let mut json_args = text_args.clone();
        json_args.extend(["--format", "json"]);
        let out = run(&sim, &json_args);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["outcome"],
            if reason == "invalid_file" {
                "error"
            } else {
                "refused"
            },
            "{name}"
        );
        assert_eq!(v["reason"], reason, "{name}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            file,
            "{name}: the file changed"
        );
        assert!(writes(&sim).is_empty(), "{name}: {:?}", writes(&sim));
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["request", "alice", "--file", "no/such/seats.yaml"])
        .env("GITHUB_TOKEN", "x")
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no/such/seats.yaml"), "{err}");
}

// ---------------------------------------------------------------------------
// --repo: a commit (or a pull request) through the Contents API

const REPO: &str = "acme/copilot-seats";

fn main_head(sim: &Simulator) -> seatkeeper::simulator::SimCommit {
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    r.commits[&r.branches["main"]].clone()
}

fn parent_text(sim: &Simulator, c: &seatkeeper::simulator::SimCommit) -> String {
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    r.commits[&c.parents[0]].files["seats.yaml"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn request_commits_a_one_entry_change_naming_the_requester() {
    let sim = demo_sim().await;
    let before = main_head(&sim);
    let out = run(
        &sim,
        &[
            "request",
            "nadia",
            "--repo",
            REPO,
            "--source",
            "https://github.com/acme/copilot-seats/issues/7",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["outcome"], "granted");
    assert_eq!(v["target"], "github:acme/copilot-seats/seats.yaml@main");
    let head = main_head(&sim);
    assert_eq!(v["commit"], head.sha.as_str());
    assert_eq!(head.parents, vec![before.sha.clone()]);
    assert_eq!(
        lines_added(&parent_text(&sim, &head), &head.files["seats.yaml"]),
        vec!["  - nadia"]
    );
    assert!(head.message.starts_with("seats.yaml: grant a Copilot seat to nadia\n\nRequested by @nadia via https://github.com/acme/copilot-seats/issues/7"), "{}", head.message);
    assert!(
        head.message.contains("\nRequested-by: nadia\n"),
        "{}",
        head.message
    );
    // Only the file changed.
    let mut others = head.files.clone();
    others.remove("seats.yaml");
    let mut old = before.files.clone();
    old.remove("seats.yaml");
    assert_eq!(others, old);

    // Already listed: exit 0, no commit.
    let again = run(&sim, &["request", "nadia", "--repo", REPO]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout)
            .starts_with("nadia is already listed in github:acme/copilot-seats/seats.yaml@main"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(main_head(&sim).sha, head.sha);

    // Release: the entry goes, one commit.
    let rel = run(&sim, &["release", "nadia", "--repo", REPO, "--ref", "main"]);
    assert_eq!(rel.status.code(), Some(0), "{}", text(&rel.stderr));
    assert!(
        text(&rel.stdout).starts_with("Released the Copilot seat of nadia: commit "),
        "{}",
        text(&rel.stdout)
    );
    assert_eq!(
        main_head(&sim).files["seats.yaml"],
        before.files["seats.yaml"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_concurrent_change_is_retried_on_the_fresh_content() {
    use seatkeeper::simulator::{FaultAction, ScriptedFault, routes};
    let sim = demo_sim().await;
    let text0 = main_head(&sim).files["seats.yaml"].clone();
    // Someone else adds oskar right after our first read.
    let theirs = format!("{text0}  - oskar\n");
    sim.faults().script(ScriptedFault {
        route: format!("GET {}", routes::CONTENTS),
        nth: 1,
        times: 1,
        action: FaultAction::CommitAfter {
            repo: REPO.into(),
            branch: "main".into(),
            path: "seats.yaml".into(),
            content: theirs.clone(),
        },
    });
    let out = run(
        &sim,
        &["request", "nadia", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["attempts"], 2);
    let head = main_head(&sim);
    assert_eq!(
        head.files["seats.yaml"],
        format!("{theirs}  - nadia\n"),
        "both changes kept"
    );
    let puts: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(
        puts,
        vec![409, 200],
        "the stale write was refused, the fresh one made"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn self_serve_obeys_the_operators_bounds() {
    // Issue 19: at the operator's --max-seats a request used to commit, and
    // every controller plan after it was guarded. Now it is refused the way
    // the controller would refuse it, and nothing is written.
    let sim = demo_sim().await;
    let before = main_head(&sim).sha;
    let out = run(
        &sim,
        &["request", "nadia", "--repo", REPO, "--max-seats", "22"],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--max-seats"),
        "names the operator's cap: {err}"
    );
    let out = run(
        &sim,
        &["request", "nadia", "--repo", REPO, "--allowed-org", "other"],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--allowed-org other"), "{err}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    assert_eq!(main_head(&sim).sha, before, "nothing committed");
    // At 23, GitHub's totals leave room for nadia, but the demo file also
    // lists a seat the controller has not applied yet: its plan would end
    // at 24 and be guarded, so the request is refused.
    let out = run(
        &sim,
        &["request", "nadia", "--repo", REPO, "--max-seats", "23"],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not applied yet"), "{err}");
    assert_eq!(main_head(&sim).sha, before, "nothing committed");
    // Within the bounds, the same request goes through.
    let out = run(
        &sim,
        &[
            "request",
            "nadia",
            "--repo",
            REPO,
            "--max-seats",
            "24",
            "--allowed-org",
            "acme",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_ne!(main_head(&sim).sha, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protected_branch_fails_at_once_with_githubs_reason_and_the_fix() {
    // github-observed: a Contents write to a protected branch answers 409
    // "Could not update file: Changes must be made through a pull request."
    // It is not a stale sha: one PUT, no re-read-and-retry, the real reason.
    let sim = demo_sim().await;
    sim.with_state(|st| {
        st.repo_mut(REPO).unwrap().protected.insert(
            "main".into(),
            "Changes must be made through a pull request.".into(),
        );
    });
    let before = main_head(&sim).sha;
    let out = run(&sim, &["request", "nadia", "--repo", REPO]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Could not update file: Changes must be made through a pull request."),
        "{err}"
    );
    assert!(
        err.contains("policy.self_serve.mode: pull_request"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("concurrent"), "{err}");
    let puts = sim.requests().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 1, "one refused write, no retries");
    assert_eq!(main_head(&sim).sha, before, "nothing committed");
}

/// Bad inputs that only a repository has: each exit 1, a clear message,
/// and no commit.
#[tokio::test(flavor = "multi_thread")]
async fn repository_bad_inputs_write_nothing() {
    use seatkeeper::simulator::{FaultAction, ScriptedFault, routes};
    let sim = demo_sim().await;
    // The ref moves between every read and write: retried, then refused.
    let text0 = main_head(&sim).files["seats.yaml"].clone();
    for n in 1..=10 {
        sim.faults().script(ScriptedFault {
            route: format!("GET {}", routes::CONTENTS),
            nth: n,
            times: 1,
            action: FaultAction::CommitAfter {
                repo: REPO.into(),
                branch: "main".into(),
                path: "seats.yaml".into(),
                content: format!("{text0}# touched {n}\n"),
            },
        });
    }
    let out = run(
        &sim,
        &["request", "nadia", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["reason"], "contended");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("changed 5 times between reading and writing it"),
        "{v}"
    );
    assert!(!main_head(&sim).files["seats.yaml"].contains("nadia"));
    sim.faults().clear();

    // seats.yaml on the ref does not parse.
    sim.with_state(|s| {
        s.put_file(
            REPO,
            "main",
            "seats.yaml",
            "org: acme\nusers:\n  - alice\n  - alice\n",
        )
    });
    let head = main_head(&sim).sha;
    let out = run(&sim, &["request", "nadia", "--repo", REPO]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("github:acme/copilot-seats/seats.yaml@main:4:5: `alice` is listed twice"),
        "{err}"
    );
    assert!(
        err.contains("must be fixed before seats can be requested"),
        "{err}"
    );
    assert_eq!(main_head(&sim).sha, head);

    // No write permission.
    sim.with_state(|s| {
        s.put_file(REPO, "main", "seats.yaml", &text0);
        s.repo_mut(REPO).unwrap().writable = false;
    });
    let head = main_head(&sim).sha;
    let out = run(
        &sim,
        &["request", "nadia", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["reason"], "no_write_permission");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("cannot push to acme/copilot-seats"),
        "{v}"
    );
    assert_eq!(main_head(&sim).sha, head);

    // No such branch, no such file, no such repository.
    sim.with_state(|s| s.repo_mut(REPO).unwrap().writable = true);
    #[rustfmt::skip]
    let cases: &[(&[&str], &str)] = &[
        (&["--repo", REPO, "--ref", "nope"], "acme/copilot-seats has no branch `nope`"),
        (&["--repo", REPO, "--path", "config/seats.yaml"], "has no file `config/seats.yaml` on `main`"),
        (&["--repo", "acme/nope"], "acme/nope"),
    ];
    for (args, message) in cases {
        let mut all = vec!["request", "nadia"];
        all.extend_from_slice(args);
        let out = run(&sim, &all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(main_head(&sim).sha, head);
    let writes: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.status < 300)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_mode_adopts_nothing_it_did_not_make() {
    // Issue 19: a pull request from `seatkeeper/request-<login>` that
    // someone else opened, with extra changes, was adopted and reported as
    // success. It is refused now, untouched; and a branch of that name
    // without a pull request is never reset.
    let sim = demo_sim().await;
    let text0 = main_head(&sim).files["seats.yaml"].clone();
    let pr_mode = text0.replace("policy:\n", "policy:\n  self_serve: {mode: pull_request}\n");
    sim.with_state(|s| s.put_file(REPO, "main", "seats.yaml", &pr_mode));
    let main_before = main_head(&sim).sha;
    let pull = sim.with_state(|s| {
        let branch = "seatkeeper/request-nadia";
        s.commit_file(
            REPO,
            branch,
            "seats.yaml",
            &format!("{pr_mode}  - nadia\n"),
            "add nadia",
            "mallory",
        );
        s.commit_file(
            REPO,
            branch,
            ".github/workflows/evil.yml",
            "on: push\n",
            "and more",
            "mallory",
        );
        s.create_pull(REPO, "Copilot seat for nadia", None, branch, "main")
            .unwrap()
    });
    let out = run(&sim, &["request", "nadia", "--repo", REPO]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not adopt a pull request it did not make"),
        "{err}"
    );
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    assert!(
        r.issue(pull)
            .unwrap()
            .pull
            .as_ref()
            .unwrap()
            .merged_at
            .is_none(),
        "merged"
    );
    assert_eq!(r.branches["main"], main_before, "nothing committed to main");
    drop(st);

    // A branch of that name with no pull request: left as it is, and the
    // request goes through on a branch of its own.
    let sim = demo_sim().await;
    sim.with_state(|s| s.put_file(REPO, "main", "seats.yaml", &pr_mode));
    let theirs = sim.with_state(|s| {
        s.commit_file(
            REPO,
            "seatkeeper/request-oskar",
            "notes.txt",
            "mine\n",
            "wip",
            "mallory",
        )
    });
    let out = run(
        &sim,
        &["request", "oskar", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    assert_eq!(
        r.branches["seatkeeper/request-oskar"], theirs,
        "their branch was reset"
    );
    assert!(
        r.file("main", "seats.yaml")
            .unwrap()
            .contains("  - oskar\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_mode_merges_the_requesters_own_entry() {
    let sim = demo_sim().await;
    let text0 = main_head(&sim).files["seats.yaml"].clone();
    let pr_mode = text0.replace("policy:\n", "policy:\n  self_serve: {mode: pull_request}\n");
    assert_ne!(pr_mode, text0);
    sim.with_state(|s| s.put_file(REPO, "main", "seats.yaml", &pr_mode));
    let out = run(
        &sim,
        &["request", "nadia", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["outcome"], "granted", "{v}");
    assert_eq!(v["pull_request"]["merged"], true);
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    let pr = r
        .issue(v["pull_request"]["number"].as_u64().unwrap())
        .unwrap();
    assert_eq!(pr.labels, vec!["seatkeeper-request"]);
    assert_eq!(pr.pull.as_ref().unwrap().head, "seatkeeper/request-nadia");
    assert_eq!(
        r.file("main", "seats.yaml").unwrap(),
        format!("{pr_mode}  - nadia\n")
    );
    drop(st);

    // Branch protection wants a review: the pull request stays open, exit 0.
    sim.with_state(|s| s.repo_mut(REPO).unwrap().merge_requires_review = true);
    let out = run(
        &sim,
        &["request", "oskar", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["outcome"], "pull_request");
    assert_eq!(v["pull_request"]["merged"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("approving review is required"),
        "{v}"
    );
    // Asking again finds it.
    let again = run(
        &sim,
        &["request", "oskar", "--repo", REPO, "--format", "json"],
    );
    let w = json_of(&again);
    assert_eq!(w["pull_request"]["number"], v["pull_request"]["number"]);
    assert!(
        w["message"].as_str().unwrap().contains("already open"),
        "{w}"
    );
    assert!(
        !sim.state()
            .file(REPO, "main", "seats.yaml")
            .unwrap()
            .contains("oskar")
    );
}

/// Issue 18 item 3: pull-request mode reads the repository's merge
/// settings; with "Allow auto-merge" it enables GraphQL
/// `enablePullRequestAutoMerge`; otherwise it merges with an allowed method
/// and, when GitHub refuses, says the real reason.
#[tokio::test(flavor = "multi_thread")]
async fn pull_request_mode_uses_auto_merge_and_says_why_it_did_not_merge() {
    let sim = demo_sim().await;
    let text0 = main_head(&sim).files["seats.yaml"].clone();
    let pr_mode = text0.replace("policy:\n", "policy:\n  self_serve: {mode: pull_request}\n");
    sim.with_state(|s| s.put_file(REPO, "main", "seats.yaml", &pr_mode));
    let ask = |login: &str| {
        let out = run(
            &sim,
            &["request", login, "--repo", REPO, "--format", "json"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        json_of(&out)
    };
    let graphql = |sim: &Simulator| {
        sim.requests()
            .into_iter()
            .filter(|r| r.route == routes::GRAPHQL)
            .count()
    };
    let merge_methods = |sim: &Simulator| -> Vec<String> {
        sim.requests()
            .into_iter()
            .filter(|r| r.route == routes::PULL_MERGE)
            .map(|r| {
                r.body.unwrap()["merge_method"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };

    // Auto-merge allowed, a required check pending: auto-merge is turned
    // on and GitHub will merge it when the check passes.
    sim.with_state(|s| {
        let r = s.repo_mut(REPO).unwrap();
        r.allow_auto_merge = true;
        r.required_checks = vec!["ci".into()];
    });
    sim.clear_requests();
    let v = ask("priya");
    assert_eq!(v["outcome"], "pull_request", "{v}");
    assert_eq!(v["pull_request"]["merged"], false);
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("auto-merge is on (squash)"), "{v}");
    assert_eq!(graphql(&sim), 1);
    assert!(
        merge_methods(&sim).is_empty(),
        "no REST merge once auto-merge is on"
    );
    let n = v["pull_request"]["number"].as_u64().unwrap();
    let auto = sim.peek(|s| {
        s.repo(REPO)
            .unwrap()
            .issue(n)
            .unwrap()
            .pull
            .as_ref()
            .unwrap()
            .auto_merge
            .clone()
    });
    assert_eq!(auto.as_deref(), Some("squash"));

    // Auto-merge allowed and nothing blocks: GitHub refuses ("clean
    // status"), so it is merged at once.
    sim.with_state(|s| s.repo_mut(REPO).unwrap().required_checks.clear());
    sim.clear_requests();
    let v = ask("quinn");
    assert_eq!(v["outcome"], "granted", "{v}");
    assert_eq!(graphql(&sim), 1);
    assert_eq!(merge_methods(&sim), vec!["squash"]);

    // No auto-merge, a required check pending: not merged, and the message
    // names the check and the setting that would merge it later.
    sim.with_state(|s| {
        let r = s.repo_mut(REPO).unwrap();
        r.allow_auto_merge = false;
        r.required_checks = vec!["ci".into()];
    });
    sim.clear_requests();
    let v = ask("rosa");
    assert_eq!(v["outcome"], "pull_request", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("a required check has not passed")
            && msg.contains("Required status check \"ci\" is expected.")
            && msg.contains("mergeable_state: blocked")
            && msg.contains("Allow auto-merge"),
        "{msg}"
    );
    assert!(!msg.contains("waits for review"), "{msg}");
    assert_eq!(graphql(&sim), 0, "auto-merge is off: no GraphQL");

    // Mergeability still computing for two reads: the merge waits for it
    // (bounded) and reports the state GitHub then gives.
    sim.with_state(|s| s.repo_mut(REPO).unwrap().mergeable_after_reads = 2);
    sim.clear_requests();
    let v = ask("uma");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("mergeable_state: blocked"), "{msg}");
    let reads = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == routes::PULL && r.method == "GET")
        .count();
    assert_eq!(reads, 3, "read until computed, then stop");
    sim.with_state(|s| s.repo_mut(REPO).unwrap().mergeable_after_reads = 0);

    // Squash disallowed: a merge commit instead.
    sim.with_state(|s| {
        let r = s.repo_mut(REPO).unwrap();
        r.required_checks.clear();
        r.allow_squash_merge = false;
    });
    sim.clear_requests();
    let v = ask("sven");
    assert_eq!(v["outcome"], "granted", "{v}");
    assert_eq!(merge_methods(&sim), vec!["merge"]);

    // Every method disallowed: nothing is tried, and the message says so.
    sim.with_state(|s| {
        let r = s.repo_mut(REPO).unwrap();
        r.allow_merge_commit = false;
        r.allow_rebase_merge = false;
    });
    sim.clear_requests();
    let v = ask("tomas");
    assert_eq!(v["outcome"], "pull_request", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("allows no merge method"),
        "{v}"
    );
    assert!(merge_methods(&sim).is_empty());
}

// ---------------------------------------------------------------------------
// The whole loop, as README shows it: `demo --serve`, then `request`.

/// A bare HTTP/1.1 GET on 127.0.0.1: (status, body).
fn http_get(addr: &str, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split(' ').nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

struct Demo {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Demo {
    fn line_matching(
        &mut self,
        what: &str,
        f: impl Fn(&str) -> bool,
        within: std::time::Duration,
    ) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if f(&l) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no line {what} within {within:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn against_a_running_demo_a_request_grants_a_seat_within_seconds() {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["demo", "--serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(root())
        .env_remove("GITHUB_TOKEN")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut demo = Demo {
        child,
        lines: rx,
        seen: Vec::new(),
    };
    let serving = demo.line_matching(
        "Serving:",
        |l| l.starts_with("Serving: simulator "),
        std::time::Duration::from_secs(30),
    );
    // `Serving: simulator URL (token TOKEN), controller on ...`
    let mut words = serving.split_whitespace().skip(2);
    let url = words.next().unwrap().to_string();
    let token = words.nth(1).unwrap().trim_end_matches("),").to_string();
    let sim_addr = url.trim_start_matches("http://").to_string();
    let controller = format!("127.0.0.1:{port}");
    // The controller has read the repository.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while http_get(&controller, "/readyz", None).map(|r| r.0) != Some(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "the controller never got ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let seated =
        || {
            let (_, body) = http_get(
                &sim_addr,
                "/orgs/acme/copilot/billing/seats?per_page=100",
                Some(&token),
            )
            .unwrap();
            let v: Value = serde_json::from_str(&body).unwrap();
            v["seats"].as_array().unwrap().iter().any(|s| {
                s["assignee"]["login"] == "nadia" && s["pending_cancellation_date"].is_null()
            })
        };
    assert!(!seated(), "nadia starts without a seat");
    let file = |r: &str| {
        let (status, body) = http_get(
            &sim_addr,
            &format!("/repos/acme/copilot-seats/contents/seats.yaml?ref={r}"),
            Some(&token),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let b64: String = v["content"].as_str().unwrap().split_whitespace().collect();
        use base64::Engine;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap()
    };
    let before = file("main");

    // Exactly the README's command.
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args([
            "request",
            "nadia",
            "--repo",
            "acme/copilot-seats",
            "--github-url",
            &url,
            "--format",
            "json",
        ])
        .env("GITHUB_TOKEN", &token)
        .env_remove("GITHUB_API_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["outcome"], "granted", "{v}");
    let commit = v["commit"].as_str().unwrap().to_string();
    let deadline = started + std::time::Duration::from_secs(10);
    while !seated() {
        assert!(
            std::time::Instant::now() < deadline,
            "no seat for nadia 10 s after the request"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let took = started.elapsed();
    eprintln!("request -> seat held in {took:?}");

    // The record: a one-entry commit naming the requester, pushed to the
    // controller, which names it as the commit that granted the seat.
    assert_eq!(lines_added(&before, &file(&commit)), vec!["  - nadia"]);
    let push = demo.line_matching(
        "for the push",
        |l| l.starts_with("push acme/copilot-seats main "),
        std::time::Duration::from_secs(10),
    );
    assert!(push.contains(&commit[..7]), "{push}");
    assert!(
        push.contains(
            "\"seats.yaml: grant a Copilot seat to nadia\" (requested by nadia): delivered 202"
        ),
        "{push}"
    );
    let (_, status) = http_get(&controller, "/status", None).unwrap();
    let st: Value = serde_json::from_str(&status).unwrap();
    let change = st["orgs"][0]["recent_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "nadia")
        .cloned()
        .unwrap_or_else(|| panic!("{st}"));
    assert_eq!(change["action"], "add_user");
    assert_eq!(change["result"], "ok");
    assert_eq!(change["commit"], commit.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listed_login_is_already_listed_only_when_the_entry_gives_a_seat() {
    // A member: "already listed", exit 0, one membership check and no write.
    let sim = demo_sim().await;
    let (_dir, path) = demo_file(|t| t);
    let p = path.to_str().unwrap();
    let out = run(&sim, &["request", "alice", "--file", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("already listed"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        sim.requests()
            .iter()
            .map(|r| r.route.as_str())
            .collect::<Vec<_>>(),
        ["/orgs/{org}/members/{username}"]
    );
    // Listed but not a member: no seat will come, so it is an error that says why.
    let (_dir, path) = demo_file(|t| format!("{t}  - stranger-danger\n"));
    let p = path.to_str().unwrap();
    let out = run(&sim, &["request", "stranger-danger", "--file", p]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is listed, but is not a member"), "{err}");
    assert!(err.contains("seats.yaml:"), "names the line: {err}");
    // Listed with an expiry in the past: the entry gives no seat.
    let (_dir, path) = demo_file(|t| format!("{t}  - login: oskar\n    expires: 2001-01-01\n"));
    let p = path.to_str().unwrap();
    let out = run(&sim, &["request", "oskar", "--file", p]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("expired on 2001-01-01"), "{err}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_and_no_ops_that_need_no_github_send_no_request() {
    let sim = demo_sim().await;
    let (_dir, path) = demo_file(|t| t);
    let p = path.to_str().unwrap();
    #[rustfmt::skip]
    let cases: &[(&[&str], i32)] = &[
        (&["request", "bad_login", "--file", p], 1),
        (&["request", "nadia", "--requester", "alice", "--file", p], 1),
        (&["request", "nadia", "--expires", "2001-01-01", "--file", p], 1),
        (&["release", "nadia", "--file", p], 0),
    ];
    for (args, code) in cases {
        sim.clear_requests();
        let out = run(&sim, args);
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            sim.requests().is_empty(),
            "{args:?}: {:?}",
            sim.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
        );
    }
}
