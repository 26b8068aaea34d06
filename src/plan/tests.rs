use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::rules::close;
use super::*;
use crate::config::{Inactivity, InactivityAction, MaxRemovals, RemovalMode};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn ago(days: i64) -> DateTime<Utc> {
    (today() - chrono::Duration::days(days))
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
}

/// A user from a compact spec: `login` (a direct grant), `login@team`,
/// `login@ent:team`, `login@org:acme` (an organization's grant), several
/// grants joined by `,` (`login@direct,ent:x`), `!` after a grant for that
/// grant pending cancellation (after the login: the direct grant), and `~N`
/// for N days since the last activity (default 1).
fn user(spec: &str) -> LiveUser {
    let (spec, idle) = match spec.split_once('~') {
        Some((s, d)) => (s, d.parse::<i64>().ok()),
        None => (spec, Some(1)),
    };
    let (login, grants) = match spec.split_once('@') {
        Some((l, g)) => (l, g),
        None => match spec.strip_suffix('!') {
            Some(l) => (l, "direct!"),
            None => (spec, "direct"),
        },
    };
    let grants = grants
        .split(',')
        .map(|g| {
            let (g, pending) = match g.strip_suffix('!') {
                Some(g) => (g, Some(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())),
                None => (g, None),
            };
            let grant = if g == "direct" {
                Grant::Direct
            } else if let Some(org) = g.strip_prefix("org:") {
                Grant::Organization {
                    org: org.into(),
                    team: None,
                }
            } else if g.starts_with("ent:") {
                Grant::Team(TeamRef::enterprise(g))
            } else {
                Grant::Team(TeamRef::org(g))
            };
            GrantSeat {
                grant,
                pending_cancellation_date: pending,
                created_at: ago(400),
            }
        })
        .collect();
    LiveUser {
        login: login.to_string(),
        grants,
        last_activity_at: idle.map(ago),
        last_authenticated_at: None,
        plan_type: Default::default(),
    }
}

fn desired(users: &[&str], teams: &[&str], policy: Policy) -> Desired {
    Desired {
        scope: Scope::Org("acme".into()),
        users: users
            .iter()
            .map(|u| match u.split_once(" expires ") {
                Some((l, d)) => DesiredUser {
                    login: l.to_string(),
                    expires: Some(d.parse().unwrap()),
                },
                None => DesiredUser {
                    login: u.to_string(),
                    expires: None,
                },
            })
            .collect(),
        teams: teams.iter().map(|t| t.to_string()).collect(),
        // The file's caps only: the default cap has its own test.
        limits: Limits {
            max_removals: policy
                .max_removals
                .map(|m| (m, LimitSource::File))
                .into_iter()
                .collect(),
            max_seats: policy.max_seats.map(|n| (n, LimitSource::File)),
        },
        policy,
        ineligible: BTreeMap::new(),
    }
}

fn finding(code: SkipCode, message: &str) -> Finding {
    Finding {
        code,
        message: message.to_string(),
    }
}

fn live(seats: &[&str]) -> LiveState {
    LiveState::from_users(seats.iter().map(|s| user(s)).collect())
}

/// A plan's changes as compact strings: `+alice(new)`, `-team:x(not_desired)`.
fn summary(p: &Plan) -> Vec<String> {
    p.changes
        .iter()
        .map(|c| {
            let sign = if c.action.is_removal() { "-" } else { "+" };
            let team = if matches!(c.action, Action::AddTeam | Action::RemoveTeam) {
                "team:"
            } else {
                ""
            };
            format!("{sign}{team}{}({})", c.name, c.reason.as_str())
        })
        .collect()
}

fn enforce() -> Policy {
    Policy::default()
}

