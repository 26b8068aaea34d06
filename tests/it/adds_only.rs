//! Issue 18 item 5: a seat listing that cannot be proven whole applies adds
//! only. Every removal and the seat cap are held, and the plan, the text and
//! JSON output, and the metrics say which check failed.
//!
//! The listing is made incomplete in the simulator with small pages
//! (`per_page` 2) and either page 2 answering 500 every time (a page that
//! keeps failing) or a seat removed after every page read (a listing that
//! keeps shifting past the client's re-reads).

use std::sync::Arc;

use chrono::Utc;
use seatkeeper::github::client::GitHubClient;
use seatkeeper::reconcile::{Mode, Options, Outcome, Status, reconcile};
use seatkeeper::simulator::{FaultAction, ScriptedFault, SimOptions, SimState, Simulator, routes};

use crate::support::loaded;

/// alice..erin hold seats (in that order on the pages); seats.yaml keeps
/// alice and erin, drops bob, carol and dave, and adds frank.
pub fn state() -> SimState {
    let mut st = SimState::new("acme");
    st.members = ["alice", "bob", "carol", "dave", "erin", "frank"]
        .map(String::from)
        .to_vec();
    for u in ["alice", "bob", "carol", "dave", "erin"] {
        st.selected_users.insert(u.into());
    }
    st.normalize(Utc::now());
    st
}

const FILE: &str = "org: acme\npolicy:\n  max_removals: 100%\nusers: [alice, erin, frank]\n";

/// A client reading pages of two entries, retrying at once.
async fn small_pages(sim: &Simulator) -> GitHubClient {
    let mut config = seatkeeper::github::args::GitHubArgs::for_url(&sim.url())
        .config(Some(sim.token()))
        .unwrap();
    let instant: seatkeeper::github::client::RetrySleep = Arc::new(|_| Box::pin(async {}));
    config.retry_sleep = Some(instant);
    config.throttle.points_per_window = None;
    config.per_page = 2;
    GitHubClient::new(config).await.unwrap()
}

/// How the listing is kept from being proven whole.
#[derive(Clone, Copy, Debug)]
pub enum Break {
    /// Page 2 answers 500 every time.
    FailingPage,
    /// A seat is removed after every page served.
    Shifting,
}

fn break_listing(sim: &Simulator, how: Break) {
    let (nth, action) = match how {
        Break::FailingPage => (2, FaultAction::status(500)),
        // bob's seat goes after page 1: total_seats moves on every read.
        Break::Shifting => (1, FaultAction::RemoveSeatAfter(None)),
    };
    sim.faults().script(ScriptedFault {
        route: routes::ORG_SEATS.to_string(),
        nth,
        times: 10_000,
        action,
    });
}

/// Reconcile `file` against `state` with the listing broken `how`.
pub async fn run(state: SimState, file: &str, how: Break, mode: Mode) -> (Outcome, Simulator) {
    let sim = Simulator::start(state, SimOptions::default())
        .await
        .unwrap();
    break_listing(&sim, how);
    let api = small_pages(&sim).await;
    let opts = Options {
        mode,
        ..Options::default()
    };
    let out = reconcile(&api, &loaded(file), &opts).await.unwrap();
    (out, sim)
}

