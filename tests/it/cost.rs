//! The cost preview of `seatkeeper plan` against the simulator over HTTP:
//! seats by `plan_type` with their monthly price (list prices, or the
//! operator's `--seat-price`), pooled AI credits, removals billed to the
//! cycle's end (its date from a pending cancellation, else the calendar
//! month), the AI-credit use of the people removed (or a note when the
//! usage route does not answer), and `policy.inactivity.action: remove`
//! waiting for the last days of the cycle.

use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use seatkeeper::simulator::usage::SimCredits;
use seatkeeper::simulator::{SimState, Simulator};
use serde_json::Value;

use crate::support::{org_state, sim_options, strings};

const SEATED: &[&str] = &["alice", "bob", "carol", "dave", "erin"];

fn state() -> SimState {
    let members = strings(&["alice", "bob", "carol", "dave", "erin", "ann", "ben", "cat"]);
    let mut st = org_state(&members, &strings(SEATED));
    st.users = members;
    st
}

fn file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let p = dir.path().join("seats.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn plan(sim: &Simulator, path: &PathBuf, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .arg("plan")
        .arg(path)
        .args(extra)
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", sim.token())
        .env_remove("GITHUB_API_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run seatkeeper")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), String::from_utf8_lossy(&o.stderr)))
}

const ALL_AND_THREE: &str = "org: acme\nusers: [alice, bob, carol, dave, erin, ann, ben, cat]\n";

