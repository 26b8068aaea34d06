//! Property tests for the planner's laws, against a model of GitHub's
//! documented seat semantics, written here independently of the planner:
//! - a user holds a seat while any grant holds: a direct grant, a team's,
//!   and (enterprise) an organization's;
//! - POST selected_users / selected_teams grants (or restores);
//! - DELETE selected_teams drops the team's grants; a user left with none
//!   goes pending ("unless they retain access through another team");
//! - org: DELETE selected_users is refused with 422 for a seat assigned
//!   through a team; the org listing shows one entry per user, naming one
//!   team;
//! - enterprise: DELETE selected_users pending "unless they retain access
//!   through team or organization membership"; the listing holds one entry
//!   per grant, and an organization's grant is outside the enterprise file;
//! - enterprise with `policy.assign_via_team`: membership of that team is
//!   the file's channel (an add joins the team, a removal leaves it), the
//!   team grants its members once assigned, and a direct grant is outside
//!   the file.
//!
//! The generated inputs cover eligibility findings (a listed login GitHub
//! does not know, a non-member, a member outside `eligible_teams`; typos
//! close to a seat holder's login), `assign_via_team`, `allow_empty` both
//! ways (with an empty file now and then), `expires` in the past, today and
//! the future, and `inactivity.action` `report` and `remove`.
//!
//! Laws, in both scopes: applying a plan and planning again is empty (org:
//! save for grants hidden behind another team's, which GitHub's listing
//! cannot show); after apply the model holds exactly what seats.yaml asks
//! (up to that same visibility), typo-held and ineligible holders keeping
//! their seats; user removals never name a protected or team-granted seat;
//! the typo guard holds exactly the removals close to an unknown login; the
//! same inputs in any order (listing, grants, members, file lists) give the
//! same plan; `report` changes nothing and `remove` takes idle seats; and
//! an untripped plan keeps its guards, counted on the model after apply,
//! not on the planner's own lists, while an empty file trips unless
//! `allow_empty`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;

use seatkeeper::config::{Inactivity, InactivityAction, MaxRemovals, Policy, RemovalMode, Scope};
use seatkeeper::plan::{
    Action, Desired, DesiredUser, Finding, Grant, GrantSeat, GuardReason, Limits, LiveState,
    LiveUser, Reason, SeatManagementSetting, SkipCode, TeamRef, plan,
};

const TEAMS: [&str; 4] = ["t0", "t1", "t2", "t3"];
const N: usize = 12;
/// Logins far enough apart that the typo guard's "close" is about the
/// generated typos, not about `user1` and `user10`.
const NAMES: [&str; N] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar",
];
/// `policy.assign_via_team`, as written.
const VIA: &str = "seats";
const IDLE_DAYS: u32 = 60;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn cancel_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn at(days_ago: i64) -> DateTime<Utc> {
    (today() - Duration::days(days_ago))
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc()
}

/// One user on GitHub's side.
#[derive(Debug, Clone)]
struct MUser {
    login: String,
    /// A direct grant (with `assign_via_team`: outside the file).
    direct: bool,
    /// Team slugs as the scope names them (enterprise: `ent:` prefix).
    teams: BTreeSet<String>,
    /// Organizations granting a seat (enterprise only): outside the file.
    orgs: BTreeSet<String>,
    /// Set once every grant is gone: listed (and billed) until then.
    pending: Option<NaiveDate>,
    last: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
}

impl MUser {
    fn held(&self) -> bool {
        self.direct || !self.teams.is_empty() || !self.orgs.is_empty()
    }

    fn entry(&self, grant: Grant, pending: Option<NaiveDate>) -> GrantSeat {
        GrantSeat {
            grant,
            pending_cancellation_date: pending,
            created_at: self.created,
        }
    }

    /// Idle by the written rule: the last activity, else the grant, at
    /// least [`IDLE_DAYS`] ago.
    fn idle(&self) -> bool {
        let seen = self.last.unwrap_or(self.created).date_naive();
        (today() - seen).num_days() >= i64::from(IDLE_DAYS)
    }
}

#[derive(Debug, Clone)]
struct Model {
    enterprise: bool,
    users: BTreeMap<String, MUser>,
    /// Team members by slug as the scope names it (the assigning team too).
    members: BTreeMap<String, Vec<String>>,
    /// Teams assigned a seat (`selected_teams`).
    selected: BTreeSet<String>,
    /// The `assign_via_team` team, when in force (enterprise only).
    via: Option<String>,
}

/// A fixed permutation of `v` drawn from `seed` (SplitMix64, Fisher-Yates).
fn shuffle<T>(v: &mut [T], seed: &mut u64) {
    for i in (1..v.len()).rev() {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        v.swap(i, (z % (i as u64 + 1)) as usize);
    }
}

impl Model {
    fn slug(&self, t: &str) -> String {
        if self.enterprise {
            format!("ent:{t}")
        } else {
            t.to_string()
        }
    }

    fn team_ref(&self, slug: &str) -> TeamRef {
        if self.enterprise {
            TeamRef::enterprise(slug)
        } else {
            TeamRef::org(slug)
        }
    }

