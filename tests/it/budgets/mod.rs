//! Budgets as code (issue 22): seats.yaml `budgets:` planned and applied
//! against the simulator (org and enterprise), the simulator's budgets
//! routes validated against the official description, the client against
//! a fixture server written from that description (`fixture.rs`, sharing
//! nothing with `src/simulator/`), and every bad input of the issue.

mod contract;
mod fixture;
mod selfserve;

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::Value;

use seatkeeper::plan::budgets::BudgetAction;
use seatkeeper::reconcile::{Bounds, Mode, Options, Outcome, Status, reconcile};
use seatkeeper::simulator::{SimBudget, SimOptions, SimScope, SimState, Simulator};

use crate::support::{loaded, sim_client, strings};

/// Org `acme`: alice, bob, carol, dave members; alice, bob, carol seated.
/// GitHub holds the universal budget at US$10, bob's at US$500 (a hand
/// edit), carol's at US$9 (undeclared), and budgets of other kinds that
/// seatkeeper must never touch.
pub(crate) fn org_state() -> SimState {
    let mut st = SimState::new("acme");
    st.members = strings(&["alice", "bob", "carol", "dave"]);
    st.normalize(Utc::now());
    st.add_users(
        SimScope::Org,
        &strings(&["alice", "bob", "carol"]),
        Utc::now(),
    )
    .unwrap();
    st.budgets.org = other_budgets();
    st.budgets.org.extend([
        SimBudget::ai_credits("u-1", None, 10),
        SimBudget::ai_credits("b-1", Some("bob"), 500),
        SimBudget::ai_credits("c-1", Some("carol"), 9),
    ]);
    st
}

/// Budgets outside seatkeeper's remit: an org-wide Actions budget, a
/// premium-requests user budget, a cost-center budget.
fn other_budgets() -> Vec<SimBudget> {
    let mut actions = SimBudget::ai_credits("o-1", None, 500);
    actions.budget_type = "ProductPricing".into();
    actions.budget_product_sku = "actions".into();
    actions.budget_scope = "organization".into();
    actions.will_alert = true;
    actions.alert_recipients = strings(&["octo-admin"]);
    let mut premium = SimBudget::ai_credits("p-1", Some("carol"), 7);
    premium.budget_type = "SkuPricing".into();
    premium.budget_product_sku = "premium_requests".into();
    let mut cost_center = SimBudget::ai_credits("cc-1", None, 300);
    cost_center.budget_scope = "cost_center".into();
    cost_center.budget_entity_name = "platform".into();
    vec![actions, premium, cost_center]
}

pub(crate) const FILE: &str = "org: acme
budgets:
  default: 20
users:
  - alice
  - login: bob
    budget: 50
  - login: carol
  - login: dave
    budget: 0
";

/// Plan or apply, with the removal cap lifted (the default 25% of two
/// budgets would hold most of these small plans; the cap has its own test).
fn opts(mode: Mode) -> Options {
    Options {
        mode,
        check_eligibility: false,
        bounds: Bounds {
            max_removals: Some(seatkeeper::config::MaxRemovals::Percent(100.0)),
            ..Bounds::default()
        },
        ..Options::default()
    }
}

async fn run(sim: &Simulator, file: &str, o: &Options) -> Outcome {
    let api = sim_client(sim).await;
    reconcile(&api, &loaded(file), o).await.unwrap()
}

