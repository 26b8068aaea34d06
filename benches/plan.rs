//! Planner benchmark: 100,000 desired users against 100,000 live seats, half
//! overlapping, with 1,000 teams (half desired), next to the irreducible work
//! on the same data in the same run: lower-casing, hashing and sorting the
//! 200,000 logins. Target (scripts/bench.sh): planner / baseline <= 3.
//!
//! After criterion's two measurements, the bench times the two side by side
//! in pairs (plan, baseline, then baseline, plan, …) and prints the median of
//! the per-pair ratios with their spread: on a shared machine the load moves
//! between criterion's two runs (the baseline's median has moved from 20 to
//! 57 ms between runs), while the two halves of one pair see the same load.
//!
//! Run: `cargo bench --bench plan`.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, black_box, criterion_group};

use seatkeeper::config::{Inactivity, InactivityAction, Policy, Scope};
use seatkeeper::plan::{
    Desired, DesiredUser, Grant, GrantSeat, Limits, LiveState, LiveUser, TeamRef, plan,
};

fn inputs() -> (Desired, LiveState, NaiveDate) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let n = 100_000;
    // Desired: users 50,000..150,000; live: users 0..100,000 (half overlap).
    let users = (n / 2..n + n / 2)
        .map(|i| DesiredUser {
            login: format!("User-{i}"),
            expires: (i % 10 == 0).then(|| today + Duration::days(30)),
        })
        .collect();
    let teams: Vec<String> = (0..1000).step_by(2).map(|t| format!("team-{t}")).collect();
    let created = (today - Duration::days(400))
        .and_hms_opt(8, 0, 0)
        .unwrap()
        .and_utc();
    let users_live = (0..n)
        .map(|i| LiveUser {
            login: format!("user-{i}"),
            // Every tenth seat is granted by one of 1,000 teams.
            grants: vec![GrantSeat {
                grant: if i % 10 == 0 {
                    Grant::Team(TeamRef::org(&format!("team-{}", (i / 10) % 1000)))
                } else {
                    Grant::Direct
                },
                pending_cancellation_date: (i % 97 == 0).then_some(today + Duration::days(8)),
                created_at: created,
            }],
            last_activity_at: (i % 5 != 0).then(|| {
                (today - Duration::days(i as i64 % 120))
                    .and_hms_opt(8, 0, 0)
                    .unwrap()
                    .and_utc()
            }),
            last_authenticated_at: None,
            plan_type: Default::default(),
        })
        .collect();
    let desired = Desired {
        scope: Scope::Org("acme".into()),
        users,
        teams,
        policy: Policy {
            inactivity: Some(Inactivity {
                days: 60,
                action: InactivityAction::Report,
                remind_days: None,
                act_before_cycle_end_days: None,
            }),
            ..Policy::default()
        },
        limits: Limits::default(),
        ineligible: BTreeMap::new(),
    };
    let live = LiveState::from_users(users_live);
    (desired, live, today)
}

fn bench(c: &mut Criterion) {
    let (desired, live, today) = inputs();
    let p = plan(&desired, &live, today);
    eprintln!(
        "plan: {} changes, seats {} -> {}, {} idle",
        p.changes.len(),
        p.seats_before,
        p.seats_after,
        p.inactive.len()
    );
    let mut g = c.benchmark_group("planner");
    g.sample_size(20);
    g.bench_function("plan 100k desired x 100k live, 1k teams", |b| {
        // The plan holds ~160,000 strings; freeing them is the caller's cost.
        b.iter_with_large_drop(|| plan(black_box(&desired), black_box(&live), today))
    });
    let logins = logins(&desired, &live);
    g.bench_function("baseline: lowercase, hash, sort 200k logins", |b| {
        b.iter_with_large_drop(|| baseline(black_box(&logins)))
    });
    g.finish();
}

fn logins<'a>(desired: &'a Desired, live: &'a LiveState) -> Vec<&'a str> {
    desired
        .users
        .iter()
        .map(|u| u.login.as_str())
        .chain(live.users.iter().map(|u| u.login.as_str()))
        .collect()
}

/// The work no planner can skip on the same inputs: lower-case every
/// login, hash each into a set, sort them.
fn baseline(logins: &[&str]) -> (Vec<String>, usize) {
    let mut lower: Vec<String> = logins.iter().map(|l| l.to_ascii_lowercase()).collect();
    let set: std::collections::HashSet<&str, foldhash::fast::FixedState> =
        lower.iter().map(String::as_str).collect();
    let n = set.len();
    drop(set);
    lower.sort_unstable();
    (lower, n)
}

/// Pairs timed side by side: see the module documentation.
const PAIRS: usize = 21;

fn paired() {
    let (desired, live, today) = inputs();
    let logins = logins(&desired, &live);
    let time = |plan_first: bool| {
        let run_plan = || {
            let t = std::time::Instant::now();
            let p = plan(black_box(&desired), black_box(&live), today);
            let d = t.elapsed();
            drop(p);
            d
        };
        let run_base = || {
            let t = std::time::Instant::now();
            let b = baseline(black_box(&logins));
            let d = t.elapsed();
            drop(b);
            d
        };
        if plan_first {
            let p = run_plan();
            (p, run_base())
        } else {
            let b = run_base();
            (run_plan(), b)
        }
    };
    // Warm caches and the allocator once each way.
    time(true);
    time(false);
    let mut pairs: Vec<(f64, f64)> = (0..PAIRS)
        .map(|i| {
            let (p, b) = time(i % 2 == 0);
            (p.as_secs_f64() * 1e3, b.as_secs_f64() * 1e3)
        })
        .collect();
    pairs.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
    let ratio = |(p, b): (f64, f64)| p / b;
    let (lo, mid, hi) = (pairs[0], pairs[PAIRS / 2], pairs[PAIRS - 1]);
    println!(
        "planner paired: ratio median {:.2} ({:.1} ms / {:.1} ms), spread {:.2}-{:.2} over {PAIRS} pairs",
        ratio(mid),
        mid.0,
        mid.1,
        ratio(lo),
        ratio(hi)
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Not while profiling (`--profile-time`) or listing benches.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a.starts_with("--profile-time") || a == "--list")
    {
        paired();
    }
}