#[test]
fn rules_table() {
    let idle_remove = Policy {
        inactivity: Some(Inactivity {
            days: 60,
            action: InactivityAction::Remove,
            remind_days: None,
            act_before_cycle_end_days: Some(31),
        }),
        ..Policy::default()
    };
    let protected = Policy {
        protected: vec!["CEO".into()],
        ..Policy::default()
    };
    let additive = Policy {
        removals: RemovalMode::Additive,
        ..Policy::default()
    };
    // (name, desired users, desired teams, policy, live seats, expected changes)
    type Case<'a> = (
        &'a str,
        Vec<&'a str>,
        Vec<&'a str>,
        Policy,
        Vec<&'a str>,
        Vec<&'a str>,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("no changes when equal", vec!["alice"], vec![], enforce(), vec!["alice"], vec![]),
        ("new user", vec!["alice", "bob"], vec![], enforce(), vec!["alice"], vec!["+bob(new)"]),
        ("not desired removed", vec!["alice"], vec![], enforce(), vec!["alice", "bob"], vec!["-bob(not_desired)"]),
        ("case-insensitive match", vec!["Alice"], vec![], enforce(), vec!["alice"], vec![]),
        ("pending seat restored", vec!["carol"], vec![], enforce(), vec!["carol!"], vec!["+carol(restore)"]),
        ("pending seat not desired left alone", vec![], vec!["t"], enforce(), vec!["carol!", "x@t"], vec![]),
        ("team-granted seat never removed directly", vec![], vec!["platform"], enforce(), vec!["dave@platform"], vec![]),
        ("team add", vec![], vec!["platform"], enforce(), vec![], vec!["+team:platform(new)"]),
        ("team removal", vec!["alice"], vec![], enforce(), vec!["alice", "dave@old"], vec!["-team:old(not_desired)"]),
        ("desired user keeps seat when team goes", vec!["dave"], vec![], enforce(), vec!["dave@old"], vec!["+dave(team_removed)", "-team:old(not_desired)"]),
        ("user granted by kept team: nothing", vec!["dave"], vec!["platform"], enforce(), vec!["dave@platform"], vec![]),
        ("expired user removed", vec!["eve expires 2026-11-01"], vec![], enforce(), vec!["eve"], vec!["-eve(expired)"]),
        ("expires today still desired", vec!["eve expires 2026-11-23"], vec![], enforce(), vec!["eve"], vec![]),
        ("expired user not added", vec!["eve expires 2026-11-01", "a"], vec![], enforce(), vec!["a"], vec![]),
        ("protected never removed", vec!["a"], vec![], protected.clone(), vec!["a", "ceo"], vec![]),
        ("protected keeps seat when team goes", vec!["a"], vec![], protected, vec!["a", "ceo@old"], vec!["+ceo(team_removed)", "-team:old(not_desired)"]),
        ("additive removes nothing", vec!["a"], vec![], additive, vec!["a", "b", "c@old"], vec![]),
        ("idle desired seat removed", vec!["a", "b"], vec![], idle_remove.clone(), vec!["a~90", "b~10"], vec!["-a(inactive)"]),
        ("idle cancelled seat not restored", vec!["a"], vec![], idle_remove.clone(), vec!["a!~90"], vec![]),
        ("idle team seat not removed", vec![], vec!["t"], idle_remove.clone(), vec!["a@t~90"], vec![]),
        ("idle seat not re-granted when its team goes", vec!["a", "b"], vec![], idle_remove, vec!["a@old~90", "b@old~10"], vec!["+b(team_removed)", "-team:old(not_desired)"]),
        ("enterprise team seat unmanaged from org", vec![], vec![], enforce(), vec!["z@ent:e"], vec![]),
        ("apply order", vec!["new1", "kept"], vec!["t2"], enforce(), vec!["kept@t1", "gone"], vec!["+team:t2(new)", "+kept(team_removed)", "+new1(new)", "-team:t1(not_desired)", "-gone(not_desired)"]),
    ];
    for (name, users, teams, policy, seats, want) in cases {
        let p = plan(&desired(&users, &teams, policy), &live(&seats), today());
        assert_eq!(summary(&p), want, "case: {name}");
    }
}

#[test]
fn removals_shown_as_github_spells_them_adds_as_written() {
    let p = plan(
        &desired(&["NewUser"], &[], enforce()),
        &live(&["OldUser"]),
        today(),
    );
    assert_eq!(summary(&p), vec!["+NewUser(new)", "-OldUser(not_desired)"]);
}

#[test]
fn seat_counts_and_rosters() {
    let mut l = live(&["a", "b", "c!", "d@old"]);
    l.team_members
        .insert("platform".into(), vec!["p1".into(), "a".into()]);
    let p = plan(&desired(&["a", "c"], &["platform"], enforce()), &l, today());
    // before: a, b, d (c pending); after: a, c (restored), p1 (team); b and d go.
    assert_eq!(p.seats_before, 3);
    assert_eq!(
        p.roster_before.iter().collect::<Vec<_>>(),
        vec!["a", "b", "d"]
    );
    assert_eq!(
        p.roster_after.iter().collect::<Vec<_>>(),
        vec!["a", "c", "p1"]
    );
    assert_eq!(p.seats_after, 3);
    assert_eq!(p.restores(), 1);
}

