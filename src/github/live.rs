//! The live side of a plan: every seat holder GitHub lists, each with the
//! set of grants that gives them the seat.
//!
//! The org listing (`GET /orgs/{org}/copilot/billing/seats`) holds one entry
//! per user. The enterprise listing holds one "for each organization or
//! enterprise team which grants Copilot access to a user", while its
//! `total_seats` counts each user once (GHEC description of
//! `GET /enterprises/{enterprise}/copilot/billing/seats`). [`Folder`] turns
//! either into [`LiveUser`]s and refuses a listing that repeats itself.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ci::{Ci, CiIndex};
use crate::config::Scope;

/// Which kind of team granted a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    /// An organization team (`/orgs/{org}/teams/{slug}`).
    Org,
    /// An enterprise team (`/enterprises/{enterprise}/teams/{slug}`).
    Enterprise,
}

/// A team that grants seats. Enterprise team slugs are kept in GitHub's
/// canonical form with the `ent:` prefix ("GitHub generates the enterprise
/// team's `slug` from the team `name` and adds the `ent:` prefix"), so
/// `platform` and `ent:platform` are one team everywhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TeamRef {
    /// Org team or enterprise team.
    pub kind: TeamKind,
    /// The slug; for enterprise teams always with the `ent:` prefix.
    /// Shared: a listing names the same few teams on thousands of grants.
    pub slug: Arc<str>,
}

impl TeamRef {
    /// An org team.
    pub fn org(slug: &str) -> TeamRef {
        TeamRef {
            kind: TeamKind::Org,
            slug: slug.into(),
        }
    }

    /// An enterprise team, `ent:` prefix added when missing.
    pub fn enterprise(slug: &str) -> TeamRef {
        TeamRef {
            kind: TeamKind::Enterprise,
            slug: enterprise_slug(slug).into(),
        }
    }

    /// A team of the kind a scope assigns seats through.
    pub fn in_scope(scope: &Scope, slug: &str) -> TeamRef {
        match scope {
            Scope::Org(_) => TeamRef::org(slug),
            Scope::Enterprise(_) => TeamRef::enterprise(slug),
        }
    }
}

/// The slug without a leading `ent:` (any letter case), when it has one.
pub fn strip_ent(slug: &str) -> Option<&str> {
    match slug.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("ent:") => Some(&slug[4..]),
        _ => None,
    }
}

/// An enterprise team slug in canonical form: `ent:` followed by the slug.
pub fn enterprise_slug(slug: &str) -> String {
    format!("ent:{}", strip_ent(slug).unwrap_or(slug))
}

/// A team slug as the scope names it: enterprise slugs canonical, org slugs as written.
pub fn scoped_slug(scope: &Scope, slug: &str) -> String {
    match scope {
        Scope::Org(_) => slug.to_string(),
        Scope::Enterprise(_) => enterprise_slug(slug),
    }
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

/// What one listing entry says grants the seat.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Grant {
    /// Granted to the user by name (`selected_users` of the scope listed).
    Direct,
    /// Through a team.
    Team(TeamRef),
    /// By an organization of the enterprise (enterprise listing only), when
    /// the entry names its `organization`; `team` is the org team, if listed.
    Organization {
        /// The organization's login (shared, as team slugs are).
        org: Arc<str>,
        /// The org team through which the organization grants it, if listed.
        team: Option<Arc<str>>,
    },
}

impl Grant {
    /// Whether a seats.yaml of `scope` manages this grant: direct grants and
    /// teams of the scope's own kind. An enterprise team seen from an org, or
    /// an organization's grant seen from the enterprise, is outside the file:
    /// never removed through its routes.
    pub fn managed_in(&self, scope: &Scope) -> bool {
        match (self, scope) {
            (Grant::Direct, _) => true,
            (Grant::Team(t), Scope::Org(_)) => t.kind == TeamKind::Org,
            (Grant::Team(t), Scope::Enterprise(_)) => t.kind == TeamKind::Enterprise,
            (Grant::Organization { .. }, _) => false,
        }
    }

    /// Words for a reader: `a direct grant`, `team ent:platform`, `org acme`.
    pub fn describe(&self) -> String {
        match self {
            Grant::Direct => "a direct grant".to_string(),
            Grant::Team(t) => format!("team {}", t.slug),
            Grant::Organization { org, team: None } => format!("org {org}"),
            Grant::Organization {
                org,
                team: Some(team),
            } => format!("org {org} (team {team})"),
        }
    }
}

