//! Issue 19, item 2 and item 7: a request at the seat cap is refused (the
//! default) or, with `policy.self_serve.when_full: queue`, queued as a pull
//! request labelled `seatkeeper/waiting-for-room` that nothing merges while
//! the cap holds: the controller's next plan is never guarded by a
//! self-serve write. And pull-request mode adopts only a pull request that
//! seatkeeper's own identity opened (`GET /user`). Real processes against
//! the simulator over HTTP on 127.0.0.1.

use std::process::Output;

use seatkeeper::simulator::{Simulator, routes};

use crate::support::{json_of, org_state, sim_options, strings, text};

const REPO: &str = "acme/seats";
const CONFIG: &str = "github:acme/seats/seats.yaml@main";

fn run(sim: &Simulator, args: &[&str]) -> Output {
    crate::support::run_cli(sim, args)
}

/// Org `acme`: alice and bob seated and listed (in sync), nadia a member
/// who asks; seats.yaml on `main` of acme/seats with `policy` as given.
async fn sim_with(policy: &str) -> Simulator {
    let mut st = org_state(
        &strings(&["alice", "bob", "nadia", "oskar"]),
        &strings(&["alice", "bob"]),
    );
    st.put_file(
        REPO,
        "main",
        "seats.yaml",
        &format!("org: acme\npolicy:\n{policy}users:\n  - alice\n  - bob\n"),
    );
    Simulator::start(st, sim_options())
        .await
        .expect("simulator")
}

fn main_sha(sim: &Simulator) -> String {
    sim.state().repo(REPO).unwrap().branches["main"].clone()
}

fn main_text(sim: &Simulator) -> String {
    sim.state()
        .file(REPO, "main", "seats.yaml")
        .unwrap()
        .to_string()
}

