//! The organization scope: disjoint org teams (no user in two org teams, nor
//! in an org team and an enterprise team, so no grant hides behind another
//! team's: that documented exception, tests/it/plan_laws.rs, cannot arise),
//! maybe an enterprise team granting org seats, maybe a big team putting the
//! listing over one page (so seats can change between pages), direct and
//! pending seats. Requests go one at a time, so a seed replays exactly.

use super::*;

pub(crate) struct Org;

impl Scope for Org {
    const NAME: &'static str = "org";
    const DEFAULT_SCENARIOS: u64 = 2000;
    const WORKERS: u64 = 4;
    const SCENARIOS_VAR: &'static str = "SEATKEEPER_FAULT_SCENARIOS";
    const SEED_VAR: &'static str = "SEATKEEPER_FAULT_SEED";
    const SALT: u64 = 0;
    const SEATS_ROUTE: &'static str = routes::ORG_SEATS;
    const USERS_ROUTE: &'static str = routes::ORG_SELECTED_USERS;
    const TEAMS_ROUTE: &'static str = routes::ORG_SELECTED_TEAMS;
    const TEAMS_KEY: &'static str = "selected_teams";
    const CONCURRENCY: usize = 1;
    const PAGE_CONCURRENCY: usize = 1;
    const CHURN_KINDS: &'static [Churn] = &[Churn::AddedByOrg, Churn::Removed];
    const HEADER: &'static str = "org: acme";
    const FAULT_ROUTES: &'static [&'static str] = &[
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
    const NOT_FOUND_ROUTES: &'static [&'static str] = &[
        routes::ORG_TEAM_MEMBERS,
        routes::ORG_SEATS,
        routes::ORG_BILLING,
    ];

    fn shape(r: &mut Rng, today: NaiveDate) -> Shape {
        let mut st = SimState::new("acme");
        st.next_billing_date = seatkeeper::simulator::first_of_next_month(today);
        let cancel_date = st.next_billing_date;

        // Members, spelled by GitHub in a random case.
        let n_members = r.range(3, 36) as usize;
        st.members = (0..n_members)
            .map(|i| r.spell(&format!("dev{i}")))
            .collect();
        st.users = (0..r.range(0, 2)).map(|i| format!("ext{i}")).collect();
        let mut people: Vec<String> = (0..n_members).map(|i| format!("dev{i}")).collect();
        people.extend(st.users.iter().cloned());

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

        // Direct seats (active or pending) for members outside selected
        // teams, and pending seats left behind by teams no longer selected.
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
                    slug: slugs[j].as_str().into(),
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

        // Seats change right after page 1 of the first listing.
        let churn = (big && r.chance(0.6)).then(|| {
            let direct: Vec<String> = st
                .seats
                .iter()
                .filter(|s| s.assigning_team.is_none())
                .map(|s| s.login.clone())
                .collect();
            if direct.is_empty() || r.chance(0.5) {
                let intruder = format!("intruder{}", r.range(0, 99));
                (
                    Churn::AddedByOrg,
                    vec![FaultAction::InsertSeatAfter(intruder)],
                )
            } else {
                let login = r.pick(&direct).clone();
                (
                    Churn::Removed,
                    vec![FaultAction::RemoveSeatAfter(Some(login))],
                )
            }
        });
        let eligible_teams = slugs
            .iter()
            .enumerate()
            .filter(|(j, _)| team_of.contains(&Some(*j)))
            .map(|(_, s)| s.clone())
            .collect();
        let summary = format!(
            "{} members, {} teams (selected {:?}), enterprise team {}, bulk team {}, {} seats ({} active)",
            n_members,
            n_teams,
            st.selected_teams,
            with_ent_team,
            big,
            st.seats.len(),
            st.seats.iter().filter(|s| s.is_active()).count()
        );
        Shape {
            pages: st.seats.len().div_ceil(100).max(1),
            state: st,
            people,
            teams: slugs,
            forced_teams: if big { vec!["bulk".into()] } else { Vec::new() },
            eligible_teams,
            per_page: 100,
            churn,
            summary,
        }
    }

    fn spell_team(_: &mut Rng, slug: &str) -> String {
        slug.to_string()
    }

    fn team_key(slug: &str) -> String {
        lower(slug)
    }

    fn team_kind() -> TeamKind {
        TeamKind::Org
    }

    fn selected_teams(st: &SimState) -> BTreeSet<String> {
        st.selected_teams.iter().map(|t| lower(t)).collect()
    }

    fn holdings(st: &SimState) -> BTreeMap<String, Holding> {
        let mut out: BTreeMap<String, Holding> = BTreeMap::new();
        for s in &st.seats {
            let h = out.entry(lower(&s.login)).or_default();
            let active = s.is_active();
            h.active |= active;
            h.direct |= active && s.assigning_team.is_none();
            if let Some(t) = &s.assigning_team
                && active
                && t.kind == TeamKind::Org
            {
                h.teams.insert(lower(&t.slug));
            }
            h.grants.insert(format!(
                "{}{}",
                match &s.assigning_team {
                    Some(t) => format!("team {} ({:?})", t.slug, t.kind),
                    None => "direct".into(),
                },
                if active { "" } else { " pending" }
            ));
        }
        out
    }

    fn eligible(want: &Want, st: &SimState, login: &str) -> bool {
        let is_member = st.members.iter().any(|m| m.eq_ignore_ascii_case(login));
        is_member
            && (want.eligible_teams.is_empty()
                || want.eligible_teams.iter().any(|t| {
                    st.effective_members(TeamKind::Org, t)
                        .iter()
                        .any(|m| m.eq_ignore_ascii_case(login))
                }))
    }

    /// Idle days count from the seat's own activity, else its grant.
    fn idle_removable(want: &Want, st: &SimState, login: &str, today: NaiveDate) -> bool {
        let Some(days) = want.idle_remove else {
            return false;
        };
        if want.additive || want.protected.contains(&lower(login)) {
            return false;
        }
        st.seats
            .iter()
            .filter(|s| s.login.eq_ignore_ascii_case(login))
            .any(|seat| {
                let t = seat.last_activity_at.unwrap_or(seat.created_at);
                (today - t.date_naive()).num_days().max(0) >= days
            })
    }

    /// A direct seat is kept even from an ineligible user (only GitHub's
    /// own rules could take it); a team seat only from an eligible one.
    fn listed_keeps(
        want: &Want,
        st: &SimState,
        login: &str,
        h: &Holding,
        today: NaiveDate,
    ) -> bool {
        !Self::idle_removable(want, st, login, today)
            && (h.direct || Self::eligible(want, st, login))
    }

    fn idle_must_go(want: &Want, st: &SimState, login: &str, today: NaiveDate) -> bool {
        Self::eligible(want, st, login) && Self::idle_removable(want, st, login, today)
    }

    fn happened(
        action: Action,
        name: &str,
        post: &SimState,
        h: &BTreeMap<String, Holding>,
    ) -> bool {
        match action {
            Action::AddUser => holds(h, name),
            Action::RemoveUser => !holds(h, name),
            Action::AddTeam => Self::selected_teams(post).contains(name),
            Action::RemoveTeam => !Self::selected_teams(post).contains(name),
        }
    }

    fn check_listing(_: &Scenario, _: &Round) -> Result<(), String> {
        Ok(())
    }
}

