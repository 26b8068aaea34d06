//! The enterprise side of the simulated GitHub: direct enterprise grants,
//! enterprise teams with members, the organizations' grants, and the
//! enterprise seat listing with one entry per grant.
//!
//! Each rule cites the GHEC description it encodes
//! (`../shared/github-openapi/ghec.subset.json`):
//! - listing: "For each organization or enterprise team which grants Copilot
//!   access to a user, a seat detail object will appear in the `seats`
//!   array", and "Users with access through multiple organizations or
//!   enterprise teams will only be counted toward `total_seats` once";
//! - `DELETE .../selected_users`: "Sets seats for all users specified to
//!   'pending cancellation'. This will cause the specified users to lose
//!   access to GitHub Copilot at the end of the current billing cycle unless
//!   they retain access through team or organization membership";
//! - `DELETE .../selected_enterprise_teams`: the same "unless they retain
//!   access through another enterprise team".
//!
//! Where the description is silent, the most conservative reading: a grant
//! removed from a user who keeps another grant leaves the listing at once
//! (the user's seat is not set to pending, since they retain access), and
//! one removed from a user with no other grant stays listed as pending
//! cancellation until the next billing date.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::state::{SimError, SimSeat, SimState, SimTeam};
use crate::github::live::{TeamKind, TeamRef, enterprise_slug};

/// Where one enterprise listing entry lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryRef {
    /// `SimState::seats[i]`: a grant of the primary organization.
    Primary(usize),
    /// `SimState::orgs[o].seats[i]`: a grant of another organization.
    Org(usize, usize),
    /// `SimState::enterprise_seats[i]`: a direct or enterprise-team grant.
    Enterprise(usize),
}

/// The enterprise listing in order, with its `total_seats`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listing {
    /// Entries in listing order: organizations' grants, then the enterprise's.
    pub entries: Vec<EntryRef>,
    /// Distinct users (each counted once).
    pub users: usize,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// An enterprise team slug as compared: canonical with `ent:`, lowercase.
fn team_key(slug: &str) -> String {
    lower(&enterprise_slug(slug))
}

impl SimState {
    /// The enterprise team by slug, with or without its `ent:` prefix.
    pub fn enterprise_team(&self, slug: &str) -> Option<&SimTeam> {
        let key = team_key(slug);
        self.enterprise_teams
            .iter()
            .find(|t| team_key(&t.slug) == key)
    }

    /// Every enterprise member: of any organization, or of the enterprise alone.
    pub fn enterprise_member_set(&self) -> HashSet<String> {
        self.members
            .iter()
            .chain(self.orgs.iter().flat_map(|o| &o.members))
            .chain(&self.enterprise_members)
            .map(|m| lower(m))
            .collect()
    }

    /// The enterprise listing, cached until the next change.
    pub(crate) fn enterprise_listing(&mut self) -> Arc<Listing> {
        if let Some(l) = &self.cache.listing {
            return Arc::clone(l);
        }
        let mut entries = Vec::new();
        let mut users = HashSet::new();
        for (i, s) in self.seats.iter().enumerate() {
            entries.push(EntryRef::Primary(i));
            users.insert(lower(&s.login));
        }
        for (o, org) in self.orgs.iter().enumerate() {
            for (i, s) in org.seats.iter().enumerate() {
                entries.push(EntryRef::Org(o, i));
                users.insert(lower(&s.login));
            }
        }
        for (i, s) in self.enterprise_seats.iter().enumerate() {
            entries.push(EntryRef::Enterprise(i));
            users.insert(lower(&s.login));
        }
        let listing = Arc::new(Listing {
            entries,
            users: users.len(),
        });
        self.cache.listing = Some(Arc::clone(&listing));
        listing
    }

