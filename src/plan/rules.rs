//! The planner's rules, one pass over the live users (DESIGN.md "Reconcile
//! semantics", with every grant of a user kept).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    Action, Change, Desired, DesiredUser, Finding, Guard, HeldOutside, HeldRemoval, Inactive, Plan,
    Reason, SkipCode, Skipped,
};
use crate::ci::{Ci, CiIndex, merge_sorted, sort_ci};
use crate::config::{InactivityAction, RemovalMode, Scope};
use crate::github::live::{Grant, IdleSignal, LiveState, LiveUser, TeamKind};

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

/// The channel seats.yaml's `users` write to: a direct grant, or membership
/// of the `assign_via_team` enterprise team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direct {
    /// No direct grant (not a member).
    None,
    /// A held direct grant (a member whose seat through the team is held).
    Held,
    /// A direct grant pending cancellation.
    Pending(NaiveDate),
    /// `assign_via_team` only: a member whose seat through the team is not
    /// (yet) listed as held.
    Member,
}

/// One user as the planner sees it.
struct View<'a> {
    /// The login as GitHub spells it, compared ignoring case.
    key: Ci<'a>,
    /// In the listing (billed this cycle), as opposed to a member of the
    /// assigning team that holds no seat.
    listed: bool,
    held: bool,
    direct: Direct,
    /// Held managed team grants: a range of `teams`.
    teams: (u32, u32),
    /// Held grants outside this file: a range of `outside`.
    outside: (u32, u32),
    idle: i64,
    never: bool,
    signal: IdleSignal,
    /// A pending date to show for a restore.
    pending: Option<NaiveDate>,
}

/// Days from `t` to `today` (0 when `t` is in the future).
fn days_since(t: DateTime<Utc>, today: NaiveDate) -> i64 {
    (today - t.date_naive()).num_days().max(0)
}

