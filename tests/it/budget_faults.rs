//! Budget writes under faults (issue 22 item 3): the same retry, fault and
//! record guarantees as seat writes. Faults are injected into the
//! simulator's budget routes only — a 5xx, a secondary rate limit with
//! `retry-after`, a dropped connection, a create that GitHub applies but
//! whose answer the client never sees (it times out; the simulator finishes
//! the abandoned request, as GitHub does), and a delete that keeps failing —
//! then:
//! - every fault fired (the simulator's record and its request log agree);
//! - the reconcile's `on_change` hook saw each budget change as it landed,
//!   the same record as `Outcome::budget_results`, and
//!   `seatkeeper_changes_total` counted them;
//! - the lost create was not sent twice to effect: the retry's 422 leads the
//!   client to the budget already there (its idempotent create), so the
//!   user has one budget;
//! - no budget outside the plan was created, changed or deleted;
//! - after the faults clear, a second reconcile writes exactly what is left
//!   and a third finds the budgets in sync.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use seatkeeper::plan::budgets::BudgetAction;
use seatkeeper::reconcile::{BudgetResult, ChangeHook, Mode, Options, Outcome, Status, reconcile};
use seatkeeper::simulator::{
    FaultAction, ScriptedFault, SimBudget, SimOptions, SimScope, SimState, Simulator,
};

use crate::support::{loaded, strings};

const POST: &str = "POST /organizations/{org}/settings/billing/budgets";
const PATCH: &str = "PATCH /organizations/{org}/settings/billing/budgets/{budget_id}";
const DELETE: &str = "DELETE /organizations/{org}/settings/billing/budgets/{budget_id}";

/// One attempt gives up after this; the lost create's answer comes later.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(800);
/// The lost create applies this long after it arrived.
const LOST_LATENCY: Duration = Duration::from_millis(1000);
/// Every retry waits this long, really: longer than the lost create takes
/// to apply, so its retry meets the budget it made.
const RETRY_WAIT: Duration = Duration::from_millis(1200);

const FILE: &str = "org: acme
budgets:
  default: 20
users:
  - login: alice
    budget: 30
  - login: bob
    budget: 50
  - carol
  - login: dave
    budget: 40
  - login: erin
    budget: 60
";

/// The planned writes, in apply order, as (action, login or `(default)`,
/// amount).
fn planned() -> Vec<(BudgetAction, String, Option<u64>)> {
    let c = |a, l: &str, n| (a, l.to_string(), n);
    vec![
        c(BudgetAction::AddBudget, "alice", Some(30)),
        c(BudgetAction::AddBudget, "dave", Some(40)),
        c(BudgetAction::AddBudget, "erin", Some(60)),
        c(BudgetAction::UpdateBudget, "(default)", Some(20)),
        c(BudgetAction::UpdateBudget, "bob", Some(50)),
        c(BudgetAction::RemoveBudget, "carol", None),
    ]
}

/// Budgets seatkeeper must never touch: an Actions budget, a premium
/// requests user budget, a cost-center budget.
fn others() -> Vec<SimBudget> {
    let mut actions = SimBudget::ai_credits("o-1", None, 500);
    actions.budget_type = "ProductPricing".into();
    actions.budget_product_sku = "actions".into();
    actions.budget_scope = "organization".into();
    let mut premium = SimBudget::ai_credits("p-1", Some("alice"), 7);
    premium.budget_type = "SkuPricing".into();
    premium.budget_product_sku = "premium_requests".into();
    let mut cost_center = SimBudget::ai_credits("cc-1", None, 300);
    cost_center.budget_scope = "cost_center".into();
    cost_center.budget_entity_name = "platform".into();
    vec![actions, premium, cost_center]
}

fn state() -> SimState {
    let mut st = SimState::new("acme");
    let all = strings(&["alice", "bob", "carol", "dave", "erin"]);
    st.members = all.clone();
    st.normalize(Utc::now());
    st.add_users(SimScope::Org, &all, Utc::now()).unwrap();
    st.budgets.org = others();
    st.budgets.org.extend([
        SimBudget::ai_credits("u-1", None, 10),
        SimBudget::ai_credits("b-1", Some("bob"), 500),
        SimBudget::ai_credits("c-1", Some("carol"), 9),
    ]);
    st
}

/// Managed (ai_credits user or universal) budgets: login or `(default)` ->
/// amounts (a duplicate shows as two amounts).
fn managed(budgets: &[SimBudget]) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for b in budgets.iter().filter(|b| {
        b.budget_product_sku == "ai_credits"
            && b.budget_type == "BundlePricing"
            && matches!(b.budget_scope.as_str(), "user" | "multi_user_customer")
    }) {
        out.entry(b.user.clone().unwrap_or_else(|| "(default)".into()))
            .or_default()
            .push(b.budget_amount);
    }
    out
}