/// ai_credits budgets as (login or "(default)") -> amount, and every other
/// budget unchanged.
fn ai_credits(budgets: &[SimBudget]) -> BTreeMap<String, u64> {
    budgets
        .iter()
        .filter(|b| b.budget_product_sku == "ai_credits" && b.budget_type == "BundlePricing")
        .filter(|b| b.budget_scope == "user" || b.budget_scope == "multi_user_customer")
        .map(|b| {
            (
                b.user.clone().unwrap_or_else(|| "(default)".into()),
                b.budget_amount,
            )
        })
        .collect()
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn plan_json(o: &Outcome) -> Value {
    serde_json::from_str(&seatkeeper::render::json(&o.plan)).unwrap()
}

#[tokio::test]
async fn org_budgets_plan_apply_exactly_and_then_are_in_sync() {
    let sim = Simulator::start(org_state(), SimOptions::default())
        .await
        .unwrap();
    let planned = run(&sim, FILE, &opts(Mode::Plan)).await;
    let v = plan_json(&planned);
    let b = &v["budgets"];
    let changes: Vec<String> = b["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} {}",
                c["action"].as_str().unwrap(),
                c["login"].as_str().unwrap_or("-"),
                c["amount_before"],
                c["amount"],
                c["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "add_budget dave null 0 new",
            "update_budget - 10 20 differs",
            "update_budget bob 500 50 differs",
            "remove_budget carol 9 null not_declared",
        ]
    );
    assert_eq!(b["default_before"], 10);
    assert_eq!(b["default_after"], 20);
    // alice and carol at the default, bob 50, dave 0.
    assert_eq!(b["total_after"], 20 + 50 + 20);
    let text = seatkeeper::render::text(&planned.plan, false);
    assert!(text.contains("~ budget bob US$500 -> US$50"), "{text}");
    assert!(text.contains("- budget carol US$9"), "{text}");
    assert!(
        text.contains("Budgets: 1 to add, 2 to update, 1 to remove."),
        "{text}"
    );
    let md = seatkeeper::render::markdown(&planned.plan);
    assert!(
        md.contains("| `+` | budget dave US$0 | in seats.yaml |"),
        "{md}"
    );
    assert_eq!(sim.state().budgets.org.len(), 6, "planning writes nothing");

    sim.clear_requests();
    let applied = run(&sim, FILE, &opts(Mode::Apply)).await;
    assert_eq!(
        applied.status,
        Status::Applied,
        "{:?}",
        applied.budget_results
    );
    let writes: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.route))
        .collect();
    assert_eq!(
        writes,
        [
            "POST /orgs/{org}/copilot/billing/selected_users",
            "POST /organizations/{org}/settings/billing/budgets",
            "PATCH /organizations/{org}/settings/billing/budgets/{budget_id}",
            "PATCH /organizations/{org}/settings/billing/budgets/{budget_id}",
            "DELETE /organizations/{org}/settings/billing/budgets/{budget_id}",
        ],
        "dave's seat first, then one request per budget change"
    );
    let st = sim.state();
    assert_eq!(
        ai_credits(&st.budgets.org),
        map(&[("(default)", 20), ("bob", 50), ("dave", 0)])
    );
    for other in other_budgets() {
        assert!(st.budgets.org.contains(&other), "{} was touched", other.id);
    }
    drop(st);
    let again = run(&sim, FILE, &opts(Mode::Plan)).await;
    assert_eq!(again.status, Status::InSync, "{:?}", again.plan.budgets);
    sim.shutdown().await;
}

