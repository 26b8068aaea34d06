//! One seeded scenario for either scope: the scope's shape (scope.rs), then
//! seats.yaml, the faults and the client's settings, drawn here once.

use super::*;

pub(crate) struct Scenario {
    pub(crate) seed: u64,
    pub(crate) today: NaiveDate,
    pub(crate) state: SimState,
    pub(crate) yaml: String,
    pub(crate) per_page: usize,
    pub(crate) rates: Vec<ErrorRate>,
    pub(crate) scripts: Vec<ScriptedFault>,
    pub(crate) rejected: Vec<String>,
    /// The change while paging, and the fault actions that make it.
    pub(crate) churn: Option<(Churn, Vec<FaultAction>)>,
    pub(crate) stop_after_writes: Option<usize>,
    pub(crate) faulty_rounds: usize,
    pub(crate) batch_size: usize,
    pub(crate) client_batch_size: usize,
    pub(crate) max_attempts: u32,
    pub(crate) request_timeout: Duration,
    /// seats.yaml names a team that does not exist: every reconcile must fail.
    pub(crate) missing_team: bool,
    /// A human summary, printed with a failure.
    pub(crate) summary: Vec<String>,
}

/// Each backoff is drawn under `min(BACKOFF_MAX, BACKOFF_BASE * 2^retry)`
/// (the client's documented full jitter); the waits are recorded, not slept.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_millis(1);
pub(crate) const BACKOFF_MAX: Duration = Duration::from_millis(4);
/// The faulty client's longest rate-limit wait; `retry-after: 1000` is over it.
pub(crate) const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(300);
/// A latency fault this long outlasts the faulty client's timeout.
pub(crate) const TIMEOUT_LATENCY: Duration = Duration::from_millis(250);

impl Scenario {
    /// Holders a change while paging took out of the listing.
    pub(crate) fn churn_removed(&self) -> BTreeSet<String> {
        self.churn
            .iter()
            .flat_map(|(_, a)| a)
            .filter_map(|a| match a {
                FaultAction::RemoveEnterpriseSeatsAfter(l)
                | FaultAction::RemoveSeatAfter(Some(l)) => Some(lower(l)),
                _ => None,
            })
            .collect()
    }
}

