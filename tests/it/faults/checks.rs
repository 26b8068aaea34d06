//! The oracles: what every reconcile may write, and the state it must reach.

use super::*;

// ---------------------------------------------------------------------------
// Checks

/// What seats.yaml says, as plain sets (lowercase), for the oracles.
pub(crate) struct Want {
    pub(crate) listed: BTreeSet<String>,
    pub(crate) expired: BTreeSet<String>,
    pub(crate) teams: Vec<String>,
    pub(crate) protected: BTreeSet<String>,
    pub(crate) additive: bool,
    pub(crate) suspend: bool,
    pub(crate) eligible_teams: Vec<String>,
    /// `inactivity.action: remove` with this many days.
    pub(crate) idle_remove: Option<i64>,
    pub(crate) max_removals: Option<seatkeeper::config::MaxRemovals>,
}

impl Want {
    pub(crate) fn new(source: &Loaded, today: NaiveDate) -> Want {
        let f = &source.file;
        let (expired, listed): (Vec<_>, Vec<_>) = f
            .users
            .iter()
            .partition(|u| u.expires.is_some_and(|e| e < today));
        Want {
            listed: listed.iter().map(|u| lower(&u.login)).collect(),
            expired: expired.iter().map(|u| lower(&u.login)).collect(),
            teams: f.teams.iter().map(|t| t.slug.clone()).collect(),
            protected: f.policy.protected.iter().map(|l| lower(l)).collect(),
            additive: f.policy.removals == RemovalMode::Additive,
            suspend: f.policy.suspend,
            eligible_teams: f.policy.eligible_teams.clone(),
            idle_remove: f
                .policy
                .inactivity
                .filter(|i| i.action == InactivityAction::Remove)
                .map(|i| i64::from(i.days)),
            max_removals: f.policy.max_removals,
        }
    }

    pub(crate) fn eligible(&self, st: &SimState, login: &str) -> bool {
        let is_member = st.members.iter().any(|m| m.eq_ignore_ascii_case(login));
        is_member
            && (self.eligible_teams.is_empty()
                || self.eligible_teams.iter().any(|t| {
                    st.effective_members(TeamKind::Org, t)
                        .iter()
                        .any(|m| m.eq_ignore_ascii_case(login))
                }))
    }

    /// Would the inactivity policy take this (direct) seat away?
    pub(crate) fn idle_removable(&self, seat: &SimSeat, today: NaiveDate) -> bool {
        let Some(days) = self.idle_remove else {
            return false;
        };
        if self.additive || self.protected.contains(&lower(&seat.login)) {
            return false;
        }
        let t = seat.last_activity_at.unwrap_or(seat.created_at);
        (today - t.date_naive()).num_days().max(0) >= days
    }
}

/// Active seats by lowercase login.
pub(crate) fn active(st: &SimState) -> BTreeMap<String, &SimSeat> {
    st.seats
        .iter()
        .filter(|s| s.is_active())
        .map(|s| (lower(&s.login), s))
        .collect()
}

pub(crate) fn write_names(r: &RecordedRequest) -> Vec<String> {
    let key = if r.route == routes::ORG_SELECTED_USERS {
        "selected_usernames"
    } else {
        "selected_teams"
    };
    r.body
        .as_ref()
        .and_then(|b| b.get(key))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(lower))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

pub(crate) fn is_write(r: &RecordedRequest) -> bool {
    (r.method == "POST" || r.method == "DELETE")
        && (r.route == routes::ORG_SELECTED_USERS || r.route == routes::ORG_SELECTED_TEAMS)
}

