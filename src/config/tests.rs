use super::*;

#[test]
fn logins() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>)] = &[
        ("octocat", None),
        ("a", None),
        ("Mona-Lisa", None),
        ("1234", None),
        ("a23456789012345678901234567890123456789", None),
        ("a234567890123456789012345678901234567890", Some("at most 39")),
        ("", Some("cannot be empty")),
        ("-x", Some("hyphen")),
        ("x-", Some("hyphen")),
        ("a--b", Some("two hyphens")),
        ("a_b", Some("contains '_'")),
        ("a b", Some("contains ' '")),
        ("\u{430}lice", Some("U+0430")),
        ("al\u{131}ce", Some("U+0131")),
    ];
    for (login, want) in cases {
        match (login_problem(login), want) {
            (None, None) => {}
            (Some(p), Some(w)) => assert!(p.contains(w), "{login:?}: {p}"),
            (got, want) => panic!("{login:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn slugs() {
    #[rustfmt::skip]
    let cases: &[(&str, bool, bool)] = &[
        ("platform", false, true),
        ("data_science.v2-x", false, true),
        ("Platform", false, false),
        ("my team", false, false),
        ("ent:platform", true, true),
        ("ent:platform", false, false),
        ("ent:", true, false),
        ("", false, false),
    ];
    for (slug, enterprise, ok) in cases {
        assert_eq!(
            slug_problem(slug, *enterprise).is_none(),
            *ok,
            "{slug:?} enterprise={enterprise}"
        );
    }
}

#[test]
fn full_example_parses_with_every_field() {
    let text = "org: acme\npolicy:\n  removals: additive\n  max_removals: \"5%\"\n  max_seats: 500\n  protected: [ceo-login]\n  eligible_teams: [engineering]\n  remove_ineligible: true\n  allow_empty: true\n  suspend: true\n  inactivity: {days: 60, action: remove}\nteams: [platform]\nusers:\n  - octocat\n  - login: hubot\n    expires: 2027-03-31\n    note: trial\n";
    let f = SeatsFile::parse("seats.yaml", text.as_bytes()).unwrap();
    assert_eq!(f.scope, Scope::Org("acme".into()));
    assert_eq!(f.policy.removals, RemovalMode::Additive);
    assert_eq!(f.policy.max_removals, Some(MaxRemovals::Percent(5.0)));
    assert_eq!(f.policy.max_seats, Some(500));
    assert_eq!(f.policy.protected, vec!["ceo-login"]);
    assert_eq!(f.policy.eligible_teams, vec!["engineering"]);
    assert!(f.policy.allow_empty && f.policy.suspend && f.policy.remove_ineligible);
    assert_eq!(
        f.policy.inactivity,
        Some(Inactivity {
            days: 60,
            action: InactivityAction::Remove,
            remind_days: None,
            act_before_cycle_end_days: None,
        })
    );
    assert_eq!(f.teams[0].slug, "platform");
    assert_eq!(f.teams[0].pos, Pos { line: 12, col: 9 });
    assert_eq!(f.users[1].login, "hubot");
    assert_eq!(f.users[1].pos, Pos { line: 15, col: 12 });
    assert_eq!(f.users[1].expires, NaiveDate::from_ymd_opt(2027, 3, 31));
    assert_eq!(f.users[1].note.as_deref(), Some("trial"));
}

#[test]
fn self_serve_and_remind_days() {
    let base = "org: acme\npolicy:\n";
    let default = SelfServe::default();
    #[rustfmt::skip]
    let cases: &[(&str, Result<SelfServe, &str>)] = &[
        ("  suspend: false\n", Ok(default)),
        ("  self_serve: {}\n", Ok(default)),
        ("  self_serve: {mode: pull_request}\n", Ok(SelfServe { mode: SelfServeMode::PullRequest, ..default })),
        ("  self_serve:\n    mode: commit\n    default_expiry_days: 90\n    allow_requests_for_others: true\n    auto_merge: false\n",
            Ok(SelfServe { mode: SelfServeMode::Commit, default_expiry_days: Some(90), allow_requests_for_others: true, auto_merge: false, when_full: WhenFull::Refuse })),
        ("  self_serve: {when_full: queue}\n", Ok(SelfServe { when_full: WhenFull::Queue, ..default })),
        ("  self_serve: {when_full: wait}\n", Err("`policy.self_serve.when_full` is `wait`; expected `refuse` or `queue`")),
        ("  self_serve: {mode: merge}\n", Err("3:22: `policy.self_serve.mode` is `merge`; expected `commit` or `pull_request`")),
        ("  self_serve: {default_expiry_days: 0}\n", Err("`policy.self_serve.default_expiry_days` is 0, out of range 1..=3650")),
        ("  self_serve: {allow_requests_for_others: yes please}\n", Err("must be true or false")),
        ("  self_serve: {auto_merg: true}\n", Err("unknown key `auto_merg` in `policy.self_serve`")),
        ("  self_serve: [commit]\n", Err("`policy.self_serve` must be a mapping")),
    ];
    for (policy, want) in cases {
        let text = format!("{base}{policy}users: [a]\n");
        match (SeatsFile::parse("seats.yaml", text.as_bytes()), want) {
            (Ok(f), Ok(w)) => assert_eq!(&f.policy.self_serve, w, "{policy}"),
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{policy}: {e}"),
            (got, want) => panic!("{policy}: got {got:?}, want {want:?}"),
        }
    }
    #[rustfmt::skip]
    let reminds: &[(&str, Result<u32, &str>)] = &[
        ("{days: 60}", Ok(DEFAULT_REMIND_DAYS)),
        ("{days: 60, remind_days: 14}", Ok(14)),
        ("{days: 60, remind_days: 0}", Err("`policy.inactivity.remind_days` is 0, out of range 1..=3650")),
        ("{days: 60, remind_days: soon}", Err("must be an integer")),
    ];
    for (inactivity, want) in reminds {
        let text = format!("{base}  inactivity: {inactivity}\nusers: [a]\n");
        match (SeatsFile::parse("seats.yaml", text.as_bytes()), want) {
            (Ok(f), Ok(w)) => {
                assert_eq!(f.policy.inactivity.map(|i| i.remind_days()), Some(*w))
            }
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{inactivity}: {e}"),
            (got, want) => panic!("{inactivity}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn max_removals_limits() {
    #[rustfmt::skip]
    let cases = [
        (MaxRemovals::Count(3), 3, 100, false),
        (MaxRemovals::Count(3), 4, 100, true),
        (MaxRemovals::Percent(5.0), 5, 100, false),
        (MaxRemovals::Percent(5.0), 6, 100, true),
        (MaxRemovals::Percent(5.0), 1, 10, true),
        (MaxRemovals::Percent(0.0), 0, 10, false),
    ];
    for (limit, removals, seats, exceeded) in cases {
        assert_eq!(
            limit.exceeded(removals, seats),
            exceeded,
            "{limit} {removals}/{seats}"
        );
    }
}

#[test]
fn never_panics_on_arbitrary_prefixes_of_a_valid_file() {
    let text = std::fs::read("seats.yaml").unwrap();
    for n in 0..text.len() {
        let _ = SeatsFile::parse("seats.yaml", &text[..n]);
    }
}

/// Every enum value the spec lists parses, and names itself back.
#[test]
fn enum_values_round_trip() {
    for v in RemovalMode::VALUES {
        assert_eq!(RemovalMode::from_value(v).map(|m| m.as_str()), Some(*v));
    }
    for v in InactivityAction::VALUES {
        assert_eq!(
            InactivityAction::from_value(v).map(|a| a.as_str()),
            Some(*v)
        );
    }
    for v in SelfServeMode::VALUES {
        assert_eq!(SelfServeMode::from_value(v).map(|m| m.as_str()), Some(*v));
    }
    assert_eq!(RemovalMode::from_value("Enforce"), None);
}

/// A value of each spec type that the parser accepts.
fn sample(ty: &spec::Ty) -> String {
    use spec::Ty;
    match ty {
        Ty::Const(n) => n.to_string(),
        Ty::OrgName | Ty::Login => "octocat".into(),
        Ty::EnterpriseSlug | Ty::TeamSlug => "platform".into(),
        Ty::Logins => "[octocat]".into(),
        Ty::TeamSlugs => "[platform]".into(),
        Ty::Bool => "true".into(),
        Ty::Int(r) => r.min.to_string(),
        Ty::Enum(values) => values[values.len() - 1].to_string(),
        Ty::CountOrPercent(_) => "\"5%\"".into(),
        Ty::Date => "2027-03-31".into(),
        Ty::Text => "why".into(),
        Ty::Map { fields, .. } => sample_map(fields),
        Ty::Users(fields) => format!("[{}]", sample_map(fields)),
    }
}

/// A flow mapping with a sample value for every key.
fn sample_map(fields: &[spec::Field]) -> String {
    let inner: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {}", f.name, sample(&f.ty)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Every key of every table reaches the walker and is read: a key added to
/// the spec but not to the walker fails here, not in production.
#[test]
fn every_spec_key_is_read_by_the_parser() {
    let mut policy: Vec<String> = Vec::new();
    for f in spec::POLICY {
        policy.push(format!("  {}: {}", f.name, sample(&f.ty)));
    }
    let text = format!(
        "version: 1\nenterprise: octo\npolicy:\n{}\nteams: [ent:core]\nusers:\n  - octocat\n  - {{login: hubot, expires: 2027-03-31, note: why}}\n",
        policy.join("\n")
    );
    let file =
        SeatsFile::parse("all.yaml", text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let p = &file.policy;
    assert_eq!(p.removals, RemovalMode::Additive);
    assert!(p.allow_empty && p.suspend);
    assert_eq!(p.max_seats, Some(spec::MAX_SEATS.min as u64));
    assert_eq!(
        p.inactivity.map(|i| i.action),
        Some(InactivityAction::Remove)
    );
    assert_eq!(p.self_serve.mode, SelfServeMode::PullRequest);
    assert_eq!(p.assign_via_team.as_deref(), Some("platform"));
    assert_eq!(file.users[1].note.as_deref(), Some("why"));
    // The org file: the same keys but the enterprise-only ones.
    for f in spec::POLICY.iter().filter(|f| f.enterprise_only) {
        let text = format!("org: acme\npolicy:\n  {}: {}\n", f.name, sample(&f.ty));
        let e = SeatsFile::parse("org.yaml", text.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("needs `enterprise:`"), "{e}");
    }
}

/// Ranges come from the spec: one past either end is refused.
#[test]
fn spec_ranges_bound_the_parser() {
    for (key, r) in [
        ("max_seats", spec::MAX_SEATS),
        ("max_removals", spec::MAX_REMOVALS),
    ] {
        for (n, ok) in [
            (r.min, true),
            (r.max, true),
            (r.min - 1, false),
            (r.max + 1, false),
        ] {
            let text = format!("org: acme\npolicy:\n  {key}: {n}\n");
            assert_eq!(
                SeatsFile::parse("r.yaml", text.as_bytes()).is_ok(),
                ok,
                "{key}: {n}"
            );
        }
    }
}