#[tokio::test(flavor = "multi_thread")]
async fn three_new_business_seats_lead_with_the_money() {
    let sim = Simulator::start(state(), sim_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, ALL_AND_THREE);
    let headline = "+3 Business seats: +US$57/month, +5,700 pooled credits";

    let text = stdout(&plan(&sim, &path, &[]));
    assert!(text.contains(&format!("Cost: {headline}")), "{text}");
    assert!(
        text.contains("business seats: 5 -> 8 at US$19/month each: US$95 -> US$152/month"),
        "{text}"
    );
    assert!(
        text.contains("Pooled AI credits: 9,500 -> 15,200 a month (15,200 this cycle)"),
        "{text}"
    );

    // The PR comment: the money comes before the seat summary.
    let md = stdout(&plan(&sim, &path, &["--format", "markdown"]));
    // `$` escaped: two on a line would be read by GitHub as inline math.
    let money = md
        .find(&format!("**{}**", headline.replace('$', "\\$")))
        .expect(&md);
    let summary = md.find("**Plan: 3 to add").expect(&md);
    assert!(money < summary, "{md}");

    let v = json(&plan(&sim, &path, &["--format", "json"]));
    let c = &v["cost"];
    assert_eq!(
        c["plans"],
        serde_json::json!([{"plan_type": "business", "price": 19, "seats_before": 5, "seats_after": 8}])
    );
    assert_eq!(c["monthly_before"], 95);
    assert_eq!(c["monthly_after"], 152);
    assert_eq!(c["credits_before"], 9_500);
    assert_eq!(c["credits_after"], 15_200);
    assert_eq!(c["billed_to_cycle_end"], serde_json::json!([]));
    // Nobody is removed: no usage request at all.
    assert!(
        sim.requests()
            .iter()
            .all(|r| !r.route.ends_with("/ai_credit/usage"))
    );

    // Negotiated prices.
    let text = stdout(&plan(&sim, &path, &["--seat-price", "business=17"]));
    assert!(
        text.contains("Cost: +3 Business seats: +US$51/month, +5,100 pooled credits"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn enterprise_seats_at_their_price() {
    let mut st = state();
    st.plan_type = "enterprise".into();
    let sim = Simulator::start(st, sim_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, ALL_AND_THREE);
    let text = stdout(&plan(&sim, &path, &[]));
    assert!(
        text.contains("Cost: +3 Enterprise seats: +US$117/month, +11,700 pooled credits"),
        "{text}"
    );
    let text = stdout(&plan(&sim, &path, &["--seat-price", "enterprise=30"]));
    assert!(
        text.contains("+US$90/month, +9,000 pooled credits"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removal_is_billed_to_the_cycles_end_with_its_credit_use() {
    let mut st = state();
    st.ai_credits.push(SimCredits::today("erin", 321.0));
    // Another person's use is not erin's.
    st.ai_credits.push(SimCredits::today("alice", 5.0));
    let sim = Simulator::start(st, sim_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "org: acme\nusers: [alice, bob, carol, dave]\n");
    let today = Utc::now().date_naive();
    let next = seatkeeper::plan::cost::next_month(today);

    let v = json(&plan(&sim, &path, &["--format", "json"]));
    let c = &v["cost"];
    assert_eq!(c["cycle_end"], next.to_string());
    assert_eq!(c["cycle_source"], "calendar_month");
    assert_eq!(
        c["billed_to_cycle_end"],
        serde_json::json!([{"login": "erin", "plan_type": "business", "credits_used": 321}])
    );
    assert_eq!(
        c["credits_this_cycle"], 9_500,
        "the pool keeps erin's credits this cycle"
    );
    assert_eq!(c["credits_after"], 7_600);
    let asked: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.route.ends_with("/ai_credit/usage"))
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        asked,
        vec![format!(
            "year={}&month={}&user=erin",
            today.year(),
            today.month()
        )]
    );
    let text = stdout(&plan(&sim, &path, &[]));
    assert!(
        text.contains(&format!(
            "Cost: -1 Business seat: -US$19/month, -1,900 pooled credits (removed seats are billed until {next})"
        )),
        "{text}"
    );
    assert!(
        text.contains("access kept until then: erin (321 credits used this cycle)"),
        "{text}"
    );

    // GitHub says when the cycle ends through a seat pending cancellation.
    let pending = today + Duration::days(9);
    sim.with_state(|s| {
        let i = s.seats.iter().position(|x| x.login == "dave").unwrap();
        s.seats[i].pending_cancellation_date = Some(pending);
    });
    let v = json(&plan(&sim, &path, &["--format", "json"]));
    assert_eq!(v["cost"]["cycle_end"], pending.to_string(), "{v}");
    assert_eq!(v["cost"]["cycle_source"], "pending_cancellation");
    // dave's seat pending cancellation comes back only because the file
    // lists him; without him it is not re-added, and not counted.
    let without = file(&dir, "org: acme\nusers: [alice, bob, carol]\n");
    let v = json(&plan(&sim, &without, &["--format", "json"]));
    assert!(
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] != "add_user"),
        "{v}"
    );
    assert_eq!(v["cost"]["plans"][0]["seats_before"], 4, "dave is not held");
    let path = file(&dir, "org: acme\nusers: [alice, bob, carol, dave]\n");

    // No billing permission: the plan goes on, with a note.
    sim.with_state(|s| s.ai_credit_usage_hidden = true);
    let out = plan(&sim, &path, &["--format", "json"]);
    let v = json(&out);
    assert!(
        v["cost"]["usage_note"]
            .as_str()
            .unwrap()
            .contains("answered 404"),
        "{v}"
    );
    assert!(v["cost"]["billed_to_cycle_end"][0]["credits_used"].is_null());
    assert_eq!(v["cost"]["billed_to_cycle_end"][0]["login"], "erin");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_seat_price_is_refused() {
    let sim = Simulator::start(state(), sim_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, ALL_AND_THREE);
    for (bad, why) in [
        ("team=4", "unknown plan `team`"),
        ("business=1.5", "whole US dollars"),
        ("business", "expected PLAN=DOLLARS"),
    ] {
        let out = plan(&sim, &path, &["--seat-price", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{bad}: {err}");
    }
    assert!(sim.requests().is_empty(), "refused before asking GitHub");
}

/// `action: remove` decides early and acts late: before the last 3 days of
/// the cycle an idle seat is reported with the day it will go; in them it
/// is removed.
#[tokio::test(flavor = "multi_thread")]
async fn idle_seats_are_removed_in_the_last_days_of_the_cycle() {
    let mut st = state();
    let long_ago = Utc::now() - Duration::days(400);
    for x in st.seats.iter_mut() {
        x.created_at = long_ago;
        x.last_activity_at = Some(if x.login == "erin" {
            long_ago
        } else {
            Utc::now()
        });
    }
    let sim = Simulator::start(st, sim_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        "org: acme\npolicy:\n  inactivity: {days: 60, action: remove}\nusers: [alice, bob, carol, dave, erin]\n",
    );
    let mut early: NaiveDate = Utc::now().date_naive();
    if early.day() > 25 {
        early = seatkeeper::plan::cost::next_month(early);
    }
    let end = seatkeeper::plan::cost::next_month(early);
    let from = end - Duration::days(3);

    let v = json(&plan(
        &sim,
        &path,
        &["--format", "json", "--today", &early.to_string()],
    ));
    assert!(v["changes"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["idle_removal_from"], from.to_string());
    assert_eq!(v["inactive"][0]["login"], "erin");
    let text = stdout(&plan(&sim, &path, &["--today", &early.to_string()]));
    assert!(
        text.contains(&format!("Note: idle seats are removed from {from}")),
        "{text}"
    );

    let v = json(&plan(
        &sim,
        &path,
        &["--format", "json", "--today", &from.to_string()],
    ));
    assert_eq!(v["changes"][0]["login"], "erin", "{v}");
    assert_eq!(v["changes"][0]["reason"], "inactive");
    assert!(v.get("idle_removal_from").is_none());
}

/// An enterprise: seats granted through enterprise teams and directly are
/// priced by the listing's `plan_type`, and the AI-credit use of a person
/// removed is read from the enterprise's usage report.
#[tokio::test(flavor = "multi_thread")]
async fn an_enterprise_reads_its_own_usage_report() {
    use seatkeeper::reconcile::{Mode, Options, reconcile};
    use seatkeeper::simulator::SimTeam;
    let mut st = SimState::new("acme");
    st.enterprise = Some("big".into());
    st.plan_type = "enterprise".into();
    st.enterprise_members = strings(&["carol", "dave", "erin"]);
    st.enterprise_teams = vec![SimTeam::new("ent:platform", &["carol", "dave"])];
    st.selected_enterprise_teams.insert("ent:platform".into());
    st.enterprise_selected_users = ["erin".to_string()].into();
    st.normalize(Utc::now());
    st.ai_credits.push(SimCredits::today("erin", 4_000.0));
    let sim = Simulator::start(st, sim_options()).await.unwrap();
    let api = crate::support::sim_client(&sim).await;
    let file = crate::support::loaded("enterprise: big\nteams: [platform]\n");
    let mut out = reconcile(
        &api,
        &file,
        &Options {
            mode: Mode::Plan,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let today = Utc::now().date_naive();
    seatkeeper::reconcile::cost::read_usage(&api, &out.scope, &mut out.plan, today).await;
    let cost = out.plan.cost.unwrap();
    assert_eq!(
        cost.headline(),
        format!(
            "-1 Enterprise seat: -US$39/month, -3,900 pooled credits (removed seats are billed until {})",
            cost.cycle_end
        )
    );
    assert_eq!(cost.billed_to_cycle_end[0].login, "erin");
    assert_eq!(cost.billed_to_cycle_end[0].credits_used, Some(4_000));
    let asked: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.route.ends_with("/ai_credit/usage"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        asked,
        vec!["/enterprises/big/settings/billing/ai_credit/usage".to_string()]
    );
}

/// The controller's metrics: the monthly price of the seats held (at the
/// operator's price) and this month's AI credits from the usage report,
/// read once for the start-up reconcile.
#[tokio::test(flavor = "multi_thread")]
async fn the_controller_exports_seat_cost_and_credits_used() {
    use crate::support::{Daemon, metric};
    let mut st = state();
    st.ai_credits.push(SimCredits::today("alice", 120.0));
    st.ai_credits.push(SimCredits::today("bob", 30.4));
    let sim = Simulator::start(st, sim_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, ALL_AND_THREE);
    let args = [
        "--config",
        path.to_str().unwrap(),
        "--schedule",
        "0 0 0 1 1 *",
        "--dry-run",
        "--seat-price",
        "business=17",
    ];
    let d = Daemon::start(&sim, &args, &[]);
    let body = d
        .wait_for("both cost metrics", || async {
            let m = d.get("/metrics").await;
            let org = [("org", "acme")];
            let cost = metric(&m.body, "seatkeeper_seat_cost_dollars_monthly", &org)?;
            let used = metric(&m.body, "seatkeeper_ai_credits_used", &org)?;
            Some((cost, used))
        })
        .await;
    assert_eq!(
        body,
        (5.0 * 17.0, 150.0),
        "5 seats held at US$17; 150 credits"
    );
    let usage: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route.ends_with("/ai_credit/usage"))
        .collect();
    assert_eq!(usage.len(), 1, "one read for the whole org");
    assert!(
        usage[0]
            .query
            .as_deref()
            .is_some_and(|q| !q.contains("user="))
    );
}
