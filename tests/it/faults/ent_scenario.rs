//! Seeded enterprise scenarios: orgs, enterprise teams, grants, seats.yaml, faults and changes while paging.

use super::*;

pub(crate) fn ent_generate(seed: u64, today: NaiveDate) -> EntScenario {
    let mut r = Rng::new(seed ^ 0x00E1_7E00);
    let mut summary = Vec::new();
    let mut st = SimState::new("acme");
    st.enterprise = Some(ENT.into());
    st.next_billing_date = seatkeeper::simulator::first_of_next_month(today);
    let cancel_date = st.next_billing_date;

    // People: acme's members, the other organizations' own members, and
    // enterprise members in no organization (all of them GitHub users).
    let devs: Vec<String> = (0..r.range(2, 12))
        .map(|i| r.spell(&format!("dev{i}")))
        .collect();
    st.members = devs.clone();
    let solo: Vec<String> = (0..r.range(2, 12)).map(|i| format!("ent{i}")).collect();
    st.enterprise_members = solo.clone();
    st.users = solo.clone();
    let mut everyone: Vec<String> = devs.iter().chain(&solo).cloned().collect();
    let n_orgs = r.range(1, 2) as usize;
    for (k, org) in ["beta", "gamma"].into_iter().enumerate().take(n_orgs) {
        let own: Vec<String> = (0..r.range(1, 5))
            .map(|i| format!("{}{i}", &org[..1]))
            .collect();
        let mut members = own.clone();
        for d in &devs {
            if r.chance(0.3) {
                members.push(d.clone());
            }
        }
        let mut selected_users = BTreeSet::new();
        let mut team = Vec::new();
        for m in &members {
            if r.chance(0.3) {
                selected_users.insert(lower(m));
            }
            if r.chance(0.4) {
                team.push(m.as_str());
            }
        }
        let mut selected_teams = BTreeSet::new();
        if r.chance(0.5) {
            selected_teams.insert("eng".to_string());
        }
        st.orgs.push(SimOrg {
            login: org.to_string(),
            id: 2000 + k as u64,
            teams: vec![SimTeam::new("eng", &team)],
            members: members.clone(),
            selected_users,
            selected_teams,
            seats: Vec::new(),
        });
        st.users.extend(own.iter().cloned());
        everyone.extend(own);
    }
    // acme's own grants: organization grants, outside the enterprise file.
    for d in &devs {
        if r.chance(0.25) {
            st.selected_users.insert(lower(d));
        }
    }
    let web: Vec<&str> = devs
        .iter()
        .filter(|_| r.chance(0.3))
        .map(String::as_str)
        .collect();
    st.teams.push(SimTeam::new("web", &web));
    if r.chance(0.5) {
        st.selected_teams.insert("web".into());
    }
    // Enterprise teams, maybe a big one, and direct enterprise grants.
    let n_teams = r.range(1, 3) as usize;
    let slugs: Vec<String> = (0..n_teams).map(|j| format!("ent:team-{j}")).collect();
    for slug in &slugs {
        let members: Vec<&str> = everyone
            .iter()
            .filter(|_| r.chance(0.3))
            .map(String::as_str)
            .collect();
        st.enterprise_teams.push(SimTeam::new(slug, &members));
        if r.chance(0.6) {
            st.selected_enterprise_teams.insert(slug.clone());
        }
    }
    let big = r.chance(0.2);
    if big {
        let bulk: Vec<String> = (0..r.range(20, 45)).map(|i| format!("bulk{i}")).collect();
        st.enterprise_members.extend(bulk.iter().cloned());
        st.users.extend(bulk.iter().cloned());
        let refs: Vec<&str> = bulk.iter().map(String::as_str).collect();
        st.enterprise_teams.push(SimTeam::new("ent:bulk", &refs));
        st.selected_enterprise_teams.insert("ent:bulk".into());
    }
    for p in &everyone {
        let roll = r.range(0, 99);
        if roll < 35 {
            st.enterprise_selected_users.insert(lower(p));
        } else if roll < 45 {
            let mut seat = SimSeat::new(p, days_ago(today, 30));
            seat.pending_cancellation_date = Some(cancel_date);
            st.enterprise_seats.push(seat);
        }
    }
    st.normalize(Utc::now());
    // Activity is the user's, the same on each of their entries ("each seat
    // object contains information about the assigned user's most recent
    // Copilot activity"); grant times are per entry.
    type Seen = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let mut activity: BTreeMap<String, Seen> = BTreeMap::new();
    let seats = st
        .seats
        .iter_mut()
        .chain(st.orgs.iter_mut().flat_map(|o| o.seats.iter_mut()))
        .chain(st.enterprise_seats.iter_mut());
    for seat in seats {
        seat.created_at = days_ago(today, r.range(1, 400));
        let (act, auth) = *activity.entry(lower(&seat.login)).or_insert_with(|| {
            let act = match r.range(0, 9) {
                0 | 1 => None,
                2..=4 => Some(days_ago(today, r.range(60, 300))),
                _ => Some(days_ago(today, r.range(0, 59))),
            };
            let auth = match r.range(0, 3) {
                0 => Some(days_ago(today, r.range(0, 20))),
                _ => None,
            };
            (act, auth)
        });
        seat.last_activity_at = act;
        seat.last_authenticated_at = auth;
    }
    st.invalidate();
    let entries = st.seats.len()
        + st.orgs.iter().map(|o| o.seats.len()).sum::<usize>()
        + st.enterprise_seats.len();
    let per_page = *r.pick(&[3usize, 4, 5, 8, 100]);
    let pages = entries.div_ceil(per_page).max(1);

    // seats.yaml
    let mut users = Vec::new();
    let empty_desired = r.chance(0.04);
    if !empty_desired {
        for p in &everyone {
            if !r.chance(0.45) {
                continue;
            }
            let login = r.spell(p);
            users.push(match r.range(0, 19) {
                0..=2 => format!(
                    "  - login: {login}\n    expires: {}\n",
                    today - chrono::Days::new(r.range(1, 40))
                ),
                3 | 4 => format!(
                    "  - login: {login}\n    expires: {}\n",
                    today + chrono::Days::new(r.range(0, 60))
                ),
                _ => format!("  - {login}\n"),
            });
        }
        if r.chance(0.1) {
            users.push(format!("  - ghost{}\n", r.range(0, 9)));
        }
    }
    let mut teams = Vec::new();
    if !empty_desired {
        for slug in &slugs {
            if r.chance(0.5) {
                // The file may name an enterprise team with or without `ent:`.
                teams.push(if r.chance(0.5) {
                    slug.clone()
                } else {
                    slug.trim_start_matches("ent:").to_string()
                });
            }
        }
        if big && r.chance(0.7) {
            teams.push("bulk".into());
        }
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
    if r.chance(0.2) {
        let held = holdings(&st).keys().count() as u64;
        writeln!(policy, "  max_seats: {}", held + r.range(0, 10)).unwrap();
    }
    let protected: Vec<String> = (0..r.range(0, 2))
        .map(|_| lower(r.pick::<String>(&everyone)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !protected.is_empty() {
        writeln!(policy, "  protected: [{}]", protected.join(", ")).unwrap();
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
    let mut yaml = format!("# generated by tests/it/faults\nenterprise: {ENT}\n");
    if !policy.is_empty() {
        yaml.push_str("policy:\n");
        yaml.push_str(&policy);
    }
    if teams.is_empty() {
        yaml.push_str("teams: []\n");
    } else {
        yaml.push_str("teams:\n");
        for t in &teams {
            writeln!(yaml, "  - {t}").unwrap();
        }
    }
    if users.is_empty() {
        yaml.push_str("users: []\n");
    } else {
        yaml.push_str("users:\n");
        for u in &users {
            yaml.push_str(u);
        }
    }

    // The change while paging: only on a listing of 3 pages or more, so a
    // page is read after it.
    let h = holdings(&st);
    let enterprise_only: Vec<String> = h
        .iter()
        .filter(|(_, g)| !g.is_empty() && g.iter().all(|g| !g.starts_with("org ")))
        .map(|(l, _)| l.clone())
        .collect();
    let churn = (pages >= 3 && r.chance(0.7)).then(|| {
        let intruder = format!("intruder{}", r.range(0, 99));
        let kind = match r.range(0, 9) {
            0 | 1 => Churn::Added,
            2 | 3 => Churn::AddedByOrg,
            4 | 5 => Churn::Removed,
            _ => Churn::NetZero,
        };
        let gone = (!enterprise_only.is_empty()).then(|| r.pick(&enterprise_only).clone());
        match (kind, gone) {
            (Churn::Added, _) | (Churn::Removed | Churn::NetZero, None) => (
                Churn::Added,
                vec![FaultAction::GrantEnterpriseSeatAfter {
                    login: intruder,
                    later_second: false,
                }],
            ),
            (Churn::AddedByOrg, _) => (
                Churn::AddedByOrg,
                vec![FaultAction::InsertSeatAfter(intruder)],
            ),
            (Churn::Removed, Some(g)) => (
                Churn::Removed,
                vec![FaultAction::RemoveEnterpriseSeatsAfter(g)],
            ),
            (Churn::NetZero, Some(g)) => (
                Churn::NetZero,
                vec![
                    FaultAction::RemoveEnterpriseSeatsAfter(g),
                    FaultAction::GrantEnterpriseSeatAfter {
                        login: intruder,
                        later_second: true,
                    },
                ],
            ),
        }
    });

    // Faults. A scenario with a change while paging has no latency faults
    // and a patient client: the change then lands while the client is
    // still reading (a timed-out page could otherwise apply it after).
    let mut rates = Vec::new();
    let mut scripts = Vec::new();
    let fault_routes = [
        "*",
        "POST *",
        "DELETE *",
        routes::ENTERPRISE_SEATS,
        routes::ENTERPRISE_SELECTED_USERS,
        routes::ENTERPRISE_SELECTED_TEAMS,
        routes::ENTERPRISE_TEAM_MEMBERSHIPS,
        routes::USER,
    ];
    let quiet = r.chance(0.08);
    if !quiet {
        for _ in 0..r.range(1, 4) {
            let route = r.pick(&fault_routes).to_string();
            match r.range(0, 12) {
                0..=4 => rates.push(ErrorRate {
                    route,
                    status: *r.pick(&[500u16, 502, 503, 504]),
                    probability: r.range(5, 40) as f64 / 100.0,
                    headers: Vec::new(),
                }),
                5 | 6 => rates.push(ErrorRate {
                    route,
                    status: *r.pick(&[403u16, 429]),
                    probability: r.range(5, 30) as f64 / 100.0,
                    headers: vec![("retry-after".into(), r.range(0, 120).to_string())],
                }),
                7 => scripts.push(ScriptedFault {
                    route,
                    nth: r.range(1, 12),
                    times: r.range(1, 4),
                    action: FaultAction::status(*r.pick(&[500u16, 502, 503])),
                }),
                8 | 9 => scripts.push(ScriptedFault {
                    route,
                    nth: r.range(1, 12),
                    times: r.range(1, 3),
                    action: FaultAction::Drop,
                }),
                10 if churn.is_none() => scripts.push(ScriptedFault {
                    route,
                    nth: r.range(1, 10),
                    times: r.range(1, 2),
                    action: if r.chance(0.5) {
                        FaultAction::Latency(Duration::from_millis(250))
                    } else {
                        FaultAction::Latency(Duration::from_millis(r.range(1, 20)))
                    },
                }),
                10 => {}
                _ => scripts.push(match r.range(0, 3) {
                    0 => ScriptedFault {
                        route: r
                            .pick(&[
                                routes::ENTERPRISE_TEAM_MEMBERSHIPS,
                                routes::ENTERPRISE_SEATS,
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
            }
        }
    }
    if let Some((_, actions)) = &churn {
        let nth = r.range(2, 3);
        for action in actions {
            scripts.push(ScriptedFault {
                route: routes::ENTERPRISE_SEATS.into(),
                nth,
                times: 1,
                action: action.clone(),
            });
        }
    }
    let mut rejected = Vec::new();
    if !quiet && r.chance(0.3) {
        for _ in 0..r.range(1, 2) {
            rejected.push(r.pick(&everyone).clone());
        }
    }
    let stop_after_writes = r.chance(0.1).then(|| r.range(0, 3) as usize);
    let faulty_rounds = r.range(1, 2) as usize;
    let batch_size = *r.pick(&[1usize, 2, 5, 100]);
    let client_batch_size = *r.pick(&[1usize, 2, 4, 100]);
    let max_attempts = r.range(2, 5) as u32;
    let request_timeout = if churn.is_some() {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(150)
    };
    summary.push(format!(
        "{} people ({} orgs), {} enterprise teams (selected {:?}), bulk team {big}, {entries} entries in {pages} page(s) of {per_page}, {} holders",
        everyone.len(),
        n_orgs + 1,
        st.enterprise_teams.len(),
        st.selected_enterprise_teams,
        h.len()
    ));
    summary.push(format!(
        "churn {churn:?}; faults: rates {rates:?}; scripts {scripts:?}; rejected {rejected:?}; stop after {stop_after_writes:?} writes; {faulty_rounds} faulty round(s); batch {batch_size}/{client_batch_size}; attempts {max_attempts}"
    ));
    EntScenario {
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
