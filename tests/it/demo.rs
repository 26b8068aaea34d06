//! `seatkeeper demo`, with the real binary: it reads the example at run time
//! (the built-in copy only outside a checkout), `--serve` checks its port
//! before running anything, the commands it prints can be pasted, the
//! controller it runs stays quiet at steady state, and Ctrl-C during the
//! apply says how far it got. Every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::text;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_seatkeeper"));
    c.env("NO_COLOR", "1")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .env_remove("RUST_LOG");
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait for `child` at most `within`; kill it and panic past that.
fn wait_bounded(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("seatkeeper did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigint(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -INT failed");
}

/// The lines of a pipe, as they come, on a channel.
fn lines_of(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The rest of the lines, once the writer has exited.
fn drain(rx: &mpsc::Receiver<String>) -> Vec<String> {
    let mut rest = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
        rest.push(l);
    }
    rest
}

/// Lines until one satisfies `f` (returned last), within `within`.
fn until(rx: &mpsc::Receiver<String>, f: impl Fn(&str) -> bool, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let done = f(&l);
                seen.push(l);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!(
                "no such line within {within:?}; so far:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[test]
fn the_built_in_copy_is_the_example() {
    let example = std::fs::read_to_string(root().join(seatkeeper::demo::DEMO_FILE)).unwrap();
    assert_eq!(
        seatkeeper::demo::BUILT_IN_SEATS,
        example,
        "src/demo_seats.yaml (the copy built into the binary) differs from {}: when you mean to \
         change the demo, copy the example over it",
        seatkeeper::demo::DEMO_FILE
    );
}

/// A directory that looks like a checkout (`Cargo.toml` and the example),
/// with one more login in the example than the built-in copy has.
fn edited_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    std::fs::create_dir_all(dir.path().join("examples/demo")).unwrap();
    let edited = seatkeeper::demo::BUILT_IN_SEATS.replace("users:\n", "users:\n  - nadia\n");
    assert_ne!(edited, seatkeeper::demo::BUILT_IN_SEATS);
    std::fs::write(dir.path().join(seatkeeper::demo::DEMO_FILE), edited).unwrap();
    std::fs::create_dir_all(dir.path().join("sub/dir")).unwrap();
    dir
}

#[test]
fn the_demo_reads_the_example_at_run_time_from_anywhere_in_the_checkout() {
    let dir = edited_checkout();
    for cwd in [dir.path().to_path_buf(), dir.path().join("sub/dir")] {
        let out = bin().arg("demo").current_dir(&cwd).output().unwrap();
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
        assert!(
            stdout.contains("\n+ nadia\n"),
            "the edit in the example is planned (run in {}):\n{stdout}",
            cwd.display()
        );
        assert!(!stdout.contains("built-in"), "{stdout}");
    }
}

#[test]
fn outside_a_checkout_the_built_in_copy_is_used_and_a_missing_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg("demo").current_dir(dir.path()).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("desired state: examples/demo/seats.yaml (built-in copy"),
        "{stdout}"
    );
    assert!(!stdout.contains("+ nadia"), "{stdout}");

    // A file asked for by name is never silently replaced by the copy.
    let out = bin()
        .args(["demo", "--config", "no-such.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no-such.yaml"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("== Plan"));
}

#[test]
fn serve_checks_its_port_before_running_anything() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let mut child = bin()
        .args(["demo", "--serve", "--listen", &addr])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "the error names the port: {stderr}"
    );
    assert!(
        !stdout.contains("== Plan") && !stdout.contains("== Apply"),
        "nothing ran before the port check:\n{stdout}"
    );
    eprintln!("refused in {:?}", started.elapsed());
    drop(held);
}

#[test]
fn printed_commands_can_be_pasted_where_the_demo_runs() {
    // Through cargo (this test's binary lives in target/debug): `cargo run --`.
    let out = bin().arg("demo").current_dir(root()).output().unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("`cargo run -- demo --serve`"),
        "under target/ the demo says cargo run:\n{stdout}"
    );
    assert!(!stdout.contains("`seatkeeper demo"), "{stdout}");

    // An installed binary (not under target/, not started by cargo): plain `seatkeeper`.
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("seatkeeper");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_seatkeeper"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_seatkeeper"), &exe).unwrap();
    }
    let out = Command::new(&exe)
        .arg("demo")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("CARGO")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("`seatkeeper demo --serve`"), "{stdout}");
    assert!(!stdout.contains("cargo run"), "{stdout}");

    // The profile follows the binary's directory.
    use seatkeeper::demo::invocation_for;
    #[rustfmt::skip]
    let cases: &[(bool, &str, &str)] = &[
        (false, "/src/sk/target/release/seatkeeper", "cargo run --release --"),
        (false, "/src/sk/target/debug/seatkeeper", "cargo run --"),
        (true, "/src/sk/target/bench/seatkeeper", "cargo run --profile bench --"),
        (true, "/usr/local/bin/seatkeeper", "cargo run --release --"),
        (false, "/usr/local/bin/seatkeeper", "seatkeeper"),
    ];
    for (cargo, exe, want) in cases {
        assert_eq!(invocation_for(*cargo, Some(Path::new(exe))), *want, "{exe}");
    }
}