/// Compute the plan. Pure: same inputs, same plan, byte for byte.
///
/// Rules:
/// - a grant with a `pending_cancellation_date` is not held; a user holds a
///   seat when any grant is held;
/// - teams granting now = held team grants of this scope's kind; desired
///   teams not granting are added, granting teams not desired are removed;
/// - a desired user is added when holding no seat (`new`), when nothing is
///   held but a pending grant (`restore`), or when every held grant is a
///   team being removed (`team_removed`); a desired user who holds a seat
///   through a kept team or a grant outside this file needs no add; expired
///   and ineligible users are not desired;
/// - held direct grants not desired and not protected are removed
///   (`not_desired` / `expired`), idle ones too with `inactivity.action:
///   remove` (`inactive`); a listed but ineligible user keeps what they
///   hold unless `policy.remove_ineligible` (`ineligible`), counted toward
///   the removal cap like every removal; a removal of a user who keeps another grant is
///   shown with `keeps_via` and is not a lost seat;
/// - grants outside this file (an organization's, seen from the
///   enterprise; an enterprise team's, seen from an org) are never removed;
/// - `removals: additive` removes nothing;
/// - guards (`max_removals` on lost seats, `max_seats` on seats billed this
///   cycle when the plan adds seats, empty desired state) are checked on the
///   whole plan and mark it tripped.
pub fn plan(desired: &Desired, live: &LiveState, today: NaiveDate) -> Plan {
    let policy = &desired.policy;
    let scope = &desired.scope;
    let enforce = policy.removals == RemovalMode::Enforce;
    let team_kind = match scope {
        Scope::Org(_) => TeamKind::Org,
        Scope::Enterprise(_) => TeamKind::Enterprise,
    };
    // An org listing shows one grant per user, so a user's second team is
    // invisible; an enterprise listing shows every grant.
    let one_grant_visible = matches!(scope, Scope::Org(_));
    let via = desired.assign_via_team();
    let via_key = via.as_deref().map(Ci);
    let idle_policy = policy.inactivity;
    let idle_days = idle_policy.map(|p| i64::from(p.days));
    // Decide early, act late: a seat removed mid-cycle is billed to the
    // cycle's end and its holder keeps access until then, so idle seats are
    // removed only in the last `act_before_cycle_end_days` of the cycle.
    let idle_removal_from = idle_policy
        .filter(|i| enforce && i.action == InactivityAction::Remove)
        .map(|i| i.removal_window_start(super::cost::cycle_end(today, live).0));
    let remove_idle = idle_removal_from.is_some_and(|from| today >= from);

    // The assigning team grants seats now when any of its grants is held.
    let via_granting = via_key.is_some_and(|t| {
        live.users.iter().any(|u| {
            u.grants
                .iter()
                .any(|g| g.held() && matches!(&g.grant, Grant::Team(r) if Ci(&r.slug) == t))
        })
    });
    let members: HashSet<Ci> = live
        .assignment_members
        .iter()
        .flatten()
        .map(|m| Ci(m))
        .collect();

    // Views: one per listed user, then one per member of the assigning team
    // who is not listed.
    let mut team_keys: Vec<Ci> = Vec::new();
    let mut outside: Vec<&Grant> = Vec::new();
    let mut views: Vec<View> = Vec::with_capacity(live.users.len());
    for u in &live.users {
        views.push(view(
            u,
            team_kind,
            via_key,
            via_granting,
            &members,
            today,
            &mut team_keys,
            &mut outside,
        ));
    }
    // Positions of views by login; the first view of a login wins.
    let mut index = CiIndex::of(views.len(), |j| views[j].key);
    if let Some(list) = &live.assignment_members {
        for m in list {
            if index.get(Ci(m), |j| views[j].key).is_some() {
                continue;
            }
            views.push(View {
                key: Ci(m),
                listed: false,
                held: false,
                direct: Direct::Member,
                teams: (0, 0),
                outside: (0, 0),
                idle: 0,
                never: false,
                signal: IdleSignal::Granted,
                pending: None,
            });
            index.insert(views.len() - 1, |j| views[j].key);
        }
    }
    let find = |key: Ci| index.get(key, |j| views[j].key);
    // Canonical order, once: every user-ordered output below (removals, idle
    // seats, rosters) comes out sorted by walking it.
    let mut order: Vec<usize> = index.positions().collect();
    sort_ci(&mut order, |&i| views[i].key);
    let teams_of = |v: &View<'_>| &team_keys[v.teams.0 as usize..v.teams.1 as usize];
    let outside_of = |v: &View<'_>| &outside[v.outside.0 as usize..v.outside.1 as usize];
    let is_idle = |v: &View| v.listed && idle_days.is_some_and(|d| v.idle >= d);

    let protected: HashSet<Ci> = policy.protected.iter().map(|l| Ci(l)).collect();

    // Desired users: not expired, not ineligible; each once (the first
    // entry of a login wins), found in the live views with one lookup.
    const WANTED: u8 = 1;
    const PROTECTED: u8 = 2;
    let mut listed_as = vec![0u8; views.len()];
    let mut expired: HashMap<Ci, NaiveDate> = HashMap::default();
    let mut skipped = Vec::new();
    // 16 bytes an entry (the key is the login's): at 50,000 listed users
    // a wider tuple cost 1.2 MB more at the plan's peak.
    let mut wanted_views: Vec<(&DesiredUser, Option<u32>)> =
        Vec::with_capacity(desired.users.len());
    let mut wanted_new: HashSet<Ci> = HashSet::default();
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
                code: why.code,
                reason: why.message.clone(),
            });
            continue;
        }
        let i = find(key);
        let first = match i {
            Some(i) => {
                let first = listed_as[i] & WANTED == 0;
                listed_as[i] |= WANTED;
                first
            }
            None => wanted_new.insert(key),
        };
        if first {
            wanted_views.push((u, i.map(|i| i as u32)));
        }
    }
    let is_ineligible = |k: Ci| {
        !desired.ineligible.is_empty() && desired.ineligible.contains_key(&k.0.to_ascii_lowercase())
    };
    for p in &protected {
        if let Some(i) = find(*p) {
            listed_as[i] |= PROTECTED;
        }
    }

    // Teams granting now, with how many users each grants.
    let mut granting: HashMap<Ci, usize> = HashMap::default();
    for &i in &order {
        for t in teams_of(&views[i]) {
            *granting.entry(*t).or_insert(0) += 1;
        }
    }
    let desired_teams: BTreeMap<Ci, &String> = desired
        .teams
        .iter()
        .filter(|t| via_key != Some(Ci(t)))
        .map(|t| (Ci(t), t))
        .collect();
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
            // An org listing shows one team per seat: a desired team whose
            // members are all seated through teams that stay would never show
            // as granting, so it is not re-added forever; it is added on the
            // first reconcile where a member is not covered.
            Some(m)
                if one_grant_visible
                    && m.iter().all(|l| {
                        find(Ci(l)).is_some_and(|i| {
                            teams_of(&views[i])
                                .iter()
                                .any(|t| !enforce || desired_teams.contains_key(t))
                        })
                    }) => {}
            Some(m) => {
                added_members.extend(m.iter().map(|l| Ci(l)));
                let mut c = Change::new(Action::AddTeam, slug, Reason::New);
                c.seats = Some(m.len());
                team_adds.push(c);
            }
            None => {
                unknown_teams.push((*slug).clone());
                team_adds.push(Change::new(Action::AddTeam, slug, Reason::New));
            }
        }
    }

    let mut removed_teams: HashSet<Ci> = HashSet::default();
    let mut team_removal_keys: Vec<(Ci, usize)> = Vec::new();
    if enforce {
        // In slug order, as the plan lists them.
        let mut by_slug: Vec<(&Ci, &usize)> = granting.iter().collect();
        by_slug.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (key, count) in by_slug {
            if !desired_teams.contains_key(key) {
                removed_teams.insert(*key);
                team_removal_keys.push((*key, *count));
            }
        }
    }
    let keeps_team = |v: &View| teams_of(v).iter().any(|t| !removed_teams.contains(t));
    let loses_teams = |v: &View| !teams_of(v).is_empty() && !keeps_team(v);
    let has_outside = |v: &View| v.outside.1 > v.outside.0;
    let idle_unprotected = |i: usize| {
        let v = &views[i];
        remove_idle && is_idle(v) && listed_as[i] & PROTECTED == 0
    };

    // User adds, keyed; sorted through `adds_order` below, so each change
    // moves once, into the plan, not through the sort and back.
    let mut user_adds: Vec<(Ci, Option<usize>, Option<Change>)> = Vec::new();
    for &(u, vi) in &wanted_views {
        let (key, vi) = (Ci(&u.login), vi.map(|i| i as usize));
        let v = vi.map(|i| &views[i]);
        let reason = match v {
            None => Reason::New,
            Some(v) if via.is_some() => {
                // Membership must equal `users`: add whoever is not a member.
                if v.direct != Direct::None {
                    continue;
                }
                // An idle seat the inactivity policy took stays taken, even
                // when another grant still holds it: added back, it would be
                // removed as idle again next time (found by plan_laws).
                if v.listed && idle_unprotected(vi.unwrap_or(0)) {
                    continue;
                }
                if v.listed && !v.held {
                    Reason::Restore
                } else {
                    Reason::New
                }
            }
            Some(v) => {
                if v.direct == Direct::Held || keeps_team(v) || has_outside(v) {
                    continue;
                }
                // An idle seat cancelled by the inactivity policy stays
                // cancelled, and is not re-granted when its team goes: the
                // direct seat would be removed as idle next time.
                if idle_unprotected(vi.unwrap_or(0)) {
                    continue;
                }
                if v.held {
                    Reason::TeamRemoved
                } else {
                    Reason::Restore
                }
            }
        };
        // The first team by name, not by the listing's order of grants.
        let team = v.and_then(|v| teams_of(v).iter().min()).map(|t| t.0);
        user_adds.push((key, vi, Some(add_change(&u.login, reason, v, team))));
    }
    // Protected holders keep their seat when their teams go away (a direct
    // grant pending cancellation is restored by the same add).
    if !protected.is_empty() && !removed_teams.is_empty() {
        for &i in &order {
            let v = &views[i];
            if v.held
                && listed_as[i] == PROTECTED
                && loses_teams(v)
                && matches!(v.direct, Direct::None | Direct::Pending(_))
                && !has_outside(v)
            {
                user_adds.push((
                    v.key,
                    Some(i),
                    Some(add_change(
                        v.key.0,
                        Reason::TeamRemoved,
                        Some(v),
                        teams_of(v).iter().min().map(|t| t.0),
                    )),
                ));
            }
        }
    }
    let mut adds_order: Vec<usize> = (0..user_adds.len()).collect();
    sort_ci(&mut adds_order, |&i| user_adds[i].0);

    // User removals: a direct grant (or membership) held, not protected; not
    // desired, or idle.
    let mut user_removals: Vec<(usize, Change)> = Vec::new();
    let mut inactive: Vec<Inactive> = Vec::new();
    for &i in &order {
        let v = &views[i];
        if v.held && is_idle(v) {
            inactive.push(Inactive {
                login: v.key.0.to_string(),
                days_idle: v.idle,
                never_active: v.never,
                signal: v.signal,
            });
        }
        let removable = match v.direct {
            Direct::Held => true,
            Direct::Member => via.is_some(),
            Direct::None | Direct::Pending(_) => false,
        };
        // Members of a team being added hold their seat through it once the
        // team is added (applied first); an org then refuses the DELETE
        // with 422 ("assigned to them via a team").
        if !enforce
            || !removable
            || listed_as[i] & PROTECTED != 0
            || (one_grant_visible && added_members.contains(&v.key))
        {
            continue;
        }
        let reason = if listed_as[i] & WANTED == 0 {
            if expired.contains_key(&v.key) {
                Reason::Expired
            } else if is_ineligible(v.key) {
                // Listed but ineligible: keep what they hold (only adds are
                // skipped) unless policy asks to remove such seats.
                if !policy.remove_ineligible {
                    continue;
                }
                Reason::Ineligible
            } else {
                Reason::NotDesired
            }
        } else if remove_idle && (v.held || via.is_some()) && is_idle(v) {
            // With assign_via_team an idle member whose seat is pending
            // leaves the team too: else assigning the team would seat them
            // again, to be removed as idle next time (found by plan_laws).
            Reason::Inactive
        } else {
            continue;
        };
        let mut c = Change::new(Action::RemoveUser, v.key.0, reason);
        set_idle(&mut c, v);
        if reason == Reason::Expired {
            c.expires = expired.get(&v.key).copied();
        }
        c.keeps_via = teams_of(v)
            .iter()
            .filter(|t| !removed_teams.contains(t))
            .map(|t| format!("team {}", t.0))
            .chain(outside_of(v).iter().map(|g| g.describe()))
            .collect();
        if added_members.contains(&v.key) {
            c.keeps_via.push("a team being added".to_string());
        }
        // The listing's order of grants is not the plan's concern.
        c.keeps_via.sort();
        user_removals.push((i, c));
    }

    // The typo guard: a removal of a login close to one seats.yaml lists but
    // GitHub does not know (or that is not a member) is held back.
    let mut held = typo_guard(&mut user_removals, &desired.ineligible);
    for h in &mut held {
        if let Some(u) = desired
            .users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(&h.listed))
        {
            h.listed = u.login.clone();
        }
    }

    // Who holds a seat after apply.
    const REMOVED: u8 = 1;
    const READDED: u8 = 2;
    let mut fate = vec![0u8; views.len()];
    for (i, _) in &user_removals {
        fate[*i] |= REMOVED;
    }
    for (_, vi, _) in &user_adds {
        if let Some(i) = *vi {
            fate[i] |= READDED;
        }
    }
    let member_after = |i: usize| {
        let v = &views[i];
        let member = matches!(v.direct, Direct::Held | Direct::Member) && fate[i] & REMOVED == 0;
        member || fate[i] & READDED != 0
    };
    // The assigning team grants after apply when it does now or is added,
    // and it is added when it will have members and grants nothing now.
    let unlisted_adds = user_adds.iter().filter(|(_, vi, _)| vi.is_none()).count();
    let via_added = via.is_some()
        && !via_granting
        && (unlisted_adds > 0 || order.iter().any(|&i| member_after(i)));
    let via_active = via_granting || via_added;
    let holds_after = |i: usize| {
        let v = &views[i];
        let direct = if via.is_some() {
            member_after(i) && via_active
        } else {
            (v.direct == Direct::Held && fate[i] & REMOVED == 0) || fate[i] & READDED != 0
        };
        direct || keeps_team(v) || has_outside(v) || added_members.contains(&v.key)
    };
    // Once per view: the rosters, the counts and the seats each removed
    // team takes all read it.
    let holds: Vec<bool> = (0..views.len()).map(holds_after).collect();
    if via_added && let Some(t) = &via {
        team_adds.insert(0, Change::new(Action::AddTeam, t, Reason::New));
    }

    // Seats each removed team takes with it, counted in one pass over the
    // users (a scan of every user per team was 500 teams × 100,000 users).
    let mut lost_by_team: HashMap<Ci, usize> = HashMap::default();
    if !team_removal_keys.is_empty() {
        for &i in &order {
            let ts = teams_of(&views[i]);
            if ts.iter().any(|t| removed_teams.contains(t)) && !holds[i] {
                for (j, t) in ts.iter().enumerate() {
                    if removed_teams.contains(t) && !ts[..j].contains(t) {
                        *lost_by_team.entry(*t).or_default() += 1;
                    }
                }
            }
        }
    }
    let mut team_removals = Vec::with_capacity(team_removal_keys.len());
    for (key, count) in team_removal_keys {
        let lost = lost_by_team.get(&key).copied().unwrap_or(0);
        let mut c = Change::new(Action::RemoveTeam, key.0, Reason::NotDesired);
        c.seats = Some(count);
        c.seats_lost = Some(lost);
        team_removals.push(c);
    }

    // Holders whose every held grant is outside this file.
    let mut held_outside = Vec::new();
    for &i in &order {
        let v = &views[i];
        if v.held && has_outside(v) && v.direct != Direct::Held && teams_of(v).is_empty() {
            held_outside.push(HeldOutside {
                login: v.key.0.to_string(),
                via: {
                    // By name, not by the listing's order of grants.
                    let mut via: Vec<String> = outside_of(v).iter().map(|g| g.describe()).collect();
                    via.sort();
                    via
                },
            });
        }
    }
    empty_teams.sort();
    unknown_teams.sort();

    // Rosters and counts, walking the sorted order; nothing of the size of
    // the listing is collected (at 100,000 seats four such lists cost
    // about 17 MB at the plan's peak).
    let before = || order.iter().copied().filter(|&i| views[i].held);
    let kept = || order.iter().copied().filter(|&i| holds[i]);
    let lost = before().filter(|&i| !holds[i]).count();
    // With `assign_via_team` every user the plan takes out of the team is a
    // removal for the cap, seat or no seat: the team's membership is what
    // the file is changing (a team that grants no seat yet loses members
    // too), and a file must not empty a team under the cap.
    // A percentage cap is then taken of the seats or of the team's members,
    // whichever is larger.
    let (removals, cap_base) = if via.is_some() {
        let mut counted = vec![false; views.len()];
        for i in before().filter(|&i| !holds[i]) {
            counted[i] = true;
        }
        for (i, _) in &user_removals {
            counted[*i] = true;
        }
        (counted.iter().filter(|c| **c).count(), members.len())
    } else {
        (lost, 0)
    };
    // New holders with no view: user adds (sorted) and new members of added
    // teams (sorted), each once.
    let new_users: Vec<(Ci, &str)> = if via.is_some() && !via_active {
        Vec::new()
    } else {
        // An add's key is its login.
        adds_order
            .iter()
            .map(|&i| &user_adds[i])
            .filter(|(_, vi, _)| vi.is_none())
            .map(|(k, _, _)| (*k, k.0))
            .collect()
    };
    let adds: HashSet<Ci> = if added_members.is_empty() {
        HashSet::default()
    } else {
        user_adds.iter().map(|(k, _, _)| *k).collect()
    };
    let new_members: Vec<(Ci, &str)> = added_members
        .iter()
        .filter(|m| !adds.contains(m) && find(**m).is_none())
        .map(|m| (*m, m.0))
        .collect();
    let unlisted_new =
        kept().filter(|&i| !views[i].listed).count() + new_users.len() + new_members.len();
    let adds_seats = unlisted_new > 0 || kept().any(|i| !views[i].held);
    let roster_before: super::Roster = before().map(|i| views[i].key.0).collect();
    let roster_after: super::Roster = merge_sorted(
        merge_sorted(
            kept().map(|i| (views[i].key, views[i].key.0)),
            new_users.iter().copied(),
        ),
        new_members.iter().copied(),
    )
    .map(|(_, login)| login)
    .collect();
    let seats_before = roster_before.len();
    let seats_after = roster_after.len();
    let billed_before = views.iter().filter(|v| v.listed).count();
    // Adds are applied before removals: when the assigning team is added,
    // members it seats that this plan then removes are billed this cycle
    // too (pending until the cycle ends; found by plan_laws).
    let seated_then_removed = if via_added {
        order
            .iter()
            .filter(|&&i| {
                let v = &views[i];
                !v.listed && v.direct == Direct::Member && fate[i] & REMOVED != 0 && !holds[i]
            })
            .count()
    } else {
        0
    };
    let billed_after = billed_before + unlisted_new + seated_then_removed;

    // Guards, on the whole plan.
    let mut guard = Guard {
        reasons: desired.limits.guard_reasons(
            policy,
            super::GuardTotals {
                removals,
                cap_base,
                seats_before,
                seats_after,
                billed_after,
                adds_seats,
                empty_file: desired.users.is_empty() && desired.teams.is_empty(),
            },
        ),
        ..Guard::default()
    };
    guard.tripped = !guard.reasons.is_empty();

    let mut changes = Vec::with_capacity(
        team_adds.len() + user_adds.len() + team_removals.len() + user_removals.len(),
    );
    changes.extend(team_adds);
    changes.extend(adds_order.iter().filter_map(|&i| user_adds[i].2.take()));
    changes.extend(team_removals);
    changes.extend(user_removals.into_iter().map(|(_, c)| c));

    super::Plan {
        scope: scope.clone(),
        seats_before,
        seats_after,
        billed_before,
        billed_after,
        max_seats: desired.limits.max_seats.map(|(n, _)| n),
        assign_via_team: via,
        changes,
        inactive,
        inactivity_days: idle_policy.map(|p| p.days),
        idle_removal_from: idle_removal_from.filter(|from| today < *from),
        skipped,
        empty_teams,
        unknown_teams,
        held_outside,
        held,
        roster_before,
        roster_after,
        guard,
        partial: None,
        cost: None,
        budgets: None,
        budgets_unavailable: None,
    }
}

