//! The pure planner: desired state + live state + today's date -> [`Plan`].
//!
//! No I/O and no async here. Every rule of DESIGN.md "Reconcile semantics"
//! lives in [`plan`]; the reconciler only gathers inputs and applies output.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Policy, Scope};

/// Which kind of team granted a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    /// An organization team (`/orgs/{org}/teams/{slug}`).
    Org,
    /// An enterprise team (`/enterprises/{enterprise}/teams/{slug}`).
    Enterprise,
}

/// The team through which a seat is granted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TeamRef {
    /// Org team or enterprise team.
    pub kind: TeamKind,
    /// The team's slug as GitHub reports it.
    pub slug: String,
}

/// How the organization assigns Copilot seats (`seat_management_setting`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatManagementSetting {
    /// Seats go to selected users and teams: the only mode seatkeeper can write in.
    AssignSelected,
    /// Every member holds a seat.
    AssignAll,
    /// Copilot is disabled.
    Disabled,
    /// Not configured yet.
    Unconfigured,
    /// A value this version does not know.
    #[serde(untagged)]
    Other(String),
}

impl SeatManagementSetting {
    /// Parse GitHub's string form.
    pub fn parse(s: &str) -> Self {
        match s {
            "assign_selected" => Self::AssignSelected,
            "assign_all" => Self::AssignAll,
            "disabled" => Self::Disabled,
            "unconfigured" => Self::Unconfigured,
            other => Self::Other(other.to_string()),
        }
    }

    /// GitHub's string form.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AssignSelected => "assign_selected",
            Self::AssignAll => "assign_all",
            Self::Disabled => "disabled",
            Self::Unconfigured => "unconfigured",
            Self::Other(s) => s,
        }
    }
}

/// One live Copilot seat, as listed by `GET .../copilot/billing/seats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSeat {
    /// The assignee's login, as GitHub spells it.
    pub login: String,
    /// The team that grants the seat; `None` for a direct grant.
    pub assigning_team: Option<TeamRef>,
    /// Set when the seat is going away at the next billing cycle.
    pub pending_cancellation_date: Option<NaiveDate>,
    /// Last Copilot activity, if any.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// When the seat was (last) granted.
    pub created_at: DateTime<Utc>,
}

/// Everything the planner knows about the live side.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveState {
    /// The org's seat management mode; writes need `assign_selected`.
    pub seat_management_setting: Option<SeatManagementSetting>,
    /// Every seat, from every page of the listing.
    pub seats: Vec<LiveSeat>,
    /// Members of desired teams that do not grant seats yet, when the
    /// reconciler looked them up. A team absent here has unknown members; a
    /// team present with no members is reported instead of being re-added.
    pub team_members: BTreeMap<String, Vec<String>>,
}

/// A desired user, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    /// The login as written in seats.yaml.
    pub login: String,
    /// The last day the seat is wanted.
    pub expires: Option<NaiveDate>,
}

/// The desired state: what seats.yaml asks for, plus eligibility findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The org or enterprise.
    pub scope: Scope,
    /// Users listed in seats.yaml, in file order.
    pub users: Vec<DesiredUser>,
    /// Team slugs listed in seats.yaml, in file order.
    pub teams: Vec<String>,
    /// The policy block.
    pub policy: Policy,
    /// Logins that failed an eligibility check (not a member, not in an
    /// eligible team, no such user): shown with `!` and never added. Keyed by
    /// lowercase login; the value says why.
    pub ineligible: BTreeMap<String, String>,
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `POST selected_teams`.
    AddTeam,
    /// `POST selected_users`.
    AddUser,
    /// `DELETE selected_teams`.
    RemoveTeam,
    /// `DELETE selected_users`.
    RemoveUser,
}

impl Action {
    /// The JSON / metric label of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AddTeam => "add_team",
            Action::AddUser => "add_user",
            Action::RemoveTeam => "remove_team",
            Action::RemoveUser => "remove_user",
        }
    }

    /// True for the two removal actions.
    pub fn is_removal(self) -> bool {
        matches!(self, Action::RemoveTeam | Action::RemoveUser)
    }
}

/// Why a change is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Desired and holding no seat.
    New,
    /// Desired and the seat is pending cancellation: POST restores it.
    Restore,
    /// Desired (or protected) and the only grant is a team being removed.
    TeamRemoved,
    /// Holding a direct seat but not in seats.yaml.
    NotDesired,
    /// Listed in seats.yaml with an `expires` date in the past.
    Expired,
    /// Idle longer than `policy.inactivity.days` with `action: remove`.
    Inactive,
}

impl Reason {
    /// The JSON label of the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Restore => "restore",
            Reason::TeamRemoved => "team_removed",
            Reason::NotDesired => "not_desired",
            Reason::Expired => "expired",
            Reason::Inactive => "inactive",
        }
    }
}

