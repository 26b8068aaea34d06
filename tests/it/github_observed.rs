//! The client against what GitHub really answers, as
//! `../shared/github-observed/README.md` records it (error bodies, team
//! names, secondary limits without `retry-after`, write pacing), served by a
//! scripted server written here from that page. It shares no code with
//! `src/simulator/`: the simulator is our own reading of GitHub, and a
//! client tested only against it would agree with its guesses.
//!
//! Each scenario scripts the answers in order; an unscripted request is a
//! 500 and a failure. Bodies quoted from github-observed are marked O
//! (observed) or I (inferred wording: the client must match on status and
//! meaning only, which these tests check by the names and causes read).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use serde_json::{Value, json};

use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, RetrySleep, ThrottleConfig};
use seatkeeper::github::{GitHubError, Scope, SeatApi};

/// One scripted answer: the request it expects and what it answers. Steps
/// for one route are answered in order.
struct Step {
    /// `METHOD /path` (no query).
    expect: &'static str,
    /// The JSON body the request must carry, when it has one to check.
    body: Option<Value>,
    status: u16,
    answer: Value,
}

fn step(expect: &'static str, body: Option<Value>, status: u16, answer: Value) -> Step {
    Step {
        expect,
        body,
        status,
        answer,
    }
}

#[derive(Default)]
struct Log {
    /// `METHOD /path`, body, when it arrived, when it was answered.
    seen: Vec<(String, Option<Value>, Instant, Instant)>,
    problems: Vec<String>,
    in_flight: usize,
    peak_in_flight: usize,
}

struct Script {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    left: Arc<Mutex<VecDeque<Step>>>,
    /// A `Link` header sent on page 1 of a listing, when set.
    link: Arc<Mutex<Option<String>>>,
}

impl Script {
    /// Serve `steps` in order; each answer takes `delay`.
    async fn start(steps: Vec<Step>, delay: Duration) -> Script {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Log::default()));
        let left = Arc::new(Mutex::new(VecDeque::from(steps)));
        let link: Arc<Mutex<Option<String>>> = Arc::default();
        let (l, q, k) = (Arc::clone(&log), Arc::clone(&left), Arc::clone(&link));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (l, q, k) = (Arc::clone(&l), Arc::clone(&q), Arc::clone(&k));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (l, q, k) = (Arc::clone(&l), Arc::clone(&q), Arc::clone(&k));
                        async move { Ok::<_, Infallible>(answer(req, &l, &q, &k, delay).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Script {
            addr,
            log,
            left,
            link,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every step was used and nothing unexpected came.
    fn finish(&self) -> Vec<String> {
        let log = self.log.lock().unwrap();
        assert!(log.problems.is_empty(), "{:#?}", log.problems);
        let left = self.left.lock().unwrap();
        assert!(
            left.is_empty(),
            "unused steps: {:?}",
            left.iter().map(|s| s.expect).collect::<Vec<_>>()
        );
        log.seen.iter().map(|(l, ..)| l.clone()).collect()
    }
}

async fn answer(
    req: Request<Incoming>,
    log: &Mutex<Log>,
    left: &Mutex<VecDeque<Step>>,
    link: &Mutex<Option<String>>,
    delay: Duration,
) -> Response<Full<Bytes>> {
    let arrived = Instant::now();
    let line = format!("{} {}", req.method(), req.uri().path());
    let first_page = req.uri().path().ends_with("/seats")
        && req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "page=1"));
    let link = link.lock().unwrap().clone().filter(|_| first_page);
    {
        let mut l = log.lock().unwrap();
        l.in_flight += 1;
        l.peak_in_flight = l.peak_in_flight.max(l.in_flight);
    }
    let bytes = req.into_body().collect().await.unwrap().to_bytes();
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    tokio::time::sleep(delay).await;
    // The first scripted step for this route: requests the client sends at
    // once (the last page and the billing details) may arrive in any order.
    let next = {
        let mut q = left.lock().unwrap();
        let i = q.iter().position(|s| s.expect == line).unwrap_or(0);
        q.remove(i)
    };
    let mut l = log.lock().unwrap();
    l.in_flight -= 1;
    let (status, answer) = match next {
        Some(s) if s.expect == line && (s.body.is_none() || s.body == body) => (s.status, s.answer),
        Some(s) => {
            l.problems.push(format!(
                "expected {} {:?}, got {line} {body:?}",
                s.expect, s.body
            ));
            (500, json!({"message": "unscripted"}))
        }
        None => {
            l.problems.push(format!("unscripted {line} {body:?}"));
            (500, json!({"message": "unscripted"}))
        }
    };
    l.seen.push((line, body, arrived, Instant::now()));
    let mut r = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(link) = link {
        r = r.header("link", link);
    }
    r.body(Full::new(Bytes::from(answer.to_string()))).unwrap()
}