    /// The listing GitHub would give, folded as the client folds it; with
    /// `order`, users, their grants and every member list come in an order
    /// drawn from that seed, handed to the planner as they are.
    fn listing(&self, desired: &Desired, order: Option<u64>) -> LiveState {
        let mut users: Vec<LiveUser> = Vec::new();
        for u in self.users.values() {
            let mut grants = Vec::new();
            if !u.held() {
                grants.push(u.entry(Grant::Direct, u.pending));
            } else if self.enterprise {
                if u.direct {
                    grants.push(u.entry(Grant::Direct, None));
                }
                for t in &u.teams {
                    grants.push(u.entry(Grant::Team(self.team_ref(t)), None));
                }
                for o in &u.orgs {
                    grants.push(u.entry(
                        Grant::Organization {
                            org: o.as_str().into(),
                            team: None,
                        },
                        None,
                    ));
                }
            } else {
                // One entry per user, naming one team when a team grants it.
                let grant = match u.teams.iter().next() {
                    Some(t) => Grant::Team(self.team_ref(t)),
                    None => Grant::Direct,
                };
                grants.push(u.entry(grant, None));
            }
            users.push(LiveUser {
                login: u.login.clone(),
                grants,
                last_activity_at: u.last,
                last_authenticated_at: None,
                plan_type: Default::default(),
            });
        }
        let mut live = match order {
            None => LiveState::from_users(users),
            Some(_) => LiveState {
                users,
                ..LiveState::default()
            },
        };
        // What the listing shows as granting, as the reconciler sees it.
        let granting: BTreeSet<String> = live
            .users
            .iter()
            .flat_map(|u| &u.grants)
            .filter(|g| g.held())
            .filter_map(|g| match &g.grant {
                Grant::Team(t) => Some(t.slug.to_string()),
                _ => None,
            })
            .collect();
        // The reconciler looks up members of desired teams that grant nothing.
        live.team_members = desired
            .teams
            .iter()
            .filter(|t| !granting.contains(*t))
            .map(|t| (t.clone(), self.members.get(t).cloned().unwrap_or_default()))
            .collect();
        // With assign_via_team, that team's members, read whole.
        live.assignment_members = self
            .via
            .as_ref()
            .map(|v| self.members.get(v).cloned().unwrap_or_default());
        live.seat_management_setting = Some(SeatManagementSetting::AssignSelected);
        if let Some(mut seed) = order {
            shuffle(&mut live.users, &mut seed);
            for u in &mut live.users {
                shuffle(&mut u.grants, &mut seed);
            }
            for m in live.team_members.values_mut() {
                shuffle(m, &mut seed);
            }
            if let Some(m) = live.assignment_members.as_mut() {
                shuffle(m, &mut seed);
            }
        }
        live
    }

    fn user(&mut self, login: &str) -> &mut MUser {
        self.users
            .entry(login.to_lowercase())
            .or_insert_with(|| MUser {
                login: login.to_string(),
                direct: false,
                teams: BTreeSet::new(),
                orgs: BTreeSet::new(),
                pending: None,
                last: None,
                created: at(0),
            })
    }

    fn lose(&mut self, key: &str) {
        if let Some(u) = self.users.get_mut(key)
            && !u.held()
        {
            u.pending = Some(cancel_date());
        }
    }

    fn is_member(&self, team: &str, login: &str) -> bool {
        self.members
            .get(team)
            .is_some_and(|m| m.iter().any(|x| x.eq_ignore_ascii_case(login)))
    }

    /// Apply one change with GitHub's semantics; Err when GitHub would refuse.
    fn apply(&mut self, action: Action, name: &str) -> Result<(), String> {
        match (action, self.via.clone()) {
            (Action::AddTeam, _) => {
                self.selected.insert(name.to_string());
                for m in self.members.get(name).cloned().unwrap_or_default() {
                    let u = self.user(&m);
                    u.teams.insert(name.to_string());
                    u.pending = None;
                }
            }
            (Action::AddUser, Some(via)) => {
                // Joining the assigning team; a seat once the team is assigned.
                if !self.is_member(&via, name) {
                    self.members
                        .entry(via.clone())
                        .or_default()
                        .push(name.to_string());
                }
                if self.selected.contains(&via) {
                    let u = self.user(name);
                    u.teams.insert(via);
                    u.pending = None;
                }
            }
            (Action::AddUser, None) => {
                let u = self.user(name);
                u.direct = true;
                u.pending = None;
            }
            (Action::RemoveTeam, _) => {
                self.selected.remove(name);
                let keys: Vec<String> = self.users.keys().cloned().collect();
                for k in keys {
                    let had = self.users.get_mut(&k).is_some_and(|u| u.teams.remove(name));
                    if had {
                        self.lose(&k);
                    }
                }
            }
            (Action::RemoveUser, Some(via)) => {
                if !self.is_member(&via, name) {
                    return Err(format!("{name} is not a member of {via}"));
                }
                if let Some(m) = self.members.get_mut(&via) {
                    m.retain(|x| !x.eq_ignore_ascii_case(name));
                }
                let key = name.to_lowercase();
                if let Some(u) = self.users.get_mut(&key) {
                    u.teams.remove(&via);
                }
                self.lose(&key);
            }
            (Action::RemoveUser, None) => {
                let key = name.to_lowercase();
                let enterprise = self.enterprise;
                let u = self
                    .users
                    .get_mut(&key)
                    .ok_or_else(|| format!("DELETE for {name} who holds no seat"))?;
                if !enterprise && !u.teams.is_empty() {
                    return Err(format!("422: {name}'s seat is assigned through a team"));
                }
                if !u.direct {
                    return Err(format!("DELETE for {name} who holds no direct grant"));
                }
                u.direct = false;
                self.lose(&key);
            }
        }
        Ok(())
    }

    fn held(&self) -> BTreeSet<String> {
        self.users
            .values()
            .filter(|u| u.held())
            .map(|u| u.login.to_lowercase())
            .collect()
    }

    fn billed(&self) -> usize {
        self.users.len()
    }

    /// Holds the file's channel: a direct grant, or with `assign_via_team`
    /// membership of that team.
    fn in_channel(&self, key: &str) -> bool {
        match &self.via {
            Some(v) => self.is_member(v, key),
            None => self.users.get(key).is_some_and(|u| u.direct),
        }
    }
}