    /// The seat an entry points at, and the organization it belongs to
    /// (`None` for an enterprise-level grant).
    pub(crate) fn entry(&self, e: EntryRef) -> (&SimSeat, Option<&str>) {
        match e {
            EntryRef::Primary(i) => (&self.seats[i], Some(self.org.as_str())),
            EntryRef::Org(o, i) => (&self.orgs[o].seats[i], Some(self.orgs[o].login.as_str())),
            EntryRef::Enterprise(i) => (&self.enterprise_seats[i], None),
        }
    }

    /// Does `login` hold a seat through any grant other than enterprise
    /// entry `except`?
    fn retains_access(&self, login: &str, except: usize) -> bool {
        let held = |s: &SimSeat| s.is_active() && s.login.eq_ignore_ascii_case(login);
        self.enterprise_seats
            .iter()
            .enumerate()
            .any(|(i, s)| i != except && held(s))
            || self.seats.iter().any(held)
            || self.orgs.iter().any(|o| o.seats.iter().any(held))
    }

    fn ent_entry(&self, login: &str, team: Option<&str>) -> Option<usize> {
        let key = team.map(team_key);
        self.enterprise_seats.iter().position(|s| {
            s.login.eq_ignore_ascii_case(login)
                && s.assigning_team.as_ref().map(|t| team_key(&t.slug)) == key
        })
    }

    /// Direct enterprise entries by lowercase login, built once per write
    /// request: a scan of every entry per written login made 1,000 written
    /// logins cost 10^8 comparisons at 100,000 users (issue 21).
    fn direct_index(&self) -> HashMap<String, usize> {
        let mut index = HashMap::with_capacity(self.enterprise_seats.len());
        for (i, s) in self.enterprise_seats.iter().enumerate() {
            if s.assigning_team.is_none() {
                index.entry(lower(&s.login)).or_insert(i);
            }
        }
        index
    }

    /// Active grants per lowercase login over every listing entry: what
    /// "retain access through team or organization membership" counts.
    fn active_grants(&self) -> HashMap<String, usize> {
        let mut n: HashMap<String, usize> = HashMap::new();
        let all = self
            .seats
            .iter()
            .chain(self.orgs.iter().flat_map(|o| &o.seats))
            .chain(&self.enterprise_seats);
        for s in all.filter(|s| s.is_active()) {
            *n.entry(lower(&s.login)).or_default() += 1;
        }
        n
    }

    /// Every enterprise member's login as GitHub spells it, by lowercase
    /// login (the order [`SimState::canonical_login`] looks them up in).
    fn member_spellings(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        let all = self
            .members
            .iter()
            .chain(self.orgs.iter().flat_map(|o| &o.members))
            .chain(&self.enterprise_members);
        for login in all {
            m.entry(lower(login)).or_insert_with(|| login.clone());
        }
        m
    }

    /// Grant (or restore) one enterprise-level entry; true when a seat was
    /// created or refreshed from pending.
    fn grant(&mut self, login: &str, team: Option<&TeamRef>, now: DateTime<Utc>) -> bool {
        let at = self.ent_entry(login, team.map(|t| &*t.slug));
        self.grant_at(login, team, at, now)
    }

    /// [`SimState::grant`] with the entry already looked up.
    fn grant_at(
        &mut self,
        login: &str,
        team: Option<&TeamRef>,
        at: Option<usize>,
        now: DateTime<Utc>,
    ) -> bool {
        self.cache.listing = None;
        match at {
            Some(i) => {
                let s = &mut self.enterprise_seats[i];
                if s.is_active() {
                    return false;
                }
                s.pending_cancellation_date = None;
                s.updated_at = Some(now);
                true
            }
            None => {
                let mut seat = SimSeat::new(login, now);
                seat.updated_at = Some(now);
                seat.assigning_team = team.cloned();
                self.enterprise_seats.push(seat);
                true
            }
        }
    }