/// One change in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// A login (user actions) or a team slug (team actions), as written in
    /// seats.yaml for adds and as GitHub spells it for removals.
    pub name: String,
    /// Why.
    pub reason: Reason,
    /// Days since the last Copilot activity (or since the grant, when never
    /// used); set for user removals and restores.
    pub days_idle: Option<i64>,
    /// True when the seat never showed any Copilot activity.
    pub never_active: bool,
    /// For restores: the cancellation date the add undoes.
    pub pending_cancellation_date: Option<NaiveDate>,
    /// For team changes: how many seats the team grants now (removals) or
    /// will grant (adds, when its members are known).
    pub seats: Option<usize>,
    /// For `team_removed` adds: the team whose grant is going away.
    pub via_team: Option<String>,
    /// For `expired` removals: the `expires` date from seats.yaml.
    pub expires: Option<NaiveDate>,
}

/// An idle seat found by the inactivity policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inactive {
    /// The seat holder.
    pub login: String,
    /// Days since the last activity (or since the grant).
    pub days_idle: i64,
    /// True when the seat never showed any Copilot activity.
    pub never_active: bool,
}

/// A desired login that is not added, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The login as written in seats.yaml.
    pub login: String,
    /// Why it is skipped.
    pub reason: String,
}

/// A guard that stopped the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuardReason {
    /// More removals than `policy.max_removals` allows.
    MaxRemovals {
        /// Seats the plan would take away.
        removals: usize,
        /// The limit, as an absolute number of seats.
        limit: String,
    },
    /// The plan would end above `policy.max_seats`.
    MaxSeats {
        /// Seats after apply.
        seats_after: usize,
        /// The cap.
        max_seats: u64,
    },
    /// seats.yaml lists no users and no teams while seats exist.
    EmptyDesired {
        /// Seats that would all be removed.
        seats_before: usize,
    },
}

/// The guard verdict for a plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Guard {
    /// True when the plan must not be applied.
    pub tripped: bool,
    /// Every reason, in a fixed order.
    pub reasons: Vec<GuardReason>,
}

/// A sorted list of logins, stored as one newline-terminated string: a
/// 100,000-seat roster is one allocation, and it is already the input a line
/// diff wants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    text: String,
    len: usize,
}

impl Roster {
    /// The logins, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.text.lines()
    }

    /// Number of logins.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no logins.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One login per line, each followed by `\n`.
    pub fn as_text(&self) -> &str {
        &self.text
    }
}

impl<S: AsRef<str>> FromIterator<S> for Roster {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut r = Roster::default();
        for login in iter {
            r.text.push_str(login.as_ref());
            r.text.push('\n');
            r.len += 1;
        }
        r
    }
}

/// A computed plan: the value every renderer prints and the applier executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The org or enterprise.
    pub scope: Scope,
    /// Seats held now (pending cancellations do not count).
    pub seats_before: usize,
    /// Seats held after apply (members of added teams counted when known).
    pub seats_after: usize,
    /// `policy.max_seats`, for display.
    pub max_seats: Option<u64>,
    /// Changes in apply order: team adds, user adds, team removals, user removals.
    pub changes: Vec<Change>,
    /// Idle seats per the inactivity policy (empty without one).
    pub inactive: Vec<Inactive>,
    /// `policy.inactivity.days`, when an inactivity policy is set.
    pub inactivity_days: Option<u32>,
    /// Desired logins that are not added (ineligible).
    pub skipped: Vec<Skipped>,
    /// Desired teams with no members: nothing to add, reported instead.
    pub empty_teams: Vec<String>,
    /// Desired teams whose members are unknown (seat counts exclude them).
    pub unknown_teams: Vec<String>,
    /// Logins whose seat is granted by a team this scope cannot manage (an
    /// enterprise team seen from an org): never removed, listed for the reader.
    pub unmanaged: Vec<String>,
    /// Seat holders now, sorted case-insensitively, for the roster diff.
    pub roster_before: Roster,
    /// Seat holders after apply, sorted the same way.
    pub roster_after: Roster,
    /// The guard verdict.
    pub guard: Guard,
}

impl Plan {
    /// True when there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Changes of one action, in plan order.
    pub fn of(&self, action: Action) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.action == action)
    }

    /// Number of user adds that restore a pending seat.
    pub fn restores(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.reason == Reason::Restore)
            .count()
    }
}

fn held(s: &LiveSeat) -> bool {
    s.pending_cancellation_date.is_none()
}

/// A login or slug that compares, hashes and orders ignoring ASCII case,
/// without allocating a lowercase copy (GitHub logins are case-insensitive;
/// the planner looks up hundreds of thousands of them).
#[derive(Clone, Copy, Debug)]
struct Ci<'a>(&'a str);

impl PartialEq for Ci<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Ci<'_> {}

/// ASCII-lowercase eight bytes at once: add 0x20 to each byte in `A..=Z`,
/// leave every other byte (including non-ASCII ones) as it is.
fn lower8(x: u64) -> u64 {
    const HI: u64 = 0x8080_8080_8080_8080;
    let low7 = x & !HI;
    let ge_a = low7 + 0x3f3f_3f3f_3f3f_3f3f; // high bit set where byte >= b'A'
    let gt_z = low7 + 0x2525_2525_2525_2525; // high bit set where byte > b'Z'
    let upper = ge_a & !gt_z & !x & HI;
    x | (upper >> 2)
}