fn config(s: &Script) -> ClientConfig {
    let mut c = ClientConfig::new(Auth::Token(SecretString::from("ghp_observed_test_token")))
        .with_base_url(s.url());
    c.throttle = ThrottleConfig::unlimited();
    c.max_attempts = 2;
    c
}

fn recording() -> (RetrySleep, Arc<Mutex<Vec<u64>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&waits);
    let sleep: RetrySleep = Arc::new(move |d: Duration| {
        w.lock().unwrap().push(d.as_secs());
        Box::pin(async {})
    });
    (sleep, waits)
}

fn acme() -> Scope {
    Scope::Org("acme".into())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const TEAMS: &str = "POST /orgs/acme/copilot/billing/selected_teams";
const USERS: &str = "POST /orgs/acme/copilot/billing/selected_users";

#[tokio::test]
async fn teams_are_written_by_name_read_from_the_team() {
    // D: "List of team names within the organization to which to grant
    // access to GitHub Copilot." The team `data-science` is "Data Science".
    let s = Script::start(
        vec![
            step(
                "GET /orgs/acme/teams/data-science",
                None,
                200,
                json!({"name": "Data Science", "slug": "data-science"}),
            ),
            step(
                TEAMS,
                Some(json!({"selected_teams": ["Data Science"]})),
                201,
                json!({"seats_created": 3}),
            ),
            // Its name is remembered: no second look-up.
            step(
                "DELETE /orgs/acme/copilot/billing/selected_teams",
                Some(json!({"selected_teams": ["Data Science"]})),
                200,
                json!({"seats_cancelled": 3}),
            ),
        ],
        Duration::ZERO,
    )
    .await;
    let gh = GitHubClient::new(config(&s)).await.unwrap();
    let r = gh
        .add_teams(&acme(), &strings(&["data-science"]))
        .await
        .unwrap();
    assert_eq!(
        (r.applied, r.seats_changed),
        (strings(&["data-science"]), 3)
    );
    let r = gh
        .remove_teams(&acme(), &strings(&["data-science"]))
        .await
        .unwrap();
    assert_eq!(r.applied, ["data-science"], "reported by slug, as planned");
    s.finish();
}

#[tokio::test]
async fn a_server_that_turns_names_down_gets_slugs_from_then_on() {
    // D status, I wording: "One or more teams do not exist in this
    // organization: VALUES". One retry by slug; the form is remembered.
    let s = Script::start(
        vec![
            step(
                "GET /orgs/acme/teams/data-science",
                None,
                200,
                json!({"name": "Data Science", "slug": "data-science"}),
            ),
            step(
                TEAMS,
                Some(json!({"selected_teams": ["Data Science"]})),
                404,
                json!({"message": "One or more teams do not exist in this organization: Data Science"}),
            ),
            step(
                TEAMS,
                Some(json!({"selected_teams": ["data-science"]})),
                201,
                json!({"seats_created": 3}),
            ),
            step(
                TEAMS,
                Some(json!({"selected_teams": ["qa"]})),
                201,
                json!({"seats_created": 1}),
            ),
        ],
        Duration::ZERO,
    )
    .await;
    let gh = GitHubClient::new(config(&s)).await.unwrap();
    let r = gh
        .add_teams(&acme(), &strings(&["data-science"]))
        .await
        .unwrap();
    assert_eq!(r.applied, ["data-science"]);
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let r = gh.add_teams(&acme(), &strings(&["qa"])).await.unwrap();
    assert_eq!(r.applied, ["qa"]);
    s.finish();
}

#[tokio::test]
async fn a_404_naming_one_login_drops_it_and_applies_the_rest() {
    // D status, I wording: "One or more users do not exist in this
    // organization: LOGINS". The others get their seats in one more request,
    // and the rest of the run goes on.
    let s = Script::start(
        vec![
            step(
                USERS,
                Some(json!({"selected_usernames": ["alice", "mallory", "bob"]})),
                404,
                json!({"message": "One or more users do not exist in this organization: mallory", "documentation_url": "https://docs.github.com/rest/copilot/copilot-user-management", "status": "404"}),
            ),
            step(
                USERS,
                Some(json!({"selected_usernames": ["alice", "bob"]})),
                201,
                json!({"seats_created": 2}),
            ),
            step(
                USERS,
                Some(json!({"selected_usernames": ["carol"]})),
                201,
                json!({"seats_created": 1}),
            ),
        ],
        Duration::ZERO,
    )
    .await;
    let mut c = config(&s);
    c.batch_size = 3;
    let gh = GitHubClient::new(c).await.unwrap();
    let r = gh
        .add_users(&acme(), &strings(&["alice", "mallory", "bob", "carol"]))
        .await
        .unwrap();
    assert_eq!(r.applied, ["alice", "bob", "carol"]);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].0, "mallory");
    assert!(r.failed[0].1.contains("do not exist"), "{:?}", r.failed);
    assert_eq!(s.finish().len(), 3);
}

