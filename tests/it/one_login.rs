//! `request` / `release` validate one login from per-user reads (issue 18
//! item 4): the same verdicts and messages as `plan --strict` gives for that
//! login, and a request count that does not grow with the org.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::Utc;
use seatkeeper::github::client::GitHubClient;
use seatkeeper::reconcile::{Mode, Options};
use seatkeeper::selfserve::{Ask, Kind, Prepared, Validated, prepare, validate};
use seatkeeper::simulator::{
    GenSpec, SimOptions, SimState, Simulator, generated_enterprise, generated_login,
    generated_state_with, routes,
};

use crate::support::sim_client as client;

fn ask(kind: Kind, login: &str) -> Ask {
    Ask {
        kind,
        login: login.into(),
        requester: login.into(),
        note: None,
        expires: None,
        source: None,
        today: Utc::now().date_naive(),
        bounds: Default::default(),
        budget: None,
    }
}

/// What `request`/`release` says: the summary line, or the refusal.
async fn one_login(api: &GitHubClient, text: &str, ask: &Ask) -> Result<String, String> {
    match validate(api, "seats.yaml", text, ask, 8).await {
        Ok(Validated::Change { checked, .. }) => Ok(checked.summary),
        Ok(Validated::NoOp(p)) => panic!("{}: a no-op ({p:?})", ask.login),
        Err(e) => Err(e.to_string()),
    }
}

/// What `plan --strict` says of the same edit, read from the whole listing
/// (the way validation worked before), in the same words.
async fn whole_plan(api: &GitHubClient, text: &str, ask: &Ask) -> Result<String, String> {
    let Prepared::Change { edited, .. } = prepare("seats.yaml", text, ask).unwrap() else {
        panic!("not a change")
    };
    let opts = Options {
        mode: Mode::Plan,
        today: Some(ask.today),
        check_eligibility: true,
        ..Options::default()
    };
    let outcome = seatkeeper::reconcile::prepare(api, &edited, &opts)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(i) = outcome.ineligible.iter().find(|i| i.login == ask.login) {
        return Err(format!(
            "{} is not eligible for a Copilot seat: {}",
            i.login, i.reason
        ));
    }
    let plan = &outcome.plan;
    if plan.guard.tripped {
        let reasons: Vec<String> = plan
            .guard
            .reasons
            .iter()
            .map(|r| {
                format!(
                    "{} ({})",
                    seatkeeper::render::guard_message(r, |s| format!("`{s}`")),
                    seatkeeper::render::guard_next_step(r)
                )
            })
            .collect();
        let what = match ask.kind {
            Kind::Request => "adding",
            Kind::Release => "removing",
        };
        return Err(format!(
            "{what} {} would leave a plan the controller refuses to apply: {}",
            ask.login,
            reasons.join("; ")
        ));
    }
    Ok(seatkeeper::render::summary_line(plan))
}

/// 40 seats: 35 direct (4 of them pending cancellation), 5 through
/// `generated-team`; 3 members without a seat; one outside user.
fn org() -> SimState {
    let mut st = generated_state_with(
        "acme",
        &GenSpec {
            seats: 40,
            extra_members: 3,
            team_seats: 5,
            pending_every: 8,
            idle_every: 0,
        },
    );
    st.users.push("outsider".into());
    st
}