#[test]
fn empty_and_unknown_teams() {
    let mut l = live(&[]);
    l.team_members.insert("ghosts".into(), vec![]);
    let p = plan(
        &desired(&[], &["ghosts", "mystery"], enforce()),
        &l,
        today(),
    );
    assert_eq!(p.empty_teams, vec!["ghosts"]);
    assert_eq!(p.unknown_teams, vec!["mystery"]);
    assert_eq!(summary(&p), vec!["+team:mystery(new)"]);
}

#[test]
fn guards() {
    let cap = |n| Policy {
        max_removals: Some(n),
        ..Policy::default()
    };
    let seats: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
    let seat_refs: Vec<&str> = seats.iter().map(String::as_str).collect();
    let keep: Vec<&str> = seat_refs[..17].to_vec();
    #[rustfmt::skip]
    let cases: Vec<(&str, Policy, Vec<&str>, bool)> = vec![
        ("3 removals under a cap of 3", cap(MaxRemovals::Count(3)), keep.clone(), false),
        ("3 removals over a cap of 2", cap(MaxRemovals::Count(2)), keep.clone(), true),
        ("3 of 20 is 15%: under 15%", cap(MaxRemovals::Percent(15.0)), keep.clone(), false),
        ("3 of 20 is 15%: over 10%", cap(MaxRemovals::Percent(10.0)), keep.clone(), true),
        ("max_seats over", Policy { max_seats: Some(20), ..Policy::default() }, [seat_refs.clone(), vec!["extra"]].concat(), true),
        ("max_seats at", Policy { max_seats: Some(21), ..Policy::default() }, [seat_refs.clone(), vec!["extra"]].concat(), false),
        ("shrinking above the cap is allowed", Policy { max_seats: Some(5), ..Policy::default() }, keep.clone(), false),
        ("empty desired refused", Policy::default(), vec![], true),
        ("empty desired allowed", Policy { allow_empty: true, ..Policy::default() }, vec![], false),
        ("empty desired additive is harmless", Policy { removals: RemovalMode::Additive, ..Policy::default() }, vec![], false),
    ];
    for (name, policy, users, tripped) in cases {
        let p = plan(&desired(&users, &[], policy), &live(&seat_refs), today());
        assert_eq!(p.guard.tripped, tripped, "case: {name}: {:?}", p.guard);
        assert_eq!(p.guard.tripped, !p.guard.reasons.is_empty());
    }
}

#[test]
fn team_removal_counts_toward_max_removals() {
    let policy = Policy {
        max_removals: Some(MaxRemovals::Count(1)),
        ..Policy::default()
    };
    let p = plan(
        &desired(&["a"], &[], policy),
        &live(&["a", "x@old", "y@old"]),
        today(),
    );
    assert!(p.guard.tripped);
    assert_eq!(
        p.guard.reasons,
        vec![GuardReason::MaxRemovals {
            removals: 2,
            limit: "1".into(),
            set_by: LimitSource::File,
        }]
    );
}

#[test]
fn ineligible_users_skipped_not_removed() {
    let mut d = desired(&["a", "b"], &[], enforce());
    d.ineligible.insert(
        "b".into(),
        finding(SkipCode::NotAMember, "not a member of acme"),
    );
    let p = plan(&d, &live(&["b"]), today());
    assert_eq!(summary(&p), vec!["+a(new)"]);
    assert_eq!(p.skipped[0].login, "b");
}

