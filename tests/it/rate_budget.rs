//! The controller's rate budget (issue 21 item 4), end to end: the real
//! `seatkeeper run` against the simulator, whose `x-ratelimit-limit` is the
//! limit it learns. The scheduling decisions themselves are table-tested in
//! `src/rate.rs`; here: the schedule stretches, `/status` and the metrics say
//! when the next reconcile may run, the hourly AI-credit usage read is
//! counted and planned with the reconcile it follows, a steady state of 304s
//! costs nothing, and an absurd `x-ratelimit-limit` is ignored and logged
//! once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use seatkeeper::simulator::{SimOptions, Simulator, generated_login, generated_state};

use crate::support::{Daemon, TOKEN, metric, write_atomic};

/// Org `acme` of `seats` direct seats, primary limit `limit` an hour.
async fn sim(seats: usize, limit: u64) -> Simulator {
    Simulator::start(
        generated_state("acme", seats, 0),
        SimOptions {
            token: TOKEN.into(),
            rate_limit: limit,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap()
}

/// A daemon reconciling every second (dry run: the budget, not the writes,
/// is under test), with an in-sync seats.yaml.
fn daemon(sim: &Simulator, dir: &tempfile::TempDir, seats: usize, budget: &str) -> Daemon {
    daemon_of(sim, dir, &seats_yaml(seats, ""), budget)
}

/// seats.yaml keeping the `seats` generated logins, after `head`.
fn seats_yaml(seats: usize, head: &str) -> String {
    let users: String = (0..seats)
        .map(|i| format!("  - {}\n", generated_login(i)))
        .collect();
    format!("org: acme\n{head}users:\n{users}")
}

/// A daemon reconciling every second (dry run) with `yaml` as seats.yaml.
fn daemon_of(sim: &Simulator, dir: &tempfile::TempDir, yaml: &str, budget: &str) -> Daemon {
    let path = dir.path().join("seats.yaml");
    write_atomic(&path, yaml);
    Daemon::start(
        sim,
        &[
            "--config",
            path.to_str().unwrap(),
            "--schedule",
            "* * * * * *",
            "--dry-run",
            "--rate-budget",
            budget,
        ],
        &[],
    )
}

async fn status(d: &Daemon) -> Value {
    let r = d.get("/status").await;
    assert_eq!(r.status, 200);
    serde_json::from_str(&r.body).unwrap()
}

async fn metrics(d: &Daemon) -> String {
    d.get("/metrics").await.body
}

#[tokio::test]
async fn the_budget_stretches_the_schedule_and_says_when_the_next_reconcile_runs() {
    // 1,050 seats: 11 pages + the billing details = 12 points, and the
    // hourly AI-credit usage read made with the first reconcile 1 more.
    // 10% of 100 an hour is 10: the first reconcile (cost unknown) runs,
    // the next one would take 13 + 12 > 10 and waits until the first is an
    // hour old.
    let sim = sim(1_050, 100).await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&sim, &dir, 1_050, "10%");
    d.wait_for("the first reconcile", || async {
        (d.reconciles().await >= 1.0).then_some(())
    })
    .await;
    let st = d
        .wait_for("the budget's verdict", || async {
            let st = status(&d).await;
            st["orgs"][0]["budget_wait"].is_string().then_some(st)
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        d.reconciles().await,
        1.0,
        "the every-second schedule stretched"
    );
    let org = &st["orgs"][0];
    assert_eq!(org["budget_wait"], "rate_budget");
    assert_eq!(org["last_points"], 13);
    let at: DateTime<Utc> = org["next_reconcile_allowed_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let wait = at - Utc::now();
    assert!(
        wait > chrono::Duration::minutes(55) && wait <= chrono::Duration::minutes(60),
        "next at {at}"
    );
    let m = metrics(&d).await;
    let next = metric(
        &m,
        "seatkeeper_next_reconcile_allowed_timestamp_seconds",
        &[("org", "acme")],
    )
    .unwrap();
    assert!((next - at.timestamp() as f64).abs() < 2.0, "{next} vs {at}");
    assert_eq!(
        metric(&m, "seatkeeper_rate_budget_points_hour", &[]),
        Some(10.0)
    );
    assert_eq!(
        metric(&m, "seatkeeper_github_points_reconcile", &[("org", "acme")]),
        Some(13.0)
    );
    // Every point GitHub counted is in the budget's hour, the usage read's
    // too.
    assert_eq!(usage_reads(&sim), 1);
    assert_eq!(sim.rate_limit().used, 13);
    assert_eq!(metric(&m, "seatkeeper_github_points_hour", &[]), Some(13.0));
}

/// Requests the controller made for the AI-credit usage metric.
fn usage_reads(sim: &Simulator) -> u64 {
    sim.requests()
        .iter()
        .filter(|r| r.path.contains("/ai_credit/usage"))
        .count() as u64
}

#[tokio::test]
async fn a_due_usage_read_is_planned_into_the_next_reconcile() {
    // A reconcile that fails (seats.yaml names a team GitHub does not know)
    // spends its points but reads no usage: the hourly read is still due,
    // so the next run is planned at its estimate plus the read's point.
    // 150 seats: 2 pages + the billing details + the team lookup = 4
    // points. 8% of 100 an hour is 8: 4 spent + 4 would fit, 4 + 4 + the
    // read's 1 does not.
    let sim = sim(150, 100).await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon_of(&sim, &dir, &seats_yaml(150, "teams:\n  - ghost\n"), "8%");
    let failed = || async {
        let m = metrics(&d).await;
        metric(
            &m,
            "seatkeeper_reconcile_total",
            &[("org", "acme"), ("result", "error")],
        )
        .unwrap_or(0.0)
    };
    d.wait_for("the first reconcile, failed", || async {
        (failed().await >= 1.0).then_some(())
    })
    .await;
    let st = d
        .wait_for("the budget's verdict", || async {
            let st = status(&d).await;
            st["orgs"][0]["last_points"].is_u64().then_some(st)
        })
        .await;
    assert_eq!(st["orgs"][0]["last_points"], 4, "{st}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(failed().await, 1.0, "the every-second schedule stretched");
    assert_eq!(status(&d).await["orgs"][0]["budget_wait"], "rate_budget");
    assert_eq!(usage_reads(&sim), 0, "a failed reconcile reads no usage");
}

#[tokio::test]
async fn a_steady_state_of_unchanged_pages_costs_no_point() {
    let sim = sim(1_050, 5_000).await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&sim, &dir, 1_050, "50%");
    d.wait_for("three reconciles", || async {
        (d.reconciles().await >= 3.0).then_some(())
    })
    .await;
    // Only the cold read and the hourly AI-credit usage read made with it
    // cost points: every later page and the billing details were 304s.
    assert_eq!(usage_reads(&sim), 1);
    assert_eq!(sim.rate_limit().used, 13);
    let m = metrics(&d).await;
    assert_eq!(
        metric(&m, "seatkeeper_github_points_reconcile", &[("org", "acme")]),
        Some(0.0)
    );
    assert_eq!(metric(&m, "seatkeeper_github_points_hour", &[]), Some(13.0));
    assert_eq!(
        metric(&m, "seatkeeper_rate_budget_points_hour", &[]),
        Some(2_500.0)
    );
    let st = status(&d).await;
    assert!(st["orgs"][0]["budget_wait"].is_null(), "{st}");
}

#[tokio::test]
async fn an_absurd_rate_limit_header_is_ignored_and_logged_once() {
    // x-ratelimit-limit: 10 is below GitHub's smallest limit (60, without a
    // token): ignored; the budget plans with a token's 5,000.
    let sim = sim(150, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&sim, &dir, 150, "50%");
    d.wait_for("three reconciles", || async {
        (d.reconciles().await >= 3.0).then_some(())
    })
    .await;
    let m = metrics(&d).await;
    assert_eq!(
        metric(&m, "seatkeeper_rate_budget_points_hour", &[]),
        Some(2_500.0)
    );
    let warned = d.log_text().matches("not a plausible hourly limit").count();
    assert_eq!(warned, 1, "{}", d.log_text());
}
