//! Property tests for the planner's laws, against a model of GitHub's
//! documented seat semantics:
//! - POST selected_users / selected_teams grants (or restores) seats;
//! - DELETE selected_teams cancels seats that no other grant holds;
//! - DELETE selected_users is refused for a seat held through a team.
//!
//! Laws: applying a plan and planning again gives an empty plan (save for
//! teams hidden behind another team's grant, see below); user
//! removals never name a protected or team-granted seat; the same inputs
//! (in any listing order) give the same plan; an untripped plan respects
//! its guards.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;

use seatkeeper::config::{Inactivity, InactivityAction, MaxRemovals, Policy, RemovalMode, Scope};
use seatkeeper::plan::{
    Action, Desired, DesiredUser, LiveSeat, LiveState, Reason, SeatManagementSetting, TeamKind,
    TeamRef, plan,
};

const TEAMS: [&str; 4] = ["t0", "t1", "t2", "t3"];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn at(days_ago: i64) -> DateTime<Utc> {
    (today() - Duration::days(days_ago))
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc()
}

#[derive(Debug, Clone)]
struct MSeat {
    login: String,
    direct: bool,
    teams: BTreeSet<String>,
    pending: Option<NaiveDate>,
    last: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
}

impl MSeat {
    fn held(&self) -> bool {
        self.direct || !self.teams.is_empty()
    }
}

/// GitHub's side: seats with their grants, and team memberships.
#[derive(Debug, Clone)]
struct Model {
    seats: BTreeMap<String, MSeat>,
    members: BTreeMap<String, Vec<String>>,
}

impl Model {
    fn listing(&self, desired_teams: &[String], reverse: bool) -> LiveState {
        let mut seats: Vec<LiveSeat> = self
            .seats
            .values()
            .map(|s| LiveSeat {
                login: s.login.clone(),
                assigning_team: s.teams.iter().next().map(|t| TeamRef {
                    kind: TeamKind::Org,
                    slug: t.clone(),
                }),
                pending_cancellation_date: if s.held() { None } else { s.pending },
                last_activity_at: s.last,
                created_at: s.created,
            })
            .collect();
        if reverse {
            seats.reverse();
        }
        let granting: BTreeSet<String> = self
            .seats
            .values()
            .filter_map(|s| s.teams.iter().next().cloned())
            .collect();
        // The reconciler looks up members of desired teams that grant nothing.
        let team_members = desired_teams
            .iter()
            .filter(|t| !granting.contains(*t))
            .map(|t| (t.clone(), self.members.get(t).cloned().unwrap_or_default()))
            .collect();
        LiveState {
            seat_management_setting: Some(SeatManagementSetting::AssignSelected),
            seats,
            team_members,
        }
    }

    fn seat(&mut self, login: &str) -> &mut MSeat {
        self.seats
            .entry(login.to_lowercase())
            .or_insert_with(|| MSeat {
                login: login.to_string(),
                direct: false,
                teams: BTreeSet::new(),
                pending: None,
                last: None,
                created: at(0),
            })
    }

    /// Apply one change with GitHub's semantics; Err when GitHub would refuse.
    fn apply(&mut self, action: Action, name: &str) -> Result<(), String> {
        let cancel = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        match action {
            Action::AddTeam => {
                for m in self.members.get(name).cloned().unwrap_or_default() {
                    let s = self.seat(&m);
                    s.teams.insert(name.to_string());
                    s.pending = None;
                }
            }
            Action::AddUser => {
                let s = self.seat(name);
                s.direct = true;
                s.pending = None;
            }
            Action::RemoveTeam => {
                for s in self.seats.values_mut() {
                    if s.teams.remove(name) && !s.held() {
                        s.pending = Some(cancel);
                    }
                }
            }
            Action::RemoveUser => {
                let s = self
                    .seats
                    .get_mut(&name.to_lowercase())
                    .ok_or_else(|| format!("DELETE for {name} who holds no seat"))?;
                if !s.teams.is_empty() {
                    return Err(format!("422: {name}'s seat is assigned through a team"));
                }
                s.direct = false;
                s.pending = Some(cancel);
            }
        }
        Ok(())
    }
}

