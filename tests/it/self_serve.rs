//! The self-serve flow with the real binary against the simulator over real
//! HTTP: plan (eligibility, --strict, --base), apply (--confirm), import
//! round trip, validate --online, the demo and the simulator command.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use seatkeeper::simulator::{SimOptions, Simulator, demo_state};

use crate::support::text;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(sim: &Simulator, args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(args)
        .args(["--github-url", &sim.url()])
        .current_dir(dir)
        .env("GITHUB_TOKEN", sim.token())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .output()
        .expect("run seatkeeper")
}

fn writes(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" || r.method == "DELETE")
        .map(|r| format!("{} {}", r.method, r.route))
        .collect()
}

async fn demo_sim() -> Simulator {
    Simulator::start(demo_state(), SimOptions::default())
        .await
        .expect("simulator")
}

fn demo_file() -> String {
    root()
        .join("examples/demo/seats.yaml")
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_shows_ineligible_logins_and_strict_fails_on_them() {
    let sim = demo_sim().await;
    let file = demo_file();
    let out = run(&sim, &["plan", &file], &root());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("! contractor-carl  (not a member of acme)"),
        "{stdout}"
    );
    assert!(stdout.contains("+ lena"), "{stdout}");

    let strict = run(&sim, &["plan", &file, "--strict"], &root());
    assert_eq!(strict.status.code(), Some(1));
    let err = text(&strict.stderr);
    // points at the login's line and column in seats.yaml
    assert!(
        err.contains("seats.yaml:41:5: contractor-carl is not eligible: not a member of acme"),
        "{err}"
    );
    assert!(writes(&sim).is_empty(), "plan wrote: {:?}", writes(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_is_dry_without_confirm_and_converges_with_it() {
    let sim = demo_sim().await;
    let file = demo_file();
    let dry = run(&sim, &["apply", &file], &root());
    assert_eq!(dry.status.code(), Some(2));
    assert!(text(&dry.stdout).contains("--confirm"));
    assert!(writes(&sim).is_empty(), "apply without --confirm wrote");

    let applied = run(&sim, &["apply", &file, "--confirm"], &root());
    let stdout = text(&applied.stdout);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{stdout}{}",
        text(&applied.stderr)
    );
    assert!(
        stdout.contains("Applied: 8 ok, 0 failed, 0 skipped."),
        "{stdout}"
    );
    // Batched: one request per kind of change.
    let mut w = writes(&sim);
    w.sort();
    assert_eq!(
        w,
        vec![
            // The demo's budgets: dmitri's hand-made one goes, the default
            // and bob's are created (one request each).
            "DELETE /organizations/{org}/settings/billing/budgets/{budget_id}",
            "DELETE /orgs/{org}/copilot/billing/selected_users",
            "POST /organizations/{org}/settings/billing/budgets",
            "POST /organizations/{org}/settings/billing/budgets",
            "POST /orgs/{org}/copilot/billing/selected_teams",
            "POST /orgs/{org}/copilot/billing/selected_users",
        ]
    );
    let again = run(&sim, &["plan", &file], &root());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_then_plan_is_empty() {
    let sim = demo_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(&sim, &["import", "--org", "acme"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    assert!(
        yaml.contains("# Seats pending cancellation, left out"),
        "{yaml}"
    );
    assert!(yaml.contains("#   kemal (until "), "{yaml}");
    assert!(yaml.contains("teams:\n  - data-science\n"), "{yaml}");
    std::fs::write(dir.path().join("seats.yaml"), &yaml).unwrap();
    let valid = run(&sim, &["validate"], dir.path());
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid.stderr));
    let plan = run(&sim, &["plan"], dir.path());
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    assert!(writes(&sim).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_online_points_at_each_problem() {
    let sim = demo_sim().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seats.yaml"),
        "org: acme\nteams:\n  - platform\n  - no-such-team\nusers:\n  - alice\n  - contractor-carl\n  - ghost-user-404\n",
    )
    .unwrap();
    let out = run(&sim, &["validate", "--online"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for want in [
        "seats.yaml:4:5: team `no-such-team` does not exist in acme",
        "seats.yaml:7:5: `contractor-carl` is not eligible: not a member of acme",
        "seats.yaml:8:5: `ghost-user-404` is not eligible: no GitHub user has this login",
        "seats.yaml: 3 errors",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn eligible_teams_are_read_once_not_per_user() {
    let sim = demo_sim().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seats.yaml"),
        "org: acme\npolicy:\n  eligible_teams: [engineering]\nusers: [alice, bob, lena, mateo, nadia]\n",
    )
    .unwrap();
    let out = run(&sim, &["plan"], dir.path());
    let stdout = text(&out.stdout);
    // engineering includes its child team platform; lena, mateo, nadia are in neither
    assert!(
        stdout.contains("! lena  (not in an eligible team (engineering))"),
        "{stdout}"
    );
    let team_reads = sim
        .requests()
        .iter()
        .filter(|r| r.route == "/orgs/{org}/teams/{team_slug}/members")
        .count();
    assert_eq!(team_reads, 1, "eligible team read once");
}

#[test]
fn base_ref_shows_what_the_change_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(ok.status.success(), "git {args:?}: {}", text(&ok.stderr));
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(
        dir.path().join("seats.yaml"),
        "org: acme\nusers: [octocat, mona, bob]\n",
    )
    .unwrap();
    git(&["add", "seats.yaml"]);
    git(&["commit", "-qm", "base"]);
    std::fs::write(
        dir.path().join("seats.yaml"),
        "org: acme\nteams: [platform]\nusers: [octocat, mona, hubot]\n",
    )
    .unwrap();
    let live = root().join("examples/live-state.json");
    let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args([
            "plan",
            "--base",
            "main",
            "--live-state",
            live.to_str().unwrap(),
            "--today",
            "2026-11-23",
        ])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(
            "This change to seats.yaml asks for:\n  + team platform\n  + hubot\n  - bob\n"
        ),
        "{stdout}"
    );

    let md = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args([
            "plan",
            "--base",
            "main",
            "--live-state",
            live.to_str().unwrap(),
            "--today",
            "2026-11-23",
            "--format",
            "markdown",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let md = text(&md.stdout);
    assert_eq!(md.matches("<!-- seatkeeper-plan -->").count(), 1);
    insta::assert_snapshot!("pr_comment_markdown", md);
}

#[test]
fn demo_runs_without_a_token_and_converges() {
    let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .arg("demo")
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Mask what changes from run to run: the port, and dates relative to today.
    let port = regex_lite_mask(&stdout);
    insta::assert_snapshot!("demo_output", port);
}

/// Replace `127.0.0.1:PORT` and `YYYY-MM-DD` dates after today with stable text.
fn regex_lite_mask(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut l = line.to_string();
        if let Some(i) = l.find("127.0.0.1:") {
            let end = l[i + 10..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(l.len(), |e| i + 10 + e);
            l.replace_range(i + 10..end, "PORT");
        }
        if let Some(i) = l.find("pending cancellation 20") {
            l.replace_range(i + 21..i + 31, "YYYY-MM-DD");
        }
        // The cost preview's cycle end (the next billing date).
        if let Some(i) = l.find("Billed until 20") {
            l.replace_range(i + 13..i + 23, "YYYY-MM-DD");
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn simulator_command_prints_its_url_and_token_and_serves() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["simulator", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(
        first,
        format!("simulator listening on http://127.0.0.1:{port} token=sim-token\n")
    );
    // Any GitHub client can use it: plan the demo file against it.
    let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args([
            "plan",
            &demo_file(),
            "--github-url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .env("GITHUB_TOKEN", "sim-token")
        .output()
        .unwrap();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// A bare HTTP/1.1 GET on 127.0.0.1: (status, body).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split(' ').nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

#[test]
fn demo_serve_runs_a_live_controller_without_a_token() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["demo", "--serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(root())
        .env_remove("GITHUB_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut ready = None;
    while std::time::Instant::now() < deadline {
        if let Some((200, body)) = http_get(port, "/readyz") {
            ready = Some(body);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let metrics = http_get(port, "/metrics");
    let health = http_get(port, "/healthz");
    child.kill().ok();
    child.wait().ok();
    assert!(ready.is_some(), "/readyz never answered 200");
    assert_eq!(health.map(|h| h.0), Some(200));
    let (status, metrics) = metrics.expect("/metrics answered");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("seatkeeper_drift{org=\"acme\",action=\"add\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("seatkeeper_desired_state_valid{org=\"acme\"} 1"),
        "{metrics}"
    );
}