/// One grant of a user's seat, as one listing entry reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantSeat {
    /// What grants it.
    pub grant: Grant,
    /// Set when this grant goes away at the next billing cycle.
    pub pending_cancellation_date: Option<NaiveDate>,
    /// "Timestamp of when the assignee was last granted access".
    pub created_at: DateTime<Utc>,
}

impl GrantSeat {
    /// True while the grant is not pending cancellation.
    pub fn held(&self) -> bool {
        self.pending_cancellation_date.is_none()
    }
}

/// Which timestamp an idle-time figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IdleSignal {
    /// `last_activity_at`: Copilot use reported by the IDE (needs telemetry).
    #[serde(rename = "last_activity_at")]
    LastActivity,
    /// `last_authenticated_at`: the user signed in to Copilot (reported even
    /// with IDE telemetry off).
    #[serde(rename = "last_authenticated_at")]
    LastAuthenticated,
    /// `created_at`: no activity and no sign-in ever; time since the grant.
    #[serde(rename = "created_at")]
    Granted,
}

impl IdleSignal {
    /// The JSON label: the field the figure comes from.
    pub fn as_str(self) -> &'static str {
        match self {
            IdleSignal::LastActivity => "last_activity_at",
            IdleSignal::LastAuthenticated => "last_authenticated_at",
            IdleSignal::Granted => "created_at",
        }
    }
}

/// A seat's `plan_type` in the listing: which Copilot plan bills it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PlanType {
    /// Copilot Business.
    Business,
    /// Copilot Enterprise.
    Enterprise,
    /// `unknown`, or not reported.
    #[default]
    Unknown,
}

impl PlanType {
    /// From the listing's `plan_type` (`business`, `enterprise`, anything
    /// else unknown).
    pub fn parse(s: &str) -> PlanType {
        if s.eq_ignore_ascii_case("business") {
            PlanType::Business
        } else if s.eq_ignore_ascii_case("enterprise") {
            PlanType::Enterprise
        } else {
            PlanType::Unknown
        }
    }

    /// The JSON label.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanType::Business => "business",
            PlanType::Enterprise => "enterprise",
            PlanType::Unknown => "unknown",
        }
    }
}

/// One seat holder and every grant GitHub lists for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveUser {
    /// The login as GitHub spells it (the first entry's spelling).
    pub login: String,
    /// One per grant, sorted; never empty in a folded listing.
    pub grants: Vec<GrantSeat>,
    /// Latest `last_activity_at` over the user's entries.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Latest `last_authenticated_at` over the user's entries.
    pub last_authenticated_at: Option<DateTime<Utc>>,
    /// The plan billing the seat: `enterprise` when any entry says so (a
    /// user is billed once), else the first known one.
    #[serde(default)]
    pub plan_type: PlanType,
}

impl LiveUser {
    /// A user holding one grant, with no activity: for tests and fixtures.
    pub fn new(login: &str, grant: Grant, created_at: DateTime<Utc>) -> LiveUser {
        LiveUser {
            login: login.to_string(),
            grants: vec![GrantSeat {
                grant,
                pending_cancellation_date: None,
                created_at,
            }],
            last_activity_at: None,
            last_authenticated_at: None,
            plan_type: PlanType::Unknown,
        }
    }

    /// True when any grant is held (not pending cancellation).
    pub fn held(&self) -> bool {
        self.grants.iter().any(GrantSeat::held)
    }

    /// The grant of this kind, if listed.
    pub fn grant(&self, grant: &Grant) -> Option<&GrantSeat> {
        self.grants.iter().find(|g| &g.grant == grant)
    }