fn case_variant(login: &str, upper: bool) -> String {
    if upper {
        login.to_uppercase()
    } else {
        login.to_string()
    }
}

/// A typo of `login`: its last two letters swapped (two edits away).
fn typo(login: &str) -> String {
    let mut c: Vec<char> = login.chars().collect();
    let n = c.len();
    c.swap(n - 1, n - 2);
    c.into_iter().collect()
}

/// The typo guard's "close", written out from DESIGN.md: different logins
/// equal but for `-`/`_`, or at most two edits apart, ignoring case.
fn close(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    if a == b {
        return false;
    }
    let bare = |s: &str| s.replace(['-', '_'], "");
    if bare(&a) == bare(&b) {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()] <= 2
}

fn finding(code: u8) -> Finding {
    let code = match code % 3 {
        0 => SkipCode::NoSuchUser,
        1 => SkipCode::NotAMember,
        _ => SkipCode::NotInEligibleTeam,
    };
    Finding {
        code,
        message: format!("{code:?}"),
    }
}

/// Everything but eligibility and the assigning team.
#[derive(Debug, Clone)]
struct Base {
    enterprise: bool,
    /// Per user: 0 none, 1 direct, 2 pending, 3 direct + org (enterprise);
    /// days idle; an upper-case spelling.
    grants: Vec<(u8, i64, bool)>,
    /// Per team (the four, then the assigning team): who is a member.
    membership: Vec<Vec<bool>>,
    /// Per team: assigned a seat.
    selected: Vec<bool>,
    /// Per user: listed, spelled upper-case, `expires` (0 past, 1 future,
    /// 2 today, else none).
    wanted: Vec<(bool, bool, u8)>,
    wanted_teams: Vec<bool>,
    protected: Vec<bool>,
    org_only: Vec<bool>,
    /// 0 enforce, 1 additive, 2 idle seats removed, 3 idle seats reported.
    mode: u8,
}

prop_compose! {
    fn base()(
        enterprise in any::<bool>(),
        grants in prop::collection::vec((0u8..4, 0i64..200, any::<bool>()), N),
        membership in prop::collection::vec(prop::collection::vec(any::<bool>(), N), 5),
        selected in prop::collection::vec(any::<bool>(), 5),
        wanted in prop::collection::vec((any::<bool>(), any::<bool>(), 0u8..5), N),
        wanted_teams in prop::collection::vec(any::<bool>(), 4),
        protected in prop::collection::vec(any::<bool>(), N),
        org_only in prop::collection::vec(any::<bool>(), N),
        mode in 0u8..4,
    ) -> Base {
        Base { enterprise, grants, membership, selected, wanted, wanted_teams, protected, org_only, mode }
    }
}

prop_compose! {
    fn scenario()(
        b in base(),
        // Per user: 0 a typo of the login listed, 1 the login itself found
        // ineligible, else nothing; and the finding's code.
        findings in prop::collection::vec((0u8..8, 0u8..3), N),
        eligible_teams in any::<bool>(),
        assign_via_team in any::<bool>(),
        allow_empty in any::<bool>(),
        remove_ineligible in any::<bool>(),
        // 0: the file lists no users and no teams.
        empty in 0u8..6,
    ) -> (Model, Desired) {
        let logins: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
        let via = (b.enterprise && assign_via_team).then(|| format!("ent:{VIA}"));
        let mut model = Model { enterprise: b.enterprise, users: BTreeMap::new(), members: BTreeMap::new(), selected: BTreeSet::new(), via: via.clone() };
        let mut team_slugs: Vec<String> = TEAMS.iter().map(|t| model.slug(t)).collect();
        team_slugs.push(via.clone().unwrap_or_else(|| model.slug("unused")));
        for (t, row) in b.membership.iter().enumerate() {
            // t3 stays empty now and then, to exercise "team has no members".
            let m: Vec<String> = logins.iter().zip(row).filter(|(_, on)| **on && t != 3).map(|(l, _)| l.clone()).collect();
            model.members.insert(team_slugs[t].clone(), m);
        }
        for (i, (g, idle, upper)) in b.grants.iter().enumerate() {
            let login = case_variant(&logins[i], *upper && i % 3 == 0);
            let org = b.enterprise && (*g == 3 || (b.org_only[i] && *g == 0));
            if *g == 0 && !org {
                continue;
            }
            let u = model.user(&login);
            u.direct = *g == 1 || *g == 3;
            u.pending = (*g == 2).then(cancel_date);
            u.last = (idle % 7 != 0).then(|| at(*idle));
            u.created = at(idle + 10);
            if org {
                u.orgs.insert("acme".into());
            }
        }
        // Selected teams grant every member a seat.
        for (t, on) in b.selected.iter().enumerate() {
            if *on && (t < 4 || via.is_some()) {
                let slug = team_slugs[t].clone();
                model.selected.insert(slug.clone());
                for m in model.members[&slug].clone() {
                    let u = model.user(&m);
                    u.teams.insert(slug.clone());
                    u.pending = None;
                }
            }
        }
        let mut users: Vec<DesiredUser> = b.wanted
            .iter()
            .enumerate()
            .filter(|(_, (w, _, _))| *w)
            .map(|(i, (_, upper, exp))| DesiredUser {
                login: case_variant(&logins[i], *upper),
                expires: match exp {
                    0 => Some(today() - Duration::days(3)),
                    1 => Some(today() + Duration::days(30)),
                    2 => Some(today()),
                    _ => None,
                },
            })
            .collect();
        let mut ineligible = BTreeMap::new();
        for (i, (kind, code)) in findings.iter().enumerate() {
            match kind {
                0 => {
                    let t = typo(&logins[i]);
                    ineligible.insert(t.clone(), finding(*code));
                    users.push(DesiredUser { login: t, expires: None });
                }
                1 if b.wanted[i].0 => {
                    ineligible.insert(logins[i].clone(), finding(*code));
                }
                _ => {}
            }
        }
        let mut eligible = Vec::new();
        if eligible_teams {
            // As the reconciler finds them: a listed member outside t0.
            eligible.push(TEAMS[0].to_string());
            let t0 = model.slug(TEAMS[0]);
            for u in &users {
                let key = u.login.to_lowercase();
                if !ineligible.contains_key(&key) && !model.is_member(&t0, &key) {
                    ineligible.insert(key, finding(2));
                }
            }
        }
        let mut teams: Vec<String> = TEAMS.iter().zip(&b.wanted_teams).filter(|(_, w)| **w).map(|(t, _)| model.slug(t)).collect();
        if empty == 0 {
            users.clear();
            teams.clear();
            ineligible.clear();
        }
        let policy = Policy {
            removals: if b.mode == 1 { RemovalMode::Additive } else { RemovalMode::Enforce },
            protected: logins.iter().zip(&b.protected).filter(|(_, p)| **p).map(|(l, _)| l.to_uppercase()).take(3).collect(),
            inactivity: match b.mode {
                2 => Some(Inactivity { days: IDLE_DAYS, action: InactivityAction::Remove, remind_days: None , act_before_cycle_end_days: Some(31)}),
                3 => Some(Inactivity { days: IDLE_DAYS, action: InactivityAction::Report, remind_days: None , act_before_cycle_end_days: Some(31)}),
                _ => None,
            },
            eligible_teams: eligible,
            allow_empty,
            remove_ineligible,
            // Ignored in an org: there the model has no assigning team either.
            assign_via_team: assign_via_team.then(|| VIA.to_string()),
            ..Policy::default()
        };
        let scope = if b.enterprise { Scope::Enterprise("big".into()) } else { Scope::Org("acme".into()) };
        // No default cap here: the guards law sets its own.
        let limits = Limits::default();
        let desired = Desired { scope, users, teams, policy, limits, ineligible };
        (model, desired)
    }
}

