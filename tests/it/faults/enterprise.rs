//! The enterprise scope, as users run it: production concurrency (4 pages,
//! 8 look-ups), several organizations, enterprise teams and direct grants,
//! one listing entry per grant, and seats that change while the pages are
//! read: a seat added or removed after page 2 or 3, and a net-zero change
//! (one holder out, one in: every count stays equal).

use super::*;

pub(crate) const ENT: &str = "octo-corp";

pub(crate) struct Enterprise;

impl Scope for Enterprise {
    const NAME: &'static str = "enterprise";
    const DEFAULT_SCENARIOS: u64 = 300;
    /// More than for orgs: a net-zero change waits up to a second for the
    /// clock (idle time).
    const WORKERS: u64 = 8;
    const SCENARIOS_VAR: &'static str = "SEATKEEPER_ENTERPRISE_FAULT_SCENARIOS";
    const SEED_VAR: &'static str = "SEATKEEPER_ENTERPRISE_FAULT_SEED";
    const SALT: u64 = 0x00E1_7E00;
    const SEATS_ROUTE: &'static str = routes::ENTERPRISE_SEATS;
    const USERS_ROUTE: &'static str = routes::ENTERPRISE_SELECTED_USERS;
    const TEAMS_ROUTE: &'static str = routes::ENTERPRISE_SELECTED_TEAMS;
    const TEAMS_KEY: &'static str = "selected_enterprise_teams";
    const CONCURRENCY: usize = 8;
    const PAGE_CONCURRENCY: usize = 4;
    const CHURN_KINDS: &'static [Churn] = &[
        Churn::Added,
        Churn::AddedByOrg,
        Churn::Removed,
        Churn::NetZero,
    ];
    const HEADER: &'static str = "enterprise: octo-corp";
    const FAULT_ROUTES: &'static [&'static str] = &[
        "*",
        "POST *",
        "DELETE *",
        routes::ENTERPRISE_SEATS,
        routes::ENTERPRISE_SELECTED_USERS,
        routes::ENTERPRISE_SELECTED_TEAMS,
        routes::ENTERPRISE_TEAM_MEMBERSHIPS,
        routes::USER,
    ];
    const NOT_FOUND_ROUTES: &'static [&'static str] = &[
        routes::ENTERPRISE_TEAM_MEMBERSHIPS,
        routes::ENTERPRISE_SEATS,
    ];

    fn shape(r: &mut Rng, today: NaiveDate) -> Shape {
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

        // The change while paging: only on a listing of 3 pages or more, so
        // a page is read after it.
        let h = strings(&st);
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
        let summary = format!(
            "{} people ({} orgs), {} enterprise teams (selected {:?}), bulk team {big}, {entries} entries in {pages} page(s) of {per_page}, {} holders",
            everyone.len(),
            n_orgs + 1,
            st.enterprise_teams.len(),
            st.selected_enterprise_teams,
            h.len()
        );
        let mut forced_teams = Vec::new();
        if big && r.chance(0.7) {
            forced_teams.push("bulk".to_string());
        }
        Shape {
            state: st,
            people: everyone.iter().map(|p| lower(p)).collect(),
            teams: slugs,
            forced_teams,
            eligible_teams: Vec::new(),
            per_page,
            pages,
            churn,
            summary,
        }
    }

    /// The file may name an enterprise team with or without `ent:`.
    fn spell_team(r: &mut Rng, slug: &str) -> String {
        if r.chance(0.5) {
            slug.to_string()
        } else {
            slug.trim_start_matches("ent:").to_string()
        }
    }

    fn team_key(slug: &str) -> String {
        let s = lower(slug);
        match s.strip_prefix("ent:") {
            Some(rest) => format!("ent:{rest}"),
            None => format!("ent:{s}"),
        }
    }

    fn team_kind() -> TeamKind {
        TeamKind::Enterprise
    }

    fn selected_teams(st: &SimState) -> BTreeSet<String> {
        st.selected_enterprise_teams
            .iter()
            .map(|t| Self::team_key(t))
            .collect()
    }

    fn holdings(st: &SimState) -> BTreeMap<String, Holding> {
        strings(st)
            .into_iter()
            .map(|(l, grants)| {
                let active: Vec<&String> =
                    grants.iter().filter(|g| !g.contains(" pending ")).collect();
                let h = Holding {
                    active: !active.is_empty(),
                    direct: active.iter().any(|g| *g == "a direct grant"),
                    teams: active
                        .iter()
                        .filter_map(|g| g.strip_prefix("team "))
                        .map(Self::team_key)
                        .collect(),
                    grants,
                };
                (l, h)
            })
            .collect()
    }

    /// Exists as a GitHub user and is an enterprise member.
    fn eligible(_: &Want, st: &SimState, login: &str) -> bool {
        let l = lower(login);
        st.enterprise_member_set().contains(&l)
            && (st.members.iter().chain(&st.users)).any(|m| lower(m) == l)
    }

    /// When the user was last seen, as the planner counts idle days: the
    /// latest activity or sign-in over every entry, else the latest grant.
    fn idle_removable(want: &Want, st: &SimState, login: &str, today: NaiveDate) -> bool {
        let Some(days) = want.idle_remove else {
            return false;
        };
        let entries: Vec<&SimSeat> = st
            .seats
            .iter()
            .chain(st.orgs.iter().flat_map(|o| &o.seats))
            .chain(&st.enterprise_seats)
            .filter(|s| s.login.eq_ignore_ascii_case(login))
            .collect();
        let seen = entries
            .iter()
            .flat_map(|s| [s.last_activity_at, s.last_authenticated_at])
            .flatten()
            .max()
            .or_else(|| entries.iter().map(|s| s.created_at).max());
        !want.additive
            && !want.protected.contains(login)
            && seen.is_some_and(|t| (today - t.date_naive()).num_days().max(0) >= days)
    }

    fn listed_keeps(
        want: &Want,
        st: &SimState,
        login: &str,
        _: &Holding,
        today: NaiveDate,
    ) -> bool {
        Self::eligible(want, st, login) && !Self::idle_removable(want, st, login, today)
    }

    fn idle_must_go(want: &Want, st: &SimState, login: &str, today: NaiveDate) -> bool {
        Self::idle_removable(want, st, login, today)
    }

    fn happened(
        action: Action,
        name: &str,
        post: &SimState,
        h: &BTreeMap<String, Holding>,
    ) -> bool {
        match action {
            Action::AddUser => holds(h, name),
            Action::RemoveUser => !h.get(name).is_some_and(|x| x.direct),
            Action::AddTeam => Self::selected_teams(post).contains(name),
            Action::RemoveTeam => !Self::selected_teams(post).contains(name),
        }
    }

    /// The plan was made from a listing that existed: before the round, or
    /// after a step of the change made while paging, never a mix.
    fn check_listing(s: &Scenario, round: &Round) -> Result<(), String> {
        let Some(listed) = &round.listed else {
            return Err("the reconcile succeeded without a listing".into());
        };
        let got = strings_of(listed);
        let churn = s.churn.as_ref().map(|(_, a)| a.as_slice());
        let possible = snapshots(&round.pre, round.churn_fired.then_some(churn).flatten());
        if possible.contains(&got) {
            return Ok(());
        }
        // An incomplete listing (adds only) holds the pages read: every
        // grant in it is one a state of the enterprise held.
        let partial = round
            .result
            .as_ref()
            .is_ok_and(|o| o.plan.partial.is_some());
        if partial
            && got.iter().all(|(l, grants)| {
                possible
                    .iter()
                    .any(|p| p.get(l).is_some_and(|held| grants.is_subset(held)))
            })
        {
            return Ok(());
        }
        let truth = &possible[0];
        let diff: Vec<String> = got
            .iter()
            .filter(|(l, g)| truth.get(*l) != Some(g))
            .map(|(l, g)| format!("{l}: listed {g:?}, held {:?}", truth.get(l)))
            .chain(
                truth
                    .keys()
                    .filter(|l| !got.contains_key(*l))
                    .map(|l| format!("{l}: held {:?}, not listed", truth[l])),
            )
            .take(6)
            .collect();
        Err(format!(
            "planned from a listing that matches no state of the enterprise (churn {:?}): {}",
            round.churned,
            diff.join("; ")
        ))
    }
}