#[tokio::test]
async fn the_all_members_setting_stops_the_scope_after_one_write() {
    // O: the body GitHub sends when the org enabled Copilot for all members
    // (CopilotHelper test data). It names no login: one write, then the
    // setting is read to say what to change; no bisection, no second write.
    let s = Script::start(
        vec![
            step(
                USERS,
                None,
                422,
                json!({"message": "Your organization has enabled Copilot access for all members. Enable access for selected members in order to manage seats via the API.", "documentation_url": "https://docs.github.com/rest/copilot/copilot-user-management#add-users-to-the-copilot-subscription-for-an-organization"}),
            ),
            step(
                "GET /orgs/acme/copilot/billing",
                None,
                200,
                json!({"seat_breakdown": {"total": 8, "added_this_cycle": 0, "pending_cancellation": 0, "pending_invitation": 0, "active_this_cycle": 8, "inactive_this_cycle": 0}, "public_code_suggestions": "block", "seat_management_setting": "assign_all", "plan_type": "business"}),
            ),
        ],
        Duration::ZERO,
    )
    .await;
    let gh = GitHubClient::new(config(&s)).await.unwrap();
    let logins: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();
    let err = gh.add_users(&acme(), &logins).await.unwrap_err();
    assert!(
        matches!(err, GitHubError::NotAssignSelected { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("Selected users and teams"),
        "{err}"
    );
    assert_eq!(s.finish(), [USERS, "GET /orgs/acme/copilot/billing"]);
}

#[tokio::test]
async fn a_payment_problem_is_scope_wide_and_says_what_to_fix() {
    // I: "There is a problem with the payment method associated with this
    // account." A login named `method` is not what the sentence is about.
    let s = Script::start(
        vec![step(
            USERS,
            None,
            422,
            json!({"message": "There is a problem with the payment method associated with this account."}),
        )],
        Duration::ZERO,
    )
    .await;
    let gh = GitHubClient::new(config(&s)).await.unwrap();
    let err = gh
        .add_users(&acme(), &strings(&["method", "alice"]))
        .await
        .unwrap_err();
    let GitHubError::ScopePolicy {
        advice, message, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(advice.contains("payment method"), "{advice}");
    assert!(message.contains("payment method"), "{message}");
    assert_eq!(s.finish().len(), 1);
}

#[tokio::test]
async fn secondary_limits_without_retry_after_back_off_exponentially_then_fail() {
    // D: "wait for at least one minute ... wait for an exponentially
    // increasing amount of time between retries, and throw an error after a
    // specific number of retries."
    let limited = || {
        step(
            USERS,
            None,
            403,
            json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
        )
    };
    let s = Script::start(
        vec![
            limited(),
            limited(),
            limited(),
            step(USERS, None, 201, json!({"seats_created": 1})),
        ],
        Duration::ZERO,
    )
    .await;
    let (sleep, waits) = recording();
    let mut c = config(&s);
    c.retry_sleep = Some(sleep);
    c.max_attempts = 4;
    let gh = GitHubClient::new(c).await.unwrap();
    let r = gh.add_users(&acme(), &strings(&["alice"])).await.unwrap();
    assert_eq!(r.applied, ["alice"]);
    assert_eq!(*waits.lock().unwrap(), [60, 120, 240]);
    s.finish();

    // The fourth wait (480 s) is past --max-rate-limit-wait (300 s): an error.
    let s = Script::start(
        vec![limited(), limited(), limited(), limited()],
        Duration::ZERO,
    )
    .await;
    let (sleep, waits) = recording();
    let mut c = config(&s);
    c.retry_sleep = Some(sleep);
    c.max_attempts = 10;
    let gh = GitHubClient::new(c).await.unwrap();
    let err = gh
        .add_users(&acme(), &strings(&["alice"]))
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::RateLimited { .. }), "{err}");
    assert_eq!(*waits.lock().unwrap(), [60, 120, 240]);
    s.finish();
}

#[tokio::test]
async fn writes_go_one_at_a_time_at_least_the_interval_apart() {
    // D: "make requests serially instead of concurrently" and "wait at
    // least one second between each request" that changes content. The
    // interval is 200 ms here (a flag lowers GitHub's 1 s for tests).
    let ok = || step(USERS, None, 201, json!({"seats_created": 1}));
    let s = Script::start(vec![ok(), ok(), ok(), ok()], Duration::from_millis(50)).await;
    let mut c = config(&s);
    c.batch_size = 1;
    c.throttle.write_interval = Some(Duration::from_millis(200));
    let gh = GitHubClient::new(c).await.unwrap();
    // Two callers at once: their writes still go one by one.
    let (scope, first, second) = (acme(), strings(&["a1", "a2"]), strings(&["b1", "b2"]));
    let (a, b) = tokio::join!(gh.add_users(&scope, &first), gh.add_users(&scope, &second));
    assert_eq!(a.unwrap().applied.len() + b.unwrap().applied.len(), 4);
    s.finish();
    let log = s.log.lock().unwrap();
    assert_eq!(log.peak_in_flight, 1, "writes overlapped");
    let mut starts: Vec<Instant> = log.seen.iter().map(|(_, _, at, _)| *at).collect();
    starts.sort();
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        // Timer granularity: a few ms either way.
        assert!(gap >= Duration::from_millis(190), "writes {gap:?} apart");
    }
}