pub(crate) fn generate<S: Scope>(seed: u64, today: NaiveDate) -> Scenario {
    let mut r = Rng::new(seed ^ S::SALT);
    let shape = S::shape(&mut r, today);
    let Shape {
        state: st,
        people,
        teams: team_choices,
        forced_teams,
        eligible_teams,
        per_page,
        pages,
        churn,
        summary: shape_summary,
    } = shape;

    // seats.yaml
    let mut users: Vec<String> = Vec::new();
    let empty_desired = r.chance(0.05);
    if !empty_desired {
        for p in &people {
            if !r.chance(0.5) {
                continue;
            }
            let login = r.spell(p);
            users.push(match r.range(0, 19) {
                0..=2 => format!(
                    "  - login: {login}\n    expires: {}\n",
                    today - chrono::Days::new(r.range(1, 40))
                ),
                3 | 4 => format!(
                    "  - login: {login}\n    expires: {}\n    note: trial\n",
                    today + chrono::Days::new(r.range(0, 60))
                ),
                _ => format!("  - {login}\n"),
            });
        }
        if r.chance(0.1) {
            users.push(format!("  - ghost{}\n", r.range(0, 9)));
        }
    }
    let mut teams: Vec<String> = Vec::new();
    if !empty_desired {
        for slug in &team_choices {
            if r.chance(0.5) {
                teams.push(S::spell_team(&mut r, slug));
            }
        }
        teams.extend(forced_teams.iter().cloned());
    }
    let missing_team = r.chance(0.03);
    if missing_team {
        teams.push("no-such-team".into());
    }

    let mut policy = String::new();
    if r.chance(0.15) {
        policy.push_str("  removals: additive\n");
    }
    match r.range(0, 9) {
        0..=3 => {}
        4..=7 => writeln!(policy, "  max_removals: {}", r.range(0, 20)).unwrap(),
        _ => writeln!(policy, "  max_removals: \"{}%\"", r.range(5, 100)).unwrap(),
    }
    if r.chance(0.25) {
        let held = S::holdings(&st).values().filter(|h| h.active).count() as u64;
        writeln!(
            policy,
            "  max_seats: {}",
            (held + r.range(0, 15)).saturating_sub(2).max(1)
        )
        .unwrap();
    }
    let mut protected: Vec<String> = Vec::new();
    for _ in 0..r.range(0, 3) {
        let who = r.pick(&people).clone();
        let p = r.spell(&who);
        if !protected.iter().any(|q| q.eq_ignore_ascii_case(&p)) {
            protected.push(p);
        }
    }
    if !protected.is_empty() {
        writeln!(policy, "  protected: [{}]", protected.join(", ")).unwrap();
    }
    if !eligible_teams.is_empty() && r.chance(0.1) {
        writeln!(policy, "  eligible_teams: [{}]", r.pick(&eligible_teams)).unwrap();
    }
    if r.chance(0.3) {
        policy.push_str("  allow_empty: true\n");
    }
    if r.chance(0.02) {
        policy.push_str("  suspend: true\n");
    }
    match r.range(0, 9) {
        0 | 1 => writeln!(
            policy,
            "  inactivity:\n    days: {}\n    action: report",
            r.range(30, 120)
        )
        .unwrap(),
        2..=4 => writeln!(
            policy,
            "  inactivity:\n    days: {}\n    action: remove\n    act_before_cycle_end_days: 31",
            r.range(30, 120)
        )
        .unwrap(),
        _ => {}
    }
    let mut yaml = format!("# generated by tests/it/faults\n{}\n", S::HEADER);
    if !policy.is_empty() {
        yaml.push_str("policy:\n");
        yaml.push_str(&policy);
    }
    for (key, items) in [("teams", &teams), ("users", &users)] {
        if items.is_empty() {
            if r.chance(0.5) {
                writeln!(yaml, "{key}: []").unwrap();
            }
            continue;
        }
        writeln!(yaml, "{key}:").unwrap();
        for item in items {
            if key == "teams" {
                writeln!(yaml, "  - {item}").unwrap();
            } else {
                yaml.push_str(item);
            }
        }
    }

    // Faults. A scenario with a change while paging has no latency faults
    // and a patient client: the change then lands while the client is still
    // reading (a timed-out page could otherwise apply it after).
    let mut rates = Vec::new();
    let mut scripts = Vec::new();
    let quiet = r.chance(0.08);
    if !quiet {
        for _ in 0..r.range(1, 4) {
            let route = r.pick(S::FAULT_ROUTES).to_string();
            match r.range(0, 14) {
                0..=4 => rates.push(ErrorRate {
                    route,
                    status: *r.pick(&[500u16, 502, 503, 504]),
                    probability: r.range(5, 45) as f64 / 100.0,
                    headers: Vec::new(),
                }),
                5 | 6 => rates.push(ErrorRate {
                    route,
                    status: *r.pick(&[403u16, 429]),
                    probability: r.range(5, 35) as f64 / 100.0,
                    headers: vec![(
                        "retry-after".into(),
                        if r.chance(0.1) {
                            "1000".into()
                        } else {
                            r.range(0, 120).to_string()
                        },
                    )],
                }),
                7 => rates.push(ErrorRate {
                    route,
                    status: 429,
                    probability: r.range(5, 30) as f64 / 100.0,
                    headers: Vec::new(),
                }),
                8 => scripts.push(ScriptedFault {
                    route,
                    nth: r.range(1, 12),
                    times: r.range(1, 5),
                    action: FaultAction::status(*r.pick(&[500u16, 502, 503])),
                }),
                9 | 10 => scripts.push(ScriptedFault {
                    route,
                    nth: r.range(1, 12),
                    times: r.range(1, 3),
                    action: FaultAction::Drop,
                }),
                11 | 12 if churn.is_none() => scripts.push(ScriptedFault {
                    route,
                    nth: r.range(1, 6),
                    times: r.range(1, 2),
                    action: if r.chance(0.4) {
                        FaultAction::Latency(TIMEOUT_LATENCY)
                    } else {
                        FaultAction::Latency(Duration::from_millis(r.range(1, 20)))
                    },
                }),
                11 | 12 => {}
                _ => scripts.push(match r.range(0, 3) {
                    0 => ScriptedFault {
                        route: r.pick(S::NOT_FOUND_ROUTES).to_string(),
                        nth: r.range(1, 4),
                        times: 1,
                        action: FaultAction::status(404),
                    },
                    k => ScriptedFault {
                        route,
                        nth: r.range(1, 10),
                        times: 1,
                        action: FaultAction::status([401, 403, 422][k as usize - 1]),
                    },
                }),
            }
        }
    }
    if let Some((_, actions)) = &churn {
        // After page 1 of a two-page listing, page 2 or 3 of a longer one.
        let nth = if pages >= 3 { r.range(2, 3) } else { 1 };
        for action in actions {
            scripts.push(ScriptedFault {
                route: S::SEATS_ROUTE.into(),
                nth,
                times: 1,
                action: action.clone(),
            });
        }
    }
    let mut rejected = Vec::new();
    if !quiet && r.chance(0.35) {
        for _ in 0..r.range(1, 3) {
            rejected.push(r.pick(&people).clone());
        }
    }
    let stop_after_writes = r.chance(0.12).then(|| r.range(0, 3) as usize);
    let faulty_rounds = r.range(1, 2) as usize;
    let batch_size = *r.pick(&[1usize, 2, 3, 5, 100]);
    let client_batch_size = *r.pick(&[1usize, 2, 4, 100]);
    let max_attempts = r.range(2, 5) as u32;
    let request_timeout = if churn.is_some() {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(150)
    };
    let mut summary = vec![
        shape_summary,
        format!(
            "churn {churn:?}; faults: rates {rates:?}; scripts {scripts:?}; rejected {rejected:?}; stop after {stop_after_writes:?} writes; {faulty_rounds} faulty round(s); batch {batch_size}/{client_batch_size}; attempts {max_attempts}"
        ),
    ];
    // A seat page past page 1 that keeps failing, in half of the multi-page
    // scenarios without churn (drawn last, so every draw above, and so the
    // rest of each seed's scenario, stays as it was): the listing cannot be
    // proven whole and the reconcile goes on with adds only (issue 18 item
    // 5). Page 1 goes alone, so it is the route's first request, answered.
    if !quiet && pages >= 2 && churn.is_none() && r.chance(0.5) {
        let failing = ScriptedFault {
            route: S::SEATS_ROUTE.into(),
            nth: 2,
            times: 40,
            action: FaultAction::status(502),
        };
        summary.push(format!("a failing seat page: {failing:?}"));
        scripts.push(failing);
    }
    Scenario {
        seed,
        today,
        state: st,
        yaml,
        per_page,
        rates,
        scripts,
        rejected,
        churn,
        stop_after_writes,
        faulty_rounds,
        batch_size,
        client_batch_size,
        max_attempts,
        request_timeout,
        missing_team,
        summary,
    }
}
