//! seatkeeper's own identity, read from the API (issue 19 item 7): the
//! token's user from `GET /user`, a GitHub App's `{slug}[bot]` from
//! `GET /app` with its JWT. Pull-request mode adopts only pull requests that
//! identity opened. Against the simulator over HTTP.

use std::time::Duration;

use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, ThrottleConfig};
use seatkeeper::github::repo::RepoApi;
use seatkeeper::simulator::{SimApp, SimOptions, Simulator, demo_state, routes};
use secrecy::SecretString;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/sim/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn config(sim: &Simulator, auth: Auth) -> ClientConfig {
    let mut c = ClientConfig::new(auth).with_base_url(sim.url());
    c.backoff_base = Duration::from_millis(1);
    c.backoff_max = Duration::from_millis(5);
    c.throttle = ThrottleConfig::unlimited();
    c
}

#[tokio::test]
async fn own_login_is_the_tokens_user_or_the_apps_bot() {
    let mut state = demo_state();
    state.viewer = "seat-robot".into();
    state.app = Some(SimApp {
        app_id: 4242,
        client_id: None,
        slug: "seatkeeper-acme".to_string(),
        installation_id: 777,
        public_key_pem: fixture("app-public-key.pem"),
    });
    let sim = Simulator::start(state, SimOptions::default())
        .await
        .unwrap();

    let token = Auth::Token(SecretString::from(sim.token()));
    let gh = GitHubClient::new(config(&sim, token)).await.unwrap();
    assert_eq!(gh.own_login().await.unwrap(), "seat-robot");

    let app = Auth::App {
        app_id: 4242,
        private_key_pem: SecretString::from(fixture("app-private-key.pem")),
        installation_id: Some(777),
    };
    let gh = GitHubClient::new(config(&sim, app)).await.unwrap();
    assert_eq!(gh.own_login().await.unwrap(), "seatkeeper-acme[bot]");
    let app_reads: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == routes::APP)
        .collect();
    assert_eq!(app_reads.len(), 1);
    assert_eq!(app_reads[0].status, 200);
    // The installation token is no user: GitHub answers 403 to GET /user,
    // which is why an App asks GET /app instead.
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.route != routes::AUTHENTICATED_USER || r.status == 200)
    );
}