type Described = BTreeMap<String, BTreeSet<String>>;

/// Every listing entry of `st`, by holder (lowercase): the grant in the
/// words `Grant::describe` uses, `pending DATE` appended when pending. An
/// oracle written from the simulator's state, not from the client's fold.
pub(crate) fn strings(st: &SimState) -> Described {
    let mut out: Described = BTreeMap::new();
    let mut put = |s: &SimSeat, grant: String| {
        let g = match s.pending_cancellation_date {
            Some(d) => format!("{grant} pending {d}"),
            None => grant,
        };
        out.entry(lower(&s.login)).or_default().insert(g);
    };
    let by_org = |org: &str, s: &SimSeat| match &s.assigning_team {
        Some(t) => format!("org {org} (team {})", t.slug),
        None => format!("org {org}"),
    };
    for s in &st.seats {
        put(s, by_org(&st.org, s));
    }
    for o in &st.orgs {
        for s in &o.seats {
            put(s, by_org(&o.login, s));
        }
    }
    for s in &st.enterprise_seats {
        let g = match &s.assigning_team {
            Some(t) => format!("team {}", t.slug),
            None => "a direct grant".to_string(),
        };
        put(s, g);
    }
    out
}

/// The client's listing in the same words.
pub(crate) fn strings_of(live: &LiveState) -> Described {
    live.users
        .iter()
        .map(|u| {
            let grants = u
                .grants
                .iter()
                .map(|g| match g.pending_cancellation_date {
                    Some(d) => format!("{} pending {d}", g.grant.describe()),
                    None => g.grant.describe(),
                })
                .collect();
            (lower(&u.login), grants)
        })
        .collect()
}