    /// When the user was last seen and by which signal: the latest of
    /// `last_activity_at` and `last_authenticated_at`, else the latest grant
    /// (`created_at`, the most recent evidence that the seat is meant to be
    /// used: the most lenient reading, so nobody is idle early).
    pub fn last_seen(&self) -> (DateTime<Utc>, IdleSignal) {
        let activity = self.last_activity_at.map(|t| (t, IdleSignal::LastActivity));
        let auth = self
            .last_authenticated_at
            .map(|t| (t, IdleSignal::LastAuthenticated));
        match (activity, auth) {
            (Some(a), Some(b)) => {
                if b.0 > a.0 {
                    b
                } else {
                    a
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => (
                self.grants
                    .iter()
                    .map(|g| g.created_at)
                    .max()
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
                IdleSignal::Granted,
            ),
        }
    }
}

/// Everything the planner knows about the live side.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveState {
    /// The org's seat management mode; writes need `assign_selected`.
    pub seat_management_setting: Option<SeatManagementSetting>,
    /// Every seat holder (held or pending), one per login, sorted by login
    /// ignoring case.
    pub users: Vec<LiveUser>,
    /// Members of desired teams that do not grant seats yet, when the
    /// reconciler looked them up, keyed by the team's slug as the scope names
    /// it. A team absent here has unknown members; a team present with no
    /// members is reported instead of being re-added.
    pub team_members: BTreeMap<String, Vec<String>>,
    /// With `policy.assign_via_team`: the members of that enterprise team,
    /// read whole. Their membership stands for a direct grant.
    pub assignment_members: Option<Vec<String>>,
}

impl LiveState {
    /// A live state of these users (sorted and merged by login as a folded
    /// listing is), for tests and fixtures.
    pub fn from_users(users: Vec<LiveUser>) -> LiveState {
        let mut by_key: BTreeMap<String, LiveUser> = BTreeMap::new();
        for mut u in users {
            u.grants.sort_by(|a, b| a.grant.cmp(&b.grant));
            match by_key.entry(u.login.to_ascii_lowercase()) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(u);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let have = o.get_mut();
                    have.grants.extend(u.grants);
                    have.grants.sort_by(|a, b| a.grant.cmp(&b.grant));
                    have.last_activity_at = have.last_activity_at.max(u.last_activity_at);
                    have.last_authenticated_at =
                        have.last_authenticated_at.max(u.last_authenticated_at);
                }
            }
        }
        LiveState {
            seat_management_setting: Some(SeatManagementSetting::AssignSelected),
            users: by_key.into_values().collect(),
            team_members: BTreeMap::new(),
            assignment_members: None,
        }
    }

    /// Users holding a seat now (any grant not pending).
    pub fn held(&self) -> usize {
        self.users.iter().filter(|u| u.held()).count()
    }

    /// Users whose every grant is pending cancellation.
    pub fn pending(&self) -> usize {
        self.users.len() - self.held()
    }
}

/// One listing entry, decoded to what the fold needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The assignee's login.
    pub login: String,
    /// The grant it reports.
    pub seat: GrantSeat,
    /// `last_activity_at`.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// `last_authenticated_at`.
    pub last_authenticated_at: Option<DateTime<Utc>>,
    /// `plan_type`.
    pub plan_type: PlanType,
}

/// One user's plan over two entries: Enterprise wins (the user is billed
/// once, at the plan that covers every grant), then any known plan.
fn merge_plan(a: PlanType, b: PlanType) -> PlanType {
    match (a, b) {
        (PlanType::Enterprise, _) | (_, PlanType::Enterprise) => PlanType::Enterprise,
        (PlanType::Unknown, p) => p,
        (p, _) => p,
    }
}

/// Why a listing could not be folded: the pages shifted while they were read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    /// The same user twice in an org listing, or the same grant of a user
    /// twice in an enterprise listing.
    #[error("{login} appears twice in the seat listing ({grant}): seats changed while paging")]
    Repeated {
        /// The login, lowercase.
        login: String,
        /// The grant listed twice.
        grant: String,
    },
}

/// Folds entries, in page order, into one [`LiveUser`] per login.
#[derive(Debug)]
pub struct Folder {
    per_grant: bool,
    /// Skip a repeated entry instead of refusing it (a live listing).
    skip_repeats: bool,
    /// Positions in `users` by login ignoring case.
    index: CiIndex,
    /// Team and organization names, one allocation each however many
    /// grants name them.
    names: HashSet<Arc<str>>,
    users: Vec<LiveUser>,
    entries: u64,
    repeats: u64,
}

impl Folder {
    /// A folder for a listing of `scope`: an org listing must hold each user
    /// once; an enterprise listing holds each grant of a user once.
    pub fn new(scope: &Scope, capacity: usize) -> Folder {
        let capacity = capacity.min(1 << 20);
        Folder {
            per_grant: matches!(scope, Scope::Enterprise(_)),
            skip_repeats: false,
            index: CiIndex::with_capacity(capacity),
            names: HashSet::new(),
            users: Vec::with_capacity(capacity),
            entries: 0,
            repeats: 0,
        }
    }

    /// A folder for a live listing read page by page: an entry seen before
    /// (the same login, and in an enterprise listing the same grant) is
    /// skipped and counted in [`Folder::repeats`], never folded twice. A
    /// page shift that repeats one entry has pushed another past the reader,
    /// so the count check against `total_seats` still tells whether the
    /// listing is whole; the repeat alone proves nothing wrong.
    pub fn deduplicating(scope: &Scope, capacity: usize) -> Folder {
        Folder {
            skip_repeats: true,
            ..Folder::new(scope, capacity)
        }
    }

