//! Planner benchmark: 100,000 desired users against 100,000 live seats, half
//! overlapping, with 1,000 teams (half desired), next to the irreducible work
//! on the same data in the same run: lower-casing, hashing and sorting the
//! 200,000 logins. Target (scripts/bench.sh): planner / baseline <= 3.
//!
//! Run: `cargo bench --bench plan`.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, black_box, criterion_group, criterion_main};

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
    // The work no planner can skip on the same inputs: lower-case every
    // login, hash each into a set, sort them.
    let logins: Vec<&str> = desired
        .users
        .iter()
        .map(|u| u.login.as_str())
        .chain(live.users.iter().map(|u| u.login.as_str()))
        .collect();
    g.bench_function("baseline: lowercase, hash, sort 200k logins", |b| {
        b.iter_with_large_drop(|| {
            let mut lower: Vec<String> = black_box(&logins)
                .iter()
                .map(|l| l.to_ascii_lowercase())
                .collect();
            let set: std::collections::HashSet<&str, foldhash::fast::FixedState> =
                lower.iter().map(String::as_str).collect();
            let n = set.len();
            drop(set);
            lower.sort_unstable();
            (lower, n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
