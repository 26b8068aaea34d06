//! The octocrab client over real HTTP against the simulator: pagination,
//! batching and bisection, retries and rate limits, error messages, App auth,
//! enterprise scope, and secrets kept out of every message.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, RetrySleep, ThrottleConfig};
use seatkeeper::github::{GitHubError, Membership, Scope, SeatApi};
use seatkeeper::plan::{Grant, SeatManagementSetting, TeamRef};
use seatkeeper::simulator::{
    FaultAction, ScriptedFault, SecondaryLimit, SimApp, SimOptions, SimState, SimTeam, Simulator,
    demo_state, generated_login, generated_state, routes,
};
use secrecy::SecretString;

const SEATS: &str = "/orgs/{org}/copilot/billing/seats";
const BILLING: &str = "/orgs/{org}/copilot/billing";
const SELECTED_USERS: &str = "/orgs/{org}/copilot/billing/selected_users";

async fn start(state: SimState) -> Simulator {
    start_with(state, SimOptions::default()).await
}

async fn start_with(state: SimState, opts: SimOptions) -> Simulator {
    Simulator::start(state, opts)
        .await
        .expect("start simulator")
}

/// A config against the simulator: fast backoff, no point budget.
fn config(sim: &Simulator) -> ClientConfig {
    let mut c =
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url());
    c.backoff_base = Duration::from_millis(1);
    c.backoff_max = Duration::from_millis(5);
    c.throttle = ThrottleConfig::unlimited();
    c
}

async fn client(config: ClientConfig) -> GitHubClient {
    GitHubClient::new(config).await.expect("build client")
}

fn org() -> Scope {
    Scope::Org("acme".to_string())
}

/// A retry sleep that records the waits asked for and returns at once.
fn recording_sleep() -> (RetrySleep, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&waits);
    let sleep: RetrySleep = Arc::new(move |d| {
        w.lock().unwrap().push(d);
        Box::pin(async {})
    });
    (sleep, waits)
}

fn requests_to(
    sim: &Simulator,
    method: &str,
    route: &str,
) -> Vec<seatkeeper::simulator::RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == method && r.route == route)
        .collect()
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

// ---------------------------------------------------------------------------
// Listing