/// Bytes `i..i+8` of `s` as a lowercased big-endian word, zero-padded past
/// the end (logins hold no NUL, so padding sorts a prefix first).
#[inline]
fn lowered_word(s: &[u8], i: usize) -> u64 {
    let w = match s.get(i..i + 8) {
        Some(chunk) => u64::from_be_bytes(chunk.try_into().unwrap_or([0; 8])),
        None => {
            let tail = s.get(i..).unwrap_or(&[]);
            let mut w = 0u64;
            for &b in tail {
                w = (w << 8) | u64::from(b);
            }
            if tail.is_empty() {
                0
            } else {
                w << (8 * (8 - tail.len()))
            }
        }
    };
    lower8(w)
}

impl std::hash::Hash for Ci<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let s = self.0.as_bytes();
        let mut i = 0;
        while i < s.len() {
            h.write_u64(lowered_word(s, i));
            i += 8;
        }
        h.write_usize(s.len());
    }
}

impl Ord for Ci<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let mut i = 0;
        while i < a.len() || i < b.len() {
            let (x, y) = (lowered_word(a, i), lowered_word(b, i));
            if x != y {
                return x.cmp(&y);
            }
            i += 8;
        }
        a.len().cmp(&b.len())
    }
}

impl Ci<'_> {
    /// The first 16 lowered bytes as two words: a cheap sort key whose order
    /// agrees with `Ord` wherever it differs.
    fn prefix(&self) -> (u64, u64) {
        let s = self.0.as_bytes();
        (lowered_word(s, 0), lowered_word(s, 8))
    }
}

/// Sort items by a case-insensitive key, comparing precomputed prefixes
/// first: 100,000 logins sort several times faster than with `Ci::cmp`.
/// Ties between spellings of one login break on the exact spelling.
fn sort_ci<'k, T>(items: &mut Vec<T>, key: impl Fn(&T) -> Ci<'k>) {
    let mut keyed: Vec<((u64, u64), usize)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (key(t).prefix(), i))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (ka, kb) = (key(&items[a.1]), key(&items[b.1]));
            ka.cmp(&kb).then(ka.0.cmp(kb.0))
        })
    });
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(keyed.into_iter().filter_map(|(_, i)| slots[i].take()));
}

impl PartialOrd for Ci<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Days from `t` to `today` (0 when `t` is in the future).
fn days_since(t: DateTime<Utc>, today: NaiveDate) -> i64 {
    (today - t.date_naive()).num_days().max(0)
}

/// Idle days of a seat and whether it was ever active.
fn idle(seat: &LiveSeat, today: NaiveDate) -> (i64, bool) {
    match seat.last_activity_at {
        Some(t) => (days_since(t, today), false),
        None => (days_since(seat.created_at, today), true),
    }
}