/// The safety rules that hold after every reconcile, faults or not.
pub(crate) fn check_round(s: &Scenario, want: &Want, round: &Round) -> Result<(), String> {
    let writes: Vec<&RecordedRequest> = round.requests.iter().filter(|r| is_write(r)).collect();
    let fail = |msg: String| Err(format!("{}: {msg}", round.label));

    if round.writes_after_stop > 0 {
        return fail(format!(
            "{} write call(s) after the stop flag was set",
            round.writes_after_stop
        ));
    }
    let multi_page = round.pre.seats.len() > 100;
    if multi_page && !round.page_changes.is_empty() && round.result.is_ok() {
        return fail(format!(
            "seats changed after page 1 of a {}-seat listing (request {:?}) but the reconcile went on",
            round.pre.seats.len(),
            round.page_changes
        ));
    }
    if s.missing_team && round.result.is_ok() {
        return fail(
            "seats.yaml names a team that does not exist, yet the reconcile succeeded".into(),
        );
    }
    let outcome = match &round.result {
        Err(e) => {
            if !writes.is_empty() {
                return fail(format!(
                    "the reconcile failed ({e}) but wrote: {:?}",
                    writes
                        .iter()
                        .map(|w| (&w.method, &w.route, &w.body))
                        .collect::<Vec<_>>()
                ));
            }
            return Ok(());
        }
        Ok(o) => o,
    };
    let plan = &outcome.plan;
    if (plan.guard.tripped || want.suspend) && !writes.is_empty() {
        return fail(format!(
            "guarded/suspended plan ({:?}) but wrote {} request(s)",
            plan.guard.reasons,
            writes.len()
        ));
    }
    if plan.guard.tripped && outcome.status != Status::Guarded {
        return fail(format!("guard tripped but status {:?}", outcome.status));
    }
    let named =
        |action: Action| -> BTreeSet<String> { plan.of(action).map(|c| lower(&c.name)).collect() };
    let (add_users, remove_users) = (named(Action::AddUser), named(Action::RemoveUser));
    let (add_teams, remove_teams) = (named(Action::AddTeam), named(Action::RemoveTeam));
    let pre_active = active(&round.pre);
    for w in &writes {
        let allowed = match (w.method.as_str(), w.route == routes::ORG_SELECTED_USERS) {
            ("POST", true) => &add_users,
            ("DELETE", true) => &remove_users,
            ("POST", false) => &add_teams,
            _ => &remove_teams,
        };
        if want.additive && w.method == "DELETE" {
            return fail(format!("removals: additive, yet {} {:?}", w.route, w.body));
        }
        for name in write_names(w) {
            if !allowed.contains(&name) {
                return fail(format!(
                    "{} {} sent `{name}`, which the plan does not name (plan: {:?})",
                    w.method,
                    w.route,
                    plan.changes
                        .iter()
                        .map(|c| (c.action, &c.name))
                        .collect::<Vec<_>>()
                ));
            }
            if w.method == "DELETE" && w.route == routes::ORG_SELECTED_USERS {
                if want.protected.contains(&name) {
                    return fail(format!("protected `{name}` sent to DELETE selected_users"));
                }
                match pre_active.get(&name) {
                    Some(seat) if seat.assigning_team.is_some() => {
                        return fail(format!(
                            "team-granted `{name}` ({:?}) sent to DELETE selected_users",
                            seat.assigning_team
                        ));
                    }
                    Some(_) => {}
                    // A seat the fault granted while the listing was read:
                    // a listing read whole after it (a page asked for
                    // again) holds it.
                    None if name.starts_with("intruder") => {}
                    None => {
                        return fail(format!(
                            "`{name}` sent to DELETE selected_users without an active seat"
                        ));
                    }
                }
            }
        }
    }

    // Seats that went away: named by the plan, within the removal cap, never
    // a protected holder's or a listed user's (save idle-seat removals).
    let post_active = active(&round.post);
    let lost: Vec<&String> = pre_active
        .keys()
        .filter(|l| !post_active.contains_key(*l) && !s.fault_removed.contains(*l))
        .collect();
    for l in &lost {
        let seat = pre_active[*l];
        let via_removed_team = seat
            .assigning_team
            .as_ref()
            .is_some_and(|t| t.kind == TeamKind::Org && remove_teams.contains(&lower(&t.slug)));
        if !remove_users.contains(*l) && !via_removed_team {
            return fail(format!(
                "`{l}` lost its seat ({:?}) but the plan names neither it nor its team",
                seat.assigning_team
            ));
        }
        if want.protected.contains(*l) {
            return fail(format!("protected `{l}` lost its seat"));
        }
        let idle_ok = want.idle_removable(seat, s.today);
        if want.listed.contains(*l) && !idle_ok {
            let direct = seat.assigning_team.is_none();
            if direct || want.eligible(&round.pre, l) {
                return fail(format!(
                    "listed user `{l}` lost its seat ({:?})",
                    seat.assigning_team
                ));
            }
        }
    }
    if let Some(limit) = want.max_removals
        && limit.exceeded(lost.len(), plan.seats_before)
    {
        return fail(format!(
            "{} seats removed ({lost:?}) of {}: over max_removals {limit}",
            lost.len(),
            plan.seats_before
        ));
    }

    // What the outcome calls ok is what the simulator holds.
    let rejected: BTreeSet<String> = s.rejected.iter().map(|l| lower(l)).collect();
    for res in &outcome.results {
        let name = lower(&res.name);
        if res.result == "ok" && rejected.contains(&name) && round.label.starts_with("faulty") {
            return fail(format!("rejected login `{name}` reported ok"));
        }
        if res.result != "ok" {
            continue;
        }
        let truth = match res.action {
            Action::AddUser => post_active.contains_key(&name),
            Action::RemoveUser => !post_active.contains_key(&name),
            Action::AddTeam => round.post.selected_teams.contains(&name),
            Action::RemoveTeam => !round.post.selected_teams.contains(&name),
        };
        if !truth {
            return fail(format!(
                "{:?} `{name}` reported ok but did not happen",
                res.action
            ));
        }
    }
    let all_ok = outcome.results.iter().all(|r| r.result == "ok");
    if outcome.status == Status::Applied && !all_ok {
        return fail(format!("status Applied with results {:?}", outcome.results));
    }
    if outcome.status == Status::Stopped && !round.stop_triggered {
        return fail("status Stopped without a stop".into());
    }
    Ok(())
}

