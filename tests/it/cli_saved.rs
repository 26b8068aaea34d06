//! `apply PLAN.json` refuses when seats.yaml changed since the plan was
//! saved, where the plan read it: the file on disk, or the repository at its
//! ref (a new commit). Nothing is written; the message names the file, what
//! changed, and the command to plan again. The controls: the same file
//! restored byte for byte applies, and a fresh plan of the changed file
//! applies.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use seatkeeper::simulator::Simulator;
use support::{TOKEN, held, org_state, sim_options, strings, write_atomic};

const REPO: &str = "acme/seats-repo";

/// acme: alice holds a seat; bob and carol are members without one.
async fn sim() -> Simulator {
    let members = strings(&["alice", "bob", "carol"]);
    Simulator::start(org_state(&members, &strings(&["alice"])), sim_options())
        .await
        .unwrap()
}

fn seatkeeper(sim: &Simulator, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .current_dir(dir)
        .args(args)
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .env_remove("RUST_LOG")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .output()
        .expect("run seatkeeper")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
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

const PLANNED: &str = "org: acme\nusers:\n  - alice\n  - bob\n";
const EDITED: &str = "org: acme\nusers:\n  - alice\n  - bob\n  - carol\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_a_plan_whose_seats_yaml_changed_on_disk() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_atomic(&d.join("seats.yaml"), PLANNED);
    let out = seatkeeper(&sim, d, &["plan", "seats.yaml", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["seatkeeper_saved_plan"], 2);
    assert_eq!(
        saved["seats_sha"],
        seatkeeper::source::git_blob_sha(PLANNED.as_bytes())
    );

    // Edited on disk after the plan: refused before anything is written.
    write_atomic(&d.join("seats.yaml"), EDITED);
    sim.clear_requests();
    let out = seatkeeper(&sim, d, &["apply", "plan.json", "--confirm"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("seats.yaml changed on disk since the plan was saved"),
        "{said}"
    );
    assert!(
        said.contains("Plan again (seatkeeper plan seats.yaml --out plan.json)"),
        "{said}"
    );
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(held(&sim), ["alice".to_string()].into());

    // Gone: refused too, saying so.
    std::fs::remove_file(d.join("seats.yaml")).unwrap();
    let out = seatkeeper(&sim, d, &["apply", "plan.json", "--confirm"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("cannot read seats.yaml"),
        "{}",
        text(&out)
    );

    // The control: the planned bytes restored, the saved plan applies.
    write_atomic(&d.join("seats.yaml"), PLANNED);
    let out = seatkeeper(&sim, d, &["apply", "plan.json", "--confirm"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(writes(&sim).len(), 1, "{:?}", writes(&sim));
    assert_eq!(held(&sim), ["alice", "bob"].map(String::from).into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_a_plan_whose_seats_yaml_changed_in_the_repository() {
    let sim = sim().await;
    sim.with_state(|s| {
        s.commit_file(REPO, "main", "seats.yaml", PLANNED, "seats", "octocat");
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let source = format!("github:{REPO}/seats.yaml@main");
    let out = seatkeeper(&sim, d, &["plan", &source, "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bob"), "{}", text(&out));

    // A new commit on the branch after the plan: refused, nothing written.
    sim.with_state(|s| {
        s.commit_file(REPO, "main", "seats.yaml", EDITED, "add carol", "octocat");
    });
    sim.clear_requests();
    let out = seatkeeper(&sim, d, &["apply", "plan.json", "--confirm"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "{source} changed in the repository since the plan was saved"
        )),
        "{said}"
    );
    assert!(said.contains("Plan again (seatkeeper plan"), "{said}");
    // It looked in the repository, and wrote nothing.
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path.contains("/contents/seats.yaml")),
        "{:?}",
        sim.requests()
    );
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(held(&sim), ["alice".to_string()].into());

    // The control: planned again at the new commit, it applies.
    let out = seatkeeper(&sim, d, &["plan", &source, "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = seatkeeper(&sim, d, &["apply", "plan.json", "--confirm"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        held(&sim),
        ["alice", "bob", "carol"].map(String::from).into()
    );
}