#[tokio::test]
async fn enterprise_budgets_use_the_enterprise_routes() {
    let mut st = SimState::new("acme");
    st.enterprise = Some("big".into());
    st.enterprise_members = strings(&["erin", "frank"]);
    st.normalize(Utc::now());
    st.add_users(
        SimScope::Enterprise,
        &strings(&["erin", "frank"]),
        Utc::now(),
    )
    .unwrap();
    st.budgets.enterprise = vec![SimBudget::ai_credits("f-1", Some("frank"), 3)];
    let sim = Simulator::start(st, SimOptions::default()).await.unwrap();
    let file = "enterprise: big\nbudgets:\n  default: 15\nusers:\n  - login: erin\n    budget: 40\n  - frank\n";
    let out = run(&sim, file, &opts(Mode::Apply)).await;
    assert_eq!(out.status, Status::Applied, "{:?}", out.budget_results);
    assert_eq!(
        ai_credits(&sim.state().budgets.enterprise),
        map(&[("(default)", 15), ("erin", 40)])
    );
    assert!(
        sim.state().budgets.org.is_empty(),
        "the org's are not touched"
    );
    let posted: Vec<Value> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.body.clone().unwrap())
        .collect();
    assert!(
        posted
            .iter()
            .all(|b| b["budget_alerting"]["will_alert"] == false),
        "the enterprise body requires budget_alerting; it says off: {posted:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn additive_adopts_hand_made_budgets_and_exclusive_restores_hand_edits() {
    let sim = Simulator::start(org_state(), SimOptions::default())
        .await
        .unwrap();
    let additive = FILE.replace("  default: 20\n", "  default: 20\n  manage: additive\n");
    let out = run(&sim, &additive, &opts(Mode::Apply)).await;
    assert_eq!(out.status, Status::Applied);
    assert_eq!(
        out.plan.budgets.as_ref().unwrap().adopted,
        vec![("carol".to_string(), 9)]
    );
    assert_eq!(
        ai_credits(&sim.state().budgets.org),
        map(&[("(default)", 20), ("bob", 50), ("carol", 9), ("dave", 0)])
    );
    // Someone raises bob's budget by hand in the UI: drift, shown and
    // restored.
    sim.with_state(|st| {
        let b = st
            .budgets
            .org
            .iter_mut()
            .find(|b| b.user.as_deref() == Some("bob"))
            .unwrap();
        b.budget_amount = 999;
    });
    let out = run(&sim, &additive, &opts(Mode::Apply)).await;
    let c = &out.plan.budget_changes()[0];
    assert_eq!(
        (c.action, c.amount_before, c.amount),
        (BudgetAction::UpdateBudget, Some(999), Some(50))
    );
    assert_eq!(ai_credits(&sim.state().budgets.org)["bob"], 50);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_budgets_route_refusing_the_token_plans_seats_anyway() {
    for status in [403u16, 404] {
        let mut st = org_state();
        st.budgets.refuse = Some(status);
        let sim = Simulator::start(st, SimOptions::default()).await.unwrap();
        let out = run(&sim, FILE, &opts(Mode::Apply)).await;
        assert!(out.plan.budgets.is_none());
        let why = out.plan.budgets_unavailable.clone().unwrap();
        assert!(
            why.contains(&status.to_string()) && why.contains("billing manager"),
            "{status}: {why}"
        );
        assert_eq!(out.status, Status::Applied, "{status}");
        assert!(
            sim.state().selected_users.contains("dave"),
            "{status}: the seat was granted"
        );
        assert!(
            sim.requests()
                .iter()
                .all(|r| !(r.route.contains("budgets") && r.method != "GET")),
            "{status}: no budget write"
        );
        let text = seatkeeper::render::text(&out.plan, false);
        assert!(text.contains("Note: budgets not planned:"), "{text}");
        assert_eq!(plan_json(&out)["budgets_unavailable"], why.as_str());
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn operator_ceilings_guard_the_whole_plan_and_nothing_is_written() {
    let sim = Simulator::start(org_state(), SimOptions::default())
        .await
        .unwrap();
    let before = sim.state();
    for (max_user, max_total, want) in [
        (
            Some(49),
            None,
            "bob's budget is US$50 a month, over the operator's --max-user-budget 49",
        ),
        (
            Some(19),
            None,
            "budgets.default is US$20 a month, over the operator's --max-user-budget 19",
        ),
        (
            None,
            Some(89),
            "the declared budgets total US$90 a month, over the operator's --max-budget-total 89",
        ),
    ] {
        let mut o = opts(Mode::Apply);
        o.bounds.budgets = seatkeeper::plan::budgets::BudgetBounds {
            max_user_budget: max_user,
            max_budget_total: max_total,
        };
        let out = run(&sim, FILE, &o).await;
        assert_eq!(out.status, Status::Guarded, "{want}");
        let text = seatkeeper::render::text(&out.plan, false);
        assert!(text.contains(want), "{text}");
    }
    let after = sim.state();
    assert_eq!(after.budgets, before.budgets);
    assert_eq!(
        after.selected_users, before.selected_users,
        "no seat either"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_removal_cap_counts_budget_deletions() {
    let mut st = org_state();
    st.budgets.org.extend(
        ["alice", "dave"]
            .iter()
            .enumerate()
            .map(|(i, l)| SimBudget::ai_credits(&format!("x-{i}"), Some(l), 5)),
    );
    let sim = Simulator::start(st, SimOptions::default()).await.unwrap();
    // Declares only bob: alice's, carol's and dave's go; the file's cap is 2.
    let file = "org: acme\npolicy:\n  max_removals: 2\nusers:\n  - alice\n  - login: bob\n    budget: 50\n  - carol\n  - dave\n";
    let out = run(&sim, file, &opts(Mode::Apply)).await;
    assert_eq!(out.status, Status::Guarded);
    let text = seatkeeper::render::text(&out.plan, false);
    assert!(
        text.contains("the plan deletes 3 individual budgets, more than the removal cap 2"),
        "{text}"
    );
    assert_eq!(
        ai_credits(&sim.state().budgets.org).len(),
        5,
        "nothing deleted"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_budget_is_deleted_and_a_budget_without_a_seat_is_a_warning() {
    let sim = Simulator::start(org_state(), SimOptions::default())
        .await
        .unwrap();
    let file = "org: acme
budgets:
  default: 10
  manage: additive
users:
  - login: bob
    budget: 50
    budget_expires: 2026-01-31
  - login: carol
    budget: 9
    expires: 2026-01-31
";
    let mut o = opts(Mode::Plan);
    o.today = Some("2026-12-05".parse().unwrap());
    let out = run(&sim, file, &o).await;
    let b = out.plan.budgets.clone().unwrap();
    assert!(b.changes.is_empty(), "additive deletes nothing: {b:?}");
    assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
    assert!(b.warnings[0].starts_with("carol has a budget (US$9) but holds no seat"));
    let exclusive = file.replace("  manage: additive\n", "");
    let out = run(&sim, &exclusive, &o).await;
    let removed: Vec<_> = out
        .plan
        .budget_changes()
        .iter()
        .map(|c| (c.who().to_string(), c.reason.as_str()))
        .collect();
    assert_eq!(removed, [("bob".to_string(), "expired")]);
    sim.shutdown().await;
}

/// Bad inputs in the file: each a message at its line and column.
#[test]
fn bad_budget_values_are_refused_at_their_position() {
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        ("org: acme\nbudgets:\n  default: -5\n", "3:12: `budgets.default` is -5, out of range 0..=1000000"),
        ("org: acme\nbudgets:\n  default: 12.5\n", "3:12: `budgets.default` is 12.5: budgets are whole US dollars"),
        ("org: acme\nusers:\n  - login: bob\n    budget: 7.25\n", "4:13: `budget` is 7.25: budgets are whole US dollars"),
        ("org: acme\nusers:\n  - login: bob\n    budget: \"50\"\n", "4:13: `budget` must be an integer, found a string"),
        ("org: acme\nusers:\n  - login: bob\n    budget_expires: soon\n", "4:21: `budget_expires` is `soon`, not a calendar date in the form YYYY-MM-DD"),
        ("org: acme\nbudgets:\n  manage: sometimes\n", "3:11: `budgets.manage` is `sometimes`; expected `exclusive` or `additive`"),
        ("org: acme\nbudgets:\n  defualt: 5\n", "3:3: unknown key `defualt` in `budgets`"),
    ];
    for (text, want) in cases {
        let err = seatkeeper::config::SeatsFile::parse("seats.yaml", text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{text:?}\nwant {want}\ngot {err}");
    }
    let ok = seatkeeper::config::SeatsFile::parse(
        "seats.yaml",
        b"org: acme\nbudgets:\n  default: 0\nusers:\n  - login: bob\n    budget: 0\n",
    );
    assert!(ok.is_ok(), "0 is allowed (blocked): {ok:?}");
}

#[tokio::test]
async fn budget_dollars_are_exported_as_read_then_as_applied() {
    let sim = Simulator::start(org_state(), SimOptions::default())
        .await
        .unwrap();
    let m = seatkeeper::metrics::Metrics::new(std::sync::Arc::new(
        seatkeeper::github::client::ClientStats::default,
    ));
    let get = |m: &seatkeeper::metrics::Metrics, scope: &str| {
        crate::support::metric(
            &m.encode(),
            "seatkeeper_budget_dollars",
            &[("org", "acme"), ("scope", scope)],
        )
    };
    // Planned only: GitHub's budgets as read (default 10; bob 500 + carol 9;
    // listed: alice 10, bob 500, carol 9, dave 10).
    let planned = run(&sim, FILE, &opts(Mode::Plan)).await;
    m.observe_outcome("acme", &planned);
    assert_eq!(get(&m, "multi_user_customer"), Some(10.0));
    assert_eq!(get(&m, "user"), Some(509.0));
    assert_eq!(get(&m, "listed_total"), Some(529.0));
    // Applied: what GitHub now holds.
    let applied = run(&sim, FILE, &opts(Mode::Apply)).await;
    m.observe_outcome("acme", &applied);
    assert_eq!(get(&m, "multi_user_customer"), Some(20.0));
    assert_eq!(get(&m, "user"), Some(50.0));
    assert_eq!(get(&m, "listed_total"), Some(90.0));
    sim.shutdown().await;
}

/// `apply --confirm` (which calls the apply step itself) and a direct call
/// of [`seatkeeper::reconcile::apply`] both write nothing for a plan only
/// the budget guard stops.
#[tokio::test(flavor = "multi_thread")]
async fn a_budget_guard_stops_the_cli_and_the_apply_step_too() {
    let sim = Simulator::start(org_state(), SimOptions::default())
        .await
        .unwrap();
    let before = sim.state();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.yaml");
    std::fs::write(&path, FILE).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args([
            "apply",
            path.to_str().unwrap(),
            "--confirm",
            "--max-user-budget",
            "10",
        ])
        .args(["--github-url", &sim.url(), "--max-removals", "100%"])
        .env("GITHUB_TOKEN", sim.token())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .env_remove("GITHUB_APP_ID")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("Budget guard tripped, nothing will be applied:"),
        "{said}"
    );

    let api = sim_client(&sim).await;
    let mut o = opts(Mode::Plan);
    o.bounds.budgets.max_user_budget = Some(10);
    let mut outcome = seatkeeper::reconcile::prepare(&api, &loaded(FILE), &o)
        .await
        .unwrap();
    seatkeeper::reconcile::apply(&api, &loaded(FILE), &o, &mut outcome)
        .await
        .unwrap();
    assert_eq!(outcome.status, Status::Guarded);
    let after = sim.state();
    assert_eq!(after.budgets, before.budgets);
    assert_eq!(after.selected_users, before.selected_users);
    sim.shutdown().await;
}