/// Issue 19 item 9: `policy.remove_ineligible` removes the seats of listed
/// logins found ineligible; off (the default) they keep them. Protected
/// logins and `removals: additive` still win, and the removals count
/// toward the removal cap like every removal.
#[test]
fn remove_ineligible_is_an_explicit_option() {
    let on = |p: Policy| Policy {
        remove_ineligible: true,
        ..p
    };
    let out = |code| finding(code, "not in an eligible team (eng)");
    #[rustfmt::skip]
    // (what, policy, listed, seated, want changes, guarded)
    type Case<'a> = (&'a str, Policy, &'a [&'a str], &'a [&'a str], &'a [&'a str], bool);
    let cases: &[Case] = &[
        // (what, policy, listed, seated, want changes, guarded)
        ("off: kept", enforce(), &["a", "b"], &["a", "b"], &[], false),
        (
            "on: removed",
            on(enforce()),
            &["a", "b"],
            &["a", "b"],
            &["-b(ineligible)"],
            false,
        ),
        (
            "on, not seated: nothing to remove",
            on(enforce()),
            &["a", "b"],
            &["a"],
            &[],
            false,
        ),
        (
            "on, protected: kept",
            on(Policy {
                protected: vec!["B".into()],
                ..enforce()
            }),
            &["a", "b"],
            &["a", "b"],
            &[],
            false,
        ),
        (
            "on, additive: kept",
            on(Policy {
                removals: RemovalMode::Additive,
                ..enforce()
            }),
            &["a", "b"],
            &["a", "b"],
            &[],
            false,
        ),
        (
            "on, over the removal cap: guarded",
            on(Policy {
                max_removals: Some(MaxRemovals::Count(0)),
                ..enforce()
            }),
            &["a", "b"],
            &["a", "b"],
            &["-b(ineligible)"],
            true,
        ),
    ];
    for (what, policy, listed, seated, want, guarded) in cases {
        let mut d = desired(listed, &[], policy.clone());
        d.ineligible
            .insert("b".into(), out(SkipCode::NotInEligibleTeam));
        let p = plan(&d, &live(seated), today());
        assert_eq!(summary(&p), *want, "{what}");
        assert_eq!(p.guard.tripped, *guarded, "{what}");
        assert!(
            p.changes.iter().all(|c| c.action != Action::AddUser),
            "{what}"
        );
    }
}

#[test]
fn inactivity_report_lists_idle_seats_only() {
    let policy = Policy {
        inactivity: Some(Inactivity {
            days: 60,
            action: InactivityAction::Report,
            remind_days: None,
            act_before_cycle_end_days: Some(31),
        }),
        ..Policy::default()
    };
    let mut l = live(&["a~90", "b~10", "c!~200"]);
    let mut never = user("never");
    never.last_activity_at = None;
    never.grants[0].created_at = ago(70);
    l.users.push(never);
    let p = plan(
        &desired(&["a", "b", "c", "never"], &[], policy),
        &l,
        today(),
    );
    let idle: Vec<(&str, i64, bool)> = p
        .inactive
        .iter()
        .map(|i| (i.login.as_str(), i.days_idle, i.never_active))
        .collect();
    assert_eq!(idle, vec![("a", 90, false), ("never", 70, true)]);
    // report only: c is restored, nothing removed
    assert_eq!(summary(&p), vec!["+c(restore)"]);
}

#[test]
fn deterministic_regardless_of_listing_order() {
    let d = desired(&["b", "a", "c"], &["t"], enforce());
    let mut l = live(&["z", "y", "x@old", "c!"]);
    let p1 = plan(&d, &l, today());
    l.users.reverse();
    let p2 = plan(&d, &l, today());
    assert_eq!(p1, p2);
}

fn ent_desired(users: &[&str], teams: &[&str], policy: Policy) -> Desired {
    let mut d = desired(users, teams, policy);
    d.scope = Scope::Enterprise("big".into());
    d.teams = teams
        .iter()
        .map(|t| crate::github::live::enterprise_slug(t))
        .collect();
    d
}

/// One change per line with what keeps the seat: `-bob(not_desired) keeps team ent:x`.
fn with_keeps(p: &Plan) -> Vec<String> {
    summary(p)
        .into_iter()
        .zip(&p.changes)
        .map(|(s, c)| {
            if c.keeps_via.is_empty() {
                s
            } else {
                format!("{s} keeps {}", c.keeps_via.join(", "))
            }
        })
        .collect()
}

