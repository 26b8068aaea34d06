//! Seeded org scenarios: members, teams, seats, seats.yaml and faults.

use super::*;

// ---------------------------------------------------------------------------
// Scenarios

/// One seeded scenario: a simulated org, a seats.yaml, and the faults of its
/// faulty phase.
pub(crate) struct Scenario {
    pub(crate) seed: u64,
    pub(crate) today: NaiveDate,
    pub(crate) state: SimState,
    pub(crate) yaml: String,
    /// Error rates and scripted faults of the faulty phase.
    pub(crate) rates: Vec<ErrorRate>,
    pub(crate) scripts: Vec<ScriptedFault>,
    /// Logins every write answers 422 for during the faulty phase.
    pub(crate) rejected: Vec<String>,
    /// Set the stop flag after this many write calls (0: before the first).
    pub(crate) stop_after_writes: Option<usize>,
    /// Reconciles run while the faults are on.
    pub(crate) faulty_rounds: usize,
    /// Changes per write call in the reconciler, and names per request in the client.
    pub(crate) batch_size: usize,
    pub(crate) client_batch_size: usize,
    /// Attempts per request in the faulty client.
    pub(crate) max_attempts: u32,
    /// Per-attempt timeout of the faulty client.
    pub(crate) request_timeout: Duration,
    /// Logins a fault may take out of the listing outright.
    pub(crate) fault_removed: BTreeSet<String>,
    /// seats.yaml names a team that does not exist: every reconcile must fail.
    pub(crate) missing_team: bool,
    /// A human summary, printed with a failure.
    pub(crate) summary: Vec<String>,
}

