//! Adds only, from a seat listing that could not be proven whole.
//!
//! When the pages keep shifting (or one keeps failing) after the client's
//! re-reads, the pages that were read still say who held a seat while they
//! were read. A login seats.yaml lists and those pages do not show is
//! either seatless or on a page not read; granting it is idempotent either
//! way (GitHub answers `seats_created: 0` for a login that already holds a
//! seat, and a team or team membership that is already there stays). A
//! removal is not: the holder it misses may sit on a page not read, and the
//! removal cap is a share of a total that is not known. So the plan keeps
//! its adds, holds every removal, and says which check failed.
//!
//! The seat cap needs the whole listing too (holders on the pages not read
//! count against it). With a seat cap in force (`policy.max_seats` or
//! `--max-seats`) the adds are held as well: nothing is written.

use crate::plan::{Change, Guard, PartialListing, Plan, Reason};

/// `plan`, computed from the pages of an incomplete listing, cut to its adds:
/// every removal moves to [`PartialListing::held_removals`]; the adds stay in
/// `changes` unless `max_seats` is set, when they move to
/// [`PartialListing::held_adds`]. The guards judged on the partial totals
/// (removal cap, empty file) are replaced by the hold, which covers them.
pub fn adds_only(mut plan: Plan, reason: String, max_seats: Option<u64>) -> Plan {
    let (held_removals, adds): (Vec<Change>, Vec<Change>) = std::mem::take(&mut plan.changes)
        .into_iter()
        .partition(|c| c.action.is_removal());
    let (changes, held_adds) = match max_seats {
        Some(_) => (Vec::new(), adds),
        None => (adds, Vec::new()),
    };
    // Seats after: the holders read, plus the new direct seats (members of
    // added teams are not known here; a restore was counted already).
    let new_seats: Vec<&str> = changes
        .iter()
        .filter(|c| c.action == crate::plan::Action::AddUser && c.reason != Reason::Restore)
        .map(|c| c.name.as_str())
        .collect();
    let mut after: Vec<&str> = plan.roster_before.iter().chain(new_seats).collect();
    after.sort_by_key(|l| l.to_ascii_lowercase());
    after.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let grown = after.len() - plan.roster_before.len();
    plan.seats_after = after.len();
    plan.billed_after = plan.billed_before + grown;
    plan.roster_after = after.into_iter().collect();
    plan.guard = Guard::default();
    plan.changes = changes;
    plan.partial = Some(PartialListing {
        reason,
        held_removals,
        held_adds,
        max_seats,
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Scope;
    use crate::plan::{Action, GuardReason, LimitSource, Roster};

    fn change(action: Action, name: &str, reason: Reason) -> Change {
        Change::new(action, name, reason)
    }

    fn plan() -> Plan {
        let roster: Roster = ["alice", "bob", "mallory"].iter().collect();
        Plan {
            scope: Scope::Org("acme".into()),
            seats_before: 3,
            seats_after: 3,
            billed_before: 3,
            billed_after: 3,
            max_seats: None,
            assign_via_team: None,
            changes: vec![
                change(Action::AddTeam, "platform", Reason::New),
                change(Action::AddUser, "carol", Reason::New),
                change(Action::AddUser, "bob", Reason::Restore),
                change(Action::RemoveTeam, "old", Reason::NotDesired),
                change(Action::RemoveUser, "mallory", Reason::NotDesired),
            ],
            inactive: vec![],
            inactivity_days: None,
            skipped: vec![],
            empty_teams: vec![],
            unknown_teams: vec![],
            held_outside: vec![],
            held: vec![],
            roster_before: roster.clone(),
            roster_after: roster,
            guard: Guard {
                tripped: true,
                reasons: vec![GuardReason::MaxRemovals {
                    removals: 2,
                    limit: "1".into(),
                    set_by: LimitSource::File,
                }],
            },
            partial: None,
            idle_removal_from: None,
            cost: None,
            budgets: None,
            budgets_unavailable: None,
        }
    }

    #[test]
    fn only_adds_go_out_and_every_removal_is_held() {
        let p = adds_only(plan(), "pages shifted".into(), None);
        let names: Vec<(Action, &str)> = p
            .changes
            .iter()
            .map(|c| (c.action, c.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (Action::AddTeam, "platform"),
                (Action::AddUser, "carol"),
                (Action::AddUser, "bob")
            ]
        );
        let held = p.partial.as_ref().expect("partial");
        assert_eq!(held.reason, "pages shifted");
        assert_eq!(
            held.held_removals
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["old", "mallory"]
        );
        assert!(held.held_adds.is_empty());
        // The removal cap judged a partial total: the hold replaces it.
        assert!(!p.guard.tripped);
        assert!(p.is_guarded(), "a held plan is never taken as done");
        // Nobody leaves the roster; carol joins, bob's restore is no new seat.
        assert_eq!(
            p.roster_after.iter().collect::<Vec<_>>(),
            ["alice", "bob", "carol", "mallory"]
        );
        assert_eq!((p.seats_after, p.billed_after), (4, 4));
    }

    #[test]
    fn a_seat_cap_that_cannot_be_checked_holds_the_adds_too() {
        let p = adds_only(plan(), "pages shifted".into(), Some(10));
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        let held = p.partial.expect("partial");
        assert_eq!(held.held_adds.len(), 3);
        assert_eq!(held.held_removals.len(), 2);
        assert_eq!(held.max_seats, Some(10));
        assert_eq!(p.seats_after, 3);
    }
}