/// A client as `sim_client` builds one, but whose attempts time out after
/// [`REQUEST_TIMEOUT`], with two attempts per transient failure, and whose
/// retries really wait [`RETRY_WAIT`]; the waits asked for are kept.
async fn client(
    sim: &Simulator,
    waits: Arc<Mutex<Vec<Duration>>>,
) -> seatkeeper::github::client::GitHubClient {
    let mut config = seatkeeper::github::args::GitHubArgs::for_url(&sim.url())
        .config(Some(sim.token()))
        .unwrap();
    let sleep: seatkeeper::github::client::RetrySleep = Arc::new(move |d| {
        waits.lock().unwrap().push(d);
        Box::pin(tokio::time::sleep(RETRY_WAIT))
    });
    config.retry_sleep = Some(sleep);
    config.request_timeout = REQUEST_TIMEOUT;
    config.max_attempts = 2;
    config.throttle.points_per_window = None;
    seatkeeper::github::client::GitHubClient::new(config)
        .await
        .unwrap()
}

/// Apply with the hook recording every budget change as it lands.
fn apply_opts(record: Arc<Mutex<Vec<BudgetResult>>>) -> Options {
    Options {
        mode: Mode::Apply,
        check_eligibility: false,
        bounds: seatkeeper::reconcile::Bounds {
            max_removals: Some(seatkeeper::config::MaxRemovals::Percent(100.0)),
            ..Default::default()
        },
        on_change: ChangeHook::default().on_budget(move |r| record.lock().unwrap().push(r.clone())),
        ..Options::default()
    }
}

fn triples(rs: &[BudgetResult]) -> Vec<(BudgetAction, String, Option<u64>, &'static str)> {
    rs.iter()
        .map(|r| {
            let who = r.login.clone().unwrap_or_else(|| "(default)".into());
            (r.action, who, r.amount, r.result)
        })
        .collect()
}