#[test]
fn enterprise_grants_table() {
    // (name, desired users, desired teams, live users, expected changes, seats before -> after)
    type Case<'a> = (
        &'a str,
        Vec<&'a str>,
        Vec<&'a str>,
        Vec<&'a str>,
        Vec<&'a str>,
        (usize, usize),
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("org-granted holder needs no add", vec!["alice"], vec![], vec!["alice@org:acme"], vec![], (1, 1)),
        ("org-granted holder never removed", vec![], vec!["x"], vec!["alice@org:acme", "m@ent:x"], vec![], (2, 2)),
        ("direct removed, org keeps the seat", vec!["m"], vec![], vec!["alice@direct,org:acme", "m"], vec!["-alice(not_desired) keeps org acme"], (2, 2)),
        ("direct removed, enterprise team keeps it", vec![], vec!["x"], vec!["alice@direct,ent:x"], vec!["-alice(not_desired) keeps team ent:x"], (1, 1)),
        ("held via kept team: no add", vec!["alice"], vec!["x"], vec!["alice@ent:x"], vec![], (1, 1)),
        ("ent: prefix is canonical in seats.yaml", vec![], vec!["ent:x"], vec!["m@ent:x"], vec![], (1, 1)),
        ("both teams go, org keeps alice", vec!["m"], vec![], vec!["alice@ent:x,org:acme", "m", "b@ent:x"], vec!["-team:ent:x(not_desired)"], (3, 2)),
        ("team removed, desired user kept direct", vec!["alice"], vec![], vec!["alice@ent:x"], vec!["+alice(team_removed)", "-team:ent:x(not_desired)"], (1, 1)),
        ("pending direct with held team: no restore", vec!["alice"], vec!["x"], vec!["alice@direct!,ent:x"], vec![], (1, 1)),
        ("pending everywhere: restore", vec!["alice"], vec![], vec!["alice@direct!,ent:x!"], vec!["+alice(restore)"], (0, 1)),
        ("direct kept beside a team", vec!["alice"], vec!["x"], vec!["alice@direct,ent:x"], vec![], (1, 1)),
        ("org team seen from the enterprise is outside", vec![], vec![], vec!["alice@org:acme"], vec![], (1, 1)),
        ("protected keeps a seat whose team goes", vec!["m"], vec![], vec!["ceo@ent:x", "m"], vec!["+ceo(team_removed)", "-team:ent:x(not_desired)"], (2, 2)),
        ("protected with a pending direct grant: restored as the team goes", vec!["m"], vec![], vec!["ceo@direct!,ent:x", "m"], vec!["+ceo(team_removed)", "-team:ent:x(not_desired)"], (2, 2)),
    ];
    for (name, users, teams, seats, want, counts) in cases {
        let mut d = ent_desired(&users, &teams, enforce());
        d.policy.protected = vec!["CEO".into()];
        d.policy.allow_empty = true;
        let p = plan(&d, &live(&seats), today());
        assert_eq!(with_keeps(&p), want, "case: {name}");
        assert_eq!((p.seats_before, p.seats_after), counts, "case: {name}");
    }
}

