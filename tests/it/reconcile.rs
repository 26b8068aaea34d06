//! One reconcile through the real client against the simulator over HTTP:
//! the safety rules of DESIGN.md "Reconcile semantics" and the request count
//! of a 10,000-seat reconcile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use seatkeeper::reconcile::{Mode, Options, Status, reconcile};
use seatkeeper::simulator::{
    FaultAction, GenSpec, ScriptedFault, SimOptions, SimState, Simulator, demo_state,
    generated_login, generated_state_with,
};

use crate::support::{loaded, sim_client as client};

fn apply() -> Options {
    Options {
        mode: Mode::Apply,
        ..Options::default()
    }
}

fn writes(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "POST" || r.method == "DELETE")
        .count()
}

async fn start(state: SimState) -> Simulator {
    Simulator::start(state, SimOptions::default())
        .await
        .unwrap()
}

/// seats.yaml for a generated org: every direct seat but the first `drop`,
/// plus `add` members without a seat.
fn generated_file(seats: usize, drop: usize, add: usize) -> String {
    let mut s = String::from("org: acme\npolicy:\n  max_removals: \"5%\"\nusers:\n");
    for i in drop..seats + add {
        s.push_str(&format!("  - {}\n", generated_login(i)));
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_seats_one_percent_drift_uses_the_minimum_requests() {
    let sim = start(generated_state_with(
        "acme",
        &GenSpec {
            seats: 10_000,
            extra_members: 50,
            ..GenSpec::default()
        },
    ))
    .await;
    let api = client(&sim).await;
    // 1% drift: 50 seats to remove, 50 members to add.
    let file = loaded(&generated_file(10_000, 50, 50));
    let out = reconcile(&api, &file, &apply()).await.unwrap();
    assert_eq!(out.status, Status::Applied, "{:?}", out.plan.guard);
    assert_eq!(out.results.len(), 100);

    let stats = api.stats();
    let count = |m: &str, r: &str| stats.requests_to(m, r);
    let billing = count("GET", "/orgs/{org}/copilot/billing");
    let pages = count("GET", "/orgs/{org}/copilot/billing/seats");
    let membership = count("GET", "/orgs/{org}/members/{username}");
    let adds = count("POST", "/orgs/{org}/copilot/billing/selected_users");
    let removes = count("DELETE", "/orgs/{org}/copilot/billing/selected_users");
    println!(
        "10,000 seats, 1% drift: {} requests = billing {billing} + pages {pages} + membership checks {membership} + POST {adds} + DELETE {removes}",
        stats.total_requests()
    );
    assert_eq!((billing, pages, adds, removes), (1, 100, 1, 1));
    // Eligibility: one membership check per login about to be added.
    assert_eq!(membership, 50);
    assert_eq!(stats.total_requests(), 153);

    // Converged: the next reconcile only reads. The 50 cancelled seats stay
    // listed (pending) until the billing cycle ends: 10,050 seats, 101 pages.
    let before = api.stats().total_requests();
    let writes_before = writes(&sim);
    let again = reconcile(&api, &file, &apply()).await.unwrap();
    assert_eq!(again.status, Status::InSync);
    assert_eq!(api.stats().total_requests() - before, 1 + 101);
    assert_eq!(
        writes(&sim),
        writes_before,
        "a zero-drift reconcile sends no write"
    );
}

/// Issue 18 item 5: a page that keeps failing leaves the listing unproven:
/// adds only (idempotent), every removal held, none written.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_keeps_failing_means_adds_only() {
    let sim = start(generated_state_with(
        "acme",
        &GenSpec {
            seats: 350,
            extra_members: 5,
            ..GenSpec::default()
        },
    ))
    .await;
    sim.faults().script(ScriptedFault {
        route: "GET /orgs/{org}/copilot/billing/seats".into(),
        nth: 3,
        times: 100,
        action: FaultAction::status(502),
    });
    let api = client(&sim).await;
    let out = reconcile(&api, &loaded(&generated_file(350, 10, 5)), &apply())
        .await
        .unwrap();
    let held = out.plan.partial.as_ref().expect("an incomplete listing");
    assert!(held.reason.contains("502"), "{}", held.reason);
    // The 10 dropped logins are on page 1, which was read: planned, held.
    assert_eq!(held.held_removals.len(), 10);
    assert!(
        sim.requests().iter().all(|r| r.method != "DELETE"),
        "no removal may be written"
    );
    for i in (0..10).chain(350..355) {
        let login = generated_login(i);
        assert!(
            sim.peek(|s| s.seat(&login).is_some_and(|x| x.is_active())),
            "{login} holds no seat"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guarded_plan_writes_nothing() {
    let sim = start(demo_state()).await;
    let api = client(&sim).await;
    let file = loaded("org: acme\npolicy:\n  max_removals: 2\nusers: [alice]\n");
    let out = reconcile(&api, &file, &apply()).await.unwrap();
    assert_eq!(out.status, Status::Guarded);
    assert!(out.results.is_empty());
    assert_eq!(writes(&sim), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_team_is_an_error_at_its_line_and_writes_nothing() {
    let sim = start(demo_state()).await;
    let api = client(&sim).await;
    let file = loaded("org: acme\nteams:\n  - data-science\n  - no-such-team\nusers: [alice]\n");
    let err = reconcile(&api, &file, &apply()).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("seats.yaml:4:5: team `no-such-team` does not exist in acme"),
        "{err}"
    );
    assert_eq!(writes(&sim), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_add_holds_back_every_removal() {
    let sim = start(demo_state()).await;
    // Every user add fails (after retries); removals must then wait.
    sim.faults().script(ScriptedFault {
        route: "POST /orgs/{org}/copilot/billing/selected_users".into(),
        nth: 1,
        times: 100,
        action: FaultAction::status(500),
    });
    let api = client(&sim).await;
    let file = loaded("org: acme\npolicy:\n  max_removals: \"100%\"\nusers: [alice, bob, lena]\n");
    let out = reconcile(
        &api,
        &file,
        &Options {
            check_eligibility: false,
            ..apply()
        },
    )
    .await
    .unwrap();
    assert_eq!(out.status, Status::PartiallyApplied);
    assert!(
        out.results
            .iter()
            .any(|r| r.name == "lena" && r.result == "failed")
    );
    let removals: Vec<_> = out
        .results
        .iter()
        .filter(|r| r.action.is_removal())
        .collect();
    assert!(!removals.is_empty());
    assert!(
        removals.iter().all(|r| r.result == "skipped"),
        "{removals:?}"
    );
    assert!(sim.requests().iter().all(|r| r.method != "DELETE"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_between_batches_leaves_the_rest_unapplied() {
    let sim = start(generated_state_with(
        "acme",
        &GenSpec {
            seats: 10,
            extra_members: 30,
            ..GenSpec::default()
        },
    ))
    .await;
    let api = client(&sim).await;
    let stop = Arc::new(AtomicBool::new(false));
    // Slow writes so the stop lands while the first batch is in flight.
    sim.faults().script(ScriptedFault {
        route: "POST /orgs/{org}/copilot/billing/selected_users".into(),
        nth: 1,
        times: 1,
        action: FaultAction::Latency(Duration::from_millis(300)),
    });
    let flag = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        flag.store(true, Ordering::SeqCst);
    });
    let opts = Options {
        batch_size: 10,
        check_eligibility: false,
        stop: Some(stop),
        ..apply()
    };
    let out = reconcile(&api, &loaded(&generated_file(10, 0, 30)), &opts)
        .await
        .unwrap();
    assert_eq!(out.status, Status::Stopped);
    let ok = out.results.iter().filter(|r| r.result == "ok").count();
    let skipped = out.results.iter().filter(|r| r.result == "skipped").count();
    // The batch in flight finished; the other two were not sent.
    assert_eq!((ok, skipped), (10, 20));
    assert_eq!(writes(&sim), 1);
}