/// The planner's view of one listed user.
#[allow(clippy::too_many_arguments)]
fn view<'a>(
    u: &'a LiveUser,
    team_kind: TeamKind,
    via: Option<Ci<'_>>,
    via_granting: bool,
    members: &HashSet<Ci<'_>>,
    today: NaiveDate,
    team_keys: &mut Vec<Ci<'a>>,
    outside: &mut Vec<&'a Grant>,
) -> View<'a> {
    let t0 = team_keys.len() as u32;
    let o0 = outside.len() as u32;
    let mut direct = Direct::None;
    let mut pending = None;
    for g in &u.grants {
        let held = g.held();
        if !held && pending.is_none() {
            pending = g.pending_cancellation_date;
        }
        match &g.grant {
            Grant::Team(t) if t.kind == team_kind && via.is_some_and(|v| v == Ci(&t.slug)) => {
                // With assign_via_team, the team's grant is the direct one;
                // membership (below) decides whether it is ours to change.
                if held {
                    direct = Direct::Held;
                }
            }
            Grant::Direct if via.is_none() => {
                direct = match g.pending_cancellation_date {
                    None => Direct::Held,
                    Some(d) => {
                        pending = Some(d);
                        Direct::Pending(d)
                    }
                };
            }
            Grant::Team(t) if t.kind == team_kind => {
                if held {
                    team_keys.push(Ci(&t.slug));
                }
            }
            // A direct grant with assign_via_team, a team of the other
            // kind, an organization's grant: outside this file.
            other => {
                if held {
                    outside.push(other);
                }
            }
        }
    }
    if via.is_some() {
        let member = members.contains(&Ci(&u.login));
        direct = match (member, direct) {
            (true, Direct::Held) => Direct::Held,
            (true, _) if via_granting => Direct::Held,
            (true, _) => Direct::Member,
            (false, _) => Direct::None,
        };
    }
    let (seen, signal) = u.last_seen();
    View {
        key: Ci(&u.login),
        listed: true,
        held: u.held(),
        direct,
        teams: (t0, team_keys.len() as u32),
        outside: (o0, outside.len() as u32),
        idle: days_since(seen, today),
        never: signal == IdleSignal::Granted,
        signal,
        pending,
    }
}

