//! Conditional reads of the seat listing (issue 21 item 3) over real HTTP
//! against the simulator, which serves weak `ETag`s over each page's bytes,
//! answers `If-None-Match` with `304` and refunds a `304`'s primary-limit
//! point as GitHub does ("Making a conditional request does not count
//! against your primary rate limit if a 304 response is returned").

use std::time::Duration;

use chrono::Utc;
use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, ThrottleConfig};
use seatkeeper::github::{GitHubError, Scope, SeatApi};
use seatkeeper::simulator::{FaultAction, RecordedRequest, SimOptions, Simulator, generated_state};
use secrecy::SecretString;

const SEATS: &str = "/orgs/{org}/copilot/billing/seats";
const BILLING: &str = "/orgs/{org}/copilot/billing";

/// 1,050 seats: 11 pages of 100, plus the billing details.
const N: usize = 1_050;
const PAGES: u64 = 11;

async fn setup(conditional: bool) -> (Simulator, GitHubClient) {
    let sim = Simulator::start(generated_state("acme", N, 0), SimOptions::default())
        .await
        .unwrap();
    let mut c =
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url());
    c.backoff_base = Duration::from_millis(1);
    c.throttle = ThrottleConfig::unlimited();
    c.conditional_requests = conditional;
    let client = GitHubClient::new(c).await.unwrap();
    (sim, client)
}

fn org() -> Scope {
    Scope::Org("acme".into())
}

fn page_of(r: &RecordedRequest) -> Option<u64> {
    r.query
        .as_deref()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
}

/// Requests of one read: (route, page, sent If-None-Match, status).
fn reads(sim: &Simulator) -> Vec<(String, Option<u64>, bool, u16)> {
    sim.requests()
        .iter()
        .map(|r| {
            (
                r.route.clone(),
                page_of(r),
                r.header("if-none-match").is_some(),
                r.status,
            )
        })
        .collect()
}

#[tokio::test]
async fn an_unchanged_listing_costs_no_primary_point() {
    let (sim, client) = setup(true).await;
    let cold = client.list_seats(&org()).await.unwrap();
    assert_eq!(cold.users.len(), N);
    assert_eq!(
        sim.rate_limit().used,
        PAGES + 1,
        "cold: every page and the billing details"
    );
    sim.clear_requests();

    let warm = client.list_seats(&org()).await.unwrap();
    assert_eq!(warm, cold, "the cached pages fold to the same listing");
    assert_eq!(
        sim.rate_limit().used,
        PAGES + 1,
        "zero points on an unchanged listing"
    );
    let r = reads(&sim);
    assert_eq!(
        r.len() as u64,
        PAGES + 1,
        "one request per page and the details: {r:?}"
    );
    assert!(
        r.iter().all(|(_, _, inm, status)| *inm && *status == 304),
        "{r:?}"
    );
    let stats = client.stats();
    assert_eq!(
        (stats.primary_points, stats.not_modified),
        (PAGES + 1, PAGES + 1)
    );

    // The ETags GitHub sends for JSON are weak: sent back as received.
    let sent = sim.requests()[0]
        .header("if-none-match")
        .unwrap()
        .to_string();
    assert!(sent.starts_with("W/\""), "{sent}");
}

#[tokio::test]
async fn without_conditional_requests_every_read_costs_every_page() {
    let (sim, client) = setup(false).await;
    client.list_seats(&org()).await.unwrap();
    client.list_seats(&org()).await.unwrap();
    assert_eq!(sim.rate_limit().used, 2 * (PAGES + 1));
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.header("if-none-match").is_none())
    );
}