#[test]
fn held_outside_lists_holders_with_only_outside_grants() {
    let p = plan(
        &ent_desired(&["b"], &[], enforce()),
        &live(&[
            "alice@org:acme,org:beta",
            "b@direct,org:acme",
            "c@ent:x,org:acme",
        ]),
        today(),
    );
    let held: Vec<(&str, Vec<&str>)> = p
        .held_outside
        .iter()
        .map(|h| (h.login.as_str(), h.via.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(held, vec![("alice", vec!["org acme", "org beta"])]);
    // c's team goes, but the org keeps c's seat: a grant removal, no lost seat.
    assert_eq!(with_keeps(&p), vec!["-team:ent:x(not_desired)"]);
    assert_eq!(p.changes[0].seats, Some(1));
    assert_eq!(p.changes[0].seats_lost, Some(0));
    assert_eq!((p.seats_before, p.seats_after), (3, 3));
}

#[test]
fn removing_a_kept_grant_is_not_a_lost_seat_for_the_guard() {
    let policy = Policy {
        max_removals: Some(MaxRemovals::Count(0)),
        ..Policy::default()
    };
    let p = plan(
        &ent_desired(&["m"], &["x"], policy.clone()),
        &live(&["m", "alice@direct,ent:x"]),
        today(),
    );
    assert_eq!(with_keeps(&p), vec!["-alice(not_desired) keeps team ent:x"]);
    assert!(!p.guard.tripped, "{:?}", p.guard);
    let p = plan(
        &ent_desired(&["m"], &[], policy),
        &live(&["m", "bob"]),
        today(),
    );
    assert!(p.guard.tripped);
}

#[test]
fn billed_seats_count_pending_until_their_date() {
    let cap = |n| Policy {
        max_seats: Some(n),
        ..Policy::default()
    };
    // a, b held; c, d pending (billed this cycle); e is new.
    let l = live(&["a", "b", "c!", "d!"]);
    let p = plan(&desired(&["a", "b", "e"], &[], cap(4)), &l, today());
    assert_eq!((p.seats_before, p.seats_after), (2, 3));
    assert_eq!((p.billed_before, p.billed_after), (4, 5));
    assert!(p.guard.tripped, "5 billed > cap 4 even though 3 held");
    assert!(matches!(
        p.guard.reasons[0],
        GuardReason::MaxSeats {
            seats_after: 3,
            billed_after: 5,
            max_seats: 4,
            ..
        }
    ));
    // A restore bills nothing new, but still adds a seat: checked too.
    let p = plan(&desired(&["a", "b", "c"], &[], cap(5)), &l, today());
    assert_eq!((p.billed_before, p.billed_after), (4, 4));
    assert!(!p.guard.tripped);
    // Only removals: never guarded by the cap.
    let p = plan(&desired(&["a"], &[], cap(1)), &l, today());
    assert!(!p.guard.tripped);
}

#[test]
fn idle_time_uses_the_latest_signal() {
    let policy = Policy {
        inactivity: Some(Inactivity {
            days: 30,
            action: InactivityAction::Remove,
            remind_days: None,
            act_before_cycle_end_days: Some(31),
        }),
        ..Policy::default()
    };
    let mut l = live(&["quiet~90", "signs-in~90", "never"]);
    fn by<'a>(l: &'a mut LiveState, login: &str) -> &'a mut LiveUser {
        l.users.iter_mut().find(|u| u.login == login).unwrap()
    }
    // Telemetry off, but signed in 3 days ago: not idle.
    by(&mut l, "signs-in").last_authenticated_at = Some(ago(3));
    by(&mut l, "quiet").last_authenticated_at = Some(ago(60));
    let never = by(&mut l, "never");
    never.last_activity_at = None;
    never.grants[0].created_at = ago(45);
    let p = plan(
        &desired(&["quiet", "signs-in", "never"], &[], policy),
        &l,
        today(),
    );
    let idle: Vec<(&str, i64, IdleSignal)> = p
        .inactive
        .iter()
        .map(|i| (i.login.as_str(), i.days_idle, i.signal))
        .collect();
    assert_eq!(
        idle,
        vec![
            ("never", 45, IdleSignal::Granted),
            ("quiet", 60, IdleSignal::LastAuthenticated),
        ]
    );
    assert_eq!(summary(&p), vec!["-never(inactive)", "-quiet(inactive)"]);
    assert_eq!(
        p.changes[1].idle_signal,
        Some(IdleSignal::LastAuthenticated)
    );
}

#[test]
fn assign_via_team_keeps_membership_equal_to_users() {
    let policy = Policy {
        assign_via_team: Some("copilot".into()),
        ..Policy::default()
    };
    let d = ent_desired(&["alice", "carol", "dave"], &[], policy);
    // The team grants: alice and bob are members with seats; carol holds a
    // seat through an org only; dave is new; erin is a member not listed.
    let mut l = live(&["alice@ent:copilot", "bob@ent:copilot", "carol@org:acme"]);
    l.assignment_members = Some(vec!["alice".into(), "bob".into(), "erin".into()]);
    let p = plan(&d, &l, today());
    assert_eq!(p.assign_via_team.as_deref(), Some("ent:copilot"));
    assert_eq!(
        with_keeps(&p),
        vec![
            "+carol(new)",
            "+dave(new)",
            "-bob(not_desired)",
            "-erin(not_desired)"
        ]
    );
    // bob loses his seat; erin never had one.
    assert_eq!((p.seats_before, p.seats_after), (3, 3));
    assert_eq!(
        p.roster_after.iter().collect::<Vec<_>>(),
        vec!["alice", "carol", "dave"]
    );

    // The team grants nothing yet: it is added too, first.
    let mut l = live(&[]);
    l.assignment_members = Some(vec!["alice".into()]);
    let p = plan(&d, &l, today());
    assert_eq!(
        summary(&p),
        vec!["+team:ent:copilot(new)", "+carol(new)", "+dave(new)"]
    );
    assert_eq!(p.seats_after, 3);
    // Converged: nothing to do.
    let mut l = live(&["alice@ent:copilot", "carol@ent:copilot", "dave@ent:copilot"]);
    l.assignment_members = Some(vec!["alice".into(), "carol".into(), "dave".into()]);
    assert!(plan(&d, &l, today()).is_empty());
}

