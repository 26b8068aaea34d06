//! `seatkeeper request` and `release` as real processes against the
//! simulator over HTTP: every outcome and every bad input of issue 12, each
//! refused with a clear message, exit 1 and nothing written.

use std::path::PathBuf;
use std::process::{Command, Output};

use seatkeeper::simulator::{SimOptions, Simulator, demo_state};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(sim: &Simulator, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(args)
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", sim.token())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .env_remove("GITHUB_APP_ID")
        .output()
        .expect("run seatkeeper")
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
        stdout.contains("Seats: 21 -> 22; billed this cycle: 22 -> 26 (cap 60)."),
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
        ("over the cap", capped, vec!["request", "nadia"], "guarded", "adding nadia would leave a plan the controller refuses to apply: 26 seats billed this cycle after apply (22 held, 4 pending cancellation and billed until their date) exceed `policy.max_seats` (21)"),
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