fn case_variant(login: &str, upper: bool) -> String {
    if upper {
        login.to_uppercase()
    } else {
        login.to_string()
    }
}

prop_compose! {
    fn scenario()(
        // per user: 0 none, 1 direct, 2 pending, 3 via team (team index)
        grants in prop::collection::vec((0u8..4, 0usize..3, 0i64..200, any::<bool>()), 12),
        membership in prop::collection::vec(prop::collection::vec(any::<bool>(), 12), 4),
        selected in prop::collection::vec(any::<bool>(), 4),
        wanted in prop::collection::vec((any::<bool>(), any::<bool>(), 0u8..4), 12),
        wanted_teams in prop::collection::vec(any::<bool>(), 4),
        protected in prop::collection::vec(any::<bool>(), 12),
        mode in 0u8..4,
    ) -> (Model, Desired) {
        let logins: Vec<String> = (0..12).map(|i| format!("user{i}")).collect();
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (t, row) in membership.iter().enumerate() {
            // t3 stays empty now and then, to exercise "team has no members".
            let m: Vec<String> = logins.iter().zip(row).filter(|(_, b)| **b && t != 3).map(|(l, _)| l.clone()).collect();
            members.insert(TEAMS[t].to_string(), m);
        }
        let mut model = Model { seats: BTreeMap::new(), members: members.clone() };
        for (i, (g, team, idle, upper)) in grants.iter().enumerate() {
            let login = case_variant(&logins[i], *upper && i % 3 == 0);
            let s = MSeat {
                login: login.clone(),
                direct: *g == 1,
                teams: BTreeSet::new(),
                pending: (*g == 2).then(|| NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
                last: (idle % 7 != 0).then(|| at(*idle)),
                created: at(idle + 10),
            };
            let _ = team;
            // 0 and 3: no seat of their own (team grants come from `selected`).
            if *g == 1 || *g == 2 {
                model.seats.insert(login.to_lowercase(), s);
            }
        }
        // Selected teams grant every member a seat.
        for (t, on) in selected.iter().enumerate() {
            if *on {
                for m in members[TEAMS[t]].clone() {
                    let s = model.seat(&m);
                    s.teams.insert(TEAMS[t].to_string());
                    s.pending = None;
                }
            }
        }
        let users = wanted
            .iter()
            .enumerate()
            .filter(|(_, (w, _, _))| *w)
            .map(|(i, (_, upper, exp))| DesiredUser {
                login: case_variant(&logins[i], *upper),
                expires: match exp {
                    0 => Some(today() - Duration::days(3)),
                    1 => Some(today() + Duration::days(30)),
                    _ => None,
                },
            })
            .collect();
        let teams = TEAMS.iter().zip(&wanted_teams).filter(|(_, w)| **w).map(|(t, _)| t.to_string()).collect();
        let policy = Policy {
            removals: if mode == 1 { RemovalMode::Additive } else { RemovalMode::Enforce },
            protected: logins.iter().zip(&protected).filter(|(_, p)| **p).map(|(l, _)| l.to_uppercase()).take(3).collect(),
            inactivity: match mode {
                2 => Some(Inactivity { days: 60, action: InactivityAction::Remove }),
                3 => Some(Inactivity { days: 60, action: InactivityAction::Report }),
                _ => None,
            },
            allow_empty: true,
            ..Policy::default()
        };
        let desired = Desired {
            scope: Scope::Org("acme".into()),
            users,
            teams,
            policy,
            ineligible: BTreeMap::new(),
        };
        (model, desired)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// GitHub lists one `assigning_team` per seat, so a second grant behind
    /// it (another team, or a direct grant) is invisible until the first team
    /// is removed: such hidden grants go in later rounds. Every other change
    /// happens in round one.
    #[test]
    fn apply_then_plan_is_empty((mut model, desired) in scenario()) {
        let first_live = model.listing(&desired.teams, false);
        let first = plan(&desired, &first_live, today());
        prop_assume!(!first.guard.tripped);
        let team_granted: BTreeSet<String> = first_live
            .seats
            .iter()
            .filter(|s| s.assigning_team.is_some())
            .map(|s| s.login.to_lowercase())
            .collect();
        let visible: BTreeSet<String> = first_live
            .seats
            .iter()
            .filter_map(|s| s.assigning_team.as_ref().map(|t| t.slug.clone()))
            .collect();
        for c in &first.changes {
            model.apply(c.action, &c.name).map_err(TestCaseError::fail)?;
        }
        let mut rounds = 1;
        loop {
            let next = plan(&desired, &model.listing(&desired.teams, false), today());
            if next.is_empty() {
                break;
            }
            rounds += 1;
            prop_assert!(rounds <= 1 + TEAMS.len(), "no fixpoint: {:?}", next.changes);
            for c in &next.changes {
                // Removing a hidden team; re-granting (idempotent POSTs)
                // desired users or teams whose grant hides behind that team;
                // removing a direct grant that hid behind a team's.
                let hidden_team = (c.action == Action::RemoveTeam && !visible.contains(&c.name))
                    || (c.action == Action::AddUser && c.reason == Reason::TeamRemoved)
                    || (c.action == Action::AddTeam && first.of(Action::AddTeam).any(|f| f.name == c.name))
                    || (c.action == Action::RemoveUser && team_granted.contains(&c.name.to_lowercase()));
                prop_assert!(hidden_team, "round {} changed more than hidden teams: {:?}\nfirst: {:?}", rounds, next.changes, first.changes);
                model.apply(c.action, &c.name).map_err(TestCaseError::fail)?;
            }
        }
        if rounds == 1 {
            // seats_after predicted the outcome: exactly, unless a team removal
            // hid a grant; then conservatively (it never under-counts losses).
            let held = model.seats.values().filter(|s| s.held()).count();
            if first.of(Action::RemoveTeam).next().is_none() {
                prop_assert_eq!(first.seats_after, held);
            } else {
                prop_assert!(first.seats_after <= held);
            }
        }
    }

    #[test]
    fn user_removals_never_name_protected_or_team_granted_seats((model, desired) in scenario()) {
        let live = model.listing(&desired.teams, false);
        let p = plan(&desired, &live, today());
        let protected: BTreeSet<String> = desired.policy.protected.iter().map(|l| l.to_lowercase()).collect();
        for c in p.of(Action::RemoveUser) {
            let key = c.name.to_lowercase();
            prop_assert!(!protected.contains(&key), "protected {} removed", c.name);
            let seat = live.seats.iter().find(|s| s.login.to_lowercase() == key).expect("removed seat exists");
            prop_assert!(seat.assigning_team.is_none(), "team-granted {} removed directly", c.name);
            prop_assert!(seat.pending_cancellation_date.is_none(), "pending {} removed again", c.name);
        }
        if desired.policy.removals == RemovalMode::Additive {
            prop_assert!(p.changes.iter().all(|c| !c.action.is_removal()));
        }
    }

    #[test]
    fn same_inputs_same_plan((model, desired) in scenario()) {
        let a = plan(&desired, &model.listing(&desired.teams, false), today());
        let b = plan(&desired, &model.listing(&desired.teams, true), today());
        prop_assert_eq!(&a, &b);
        let c = plan(&desired, &model.listing(&desired.teams, false), today());
        prop_assert_eq!(a, c);
    }

    #[test]
    fn guards_hold((model, mut desired) in scenario(), cap in 0u64..6, pct in 0u32..60, max_seats in 1u64..14) {
        desired.policy.max_removals = Some(if cap % 2 == 0 { MaxRemovals::Count(cap) } else { MaxRemovals::Percent(f64::from(pct)) });
        desired.policy.max_seats = Some(max_seats);
        let p = plan(&desired, &model.listing(&desired.teams, false), today());
        let after: BTreeSet<String> = p.roster_after.iter().map(str::to_lowercase).collect();
        let removed = p.roster_before.iter().filter(|l| !after.contains(&l.to_lowercase())).count();
        let limit = desired.policy.max_removals.unwrap();
        if !p.guard.tripped {
            prop_assert!(!limit.exceeded(removed, p.seats_before));
            let before: BTreeSet<String> = p.roster_before.iter().map(str::to_lowercase).collect();
            let grows = after.iter().any(|l| !before.contains(l));
            prop_assert!(!grows || p.seats_after as u64 <= max_seats);
        } else {
            prop_assert!(!p.guard.reasons.is_empty());
        }
    }
}