/// The controller's verdict on `main` with the operator's cap: `plan`'s
/// exit code (0 in sync, 2 changes, 3 guarded).
fn controller_plan(sim: &Simulator, max_seats: &str) -> i32 {
    let out = run(sim, &["plan", CONFIG, "--max-seats", max_seats]);
    let code = out.status.code().unwrap_or(-1);
    assert!(code != 1, "plan failed: {}", text(&out.stderr));
    code
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_cap_the_default_refuses_naming_the_cap_and_how_to_raise_it() {
    let sim = sim_with("  max_removals: 5\n").await;
    let before = main_sha(&sim);
    let out = run(
        &sim,
        &[
            "request",
            "nadia",
            "--repo",
            REPO,
            "--max-seats",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["reason"], "guarded", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("--max-seats") && msg.contains("ask the operator to raise it"),
        "{msg}"
    );
    assert_eq!(main_sha(&sim), before, "nothing committed");
    assert!(
        sim.state().repo(REPO).unwrap().issues.is_empty(),
        "no pull request"
    );
    assert_eq!(
        controller_plan(&sim, "2"),
        0,
        "the controller's plan is in sync"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_cap_queue_opens_a_waiting_pull_request_the_controller_never_sees() {
    // mode: commit: a request with room commits; at the cap it is only
    // ever a pull request, never merged while the cap holds.
    let sim = sim_with("  self_serve: {when_full: queue}\n").await;
    let before = main_sha(&sim);
    let file_before = main_text(&sim);
    let out = run(
        &sim,
        &[
            "request",
            "nadia",
            "--repo",
            REPO,
            "--max-seats",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["outcome"], "pull_request", "{v}");
    assert_eq!(v["pull_request"]["merged"], false, "{v}");
    assert_eq!(v["pull_request"]["waiting_for_room"], true, "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("waits for room") && msg.contains("--max-seats"),
        "{msg}"
    );
    let number = v["pull_request"]["number"].as_u64().unwrap();
    {
        let st = sim.state();
        let r = st.repo(REPO).unwrap();
        let pr = r.issue(number).unwrap();
        assert_eq!(
            pr.labels,
            vec!["seatkeeper-request", "seatkeeper/waiting-for-room"]
        );
        assert!(pr.pull.as_ref().unwrap().merged_at.is_none(), "merged");
        assert_eq!(r.branches["main"], before, "nothing on main");
    }
    assert_eq!(main_text(&sim), file_before);
    // The invariant: no self-serve write makes the controller's plan guarded.
    assert_eq!(
        controller_plan(&sim, "2"),
        0,
        "the controller's plan is in sync"
    );
    assert!(!sim.state().seats.iter().any(|s| s.login == "nadia"));

    // Still full: asking again finds the same pull request, still waiting.
    let again = run(
        &sim,
        &[
            "request",
            "nadia",
            "--repo",
            REPO,
            "--max-seats",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let w = json_of(&again);
    assert_eq!(w["pull_request"]["number"], number, "{w}");
    assert_eq!(w["pull_request"]["waiting_for_room"], true, "{w}");
    assert_eq!(main_sha(&sim), before);

    // Room (the operator raised the cap): asking again takes the label
    // off and merges the queued pull request; nothing is committed beside it.
    let room = run(
        &sim,
        &[
            "request",
            "nadia",
            "--repo",
            REPO,
            "--max-seats",
            "3",
            "--format",
            "json",
        ],
    );
    assert_eq!(room.status.code(), Some(0), "{}", text(&room.stderr));
    let g = json_of(&room);
    assert_eq!(g["outcome"], "granted", "{g}");
    assert_eq!(g["pull_request"]["number"], number, "{g}");
    assert_eq!(g["pull_request"]["waiting_for_room"], false, "{g}");
    {
        let st = sim.state();
        let r = st.repo(REPO).unwrap();
        assert_eq!(r.issue(number).unwrap().labels, vec!["seatkeeper-request"]);
    }
    assert_eq!(
        main_text(&sim),
        format!("{file_before}  - nadia\n"),
        "one entry, once"
    );
    assert_eq!(controller_plan(&sim, "3"), 2, "the controller adds nadia");
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_never_covers_another_guard_nor_a_local_file() {
    // The removal cap, and a local file (which may be the controller's
    // own), are refused as before, queue or not.
    let sim = sim_with("  self_serve: {when_full: queue}\n  max_removals: 0\n").await;
    let before = main_sha(&sim);
    let out = run(
        &sim,
        &["release", "bob", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(json_of(&out)["reason"], "guarded");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.yaml");
    let local =
        "org: acme\npolicy:\n  self_serve: {when_full: queue}\nusers:\n  - alice\n  - bob\n";
    std::fs::write(&path, local).unwrap();
    let out = run(
        &sim,
        &[
            "request",
            "nadia",
            "--file",
            path.to_str().unwrap(),
            "--max-seats",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["reason"], "guarded", "{v}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        local,
        "not written"
    );
    assert_eq!(main_sha(&sim), before);
    assert!(sim.state().repo(REPO).unwrap().issues.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_mode_adopts_only_its_own_pull_requests() {
    // Issue 19 item 7: someone else's pull request from
    // `seatkeeper/request-nadia`, whose only change is nadia's entry, was
    // adopted and reported as pending. seatkeeper reads its own identity
    // (`GET /user`) and refuses, naming the pull request and its author.
    let sim = sim_with("  self_serve: {mode: pull_request}\n").await;
    let base = main_text(&sim);
    let before = main_sha(&sim);
    let pull = sim.with_state(|s| {
        s.commit_file(
            REPO,
            "seatkeeper/request-nadia",
            "seats.yaml",
            &format!("{base}  - nadia\n"),
            "add nadia",
            "mallory",
        );
        let viewer = std::mem::replace(&mut s.viewer, "mallory".into());
        let n = s
            .create_pull(
                REPO,
                "Copilot seat for nadia",
                None,
                "seatkeeper/request-nadia",
                "main",
            )
            .unwrap();
        s.viewer = viewer;
        n
    });
    let out = run(&sim, &["request", "nadia", "--repo", REPO]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("pull request #{pull}"))
            && err.contains("opened by @mallory")
            && err.contains("@seatkeeper-bot")
            && err.contains("does not adopt a pull request it did not make"),
        "{err}"
    );
    let asked_who = sim
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.route == routes::AUTHENTICATED_USER);
    assert!(asked_who, "GET /user");
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    assert!(
        r.issue(pull)
            .unwrap()
            .pull
            .as_ref()
            .unwrap()
            .merged_at
            .is_none()
    );
    assert_eq!(r.branches["main"], before, "nothing committed");
    drop(st);

    // Its own pull request (opened by a run that was then stopped) is
    // found and reported as pending, not refused.
    let sim = sim_with("  self_serve: {mode: pull_request, auto_merge: false}\n").await;
    let first = run(
        &sim,
        &["request", "oskar", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let again = run(
        &sim,
        &["request", "oskar", "--repo", REPO, "--format", "json"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let (a, b) = (json_of(&first), json_of(&again));
    assert_eq!(a["pull_request"]["number"], b["pull_request"]["number"]);
    assert!(
        b["message"].as_str().unwrap().contains("already open"),
        "{b}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_not_yet_applied_count_toward_the_cap() {
    // carol is listed (merged a moment ago) but not seated yet. With room
    // for one more seat, a request for nadia used to pass on GitHub's
    // totals (2 + 1 <= 3), and the controller's plan (carol and nadia: 4)
    // was guarded for everyone. The controller's own plan decides now.
    for (policy, queued) in [
        ("  suspend: false\n", false),
        ("  self_serve: {when_full: queue}\n", true),
    ] {
        let sim = sim_with(policy).await;
        let with_carol = main_text(&sim).replace("  - bob\n", "  - bob\n  - carol\n");
        sim.with_state(|s| s.put_file(REPO, "main", "seats.yaml", &with_carol));
        let carol = sim.with_state(|s| {
            s.members.push("carol".into());
            main_sha_of(s)
        });
        assert_eq!(controller_plan(&sim, "3"), 2, "carol is to be added");
        let out = run(
            &sim,
            &[
                "request",
                "nadia",
                "--repo",
                REPO,
                "--max-seats",
                "3",
                "--format",
                "json",
            ],
        );
        let v = json_of(&out);
        if queued {
            assert_eq!(out.status.code(), Some(0), "{v}");
            assert_eq!(v["pull_request"]["waiting_for_room"], true, "{v}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{v}");
            assert_eq!(v["reason"], "guarded", "{v}");
            assert!(
                v["message"].as_str().unwrap().contains("not applied yet"),
                "{v}"
            );
        }
        assert_eq!(main_sha(&sim), carol, "nothing committed");
        assert_eq!(
            controller_plan(&sim, "3"),
            2,
            "the controller's plan is not guarded"
        );
    }
}

fn main_sha_of(s: &seatkeeper::simulator::SimState) -> String {
    s.repo(REPO).unwrap().branches["main"].clone()
}
