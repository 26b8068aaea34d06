//! The command line as people meet it: each problem issue 15 lists, run
//! with the real binary against the simulator over HTTP.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use seatkeeper::simulator::{
    FaultAction, ScriptedFault, SimOptions, SimState, Simulator, generated_login, routes,
};

use crate::support::text;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_seatkeeper"));
    c.env("NO_COLOR", "1")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_API_URL")
        .env_remove("RUST_LOG")
        .env_remove("SEATKEEPER_TOKEN_FILE");
    c
}

fn run_with(sim: &Simulator, args: &[&str]) -> Output {
    bin()
        .args(args)
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", sim.token())
        .output()
        .expect("run seatkeeper")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// An org whose members are `members` and whose direct seats are `seated`.
fn org(members: &[&str], seated: &[&str]) -> SimState {
    let mut st = SimState::new("acme");
    st.members = members.iter().map(|m| m.to_string()).collect();
    st.selected_users = seated.iter().map(|s| s.to_string()).collect();
    st.normalize(chrono::Utc::now());
    st
}

async fn start(state: SimState) -> Simulator {
    Simulator::start(state, SimOptions::default())
        .await
        .unwrap()
}

fn held(sim: &Simulator) -> Vec<String> {
    let mut v: Vec<String> = sim
        .state()
        .seats
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.login.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typo_holds_the_real_persons_removal() {
    // alice holds a seat; seats.yaml says `alcie`: no GitHub user.
    let sim = start(org(&["alice", "bob", "zed"], &["alice", "zed"])).await;
    let dir = tempfile::tempdir().unwrap();
    let seats = write(
        dir.path(),
        "seats.yaml",
        "org: acme\npolicy:\n  max_removals: \"100%\"\nusers:\n  - alcie\n  - bob\n",
    );
    let out = run_with(&sim, &["apply", seats.to_str().unwrap(), "--confirm"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(3),
        "held means guarded:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("? alice  (removal held: seats.yaml lists alcie, which is not a GitHub user; did you mean alice?)"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "{}:5:5: `alcie` is not a GitHub user; did you mean `alice`?",
            seats.display()
        )),
        "{stderr}"
    );
    // bob was added and zed removed; alice kept her seat.
    assert_eq!(held(&sim), vec!["alice", "bob"]);
    assert!(
        stdout.contains("ok      add bob") && stdout.contains("ok      remove zed"),
        "{stdout}"
    );
    // The JSON names it too, with codes.
    let out = run_with(&sim, &["plan", seats.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["held"][0]["login"], "alice");
    assert_eq!(v["held"][0]["reason"], "no_such_user");
    assert_eq!(v["skipped"][0]["reason"], "no_such_user");
    assert_eq!(v["guard"]["held"], true);
    assert_eq!(out.status.code(), Some(3));
    // --strict still fails the PR check on the unknown login.
    let out = run_with(&sim, &["plan", seats.to_str().unwrap(), "--strict"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    for args in [
        &["plan", "--format", "yaml"][..],
        &["plan", "--today", "2026-02-30"],
        &["frobnicate"],
        &["apply", "--batch-size", "many"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // A listing big enough that the plan outgrows the pipe buffer.
    let dir = tempfile::tempdir().unwrap();
    let seats: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                r#"{{"created_at":"2026-01-01T00:00:00Z","assignee":{{"login":"{}"}}}}"#,
                generated_login(i)
            )
        })
        .collect();
    let live = write(
        dir.path(),
        "live.json",
        &format!(r#"{{"total_seats":5000,"seats":[{}]}}"#, seats.join(",")),
    );
    let file = write(
        dir.path(),
        "seats.yaml",
        "org: acme\npolicy:\n  allow_empty: true\n  max_removals: \"100%\"\nusers: []\n",
    );
    let mut child = bin()
        .args([
            "plan",
            file.to_str().unwrap(),
            "--live-state",
            live.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // `| head -1`: the reader is gone.
    let mut err = String::new();
    let status = child.wait().unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(first.starts_with("- user"), "{first}");
    assert_eq!(status.code(), Some(2), "the usual code: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_repeats_every_flag_and_saved_plans_apply_exactly() {
    let sim = start(org(&["alice", "bob", "carol"], &["alice"])).await;
    let dir = tempfile::tempdir().unwrap();
    let seats = write(
        dir.path(),
        "seats.yaml",
        "org: acme\npolicy:\n  max_removals: \"100%\"\nusers: [alice, bob]\n",
    );
    let s = seats.to_str().unwrap();
    let out = run_with(&sim, &["apply", s, "--today", "2026-11-23"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "seatkeeper apply {s} --today 2026-11-23 --github-url {} --confirm",
            sim.url()
        )),
        "{stdout}"
    );
    // Save a plan, then apply exactly it.
    let saved = dir.path().join("plan.json");
    let out = run_with(&sim, &["plan", s, "--out", saved.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(v["seatkeeper_saved_plan"], 2);
    assert_eq!(v["inputs_sha256"].as_str().map(str::len), Some(64));
    assert_eq!(v["plan"]["changes"][0]["login"], "bob");
    // The live seats move before the apply: refused, nothing written.
    sim.with_state(|st| {
        st.selected_users.insert("carol".into());
    });
    sim.clear_requests();
    let out = run_with(&sim, &["apply", saved.to_str().unwrap(), "--confirm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("changed since the plan was saved"),
        "{}",
        text(&out.stderr)
    );
    assert!(sim.requests().iter().all(|r| r.method == "GET"));
    // Planned again against the same seats: applied, exactly.
    let out = run_with(&sim, &["plan", s, "--out", saved.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_with(&sim, &["apply", saved.to_str().unwrap(), "--confirm"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(held(&sim), vec!["alice", "bob"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn eligibility_reads_the_member_list_when_it_is_cheaper() {
    // 12,000 members: 120 pages of 100.
    let members: Vec<String> = (0..12_000).map(generated_login).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let sim = start(org(&refs, &[])).await;
    let dir = tempfile::tempdir().unwrap();
    let mut counts = Vec::new();
    for n in [10usize, 1000, 10_000] {
        let mut y = String::from("org: acme\nusers:\n");
        for m in &members[..n] {
            y.push_str(&format!("  - {m}\n"));
        }
        let seats = write(dir.path(), "seats.yaml", &y);
        sim.clear_requests();
        let out = run_with(&sim, &["plan", seats.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let reqs = sim.requests();
        let pages = reqs
            .iter()
            .filter(|r| r.route == routes::ORG_MEMBERS)
            .count();
        let checks = reqs
            .iter()
            .filter(|r| r.route == routes::ORG_MEMBER)
            .count();
        counts.push((n, pages, checks, reqs.len()));
    }
    // 10 logins: one check each; 1,000 and 10,000: the 120 pages instead of
    // 1,000 or 10,000 checks (docs/performance.md records these counts).
    assert_eq!((counts[0].1, counts[0].2), (0, 10), "{counts:?}");
    assert_eq!((counts[1].1, counts[1].2), (120, 0), "{counts:?}");
    assert_eq!((counts[2].1, counts[2].2), (120, 0), "{counts:?}");
    println!("eligibility requests (logins, member pages, membership checks, all): {counts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_follow_stderr_and_retries_that_succeed_stay_quiet() {
    let sim = start(org(&["alice"], &["alice"])).await;
    sim.faults().script(ScriptedFault {
        route: format!("GET {}", routes::ORG_SEATS),
        nth: 1,
        times: 1,
        action: FaultAction::status(500),
    });
    let dir = tempfile::tempdir().unwrap();
    let seats = write(dir.path(), "seats.yaml", "org: acme\nusers: [alice]\n");
    let out = bin()
        .args(["plan", seats.to_str().unwrap(), "--github-url", &sim.url()])
        .env("GITHUB_TOKEN", sim.token())
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    // stderr is a pipe here: JSON lines, and no error for the retried 500.
    for line in stderr.lines().filter(|l| !l.is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert_ne!(v["level"], "ERROR", "{line}");
    }
    assert_eq!(sim.faults().injected().len(), 1, "the fault fired");
    let out = bin()
        .args([
            "plan",
            seats.to_str().unwrap(),
            "--github-url",
            &sim.url(),
            "--log-format",
            "pretty",
        ])
        .env("GITHUB_TOKEN", sim.token())
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(
        text(&out.stderr)
            .lines()
            .any(|l| !l.starts_with('{') && l.contains("DEBUG"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_name_the_url_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let seats = write(dir.path(), "seats.yaml", "org: acme\nusers: [alice]\n");
    let s = seats.to_str().unwrap();
    // Nothing listens on port 9 of loopback (discard; closed here).
    let out = bin()
        .args(["plan", s, "--github-url", "http://127.0.0.1:9"])
        .env("GITHUB_TOKEN", "t")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("http://127.0.0.1:9/orgs/acme/copilot/billing/seats"),
        "{err}"
    );
    assert!(err.contains("--github-url"), "{err}");
    // A wrong API root: a path where no REST API answers.
    let sim = start(org(&["alice"], &["alice"])).await;
    let out = bin()
        .args([
            "plan",
            s,
            "--github-url",
            &format!("{}/nothing-here", sim.url()),
        ])
        .env("GITHUB_TOKEN", sim.token())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("does not look like a GitHub REST API root"),
        "{err}"
    );
    // The org does not exist: the API root answers, so it is the org or the token.
    let other = write(dir.path(), "other.yaml", "org: nosuchorg\nusers: [alice]\n");
    let out = run_with(&sim, &["plan", other.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert!(
        err.contains("the API root at") && err.contains("nosuchorg"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_bounds_the_file() {
    let sim = start(org(&["alice", "bob"], &["alice"])).await;
    let dir = tempfile::tempdir().unwrap();
    let seats = write(
        dir.path(),
        "seats.yaml",
        "org: acme\npolicy:\n  max_seats: 10\nusers: [alice, bob]\n",
    );
    let s = seats.to_str().unwrap();
    let out = run_with(&sim, &["plan", s, "--allowed-org", "other"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("org `acme`") && err.contains("--allowed-org other"),
        "{err}"
    );
    let out = run_with(&sim, &["plan", s, "--allowed-org", "ACME"]);
    assert_eq!(out.status.code(), Some(2));
    // The file's cap is 10; the operator's 1 wins and is named.
    let out = run_with(&sim, &["apply", s, "--confirm", "--max-seats", "1"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("--max-seats (1)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(held(&sim), vec!["alice"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn import_starts_with_a_removal_cap_and_gh_token_works() {
    let sim = start(org(&["alice", "bob"], &["alice"])).await;
    let out = bin()
        .args(["import", "--org", "acme", "--github-url", &sim.url()])
        .env("GH_TOKEN", sim.token())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let y = text(&out.stdout);
    assert!(
        y.contains("policy:\n") && y.contains("max_removals: \"25%\""),
        "{y}"
    );
    let f = seatkeeper::config::SeatsFile::parse("import", y.as_bytes()).expect("valid");
    assert_eq!(f.users.len(), 1);
    let out = bin()
        .args([
            "import",
            "--org",
            "acme",
            "--github-url",
            &sim.url(),
            "--format",
            "json",
        ])
        .env("GH_TOKEN", sim.token())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["users"][0]["login"], "alice");
}

#[test]
fn validate_speaks_json_and_reads_files_boundedly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yaml",
        "org: acme\nusers:\n  - bad--login\n",
    );
    let out = bin()
        .args(["validate", bad.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["diagnostics"][0]["line"], 3);
    // /dev/zero has no end: at most 1 MiB + 1 bytes are read.
    let t = std::time::Instant::now();
    let out = bin().args(["validate", "/dev/zero"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("at most 1048576 bytes"),
        "{}",
        text(&out.stderr)
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn completions_and_positional_sources() {
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("seatkeeper"));
    for args in [
        &["check-args", "run", "seats.yaml"][..],
        &["check-args", "run", "--config", "seats.yaml"],
        &[
            "check-args",
            "run",
            "a.yaml",
            "github:acme/seats/seats.yaml@main",
        ],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(
            text(&out.stdout).trim(),
            "ok",
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = bin().args(["check-args", "run"]).output().unwrap();
    assert_ne!(text(&out.stdout).trim(), "ok", "run needs a source");
    let help = text(&bin().args(["apply", "--help"]).output().unwrap().stdout);
    for heading in [
        "GitHub connection:",
        "Throttling:",
        "Writes:",
        "Operator bounds:",
        "Examples:",
    ] {
        assert!(
            help.contains(heading),
            "apply --help lacks {heading}\n{help}"
        );
    }
    let help = text(&bin().args(["plan", "--help"]).output().unwrap().stdout);
    assert!(
        !help.contains("--batch-size"),
        "plan does not write:\n{help}"
    );
}