    /// Take one enterprise-level entry away: gone at once when the user
    /// keeps another grant, else pending until the next billing date. True
    /// when it went pending.
    fn revoke(&mut self, i: usize, now: DateTime<Utc>) -> bool {
        self.cache.listing = None;
        if !self.enterprise_seats[i].is_active() {
            return false;
        }
        let login = self.enterprise_seats[i].login.clone();
        if self.retains_access(&login, i) {
            self.enterprise_seats.remove(i);
            return false;
        }
        let date = self.next_billing_date;
        let s = &mut self.enterprise_seats[i];
        s.pending_cancellation_date = Some(date);
        s.updated_at = Some(now);
        true
    }

    /// The enterprise's Copilot policies every enterprise seat write needs.
    fn check_enterprise_policy(&self) -> Result<(), SimError> {
        if self.enterprise_seat_management_setting
            != crate::github::SeatManagementSetting::AssignSelected
        {
            return Err(SimError::EnterprisePolicy(
                "Copilot is not enabled for this enterprise, billing has not been set up for this enterprise, a public code suggestions policy has not been set for this enterprise, or the enterprise's Copilot access setting is set to enable Copilot for all users or is unconfigured.".into(),
            ));
        }
        if self.enterprise_public_code_suggestions == "unconfigured" {
            return Err(SimError::EnterprisePolicy(
                "A public code suggestions policy has not been set for this enterprise.".into(),
            ));
        }
        Ok(())
    }