#[test]
fn a_github_enterprise_server_api_root_is_refused_before_any_request() {
    // D: GitHub Enterprise Server descriptions have no Copilot routes.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args([
            "plan",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/seats.yaml"),
            "--github-url",
            "https://ghes.example.com/api/v3",
        ])
        .env("GITHUB_TOKEN", "ghp_not_sent_anywhere")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("GitHub Enterprise Server has no Copilot seat API") && err.contains("GHE.com"),
        "{err}"
    );
}

#[tokio::test]
async fn a_silently_reduced_page_size_is_read_whole() {
    // D: "If you use a per_page value above the maximum, the value is
    // automatically reduced to the maximum ... you may receive fewer results
    // than you expect without any indication." Asked for 100 a page, served
    // 50: the listing is whole, not "shifted".
    let seat = |i: usize| json!({"assignee": {"login": format!("u{i:03}"), "id": i, "type": "User"}, "created_at": "2026-01-01T00:00:00Z", "plan_type": "business"});
    let page = |range: std::ops::Range<usize>| json!({"total_seats": 75, "seats": range.map(seat).collect::<Vec<_>>()});
    let s = Script::start(
        vec![
            step("GET /orgs/acme/copilot/billing/seats", None, 200, page(0..50)),
            step("GET /orgs/acme/copilot/billing/seats", None, 200, page(50..75)),
            step(
                "GET /orgs/acme/copilot/billing",
                None,
                200,
                json!({"seat_breakdown": {"total": 75, "added_this_cycle": 0, "pending_cancellation": 0, "pending_invitation": 0, "active_this_cycle": 75, "inactive_this_cycle": 0}, "public_code_suggestions": "block", "seat_management_setting": "assign_selected", "plan_type": "business"}),
            ),
        ],
        Duration::ZERO,
    )
    .await;
    let mut c = config(&s);
    c.page_concurrency = 1;
    // The Link GitHub sends names the pages by its own size.
    let link = format!(
        "<{0}/orgs/acme/copilot/billing/seats?per_page=100&page=2>; rel=\"next\", <{0}/orgs/acme/copilot/billing/seats?per_page=100&page=2>; rel=\"last\"",
        s.url()
    );
    *s.link.lock().unwrap() = Some(link);
    let gh = GitHubClient::new(c).await.unwrap();
    let live = gh.list_seats(&acme()).await.unwrap();
    assert_eq!(live.users.len(), 75);
    s.finish();
}