/// Compute the plan. Pure: same inputs, same plan, byte for byte.
///
/// Rules (DESIGN.md "Reconcile semantics"):
/// - a seat with a `pending_cancellation_date` is not held;
/// - teams granting now = `assigning_team`s of held seats (of this scope's
///   team kind); desired teams not granting are added, granting teams not
///   desired are removed;
/// - a desired user is added when holding no seat (`new`), when the seat is
///   pending cancellation (`restore`), or when the only grant is a team being
///   removed (`team_removed`); expired and ineligible users are not desired;
/// - direct held seats not desired and not protected are removed
///   (`not_desired` / `expired`), idle ones too with `inactivity.action:
///   remove` (`inactive`); team-granted seats are never removed directly;
/// - `removals: additive` removes nothing;
/// - guards (`max_removals`, `max_seats`, empty desired state) are checked on
///   the whole plan and mark it tripped.
pub fn plan(desired: &Desired, live: &LiveState, today: NaiveDate) -> Plan {
    type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
    type HashSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

    let policy = &desired.policy;
    let enforce = policy.removals == crate::config::RemovalMode::Enforce;
    let team_kind = match desired.scope {
        Scope::Org(_) => TeamKind::Org,
        Scope::Enterprise(_) => TeamKind::Enterprise,
    };
    let idle_policy = policy.inactivity;
    let idle_days = idle_policy.map(|p| i64::from(p.days));
    let remove_idle =
        enforce && idle_policy.is_some_and(|i| i.action == crate::config::InactivityAction::Remove);

    // One view per seat: its key, and the slug of its granting team when
    // that team is of this scope's kind.
    struct View<'a> {
        key: Ci<'a>,
        seat: &'a LiveSeat,
        team: Option<Ci<'a>>,
        held: bool,
        idle: i64,
        never: bool,
    }
    impl View<'_> {
        fn idle_pair(&self) -> (Option<i64>, bool) {
            (Some(self.idle), self.never)
        }
    }
    let views: Vec<View> = live
        .seats
        .iter()
        .map(|seat| {
            let (idle, never) = idle(seat, today);
            View {
                key: Ci(&seat.login),
                team: seat
                    .assigning_team
                    .as_ref()
                    .filter(|t| t.kind == team_kind)
                    .map(|t| Ci(&t.slug)),
                held: held(seat),
                seat,
                idle,
                never,
            }
        })
        .collect();
    // GitHub lists one seat per user; should a listing ever repeat a login,
    // a held entry wins over a pending one.
    let mut index: HashMap<Ci, usize> =
        HashMap::with_capacity_and_hasher(views.len(), Default::default());
    for (i, v) in views.iter().enumerate() {
        let slot = index.entry(v.key).or_insert(i);
        if !views[*slot].held {
            *slot = i;
        }
    }
    // Canonical views sorted by key, once: every seat-ordered output below
    // (removals, idle seats, rosters) comes out sorted by walking this order.
    let mut order: Vec<usize> = index.values().copied().collect();
    sort_ci(&mut order, |&i| views[i].key);
    let live_views = || order.iter().map(|&i| &views[i]);
    let is_idle = |v: &View| idle_days.is_some_and(|d| v.idle >= d);

    let protected: HashSet<Ci> = policy.protected.iter().map(|l| Ci(l)).collect();

    // Desired users: not expired, not ineligible.
    let mut wanted: HashMap<Ci, &DesiredUser> =
        HashMap::with_capacity_and_hasher(desired.users.len(), Default::default());
    let mut expired: HashMap<Ci, NaiveDate> = HashMap::default();
    let mut skipped = Vec::new();
    for u in &desired.users {
        let key = Ci(&u.login);
        if let Some(e) = u.expires.filter(|e| *e < today) {
            expired.insert(key, e);
            continue;
        }
        if !desired.ineligible.is_empty()
            && let Some(why) = desired.ineligible.get(&u.login.to_ascii_lowercase())
        {
            skipped.push(Skipped {
                login: u.login.clone(),
                reason: why.clone(),
            });
            continue;
        }
        wanted.insert(key, u);
    }
    let is_ineligible = |k: Ci| {
        !desired.ineligible.is_empty() && desired.ineligible.contains_key(&k.0.to_ascii_lowercase())
    };
    // What seats.yaml says of each seat, resolved once per login (hashing
    // is most of the planner's cost at 100k seats): the view each wanted
    // user maps to, and per-view flags.
    const WANTED: u8 = 1;
    const PROTECTED: u8 = 2;
    let mut listed = vec![0u8; views.len()];
    let wanted_views: Vec<(Ci, &DesiredUser, Option<usize>)> = wanted
        .iter()
        .map(|(&k, &u)| {
            let view = index.get(&k).copied();
            if let Some(i) = view {
                listed[i] |= WANTED;
            }
            (k, u, view)
        })
        .collect();
    for p in &protected {
        if let Some(&i) = index.get(p) {
            listed[i] |= PROTECTED;
        }
    }

    // Teams granting now, with their held seat counts.
    let mut granting: BTreeMap<Ci, usize> = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for v in live_views().filter(|v| v.held) {
        if let Some(team) = v.team {
            *granting.entry(team).or_insert(0) += 1;
        } else if v.seat.assigning_team.is_some() {
            unmanaged.push(v.seat.login.clone());
        }
    }
    let desired_teams: BTreeMap<Ci, &String> = desired.teams.iter().map(|t| (Ci(t), t)).collect();
    let team_members: HashMap<Ci, &Vec<String>> =
        live.team_members.iter().map(|(k, m)| (Ci(k), m)).collect();

    let mut team_adds = Vec::new();
    let mut empty_teams = Vec::new();
    let mut unknown_teams = Vec::new();
    let mut added_members: BTreeSet<Ci> = BTreeSet::new();
    for (key, slug) in &desired_teams {
        if granting.contains_key(key) {
            continue;
        }
        match team_members.get(key) {
            Some(m) if m.is_empty() => empty_teams.push((*slug).clone()),
            // Every member already seated through a team that stays: the add
            // would create nothing and, since a seat lists one team, never show
            // up as granting; skip it rather than re-add it forever. It is
            // added on the first reconcile where a member is not covered.
            Some(m)
                if m.iter().all(|l| {
                    index.get(&Ci(l)).is_some_and(|&i| {
                        let v = &views[i];
                        v.held
                            && v.team
                                .is_some_and(|t| !enforce || desired_teams.contains_key(&t))
                    })
                }) => {}
            Some(m) => {
                added_members.extend(m.iter().map(|l| Ci(l)));
                team_adds.push(team_change(
                    Action::AddTeam,
                    slug,
                    Reason::New,
                    Some(m.len()),
                ));
            }
            None => {
                unknown_teams.push((*slug).clone());
                team_adds.push(team_change(Action::AddTeam, slug, Reason::New, None));
            }
        }
    }

    let mut team_removals = Vec::new();
    let mut removed_teams: HashSet<Ci> = HashSet::default();
    if enforce {
        for (key, count) in &granting {
            if !desired_teams.contains_key(key) {
                removed_teams.insert(*key);
                team_removals.push(team_change(
                    Action::RemoveTeam,
                    key.0,
                    Reason::NotDesired,
                    Some(*count),
                ));
            }
        }
    }
    let loses_team = |v: &View| v.team.is_some_and(|t| removed_teams.contains(&t));

    // User adds, keyed for sorting.
    let mut user_adds: Vec<(Ci, Option<usize>, Change)> = Vec::new();
    for &(key, u, view_index) in &wanted_views {
        let view = view_index.map(|i| &views[i]);
        let reason = match view {
            None => Reason::New,
            Some(v) if !v.held => {
                // An idle seat cancelled by the inactivity policy stays cancelled.
                if remove_idle && is_idle(v) && listed[view_index.unwrap_or(0)] & PROTECTED == 0 {
                    continue;
                }
                Reason::Restore
            }
            Some(v) if loses_team(v) => {
                // Nor is an idle one re-granted when its team goes: the
                // direct seat would be removed as idle on the next reconcile.
                if remove_idle && is_idle(v) && listed[view_index.unwrap_or(0)] & PROTECTED == 0 {
                    continue;
                }
                Reason::TeamRemoved
            }
            Some(_) => continue,
        };
        let (days_idle, never_active) = view.map_or((None, false), View::idle_pair);
        user_adds.push((
            key,
            view_index,
            Change {
                action: Action::AddUser,
                name: u.login.clone(),
                reason,
                days_idle,
                never_active,
                pending_cancellation_date: view.and_then(|v| v.seat.pending_cancellation_date),
                seats: None,
                via_team: via_team(reason, view.map(|v| v.seat)),
                expires: None,
            },
        ));
    }
    // Protected holders keep their seat when their team goes away.
    if !protected.is_empty() && !removed_teams.is_empty() {
        for &i in &order {
            let v = &views[i];
            if v.held && loses_team(v) && listed[i] == PROTECTED {
                let (days_idle, never_active) = v.idle_pair();
                user_adds.push((
                    v.key,
                    Some(i),
                    Change {
                        action: Action::AddUser,
                        name: v.seat.login.clone(),
                        reason: Reason::TeamRemoved,
                        days_idle,
                        never_active,
                        pending_cancellation_date: None,
                        seats: None,
                        via_team: via_team(Reason::TeamRemoved, Some(v.seat)),
                        expires: None,
                    },
                ));
            }
        }
    }
    // Deterministic order: by login ignoring case, then as spelled.
    sort_ci(&mut user_adds, |(k, _, _)| *k);

    // User removals: direct, held, not protected; not desired, or idle.
    let mut user_removals: Vec<(usize, Change)> = Vec::with_capacity(order.len());
    let mut inactive: Vec<Inactive> =
        Vec::with_capacity(if idle_days.is_some() { order.len() } else { 0 });
    for &i in &order {
        let v = &views[i];
        if !v.held {
            continue;
        }
        let idle_now = is_idle(v);
        if idle_now {
            inactive.push(Inactive {
                login: v.seat.login.clone(),
                days_idle: v.idle,
                never_active: v.never,
            });
        }
        // Members of a team being added hold their seat through it after the
        // team add (applied first); a DELETE would then be refused with 422.
        if !enforce
            || v.seat.assigning_team.is_some()
            || listed[i] & PROTECTED != 0
            || (!added_members.is_empty() && added_members.contains(&v.key))
        {
            continue;
        }
        let reason = if listed[i] & WANTED == 0 {
            if !expired.is_empty() && expired.contains_key(&v.key) {
                Reason::Expired
            } else if is_ineligible(v.key) {
                // Listed but ineligible: keep what they hold; only adds are skipped.
                continue;
            } else {
                Reason::NotDesired
            }
        } else if remove_idle && idle_now {
            Reason::Inactive
        } else {
            continue;
        };
        let (days_idle, never_active) = v.idle_pair();
        user_removals.push((
            i,
            Change {
                action: Action::RemoveUser,
                name: v.seat.login.clone(),
                reason,
                days_idle,
                never_active,
                pending_cancellation_date: None,
                seats: None,
                via_team: None,
                expires: if reason == Reason::Expired {
                    expired.get(&v.key).copied()
                } else {
                    None
                },
            },
        ));
    }
    unmanaged.sort();
    empty_teams.sort();
    unknown_teams.sort();

    // Rosters: holders now and after apply, as (key, login) sorted by key.
    // Per-view fate flags instead of sets: this runs over every seat.
    const REMOVED: u8 = 1;
    const READDED: u8 = 2;
    let mut fate = vec![0u8; views.len()];
    for (i, _) in &user_removals {
        fate[*i] = REMOVED;
    }
    for (_, view, _) in &user_adds {
        if let Some(i) = *view {
            fate[i] = READDED;
        }
    }
    let keeps = |i: usize| fate[i] != REMOVED && (!loses_team(&views[i]) || fate[i] == READDED);
    let before: Vec<(Ci, &str, usize)> = order
        .iter()
        .filter(|&&i| views[i].held)
        .map(|&i| (views[i].key, views[i].seat.login.as_str(), i))
        .collect();
    let kept_list: Vec<(Ci, &str)> = before
        .iter()
        .filter(|(_, _, i)| keeps(*i))
        .map(|(k, l, _)| (*k, *l))
        .collect();
    let kept = kept_list.len();
    // New holders: user adds (already sorted) and new team members (sorted).
    let new_users: Vec<(Ci, &str)> = user_adds
        .iter()
        .filter(|(_, view, _)| !view.is_some_and(|i| views[i].held))
        .map(|(k, _, c)| (*k, c.name.as_str()))
        .collect();
    let adds: HashSet<Ci> = if added_members.is_empty() {
        HashSet::default()
    } else {
        user_adds.iter().map(|(k, _, _)| *k).collect()
    };
    let new_members: Vec<(Ci, &str)> = added_members
        .iter()
        .filter(|m| !adds.contains(m))
        .filter(|m| !index.get(m).is_some_and(|&i| views[i].held && keeps(i)))
        .map(|m| {
            (
                *m,
                index.get(m).map_or(m.0, |&i| views[i].seat.login.as_str()),
            )
        })
        .collect();
    let adds_seats = !new_users.is_empty() || !new_members.is_empty();
    let after = merge_sorted(merge_sorted(kept_list, new_users), new_members);
    let seats_before = before.len();
    let seats_after = after.len();

    // Guards, on the whole plan.
    let mut guard = Guard::default();
    let removals = seats_before - kept;
    if let Some(limit) = policy.max_removals
        && limit.exceeded(removals, seats_before)
    {
        guard.reasons.push(GuardReason::MaxRemovals {
            removals,
            limit: limit.to_string(),
        });
    }
    if let Some(max) = policy.max_seats
        && seats_after as u64 > max
        && adds_seats
    {
        guard.reasons.push(GuardReason::MaxSeats {
            seats_after,
            max_seats: max,
        });
    }
    if enforce
        && desired.users.is_empty()
        && desired.teams.is_empty()
        && seats_before > 0
        && !policy.allow_empty
    {
        guard
            .reasons
            .push(GuardReason::EmptyDesired { seats_before });
    }
    guard.tripped = !guard.reasons.is_empty();

    let roster_before = before.iter().map(|(_, l, _)| *l).collect();
    let roster_after = after.iter().map(|(_, l)| *l).collect();
    let mut changes = team_adds;
    changes.extend(user_adds.into_iter().map(|(_, _, c)| c));
    changes.extend(team_removals);
    changes.extend(user_removals.into_iter().map(|(_, c)| c));

    Plan {
        scope: desired.scope.clone(),
        seats_before,
        seats_after,
        max_seats: policy.max_seats,
        changes,
        inactive,
        inactivity_days: idle_policy.map(|p| p.days),
        skipped,
        empty_teams,
        unknown_teams,
        unmanaged,
        roster_before,
        roster_after,
        guard,
    }
}

