//! Planner benchmark: 100,000 desired users against 100,000 live seats, half
//! overlapping, with 1,000 teams (half desired). Target: median under 50 ms.
//!
//! Run: `cargo bench --bench plan`.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, black_box, criterion_group, criterion_main};

use seatkeeper::config::{Inactivity, InactivityAction, Policy, Scope};
use seatkeeper::plan::{
    Desired, DesiredUser, LiveSeat, LiveState, SeatManagementSetting, TeamKind, TeamRef, plan,
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
    let seats = (0..n)
        .map(|i| LiveSeat {
            login: format!("user-{i}"),
            // Every tenth seat is granted by one of 1,000 teams.
            assigning_team: (i % 10 == 0).then(|| TeamRef {
                kind: TeamKind::Org,
                slug: format!("team-{}", (i / 10) % 1000),
            }),
            pending_cancellation_date: (i % 97 == 0).then_some(today + Duration::days(8)),
            last_activity_at: (i % 5 != 0).then(|| {
                (today - Duration::days(i as i64 % 120))
                    .and_hms_opt(8, 0, 0)
                    .unwrap()
                    .and_utc()
            }),
            created_at: (today - Duration::days(400))
                .and_hms_opt(8, 0, 0)
                .unwrap()
                .and_utc(),
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
            }),
            ..Policy::default()
        },
        ineligible: BTreeMap::new(),
    };
    let live = LiveState {
        seat_management_setting: Some(SeatManagementSetting::AssignSelected),
        seats,
        team_members: BTreeMap::new(),
    };
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
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