/// After the faults: the final seats match seats.yaml (rules written out
/// independently of the planner).
pub(crate) fn check_final(s: &Scenario, want: &Want, st: &SimState) -> Result<(), String> {
    let seats = active(st);
    let all: BTreeMap<String, &SimSeat> = st.seats.iter().map(|x| (lower(&x.login), x)).collect();
    for u in &want.listed {
        if !want.eligible(st, u) || seats.contains_key(u) {
            continue;
        }
        let idle_cancelled = all.get(u).is_some_and(|x| want.idle_removable(x, s.today));
        if !idle_cancelled {
            return Err(format!("listed user `{u}` holds no seat at the end"));
        }
    }
    for t in &want.teams {
        let members = st.effective_members(TeamKind::Org, t);
        if members.is_empty() {
            continue;
        }
        if !st.selected_teams.contains(&lower(t)) {
            return Err(format!("team `{t}` is not selected at the end"));
        }
        if let Some(m) = members.iter().find(|m| !seats.contains_key(&lower(m))) {
            return Err(format!("`{m}` of team `{t}` holds no seat at the end"));
        }
    }
    if want.additive {
        return Ok(());
    }
    for t in &st.selected_teams {
        if !st.effective_members(TeamKind::Org, t).is_empty()
            && !want.teams.iter().any(|w| w.eq_ignore_ascii_case(t))
        {
            return Err(format!("team `{t}` still selected at the end"));
        }
    }
    for (l, seat) in &seats {
        if seat.assigning_team.is_some() || want.protected.contains(l) {
            continue;
        }
        if !want.listed.contains(l) {
            let why = if want.expired.contains(l) {
                "expired"
            } else {
                "not listed"
            };
            return Err(format!(
                "`{l}` ({why}) still holds a direct seat at the end"
            ));
        }
        if want.eligible(st, l) && want.idle_removable(seat, s.today) {
            return Err(format!("idle `{l}` still holds a direct seat at the end"));
        }
    }
    Ok(())
}