#[tokio::test]
async fn lists_every_seat_exactly_with_the_expected_request_count() {
    for n in [0usize, 1, 50, 100, 101, 10_000] {
        let sim = start(generated_state("acme", n, 0)).await;
        let gh = client(config(&sim)).await;
        let live = gh
            .list_seats(&org())
            .await
            .unwrap_or_else(|e| panic!("{n}: {e}"));

        let got: BTreeSet<String> = live.users.iter().map(|s| s.login.clone()).collect();
        let want: BTreeSet<String> = (0..n).map(generated_login).collect();
        assert_eq!(live.users.len(), n, "{n} seats");
        assert_eq!(got, want, "{n} seats");
        assert_eq!(
            live.seat_management_setting,
            Some(SeatManagementSetting::AssignSelected)
        );

        // One billing call, then ceil(n/100) pages (at least one).
        let pages = n.div_ceil(100).max(1);
        let seat_requests = requests_to(&sim, "GET", routes::ORG_SEATS);
        assert_eq!(seat_requests.len(), pages, "{n} seats: pages fetched");
        assert_eq!(requests_to(&sim, "GET", routes::ORG_BILLING).len(), 1);
        assert_eq!(sim.requests().len(), 1 + pages, "{n} seats: total requests");

        // per_page=100 on every page (GitHub's default of 50 is the trap),
        // and every page exactly once.
        let mut seen = BTreeSet::new();
        for r in &seat_requests {
            let q = r.query.as_deref().unwrap_or("");
            assert_eq!(query_param(q, "per_page"), Some("100"), "{q}");
            let page: usize = query_param(q, "page").unwrap().parse().unwrap();
            assert!(seen.insert(page), "page {page} fetched twice");
        }
        assert_eq!(seen, (1..=pages).collect());

        // Our own counters agree, under route templates.
        let stats = gh.stats();
        assert_eq!(stats.requests_to("GET", SEATS), pages as u64);
        assert_eq!(stats.requests_to("GET", BILLING), 1);
        assert_eq!(stats.total_requests(), 1 + pages as u64);
        assert!(stats.rate_limit_remaining.is_some());
        assert!(
            stats
                .requests
                .keys()
                .all(|(_, route, _)| !route.contains("acme")),
            "{:?}",
            stats.requests
        );
        if n == 10_000 {
            println!(
                "10,000 seats: {} requests ({pages} pages + billing)",
                sim.requests().len()
            );
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn every_request_carries_the_api_version_and_media_type() {
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    gh.list_seats(&org()).await.unwrap();
    gh.add_users(&org(), &["lena".to_string()]).await.unwrap();
    gh.membership("acme", "alice").await.unwrap();
    let reqs = sim.requests();
    assert!(reqs.len() >= 4);
    for r in reqs {
        assert_eq!(
            r.header("x-github-api-version"),
            Some("2022-11-28"),
            "{}",
            r.path
        );
        assert_eq!(
            r.header("accept"),
            Some("application/vnd.github+json"),
            "{}",
            r.path
        );
        assert!(r.header("authorization").is_some());
    }
}

#[tokio::test]
async fn page_fetches_are_bounded_by_the_configured_concurrency() {
    let opts = SimOptions {
        latency: Duration::from_millis(40),
        ..SimOptions::default()
    };
    let sim = start_with(generated_state("acme", 2_000, 0), opts).await;

    let mut c = config(&sim);
    c.page_concurrency = 3;
    let gh = client(c).await;
    assert_eq!(gh.list_seats(&org()).await.unwrap().users.len(), 2_000);
    assert_eq!(sim.max_in_flight(), 3, "19 pages after page 1, 3 at a time");
    assert_eq!(gh.stats().peak_in_flight, 3);

    // The throttle's own cap wins when it is lower.
    sim.reset_max_in_flight();
    let mut c = config(&sim);
    c.page_concurrency = 8;
    c.throttle.max_concurrent = 2;
    let gh = client(c).await;
    assert_eq!(gh.list_seats(&org()).await.unwrap().users.len(), 2_000);
    assert_eq!(sim.max_in_flight(), 2);
}

#[tokio::test]
async fn a_page_that_keeps_failing_means_an_incomplete_listing() {
    let sim = start(generated_state("acme", 350, 0)).await;
    let mut c = config(&sim);
    c.page_concurrency = 1; // page 2's attempts are the 2nd..5th seat requests
    let gh = client(c).await;
    sim.faults().script(ScriptedFault {
        route: routes::ORG_SEATS.to_string(),
        nth: 2,
        times: 4,
        action: FaultAction::status(502),
    });
    let err = gh.list_seats(&org()).await.unwrap_err();
    assert!(
        matches!(err, GitHubError::IncompleteListing { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("incomplete seat listing"), "{text}");
    assert!(text.contains("page 2") && text.contains("502"), "{text}");
    // It carries page 1, folded: what adds only may be planned from.
    let GitHubError::IncompleteListing {
        partial: Some(pages),
        ..
    } = &err
    else {
        panic!("no pages: {err:?}")
    };
    assert_eq!(pages.users.len(), 100);
    // 4 attempts at page 2, then the listing stops: pages 3 and 4 are never asked for.
    assert_eq!(requests_to(&sim, "GET", routes::ORG_SEATS).len(), 5);
    assert_eq!(gh.stats().requests_to("GET", SEATS), 5);

    // Transient failures within the attempt budget are retried transparently.
    sim.faults().clear();
    sim.clear_requests();
    sim.faults().script(ScriptedFault {
        route: routes::ORG_SEATS.to_string(),
        nth: 3,
        times: 3,
        action: FaultAction::status(503),
    });
    let live = gh.list_seats(&org()).await.unwrap();
    assert_eq!(live.users.len(), 350);
    assert_eq!(requests_to(&sim, "GET", routes::ORG_SEATS).len(), 4 + 3);
}

#[tokio::test]
async fn dropped_connections_and_slow_answers_are_retried() {
    let sim = start(generated_state("acme", 250, 0)).await;
    let mut c = config(&sim);
    c.request_timeout = Duration::from_secs(1);
    let gh = client(c).await;
    sim.faults()
        .on_request(routes::ORG_SEATS, 1, FaultAction::Drop);
    sim.faults().on_request(
        routes::ORG_SEATS,
        3,
        FaultAction::Latency(Duration::from_secs(10)),
    );
    let live = gh.list_seats(&org()).await.unwrap();
    assert_eq!(live.users.len(), 250);
    let stats = gh.stats();
    // One dropped connection and one timeout: no response, counted as status 0.
    assert_eq!(
        stats
            .requests
            .get(&("GET".to_string(), SEATS.to_string(), 0)),
        Some(&2),
        "{:?}",
        stats.requests
    );
    assert_eq!(stats.retries, 2);
}

#[tokio::test]
async fn total_seats_changing_between_pages_means_an_incomplete_listing() {
    for action in [
        FaultAction::InsertSeatAfter("newcomer".to_string()),
        FaultAction::RemoveSeatAfter(None),
    ] {
        let sim = start(generated_state("acme", 150, 0)).await;
        let gh = client(config(&sim)).await;
        // Once: the shifted listing is read again at once and is whole.
        sim.faults()
            .on_request(routes::ORG_SEATS, 1, action.clone());
        let live = gh.list_seats(&org()).await.unwrap();
        assert_eq!(live.users.len(), sim.state().seats.len(), "{action:?}");
        // Seats removed on every page read: after three re-reads it is
        // incomplete, and says how often it was read.
        let action = FaultAction::RemoveSeatAfter(None);
        sim.faults().script(ScriptedFault {
            route: routes::ORG_SEATS.to_string(),
            nth: 1,
            times: 1_000,
            action: action.clone(),
        });
        let err = gh.list_seats(&org()).await.unwrap_err();
        let GitHubError::IncompleteListing {
            message, shifted, ..
        } = &err
        else {
            panic!("{action:?}: {err:?}");
        };
        assert!(*shifted);
        assert!(message.contains("total_seats changed"), "{message}");
        assert!(message.contains("(read 4 times)"), "{message}");
        sim.faults().clear();

        // Once the seats hold still, the listing is whole again.
        let live = gh.list_seats(&org()).await.unwrap();
        assert_eq!(live.users.len(), sim.state().seats.len());
        sim.shutdown().await;
    }
}

// ---------------------------------------------------------------------------
// Writes

#[tokio::test]
async fn three_bad_logins_among_250_are_dropped_by_name() {
    let sim = start(generated_state("acme", 0, 250)).await;
    let mut c = config(&sim);
    c.batch_size = 100;
    let gh = client(c).await;
    let logins: Vec<String> = (0..250).map(generated_login).collect();
    let bad_idx = [7usize, 120, 249];
    let bad: HashSet<usize> = bad_idx.into_iter().collect();
    sim.faults()
        .reject_logins(bad_idx.iter().map(|&i| generated_login(i)));

    let report = gh.add_users(&org(), &logins).await.unwrap();

    let failed: Vec<&str> = report.failed.iter().map(|(l, _)| l.as_str()).collect();
    let want_failed: Vec<String> = bad_idx.iter().map(|&i| generated_login(i)).collect();
    assert_eq!(failed, want_failed);
    for (login, message) in &report.failed {
        assert!(message.contains(login.as_str()), "{login}: {message}");
    }
    let want_applied: Vec<String> = (0..250)
        .filter(|i| !bad.contains(i))
        .map(generated_login)
        .collect();
    assert_eq!(report.applied, want_applied, "input order kept");
    assert_eq!(report.seats_changed, 247);

    let st = sim.state();
    assert_eq!(st.seats.len(), 247);
    assert!(st.seats.iter().all(|s| !want_failed.contains(&s.login)));

    // Requests: each refusal names its bad login, which is dropped and the
    // rest sent again: two requests per batch holding a bad login (batches
    // of 100, 100 and 50, one bad login each), never one per login. The
    // bisection this replaced cost 43 (github-observed: a 404 lists logins).
    let posts = requests_to(&sim, "POST", routes::ORG_SELECTED_USERS);
    assert_eq!(posts.len(), 6);
    assert_eq!(gh.stats().requests_to("POST", SELECTED_USERS), 6);
}

#[tokio::test]
async fn a_team_granted_seat_sent_to_delete_is_refused_per_login() {
    // The planner never sends one; if it did, the client must not lose the
    // rest of the batch.
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    let logins = ["jonas", "judy", "hiro"].map(String::from);
    let report = gh.remove_users(&org(), &logins).await.unwrap();
    assert_eq!(report.applied, ["jonas", "hiro"]);
    assert_eq!(report.failed.len(), 1);
    let (login, message) = &report.failed[0];
    assert_eq!(login, "judy");
    assert!(message.contains("through a team"), "{message}");
    assert_eq!(report.seats_changed, 2);

    let st = sim.state();
    let seat = |l: &str| st.seats.iter().find(|s| s.login == l).unwrap().clone();
    assert!(seat("jonas").pending_cancellation_date.is_some());
    assert!(seat("hiro").pending_cancellation_date.is_some());
    assert!(seat("judy").pending_cancellation_date.is_none());
    // The batch of 3 refused naming judy, then [jonas, hiro] ok.
    assert_eq!(
        requests_to(&sim, "DELETE", routes::ORG_SELECTED_USERS).len(),
        2
    );
}

#[tokio::test]
async fn a_pending_seat_is_restored_by_post() {
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    let before = gh.list_seats(&org()).await.unwrap();
    let kemal = before.users.iter().find(|s| s.login == "kemal").unwrap();
    assert!(!kemal.held());

    let report = gh.add_users(&org(), &["kemal".to_string()]).await.unwrap();
    assert_eq!(report.applied, ["kemal"]);
    assert_eq!(report.seats_changed, 1);

    let after = gh.list_seats(&org()).await.unwrap();
    let kemal = after.users.iter().find(|s| s.login == "kemal").unwrap();
    assert!(kemal.held());
    assert_eq!(after.users.len(), before.users.len());
}

#[tokio::test]
async fn retried_writes_change_nothing_twice() {
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    // The add is applied, then its answer is lost: the retry must count 0.
    let first = gh.add_users(&org(), &["lena".to_string()]).await.unwrap();
    assert_eq!(first.seats_changed, 1);
    let again = gh.add_users(&org(), &["lena".to_string()]).await.unwrap();
    assert_eq!(again.seats_changed, 0);
    assert_eq!(again.applied, ["lena"]);
    let gone = gh
        .remove_users(&org(), &["lena".to_string()])
        .await
        .unwrap();
    let gone_again = gh
        .remove_users(&org(), &["lena".to_string()])
        .await
        .unwrap();
    assert_eq!((gone.seats_changed, gone_again.seats_changed), (1, 0));
}

#[tokio::test]
async fn teams_are_written_with_selected_teams() {
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    let report = gh
        .add_teams(&org(), &["platform".to_string()])
        .await
        .unwrap();
    assert_eq!(report.applied, ["platform"]);
    // Sent by name ("List of team names"): the demo's team is "Platform".
    let post = requests_to(&sim, "POST", routes::ORG_SELECTED_TEAMS);
    assert_eq!(
        post[0].body.as_ref().unwrap()["selected_teams"],
        serde_json::json!(["Platform"])
    );
    let live = gh.list_seats(&org()).await.unwrap();
    assert!(live.users.iter().any(|s| {
        s.login == "ivan"
            && s.grants
                .iter()
                .any(|g| g.grant == Grant::Team(TeamRef::org("platform")))
    }));

    let report = gh
        .remove_teams(
            &org(),
            &["platform".to_string(), "no-such-team".to_string()],
        )
        .await
        .unwrap();
    assert_eq!(report.applied, ["platform"]);
    assert_eq!(report.failed[0].0, "no-such-team");
    assert!(
        report.failed[0].1.contains("no-such-team"),
        "{:?}",
        report.failed
    );

    // Nothing to write: no request.
    sim.clear_requests();
    let empty = gh.add_users(&org(), &[]).await.unwrap();
    assert_eq!(empty, Default::default());
    assert!(sim.requests().is_empty());
}

// ---------------------------------------------------------------------------
// Rate limits

#[tokio::test]
async fn retry_after_is_honoured() {
    for status in [403u16, 429] {
        let sim = start(generated_state("acme", 120, 0)).await;
        let (sleep, waits) = recording_sleep();
        let mut c = config(&sim);
        c.retry_sleep = Some(sleep);
        let gh = client(c).await;
        sim.faults().on_request(
            routes::ORG_SEATS,
            1,
            FaultAction::status_with_retry_after(status, 30),
        );
        let live = gh.list_seats(&org()).await.unwrap();
        assert_eq!(live.users.len(), 120);
        assert_eq!(
            *waits.lock().unwrap(),
            [Duration::from_secs(30)],
            "{status}"
        );
        let stats = gh.stats();
        assert_eq!((stats.retries, stats.rate_limit_waits), (1, 1));
        assert_eq!(stats.retry_wait, Duration::from_secs(30));
        assert_eq!(
            stats
                .requests
                .get(&("GET".to_string(), SEATS.to_string(), status)),
            Some(&1)
        );
    }
}

#[tokio::test]
async fn a_secondary_limit_without_retry_after_waits_a_minute() {
    let sim = start(demo_state()).await;
    let (sleep, waits) = recording_sleep();
    let mut c = config(&sim);
    c.retry_sleep = Some(sleep);
    let gh = client(c).await;
    sim.faults().on_request(
        routes::ORG_SELECTED_USERS,
        1,
        FaultAction::Status {
            status: 403,
            headers: vec![],
            message: Some("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.".into()),
        },
    );
    let report = gh.add_users(&org(), &["lena".to_string()]).await.unwrap();
    assert_eq!(report.applied, ["lena"]);
    assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(60)]);
}

#[tokio::test]
async fn a_spent_primary_limit_waits_for_its_reset_or_fails_clearly() {
    // Within the allowed wait: the client holds its requests until the reset
    // (the injected sleep plays the reset) and never hits a 403.
    let sim = Arc::new(start(generated_state("acme", 300, 0)).await);
    let waits = Arc::new(Mutex::new(Vec::new()));
    let (w, s) = (Arc::clone(&waits), Arc::clone(&sim));
    let sleep: RetrySleep = Arc::new(move |d| {
        w.lock().unwrap().push(d);
        s.set_rate_limit(5000, Duration::from_secs(3600));
        Box::pin(async {})
    });
    let mut c = config(&sim);
    c.retry_sleep = Some(sleep);
    c.page_concurrency = 1;
    let gh = client(c).await;
    sim.set_rate_limit(2, Duration::from_secs(20)); // billing and page 1, then spent
    let live = gh.list_seats(&org()).await.unwrap();
    assert_eq!(live.users.len(), 300);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        (Duration::from_secs(18)..=Duration::from_secs(22)).contains(&waits[0]),
        "{waits:?}"
    );
    assert!(
        sim.requests().iter().all(|r| r.status == 200),
        "no request was sent into the limit"
    );

    // Spent before the first request: the 403 announces the reset, the
    // client waits for it once and retries.
    let waits = Arc::new(Mutex::new(Vec::new()));
    let sim = Arc::new(start(generated_state("acme", 30, 0)).await);
    let (w, s) = (Arc::clone(&waits), Arc::clone(&sim));
    let sleep: RetrySleep = Arc::new(move |d| {
        w.lock().unwrap().push(d);
        s.set_rate_limit(5000, Duration::from_secs(3600));
        Box::pin(async {})
    });
    let mut c = config(&sim);
    c.retry_sleep = Some(sleep);
    let gh = client(c).await;
    sim.set_rate_limit(0, Duration::from_secs(40));
    assert_eq!(gh.list_seats(&org()).await.unwrap().users.len(), 30);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        (Duration::from_secs(38)..=Duration::from_secs(42)).contains(&waits[0]),
        "{waits:?}"
    );
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [403, 200, 200]);

    // Longer than allowed: a clear error, no waiting.
    let sim = start(generated_state("acme", 10, 0)).await;
    let (sleep, waits) = recording_sleep();
    let mut c = config(&sim);
    c.retry_sleep = Some(sleep);
    c.max_rate_limit_wait = Duration::from_secs(120);
    let gh = client(c).await;
    sim.set_rate_limit(0, Duration::from_secs(3000));
    let err = gh.list_seats(&org()).await.unwrap_err();
    let GitHubError::RateLimited {
        reset_in_secs,
        max_wait_secs,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!((2990..=3001).contains(reset_in_secs), "{reset_in_secs}");
    assert_eq!(*max_wait_secs, 120);
    assert!(err.to_string().contains("--max-rate-limit-wait"), "{err}");
    assert!(waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_throttle_stays_under_a_secondary_point_budget() {
    // The simulator refuses more than 10 points per 400 ms; the client
    // allows itself 10 per rolling 500 ms, so it never trips the limit.
    let opts = SimOptions {
        secondary: Some(SecondaryLimit {
            points_per_window: 10,
            window: Duration::from_millis(400),
            status: 403,
            max_concurrent: None,
        }),
        ..SimOptions::default()
    };
    let sim = start_with(demo_state(), opts).await;
    let mut c = config(&sim);
    c.throttle = ThrottleConfig {
        max_concurrent: 4,
        points_per_window: Some(10),
        window: Duration::from_millis(500),
        ..ThrottleConfig::default()
    };
    let gh = client(c).await;
    let started = std::time::Instant::now();
    let checks = (0..25).map(|_| gh.user_exists("alice"));
    for ok in futures::future::join_all(checks).await {
        assert!(ok.unwrap());
    }
    // 25 points at 10 per 500 ms: at least two full windows of waiting.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert!(sim.requests().iter().all(|r| r.status == 200));
    assert_eq!(gh.stats().rate_limit_waits, 0);
}

// ---------------------------------------------------------------------------
// Errors that say what to do

#[tokio::test]
async fn a_bad_token_is_a_clear_401_without_the_token() {
    let sim = start(demo_state()).await;
    let mut c = config(&sim);
    c.auth = Auth::Token(SecretString::from("ghp_WRONGtoken0123456789"));
    let gh = client(c.clone()).await;
    let err = gh.list_seats(&org()).await.unwrap_err();
    assert!(matches!(err, GitHubError::Unauthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("GITHUB_TOKEN") && text.contains("valid"),
        "{text}"
    );
    for shown in [
        text,
        format!("{err:?}"),
        format!("{gh:?}"),
        format!("{c:?}"),
    ] {
        assert!(!shown.contains("ghp_WRONGtoken"), "{shown}");
    }
    // A 401 is not retried.
    assert_eq!(sim.requests().len(), 1);
}

#[tokio::test]
async fn the_token_never_appears_in_debug_output() {
    let sim = start(demo_state()).await;
    let c = config(&sim);
    let gh = client(c.clone()).await;
    gh.list_seats(&org()).await.unwrap();
    let token = sim.token();
    assert!(!format!("{gh:?}").contains(&token));
    assert!(!format!("{c:?}").contains(&token));
    assert!(!format!("{:?}", c.auth).contains(&token));
}

#[tokio::test]
async fn a_403_names_the_scope_or_permission_to_grant() {
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    sim.faults().on_request(
        routes::ORG_BILLING,
        1,
        FaultAction::Status {
            status: 403,
            headers: vec![],
            message: Some("Resource not accessible by integration".into()),
        },
    );
    let err = gh.list_seats(&org()).await.unwrap_err();
    assert!(matches!(err, GitHubError::Forbidden { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("manage_billing:copilot"), "{text}");
    assert!(text.contains("GitHub Copilot Business"), "{text}");
    assert!(text.contains("/orgs/{org}/copilot/billing"), "{text}");
    assert_eq!(
        requests_to(&sim, "GET", routes::ORG_BILLING).len(),
        1,
        "a permission 403 is not retried"
    );
}

#[tokio::test]
async fn a_base_url_without_a_scheme_is_refused_up_front() {
    let c = ClientConfig::new(Auth::Token(SecretString::from("t"))).with_base_url("api.github.com");
    let err = GitHubClient::new(c).await.unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
}

#[tokio::test]
async fn a_404_says_to_check_the_org_and_its_plan() {
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    let err = gh
        .list_seats(&Scope::Org("no-such-org".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no-such-org"), "{text}");
    assert!(
        text.contains("Copilot Business or Enterprise plan"),
        "{text}"
    );
}

#[tokio::test]
async fn writes_without_assign_selected_stop_at_once_and_name_the_setting() {
    let mut state = generated_state("acme", 0, 300);
    state.seat_management_setting = SeatManagementSetting::AssignAll;
    let sim = start(state).await;
    let gh = client(config(&sim)).await;
    let logins: Vec<String> = (0..300).map(generated_login).collect();
    let err = gh.add_users(&org(), &logins).await.unwrap_err();
    let GitHubError::NotAssignSelected { setting, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(setting, "assign_all");
    let text = err.to_string();
    assert!(text.contains("Selected users and teams"), "{text}");
    assert!(text.contains("assign_selected"), "{text}");
    // No bisection, no further batches: one POST (and the billing lookup naming the setting).
    assert_eq!(
        requests_to(&sim, "POST", routes::ORG_SELECTED_USERS).len(),
        1
    );
    // The listing reports the setting too, for the reconciler's guard.
    let live = gh.list_seats(&org()).await.unwrap();
    assert_eq!(
        live.seat_management_setting,
        Some(SeatManagementSetting::AssignAll)
    );
}

// ---------------------------------------------------------------------------
// Membership, teams, users

#[tokio::test]
async fn membership_team_members_and_users() {
    let sim = start(demo_state()).await;
    let gh = client(config(&sim)).await;
    assert_eq!(
        gh.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(
        gh.membership("acme", "octocat").await.unwrap(),
        Membership::NotMember
    );
    assert!(gh.user_exists("octocat").await.unwrap());
    assert!(!gh.user_exists("nobody-by-that-name").await.unwrap());

    // Child teams' members are included; a missing team is None.
    let eng = gh
        .team_members(&org(), "engineering")
        .await
        .unwrap()
        .unwrap();
    for m in ["alice", "frank", "grace", "ivan"] {
        assert!(eng.iter().any(|l| l == m), "{m} in {eng:?}");
    }
    assert_eq!(gh.team_members(&org(), "no-such-team").await.unwrap(), None);
    for r in requests_to(&sim, "GET", routes::ORG_TEAM_MEMBERS) {
        assert_eq!(
            query_param(r.query.as_deref().unwrap(), "per_page"),
            Some("100")
        );
    }

    // A requester outside the org gets 302, which must not be followed.
    let opts = SimOptions {
        requester_is_member: false,
        ..SimOptions::default()
    };
    let outsider = start_with(demo_state(), opts).await;
    let gh = client(config(&outsider)).await;
    assert_eq!(
        gh.membership("acme", "alice").await.unwrap(),
        Membership::RequesterNotMember
    );
    assert_eq!(outsider.requests().len(), 1);
}

#[tokio::test]
async fn big_teams_are_read_page_by_page() {
    let mut state = generated_state("acme", 0, 250);
    let members: Vec<String> = (0..250).map(generated_login).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    state.teams.push(SimTeam::new("everyone", &refs));
    let sim = start(state).await;
    let gh = client(config(&sim)).await;
    let got = gh.team_members(&org(), "everyone").await.unwrap().unwrap();
    assert_eq!(got.len(), 250);
    assert_eq!(requests_to(&sim, "GET", routes::ORG_TEAM_MEMBERS).len(), 3);
}

// ---------------------------------------------------------------------------
// GitHub App auth

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/sim/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn with_app(mut state: SimState) -> SimState {
    state.app = Some(SimApp {
        app_id: 4242,
        client_id: None,
        slug: "seatkeeper".to_string(),
        installation_id: 777,
        public_key_pem: fixture("app-public-key.pem"),
    });
    state
}

fn app_auth(key: &str, installation_id: Option<u64>) -> Auth {
    Auth::App {
        app_id: 4242,
        private_key_pem: SecretString::from(fixture(key)),
        installation_id,
    }
}

#[tokio::test]
async fn app_auth_discovers_the_installation_and_uses_its_token() {
    let sim = start(with_app(demo_state())).await;
    let mut c = config(&sim);
    c.auth = app_auth("app-private-key.pem", None);
    let gh = client(c.clone()).await;

    let live = gh.list_seats(&org()).await.unwrap();
    assert_eq!(live.users.len(), sim.state().seats.len());
    gh.add_users(&org(), &["lena".to_string()]).await.unwrap();
    assert!(gh.user_exists("octocat").await.unwrap());

    // Installation found once, one token minted, then used for everything.
    assert_eq!(requests_to(&sim, "GET", routes::ORG_INSTALLATION).len(), 1);
    let tokens = requests_to(&sim, "POST", routes::APP_ACCESS_TOKENS);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].path, "/app/installations/777/access_tokens");
    assert!(
        sim.requests().iter().all(|r| r.status < 400),
        "{:?}",
        sim.requests()
    );
    assert!(!format!("{c:?}").contains("PRIVATE KEY"));
    assert!(!format!("{gh:?}").contains("PRIVATE KEY"));

    // A known installation id skips the discovery.
    sim.clear_requests();
    let mut c = config(&sim);
    c.auth = app_auth("app-private-key.pem", Some(777));
    let gh = client(c).await;
    gh.list_seats(&org()).await.unwrap();
    assert!(requests_to(&sim, "GET", routes::ORG_INSTALLATION).is_empty());
    assert_eq!(
        requests_to(&sim, "POST", routes::APP_ACCESS_TOKENS).len(),
        1
    );
}

#[tokio::test]
async fn app_installation_tokens_are_renewed_before_they_expire() {
    // Tokens that live 2 s: each is within the renewal margin when minted,
    // so every use mints a new one, and none is ever sent expired.
    let opts = SimOptions {
        token: "unused-static-token".to_string(),
        installation_token_ttl: Duration::from_secs(2),
        ..SimOptions::default()
    };
    let sim = Simulator::start(with_app(demo_state()), opts)
        .await
        .unwrap();
    for installation in [None, Some(777)] {
        sim.clear_requests();
        let mut c = config(&sim);
        c.auth = app_auth("app-private-key.pem", installation);
        let gh = client(c).await;
        for _ in 0..3 {
            gh.list_seats(&org()).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(2100)).await;
        gh.list_seats(&org()).await.unwrap();
        let tokens = requests_to(&sim, "POST", routes::APP_ACCESS_TOKENS);
        assert!(tokens.len() >= 4, "{} tokens for 4 listings", tokens.len());
        assert!(
            sim.requests().iter().all(|r| r.status < 400),
            "{:?}",
            sim.requests()
                .iter()
                .map(|r| (&r.route, r.status))
                .collect::<Vec<_>>()
        );
        // Discovery happens once; renewals reuse the installation id.
        let discovered = requests_to(&sim, "GET", routes::ORG_INSTALLATION).len();
        assert_eq!(discovered, usize::from(installation.is_none()));
        let stats = gh.stats();
        assert_eq!(
            stats.requests_to("POST", routes::APP_ACCESS_TOKENS),
            tokens.len() as u64,
            "token requests are counted like any other"
        );
    }
}

#[tokio::test]
async fn app_auth_with_the_wrong_key_says_so() {
    let sim = start(with_app(demo_state())).await;
    for installation in [None, Some(777)] {
        let mut c = config(&sim);
        c.auth = app_auth("other-private-key.pem", installation);
        let gh = client(c).await;
        let err = gh.list_seats(&org()).await.unwrap_err();
        assert!(matches!(err, GitHubError::Config(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("private key"), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }

    let mut c = config(&sim);
    c.auth = Auth::App {
        app_id: 4242,
        private_key_pem: SecretString::from("not a key"),
        installation_id: None,
    };
    let err = GitHubClient::new(c).await.unwrap_err();
    assert!(err.to_string().contains("PEM"), "{err}");
}

// ---------------------------------------------------------------------------
// Enterprise scope

#[tokio::test]
async fn enterprise_scope_uses_the_enterprise_routes() {
    let mut state = demo_state();
    state.enterprise = Some("bigcorp".to_string());
    state.enterprise_teams = vec![SimTeam::new("ent:data", &["alice", "lena", "mateo"])];
    let sim = start(state).await;
    let gh = client(config(&sim)).await;
    let ent = Scope::Enterprise("bigcorp".to_string());

    let report = gh.add_teams(&ent, &["ent:data".to_string()]).await.unwrap();
    assert_eq!(report.applied, ["ent:data"]);
    // By name: an enterprise team's name has no `ent:` (its slug does).
    let post = requests_to(&sim, "POST", routes::ENTERPRISE_SELECTED_TEAMS);
    assert_eq!(
        post[0].body.as_ref().unwrap()["selected_enterprise_teams"],
        serde_json::json!(["data"])
    );

    let report = gh.add_users(&ent, &["oskar".to_string()]).await.unwrap();
    assert_eq!(report.applied, ["oskar"]);
    let post = requests_to(&sim, "POST", routes::ENTERPRISE_SELECTED_USERS);
    assert_eq!(
        post[0].body.as_ref().unwrap()["selected_usernames"],
        serde_json::json!(["oskar"])
    );

    sim.clear_requests();
    let live = gh.list_seats(&ent).await.unwrap();
    // No billing route for enterprises: assign_selected, one page, nothing else.
    assert_eq!(
        live.seat_management_setting,
        Some(SeatManagementSetting::AssignSelected)
    );
    assert_eq!(sim.requests().len(), 1);
    assert_eq!(sim.requests()[0].route, routes::ENTERPRISE_SEATS);
    let lena = live.users.iter().find(|s| s.login == "lena").unwrap();
    assert_eq!(
        lena.grants.iter().map(|g| &g.grant).collect::<Vec<_>>(),
        vec![&Grant::Team(TeamRef::enterprise("data"))]
    );

    let members = gh.team_members(&ent, "ent:data").await.unwrap().unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(
        requests_to(&sim, "GET", routes::ENTERPRISE_TEAM_MEMBERSHIPS).len(),
        1
    );

    let report = gh
        .remove_teams(&ent, &["ent:data".to_string()])
        .await
        .unwrap();
    assert_eq!(report.applied, ["ent:data"]);
    let report = gh.remove_users(&ent, &["oskar".to_string()]).await.unwrap();
    assert_eq!(report.seats_changed, 1);
    assert_eq!(
        requests_to(&sim, "DELETE", routes::ENTERPRISE_SELECTED_USERS).len(),
        1
    );
}

/// A raw HTTP server that answers every request with a chunked 200 body
/// that never ends; returns its URL and the bytes it managed to send.
async fn endless_body_server() -> (String, Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 1 << 20];
                let frame = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk,
                    b"\r\n".to_vec(),
                ]
                .concat();
                // Bounded: 1 GiB, far past the client's limit.
                for _ in 0..1024 {
                    if sock.write_all(&frame).await.is_err() {
                        return;
                    }
                    counter.fetch_add(1 << 20, Ordering::Relaxed);
                }
            });
        }
    });
    (url, sent)
}

#[tokio::test]
async fn an_endless_response_body_is_cut_off_at_the_limit() {
    use seatkeeper::github::client::MAX_RESPONSE_BYTES;
    let (url, sent) = endless_body_server().await;
    let mut c = ClientConfig::new(Auth::Token(SecretString::from("t"))).with_base_url(&url);
    c.backoff_base = Duration::from_millis(1);
    c.throttle = ThrottleConfig::unlimited();
    let client = client(c).await;
    let err = client.list_seats(&org()).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, GitHubError::IncompleteListing { .. }),
        "{err:?}"
    );
    assert!(
        msg.contains("larger than 64 MiB") && msg.contains(&url),
        "{msg}"
    );
    // The client stopped reading near the limit: it did not take the 1 GiB
    // (TCP buffers let the server get somewhat ahead).
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed) as usize;
    assert!(
        sent >= MAX_RESPONSE_BYTES,
        "the server sent only {sent} bytes"
    );
    assert!(sent < MAX_RESPONSE_BYTES + (32 << 20), "read {sent} bytes");
}