/// A seats.yaml the org is in sync with: the team, and every held direct seat.
fn in_sync(policy: &str) -> String {
    let mut t = format!(
        "org: acme\npolicy:\n  allow_empty: false\n{policy}teams:\n  - generated-team\nusers:\n"
    );
    for i in 0..35 {
        if i % 8 != 7 {
            t.push_str(&format!("  - {}\n", generated_login(i)));
        }
    }
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn verdicts_and_messages_are_plan_stricts_for_the_login() {
    let sim = Simulator::start(org(), SimOptions::default())
        .await
        .unwrap();
    let api = client(&sim).await;
    // The file is in sync, so the whole plan is exactly the login's change
    // and the two must agree byte for byte.
    let base = in_sync("");
    let cap = |n: u32| in_sync(&format!("  max_seats: {n}\n"));
    let no_removals = in_sync("  max_removals: 0\n");
    let eligible = in_sync("  eligible_teams: [generated-team]\n");
    let n = |i: usize| generated_login(i);
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Ask, bool)> = vec![
        ("a new seat", base.clone(), ask(Kind::Request, &n(40)), true),
        ("a new seat over the cap", cap(40), ask(Kind::Request, &n(40)), false),
        ("a restore under the cap (already billed)", cap(40), ask(Kind::Request, &n(7)), true),
        ("a restore over the cap", cap(39), ask(Kind::Request, &n(7)), false),
        ("seated through a team: no change", cap(1), ask(Kind::Request, &n(36)), true),
        ("a release", base.clone(), ask(Kind::Release, &n(0)), true),
        ("a release over the removal cap", no_removals, ask(Kind::Release, &n(0)), false),
        ("not a member", base.clone(), ask(Kind::Request, "outsider"), false),
        ("no such user", base.clone(), ask(Kind::Request, "nobody-at-all"), false),
        ("not in an eligible team", eligible, ask(Kind::Request, &n(41)), false),
    ];
    for (name, text, a, ok) in cases {
        let whole = whole_plan(&api, &text, &a).await;
        let mine = one_login(&api, &text, &a).await;
        assert_eq!(mine, whole, "{name}");
        assert_eq!(mine.is_ok(), ok, "{name}: {mine:?}");
    }

    // An empty file: the last seat's release is refused by both guards.
    let one = generated_state_with(
        "acme",
        &GenSpec {
            seats: 1,
            idle_every: 0,
            ..GenSpec::default()
        },
    );
    let sim1 = Simulator::start(one, SimOptions::default()).await.unwrap();
    let api1 = client(&sim1).await;
    let text = "org: acme\nusers:\n  - user000000\n";
    let a = ask(Kind::Release, "user000000");
    let mine = one_login(&api1, text, &a).await;
    assert_eq!(mine, whole_plan(&api1, text, &a).await);
    let err = mine.unwrap_err();
    assert!(err.contains("lists no users and no teams"), "{err}");
    sim1.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enterprise_verdicts_match_too() {
    // 40 users (20 direct, 20 through ent:generated), 10 % also seated by
    // the organization, 3 members without a seat.
    let sim = Simulator::start(
        generated_enterprise("acme-ent", 40, 10, 3),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let api = client(&sim).await;
    let file = |policy: &str| {
        let mut t = format!(
            "enterprise: acme-ent\npolicy:\n{policy}  allow_empty: false\nteams:\n  - generated\nusers:\n"
        );
        for i in 0..20 {
            t.push_str(&format!("  - {}\n", generated_login(i)));
        }
        t
    };
    let n = |i: usize| generated_login(i);
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Ask, bool)> = vec![
        ("a new seat", file(""), ask(Kind::Request, &n(40)), true),
        ("over the cap", file("  max_seats: 40\n"), ask(Kind::Request, &n(40)), false),
        ("seated through the team", file("  max_seats: 1\n"), ask(Kind::Request, &n(25)), true),
        ("a release", file(""), ask(Kind::Release, &n(3)), true),
        ("no such user", file(""), ask(Kind::Request, "nobody-at-all"), false),
    ];
    for (name, text, a, ok) in cases {
        let whole = whole_plan(&api, &text, &a).await;
        let mine = one_login(&api, &text, &a).await;
        assert_eq!(mine, whole, "{name}");
        assert_eq!(mine.is_ok(), ok, "{name}: {mine:?}");
    }
    sim.shutdown().await;
}

const REPO: &str = "big/copilot-seats";

/// Run `seatkeeper request|release LOGIN --repo` against `state` with `file`
/// as the repository's seats.yaml, and count what it sent, by route.
async fn cost(state: SimState, file: String, args: &[&str]) -> BTreeMap<String, usize> {
    let mut st = state;
    st.put_file(REPO, "main", "seats.yaml", &file);
    let sim = Simulator::start(st, SimOptions::default()).await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(args)
        .args(["--repo", REPO, "--github-url", &sim.url()])
        .env("GITHUB_TOKEN", sim.token())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .env_remove("GITHUB_APP_ID")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    let mut by_route = BTreeMap::new();
    for r in sim.requests() {
        *by_route
            .entry(format!("{} {}", r.method, r.route))
            .or_insert(0) += 1;
    }
    sim.shutdown().await;
    by_route
}

/// A `seats`-seat org: 500 direct seats, the rest through `generated-team`
/// (a file listing 100,000 logins would pass seats.yaml's 1 MiB limit).
fn org_of(seats: usize) -> (SimState, String) {
    let st = generated_state_with(
        "big",
        &GenSpec {
            seats,
            extra_members: 1,
            team_seats: seats - 500,
            ..GenSpec::default()
        },
    );
    let mut yaml = String::from("org: big\nteams:\n  - generated-team\nusers:\n");
    for i in 0..500 {
        yaml.push_str(&format!("  - {}\n", generated_login(i)));
    }
    (st, yaml)
}

/// The target: at most 15 requests per `request`, the same at 1k,
/// 10k and 100k seats, and never a page of the seat listing.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_costs_the_same_few_requests_at_any_org_size() {
    let mut seen: Vec<(usize, BTreeMap<String, usize>)> = Vec::new();
    for seats in [1_000, 10_000, 100_000] {
        let (st, yaml) = org_of(seats);
        let new = generated_login(seats);
        let request = cost(st, yaml, &["request", &new]).await;
        let (st, yaml) = org_of(seats);
        let release = cost(st, yaml, &["release", &generated_login(0)]).await;
        for (what, routes_sent) in [("request", &request), ("release", &release)] {
            let total: usize = routes_sent.values().sum();
            eprintln!("{what} at {seats} seats: {total} requests {routes_sent:?}");
            assert!(total <= 15, "{what} at {seats}: {total} {routes_sent:?}");
            let listing = format!("GET {}", routes::ORG_SEATS);
            assert!(
                !routes_sent.contains_key(&listing),
                "{what} at {seats} read the listing: {routes_sent:?}"
            );
            assert_eq!(
                routes_sent.get(&format!("GET {}", routes::ORG_MEMBER_COPILOT)),
                Some(&1),
                "{what}: one per-user seat read"
            );
        }
        seen.push((seats, request));
    }
    assert!(
        seen.windows(2).all(|w| w[0].1 == w[1].1),
        "the same requests at every size: {seen:?}"
    );
}

/// An enterprise request reads the totals from one page of one entry, not
/// the listing.
#[tokio::test(flavor = "multi_thread")]
async fn an_enterprise_request_reads_one_seat_and_one_total() {
    let mut seen = Vec::new();
    for users in [1_000, 10_000] {
        let st = generated_enterprise("big-ent", users, 10, 1);
        let mut yaml = String::from("enterprise: big-ent\nteams:\n  - generated\nusers:\n");
        for i in 0..users / 2 {
            yaml.push_str(&format!("  - {}\n", generated_login(i)));
        }
        let sent = cost(st, yaml, &["request", &generated_login(users)]).await;
        let total: usize = sent.values().sum();
        eprintln!("enterprise request at {users} users: {total} requests {sent:?}");
        assert!(total <= 15, "{total} {sent:?}");
        assert_eq!(
            sent.get(&format!("GET {}", routes::ENTERPRISE_SEATS)),
            Some(&1),
            "one page, for total_seats: {sent:?}"
        );
        assert_eq!(
            sent.get(&format!("GET {}", routes::ENTERPRISE_MEMBER_COPILOT)),
            Some(&1)
        );
        seen.push(sent);
    }
    assert_eq!(seen[0], seen[1]);
}