/// Logins equal but for separators (`alice-smith`, `alicesmith`), or at
/// most two edits apart (`alice`, `alcie`), ignoring case.
pub(super) fn close(a: &str, b: &str) -> bool {
    let bare = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    if a.eq_ignore_ascii_case(b) {
        return false;
    }
    if bare(a) == bare(b) {
        return true;
    }
    a.len().abs_diff(b.len()) <= 2
        && crate::config::edit_distance(&a.to_ascii_lowercase(), &b.to_ascii_lowercase()) <= 2
}

/// Move `not_desired` removals whose login is close to an unknown or
/// non-member listed login out of the removals; what was held, in order.
fn typo_guard(
    removals: &mut Vec<(usize, Change)>,
    ineligible: &std::collections::BTreeMap<String, Finding>,
) -> Vec<HeldRemoval> {
    let suspects: Vec<(&String, SkipCode)> = ineligible
        .iter()
        .filter(|(_, f)| matches!(f.code, SkipCode::NoSuchUser | SkipCode::NotAMember))
        .map(|(l, f)| (l, f.code))
        .collect();
    if suspects.is_empty() {
        return Vec::new();
    }
    let mut held = Vec::new();
    removals.retain(|(_, c)| {
        if c.reason != Reason::NotDesired {
            return true;
        }
        match suspects.iter().find(|(l, _)| close(l, &c.name)) {
            Some((l, code)) => {
                held.push(HeldRemoval {
                    login: c.name.clone(),
                    listed: (*l).clone(),
                    code: *code,
                });
                false
            }
            None => true,
        }
    });
    held
}

fn set_idle(c: &mut Change, v: &View) {
    if v.listed {
        c.days_idle = Some(v.idle);
        c.never_active = v.never;
        c.idle_signal = Some(v.signal);
    }
}

fn add_change(login: &str, reason: Reason, v: Option<&View>, team: Option<&str>) -> Change {
    let mut c = Change::new(Action::AddUser, login, reason);
    if let Some(v) = v {
        set_idle(&mut c, v);
        if reason == Reason::Restore {
            c.pending_cancellation_date = v.pending;
        }
        if reason == Reason::TeamRemoved {
            c.via_team = team.map(str::to_string);
        }
    }
    c
}
