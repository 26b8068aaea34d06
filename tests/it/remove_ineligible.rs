//! Issue 19 item 9: removing the seats of listed logins outside
//! `policy.eligible_teams` is an explicit option (`policy.remove_ineligible:
//! true`), off by default; each removal counts toward the removal cap. Real
//! processes against the simulator over HTTP.

use std::process::Output;

use seatkeeper::simulator::{SimTeam, Simulator};
use serde_json::Value;

use crate::support::{self, org_state, sim_options, strings};

fn run(sim: &Simulator, args: &[&str]) -> Output {
    crate::support::run_cli(sim, args)
}

/// alice (in `engineering`) and bob (not) both listed and seated.
async fn sim() -> Simulator {
    let mut state = org_state(
        &strings(&["alice", "bob", "carol"]),
        &strings(&["alice", "bob"]),
    );
    state.teams = vec![SimTeam::new("engineering", &["alice"])];
    Simulator::start(state, sim_options()).await.unwrap()
}

fn file(dir: &tempfile::TempDir, policy: &str) -> String {
    let path = dir.path().join("seats.yaml");
    std::fs::write(
        &path,
        format!("org: acme\npolicy:\n  eligible_teams: [engineering]\n{policy}users:\n  - alice\n  - bob\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn removals(out: &Output) -> Vec<String> {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "remove_user")
        .map(|c| {
            format!(
                "{}({})",
                c["login"].as_str().unwrap(),
                c["reason"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn off_by_default_on_it_removes_within_the_removal_cap() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    // Off (the default): bob keeps his seat.
    let off = file(&dir, "");
    let out = run(&sim, &["plan", &off, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(removals(&out).is_empty());

    // On, over a removal cap of 0: guarded, and apply writes nothing.
    let capped = file(&dir, "  remove_ineligible: true\n  max_removals: 0\n");
    let out = run(&sim, &["plan", &capped, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(removals(&out), vec!["bob(ineligible)"]);
    let out = run(&sim, &["apply", &capped, "--confirm"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "a guarded plan wrote"
    );

    // On: bob's seat is removed, alice keeps hers.
    let on = file(&dir, "  remove_ineligible: true\n  max_removals: 1\n");
    let out = run(&sim, &["plan", &on, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(removals(&out), vec!["bob(ineligible)"]);
    let out = run(&sim, &["apply", &on, "--confirm"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let held = support::held(&sim);
    assert!(held.contains("alice") && !held.contains("bob"), "{held:?}");
}