#[test]
fn serve_prints_a_request_command_for_this_checkout() {
    let port = free_port();
    let mut child = bin()
        .args(["demo", "--serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stdout.take().unwrap());
    let seen = until(
        &rx,
        |l| l.contains(" request nadia "),
        Duration::from_secs(60),
    );
    child.kill().ok();
    child.wait().ok();
    let line = seen.last().unwrap();
    assert!(
        line.trim_start()
            .starts_with("GITHUB_TOKEN=sim-token cargo run -- request nadia --repo acme/copilot-seats --github-url http://127.0.0.1:"),
        "{line}"
    );
}

/// A bare HTTP/1.1 GET on 127.0.0.1: the body of a 200.
fn get(port: u16, path: &str) -> Option<String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    raw.starts_with("HTTP/1.1 200")
        .then(|| raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))?
}

/// `seatkeeper_reconcile_total{org="acme",result="success"}`, once served.
fn reconciles(port: u16) -> Option<u64> {
    let body = get(port, "/metrics")?;
    body.lines()
        .find_map(|l| {
            l.strip_prefix("seatkeeper_reconcile_total{org=\"acme\",result=\"success\"} ")
        })
        .and_then(|n| n.trim().parse().ok())
}

#[test]
fn serve_logs_a_change_once_and_a_problem_once_not_every_reconcile() {
    let port = free_port();
    // One reconcile a second, so a few pass quickly.
    let mut child = bin()
        .args([
            "demo",
            "--serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "1",
            "--log-format",
            "json",
        ])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0;
    while n < 5 {
        assert!(
            Instant::now() < deadline,
            "fewer than 5 reconciles in 60 s ({n})"
        );
        std::thread::sleep(Duration::from_millis(200));
        n = reconciles(port).unwrap_or(0);
    }
    sigint(&child);
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let logs = drain(&rx);
    let count = |what: &str| logs.iter().filter(|l| l.contains(what)).count();
    // Every reconcile found the same: "No changes", and contractor-carl
    // still not a member. Each is said once.
    assert_eq!(
        count("\"event\":\"reconcile\""),
        1,
        "{n} reconciles, one summary expected:\n{}",
        logs.join("\n")
    );
    assert_eq!(
        count("\"login\":\"contractor-carl\""),
        1,
        "one warning for one problem:\n{}",
        logs.join("\n")
    );
}

#[test]
fn ctrl_c_during_the_apply_says_how_many_changes_were_applied() {
    // Every simulated request takes 300 ms, so the apply is interrupted
    // between its batches (team adds, user adds, user removals).
    let mut child = bin()
        .args(["demo", "--sim-latency-ms", "300"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stdout.take().unwrap());
    let mut seen = until(&rx, |l| l.starts_with("ok "), Duration::from_secs(120));
    sigint(&child);
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    seen.extend(drain(&rx));
    let all = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{all}");
    let ok = seen.iter().filter(|l| l.starts_with("ok ")).count();
    let line = seen
        .iter()
        .find(|l| l.starts_with("Interrupted (Ctrl-C): "))
        .unwrap_or_else(|| panic!("no Interrupted line:\n{all}"));
    assert!(
        line.starts_with(&format!(
            "Interrupted (Ctrl-C): {ok} of 8 applied; the other {} were not attempted.",
            8 - ok
        )),
        "{line}\n{all}"
    );
    assert!(ok < 8, "the apply was interrupted, not finished:\n{all}");
    assert!(!all.contains("== Plan again"), "{all}");
}

/// Issue 18 item 2: `demo --protected-branch` asks for a seat by committing
/// to a protected `main`: the person sees GitHub's reason (the 409 body the
/// simulator sends, as github-observed records it) and the next step, the
/// demo still ends well, and nothing about the seat changed.
#[test]
fn protected_branch_shows_githubs_reason_and_the_next_step() {
    let out = bin()
        .args(["demo", "--protected-branch"])
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let step = stdout
        .split("== Ask for a seat on a protected branch")
        .nth(1)
        .unwrap_or_else(|| panic!("no protected-branch step:\n{stdout}"));
    assert!(
        step.contains(&format!(
            "request {} --repo acme/copilot-seats",
            seatkeeper::demo::PROTECTED_BRANCH_LOGIN
        )),
        "{step}"
    );
    let error = step
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line:\n{step}"));
    assert!(
        error.contains("Changes must be made through a pull request."),
        "GitHub's reason: {error}"
    );
    assert!(
        error.contains("policy.self_serve.mode: pull_request") && error.contains("bypass"),
        "the next step: {error}"
    );
    assert!(!error.contains("concurrent"), "not a stale sha: {error}");
    // Without the flag there is no such step.
    let plain = bin().arg("demo").current_dir(root()).output().unwrap();
    assert!(!text(&plain.stdout).contains("protected branch"));
}