    /// Entries skipped as repeats.
    pub fn repeats(&self) -> u64 {
        self.repeats
    }

    /// Add one entry.
    pub fn push(&mut self, mut e: Entry) -> Result<(), FoldError> {
        self.share_names(&mut e.seat.grant);
        let users = &self.users;
        let at = |i: usize| Ci(users.get(i).map_or(e.login.as_str(), |u| u.login.as_str()));
        // A new login is stored at the next position, which `at` reads as
        // this entry's own.
        if let Some(i) = self.index.insert(users.len(), at) {
            let u = &mut self.users[i];
            if !self.per_grant || u.grant(&e.seat.grant).is_some() {
                if self.skip_repeats {
                    self.repeats += 1;
                    return Ok(());
                }
                self.entries += 1;
                return Err(FoldError::Repeated {
                    login: e.login.to_ascii_lowercase(),
                    grant: e.seat.grant.describe(),
                });
            }
            self.entries += 1;
            // One more slot, not the four a first growth takes: most users
            // hold one or two grants.
            u.grants.reserve_exact(1);
            u.grants.push(e.seat);
            u.last_activity_at = u.last_activity_at.max(e.last_activity_at);
            u.last_authenticated_at = u.last_authenticated_at.max(e.last_authenticated_at);
            u.plan_type = merge_plan(u.plan_type, e.plan_type);
            return Ok(());
        }
        self.entries += 1;
        self.users.push(LiveUser {
            login: e.login,
            grants: vec![e.seat],
            last_activity_at: e.last_activity_at,
            last_authenticated_at: e.last_authenticated_at,
            plan_type: e.plan_type,
        });
        Ok(())
    }

    /// Point the grant's names at the ones already held.
    fn share_names(&mut self, grant: &mut Grant) {
        let mut share = |name: &mut Arc<str>| match self.names.get(&**name) {
            Some(held) => *name = held.clone(),
            None => {
                self.names.insert(name.clone());
            }
        };
        match grant {
            Grant::Direct => {}
            Grant::Team(t) => share(&mut t.slug),
            Grant::Organization { org, team } => {
                share(org);
                if let Some(t) = team {
                    share(t);
                }
            }
        }
    }

    /// Distinct users so far.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Entries pushed so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The users, sorted by login ignoring case, each with sorted grants.
    pub fn finish(self) -> Vec<LiveUser> {
        drop(self.index);
        let mut users = self.users;
        for u in &mut users {
            if u.grants.len() > 1 {
                u.grants.sort_by(|a, b| a.grant.cmp(&b.grant));
            }
        }
        // One entry per login, so the order is total without a tie-break;
        // no lowercase copies (each comparison used to allocate two).
        users.sort_unstable_by(|a, b| Ci(&a.login).cmp(&Ci(&b.login)));
        users
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
    }

    fn entry(login: &str, grant: Grant) -> Entry {
        Entry {
            login: login.to_string(),
            seat: GrantSeat {
                grant,
                pending_cancellation_date: None,
                created_at: t(1),
            },
            last_activity_at: None,
            last_authenticated_at: None,
            plan_type: PlanType::Unknown,
        }
    }

    fn ent() -> Scope {
        Scope::Enterprise("e".into())
    }

    #[test]
    fn slugs_are_canonical() {
        #[rustfmt::skip]
        let cases = [
            ("platform", "ent:platform"),
            ("ent:platform", "ent:platform"),
            ("ENT:platform", "ent:platform"),
            ("ent:", "ent:"),
            ("en", "ent:en"),
        ];
        for (given, want) in cases {
            assert_eq!(enterprise_slug(given), want, "{given}");
        }
        assert_eq!(TeamRef::enterprise("x"), TeamRef::enterprise("ent:x"));
        assert_eq!(scoped_slug(&Scope::Org("o".into()), "ent:x"), "ent:x");
    }

    #[test]
    fn managed_grants_per_scope() {
        let org = Scope::Org("o".into());
        #[rustfmt::skip]
        let cases = [
            (Grant::Direct, true, true),
            (Grant::Team(TeamRef::org("t")), true, false),
            (Grant::Team(TeamRef::enterprise("t")), false, true),
            (Grant::Organization { org: "o".into(), team: None }, false, false),
        ];
        for (g, in_org, in_ent) in cases {
            assert_eq!(g.managed_in(&org), in_org, "{g:?} in org");
            assert_eq!(g.managed_in(&ent()), in_ent, "{g:?} in enterprise");
        }
    }

