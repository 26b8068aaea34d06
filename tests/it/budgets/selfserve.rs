//! `seatkeeper request LOGIN --budget N` and `release LOGIN --budget` as real
//! processes against the demo (the simulator's demo org and repository):
//! a one-entry commit the controller then applies, and every bad input
//! refused with nothing written.

use std::process::Output;

use seatkeeper::reconcile::{Mode, Options, Status, reconcile};
use seatkeeper::simulator::{DEMO_REPO, SimOptions, Simulator, demo_state};
use serde_json::Value;

use crate::support::{loaded, sim_client, text};

fn run(sim: &Simulator, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--today", "2026-12-05"]);
    crate::support::run_cli(sim, &all)
}

fn seats_yaml(sim: &Simulator) -> String {
    let st = sim.state();
    let r = st.repo(DEMO_REPO).unwrap();
    r.commits[&r.branches["main"]].files["seats.yaml"].clone()
}

fn head_message(sim: &Simulator) -> String {
    let st = sim.state();
    let r = st.repo(DEMO_REPO).unwrap();
    r.commits[&r.branches["main"]].message.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn request_budget_commits_one_entry_and_the_controller_applies_it() {
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    let before = seats_yaml(&sim);
    let out = run(
        &sim,
        &[
            "request",
            "carol",
            "--budget",
            "80",
            "--budget-expires",
            "2027-03-31",
            "--repo",
            DEMO_REPO,
            "--format",
            "json",
            "--max-user-budget",
            "100",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outcome"], "budget_set", "{v}");
    let after = seats_yaml(&sim);
    assert_eq!(
        after,
        before.replace(
            "  - carol\n",
            "  - login: carol\n    budget: 80\n    budget_expires: 2027-03-31\n"
        ),
        "only carol's entry changes"
    );
    let msg = head_message(&sim);
    assert!(
        msg.starts_with("seats.yaml: set the Copilot budget of carol to US$80 a month\n"),
        "{msg}"
    );
    assert!(msg.contains("\nSeatkeeper-Budget: 80\n"), "{msg}");

    // The controller applies the committed file: carol's budget exists.
    let api = sim_client(&sim).await;
    let opts = Options {
        mode: Mode::Apply,
        today: Some("2026-12-05".parse().unwrap()),
        ..Options::default()
    };
    let outcome = reconcile(&api, &loaded(&after), &opts).await.unwrap();
    assert_eq!(
        outcome.status,
        Status::Applied,
        "{:?}",
        outcome.budget_results
    );
    let carol: Vec<u64> = sim
        .state()
        .budgets
        .org
        .iter()
        .filter(|b| b.user.as_deref() == Some("carol"))
        .map(|b| b.budget_amount)
        .collect();
    assert_eq!(carol, [80]);

    // release --budget drops it again (the entry stays a mapping).
    let rel = run(&sim, &["release", "carol", "--budget", "--repo", DEMO_REPO]);
    assert_eq!(rel.status.code(), Some(0), "{}", text(&rel.stderr));
    assert!(
        text(&rel.stdout).starts_with("carol's individual AI-credit budget dropped"),
        "{}",
        text(&rel.stdout)
    );
    assert_eq!(
        seats_yaml(&sim),
        before.replace("  - carol\n", "  - login: carol\n")
    );
    let again = run(&sim, &["release", "carol", "--budget", "--repo", DEMO_REPO]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stdout).contains("has no individual budget"),
        "{}",
        text(&again.stdout)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_budget_requests_are_refused_and_nothing_is_written() {
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    let before = seats_yaml(&sim);
    #[rustfmt::skip]
    let cases: &[(&[&str], i32, &str)] = &[
        (&["request", "carol", "--budget", "-5"], 1, "budgets are whole, non-negative US dollars"),
        (&["request", "carol", "--budget", "12.5"], 1, "`12.5` is not a budget"),
        (&["request", "carol", "--budget", "120", "--max-user-budget", "100"], 1,
         "carol's budget is US$120 a month, over the operator's --max-user-budget 100"),
        // The demo repository's file declares no default: carol's 30 is the total.
        (&["request", "carol", "--budget", "30", "--max-budget-total", "29"], 1,
         "the declared budgets total US$30 a month, over the operator's --max-budget-total 29"),
        (&["request", "carol", "--budget", "30", "--budget-expires", "2026-12-04"], 1,
         "--budget-expires 2026-12-04 is in the past (today is 2026-12-05)"),
        (&["request", "nadia", "--budget", "30"], 1,
         "nadia is not listed in `users` of github:acme/copilot-seats/seats.yaml@main: a budget goes with a seat; request the seat first"),
        (&["request", "carol", "--budget-expires", "2027-01-01"], 1, "--budget"),
    ];
    for (args, code, want) in cases {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--repo", DEMO_REPO]);
        let out = run(&sim, &all);
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {said}");
        assert!(said.contains(want), "{args:?}: want {want:?} in {said}");
    }
    assert_eq!(seats_yaml(&sim), before, "nothing was written");
    assert!(
        sim.state()
            .budgets
            .org
            .iter()
            .all(|b| b.user.as_deref() != Some("carol"))
    );
    sim.shutdown().await;
}