/// Regression (found by the randomized scenarios, e.g. seeds 132 and 875): a
/// listed user whose only seat came through a team being removed was
/// re-granted a direct seat even when idle past `inactivity.days` with
/// `action: remove`, and the next reconcile removed it again. Now the idle
/// seat simply goes with its team, and one reconcile reaches the fixpoint.
#[tokio::test]
pub(crate) async fn an_idle_seat_losing_its_team_is_not_regranted() {
    let today = Utc::now().date_naive();
    let mut st = SimState::new("acme");
    st.members = vec!["idle-ann".into(), "busy-bob".into(), "boss".into()];
    st.teams = vec![SimTeam::new("old", &["idle-ann", "busy-bob", "boss"])];
    st.selected_teams.insert("old".into());
    st.normalize(Utc::now());
    for seat in &mut st.seats {
        let idle = if seat.login == "busy-bob" { 5 } else { 90 };
        seat.last_activity_at = Some(days_ago(today, idle));
    }
    let sim = Simulator::start(st, SimOptions::default())
        .await
        .expect("simulator");
    let yaml = "org: acme\npolicy:\n  protected: [boss]\n  inactivity: {days: 60, action: remove, act_before_cycle_end_days: 31}\nusers: [idle-ann, busy-bob, boss]\n";
    let source = Loaded::parse("seats.yaml", yaml.as_bytes(), None).expect("seats.yaml");
    let api = GitHubClient::new(
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url()),
    )
    .await
    .expect("client");
    let opts = Options {
        mode: Mode::Apply,
        today: Some(today),
        bounds: seatkeeper::reconcile::Bounds {
            max_removals: Some(seatkeeper::config::MaxRemovals::Percent(100.0)),
            ..Default::default()
        },
        ..Options::default()
    };
    let first = reconcile(&api, &source, &opts).await.expect("reconcile");
    let changes: Vec<(Action, &str)> = first
        .plan
        .changes
        .iter()
        .map(|c| (c.action, c.name.as_str()))
        .collect();
    // bob is active and boss protected: both re-granted; ann's idle seat goes with the team.
    assert_eq!(
        changes,
        [
            (Action::AddUser, "boss"),
            (Action::AddUser, "busy-bob"),
            (Action::RemoveTeam, "old")
        ]
    );
    assert_eq!(first.status, Status::Applied);
    let held: BTreeSet<String> = Org::holdings(&sim.state())
        .into_iter()
        .filter(|(_, h)| h.active)
        .map(|(l, _)| l)
        .collect();
    assert_eq!(held, BTreeSet::from(["boss".into(), "busy-bob".into()]));
    assert_eq!(first.plan.seats_after, held.len());
    let second = reconcile(&api, &source, &opts).await.expect("reconcile");
    assert!(second.plan.is_empty(), "{:?}", second.plan.changes);
}