    #[test]
    fn enterprise_fold_keeps_every_grant_and_the_latest_activity() {
        let mut f = Folder::new(&ent(), 4);
        let mut a = entry("Alice", Grant::Team(TeamRef::enterprise("x")));
        a.last_activity_at = Some(t(3));
        f.push(a).unwrap();
        f.push(entry("bob", Grant::Direct)).unwrap();
        let mut a2 = entry(
            "alice",
            Grant::Organization {
                org: "acme".into(),
                team: None,
            },
        );
        a2.last_activity_at = Some(t(5));
        a2.last_authenticated_at = Some(t(6));
        f.push(a2).unwrap();
        assert_eq!((f.users(), f.entries()), (2, 3));
        let err = f
            .push(entry("ALICE", Grant::Team(TeamRef::enterprise("ent:x"))))
            .unwrap_err();
        assert!(err.to_string().contains("alice appears twice"), "{err}");
        let users = f.finish();
        assert_eq!(users[0].login, "Alice", "first spelling kept");
        assert_eq!(users[0].grants.len(), 2);
        assert_eq!(users[0].last_activity_at, Some(t(5)));
        assert_eq!(users[0].last_seen(), (t(6), IdleSignal::LastAuthenticated));
        assert_eq!(users[1].login, "bob");
    }

    #[test]
    fn the_fold_holds_each_name_once() {
        let mut f = Folder::new(&ent(), 4);
        let org = |team: Option<&str>| Grant::Organization {
            org: "acme".into(),
            team: team.map(Into::into),
        };
        f.push(entry("a", Grant::Team(TeamRef::enterprise("x"))))
            .unwrap();
        f.push(entry("b", Grant::Team(TeamRef::enterprise("x"))))
            .unwrap();
        f.push(entry("a", org(Some("x")))).unwrap();
        f.push(entry("b", org(None))).unwrap();
        let users = f.finish();
        let names = |u: &LiveUser| -> Vec<Arc<str>> {
            u.grants
                .iter()
                .flat_map(|g| match &g.grant {
                    Grant::Team(t) => vec![t.slug.clone()],
                    Grant::Organization { org, team } => {
                        std::iter::once(org.clone()).chain(team.clone()).collect()
                    }
                    Grant::Direct => vec![],
                })
                .collect()
        };
        let (a, b) = (names(&users[0]), names(&users[1]));
        // a: ent:x, acme, x; b: ent:x, acme. Equal names, one allocation.
        assert!(Arc::ptr_eq(&a[0], &b[0]), "{a:?} {b:?}");
        assert!(Arc::ptr_eq(&a[1], &b[1]), "{a:?} {b:?}");
        assert_eq!(&*a[2], "x");
        assert!(!Arc::ptr_eq(&a[2], &a[0]), "different names stay apart");
    }

    #[test]
    fn org_fold_refuses_a_repeated_user() {
        let mut f = Folder::new(&Scope::Org("o".into()), 2);
        f.push(entry("a", Grant::Direct)).unwrap();
        assert!(f.push(entry("A", Grant::Team(TeamRef::org("t")))).is_err());
    }

    #[test]
    fn a_live_fold_skips_repeats_without_counting_them() {
        let mut f = Folder::deduplicating(&ent(), 4);
        f.push(entry("a", Grant::Direct)).unwrap();
        f.push(entry("A", Grant::Direct)).unwrap();
        f.push(entry("a", Grant::Team(TeamRef::enterprise("x"))))
            .unwrap();
        assert_eq!((f.users(), f.entries(), f.repeats()), (1, 2, 1));
        let mut f = Folder::deduplicating(&Scope::Org("o".into()), 2);
        f.push(entry("a", Grant::Direct)).unwrap();
        f.push(entry("a", Grant::Team(TeamRef::org("t")))).unwrap();
        assert_eq!((f.users(), f.entries(), f.repeats()), (1, 1, 1));
    }

    #[test]
    fn last_seen_prefers_the_latest_signal() {
        let mut u = LiveUser::new("a", Grant::Direct, t(1));
        assert_eq!(u.last_seen(), (t(1), IdleSignal::Granted));
        u.last_authenticated_at = Some(t(4));
        assert_eq!(u.last_seen(), (t(4), IdleSignal::LastAuthenticated));
        u.last_activity_at = Some(t(9));
        assert_eq!(u.last_seen(), (t(9), IdleSignal::LastActivity));
    }
}