/// The listings that existed during a round: before it, and after each
/// step of the change made while paging.
pub(crate) fn snapshots(pre: &SimState, churn: Option<&[FaultAction]>) -> Vec<Described> {
    let mut h = strings(pre);
    let mut out = vec![h.clone()];
    for action in churn.unwrap_or(&[]) {
        match action {
            FaultAction::GrantEnterpriseSeatAfter { login, .. } => {
                h.entry(lower(login))
                    .or_default()
                    .insert("a direct grant".into());
            }
            FaultAction::InsertSeatAfter(login) => {
                h.entry(lower(login))
                    .or_default()
                    .insert(format!("org {}", pre.org));
            }
            FaultAction::RemoveEnterpriseSeatsAfter(login) => {
                if let Some(g) = h.get_mut(&lower(login)) {
                    g.retain(|g| g.starts_with("org "));
                    if g.is_empty() {
                        h.remove(&lower(login));
                    }
                }
            }
            _ => {}
        }
        out.push(h.clone());
    }
    out
}

/// A net-zero change while paging (one holder out, one in, the grant in a
/// later second than page 1), at production concurrency: every count
/// agrees, and the client still refuses that read, because the last page,
/// read after the others, holds the new grant; it reads the listing again
/// before writing anything.
#[tokio::test]
pub(crate) async fn a_net_zero_change_while_paging_is_refused() {
    let today = Utc::now().date_naive();
    let mut st = SimState::new("acme");
    st.enterprise = Some(ENT.into());
    st.enterprise_members = (0..12).map(|i| format!("ent{i}")).collect();
    st.users = st.enterprise_members.clone();
    st.enterprise_selected_users = (0..12).map(|i| format!("ent{i}")).collect();
    st.enterprise_teams = vec![SimTeam::new("ent:data", &["ent0", "ent1", "ent2"])];
    st.selected_enterprise_teams.insert("ent:data".into());
    st.normalize(Utc::now());
    for seat in &mut st.enterprise_seats {
        seat.created_at = days_ago(today, 30);
    }
    // 15 entries in 5 pages of 3: ent5 goes after page 2, intruder comes.
    let sim = Simulator::start(st, SimOptions::default())
        .await
        .expect("simulator");
    for action in [
        FaultAction::RemoveEnterpriseSeatsAfter("ent5".into()),
        FaultAction::GrantEnterpriseSeatAfter {
            login: "intruder".into(),
            later_second: true,
        },
    ] {
        sim.faults().script(ScriptedFault {
            route: routes::ENTERPRISE_SEATS.into(),
            nth: 2,
            times: 1,
            action,
        });
    }
    let mut c =
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url());
    c.per_page = 3;
    let api = GitHubClient::new(c).await.expect("client");
    let yaml = format!("enterprise: {ENT}\nteams: [data]\nusers: [ent0, ent1, ent2, ent3]\n");
    let source = Loaded::parse("seats.yaml", yaml.as_bytes(), None).expect("seats.yaml");
    let opts = Options {
        mode: Mode::Apply,
        today: Some(today),
        ..Options::default()
    };
    // Once: the first read is refused (only the new grant's time tells),
    // the listing is read again at once, and the plan is the re-read's.
    let out = reconcile(&api, &source, &opts)
        .await
        .expect("the re-read listing is whole");
    let first_pages = sim
        .requests()
        .iter()
        .filter(|r| {
            r.route == routes::ENTERPRISE_SEATS
                && r.query
                    .as_deref()
                    .is_some_and(|q| q.split('&').any(|kv| kv == "page=1"))
        })
        .count();
    assert_eq!(first_pages, 2, "the shifted listing was not read again");
    let removed: Vec<&str> = out
        .plan
        .changes
        .iter()
        .filter(|c| c.action.is_removal())
        .map(|c| c.name.as_str())
        .collect();
    assert!(removed.contains(&"intruder"), "{removed:?}");
    assert!(!removed.contains(&"ent5"), "{removed:?}");
    // Nothing was written on the shifted read: the writes all came after
    // the second page 1.
    let requests = sim.requests();
    let second_read = requests
        .iter()
        .filter(|r| {
            r.route == routes::ENTERPRISE_SEATS
                && r.query
                    .as_deref()
                    .is_some_and(|q| q.split('&').any(|kv| kv == "page=1"))
        })
        .nth(1)
        .map(|r| r.seq)
        .expect("a second read");
    assert!(
        requests
            .iter()
            .filter(|r| r.method != "GET")
            .all(|r| r.seq > second_read),
        "a write before the listing was read whole"
    );
}
