//! Fault coverage, not just survival: the real client and reconcile against
//! the simulator, one fault kind at a time, asserting that each kind
//! actually reached the client a known number of times (from the
//! simulator's injected-fault record and the client's own counters) and
//! what the client did about it:
//!
//! - 5xx, timeouts and dropped connections: retried, counted (status 0 for
//!   no response), and the reconcile still converges;
//! - 403 and 429 with `retry-after`: the wait is exactly the seconds given
//!   (a recording [`RetrySleep`]);
//! - 422 naming a login: the batch is split, the other logins of that batch
//!   are applied in the same reconcile, the rejected one is reported;
//! - a listing that changes while it is paged: the reconcile writes nothing.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;

use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, RetrySleep, ThrottleConfig};
use seatkeeper::reconcile::{Mode, Options, Outcome, Status, reconcile};
use seatkeeper::simulator::{
    FaultAction, ScriptedFault, SimOptions, Simulator, generated_login, generated_state, routes,
};
use seatkeeper::source::Loaded;

const TOKEN: &str = "fault-coverage-token";
/// How many times each fault kind must reach the client.
const N: usize = 6;
/// The client gives up on an attempt after this (the timeout faults wait longer).
const REQUEST_TIMEOUT: Duration = Duration::from_millis(300);

struct Harness {
    sim: Simulator,
    client: GitHubClient,
    waits: Arc<Mutex<Vec<Duration>>>,
}

/// An org with `seats` direct seats (user000000..) and `extra` members
/// without one, and a client whose retry waits are recorded, not slept.
async fn harness(seats: usize, extra: usize) -> Harness {
    let opts = SimOptions {
        token: TOKEN.to_string(),
        ..SimOptions::default()
    };
    let sim = Simulator::start(generated_state("acme", seats, extra), opts)
        .await
        .unwrap();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let record = waits.clone();
    let sleep: RetrySleep = Arc::new(move |d| {
        record.lock().unwrap().push(d);
        Box::pin(async {})
    });
    let mut c = ClientConfig::new(Auth::Token(SecretString::from(TOKEN))).with_base_url(sim.url());
    c.page_concurrency = 1;
    c.batch_size = 10;
    c.request_timeout = REQUEST_TIMEOUT;
    c.throttle = ThrottleConfig::unlimited();
    c.retry_sleep = Some(sleep);
    let client = GitHubClient::new(c).await.unwrap();
    Harness { sim, client, waits }
}

/// seats.yaml for acme listing users `range`.
fn seats_yaml(users: impl Iterator<Item = usize>) -> Loaded {
    let mut y = String::from("org: acme\npolicy:\n  max_removals: 100%\nusers:\n");
    for i in users {
        y.push_str(&format!("  - {}\n", generated_login(i)));
    }
    Loaded::parse("seats.yaml", y.as_bytes(), None).unwrap()
}

fn apply() -> Options {
    Options {
        mode: Mode::Apply,
        batch_size: 10,
        concurrency: 1,
        ..Options::default()
    }
}

fn held(sim: &Simulator) -> BTreeSet<String> {
    sim.state()
        .seats
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.login.clone())
        .collect()
}

fn logins(range: impl Iterator<Item = usize>) -> BTreeSet<String> {
    range.map(generated_login).collect()
}

/// Every other request matching `route` (the 1st, 3rd, ...) gets `action`,
/// `n` times in all: each failure is followed by a request that succeeds.
fn every_other(sim: &Simulator, route: &str, action: &FaultAction, n: usize) {
    for i in 0..n {
        sim.faults().script(ScriptedFault {
            route: route.to_string(),
            nth: 2 * i as u64 + 1,
            times: 1,
            action: action.clone(),
        });
    }
}

