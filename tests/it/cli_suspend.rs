//! `policy.suspend: true` stops every write: `apply --confirm` and the
//! controller (`seatkeeper run`) plan as usual and write nothing, as the
//! simulator's request log shows. Each test has its control: the same file
//! without `suspend` does write, so "nothing written" is suspend's doing.

use crate::support;

use std::process::Command;
use std::time::Duration;

use seatkeeper::simulator::Simulator;
use support::{Daemon, TOKEN, held, org_state, sim_options, strings, write_atomic};

/// acme: alice and bob hold seats; carol is a member without one.
async fn sim() -> Simulator {
    let members = strings(&["alice", "bob", "carol"]);
    Simulator::start(
        org_state(&members, &strings(&["alice", "bob"])),
        sim_options(),
    )
    .await
    .unwrap()
}

/// A plan with an add (carol) and a removal (bob), uncapped.
fn seats(suspend: bool) -> String {
    format!(
        "org: acme\npolicy:\n  max_removals: \"100%\"\n  suspend: {suspend}\nusers:\n  - alice\n  - carol\n"
    )
}

/// Requests other than reads.
fn writes(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn apply(sim: &Simulator, path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["apply", path.to_str().unwrap(), "--confirm"])
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .env_remove("RUST_LOG")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .output()
        .expect("run seatkeeper")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_confirm_writes_nothing_while_suspended() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.yaml");
    write_atomic(&path, &seats(true));
    let before = held(&sim);

    let out = apply(&sim, &path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    // The plan is shown (it has work in it), and why none of it was done.
    assert!(
        stdout.contains("carol") && stdout.contains("bob"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Nothing was applied: policy.suspend is true"),
        "{stdout}"
    );
    assert!(!sim.requests().is_empty(), "the live seats were read");
    assert_eq!(writes(&sim), Vec::<String>::new(), "{stdout}");
    assert_eq!(held(&sim), before);

    // The control: lifted, the same apply writes both changes.
    write_atomic(&path, &seats(false));
    let out = apply(&sim, &path);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(writes(&sim).len(), 2, "{:?}", writes(&sim));
    assert_eq!(held(&sim), ["alice", "carol"].map(String::from).into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_writes_nothing_while_suspended() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.yaml");
    write_atomic(&path, &seats(true));
    let before = held(&sim);
    // A yearly schedule: only the start-up reconcile runs.
    let args = [
        "--config",
        path.to_str().unwrap(),
        "--schedule",
        "0 0 0 1 1 *",
    ];

    let d = Daemon::start(&sim, &args, &[]);
    let event = d
        .wait_for("the start-up reconcile", || async {
            d.proc.events("reconcile").into_iter().next()
        })
        .await;
    assert_eq!(event["mode"], "suspended", "{event}");
    assert_eq!(event["adds"], 1, "{event}");
    assert_eq!(event["removes"], 1, "{event}");
    assert_eq!(event["applied"], 0, "{event}");
    // Give a stray write time to land before looking.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sim.requests().is_empty(), "the live seats were read");
    assert_eq!(writes(&sim), Vec::<String>::new(), "{}", d.log_text());
    assert_eq!(held(&sim), before);
    drop(d);

    // The control: the same controller on the lifted file writes.
    write_atomic(&path, &seats(false));
    let d = Daemon::start(&sim, &args, &[]);
    let event = d
        .wait_for("the start-up reconcile", || async {
            d.proc.events("reconcile").into_iter().next()
        })
        .await;
    assert_eq!(event["mode"], "apply", "{event}");
    assert_eq!(event["applied"], 2, "{event}");
    assert_eq!(writes(&sim).len(), 2, "{:?}", writes(&sim));
    assert_eq!(held(&sim), ["alice", "carol"].map(String::from).into());
}
