use chrono::NaiveDate;

use super::*;
use crate::config::Scope;
use crate::github::IdleSignal;
use crate::plan::{Guard, HeldOutside, Inactive, LimitSource, Roster, SkipCode, Skipped};
use crate::render::markdown::md_escape;

fn change(action: Action, name: &str, reason: Reason) -> Change {
    Change::new(action, name, reason)
}

fn idle(mut c: Change, days: i64, never_active: bool) -> Change {
    c.days_idle = Some(days);
    c.never_active = never_active;
    c
}

fn seats(mut c: Change, n: usize) -> Change {
    c.seats = Some(n);
    c
}

fn logins(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn roster(v: &[&str]) -> Roster {
    v.iter().collect()
}

fn empty_plan(scope: Scope, seats: usize, max_seats: Option<u64>) -> Plan {
    Plan {
        scope,
        seats_before: seats,
        seats_after: seats,
        billed_before: seats,
        billed_after: seats,
        max_seats,
        assign_via_team: None,
        changes: vec![],
        inactive: vec![],
        inactivity_days: None,
        idle_removal_from: None,
        skipped: vec![],
        empty_teams: vec![],
        unknown_teams: vec![],
        held_outside: vec![],
        held: vec![],
        roster_before: Roster::default(),
        roster_after: Roster::default(),
        guard: Guard::default(),
        partial: None,
        cost: None,
        budgets: None,
        budgets_unavailable: None,
    }
}

/// Every kind of change and finding, not guarded. old-team grants dave,
/// frank and gina; platform will grant p1 and p2; newbies' members are
/// unknown.
fn full_plan() -> Plan {
    let mut restore = idle(change(Action::AddUser, "carol", Reason::Restore), 3, false);
    restore.pending_cancellation_date = NaiveDate::from_ymd_opt(2026, 12, 1);
    Plan {
        seats_before: 10,
        seats_after: 8,
        // carol is pending (billed); alice, p1 and p2 are new seats.
        billed_before: 11,
        billed_after: 14,
        changes: vec![
            seats(change(Action::AddTeam, "platform", Reason::New), 2),
            change(Action::AddTeam, "newbies", Reason::New),
            change(Action::AddUser, "alice", Reason::New),
            Change {
                via_team: Some("old-team".into()),
                ..change(Action::AddUser, "dave", Reason::TeamRemoved)
            },
            restore,
            seats(
                change(Action::RemoveTeam, "old-team", Reason::NotDesired),
                3,
            ),
            idle(
                change(Action::RemoveUser, "bob", Reason::NotDesired),
                93,
                false,
            ),
            idle(
                change(Action::RemoveUser, "erin", Reason::NotDesired),
                12,
                true,
            ),
            idle(
                Change {
                    expires: NaiveDate::from_ymd_opt(2026, 11, 1),
                    ..change(Action::RemoveUser, "hubot", Reason::Expired)
                },
                1,
                false,
            ),
            idle(
                change(Action::RemoveUser, "idle-ian", Reason::Inactive),
                120,
                false,
            ),
        ],
        inactive: vec![
            Inactive {
                login: "idle-ian".into(),
                days_idle: 120,
                never_active: false,
                signal: IdleSignal::LastActivity,
            },
            Inactive {
                login: "zoe".into(),
                days_idle: 61,
                never_active: true,
                signal: IdleSignal::Granted,
            },
        ],
        skipped: vec![
            Skipped {
                login: "mallory".into(),
                code: SkipCode::NotAMember,
                reason: "not a member of acme".into(),
            },
            Skipped {
                login: "trent".into(),
                code: SkipCode::NotInEligibleTeam,
                reason: "not in an eligible team (engineering, contractors)".into(),
            },
        ],
        inactivity_days: Some(60),
        empty_teams: logins(&["ghosts"]),
        unknown_teams: logins(&["newbies"]),
        held_outside: vec![HeldOutside {
            login: "ent-user".into(),
            via: logins(&["team ent:everyone"]),
        }],
        roster_before: roster(&[
            "bob", "dave", "ent-user", "erin", "frank", "gina", "hubot", "idle-ian", "oscar", "zoe",
        ]),
        roster_after: roster(&[
            "alice", "carol", "dave", "ent-user", "oscar", "p1", "p2", "zoe",
        ]),
        ..empty_plan(Scope::Org("acme".into()), 10, Some(500))
    }
}

/// 22 adds and 3 removals against a cap of 30 and a removal limit of 2.
fn guarded_plan() -> Plan {
    let before: Vec<String> = (1..=18).map(|i| format!("u{i:02}")).collect();
    let added: Vec<String> = (1..=22).map(|i| format!("n{i:02}")).collect();
    let mut after: Vec<String> = before[3..].iter().chain(&added).cloned().collect();
    after.sort();
    let mut changes: Vec<Change> = added
        .iter()
        .map(|l| change(Action::AddUser, l, Reason::New))
        .collect();
    changes.extend(
        before[..3]
            .iter()
            .map(|l| idle(change(Action::RemoveUser, l, Reason::NotDesired), 40, false)),
    );
    Plan {
        seats_after: 37,
        changes,
        roster_before: before.iter().collect(),
        roster_after: after.iter().collect(),
        guard: Guard {
            tripped: true,
            reasons: vec![
                GuardReason::MaxRemovals {
                    removals: 3,
                    limit: "2".into(),
                    set_by: LimitSource::File,
                },
                GuardReason::MaxSeats {
                    seats_after: 37,
                    billed_after: 40,
                    max_seats: 30,
                    set_by: LimitSource::File,
                },
            ],
        },
        billed_after: 40,
        ..empty_plan(Scope::Org("acme".into()), 18, Some(30))
    }
}

fn idle_plan() -> Plan {
    let roster = roster(&["alice", "bob", "carol"]);
    Plan {
        roster_before: roster.clone(),
        roster_after: roster,
        ..empty_plan(Scope::Org("acme".into()), 3, None)
    }
}

fn enterprise_plan() -> Plan {
    Plan {
        seats_after: 5,
        billed_after: 6,
        changes: vec![
            seats(change(Action::AddTeam, "ent-eng", Reason::New), 2),
            change(Action::AddUser, "octocat", Reason::New),
            idle(
                change(Action::RemoveUser, "hubot", Reason::NotDesired),
                200,
                false,
            ),
        ],
        roster_before: roster(&["hubot", "monalisa", "x1", "x2"]),
        roster_after: roster(&["e1", "e2", "monalisa", "octocat", "x1", "x2"]),
        ..empty_plan(Scope::Enterprise("octo-corp".into()), 4, None)
    }
}

/// A plan with its cost preview: two Business seats added, one Enterprise
/// seat removed (with its AI-credit use), budgets known, idle removals
/// waiting for the end of the cycle.
fn cost_plan() -> Plan {
    use crate::github::PlanType;
    use crate::plan::cost::{BudgetTotals, CostInput, CycleSource, SeatPrices, Usage, preview};
    let input = CostInput {
        before: [(PlanType::Business, 3), (PlanType::Enterprise, 1)]
            .into_iter()
            .collect(),
        gained: vec![
            ("ann".into(), PlanType::Business),
            ("ben".into(), PlanType::Business),
        ],
        lost: vec![("erin".into(), PlanType::Enterprise)],
        prices: SeatPrices::default(),
        cycle_end: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        cycle_source: CycleSource::CalendarMonth,
        usage: Usage {
            credits: [("erin".to_string(), 1_234)].into_iter().collect(),
            note: None,
        },
        budgets: Some(BudgetTotals {
            before: 100,
            after: 140,
        }),
    };
    Plan {
        seats_after: 5,
        billed_after: 6,
        changes: vec![
            change(Action::AddUser, "ann", Reason::New),
            change(Action::AddUser, "ben", Reason::New),
            idle(
                change(Action::RemoveUser, "erin", Reason::NotDesired),
                3,
                false,
            ),
        ],
        roster_before: roster(&["alice", "bob", "carol", "erin"]),
        roster_after: roster(&["alice", "ann", "ben", "bob", "carol"]),
        idle_removal_from: NaiveDate::from_ymd_opt(2026, 12, 29),
        cost: Some(preview(&input)),
        ..empty_plan(Scope::Org("acme".into()), 4, None)
    }
}

fn cases() -> Vec<(&'static str, Plan)> {
    vec![
        ("cost", cost_plan()),
        ("full", full_plan()),
        ("guarded", guarded_plan()),
        ("empty", idle_plan()),
        ("enterprise", enterprise_plan()),
    ]
}

#[test]
fn snapshots() {
    for (name, plan) in cases() {
        insta::assert_snapshot!(format!("{name}_text"), text(&plan, false));
        insta::assert_snapshot!(format!("{name}_markdown"), markdown(&plan));
        insta::assert_snapshot!(format!("{name}_json"), json(&plan));
        insta::assert_snapshot!(format!("{name}_diff"), diff(&plan));
    }
}

#[test]
fn summary_line_counts() {
    let mut restore_only = empty_plan(Scope::Org("a".into()), 1, None);
    restore_only
        .changes
        .push(change(Action::AddUser, "c", Reason::Restore));
    restore_only.seats_after = 2;
    restore_only.billed_before = 2;
    restore_only.billed_after = 2;
    let table = [
        (
            full_plan(),
            "Plan: 4 to add, 5 to remove, 1 to restore. Seats: 10 -> 8; billed this cycle: 11 -> 14 (cap 500).",
        ),
        (
            guarded_plan(),
            "Plan: 22 to add, 3 to remove, 0 to restore. Seats: 18 -> 37; billed this cycle: 18 -> 40 (cap 30).",
        ),
        (idle_plan(), "No changes. Seats: 3."),
        (
            enterprise_plan(),
            "Plan: 2 to add, 1 to remove, 0 to restore. Seats: 4 -> 5; billed this cycle: 4 -> 6.",
        ),
        (
            restore_only,
            "Plan: 0 to add, 0 to remove, 1 to restore. Seats: 1 -> 2; billed this cycle: 2 -> 2.",
        ),
        (
            empty_plan(Scope::Org("a".into()), 140, Some(500)),
            "No changes. Seats: 140 (cap 500).",
        ),
    ];
    for (plan, want) in table {
        assert_eq!(summary_line(&plan), want);
        let out = text(&plan, false);
        assert_eq!(out.lines().last(), Some(want), "last line of:\n{out}");
    }
}

#[test]
fn color_only_when_asked() {
    for (name, plan) in cases() {
        assert!(!text(&plan, false).contains('\x1b'), "{name}");
        assert!(text(&plan, true).contains('\x1b'), "{name}");
        for format in [Format::Markdown, Format::Json, Format::Diff] {
            assert!(
                !render(&plan, format, true).contains('\x1b'),
                "{name} {format:?}"
            );
        }
    }
    let colored = text(&full_plan(), true);
    assert!(colored.contains(&format!("{GREEN}+ alice{RESET}")));
    assert!(colored.contains(&format!("{RED}- bob  (")));
    assert!(colored.contains(&format!("{YELLOW}~ carol  (")));
    assert!(colored.contains(&format!("{YELLOW}! mallory  (")));
}

#[test]
fn text_lines() {
    let out = text(&full_plan(), false);
    for want in [
        "+ team platform  (2 seats)",
        "+ team newbies",
        "+ alice",
        "+ dave  (seat granted by team old-team is going away; kept as a direct seat)",
        "~ carol  (pending cancellation 2026-12-01, restored)",
        "- team old-team  (not in seats.yaml; 3 seats)",
        "- bob  (not in seats.yaml; last active 93 days ago)",
        "- erin  (not in seats.yaml; never active, granted 12 days ago)",
        "- hubot  (expired 2026-11-01; last active 1 day ago)",
        "- idle-ian  (inactive 120 days)",
        "! mallory  (not a member of acme)",
        "! team ghosts  (team has no members; nothing to grant)",
        "Idle seats (no Copilot activity for 60+ days):",
    ] {
        assert!(
            out.lines().any(|l| l == want),
            "missing {want:?} in:\n{out}"
        );
    }
}

#[test]
fn team_removed_without_a_known_team() {
    let mut plan = full_plan();
    for c in &mut plan.changes {
        c.via_team = None;
    }
    let out = text(&plan, false);
    assert!(
        out.contains("+ dave  (the team granting the seat is going away; kept as a direct seat)")
    );
}

#[test]
fn guard_messages() {
    let table = [
        (
            GuardReason::MaxRemovals {
                removals: 12,
                limit: "10".into(),
                set_by: LimitSource::File,
            },
            "12 removals exceed policy.max_removals (10)",
        ),
        (
            GuardReason::MaxRemovals {
                removals: 1,
                limit: "0".into(),
                set_by: LimitSource::File,
            },
            "1 removal exceeds policy.max_removals (0)",
        ),
        (
            GuardReason::MaxSeats {
                seats_after: 520,
                billed_after: 520,
                max_seats: 500,
                set_by: LimitSource::File,
            },
            "520 seats billed this cycle after apply exceed policy.max_seats (500)",
        ),
        (
            GuardReason::MaxSeats {
                seats_after: 490,
                billed_after: 501,
                max_seats: 500,
                set_by: LimitSource::File,
            },
            "501 seats billed this cycle after apply (490 held, 11 pending cancellation and billed until their date) exceed policy.max_seats (500)",
        ),
        (
            GuardReason::EmptyDesired { seats_before: 140 },
            "seats.yaml lists no users and no teams but 140 seats exist; \
             set policy.allow_empty: true to remove them all",
        ),
    ];
    for (reason, want) in table {
        assert_eq!(guard_message(&reason, plain), want);
        let mut plan = empty_plan(Scope::Org("a".into()), 140, None);
        plan.guard = Guard {
            tripped: true,
            reasons: vec![reason],
        };
        let out = text(&plan, false);
        assert!(out.contains("Guard tripped, nothing will be applied:\n"));
        assert!(out.contains(&format!("  - {want}\n")), "{out}");
        let v: serde_json::Value = serde_json::from_str(&json(&plan)).expect("valid JSON");
        assert_eq!(v["guard"]["reasons"][0]["message"], want);
    }
}

#[test]
fn markdown_truncates_at_a_row_boundary() {
    let n = 5_000;
    let mut plan = empty_plan(Scope::Org("acme".into()), n, Some(10_000));
    plan.seats_after = 2 * n;
    plan.changes = (0..n)
        .map(|i| change(Action::AddUser, &format!("user-number-{i:05}"), Reason::New))
        .collect();
    plan.inactive = (0..10)
        .map(|i| Inactive {
            login: format!("idle-{i}"),
            days_idle: 90,
            never_active: false,
            signal: IdleSignal::LastActivity,
        })
        .collect();
    let out = markdown(&plan);
    let total_rows = n + plan.inactive.len();

    let (body, footer) = out
        .rsplit_once("\n**Truncated:** ")
        .expect("truncation footer");
    assert!(body.len() <= MARKDOWN_LIMIT, "body is {} bytes", body.len());
    assert!(
        out.len() <= MARKDOWN_LIMIT + 300,
        "output is {} bytes",
        out.len()
    );
    let cut: usize = footer
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .expect("row count in footer");
    let shown = out.lines().filter(|l| l.starts_with("| `+` |")).count();
    assert!(shown > 0);
    assert_eq!(shown + cut, total_rows);
    // Every shown row is whole and the fold is closed.
    let last_row = out.lines().rfind(|l| l.starts_with("| `")).expect("a row");
    assert!(last_row.ends_with(" |"));
    assert_eq!(
        out.matches("<details>").count(),
        out.matches("</details>").count()
    );
    assert!(out.starts_with(MARKDOWN_MARKER));
}

#[test]
fn markdown_small_plan_is_not_truncated() {
    let out = markdown(&full_plan());
    assert!(!out.contains("Truncated"));
    assert!(out.starts_with("<!-- seatkeeper-plan -->\n"));
}

#[test]
fn markdown_escapes_free_text() {
    let table = [
        ("a|b", "a\\|b"),
        ("*x* _y_", "\\*x\\* \\_y\\_"),
        ("`code`", "\\`code\\`"),
        ("<b>&amp;</b>", "\\<b\\>\\&amp;\\</b\\>"),
        ("ping @org/team", "ping \\@org/team"),
        ("[l](u)", "\\[l\\](u)"),
        ("two\nlines", "two lines"),
        ("plain-text 2026-12-01", "plain-text 2026-12-01"),
    ];
    for (input, want) in table {
        assert_eq!(md_escape(input), want, "{input:?}");
    }
    let mut plan = empty_plan(Scope::Org("acme".into()), 1, None);
    plan.skipped.push(Skipped {
        login: "mallory".into(),
        code: SkipCode::NotInEligibleTeam,
        reason: "not in team a|b".into(),
    });
    let out = markdown(&plan);
    let row = out
        .lines()
        .find(|l| l.contains("mallory"))
        .expect("skipped row");
    assert_eq!(row, "| `!` | mallory | not in team a\\|b |");
    // Four unescaped pipes: the row keeps exactly three cells.
    assert_eq!(row.replace("\\|", "").matches('|').count(), 4);
}

#[test]
fn json_has_exactly_the_contract_keys() {
    use serde_json::Value;
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let top = [
        "format_version",
        "org",
        "seats_before",
        "seats_after",
        "billed_before",
        "billed_after",
        "max_seats",
        "changes",
        "inactive",
        "skipped",
        "held",
        "empty_teams",
        "unknown_teams",
        "unmanaged",
        "held_outside",
        "guard",
    ];
    let v: Value = serde_json::from_str(&json(&full_plan())).expect("valid JSON");
    let mut want: Vec<String> = top.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(keys(&v), want);
    assert_eq!(v["format_version"], 2);
    assert_eq!(v["org"], "acme");

    let allowed_change = [
        "action",
        "login",
        "team",
        "reason",
        "days_idle",
        "never_active",
        "pending_cancellation_date",
        "idle_signal",
        "seats",
        "seats_lost",
        "keeps_via",
    ];
    for c in v["changes"].as_array().expect("changes") {
        for k in keys(c) {
            assert!(allowed_change.contains(&k.as_str()), "unexpected key {k}");
        }
        let team = c["action"].as_str().is_some_and(|a| a.ends_with("_team"));
        assert_eq!(c.get("team").is_some(), team, "{c}");
        assert_eq!(c.get("login").is_some(), !team, "{c}");
        let reasons: &[&str] = match c["action"].as_str() {
            Some("add_user") => &["new", "restore", "team_removed"],
            Some("remove_user") => &["not_desired", "expired", "inactive"],
            Some("add_team") => &["new"],
            Some("remove_team") => &["not_desired"],
            other => panic!("unknown action {other:?}"),
        };
        assert!(reasons.contains(&c["reason"].as_str().unwrap_or("")), "{c}");
    }
    assert_eq!(
        v["changes"][0],
        serde_json::json!({"action": "add_team", "team": "platform", "reason": "new", "seats": 2})
    );
    assert_eq!(
        v["changes"][2],
        serde_json::json!({"action": "add_user", "login": "alice", "reason": "new"})
    );
    assert_eq!(v["changes"][4]["pending_cancellation_date"], "2026-12-01");
    assert_eq!(
        v["inactive"][0],
        serde_json::json!({"login": "idle-ian", "days_idle": 120, "idle_signal": "last_activity_at"})
    );
    assert_eq!(keys(&v["guard"]), ["held", "reasons", "tripped"]);
    assert_eq!(keys(&v["skipped"][0]), ["login", "message", "reason"]);
    assert_eq!(v["skipped"][0]["reason"], "not_a_member");

    let ent: Value = serde_json::from_str(&json(&enterprise_plan())).expect("valid JSON");
    assert_eq!(ent["enterprise"], "octo-corp");
    assert!(ent.get("org").is_none());
    assert_eq!(ent["max_seats"], Value::Null);

    let g: Value = serde_json::from_str(&json(&guarded_plan())).expect("valid JSON");
    assert_eq!(
        keys(&g["guard"]["reasons"][0]),
        [
            "kind",
            "limit",
            "message",
            "next_step",
            "removals",
            "set_by"
        ]
    );
    assert_eq!(g["guard"]["reasons"][0]["set_by"], "file");
    assert_eq!(g["guard"]["reasons"][0]["kind"], "max_removals");
    assert_eq!(g["guard"]["reasons"][0]["limit"], "2");
    assert_eq!(g["guard"]["reasons"][1]["kind"], "max_seats");
}

#[test]
fn json_key_order_is_fixed() {
    let out = json(&full_plan());
    let pos = |k: &str| out.find(&format!("\"{k}\":")).expect(k);
    assert!(pos("format_version") < pos("org"));
    assert!(pos("org") < pos("seats_before"));
    assert!(pos("seats_after") < pos("changes"));
    assert!(pos("unmanaged") < pos("guard"));
    assert!(out.ends_with("}\n"));
}

#[test]
fn diff_is_empty_when_roster_is_unchanged() {
    assert_eq!(diff(&idle_plan()), "");
    let out = diff(&enterprise_plan());
    assert!(
        out.starts_with("--- seats (now)\n+++ seats (after apply)\n"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "-hubot"));
    assert!(out.lines().any(|l| l == "+octocat"));
}

#[test]
fn format_names() {
    use clap::ValueEnum;
    let names: Vec<String> = Format::value_variants()
        .iter()
        .filter_map(|f| f.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    assert_eq!(names, ["text", "markdown", "json", "diff"]);
}

#[test]
fn grants_kept_and_held_outside_read_plainly() {
    let mut plan = empty_plan(Scope::Enterprise("big".into()), 30, None);
    let mut kept = change(Action::RemoveUser, "alice", Reason::NotDesired);
    kept.keeps_via = logins(&["team ent:platform", "org acme"]);
    let mut team = change(Action::RemoveTeam, "ent:old", Reason::NotDesired);
    team.seats = Some(5);
    team.seats_lost = Some(2);
    plan.changes = vec![team, kept];
    plan.assign_via_team = Some("ent:copilot".into());
    plan.held_outside = (0..25)
        .map(|i| HeldOutside {
            login: format!("org-user-{i:02}"),
            via: logins(&["org acme"]),
        })
        .collect();
    let out = text(&plan, false);
    for want in [
        "- team ent:old  (not in seats.yaml; 5 seats; 2 lost, 3 kept through other grants)\n",
        "- alice  (not in seats.yaml; keeps seat via team ent:platform, org acme)\n",
        "= org-user-00  (seat granted by org acme)\n",
        "= org-user-19  (seat granted by org acme)\n",
        "= ... and 5 more seats granted outside this file (--format json lists them all)\n",
        "Note: Seats are assigned through enterprise team ent:copilot",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("org-user-20"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&json(&plan)).unwrap();
    assert_eq!(v["held_outside"].as_array().map(Vec::len), Some(25));
    assert_eq!(v["unmanaged"][24], "org-user-24");
    assert_eq!(v["assign_via_team"], "ent:copilot");
    assert_eq!(
        v["changes"][1]["keeps_via"],
        serde_json::json!(["team ent:platform", "org acme"])
    );
    assert_eq!(v["changes"][0]["seats_lost"], 2);
    let md = markdown(&plan);
    assert!(
        md.contains("| `=` | org-user-00 | seat granted by org acme |"),
        "{md}"
    );
}

#[test]
fn the_pr_comment_leads_with_the_money() {
    let base = crate::config::SeatsFile::parse("base", b"org: acme\nusers: [alice]\n").unwrap();
    let head =
        crate::config::SeatsFile::parse("head", b"org: acme\nusers: [alice, ann, ben]\n").unwrap();
    let out = pr_markdown(&cost_plan(), &base, &head);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(MARKDOWN_MARKER));
    assert_eq!(
        lines.next(),
        Some(
            "**+2 Business seats, -1 Enterprise seat: -US\\$1/month, -100 pooled credits (removed seats are billed until 2027-01-01)**"
        ),
        "{out}"
    );
    assert_eq!(out.matches("pooled credits").count(), 1, "once: {out}");
    // Without a preview, the comment starts with what the PR asks for.
    let plain = pr_markdown(&full_plan(), &base, &head);
    assert!(!plain.contains("pooled credits"), "{plain}");
}