#[test]
fn removals_are_capped_at_25_percent_unless_someone_says_otherwise() {
    let seats: Vec<String> = (0..8).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = seats.iter().map(String::as_str).collect();
    let l = live(&refs);
    // 3 of 8 is 37.5 %: over the default 25 %.
    let mut d = desired(&refs[..5], &[], enforce());
    d.limits = Limits::from_policy(&d.policy);
    let p = plan(&d, &l, today());
    assert!(matches!(
        p.guard.reasons[..],
        [GuardReason::MaxRemovals {
            removals: 3,
            set_by: LimitSource::Default,
            ..
        }]
    ));
    // The file may set its own cap...
    d.policy.max_removals = Some(MaxRemovals::Count(3));
    d.limits = Limits::from_policy(&d.policy);
    assert!(!plan(&d, &l, today()).guard.tripped);
    // ...but not raise the operator's ceiling: the stricter wins and says so.
    d.limits = Limits::from_policy(&d.policy).bounded_by(Some(MaxRemovals::Count(2)), None);
    let p = plan(&d, &l, today());
    assert!(matches!(
        p.guard.reasons[..],
        [GuardReason::MaxRemovals {
            set_by: LimitSource::Flag,
            ..
        }]
    ));
    // A flag replaces the default, and is itself a cap.
    let mut d = desired(&refs[..5], &[], enforce());
    d.limits = Limits::from_policy(&d.policy).bounded_by(Some(MaxRemovals::Percent(50.0)), None);
    assert!(!plan(&d, &l, today()).guard.tripped);
    // Seat caps: the lower of file and flag.
    let both = Limits::from_policy(&Policy {
        max_seats: Some(10),
        ..Policy::default()
    });
    assert_eq!(
        both.clone().bounded_by(None, Some(5)).max_seats,
        Some((5, LimitSource::Flag))
    );
    assert_eq!(
        both.bounded_by(None, Some(50)).max_seats,
        Some((10, LimitSource::File))
    );
}

#[test]
fn the_typo_guard_holds_a_removal_near_an_unknown_login() {
    // seats.yaml lists `alcie` (no such user) and `bobsmith` (not a member);
    // alice and bob-smith hold seats; zed is really gone.
    let mut d = desired(&["alcie", "bobsmith", "carol"], &[], enforce());
    d.ineligible.insert(
        "alcie".into(),
        finding(SkipCode::NoSuchUser, "no GitHub user has this login"),
    );
    d.ineligible.insert(
        "bobsmith".into(),
        finding(SkipCode::NotAMember, "not a member of acme"),
    );
    let p = plan(&d, &live(&["alice", "bob-smith", "carol", "zed"]), today());
    assert_eq!(summary(&p), vec!["-zed(not_desired)"]);
    let held: Vec<(&str, &str, SkipCode)> = p
        .held
        .iter()
        .map(|h| (h.login.as_str(), h.listed.as_str(), h.code))
        .collect();
    assert_eq!(
        held,
        vec![
            ("alice", "alcie", SkipCode::NoSuchUser),
            ("bob-smith", "bobsmith", SkipCode::NotAMember)
        ]
    );
    assert!(p.is_guarded() && !p.guard.tripped);
    // Held seats stay held.
    assert_eq!(p.seats_after, 3);
    // Not in an eligible team is not a typo: no hold.
    let mut d = desired(&["alcie"], &[], enforce());
    d.ineligible.insert(
        "alcie".into(),
        finding(SkipCode::NotInEligibleTeam, "not in an eligible team"),
    );
    let p = plan(&d, &live(&["alice", "alcie"]), today());
    assert!(p.held.is_empty());
    // Far from every listed login: removed as usual.
    assert!(close("alice", "alcie") && close("bob-smith", "BOBSMITH") && !close("alice", "bob"));
}