/// Reconcile until `done` (at most `rounds` times); every reconcile must succeed.
async fn reconcile_until(
    h: &Harness,
    source: &Loaded,
    rounds: usize,
    done: impl Fn() -> bool,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for _ in 0..rounds {
        let o = reconcile(&h.client, source, &apply())
            .await
            .unwrap_or_else(|e| panic!("reconcile failed: {e}"));
        outcomes.push(o);
        if done() {
            break;
        }
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_reach_the_client_and_are_retried() {
    // (kind, the fault, `what` in the simulator's record, the status the
    // client counts the faulted attempt under)
    let cases: Vec<(&str, FaultAction, &str, u16)> = vec![
        ("5xx", FaultAction::status(502), "status 502", 502),
        ("503", FaultAction::status(503), "status 503", 503),
        (
            "timeout",
            FaultAction::Latency(REQUEST_TIMEOUT * 4),
            "latency",
            0,
        ),
        (
            "dropped connection",
            FaultAction::Drop,
            "drop connection",
            0,
        ),
    ];
    for (kind, action, what, client_status) in cases {
        // 150 seats: two pages; 30 members to add: three batches.
        let h = harness(150, 30).await;
        every_other(&h.sim, "*", &action, N);
        let source = seats_yaml(0..180);
        let want = logins(0..180);
        let outcomes = reconcile_until(&h, &source, 3, || held(&h.sim) == want).await;
        assert_eq!(held(&h.sim), want, "{kind}: did not converge");
        assert_eq!(outcomes[0].status, Status::Applied, "{kind}");

        let injected: Vec<_> = h
            .sim
            .faults()
            .injected()
            .into_iter()
            .filter(|f| f.what.starts_with(what))
            .collect();
        assert_eq!(injected.len(), N, "{kind}: injected {injected:?}");
        let stats = h.client.stats();
        let counted: u64 = stats
            .requests
            .iter()
            .filter(|((_, _, status), _)| *status == client_status)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            counted, N as u64,
            "{kind}: the client counted {counted} attempts with status {client_status}: {:?}",
            stats.requests
        );
        assert!(
            stats.retries >= N as u64,
            "{kind}: {} retries",
            stats.retries
        );
        assert_eq!(stats.rate_limit_waits, 0, "{kind}");
        // Faults landed on reads and on writes alike.
        let routes_hit: BTreeSet<&str> = injected.iter().map(|f| f.route.as_str()).collect();
        assert!(routes_hit.len() >= 2, "{kind}: only {routes_hit:?}");
        h.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_after_403_and_429_is_exactly_retry_after() {
    let cases: &[(u16, u64)] = &[(403, 1), (403, 17), (429, 3), (429, 59), (403, 0)];
    for &(status, secs) in cases {
        let h = harness(150, 30).await;
        every_other(
            &h.sim,
            "*",
            &FaultAction::status_with_retry_after(status, secs),
            N,
        );
        let source = seats_yaml(0..180);
        let want = logins(0..180);
        reconcile_until(&h, &source, 3, || held(&h.sim) == want).await;
        assert_eq!(held(&h.sim), want, "{status} retry-after {secs}");
        let fired = h
            .sim
            .faults()
            .injected()
            .into_iter()
            .filter(|f| f.what == format!("status {status}"))
            .count();
        assert_eq!(fired, N, "{status}");
        let waits = h.waits.lock().unwrap().clone();
        assert_eq!(
            waits,
            vec![Duration::from_secs(secs); N],
            "{status} retry-after {secs}: the waits asked for"
        );
        let stats = h.client.stats();
        assert_eq!(stats.rate_limit_waits, N as u64);
        assert_eq!(stats.retry_wait, Duration::from_secs(secs * N as u64));
        let counted: u64 = stats
            .requests
            .iter()
            .filter(|((_, _, s), _)| *s == status)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(counted, N as u64);
        h.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_batched_with_a_rejected_one_are_applied_in_the_same_round() {
    // 60 members to add in batches of 10; N of them refused by GitHub, one
    // in each of the first N batches, at different positions.
    let h = harness(20, 60).await;
    let rejected: Vec<String> = (0..N)
        .map(|b| generated_login(20 + b * 10 + b % 10))
        .collect();
    h.sim.faults().reject_logins(&rejected);
    let source = seats_yaml(0..80);
    let outcome = reconcile(&h.client, &source, &apply()).await.unwrap();

    // One reconcile: everyone else holds a seat, the refused ones do not.
    let want: BTreeSet<String> = logins(0..80)
        .into_iter()
        .filter(|l| !rejected.contains(l))
        .collect();
    assert_eq!(held(&h.sim), want);
    assert_eq!(outcome.status, Status::PartiallyApplied);
    let failed: BTreeSet<&str> = outcome.failed().map(|r| r.name.as_str()).collect();
    let expect: BTreeSet<&str> = rejected.iter().map(String::as_str).collect();
    assert_eq!(failed, expect);
    let ok = outcome.results.iter().filter(|r| r.result == "ok").count();
    assert_eq!(ok, 60 - N);
    for r in outcome.failed() {
        let msg = r.message.as_deref().unwrap_or("");
        assert!(msg.contains("422") || msg.contains(&r.name), "{r:?}");
    }

    // Each rejection reached the client, and each first came in a batch
    // with nine logins that were then applied.
    let refusals: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.route == routes::ORG_SELECTED_USERS && r.status == 422)
        .collect();
    assert!(refusals.len() >= N, "{} refusals", refusals.len());
    for bad in &rejected {
        let first = refusals
            .iter()
            .find(|r| {
                r.body.as_ref().is_some_and(|b| {
                    b["selected_usernames"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v == bad.as_str()))
                })
            })
            .unwrap_or_else(|| panic!("no 422 names {bad}"));
        let batch = first.body.as_ref().unwrap()["selected_usernames"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(batch, 10, "{bad} was first sent in a full batch");
    }
    let stats = h.client.stats();
    assert_eq!(
        stats.requests_to("POST", routes::ORG_SELECTED_USERS),
        h.sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.route == routes::ORG_SELECTED_USERS)
            .count() as u64
    );
    let client_422: u64 = stats
        .requests
        .iter()
        .filter(|((_, _, s), _)| *s == 422)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(client_422, refusals.len() as u64);

    // The next reconcile tries only the refused ones again.
    h.sim.clear_requests();
    let again = reconcile(&h.client, &source, &apply()).await.unwrap();
    let tried: BTreeSet<&str> = again.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(tried, expect);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_changes_while_paged_is_read_again_or_writes_nothing() {
    let h = harness(150, 30).await;
    let source = seats_yaml(0..180);
    for round in 0..N {
        // A seat appears right after page 1 is served: page 2 disagrees on
        // total_seats. Once: the listing is read again at once, whole.
        h.sim.faults().script(ScriptedFault {
            route: format!("GET {}", routes::ORG_SEATS),
            nth: 1,
            times: 1,
            action: FaultAction::InsertSeatAfter(format!("intruder{round}")),
        });
        h.sim.clear_requests();
        reconcile(&h.client, &source, &apply())
            .await
            .expect("the re-read listing is whole");
        let first_pages = h
            .sim
            .requests()
            .iter()
            .filter(|r| {
                r.route == routes::ORG_SEATS
                    && r.query
                        .as_deref()
                        .is_some_and(|q| q.split('&').any(|kv| kv == "page=1"))
            })
            .count();
        assert_eq!(
            first_pages, 2,
            "round {round}: the changed listing was not read again"
        );
    }
    let fired = h
        .sim
        .faults()
        .injected()
        .into_iter()
        .filter(|f| f.what.starts_with("insert seat"))
        .count();
    assert_eq!(fired, N);
    // A listing that changes on every read: incomplete after three
    // re-reads; adds only (issue 18 item 5), no removal written.
    h.sim.faults().script(ScriptedFault {
        route: format!("GET {}", routes::ORG_SEATS),
        nth: 1,
        times: 1_000,
        action: FaultAction::RemoveSeatAfter(None),
    });
    h.sim.clear_requests();
    let out = reconcile(&h.client, &source, &apply())
        .await
        .expect("a listing that keeps changing: adds only");
    let hold = out.plan.partial.as_ref().expect("held: not proven whole");
    assert!(hold.reason.contains("read 4 times"), "{}", hold.reason);
    let adds: std::collections::BTreeSet<String> = out
        .plan
        .changes
        .iter()
        .map(|c| c.name.to_ascii_lowercase())
        .collect();
    for r in h.sim.requests() {
        assert!(
            r.method != "DELETE",
            "removed after a listing that kept changing: {} {:?}",
            r.path,
            r.body
        );
        if r.method == "POST" {
            let names = r.body.as_ref().unwrap()["selected_usernames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_ascii_lowercase())
                .collect::<Vec<_>>();
            assert!(
                names.iter().all(|n| adds.contains(n)),
                "{names:?} not planned"
            );
        }
    }
    h.sim.faults().clear();
    // Without the fault it converges.
    let want = logins(0..180);
    reconcile_until(&h, &source, 2, || held(&h.sim) == want).await;
    assert_eq!(held(&h.sim), want);
}