/// Apply `p` to the model, then plan and apply again until nothing is
/// left; the number of rounds, and the changes after the first.
fn converge(
    model: &mut Model,
    desired: &Desired,
    first: &seatkeeper::plan::Plan,
) -> Result<(usize, Vec<seatkeeper::plan::Change>), TestCaseError> {
    for c in &first.changes {
        model
            .apply(c.action, &c.name)
            .map_err(TestCaseError::fail)?;
    }
    let mut rounds = 1;
    let mut later = Vec::new();
    loop {
        let next = plan(desired, &model.listing(desired, None), today());
        if next.is_empty() {
            return Ok((rounds, later));
        }
        rounds += 1;
        later.extend(next.changes.iter().cloned());
        prop_assert!(rounds <= 1 + TEAMS.len(), "no fixpoint: {:?}", next.changes);
        for c in &next.changes {
            model
                .apply(c.action, &c.name)
                .map_err(TestCaseError::fail)?;
        }
    }
}

/// The file's view of one login, by the rules written out here.
struct Wants<'a> {
    desired: &'a Desired,
    /// Listed with no `expires` in the past (lowercase).
    listed: BTreeSet<String>,
    /// Listed, every entry expired.
    expired: BTreeSet<String>,
    protected: BTreeSet<String>,
}