/// Merge two lists sorted by key into one.
fn merge_sorted<'a>(
    a: Vec<(Ci<'a>, &'a str)>,
    b: Vec<(Ci<'a>, &'a str)>,
) -> Vec<(Ci<'a>, &'a str)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

fn team_change(action: Action, slug: &str, reason: Reason, seats: Option<usize>) -> Change {
    Change {
        action,
        name: slug.to_string(),
        reason,
        days_idle: None,
        never_active: false,
        pending_cancellation_date: None,
        seats,
        via_team: None,
        expires: None,
    }
}

fn via_team(reason: Reason, seat: Option<&LiveSeat>) -> Option<String> {
    if reason != Reason::TeamRemoved {
        return None;
    }
    seat.and_then(|s| s.assigning_team.as_ref())
        .map(|t| t.slug.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Inactivity, InactivityAction, MaxRemovals, RemovalMode};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn ago(days: i64) -> DateTime<Utc> {
        (today() - chrono::Duration::days(days))
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
    }

    /// A seat from a compact spec: `login`, `login@team`, `login@ent:team`,
    /// with `!` suffix for pending cancellation and `~N` for N idle days.
    fn seat(spec: &str) -> LiveSeat {
        let (spec, idle) = match spec.split_once('~') {
            Some((s, d)) => (s, d.parse::<i64>().ok()),
            None => (spec, Some(1)),
        };
        let (spec, pending) = match spec.strip_suffix('!') {
            Some(s) => (s, Some(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())),
            None => (spec, None),
        };
        let (login, team) = match spec.split_once('@') {
            Some((l, t)) => (l, Some(t)),
            None => (spec, None),
        };
        LiveSeat {
            login: login.to_string(),
            assigning_team: team.map(|t| match t.strip_prefix("ent:") {
                Some(slug) => TeamRef {
                    kind: TeamKind::Enterprise,
                    slug: slug.to_string(),
                },
                None => TeamRef {
                    kind: TeamKind::Org,
                    slug: t.to_string(),
                },
            }),
            pending_cancellation_date: pending,
            last_activity_at: idle.map(ago),
            created_at: ago(400),
        }
    }

    fn desired(users: &[&str], teams: &[&str], policy: Policy) -> Desired {
        Desired {
            scope: Scope::Org("acme".into()),
            users: users
                .iter()
                .map(|u| match u.split_once(" expires ") {
                    Some((l, d)) => DesiredUser {
                        login: l.to_string(),
                        expires: Some(d.parse().unwrap()),
                    },
                    None => DesiredUser {
                        login: u.to_string(),
                        expires: None,
                    },
                })
                .collect(),
            teams: teams.iter().map(|t| t.to_string()).collect(),
            policy,
            ineligible: BTreeMap::new(),
        }
    }

    fn live(seats: &[&str]) -> LiveState {
        LiveState {
            seat_management_setting: Some(SeatManagementSetting::AssignSelected),
            seats: seats.iter().map(|s| seat(s)).collect(),
            team_members: BTreeMap::new(),
        }
    }

    /// A plan's changes as compact strings: `+alice(new)`, `-team:x(not_desired)`.
    fn summary(p: &Plan) -> Vec<String> {
        p.changes
            .iter()
            .map(|c| {
                let sign = if c.action.is_removal() { "-" } else { "+" };
                let team = if matches!(c.action, Action::AddTeam | Action::RemoveTeam) {
                    "team:"
                } else {
                    ""
                };
                format!("{sign}{team}{}({})", c.name, c.reason.as_str())
            })
            .collect()
    }

    fn enforce() -> Policy {
        Policy::default()
    }

    #[test]
    fn rules_table() {
        let idle_remove = Policy {
            inactivity: Some(Inactivity {
                days: 60,
                action: InactivityAction::Remove,
            }),
            ..Policy::default()
        };
        let protected = Policy {
            protected: vec!["CEO".into()],
            ..Policy::default()
        };
        let additive = Policy {
            removals: RemovalMode::Additive,
            ..Policy::default()
        };
        // (name, desired users, desired teams, policy, live seats, expected changes)
        type Case<'a> = (
            &'a str,
            Vec<&'a str>,
            Vec<&'a str>,
            Policy,
            Vec<&'a str>,
            Vec<&'a str>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("no changes when equal", vec!["alice"], vec![], enforce(), vec!["alice"], vec![]),
            ("new user", vec!["alice", "bob"], vec![], enforce(), vec!["alice"], vec!["+bob(new)"]),
            ("not desired removed", vec!["alice"], vec![], enforce(), vec!["alice", "bob"], vec!["-bob(not_desired)"]),
            ("case-insensitive match", vec!["Alice"], vec![], enforce(), vec!["alice"], vec![]),
            ("pending seat restored", vec!["carol"], vec![], enforce(), vec!["carol!"], vec!["+carol(restore)"]),
            ("pending seat not desired left alone", vec![], vec!["t"], enforce(), vec!["carol!", "x@t"], vec![]),
            ("team-granted seat never removed directly", vec![], vec!["platform"], enforce(), vec!["dave@platform"], vec![]),
            ("team add", vec![], vec!["platform"], enforce(), vec![], vec!["+team:platform(new)"]),
            ("team removal", vec!["alice"], vec![], enforce(), vec!["alice", "dave@old"], vec!["-team:old(not_desired)"]),
            ("desired user keeps seat when team goes", vec!["dave"], vec![], enforce(), vec!["dave@old"], vec!["+dave(team_removed)", "-team:old(not_desired)"]),
            ("user granted by kept team: nothing", vec!["dave"], vec!["platform"], enforce(), vec!["dave@platform"], vec![]),
            ("expired user removed", vec!["eve expires 2026-11-01"], vec![], enforce(), vec!["eve"], vec!["-eve(expired)"]),
            ("expires today still desired", vec!["eve expires 2026-11-23"], vec![], enforce(), vec!["eve"], vec![]),
            ("expired user not added", vec!["eve expires 2026-11-01", "a"], vec![], enforce(), vec!["a"], vec![]),
            ("protected never removed", vec!["a"], vec![], protected.clone(), vec!["a", "ceo"], vec![]),
            ("protected keeps seat when team goes", vec!["a"], vec![], protected, vec!["a", "ceo@old"], vec!["+ceo(team_removed)", "-team:old(not_desired)"]),
            ("additive removes nothing", vec!["a"], vec![], additive, vec!["a", "b", "c@old"], vec![]),
            ("idle desired seat removed", vec!["a", "b"], vec![], idle_remove.clone(), vec!["a~90", "b~10"], vec!["-a(inactive)"]),
            ("idle cancelled seat not restored", vec!["a"], vec![], idle_remove.clone(), vec!["a!~90"], vec![]),
            ("idle team seat not removed", vec![], vec!["t"], idle_remove.clone(), vec!["a@t~90"], vec![]),
            ("idle seat not re-granted when its team goes", vec!["a", "b"], vec![], idle_remove, vec!["a@old~90", "b@old~10"], vec!["+b(team_removed)", "-team:old(not_desired)"]),
            ("enterprise team seat unmanaged from org", vec![], vec![], enforce(), vec!["z@ent:e"], vec![]),
            ("apply order", vec!["new1", "kept"], vec!["t2"], enforce(), vec!["kept@t1", "gone"], vec!["+team:t2(new)", "+kept(team_removed)", "+new1(new)", "-team:t1(not_desired)", "-gone(not_desired)"]),
        ];
        for (name, users, teams, policy, seats, want) in cases {
            let p = plan(&desired(&users, &teams, policy), &live(&seats), today());
            assert_eq!(summary(&p), want, "case: {name}");
        }
    }

    #[test]
    fn removals_shown_as_github_spells_them_adds_as_written() {
        let p = plan(
            &desired(&["NewUser"], &[], enforce()),
            &live(&["OldUser"]),
            today(),
        );
        assert_eq!(summary(&p), vec!["+NewUser(new)", "-OldUser(not_desired)"]);
    }

    #[test]
    fn seat_counts_and_rosters() {
        let mut l = live(&["a", "b", "c!", "d@old"]);
        l.team_members
            .insert("platform".into(), vec!["p1".into(), "a".into()]);
        let p = plan(&desired(&["a", "c"], &["platform"], enforce()), &l, today());
        // before: a, b, d (c pending); after: a, c (restored), p1 (team); b and d go.
        assert_eq!(p.seats_before, 3);
        assert_eq!(
            p.roster_before.iter().collect::<Vec<_>>(),
            vec!["a", "b", "d"]
        );
        assert_eq!(
            p.roster_after.iter().collect::<Vec<_>>(),
            vec!["a", "c", "p1"]
        );
        assert_eq!(p.seats_after, 3);
        assert_eq!(p.restores(), 1);
    }

    #[test]
    fn empty_and_unknown_teams() {
        let mut l = live(&[]);
        l.team_members.insert("ghosts".into(), vec![]);
        let p = plan(
            &desired(&[], &["ghosts", "mystery"], enforce()),
            &l,
            today(),
        );
        assert_eq!(p.empty_teams, vec!["ghosts"]);
        assert_eq!(p.unknown_teams, vec!["mystery"]);
        assert_eq!(summary(&p), vec!["+team:mystery(new)"]);
    }

    #[test]
    fn guards() {
        let cap = |n| Policy {
            max_removals: Some(n),
            ..Policy::default()
        };
        let seats: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
        let seat_refs: Vec<&str> = seats.iter().map(String::as_str).collect();
        let keep: Vec<&str> = seat_refs[..17].to_vec();
        #[rustfmt::skip]
        let cases: Vec<(&str, Policy, Vec<&str>, bool)> = vec![
            ("3 removals under a cap of 3", cap(MaxRemovals::Count(3)), keep.clone(), false),
            ("3 removals over a cap of 2", cap(MaxRemovals::Count(2)), keep.clone(), true),
            ("3 of 20 is 15%: under 15%", cap(MaxRemovals::Percent(15.0)), keep.clone(), false),
            ("3 of 20 is 15%: over 10%", cap(MaxRemovals::Percent(10.0)), keep.clone(), true),
            ("max_seats over", Policy { max_seats: Some(20), ..Policy::default() }, [seat_refs.clone(), vec!["extra"]].concat(), true),
            ("max_seats at", Policy { max_seats: Some(21), ..Policy::default() }, [seat_refs.clone(), vec!["extra"]].concat(), false),
            ("shrinking above the cap is allowed", Policy { max_seats: Some(5), ..Policy::default() }, keep.clone(), false),
            ("empty desired refused", Policy::default(), vec![], true),
            ("empty desired allowed", Policy { allow_empty: true, ..Policy::default() }, vec![], false),
            ("empty desired additive is harmless", Policy { removals: RemovalMode::Additive, ..Policy::default() }, vec![], false),
        ];
        for (name, policy, users, tripped) in cases {
            let p = plan(&desired(&users, &[], policy), &live(&seat_refs), today());
            assert_eq!(p.guard.tripped, tripped, "case: {name}: {:?}", p.guard);
            assert_eq!(p.guard.tripped, !p.guard.reasons.is_empty());
        }
    }

    #[test]
    fn team_removal_counts_toward_max_removals() {
        let policy = Policy {
            max_removals: Some(MaxRemovals::Count(1)),
            ..Policy::default()
        };
        let p = plan(
            &desired(&["a"], &[], policy),
            &live(&["a", "x@old", "y@old"]),
            today(),
        );
        assert!(p.guard.tripped);
        assert_eq!(
            p.guard.reasons,
            vec![GuardReason::MaxRemovals {
                removals: 2,
                limit: "1".into()
            }]
        );
    }

    #[test]
    fn ineligible_users_skipped_not_removed() {
        let mut d = desired(&["a", "b"], &[], enforce());
        d.ineligible
            .insert("b".into(), "not a member of acme".into());
        let p = plan(&d, &live(&["b"]), today());
        assert_eq!(summary(&p), vec!["+a(new)"]);
        assert_eq!(p.skipped[0].login, "b");
    }

    #[test]
    fn inactivity_report_lists_idle_seats_only() {
        let policy = Policy {
            inactivity: Some(Inactivity {
                days: 60,
                action: InactivityAction::Report,
            }),
            ..Policy::default()
        };
        let mut l = live(&["a~90", "b~10", "c!~200"]);
        l.seats.push(LiveSeat {
            last_activity_at: None,
            created_at: ago(70),
            ..seat("never")
        });
        let p = plan(
            &desired(&["a", "b", "c", "never"], &[], policy),
            &l,
            today(),
        );
        let idle: Vec<(&str, i64, bool)> = p
            .inactive
            .iter()
            .map(|i| (i.login.as_str(), i.days_idle, i.never_active))
            .collect();
        assert_eq!(idle, vec![("a", 90, false), ("never", 70, true)]);
        // report only: c is restored, nothing removed
        assert_eq!(summary(&p), vec!["+c(restore)"]);
    }

    #[test]
    fn deterministic_regardless_of_listing_order() {
        let d = desired(&["b", "a", "c"], &["t"], enforce());
        let mut l = live(&["z", "y", "x@old", "c!"]);
        let p1 = plan(&d, &l, today());
        l.seats.reverse();
        let p2 = plan(&d, &l, today());
        assert_eq!(p1, p2);
    }
}