fn held(sim: &Simulator, login: &str) -> bool {
    sim.peek(|s| s.seat(login).is_some_and(|x| x.is_active()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_keeps_failing_applies_adds_only() {
    let (out, sim) = run(state(), FILE, Break::FailingPage, Mode::Apply).await;
    let p = out.plan.partial.as_ref().expect("an incomplete listing");
    assert!(p.reason.contains("page 2 failed"), "{}", p.reason);
    // Page 1 held alice and bob: bob's removal is planned, and held.
    let held_removals: Vec<&str> = p.held_removals.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(held_removals, ["bob"]);
    // erin sits on a page not read: her add goes out too (idempotent).
    let adds: Vec<&str> = out.plan.changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(adds, ["erin", "frank"]);
    assert!(out.plan.changes.iter().all(|c| !c.action.is_removal()));
    assert_eq!(out.status, Status::Applied);
    assert_eq!(out.metric_result(), "guarded", "held removals are not done");
    // Nothing was removed; frank got a seat; erin's re-add kept hers.
    for login in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        assert!(held(&sim, login), "{login} holds no seat");
    }
    let deletes = sim
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 0, "no removal may be written");

    let text = seatkeeper::render::text(&out.plan, false);
    assert!(
        text.contains(
            "Held, not applied: the seat listing could not be proven whole (page 2 failed"
        ),
        "{text}"
    );
    assert!(
        text.contains("every removal held (1 removal seen"),
        "{text}"
    );
    assert!(text.contains("the removal cap unchecked"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&seatkeeper::render::json(&out.plan)).unwrap();
    assert_eq!(
        v["incomplete_listing"]["held_checks"],
        serde_json::json!(["removals", "max_removals"])
    );
    assert_eq!(v["incomplete_listing"]["held_removals"][0]["name"], "bob");
    let md = seatkeeper::render::markdown(&out.plan);
    assert!(md.contains("**Adds only:** the seat listing"), "{md}");

    // The metric says so, and counts the held removal as drift.
    let m = seatkeeper::metrics::Metrics::new(Arc::new(Default::default));
    m.observe_outcome("acme", &out);
    let text = m.encode();
    assert!(
        text.contains("seatkeeper_listing_incomplete{org=\"acme\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("seatkeeper_drift{org=\"acme\",action=\"remove\"} 1"),
        "{text}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_that_keeps_shifting_applies_adds_only() {
    // Enough holders that the fault's removals (one per page served) do not
    // empty the listing before the re-reads run out.
    let mut st = state();
    for i in 0..40 {
        let login = format!("holder{i:02}");
        st.members.push(login.clone());
        st.selected_users.insert(login);
    }
    st.normalize(Utc::now());
    let (out, sim) = run(st, FILE, Break::Shifting, Mode::Apply).await;
    let p = out.plan.partial.as_ref().expect("an incomplete listing");
    assert!(p.reason.contains("(read 4 times)"), "{}", p.reason);
    assert!(out.plan.changes.iter().all(|c| !c.action.is_removal()));
    assert!(
        out.plan.changes.iter().any(|c| c.name == "frank"),
        "{:?}",
        out.plan.changes
    );
    assert!(held(&sim, "frank"));
    // Only the fault removed seats (one per page served): seatkeeper sent no DELETE.
    assert!(sim.requests().iter().all(|r| r.method != "DELETE"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seat_cap_that_cannot_be_checked_holds_the_adds_too() {
    let file = "org: acme\npolicy:\n  max_seats: 50\nusers: [alice, erin, frank]\n";
    let (out, sim) = run(state(), file, Break::FailingPage, Mode::Apply).await;
    let p = out.plan.partial.as_ref().expect("an incomplete listing");
    assert!(out.plan.changes.is_empty(), "{:?}", out.plan.changes);
    assert_eq!(p.max_seats, Some(50));
    let held_adds: Vec<&str> = p.held_adds.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(held_adds, ["erin", "frank"]);
    assert_eq!(out.status, Status::Guarded, "held, never \"in sync\"");
    assert!(!held(&sim, "frank"));
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "nothing may be written"
    );
    let text = seatkeeper::render::text(&out.plan, false);
    assert!(
        text.contains("the seat cap (50, max_seats) cannot be checked, so the 2 adds are held too: nothing is written"),
        "{text}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn page_one_failing_writes_nothing() {
    // Without page 1 nothing is known of the listing: an error, as before.
    let sim = Simulator::start(state(), SimOptions::default())
        .await
        .unwrap();
    sim.faults().script(ScriptedFault {
        route: routes::ORG_SEATS.to_string(),
        nth: 1,
        times: 10_000,
        action: FaultAction::status(500),
    });
    let api = small_pages(&sim).await;
    let opts = Options {
        mode: Mode::Apply,
        ..Options::default()
    };
    let err = reconcile(&api, &loaded(FILE), &opts).await.unwrap_err();
    assert!(err.to_string().contains("incomplete seat listing"), "{err}");
    assert!(sim.requests().iter().all(|r| r.method == "GET"));
    sim.shutdown().await;
}