    fn not_members(&self, logins: &[String]) -> Result<(), SimError> {
        let members = self.enterprise_member_set();
        let bad: Vec<String> = logins
            .iter()
            .filter(|l| !members.contains(&lower(l)))
            .cloned()
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(SimError::NotMembers {
                scope: "enterprise",
                logins: bad,
            })
        }
    }

    /// `POST /enterprises/{e}/copilot/billing/selected_users`: "Purchases a
    /// GitHub Copilot seat for each user specified"; the count is "new seats
    /// that were created and existing seats that were refreshed". Every login
    /// must be an enterprise member, or nothing is applied.
    pub(crate) fn ent_add_users(
        &mut self,
        logins: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.check_enterprise_policy()?;
        let spelled = self.member_spellings();
        let bad: Vec<String> = logins
            .iter()
            .filter(|l| !spelled.contains_key(&lower(l)))
            .cloned()
            .collect();
        if !bad.is_empty() {
            return Err(SimError::NotMembers {
                scope: "enterprise",
                logins: bad,
            });
        }
        let mut index = self.direct_index();
        let mut created = 0;
        for l in dedup(logins) {
            let key = lower(&l);
            self.enterprise_selected_users.insert(key.clone());
            let login = spelled.get(&key).cloned().unwrap_or(l);
            let at = index.get(&key).copied();
            created += u64::from(self.grant_at(&login, None, at, now));
            if at.is_none() {
                index.insert(key, self.enterprise_seats.len() - 1);
            }
        }
        Ok(created)
    }

    /// `DELETE /enterprises/{e}/copilot/billing/selected_users`: pending
    /// cancellation "unless they retain access through team or organization
    /// membership"; the count is the seats set to pending.
    pub(crate) fn ent_remove_users(
        &mut self,
        logins: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.check_enterprise_policy()?;
        // One pass to index, one to count grants; entries that leave the
        // listing go at the end, so the indices stay valid meanwhile.
        let index = self.direct_index();
        let mut active = self.active_grants();
        let mut gone = HashSet::new();
        let mut cancelled = 0;
        for l in dedup(logins) {
            let key = lower(&l);
            self.enterprise_selected_users.remove(&key);
            let Some(&i) = index.get(&key) else { continue };
            if !self.enterprise_seats[i].is_active() {
                continue;
            }
            self.cache.listing = None;
            let n = active.entry(key).or_default();
            // Retains access through another grant: the entry leaves the
            // listing at once (see the module docs).
            if *n > 1 {
                gone.insert(i);
            } else {
                let s = &mut self.enterprise_seats[i];
                s.pending_cancellation_date = Some(self.next_billing_date);
                s.updated_at = Some(now);
                cancelled += 1;
            }
            *n = n.saturating_sub(1);
        }
        if !gone.is_empty() {
            let mut i = 0;
            self.enterprise_seats.retain(|_| {
                i += 1;
                !gone.contains(&(i - 1))
            });
        }
        Ok(cancelled)
    }

    fn known_teams(&self, slugs: &[String]) -> Result<Vec<TeamRef>, SimError> {
        let unknown: Vec<String> = slugs
            .iter()
            .filter(|s| self.enterprise_team(s).is_none())
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(SimError::UnknownTeams {
                scope: "enterprise",
                slugs: unknown,
            });
        }
        let mut seen = HashSet::new();
        Ok(slugs
            .iter()
            .filter(|s| seen.insert(team_key(s)))
            .filter_map(|s| self.enterprise_team(s))
            .map(|t| TeamRef::enterprise(&t.slug))
            .collect())
    }

    /// `POST /enterprises/{e}/copilot/billing/selected_enterprise_teams`:
    /// "Purchases a GitHub Copilot seat for all users within each specified
    /// enterprise team". One unknown team refuses the request.
    pub(crate) fn ent_add_teams(
        &mut self,
        slugs: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.check_enterprise_policy()?;
        let teams = self.known_teams(slugs)?;
        let mut created = 0;
        for t in &teams {
            self.selected_enterprise_teams.insert(team_key(&t.slug));
            for m in self.effective_members(TeamKind::Enterprise, &t.slug) {
                created += u64::from(self.grant(&m, Some(t), now));
            }
        }
        Ok(created)
    }

    /// `DELETE /enterprises/{e}/copilot/billing/selected_enterprise_teams`:
    /// the members' seats go pending "unless they retain access through
    /// another enterprise team" (or any other grant).
    pub(crate) fn ent_remove_teams(
        &mut self,
        slugs: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, SimError> {
        self.check_enterprise_policy()?;
        let teams = self.known_teams(slugs)?;
        let mut cancelled = 0;
        for t in &teams {
            if !self.selected_enterprise_teams.remove(&team_key(&t.slug)) {
                continue;
            }
            while let Some(i) = self.enterprise_seats.iter().position(|s| {
                s.is_active()
                    && s.assigning_team
                        .as_ref()
                        .is_some_and(|a| team_key(&a.slug) == team_key(&t.slug))
            }) {
                let went_pending = self.revoke(i, now);
                cancelled += u64::from(went_pending);
            }
        }
        Ok(cancelled)
    }

    /// `POST /enterprises/{e}/teams/{team}/memberships/add`: "Add multiple
    /// team members to an enterprise team". The description documents only
    /// the 200; like every other write here, a login that is not an
    /// enterprise member refuses the request (conservative).
    pub(crate) fn ent_add_members(
        &mut self,
        team: &str,
        logins: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, SimError> {
        let t = self.known_teams(&[team.to_string()])?.remove(0);
        self.not_members(logins)?;
        let key = team_key(&t.slug);
        let selected = self.selected_enterprise_teams.contains(&key);
        let mut added = Vec::new();
        for l in dedup(logins) {
            let login = self.canonical_login(&l).unwrap_or(l);
            let Some(team) = self
                .enterprise_teams
                .iter_mut()
                .find(|e| team_key(&e.slug) == key)
            else {
                continue;
            };
            if !team.members.iter().any(|m| m.eq_ignore_ascii_case(&login)) {
                team.members.push(login.clone());
            }
            if selected {
                self.grant(&login, Some(&t), now);
            }
            added.push(login);
        }
        Ok(added)
    }

    /// `POST /enterprises/{e}/teams/{team}/memberships/remove`: "Remove
    /// multiple team members from an enterprise team"; a removed member's
    /// seat through the team goes as a team removal does.
    pub(crate) fn ent_remove_members(
        &mut self,
        team: &str,
        logins: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, SimError> {
        let t = self.known_teams(&[team.to_string()])?.remove(0);
        let key = team_key(&t.slug);
        let mut removed = Vec::new();
        for l in dedup(logins) {
            if let Some(team) = self
                .enterprise_teams
                .iter_mut()
                .find(|e| team_key(&e.slug) == key)
            {
                team.members.retain(|m| !m.eq_ignore_ascii_case(&l));
            }
            if let Some(i) = self.ent_entry(&l, Some(&t.slug)) {
                self.revoke(i, now);
            }
            removed.push(l);
        }
        Ok(removed)
    }

    /// Derive the enterprise-level and other organizations' grants from their
    /// selections: a grant for every selected user and every member of a
    /// selected team that lacks one; a team grant whose holder left the team
    /// is revoked. Hand-made entries are otherwise left as written.
    pub(crate) fn normalize_enterprise(&mut self, now: DateTime<Utc>) {
        self.cache.listing = None;
        // One pass to index what is listed: normalize runs on 100,000-seat
        // states, where a lookup per grant would be quadratic.
        let key_of = |s: &SimSeat| {
            (
                lower(&s.login),
                s.assigning_team.as_ref().map(|t| team_key(&t.slug)),
            )
        };
        let mut have: HashSet<(String, Option<String>)> =
            self.enterprise_seats.iter().map(key_of).collect();
        for l in self.enterprise_selected_users.clone() {
            if have.insert((l.clone(), None)) {
                let login = self.canonical_login(&l).unwrap_or(l);
                let mut seat = SimSeat::new(&login, now);
                seat.updated_at = Some(now);
                self.enterprise_seats.push(seat);
            }
        }
        for s in &self.enterprise_seats {
            if s.is_active() && s.assigning_team.is_none() {
                self.enterprise_selected_users.insert(lower(&s.login));
            }
        }
        for key in self.selected_enterprise_teams.clone() {
            let Some(team) = self.enterprise_team(&key) else {
                continue;
            };
            let t = TeamRef::enterprise(&team.slug);
            let members = self.effective_members(TeamKind::Enterprise, &team.slug);
            for m in &members {
                if have.insert((lower(m), Some(team_key(&t.slug)))) {
                    let mut seat = SimSeat::new(m, now);
                    seat.updated_at = Some(now);
                    seat.assigning_team = Some(t.clone());
                    self.enterprise_seats.push(seat);
                }
            }
            let set: HashSet<String> = members.iter().map(|m| lower(m)).collect();
            let left: Vec<usize> = self
                .enterprise_seats
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.is_active()
                        && s.assigning_team.as_ref() == Some(&t)
                        && !set.contains(&lower(&s.login))
                })
                .map(|(i, _)| i)
                .collect();
            // Highest index first: a revoke may remove its entry.
            for i in left.into_iter().rev() {
                self.revoke(i, now);
            }
        }
        for org in &mut self.orgs {
            let mut have: HashSet<String> = org.seats.iter().map(|s| lower(&s.login)).collect();
            for l in org.selected_users.clone() {
                if have.insert(l.clone()) {
                    let login = org
                        .members
                        .iter()
                        .find(|m| m.eq_ignore_ascii_case(&l))
                        .cloned()
                        .unwrap_or(l);
                    org.seats.push(SimSeat::new(&login, now));
                }
            }
            for slug in org.selected_teams.clone() {
                let Some(team) = org
                    .teams
                    .iter()
                    .find(|t| t.slug.eq_ignore_ascii_case(&slug))
                else {
                    continue;
                };
                let r = TeamRef::org(&team.slug);
                for m in team.members.clone() {
                    if have.insert(lower(&m)) {
                        let mut seat = SimSeat::new(&m, now);
                        seat.assigning_team = Some(r.clone());
                        org.seats.push(seat);
                    }
                }
            }
        }
    }
}