impl<'a> Wants<'a> {
    fn new(desired: &'a Desired) -> Wants<'a> {
        let mut listed = BTreeSet::new();
        let mut expired = BTreeSet::new();
        for u in &desired.users {
            let key = u.login.to_lowercase();
            if u.expires.is_none_or(|e| e >= today()) {
                listed.insert(key);
            } else {
                expired.insert(key);
            }
        }
        expired.retain(|k| !listed.contains(k));
        let protected = desired
            .policy
            .protected
            .iter()
            .map(|p| p.to_lowercase())
            .collect();
        Wants {
            desired,
            listed,
            expired,
            protected,
        }
    }

    fn ineligible(&self, key: &str) -> bool {
        self.desired.ineligible.contains_key(key)
    }

    /// Listed, unexpired and eligible: seated.
    fn wanted(&self, key: &str) -> bool {
        self.listed.contains(key) && !self.ineligible(key)
    }

    /// A listed login GitHub does not know, or that is not a member, close
    /// to `key`: the typo guard holds `key`'s removal.
    fn typo_of(&self, key: &str) -> Option<(&String, SkipCode)> {
        self.desired
            .ineligible
            .iter()
            .filter(|(_, f)| matches!(f.code, SkipCode::NoSuchUser | SkipCode::NotAMember))
            .find(|(l, _)| close(l, key))
            .map(|(l, f)| (l, f.code))
    }

    /// What the file says of a holder of its channel: kept, though not
    /// wanted (protected; listed but ineligible, unless
    /// `policy.remove_ineligible`; held by the typo guard).
    fn keeps(&self, key: &str) -> bool {
        self.protected.contains(key)
            || (self.listed.contains(key)
                && self.ineligible(key)
                && !self.desired.policy.remove_ineligible)
            || (!self.listed.contains(key)
                && !self.expired.contains(key)
                && self.typo_of(key).is_some())
    }
}

/// Who seats.yaml says holds a seat once applied (enforced removals, no
/// idle policy): wanted users, members of listed teams, holders the file
/// keeps, and holders through a grant outside the file.
fn wanted_holders(before: &Model, desired: &Desired) -> BTreeSet<String> {
    let w = Wants::new(desired);
    let mut out: BTreeSet<String> = w.listed.iter().filter(|k| w.wanted(k)).cloned().collect();
    for t in &desired.teams {
        for m in before.members.get(t).into_iter().flatten() {
            out.insert(m.to_lowercase());
        }
    }
    for u in before.users.values().filter(|u| u.held()) {
        let key = u.login.to_lowercase();
        let outside = !u.orgs.is_empty() || (before.via.is_some() && u.direct);
        if w.protected.contains(&key) || outside || (before.in_channel(&key) && w.keeps(&key)) {
            out.insert(key);
        }
    }
    // Members of the assigning team the file keeps hold a seat through it
    // (the team is assigned when it has members).
    if let Some(v) = &before.via {
        for m in before.members.get(v).into_iter().flatten() {
            let key = m.to_lowercase();
            if w.keeps(&key) {
                out.insert(key);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// An org listing names one team per seat, so a second grant behind it
    /// (another team, or a direct grant) is invisible until the first team
    /// is removed: such hidden grants go in later rounds. Every other change
    /// happens in round one; an enterprise listing shows every grant, so
    /// there everything happens in round one.
    #[test]
    fn apply_then_plan_is_empty((mut model, desired) in scenario()) {
        let first_live = model.listing(&desired, None);
        let first = plan(&desired, &first_live, today());
        prop_assume!(!first.guard.tripped);
        let held_before = model.held();
        let visible: BTreeSet<String> = first_live
            .users
            .iter()
            .flat_map(|u| &u.grants)
            .filter_map(|g| match &g.grant { Grant::Team(t) => Some(t.slug.to_string()), _ => None })
            .collect();
        let team_granted: BTreeSet<String> = model.users.values().filter(|u| !u.teams.is_empty()).map(|u| u.login.to_lowercase()).collect();
        let before = model.clone();
        let (rounds, later) = converge(&mut model, &desired, &first)?;
        if model.enterprise {
            prop_assert_eq!(rounds, 1, "an enterprise listing hides nothing: {:?}\nthen: {:?}", first.changes, later);
        } else if rounds > 1 {
            // Only what hid behind a team's grant may move in later rounds.
            let mut replay = before.clone();
            for c in &first.changes {
                replay.apply(c.action, &c.name).map_err(TestCaseError::fail)?;
            }
            let next = plan(&desired, &replay.listing(&desired, None), today());
            for c in &next.changes {
                let hidden = (c.action == Action::RemoveTeam && !visible.contains(&c.name))
                    || (c.action == Action::AddUser && c.reason == Reason::TeamRemoved)
                    || (c.action == Action::AddTeam && first.of(Action::AddTeam).any(|f| f.name == c.name))
                    || (c.action == Action::RemoveUser && team_granted.contains(&c.name.to_lowercase()));
                prop_assert!(hidden, "round 2 changed more than hidden grants: {:?}\nfirst: {:?}", next.changes, first.changes);
            }
        }
        prop_assert_eq!(first.seats_before, held_before.len());
        if rounds == 1 {
            // seats_after predicted the outcome: exactly, unless a team
            // removal in an org hid a grant; then conservatively (it never
            // under-counts losses).
            if model.enterprise || first.of(Action::RemoveTeam).next().is_none() {
                prop_assert_eq!(first.seats_after, model.held().len(), "{:?}", first.changes);
            } else {
                prop_assert!(first.seats_after <= model.held().len());
            }
            prop_assert_eq!(first.billed_after, model.billed(), "{:?}", first.changes);
        }
    }

    /// After apply, the model holds what seats.yaml asks for, by rules
    /// written out above (enforced removals, no idle policy).
    #[test]
    fn desired_state_is_reached((mut model, mut desired) in scenario()) {
        desired.policy.removals = RemovalMode::Enforce;
        desired.policy.inactivity = None;
        let live = model.listing(&desired, None);
        let first = plan(&desired, &live, today());
        prop_assume!(!first.guard.tripped);
        let before = model.clone();
        converge(&mut model, &desired, &first)?;
        let want = wanted_holders(&before, &desired);
        prop_assert_eq!(&model.held(), &want, "changes: {:?}", first.changes);
    }

    #[test]
    fn user_removals_never_name_protected_or_team_granted_seats((model, desired) in scenario()) {
        let live = model.listing(&desired, None);
        let p = plan(&desired, &live, today());
        let protected: BTreeSet<String> = desired.policy.protected.iter().map(|l| l.to_lowercase()).collect();
        for c in p.of(Action::RemoveUser) {
            let key = c.name.to_lowercase();
            prop_assert!(!protected.contains(&key), "protected {} removed", c.name);
            if let Some(v) = &model.via {
                // The channel is membership: only a member is removed.
                prop_assert!(model.is_member(v, &key), "{} removed but not a member of {}", c.name, v);
                continue;
            }
            let u = live.users.iter().find(|u| u.login.to_lowercase() == key).expect("removed user is listed");
            let direct = u.grant(&Grant::Direct);
            prop_assert!(direct.is_some_and(|g| g.held()), "{} removed without a held direct grant", c.name);
            if !model.enterprise {
                prop_assert!(u.grants.len() == 1, "team-granted {} removed directly", c.name);
            }
            // What keeps the seat is what the listing shows beside the direct grant.
            let others = u.grants.iter().filter(|g| g.held() && g.grant != Grant::Direct).count();
            prop_assert!(c.keeps_via.len() <= others + 1);
        }
        if desired.policy.removals == RemovalMode::Additive {
            prop_assert!(p.changes.iter().all(|c| !c.action.is_removal()));
        }
        // Ineligible logins are skipped, never added (a protected holder
        // keeps a seat its team takes away, eligible or not).
        for c in p.of(Action::AddUser) {
            let key = c.name.to_lowercase();
            if desired.ineligible.contains_key(&key) {
                prop_assert!(protected.contains(&key) && c.reason == Reason::TeamRemoved, "ineligible {} added", c.name);
            }
        }
    }

    /// The typo guard holds exactly the `not_desired` removals close to a
    /// listed login GitHub does not know or that is not a member: compared
    /// with the same plan where those findings say "not in an eligible team"
    /// (skipped the same way, never a typo suspect), the held removals are
    /// the difference, each close to the login it names.
    #[test]
    fn the_typo_guard_holds_exactly_the_close_removals((model, desired) in scenario()) {
        let live = model.listing(&desired, None);
        let p = plan(&desired, &live, today());
        let w = Wants::new(&desired);
        for c in p.of(Action::RemoveUser).filter(|c| c.reason == Reason::NotDesired) {
            prop_assert!(w.typo_of(&c.name.to_lowercase()).is_none(), "{} removed, though close to an unknown listed login", c.name);
        }
        for h in &p.held {
            prop_assert!(close(&h.listed, &h.login), "{} held for {}", h.login, h.listed);
            let f = desired.ineligible.get(&h.listed.to_lowercase());
            prop_assert!(f.is_some_and(|f| f.code == h.code && h.code != SkipCode::NotInEligibleTeam), "{:?}", h);
        }
        let mut plain = desired.clone();
        for f in plain.ineligible.values_mut() {
            f.code = SkipCode::NotInEligibleTeam;
        }
        let q = plan(&plain, &live, today());
        prop_assert!(q.held.is_empty());
        let names = |p: &seatkeeper::plan::Plan| -> BTreeSet<String> {
            p.of(Action::RemoveUser).filter(|c| c.reason == Reason::NotDesired).map(|c| c.name.clone()).collect()
        };
        let mut with_held = names(&p);
        with_held.extend(p.held.iter().map(|h| h.login.clone()));
        prop_assert_eq!(with_held, names(&q));
    }

    /// The same inputs, in any order: the listing's users, each user's
    /// grants, team member lists, the file's teams and protected logins, as
    /// the planner receives them, unsorted. (The file's users keep their
    /// order: skipped logins are reported in file order.)
    #[test]
    fn same_inputs_same_plan((model, desired) in scenario(), seed in any::<u64>()) {
        let a = plan(&desired, &model.listing(&desired, None), today());
        let mut shuffled = desired.clone();
        let mut s = seed;
        shuffle(&mut shuffled.teams, &mut s);
        shuffle(&mut shuffled.policy.protected, &mut s);
        let live = model.listing(&desired, Some(seed));
        let b = plan(&shuffled, &live, today());
        prop_assert_eq!(&a, &b);
        let c = plan(&desired, &model.listing(&desired, None), today());
        prop_assert_eq!(a, c);
    }

    /// Every list a reader scans comes sorted by login, ignoring case:
    /// rosters, user adds and removals, idle seats, holders outside the
    /// file; team changes by slug.
    #[test]
    fn outputs_are_sorted((model, desired) in scenario(), seed in any::<u64>()) {
        let p = plan(&desired, &model.listing(&desired, Some(seed)), today());
        let sorted = |what: &str, names: Vec<String>| -> Result<(), TestCaseError> {
            let keys: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
            let mut want = keys.clone();
            want.sort();
            prop_assert_eq!(&keys, &want, "{} not sorted", what);
            Ok(())
        };
        sorted("roster before", p.roster_before.iter().map(String::from).collect())?;
        sorted("roster after", p.roster_after.iter().map(String::from).collect())?;
        for action in [Action::AddUser, Action::RemoveTeam, Action::RemoveUser] {
            sorted(action.as_str(), p.of(action).map(|c| c.name.clone()).collect())?;
        }
        // Team adds: the assigning team's leads (it is assigned first).
        let via = desired.assign_via_team();
        sorted("add_team", p.of(Action::AddTeam).filter(|c| Some(&c.name) != via.as_ref()).map(|c| c.name.clone()).collect())?;
        sorted("inactive", p.inactive.iter().map(|i| i.login.clone()).collect())?;
        sorted("held outside", p.held_outside.iter().map(|h| h.login.clone()).collect())?;
    }

    /// `inactivity.action: report` lists idle seats and changes nothing;
    /// `remove` takes the file's grant of every idle, listed, unprotected
    /// holder. Idle is counted here from the model, not by the planner.
    #[test]
    fn idle_seats_are_reported_or_removed((mut model, mut desired) in scenario(), remove in any::<bool>()) {
        desired.policy.removals = RemovalMode::Enforce;
        let live = model.listing(&desired, None);
        desired.policy.inactivity = None;
        let without = plan(&desired, &live, today());
        let action = if remove { InactivityAction::Remove } else { InactivityAction::Report };
        desired.policy.inactivity = Some(Inactivity { days: IDLE_DAYS, action, remind_days: None , act_before_cycle_end_days: Some(31)});
        let p = plan(&desired, &live, today());
        let idle: BTreeSet<String> = model.users.values().filter(|u| u.held() && u.idle()).map(|u| u.login.clone()).collect();
        let reported: BTreeSet<String> = p.inactive.iter().map(|i| i.login.clone()).collect();
        prop_assert_eq!(&reported, &idle);
        prop_assert_eq!(p.inactivity_days, Some(IDLE_DAYS));
        if !remove {
            prop_assert_eq!(&p.changes, &without.changes, "report changed the plan");
            return Ok(());
        }
        // Removed as idle: idle by the model (with assign_via_team, a member
        // whose seat is already pending leaves the team too).
        for c in p.changes.iter().filter(|c| c.reason == Reason::Inactive) {
            let u = model.users.get(&c.name.to_lowercase());
            prop_assert!(u.is_some_and(|u| u.idle() && (u.held() || model.via.is_some())), "{} removed as idle", c.name);
        }
        prop_assume!(!p.guard.tripped);
        let w = Wants::new(&desired);
        let before = model.clone();
        converge(&mut model, &desired, &p)?;
        for u in before.users.values().filter(|u| u.held() && u.idle()) {
            let key = u.login.to_lowercase();
            // An org listing hides a direct grant behind a team's.
            let visible = model.enterprise || model.users[&key].teams.is_empty() || model.via.is_some();
            if w.wanted(&key) && !w.protected.contains(&key) && before.in_channel(&key) && visible {
                prop_assert!(!model.in_channel(&key), "idle {} keeps the file's grant: {:?}", u.login, p.changes);
            }
        }
    }

    /// Guards, counted on the model after apply: an untripped plan loses no
    /// more seats than `max_removals` allows, and when it adds seats, bills
    /// no more than `max_seats` this cycle. An empty file trips the guard
    /// exactly when seats exist, removals are enforced and `allow_empty` is
    /// false.
    #[test]
    fn guards_hold((mut model, mut desired) in scenario(), cap in 0u64..6, pct in 0u32..60, max_seats in 1u64..14) {
        desired.policy.max_removals = Some(if cap % 2 == 0 { MaxRemovals::Count(cap) } else { MaxRemovals::Percent(f64::from(pct)) });
        desired.policy.max_seats = Some(max_seats);
        desired.limits = Limits::from_policy(&desired.policy);
        let p = plan(&desired, &model.listing(&desired, None), today());
        let empty_trips = desired.users.is_empty()
            && desired.teams.is_empty()
            && !model.held().is_empty()
            && desired.policy.removals == RemovalMode::Enforce
            && !desired.policy.allow_empty;
        let empty_reason = p.guard.reasons.iter().any(|r| matches!(r, GuardReason::EmptyDesired { .. }));
        prop_assert_eq!(empty_reason, empty_trips, "{:?}", p.guard);
        if p.guard.tripped {
            prop_assert!(!p.guard.reasons.is_empty());
            return Ok(());
        }
        let before = model.held();
        let billed_before = model.billed();
        for c in &p.changes {
            model.apply(c.action, &c.name).map_err(TestCaseError::fail)?;
        }
        let after = model.held();
        let lost = before.difference(&after).count();
        let limit = desired.policy.max_removals.unwrap();
        prop_assert!(!limit.exceeded(lost, before.len()), "lost {} of {} past {}", lost, before.len(), limit);
        let gained = after.difference(&before).count();
        if gained > 0 {
            prop_assert!(model.billed() as u64 <= max_seats, "billed {} (was {}) past the cap {}", model.billed(), billed_before, max_seats);
        }
    }
}

/// Budget laws (issue 22), against a model of the budgets routes written
/// here: POST adds a budget, PATCH sets one's amount by id, DELETE drops one
/// by id. After the budget plan is applied to the model, the ai_credits
/// budgets of scope `user` and `multi_user_customer` are exactly what
/// seats.yaml declares (undeclared individual ones kept only with
/// `manage: additive`), every other budget is untouched, and planning again
/// changes nothing.
mod budget_laws {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;

    use seatkeeper::config::{BudgetManage, Policy};
    use seatkeeper::plan::Limits;
    use seatkeeper::plan::budgets::{
        BudgetAction, BudgetBounds, BudgetPlan, DesiredBudget, DesiredBudgets, LiveBudget,
        plan_budgets,
    };

    const LOGINS: [&str; 6] = ["ana", "ben", "cy", "dee", "eli", "fay"];

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
    }

    fn budget(
        id: String,
        ty: &str,
        sku: &str,
        scope: &str,
        user: Option<&str>,
        amount: u64,
    ) -> LiveBudget {
        LiveBudget {
            id,
            budget_type: ty.into(),
            sku: sku.into(),
            scope: scope.into(),
            user: user.map(str::to_string),
            amount,
        }
    }

    /// Live budgets: individual ai_credits ones (a login may have two, in
    /// another letter case), maybe a universal one, and budgets of other
    /// types, SKUs and scopes.
    fn live() -> impl Strategy<Value = Vec<LiveBudget>> {
        let individual = prop::collection::vec((0..LOGINS.len(), any::<bool>(), 0u64..100), 0..8);
        let universal = prop::option::of(0u64..100);
        let others = prop::collection::vec((0usize..6, 0..LOGINS.len(), 0u64..100), 0..4);
        (individual, universal, others).prop_map(|(ind, uni, oth)| {
            let mut out = Vec::new();
            for (n, (i, upper, a)) in ind.into_iter().enumerate() {
                let login = if upper {
                    LOGINS[i].to_uppercase()
                } else {
                    LOGINS[i].to_string()
                };
                out.push(budget(
                    format!("i{n}"),
                    "BundlePricing",
                    "ai_credits",
                    "user",
                    Some(&login),
                    a,
                ));
            }
            if let Some(a) = uni {
                out.push(budget(
                    "u".into(),
                    "BundlePricing",
                    "ai_credits",
                    "multi_user_customer",
                    None,
                    a,
                ));
            }
            for (n, (kind, i, a)) in oth.into_iter().enumerate() {
                let id = format!("o{n}");
                out.push(match kind {
                    0 => budget(
                        id,
                        "SkuPricing",
                        "premium_requests",
                        "user",
                        Some(LOGINS[i]),
                        a,
                    ),
                    1 => budget(id, "ProductPricing", "actions", "organization", None, a),
                    2 => budget(id, "BundlePricing", "ai_credits", "cost_center", None, a),
                    3 => budget(
                        id,
                        "BundlePricing",
                        "ai_credits",
                        "multi_user_cost_center",
                        None,
                        a,
                    ),
                    // Each of the three conditions alone, on a user budget:
                    // another SKU, another type.
                    4 => budget(
                        id,
                        "BundlePricing",
                        "premium_requests",
                        "user",
                        Some(LOGINS[i]),
                        a,
                    ),
                    _ => budget(
                        id,
                        "ProductPricing",
                        "ai_credits",
                        "user",
                        Some(LOGINS[i]),
                        a,
                    ),
                });
            }
            out
        })
    }

    fn desired() -> impl Strategy<Value = DesiredBudgets> {
        let users = prop::collection::btree_map(
            0..LOGINS.len(),
            (0u64..100, prop::option::of(-2i64..3)),
            0..6,
        );
        (prop::option::of(0u64..100), any::<bool>(), users).prop_map(
            |(default, additive, users)| {
                let users: Vec<DesiredBudget> = users
                    .into_iter()
                    .map(|(i, (amount, exp))| DesiredBudget {
                        login: LOGINS[i].to_string(),
                        amount,
                        expires: exp.map(|d| today() + Duration::days(d)),
                    })
                    .collect();
                DesiredBudgets {
                    default,
                    manage: if additive {
                        BudgetManage::Additive
                    } else {
                        BudgetManage::Exclusive
                    },
                    listed: users.iter().map(|u| u.login.clone()).collect(),
                    users,
                }
            },
        )
    }

    /// The routes' effect, one request per change.
    fn apply(model: &mut Vec<LiveBudget>, plan: &BudgetPlan) {
        for (n, c) in plan.changes.iter().enumerate() {
            match c.action {
                BudgetAction::AddBudget => model.push(LiveBudget {
                    id: format!("new{n}"),
                    budget_type: "BundlePricing".into(),
                    sku: "ai_credits".into(),
                    scope: if c.login.is_some() {
                        "user"
                    } else {
                        "multi_user_customer"
                    }
                    .into(),
                    user: c.login.clone(),
                    amount: c.amount.expect("an add has an amount"),
                }),
                BudgetAction::UpdateBudget => {
                    let id = c.budget_id.as_deref().expect("an update names its budget");
                    let b = model
                        .iter_mut()
                        .find(|b| b.id == id)
                        .expect("updates an existing budget");
                    b.amount = c.amount.expect("an update has an amount");
                }
                BudgetAction::RemoveBudget => {
                    let id = c.budget_id.as_deref().expect("a removal names its budget");
                    let before = model.len();
                    model.retain(|b| b.id != id);
                    assert_eq!(
                        model.len() + 1,
                        before,
                        "removes exactly one existing budget"
                    );
                }
            }
        }
    }

    fn ours(b: &LiveBudget) -> bool {
        b.budget_type == "BundlePricing"
            && b.sku == "ai_credits"
            && (b.scope == "user" || b.scope == "multi_user_customer")
    }

    fn run(d: &DesiredBudgets, live: &[LiveBudget]) -> BudgetPlan {
        plan_budgets(
            d,
            live,
            today(),
            BudgetBounds::default(),
            &Limits::default(),
            &Policy::default(),
            &BTreeSet::new(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn applying_the_budget_plan_reaches_the_declared_budgets(live in live(), d in desired()) {
            let plan = run(&d, &live);
            let mut model = live.clone();
            apply(&mut model, &plan);

            // Never touches another SKU, type or scope.
            let others = |v: &[LiveBudget]| v.iter().filter(|b| !ours(b)).cloned().collect::<Vec<_>>();
            prop_assert_eq!(others(&model), others(&live));

            // The universal budget: the declared amount, else as it was.
            let universal = |v: &[LiveBudget]| v.iter().filter(|b| ours(b) && b.scope == "multi_user_customer").map(|b| b.amount).collect::<Vec<_>>();
            match d.default {
                Some(a) => prop_assert_eq!(universal(&model), vec![a]),
                None => prop_assert_eq!(universal(&model), universal(&live)),
            }

            // Individual budgets: one per declared, unexpired login at its
            // amount; undeclared (and expired) ones kept only by additive.
            let exclusive = d.manage == BudgetManage::Exclusive;
            let mut want: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            let declared: BTreeMap<String, &DesiredBudget> = d.users.iter().map(|u| (u.login.to_lowercase(), u)).collect();
            let live_ind: Vec<&LiveBudget> = live.iter().filter(|b| ours(b) && b.scope == "user").collect();
            for (k, u) in &declared {
                if u.expires.is_none_or(|e| e >= today()) {
                    let first = live_ind.iter().find(|b| b.user.as_deref().unwrap().to_lowercase() == *k);
                    let mut v = vec![u.amount];
                    if !exclusive {
                        // additive keeps a second budget of that login.
                        v.extend(live_ind.iter().filter(|b| b.user.as_deref().unwrap().to_lowercase() == *k && Some(*b) != first).map(|b| b.amount));
                    }
                    want.insert(k.clone(), v);
                }
            }
            if !exclusive {
                for b in &live_ind {
                    let k = b.user.as_deref().unwrap().to_lowercase();
                    let expired_or_undeclared = declared.get(&k).is_none_or(|u| u.expires.is_some_and(|e| e < today()));
                    if expired_or_undeclared {
                        want.entry(k).or_default().push(b.amount);
                    }
                }
            }
            let mut got: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            for b in model.iter().filter(|b| ours(b) && b.scope == "user") {
                got.entry(b.user.as_deref().unwrap().to_lowercase()).or_default().push(b.amount);
            }
            for v in want.values_mut().chain(got.values_mut()) {
                v.sort();
            }
            prop_assert_eq!(got, want);

            if !exclusive {
                prop_assert!(plan.of(BudgetAction::RemoveBudget).next().is_none(), "additive never deletes");
            }

            // Planning again changes nothing.
            let again = run(&d, &model);
            prop_assert!(again.changes.is_empty(), "{:?}", again.changes);
        }
    }
}
