//! Table tests of the budget planner.

use super::*;
use crate::config::MaxRemovals;
use crate::plan::LimitSource;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn live(id: &str, scope: &str, user: Option<&str>, amount: u64) -> LiveBudget {
    LiveBudget {
        id: id.into(),
        budget_type: BUNDLE_PRICING.into(),
        sku: AI_CREDITS.into(),
        scope: scope.into(),
        user: user.map(str::to_string),
        amount,
    }
}

fn user(login: &str, amount: u64) -> DesiredBudget {
    DesiredBudget {
        login: login.into(),
        amount,
        expires: None,
    }
}

fn desired(default: Option<u64>, users: Vec<DesiredBudget>) -> DesiredBudgets {
    DesiredBudgets {
        default,
        manage: BudgetManage::Exclusive,
        listed: users.iter().map(|u| u.login.clone()).collect(),
        users,
    }
}

fn seated(logins: &[&str]) -> BTreeSet<String> {
    logins.iter().map(|l| l.to_ascii_lowercase()).collect()
}

fn run(d: &DesiredBudgets, l: &[LiveBudget]) -> BudgetPlan {
    plan_budgets(
        d,
        l,
        day("2026-12-05"),
        BudgetBounds::default(),
        &Limits::default(),
        &Policy::default(),
        &seated(&["alice", "bob", "carol", "dave"]),
    )
}

fn summary(p: &BudgetPlan) -> Vec<String> {
    p.changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {:?}->{:?} {}",
                c.action.as_str(),
                c.who(),
                c.amount_before,
                c.amount,
                c.reason.as_str()
            )
        })
        .collect()
}

#[test]
fn plans_adds_updates_and_removals() {
    #[rustfmt::skip]
    let cases: Vec<(&str, DesiredBudgets, Vec<LiveBudget>, Vec<&str>)> = vec![
        ("nothing live: default and bob added",
         desired(Some(20), vec![user("bob", 50)]), vec![],
         vec!["add_budget (default) None->Some(20) new", "add_budget bob None->Some(50) new"]),
        ("in sync",
         desired(Some(20), vec![user("bob", 50)]),
         vec![live("u", SCOPE_UNIVERSAL, None, 20), live("b", SCOPE_USER, Some("Bob"), 50)],
         vec![]),
        ("hand edit restored (drift), default changed",
         desired(Some(30), vec![user("bob", 50)]),
         vec![live("u", SCOPE_UNIVERSAL, None, 20), live("b", SCOPE_USER, Some("bob"), 500)],
         vec!["update_budget (default) Some(20)->Some(30) differs", "update_budget bob Some(500)->Some(50) differs"]),
        ("undeclared individual budget deleted; default unmanaged",
         desired(None, vec![user("bob", 50)]),
         vec![live("u", SCOPE_UNIVERSAL, None, 20), live("b", SCOPE_USER, Some("bob"), 50), live("c", SCOPE_USER, Some("carol"), 9)],
         vec!["remove_budget carol Some(9)->None not_declared"]),
        ("a second budget for one login is a duplicate",
         desired(None, vec![user("bob", 50)]),
         vec![live("b", SCOPE_USER, Some("bob"), 50), live("b2", SCOPE_USER, Some("BOB"), 70)],
         vec!["remove_budget BOB Some(70)->None duplicate"]),
        ("0 is a budget (blocked), not an absence",
         desired(Some(0), vec![user("bob", 0)]),
         vec![live("u", SCOPE_UNIVERSAL, None, 5)],
         vec!["add_budget bob None->Some(0) new", "update_budget (default) Some(5)->Some(0) differs"]),
    ];
    for (name, d, l, want) in cases {
        assert_eq!(summary(&run(&d, &l)), want, "{name}");
    }
}

#[test]
fn other_skus_and_scopes_are_never_touched() {
    let mut others = vec![
        live("org", "organization", None, 100),
        live("cc", "cost_center", None, 100),
        live("mucc", "multi_user_cost_center", None, 100),
    ];
    let mut actions = live("act", SCOPE_USER, Some("carol"), 3);
    actions.budget_type = "ProductPricing".into();
    actions.sku = "actions".into();
    others.push(actions);
    let mut premium = live("pr", SCOPE_UNIVERSAL, None, 3);
    premium.budget_type = "SkuPricing".into();
    premium.sku = "premium_requests".into();
    others.push(premium);
    // Each condition alone: another SKU, another type, on user budgets.
    let mut bundle_premium = live("bp", SCOPE_USER, Some("dave"), 4);
    bundle_premium.sku = "premium_requests".into();
    others.push(bundle_premium);
    let mut product_ai = live("pa", SCOPE_USER, Some("erin"), 4);
    product_ai.budget_type = "ProductPricing".into();
    others.push(product_ai);
    let p = run(&desired(Some(20), vec![]), &others);
    assert_eq!(
        summary(&p),
        ["add_budget (default) None->Some(20) new"],
        "only the missing universal ai_credits budget is planned"
    );
}

#[test]
fn expiry_removes_in_exclusive_mode_only() {
    let mut d = desired(None, vec![user("bob", 50)]);
    d.users[0].expires = Some(day("2026-12-04"));
    let l = vec![live("b", SCOPE_USER, Some("bob"), 50)];
    assert_eq!(
        summary(&run(&d, &l)),
        ["remove_budget bob Some(50)->None expired"]
    );
    // The last day is still in force.
    d.users[0].expires = Some(day("2026-12-05"));
    assert!(run(&d, &l).changes.is_empty());
    // Expired and absent: nothing to add.
    d.users[0].expires = Some(day("2026-12-01"));
    assert!(run(&d, &[]).changes.is_empty());
    // additive never deletes.
    d.manage = BudgetManage::Additive;
    assert!(run(&d, &l).changes.is_empty());
}

