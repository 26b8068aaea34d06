//! Enterprise scope end to end, through the real client against the
//! simulator's enterprise over HTTP: per-grant listings that run past
//! `total_seats / per_page`, every grant of a user kept, organization grants
//! left alone, `ent:` slugs, billed seats, idle by the latest signal, a
//! Copilot-dedicated enterprise assigning through one team's membership, and
//! the enterprise errors that say what to change.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use seatkeeper::github::{GitHubError, SeatApi};
use seatkeeper::plan::{Action, IdleSignal};
use seatkeeper::reconcile::{Mode, Options, Status, reconcile};
use seatkeeper::simulator::{
    RecordedRequest, SimOptions, SimOrg, SimState, SimTeam, Simulator, generated_enterprise,
    generated_login, routes,
};

use crate::support::{loaded, sim_client as client};

fn opts(mode: Mode) -> Options {
    Options {
        mode,
        ..Options::default()
    }
}

async fn start(state: SimState) -> Simulator {
    Simulator::start(state, SimOptions::default())
        .await
        .unwrap()
}

fn writes(sim: &Simulator) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect()
}

fn names(r: &RecordedRequest, key: &str) -> BTreeSet<String> {
    r.body.as_ref().unwrap()[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// An enterprise `big` with organization `acme` (alice and bob hold its
/// seats; alice directly in the org, bob through org team `devs`), a second
/// organization `beta` (granting alice), enterprise team `ent:platform`
/// (carol, dave, alice) and direct enterprise grants for erin and alice.
fn enterprise() -> SimState {
    let now = Utc::now();
    let mut st = SimState::new("acme");
    st.enterprise = Some("big".into());
    st.members = vec!["alice".into(), "bob".into()];
    st.teams = vec![SimTeam::new("devs", &["bob"])];
    st.selected_teams.insert("devs".into());
    st.selected_users.insert("alice".into());
    st.orgs = vec![SimOrg {
        login: "beta".into(),
        id: 2001,
        members: vec!["alice".into()],
        selected_users: ["alice".to_string()].into(),
        ..SimOrg::default()
    }];
    st.enterprise_members = ["carol", "dave", "erin", "frank", "gina"]
        .map(String::from)
        .to_vec();
    st.enterprise_teams = vec![
        SimTeam::new("ent:platform", &["carol", "dave", "alice"]),
        SimTeam::new("ent:data", &["frank"]),
    ];
    st.selected_enterprise_teams.insert("ent:platform".into());
    st.enterprise_selected_users = ["erin".to_string(), "alice".to_string()].into();
    st.normalize(now);
    st
}

#[tokio::test(flavor = "multi_thread")]
async fn every_grant_is_kept_and_org_grants_are_left_alone() {
    let sim = start(enterprise()).await;
    let api = client(&sim).await;
    // The file keeps team `platform` (written without its prefix), adds
    // `ent:data`, lists gina, and drops the direct grants of alice and erin.
    let file = loaded("enterprise: big\nteams: [platform, ent:data]\nusers: [gina]\n");
    let out = reconcile(&api, &file, &opts(Mode::Plan)).await.unwrap();
    let p = &out.plan;
    let changes: Vec<String> = p
        .changes
        .iter()
        .map(|c| format!("{} {} {:?}", c.action.as_str(), c.name, c.keeps_via))
        .collect();
    assert_eq!(
        changes,
        vec![
            "add_team ent:data []",
            "add_user gina []",
            "remove_user alice [\"org acme\", \"org beta\", \"team ent:platform\"]",
            "remove_user erin []",
        ]
    );
    // Seats count users: alice, bob, carol, dave, erin hold now (bob through
    // org acme's team); after: erin goes, frank and gina come.
    assert_eq!((p.seats_before, p.seats_after), (5, 6));
    // erin stays billed until her pending date.
    assert_eq!((p.billed_before, p.billed_after), (5, 7));
    let outside: Vec<&str> = p.held_outside.iter().map(|h| h.login.as_str()).collect();
    assert_eq!(outside, vec!["bob"]);
    assert!(
        seatkeeper::render::text(p, false)
            .contains("= bob  (seat granted by org acme (team devs))"),
        "{}",
        seatkeeper::render::text(p, false)
    );

    sim.clear_requests();
    let out = reconcile(&api, &file, &opts(Mode::Apply)).await.unwrap();
    assert_eq!(out.status, Status::Applied, "{:?}", out.results);
    let w = writes(&sim);
    let removed: BTreeSet<String> = w
        .iter()
        .filter(|r| r.method == "DELETE")
        .flat_map(|r| names(r, "selected_usernames"))
        .collect();
    assert_eq!(removed, ["alice", "erin"].map(String::from).into());
    // Nothing ever went to an organization's routes.
    assert!(
        sim.requests()
            .iter()
            .all(|r| !r.route.starts_with("/orgs/")),
        "an enterprise file wrote to an org"
    );
    // alice keeps her seat (org acme, org beta, the team); the plan is empty now.
    let again = reconcile(&api, &file, &opts(Mode::Plan)).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", again.plan.changes);
    let live = api
        .list_seats(&seatkeeper::config::Scope::Enterprise("big".into()))
        .await
        .unwrap();
    let alice = live.users.iter().find(|u| u.login == "alice").unwrap();
    assert!(alice.held() && alice.grants.len() == 3, "{alice:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_past_total_seats_are_read_to_the_last_page() {
    // 150 users, 250 entries: three pages of 100 while total_seats / 100 is two.
    let st = generated_enterprise("big", 150, 66, 0);
    let sim = start(st).await;
    let api = client(&sim).await;
    let scope = seatkeeper::config::Scope::Enterprise("big".into());
    let live = api.list_seats(&scope).await.unwrap();
    assert_eq!(live.users.len(), 150);
    let entries: usize = live.users.iter().map(|u| u.grants.len()).sum();
    assert_eq!(entries, 249);
    let pages: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.route == routes::ENTERPRISE_SEATS)
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages.iter().any(|q| q.contains("page=3")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dedicated_enterprise_assigns_through_one_teams_membership() {
    let now = Utc::now();
    let mut st = SimState::new("unused");
    st.enterprise = Some("cop".into());
    st.enterprise_members = (0..30).map(generated_login).collect();
    st.enterprise_teams = vec![SimTeam::new(
        "ent:copilot",
        &["user000000", "user000001", "user000002"],
    )];
    st.normalize(now);
    let sim = start(st).await;
    sim.faults().reject_logins(["user000007"]);
    let api = client(&sim).await;
    let mut text = String::from("enterprise: cop\npolicy:\n  assign_via_team: copilot\nusers:\n");
    for i in 1..10 {
        text.push_str(&format!("  - {}\n", generated_login(i)));
    }
    let file = loaded(&text);
    // Not allowed by the operator: refused before anything is read or written.
    let err = reconcile(&api, &file, &opts(Mode::Apply))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "assign_team_not_allowed", "{err}");
    assert!(err.to_string().contains("--allowed-assign-team"), "{err}");
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    let mut allowed = opts(Mode::Apply);
    allowed.bounds.allowed_assign_teams = vec!["ent:copilot".into()];
    // user000000 leaving is 1 of the team's 3 members: over the default 25 %
    // cap, which counts membership removals too.
    allowed.bounds.max_removals = Some("50%".parse().unwrap());
    let out = reconcile(&api, &file, &allowed).await.unwrap();
    // The team is assigned; user000000 leaves it; 3..9 join, one refused.
    assert_eq!(out.status, Status::PartiallyApplied, "{:?}", out.results);
    let failed: Vec<&str> = out.failed().map(|r| r.name.as_str()).collect();
    assert_eq!(failed, vec!["user000007"]);
    let w = writes(&sim);
    let routes_hit: Vec<&str> = w.iter().map(|r| r.route.as_str()).collect();
    assert!(routes_hit.contains(&routes::ENTERPRISE_SELECTED_TEAMS));
    assert!(routes_hit.contains(&routes::ENTERPRISE_TEAM_MEMBERSHIPS_ADD));
    assert!(
        !routes_hit.contains(&routes::ENTERPRISE_SELECTED_USERS),
        "no direct grants in a dedicated enterprise: {routes_hit:?}"
    );
    // The refused login was isolated: everyone else joined in the same round.
    let joined: BTreeSet<String> = sim
        .state()
        .enterprise_team("copilot")
        .unwrap()
        .members
        .iter()
        .cloned()
        .collect();
    let want: BTreeSet<String> = (1..10).filter(|i| *i != 7).map(generated_login).collect();
    // Removals wait a round when an add failed.
    assert!(joined.is_superset(&want));
    sim.faults().clear();
    let out = reconcile(&api, &file, &allowed).await.unwrap();
    assert_eq!(out.status, Status::Applied, "{:?}", out.results);
    let members: BTreeSet<String> = sim
        .state()
        .enterprise_team("copilot")
        .unwrap()
        .members
        .iter()
        .cloned()
        .collect();
    assert_eq!(members, (1..10).map(generated_login).collect());
    allowed.mode = Mode::Plan;
    let again = reconcile(&api, &file, &allowed).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", again.plan.changes);
    assert_eq!(again.plan.seats_before, 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_cannot_empty_a_team_it_manages_past_the_removal_cap() {
    // The attack of issue 19: `assign_via_team` on a privileged team that
    // grants no seat, plus the PR author's login. Even with the team
    // allowed, taking its 10 members out is 10 removals for the cap
    // (25 % by default), not "0 seats lost": guarded, nothing written.
    let mut st = SimState::new("unused");
    st.enterprise = Some("cop".into());
    st.enterprise_members = (0..30).map(generated_login).collect();
    let admins: Vec<String> = (0..10).map(generated_login).collect();
    let admins: Vec<&str> = admins.iter().map(String::as_str).collect();
    st.enterprise_teams = vec![SimTeam::new("ent:security-admins", &admins)];
    st.normalize(Utc::now());
    let sim = start(st).await;
    let api = client(&sim).await;
    let file = loaded(&format!(
        "enterprise: cop\npolicy:\n  assign_via_team: security-admins\nusers:\n  - {}\n",
        generated_login(20)
    ));
    let mut allowed = opts(Mode::Apply);
    allowed.bounds.allowed_assign_teams = vec!["security-admins".into()];
    let out = reconcile(&api, &file, &allowed).await.unwrap();
    assert_eq!(out.status, Status::Guarded, "{:?}", out.plan.guard);
    let removals: Vec<usize> = out
        .plan
        .guard
        .reasons
        .iter()
        .filter_map(|r| match r {
            seatkeeper::plan::GuardReason::MaxRemovals { removals, .. } => Some(*removals),
            _ => None,
        })
        .collect();
    assert_eq!(removals, [10]);
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    let team = sim.state().enterprise_teams[0].members.clone();
    assert_eq!(team.len(), 10, "the team's members are untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn max_seats_counts_what_is_billed_this_cycle() {
    let mut st = enterprise();
    // dave left the team and erin's direct seat was cancelled: both pending,
    // billed until their date.
    st.enterprise_teams[0].members.retain(|m| m != "dave");
    st.normalize(Utc::now());
    let date = st.next_billing_date;
    for s in st.enterprise_seats.iter_mut().filter(|s| s.login == "erin") {
        s.pending_cancellation_date = Some(date);
    }
    st.enterprise_selected_users.remove("erin");
    let sim = start(st).await;
    let api = client(&sim).await;
    let file = loaded(
        "enterprise: big\npolicy:\n  max_seats: 5\nteams: [platform]\nusers: [alice, gina]\n",
    );
    let out = reconcile(&api, &file, &opts(Mode::Apply)).await.unwrap();
    // Held: alice, bob, carol; +gina = 4 held, under the cap; but dave and
    // erin are still billed this cycle: 6 billed > 5.
    assert_eq!(out.status, Status::Guarded, "{:?}", out.plan.guard);
    assert_eq!((out.plan.seats_before, out.plan.seats_after), (3, 4));
    assert_eq!((out.plan.billed_before, out.plan.billed_after), (5, 6));
    assert!(writes(&sim).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_time_follows_the_latest_sign_in() {
    let now = Utc::now();
    let mut st = enterprise();
    for s in &mut st.enterprise_seats {
        s.last_activity_at = Some(now - Duration::days(200));
        // erin signs in without telemetry: not idle.
        if s.login == "erin" {
            s.last_authenticated_at = Some(now - Duration::days(2));
        }
    }
    let sim = start(st).await;
    let api = client(&sim).await;
    let file = loaded(
        "enterprise: big\npolicy:\n  inactivity: {days: 90, action: remove, act_before_cycle_end_days: 31}\nteams: [platform]\nusers: [alice, erin]\n",
    );
    let out = reconcile(&api, &file, &opts(Mode::Plan)).await.unwrap();
    let idle: Vec<(&str, IdleSignal)> = out
        .plan
        .inactive
        .iter()
        .map(|i| (i.login.as_str(), i.signal))
        .collect();
    assert!(idle.iter().all(|(l, _)| *l != "erin"), "{idle:?}");
    assert!(
        idle.contains(&("carol", IdleSignal::LastActivity)),
        "{idle:?}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&seatkeeper::render::json(&out.plan)).unwrap();
    assert!(
        json["inactive"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["idle_signal"].is_string())
    );
    assert!(
        out.plan.of(Action::RemoveUser).all(|c| c.name != "erin"),
        "erin signed in 2 days ago"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn enterprise_policy_refusals_say_what_to_change() {
    let mut st = enterprise();
    st.enterprise_public_code_suggestions = "unconfigured".into();
    let sim = start(st).await;
    let api = client(&sim).await;
    let scope = seatkeeper::config::Scope::Enterprise("big".into());
    let err = api
        .add_users(&scope, &["gina".to_string()])
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::ScopePolicy { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("Suggestions matching public code"), "{msg}");
    // One request: a policy refusal is not bisected per login.
    assert_eq!(writes(&sim).len(), 1);
}

/// Issue 18 item 8: an enterprise team DELETE answered `202 {"message":
/// "Status for delete command"}` is "accepted, pending": not ok, not failed;
/// the next plan re-plans it until GitHub has done it.
#[tokio::test(flavor = "multi_thread")]
async fn an_enterprise_team_delete_answered_202_is_pending_and_rechecked() {
    let mut st = enterprise();
    st.defer_enterprise_team_deletes = true;
    let sim = start(st).await;
    let api = client(&sim).await;
    // The file drops ent:platform (and keeps the direct grants).
    let file = loaded("enterprise: big\nusers: [erin, alice]\npolicy:\n  max_removals: 100%\n");
    let out = reconcile(&api, &file, &opts(Mode::Apply)).await.unwrap();
    let team: Vec<_> = out
        .results
        .iter()
        .filter(|r| r.action == Action::RemoveTeam)
        .collect();
    assert_eq!(team.len(), 1, "{:?}", out.results);
    assert_eq!(team[0].name, "ent:platform");
    assert_eq!(team[0].result, "pending", "{:?}", team[0]);
    let msg = team[0].message.as_deref().unwrap();
    assert!(
        msg.contains("accepted, pending") && msg.contains("Status for delete command"),
        "{msg}"
    );
    assert_eq!(out.failed().count(), 0, "a 202 is not a failure");
    assert_eq!(out.status, Status::Applied);
    let summary = seatkeeper::render::results_summary(&out.results);
    assert!(summary.contains("1 pending"), "{summary}");
    let line = seatkeeper::render::result_line(team[0]);
    assert!(
        line.starts_with("pending remove team ent:platform: accepted, pending"),
        "{line}"
    );
    // Not done yet: the next reconcile plans the DELETE again.
    let again = reconcile(&api, &file, &opts(Mode::Plan)).await.unwrap();
    assert!(
        again
            .plan
            .of(Action::RemoveTeam)
            .any(|c| c.name == "ent:platform"),
        "{:?}",
        again.plan.changes
    );
    // GitHub does it later: then the plan has nothing left for the team.
    sim.with_state(|s| {
        s.finish_team_deletes(Utc::now());
    });
    let done = reconcile(&api, &file, &opts(Mode::Plan)).await.unwrap();
    assert_eq!(
        done.plan.of(Action::RemoveTeam).count(),
        0,
        "{:?}",
        done.plan.changes
    );
}

/// Issue 18 item 8: `policy.assign_via_team` refuses a team whose members
/// come from an identity provider group (`group_id` set): every membership
/// written would be undone by the IdP's sync. Nothing is written, and
/// `request` refuses the same way.
#[tokio::test(flavor = "multi_thread")]
async fn assign_via_team_refuses_an_idp_linked_team() {
    let now = Utc::now();
    let mut st = SimState::new("unused");
    st.enterprise = Some("cop".into());
    st.enterprise_members = (0..5).map(generated_login).collect();
    let mut team = SimTeam::new("ent:copilot", &["user000000"]);
    team.group_id = Some("62ab9291-fae2-468e-974b-7e45096d5021".into());
    st.enterprise_teams = vec![team, SimTeam::new("ent:plain", &["user000000"])];
    st.normalize(now);
    let sim = start(st).await;
    let api = client(&sim).await;
    let text =
        "enterprise: cop\npolicy:\n  assign_via_team: copilot\nusers: [user000000, user000001]\n";
    // Allowed by the operator, and still refused: the IdP owns the team.
    let mut allowed = opts(Mode::Apply);
    allowed.bounds.allowed_assign_teams = vec!["copilot".into(), "plain".into()];
    let err = reconcile(&api, &loaded(text), &allowed)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("assign_via_team names `ent:copilot`")
            && err.contains(
                "identity provider group (group_id 62ab9291-fae2-468e-974b-7e45096d5021)"
            )
            && err.contains("would undo every membership"),
        "{err}"
    );
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    // The same file through `request`: refused before any edit is recorded.
    let ask = seatkeeper::selfserve::Ask {
        kind: seatkeeper::selfserve::Kind::Request,
        login: "user000002".into(),
        requester: "user000002".into(),
        note: None,
        expires: None,
        source: None,
        today: now.date_naive(),
        bounds: allowed.bounds.clone(),
        budget: None,
    };
    let err = seatkeeper::selfserve::validate(&api, "seats.yaml", text, &ask, 8)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("identity provider group"), "{err}");
    // A team without an IdP group is used as before.
    let plain = text.replace("assign_via_team: copilot", "assign_via_team: plain");
    let out = reconcile(&api, &loaded(&plain), &allowed).await.unwrap();
    assert_eq!(out.status, Status::Applied, "{:?}", out.results);
}