#[tokio::test]
async fn a_changed_page_rereads_the_pages_after_it_whole() {
    let (sim, client) = setup(true).await;
    client.list_seats(&org()).await.unwrap();
    // One seat on page 3 reports new activity: page 3's bytes change, no
    // entry moves.
    let seen = Utc::now();
    let login = sim.with_state(|st| {
        st.seats[250].last_activity_at = Some(seen);
        st.seats[250].login.clone()
    });
    sim.clear_requests();
    let before = sim.rate_limit().used;

    let live = client.list_seats(&org()).await.unwrap();
    let user = live.users.iter().find(|u| u.login == login).unwrap();
    assert_eq!(
        user.last_activity_at.map(|t| t.timestamp()),
        Some(seen.timestamp())
    );
    // First pass: page 3 is 200, the rest 304. Pages 4..11 were reused after
    // a changed page, so a second pass validates 1..3 (304) and reads 4..11
    // whole: 1 + 8 points, and 1 for the billing details, whose seat
    // breakdown counts seats active this cycle.
    assert_eq!(
        sim.rate_limit().used - before,
        1 + (PAGES - 3) + 1,
        "{:?}",
        reads(&sim)
    );
    let r = reads(&sim);
    for page in 4..=PAGES {
        let of_page: Vec<_> = r
            .iter()
            .filter(|(route, p, _, _)| route == SEATS && *p == Some(page))
            .map(|(_, _, inm, status)| (*inm, *status))
            .collect();
        assert_eq!(of_page, [(true, 304), (false, 200)], "page {page}: {r:?}");
    }
    let page3: Vec<_> = r
        .iter()
        .filter(|(route, p, _, _)| route == SEATS && *p == Some(3))
        .map(|(_, _, inm, status)| (*inm, *status))
        .collect();
    assert_eq!(page3, [(true, 200), (true, 304)], "{r:?}");

    // And the cache now holds the new pages: the next read is free.
    let before = sim.rate_limit().used;
    client.list_seats(&org()).await.unwrap();
    assert_eq!(sim.rate_limit().used, before);
}

#[tokio::test]
async fn a_new_etag_over_the_same_body_is_reused_by_its_digest() {
    let (sim, client) = setup(true).await;
    let cold = client.list_seats(&org()).await.unwrap();
    sim.set_etag_salt(7);
    sim.clear_requests();
    let before = sim.rate_limit().used;
    let again = client.list_seats(&org()).await.unwrap();
    assert_eq!(again, cold);
    // Every page costs its point (GitHub sent it whole), but none is read
    // twice: an unchanged body is not a change.
    assert_eq!(sim.rate_limit().used - before, PAGES + 1);
    assert_eq!(sim.requests().len() as u64, PAGES + 1, "{:?}", reads(&sim));
    // The new ETags were kept: the read after is free.
    let before = sim.rate_limit().used;
    client.list_seats(&org()).await.unwrap();
    assert_eq!(sim.rate_limit().used, before);
}

#[tokio::test]
async fn a_304_for_a_page_never_cached_is_read_again_whole() {
    let (sim, client) = setup(true).await;
    // Page 1 of a cold read answered 304 (a broken proxy): nothing was
    // cached, so nothing can be reused.
    sim.faults().on_request(SEATS, 1, FaultAction::status(304));
    let live = client.list_seats(&org()).await.unwrap();
    assert_eq!(live.users.len(), N);
    let r = reads(&sim);
    let page1: Vec<_> = r
        .iter()
        .filter(|(route, p, _, _)| route == SEATS && *p == Some(1))
        .map(|(_, _, inm, status)| (*inm, *status))
        .collect();
    assert_eq!(page1, [(false, 304), (false, 200)], "{r:?}");

    // Always 304: refused, not taken as an empty page.
    let (sim, client) = setup(true).await;
    sim.faults().script(seatkeeper::simulator::ScriptedFault {
        route: SEATS.into(),
        nth: 1,
        times: 2,
        action: FaultAction::status(304),
    });
    let err = client.list_seats(&org()).await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::IncompleteListing { message, .. } if message.contains("304")),
        "{err}"
    );
}

#[tokio::test]
async fn a_removed_seat_shifts_every_later_page_and_all_are_read() {
    let (sim, client) = setup(true).await;
    client.list_seats(&org()).await.unwrap();
    let gone = sim.with_state(|st| st.seats[50].login.clone());
    sim.with_state(|st| st.remove_seat(&gone));
    let before = sim.rate_limit().used;
    let live = client.list_seats(&org()).await.unwrap();
    assert_eq!(live.users.len(), N - 1);
    assert!(live.users.iter().all(|u| u.login != gone));
    // Every page shifted and the seat breakdown changed: all 11 pages and
    // the billing details read whole, once.
    assert_eq!(sim.rate_limit().used - before, PAGES + 1);
    assert_eq!(
        sim.requests().iter().filter(|r| r.route == BILLING).count(),
        2
    );
}