fn changes_total(m: &seatkeeper::metrics::Metrics, action: &str, result: &str) -> u64 {
    let want = format!(
        "seatkeeper_changes_total{{org=\"acme\",action=\"{action}\",result=\"{result}\"}} "
    );
    m.encode()
        .lines()
        .find_map(|l| {
            l.strip_prefix(want.as_str())
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no series {want}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_writes_survive_faults_record_each_change_and_converge() {
    let started = Instant::now();
    let sim = Simulator::start(
        state(),
        SimOptions {
            finish_abandoned_requests: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let f = sim.faults();
    let at = |route: &str, nth, times, action| {
        f.script(ScriptedFault {
            route: route.into(),
            nth,
            times,
            action,
        })
    };
    // POSTs: 1 alice (applied, answer lost), 2 alice's retry, 3 dave (502),
    // 4 dave's retry, 5 erin (dropped), 6 erin's retry.
    at(POST, 1, 1, FaultAction::Latency(LOST_LATENCY));
    at(POST, 3, 1, FaultAction::status(502));
    at(POST, 5, 1, FaultAction::Drop);
    // The universal budget's PATCH meets a secondary rate limit.
    at(PATCH, 1, 1, FaultAction::status_with_retry_after(403, 1));
    // carol's DELETE fails on both attempts: the first reconcile fails it.
    at(DELETE, 1, 2, FaultAction::status(500));

    let waits = Arc::new(Mutex::new(Vec::new()));
    let api = client(&sim, Arc::clone(&waits)).await;
    let metrics = seatkeeper::metrics::Metrics::new(Arc::new(Default::default));
    let file = loaded(FILE);

    // 1. The faulted reconcile.
    let record = Arc::new(Mutex::new(Vec::new()));
    let first: Outcome = reconcile(&api, &file, &apply_opts(Arc::clone(&record)))
        .await
        .unwrap();
    metrics.observe_outcome("acme", &first);
    let mut want: Vec<_> = planned()
        .into_iter()
        .map(|(a, l, n)| (a, l, n, "ok"))
        .collect();
    want[5].3 = "failed";
    assert_eq!(
        triples(&record.lock().unwrap()),
        want,
        "the hook's record: every budget change, as it landed ({:?})",
        first.budget_results
    );
    assert_eq!(*record.lock().unwrap(), first.budget_results);
    assert_eq!(first.status, Status::PartiallyApplied);
    for (action, ok, failed) in [
        ("add_budget", 3, 0),
        ("update_budget", 2, 0),
        ("remove_budget", 0, 1),
    ] {
        assert_eq!(changes_total(&metrics, action, "ok"), ok, "{action} ok");
        assert_eq!(
            changes_total(&metrics, action, "failed"),
            failed,
            "{action} failed"
        );
    }

    // Every fault fired: the simulator's fault record and its request log.
    let fired: Vec<(String, String)> = f
        .injected()
        .iter()
        .map(|i| (format!("{} {}", i.method, i.route), i.what.clone()))
        .collect();
    let fired_kinds: Vec<(&str, &str)> = fired
        .iter()
        .map(|(r, w)| (r.as_str(), w.split(' ').next().unwrap_or("")))
        .collect();
    for kind in [
        (POST, "latency"),
        (POST, "status"),
        (POST, "drop"),
        (PATCH, "status"),
        (DELETE, "status"),
    ] {
        assert!(
            fired_kinds.contains(&kind),
            "{kind:?} never fired: {fired:?}"
        );
    }
    let log = sim.requests();
    let writes: Vec<_> = log
        .iter()
        .filter(|r| r.method != "GET" && r.route.contains("/settings/billing/budgets"))
        .collect();
    let statuses = |route: &str| -> Vec<u16> {
        writes
            .iter()
            .filter(|r| format!("{} {}", r.method, r.route) == route)
            .map(|r| r.status)
            .collect()
    };
    // Nothing outside the plan: each write names a planned budget.
    let planned_logins = ["alice", "dave", "erin"];
    for r in &writes {
        match r.method.as_str() {
            "POST" => {
                let user = r.body.as_ref().and_then(|b| b["user"].as_str());
                assert!(
                    user.is_some_and(|u| planned_logins.contains(&u)),
                    "create outside the plan: {:?}",
                    r.body
                );
            }
            _ => {
                let id = r.path.rsplit('/').next().unwrap_or("");
                assert!(
                    ["u-1", "b-1", "c-1"].contains(&id),
                    "{} of a budget outside the plan: {}",
                    r.method,
                    r.path
                );
            }
        }
    }
    let st = sim.state();
    for other in others() {
        assert!(st.budgets.org.contains(&other), "{} was touched", other.id);
    }
    // The lost create made one budget, not two.
    assert_eq!(managed(&st.budgets.org)["alice"], [30], "alice: one budget");

    // alice 200 (answer lost), 422 (retry meets it), dave 502 then 200,
    // erin dropped (0) then 200 (the create answers 200, as documented).
    assert_eq!(statuses(POST), [200, 422, 502, 200, 0, 200], "{writes:#?}");
    assert_eq!(statuses(PATCH), [403, 200, 200]);
    assert_eq!(statuses(DELETE), [500, 500]);
    // The secondary limit's `retry-after: 1` was the wait asked for.
    assert!(
        waits.lock().unwrap().contains(&Duration::from_secs(1)),
        "{:?}",
        waits.lock().unwrap()
    );

    // 2. Faults clear: the second reconcile writes exactly what is left.
    f.clear();
    sim.clear_requests();
    let record2 = Arc::new(Mutex::new(Vec::new()));
    let second = reconcile(&api, &file, &apply_opts(Arc::clone(&record2)))
        .await
        .unwrap();
    metrics.observe_outcome("acme", &second);
    assert_eq!(
        second.status,
        Status::Applied,
        "{:?}",
        second.budget_results
    );
    assert_eq!(
        triples(&record2.lock().unwrap()),
        [(BudgetAction::RemoveBudget, "carol".to_string(), None, "ok")]
    );
    assert_eq!(changes_total(&metrics, "remove_budget", "ok"), 1);
    let budget_writes: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        budget_writes,
        ["DELETE /organizations/acme/settings/billing/budgets/c-1"]
    );
    let st = sim.state();
    let exact: BTreeMap<String, Vec<u64>> = [
        ("(default)", 20),
        ("alice", 30),
        ("bob", 50),
        ("dave", 40),
        ("erin", 60),
    ]
    .into_iter()
    .map(|(l, n)| (l.to_string(), vec![n]))
    .collect();
    assert_eq!(managed(&st.budgets.org), exact);
    for other in others() {
        assert!(st.budgets.org.contains(&other), "{} was touched", other.id);
    }
    assert_eq!(st.budgets.org.len(), others().len() + exact.len());

    // 3. In sync.
    let third = reconcile(&api, &file, &apply_opts(Arc::new(Mutex::new(Vec::new()))))
        .await
        .unwrap();
    assert!(
        third.plan.budget_changes().is_empty(),
        "{:?}",
        third.plan.budgets
    );
    assert!(third.budget_results.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

/// `apply --confirm` prints each budget change as it lands, through the
/// same hook as the seat lines, and the failed one with GitHub's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_confirm_prints_each_budget_change_as_it_lands() {
    let sim = Simulator::start(state(), crate::support::sim_options())
        .await
        .unwrap();
    // carol's DELETE fails on every attempt.
    sim.faults().script(ScriptedFault {
        route: DELETE.into(),
        nth: 1,
        times: 10,
        action: FaultAction::status(500),
    });
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_atomic(&dir.path().join("seats.yaml"), FILE);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .current_dir(dir.path())
        .args(["apply", "seats.yaml", "--confirm", "--max-removals", "100%"])
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", crate::support::TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .env_remove("RUST_LOG")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("_budget ")).collect();
    assert_eq!(
        lines[..5],
        [
            "ok      add_budget alice 30",
            "ok      add_budget dave 40",
            "ok      add_budget erin 60",
            "ok      update_budget (default) 20",
            "ok      update_budget bob 50",
        ],
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines.len(), 6, "{stdout}");
    // A failed budget write fails the command, as a failed seat write does.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        lines[5].starts_with("failed  remove_budget carol: GitHub answered 500"),
        "{stdout}"
    );
}