/// The start of `today` minus `days`: seat times with whole idle days.
pub(crate) fn days_ago(today: NaiveDate, days: u64) -> DateTime<Utc> {
    (today - chrono::Days::new(days))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

pub(crate) fn generate(seed: u64, today: NaiveDate) -> Scenario {
    let mut r = Rng::new(seed);
    let mut summary = Vec::new();
    let mut st = SimState::new("acme");
    st.next_billing_date = seatkeeper::simulator::first_of_next_month(today);
    let cancel_date = st.next_billing_date;

    // Members, spelled by GitHub in a random case.
    let n_members = r.range(3, 36) as usize;
    st.members = (0..n_members)
        .map(|i| r.spell(&format!("dev{i}")))
        .collect();
    st.users = (0..r.range(0, 2)).map(|i| format!("ext{i}")).collect();

    // Disjoint org teams (one may stay empty), and maybe an enterprise team.
    let n_teams = r.range(0, 4) as usize;
    let slugs: Vec<String> = (0..n_teams).map(|j| format!("team-{j}")).collect();
    let mut team_of: Vec<Option<usize>> = vec![None; n_members];
    let mut ent_member = vec![false; n_members];
    let with_ent_team = r.chance(0.15);
    for i in 0..n_members {
        if n_teams > 0 && r.chance(0.45) {
            team_of[i] = Some(r.range(0, n_teams as u64 - 1) as usize);
        } else if with_ent_team && r.chance(0.25) {
            ent_member[i] = true;
        }
    }
    for (j, slug) in slugs.iter().enumerate() {
        let members: Vec<&str> = (0..n_members)
            .filter(|&i| team_of[i] == Some(j))
            .map(|i| st.members[i].as_str())
            .collect();
        st.teams.push(SimTeam::new(slug, &members));
        if r.chance(if members.is_empty() { 0.2 } else { 0.5 }) {
            st.selected_teams.insert(slug.clone());
        }
    }
    if with_ent_team {
        st.enterprise = Some("acme-corp".into());
        let members: Vec<&str> = (0..n_members)
            .filter(|&i| ent_member[i])
            .map(|i| st.members[i].as_str())
            .collect();
        st.enterprise_teams
            .push(SimTeam::new("ent-engineering", &members));
        st.selected_enterprise_teams
            .insert("ent-engineering".into());
    }
    // A big selected team puts the listing over one page (100 seats), so
    // seats can change between pages.
    let big = r.chance(0.2);
    if big {
        let n = r.range(100, 170) as usize;
        let bulk: Vec<String> = (0..n).map(|i| format!("bulk{i}")).collect();
        st.members.extend(bulk.iter().cloned());
        let refs: Vec<&str> = bulk.iter().map(String::as_str).collect();
        st.teams.push(SimTeam::new("bulk", &refs));
        st.selected_teams.insert("bulk".into());
    }

    // Direct seats (active or pending) for members outside selected teams,
    // and pending seats left behind by teams no longer selected.
    for i in 0..n_members {
        let in_selected =
            team_of[i].is_some_and(|j| st.selected_teams.contains(&slugs[j])) || ent_member[i];
        if in_selected {
            continue;
        }
        let login = st.members[i].clone();
        let mut seat = SimSeat::new(&login, days_ago(today, r.range(1, 400)));
        let roll = r.range(0, 99);
        if roll < 40 {
            st.seats.push(seat);
        } else if roll < 55 {
            seat.pending_cancellation_date = Some(cancel_date);
            st.seats.push(seat);
        } else if roll < 62 && team_of[i].is_some() {
            seat.pending_cancellation_date = Some(cancel_date);
            seat.assigning_team = team_of[i].map(|j| TeamRef {
                kind: TeamKind::Org,
                slug: slugs[j].clone(),
            });
            st.seats.push(seat);
        }
    }
    st.normalize(Utc::now());
    for seat in st.seats.iter_mut() {
        if seat.created_at > days_ago(today, 1) {
            seat.created_at = days_ago(today, r.range(1, 400));
        }
        seat.last_activity_at = match r.range(0, 9) {
            0 | 1 => None,
            2..=4 => Some(days_ago(today, r.range(60, 300))),
            _ => Some(days_ago(today, r.range(0, 59))),
        };
    }
    st.invalidate();

    // seats.yaml
    let mut users: Vec<String> = Vec::new();
    let mut listed = BTreeSet::new();
    let empty_desired = r.chance(0.05);
    if !empty_desired {
        for i in 0..n_members {
            if !r.chance(0.5) {
                continue;
            }
            let login = r.spell(&format!("dev{i}"));
            listed.insert(lower(&login));
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
        for u in st.users.clone() {
            if r.chance(0.3) {
                users.push(format!("  - {}\n", r.spell(&u)));
            }
        }
        if r.chance(0.1) {
            users.push(format!("  - ghost{}\n", r.range(0, 9)));
        }
    }
    let mut teams: Vec<String> = Vec::new();
    if !empty_desired {
        for slug in &slugs {
            if r.chance(0.5) {
                teams.push(slug.clone());
            }
        }
        if big {
            teams.push("bulk".into());
        }
    }
    let missing_team = r.chance(0.03);
    if missing_team {
        teams.push("no-such-team".into());
    }

    let mut policy = String::new();
    let additive = r.chance(0.15);
    if additive {
        policy.push_str("  removals: additive\n");
    }
    match r.range(0, 9) {
        0..=3 => {}
        4..=7 => writeln!(policy, "  max_removals: {}", r.range(0, 20)).unwrap(),
        _ => writeln!(policy, "  max_removals: \"{}%\"", r.range(5, 100)).unwrap(),
    }
    if r.chance(0.25) {
        let active = st.seats.iter().filter(|s| s.is_active()).count() as u64;
        writeln!(
            policy,
            "  max_seats: {}",
            (active + r.range(0, 15)).saturating_sub(2).max(1)
        )
        .unwrap();
    }
    let mut protected = Vec::new();
    for _ in 0..r.range(0, 3) {
        let i = r.range(0, n_members as u64 - 1);
        let p = r.spell(&format!("dev{i}"));
        if !protected
            .iter()
            .any(|q: &String| q.eq_ignore_ascii_case(&p))
        {
            protected.push(p);
        }
    }
    if !protected.is_empty() {
        writeln!(policy, "  protected: [{}]", protected.join(", ")).unwrap();
    }
    let nonempty: Vec<&String> = slugs
        .iter()
        .enumerate()
        .filter(|(j, _)| team_of.contains(&Some(*j)))
        .map(|(_, s)| s)
        .collect();
    if !nonempty.is_empty() && r.chance(0.1) {
        writeln!(policy, "  eligible_teams: [{}]", r.pick(&nonempty)).unwrap();
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
            "  inactivity:\n    days: {}\n    action: remove",
            r.range(30, 120)
        )
        .unwrap(),
        _ => {}
    }
    let mut yaml = String::from("# generated by tests/it/faults\norg: acme\n");
    if !policy.is_empty() {
        yaml.push_str("policy:\n");
        yaml.push_str(&policy);
    }
    if !teams.is_empty() || r.chance(0.5) {
        yaml.push_str("teams:\n");
        if teams.is_empty() {
            yaml.truncate(yaml.len() - 1);
            yaml.push_str(" []\n");
        }
        for t in &teams {
            writeln!(yaml, "  - {t}").unwrap();
        }
    }
    if !users.is_empty() || r.chance(0.5) {
        yaml.push_str("users:\n");
        if users.is_empty() {
            yaml.truncate(yaml.len() - 1);
            yaml.push_str(" []\n");
        }
        for u in &users {
            yaml.push_str(u);
        }
    }

    // Faults.
    let mut rates = Vec::new();
    let mut scripts = Vec::new();
    let mut fault_removed = BTreeSet::new();
    let write_routes = [
        "*",
        "POST *",
        "DELETE *",
        routes::ORG_SELECTED_USERS,
        routes::ORG_SELECTED_TEAMS,
        routes::ORG_SEATS,
        routes::ORG_BILLING,
        routes::ORG_MEMBER,
        routes::ORG_TEAM_MEMBERS,
        routes::USER,
    ];
    let quiet = r.chance(0.08);
    if !quiet {
        for _ in 0..r.range(1, 4) {
            let route = r.pick(&write_routes).to_string();
            match r.range(0, 13) {
                0..=4 => rates.push(ErrorRate {
                    route,
                    status: *r.pick(&[500u16, 502, 503, 504]),
                    probability: r.range(5, 50) as f64 / 100.0,
                    headers: Vec::new(),
                }),
                5 | 6 => rates.push(ErrorRate {
                    route,
                    status: *r.pick(&[403u16, 429]),
                    probability: r.range(5, 40) as f64 / 100.0,
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
                11 => scripts.push(ScriptedFault {
                    route,
                    nth: r.range(1, 10),
                    times: r.range(1, 2),
                    action: if r.chance(0.5) {
                        // Longer than the faulty client's timeout.
                        FaultAction::Latency(Duration::from_millis(250))
                    } else {
                        FaultAction::Latency(Duration::from_millis(r.range(1, 20)))
                    },
                }),
                // A 404 only where it means "gone" without lying about a
                // person: a spurious 404 from the membership or user routes
                // would (rightly) make a listed user ineligible.
                12 => scripts.push(match r.range(0, 3) {
                    0 => ScriptedFault {
                        route: r
                            .pick(&[
                                routes::ORG_TEAM_MEMBERS,
                                routes::ORG_SEATS,
                                routes::ORG_BILLING,
                            ])
                            .to_string(),
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
                _ => scripts.push(ScriptedFault {
                    route: routes::ORG_TEAM_MEMBERS.into(),
                    nth: 1,
                    times: 1,
                    action: FaultAction::status(404),
                }),
            }
        }
        if big && r.chance(0.6) {
            // Seats change right after page 1 of the first listing.
            let action = if r.chance(0.5) {
                FaultAction::InsertSeatAfter(format!("intruder{}", r.range(0, 99)))
            } else {
                let direct: Vec<String> = st
                    .seats
                    .iter()
                    .filter(|s| s.assigning_team.is_none())
                    .map(|s| s.login.clone())
                    .collect();
                if direct.is_empty() {
                    FaultAction::InsertSeatAfter(format!("intruder{}", r.range(0, 99)))
                } else {
                    let login = r.pick(&direct).clone();
                    fault_removed.insert(lower(&login));
                    FaultAction::RemoveSeatAfter(Some(login))
                }
            };
            scripts.push(ScriptedFault {
                route: routes::ORG_SEATS.into(),
                nth: 1,
                times: 1,
                action,
            });
        }
    }
    let mut rejected = Vec::new();
    if !quiet && r.chance(0.35) {
        for _ in 0..r.range(1, 3) {
            let i = r.range(0, n_members as u64 - 1) as usize;
            rejected.push(st.members[i].clone());
        }
    }
    let stop_after_writes = (r.chance(0.15)).then(|| r.range(0, 3) as usize);
    let faulty_rounds = r.range(1, 2) as usize;
    let batch_size = *r.pick(&[1usize, 2, 3, 5, 100]);
    let client_batch_size = *r.pick(&[1usize, 2, 4, 100]);
    let max_attempts = r.range(2, 5) as u32;

    summary.push(format!(
        "{} members, {} teams (selected {:?}), enterprise team {}, bulk team {}, {} seats ({} active)",
        n_members,
        n_teams,
        st.selected_teams,
        with_ent_team,
        big,
        st.seats.len(),
        st.seats.iter().filter(|s| s.is_active()).count()
    ));
    summary.push(format!(
        "faults: rates {rates:?}; scripts {scripts:?}; rejected {rejected:?}; stop after {stop_after_writes:?} writes; {faulty_rounds} faulty round(s); batch {batch_size}/{client_batch_size}; attempts {max_attempts}"
    ));

    Scenario {
        seed,
        today,
        state: st,
        yaml,
        rates,
        scripts,
        rejected,
        stop_after_writes,
        faulty_rounds,
        batch_size,
        client_batch_size,
        max_attempts,
        request_timeout: Duration::from_millis(150),
        fault_removed,
        missing_team,
        summary,
    }
}