/// Case-insensitive de-duplication that keeps the first spelling and order.
fn dedup(names: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    names
        .iter()
        .filter(|n| seen.insert(lower(n)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::state::SimOrg;
    use chrono::{NaiveDate, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn enterprise() -> SimState {
        let mut st = SimState::new("acme");
        st.enterprise = Some("big".into());
        st.next_billing_date = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        st.members = s(&["alice", "bob"]);
        st.enterprise_members = s(&["carol", "dave"]);
        st.enterprise_teams = vec![SimTeam::new("ent:data", &["alice", "carol"])];
        st.orgs = vec![SimOrg {
            login: "beta".into(),
            id: 2000,
            members: s(&["alice", "erin"]),
            selected_users: ["alice".to_string()].into(),
            ..SimOrg::default()
        }];
        st.normalize(now());
        st
    }

    fn entries(st: &mut SimState) -> Vec<String> {
        let listing = st.enterprise_listing();
        listing
            .entries
            .iter()
            .map(|&e| {
                let (seat, org) = st.entry(e);
                let via = match (&seat.assigning_team, org) {
                    (Some(t), _) => t.slug.to_string(),
                    (None, Some(o)) => format!("org:{o}"),
                    (None, None) => "direct".into(),
                };
                let pending = if seat.is_active() { "" } else { "!" };
                format!("{}@{via}{pending}", seat.login)
            })
            .collect()
    }

    #[test]
    fn one_entry_per_grant_and_each_user_counted_once() {
        let mut st = enterprise();
        st.ent_add_users(&s(&["alice", "dave"]), now()).unwrap();
        st.ent_add_teams(&s(&["data"]), now()).unwrap();
        assert_eq!(
            entries(&mut st),
            vec![
                "alice@org:beta",
                "alice@direct",
                "dave@direct",
                "alice@ent:data",
                "carol@ent:data"
            ]
        );
        assert_eq!(st.enterprise_listing().users, 3);
    }

    #[test]
    fn removing_one_grant_of_a_user_who_keeps_another_is_not_a_lost_seat() {
        let mut st = enterprise();
        st.ent_add_users(&s(&["alice", "dave"]), now()).unwrap();
        st.ent_add_teams(&s(&["ent:data"]), now()).unwrap();
        // alice retains access through org beta and team data: not pending.
        assert_eq!(st.ent_remove_users(&s(&["alice", "dave"]), now()), Ok(1));
        assert_eq!(
            entries(&mut st),
            vec![
                "alice@org:beta",
                "dave@direct!",
                "alice@ent:data",
                "carol@ent:data"
            ]
        );
        // carol has only the team: she goes pending with it.
        assert_eq!(st.ent_remove_teams(&s(&["data"]), now()), Ok(1));
        assert_eq!(
            entries(&mut st),
            vec!["alice@org:beta", "dave@direct!", "carol@ent:data!"]
        );
        // A restore refreshes the pending entry.
        assert_eq!(st.ent_add_users(&s(&["dave"]), now()), Ok(1));
        assert!(entries(&mut st).contains(&"dave@direct".to_string()));
    }

    #[test]
    fn writes_need_enterprise_members_and_known_teams() {
        let mut st = enterprise();
        assert!(matches!(
            st.ent_add_users(&s(&["stranger"]), now()),
            Err(SimError::NotMembers {
                scope: "enterprise",
                ..
            })
        ));
        assert!(matches!(
            st.ent_add_teams(&s(&["nope"]), now()),
            Err(SimError::UnknownTeams { .. })
        ));
    }

    #[test]
    fn membership_writes_follow_a_selected_team() {
        let mut st = enterprise();
        st.ent_add_teams(&s(&["ent:data"]), now()).unwrap();
        st.ent_add_members("data", &s(&["dave"]), now()).unwrap();
        assert!(entries(&mut st).contains(&"dave@ent:data".to_string()));
        st.ent_remove_members("ent:data", &s(&["carol"]), now())
            .unwrap();
        assert!(entries(&mut st).contains(&"carol@ent:data!".to_string()));
        assert!(
            !st.enterprise_team("data")
                .unwrap()
                .members
                .iter()
                .any(|m| m == "carol")
        );
    }
}