#[test]
fn additive_adopts_undeclared_budgets() {
    let mut d = desired(None, vec![user("bob", 50)]);
    d.manage = BudgetManage::Additive;
    let l = vec![
        live("b", SCOPE_USER, Some("bob"), 40),
        live("c", SCOPE_USER, Some("carol"), 9),
    ];
    let p = run(&d, &l);
    assert_eq!(
        summary(&p),
        ["update_budget bob Some(40)->Some(50) differs"]
    );
    assert_eq!(p.adopted, vec![("carol".to_string(), 9)]);
}

#[test]
fn totals_count_listed_users_with_the_default_as_fallback() {
    let mut d = desired(Some(20), vec![user("bob", 50)]);
    d.listed = vec!["alice".into(), "bob".into(), "carol".into()];
    let p = run(&d, &[live("u", SCOPE_UNIVERSAL, None, 10)]);
    assert_eq!(p.total_before, 30, "three listed at the default of 10");
    assert_eq!(p.total_after, 20 + 50 + 20);
    assert_eq!((p.default_before, p.default_after), (Some(10), Some(20)));
    assert_eq!((p.individual_before, p.individual_after), (0, 1));
}

#[test]
fn operator_ceilings_guard_the_plan() {
    let d = desired(Some(20), vec![user("bob", 90)]);
    let bounds = BudgetBounds {
        max_user_budget: Some(80),
        max_budget_total: Some(100),
    };
    let p = plan_budgets(
        &d,
        &[],
        day("2026-12-05"),
        bounds,
        &Limits::default(),
        &Policy::default(),
        &seated(&["bob"]),
    );
    assert_eq!(
        p.guard,
        vec![BudgetGuardReason::MaxUserBudget {
            login: Some("bob".into()),
            amount: 90,
            max: 80
        }],
        "total 90 is within 100"
    );
    let p = plan_budgets(
        &d,
        &[],
        day("2026-12-05"),
        BudgetBounds {
            max_user_budget: None,
            max_budget_total: Some(89),
        },
        &Limits::default(),
        &Policy::default(),
        &seated(&["bob"]),
    );
    assert_eq!(
        p.guard,
        vec![BudgetGuardReason::MaxBudgetTotal { total: 90, max: 89 }]
    );
    assert!(p.is_guarded());
}

#[test]
fn removal_cap_and_empty_guard_apply_to_budget_deletions() {
    let l: Vec<LiveBudget> = (0..4)
        .map(|i| live(&format!("b{i}"), SCOPE_USER, Some(&format!("u{i}")), 5))
        .collect();
    let limits = Limits {
        max_removals: vec![(MaxRemovals::Count(2), LimitSource::File)],
        max_seats: None,
    };
    let keep_one = desired(None, vec![user("u0", 5)]);
    let p = plan_budgets(
        &keep_one,
        &l,
        day("2026-12-05"),
        BudgetBounds::default(),
        &limits,
        &Policy::default(),
        &seated(&["u0"]),
    );
    assert_eq!(p.of(BudgetAction::RemoveBudget).count(), 3);
    assert_eq!(
        p.guard,
        vec![BudgetGuardReason::MaxRemovals {
            removals: 3,
            limit: "2".into()
        }]
    );
    // A budgets block that declares nothing while budgets exist.
    let empty = desired(None, vec![]);
    let p = plan_budgets(
        &empty,
        &l,
        day("2026-12-05"),
        BudgetBounds::default(),
        &Limits::default(),
        &Policy::default(),
        &seated(&[]),
    );
    assert!(
        p.guard
            .contains(&BudgetGuardReason::EmptyDesired { budgets_before: 4 })
    );
    let allow = Policy {
        allow_empty: true,
        ..Policy::default()
    };
    let p = plan_budgets(
        &empty,
        &l,
        day("2026-12-05"),
        BudgetBounds::default(),
        &Limits::from_policy(&Policy {
            max_removals: Some(MaxRemovals::Percent(100.0)),
            ..Policy::default()
        }),
        &allow,
        &seated(&[]),
    );
    assert!(p.guard.is_empty(), "{:?}", p.guard);
}

#[test]
fn a_budget_for_a_login_without_a_seat_is_a_warning() {
    let d = desired(None, vec![user("zed", 5)]);
    let p = run(&d, &[]);
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].starts_with("zed has a budget (US$5) but holds no seat"));
    assert!(!p.is_guarded());
    assert_eq!(p.changes.len(), 1, "the budget is planned anyway");
}

#[test]
fn from_file_reads_budgets_only_when_declared() {
    let today = day("2026-12-05");
    let f = SeatsFile::parse("t.yaml", b"org: acme\nusers: [alice]\n").unwrap();
    assert_eq!(DesiredBudgets::from_file(&f, today), None);
    let f = SeatsFile::parse(
        "t.yaml",
        b"org: acme\nusers:\n  - alice\n  - login: bob\n    budget: 50\n    budget_expires: 2027-03-31\n  - login: old\n    expires: 2020-01-01\n",
    )
    .unwrap();
    let d = DesiredBudgets::from_file(&f, today).unwrap();
    assert_eq!(d.default, None);
    assert_eq!(d.manage, BudgetManage::Exclusive);
    assert_eq!(
        d.users,
        vec![DesiredBudget {
            login: "bob".into(),
            amount: 50,
            expires: Some(day("2027-03-31"))
        }]
    );
    assert_eq!(d.listed, ["alice", "bob"], "an expired seat is not counted");
}
