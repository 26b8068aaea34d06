//! The enterprise oracles: what every reconcile may write, and the state it must reach.

use super::*;

/// Names a seat write sent.
pub(crate) fn ent_write_names(r: &RecordedRequest) -> Vec<String> {
    let key = if r.route == routes::ENTERPRISE_SELECTED_USERS {
        "selected_usernames"
    } else {
        "selected_enterprise_teams"
    };
    r.body
        .as_ref()
        .and_then(|b| b.get(key))
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(lower)).collect())
        .unwrap_or_default()
}

/// Holders a change while paging took out of the listing.
pub(crate) fn churn_removed(s: &EntScenario) -> BTreeSet<String> {
    s.churn
        .iter()
        .flat_map(|(_, a)| a)
        .filter_map(|a| match a {
            FaultAction::RemoveEnterpriseSeatsAfter(l) => Some(lower(l)),
            _ => None,
        })
        .collect()
}

/// When the user was last seen, as the planner counts idle days: the
/// latest activity or sign-in over every entry, else the latest grant.
pub(crate) fn ent_idle_days(st: &SimState, login: &str, today: NaiveDate) -> Option<i64> {
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
        .or_else(|| entries.iter().map(|s| s.created_at).max())?;
    Some((today - seen.date_naive()).num_days().max(0))
}

/// Would the inactivity policy take this user's direct grant away?
pub(crate) fn ent_idle_removable(
    want: &Want,
    st: &SimState,
    login: &str,
    today: NaiveDate,
) -> bool {
    let Some(days) = want.idle_remove else {
        return false;
    };
    !want.additive
        && !want.protected.contains(login)
        && ent_idle_days(st, login, today).is_some_and(|d| d >= days)
}

/// Exists as a GitHub user and is an enterprise member.
pub(crate) fn ent_eligible(st: &SimState, login: &str) -> bool {
    let l = lower(login);
    st.enterprise_member_set().contains(&l)
        && (st.members.iter().chain(&st.users)).any(|m| lower(m) == l)
}

/// The safety rules after every enterprise reconcile.
pub(crate) fn ent_check_round(
    s: &EntScenario,
    want: &Want,
    round: &EntRound,
) -> Result<(), String> {
    let fail = |msg: String| Err(format!("{}: {msg}", round.label));
    let writes: Vec<&RecordedRequest> = round
        .requests
        .iter()
        .filter(|r| r.method != "GET")
        .collect();
    if let Some(w) = writes.iter().find(|w| {
        w.route != routes::ENTERPRISE_SELECTED_USERS && w.route != routes::ENTERPRISE_SELECTED_TEAMS
    }) {
        return fail(format!(
            "an enterprise file wrote to {} {}",
            w.method, w.path
        ));
    }
    if round.writes_after_stop > 0 {
        return fail(format!(
            "{} write call(s) after the stop flag was set",
            round.writes_after_stop
        ));
    }
    // A change while the listing was read, before its last page: the last
    // page is read after every other, so it was read after the change, and
    // the listing cannot be proven whole.
    if let Some((page, last)) = round.churned.iter().find(|(p, l)| p < l)
        && (round.result.is_ok() || !writes.is_empty())
    {
        return fail(format!(
            "the seats changed after page {page} of {last} while the listing was read, yet the reconcile went on ({} write(s))",
            writes.len()
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
                    "the reconcile failed ({e}) but wrote {} request(s)",
                    writes.len()
                ));
            }
            return Ok(());
        }
        Ok(o) => o,
    };
    // The plan was made from a listing that existed: before the round, or
    // after a step of the change made while paging, never a mix.
    let Some(listed) = &round.listed else {
        return fail("the reconcile succeeded without a listing".into());
    };
    let got = holdings_of(listed);
    let churn = s.churn.as_ref().map(|(_, a)| a.as_slice());
    let possible = snapshots(&round.pre, round.churn_fired.then_some(churn).flatten());
    if !possible.contains(&got) {
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
        return fail(format!(
            "planned from a listing that matches no state of the enterprise (churn {:?}): {}",
            round.churned,
            diff.join("; ")
        ));
    }
    let plan = &outcome.plan;
    if (plan.guard.tripped || want.suspend) && !writes.is_empty() {
        return fail(format!(
            "guarded/suspended plan but wrote {} request(s)",
            writes.len()
        ));
    }
    let named = |action: Action| -> BTreeSet<String> {
        plan.of(action)
            .map(|c| match action {
                Action::AddTeam | Action::RemoveTeam => ent_key(&c.name),
                _ => lower(&c.name),
            })
            .collect()
    };
    let (add_users, remove_users) = (named(Action::AddUser), named(Action::RemoveUser));
    let (add_teams, remove_teams) = (named(Action::AddTeam), named(Action::RemoveTeam));
    let pre = holdings(&round.pre);
    for w in &writes {
        let users = w.route == routes::ENTERPRISE_SELECTED_USERS;
        let allowed = match (w.method.as_str(), users) {
            ("POST", true) => &add_users,
            ("DELETE", true) => &remove_users,
            ("POST", false) => &add_teams,
            _ => &remove_teams,
        };
        if want.additive && w.method == "DELETE" {
            return fail(format!("removals: additive, yet {} {:?}", w.route, w.body));
        }
        for name in ent_write_names(w) {
            let name = if users { name } else { ent_key(&name) };
            if !allowed.contains(&name) {
                return fail(format!(
                    "{} {} sent `{name}`, which the plan does not name",
                    w.method, w.route
                ));
            }
            if w.method == "DELETE" && users {
                if want.protected.contains(&name) {
                    return fail(format!("protected `{name}` sent to DELETE selected_users"));
                }
                if !pre.get(&name).is_some_and(|g| g.contains("a direct grant")) {
                    return fail(format!(
                        "`{name}` sent to DELETE selected_users without a held direct grant ({:?})",
                        pre.get(&name)
                    ));
                }
            }
        }
    }
    // Seats that went away: named by the plan, never protected or listed
    // (save idle ones), within max_removals.
    let post = holdings(&round.post);
    let changed = churn_removed(s);
    let lost: Vec<&String> = pre
        .keys()
        .filter(|l| holds(&pre, l) && !holds(&post, l) && !changed.contains(*l))
        .collect();
    for l in &lost {
        let via_removed_team = pre[*l]
            .iter()
            .filter_map(|g| g.strip_prefix("team "))
            .any(|t| remove_teams.contains(&ent_key(t)));
        if !remove_users.contains(*l) && !via_removed_team {
            return fail(format!(
                "`{l}` lost its seat ({:?}) but the plan names neither it nor its team",
                pre[*l]
            ));
        }
        if want.protected.contains(*l) {
            return fail(format!(
                "protected `{l}` lost its seat ({:?} before, {:?} after)",
                pre[*l],
                post.get(*l)
            ));
        }
        if want.listed.contains(*l)
            && ent_eligible(&round.pre, l)
            && !ent_idle_removable(want, &round.pre, l, s.today)
        {
            return fail(format!("listed user `{l}` lost its seat ({:?})", pre[*l]));
        }
    }
    if let Some(limit) = want.max_removals
        && limit.exceeded(lost.len(), plan.seats_before)
    {
        return fail(format!(
            "{} seats lost ({lost:?}) of {}: over max_removals {limit}",
            lost.len(),
            plan.seats_before
        ));
    }
    // What the outcome calls ok is what the simulator holds.
    for res in outcome.results.iter().filter(|r| r.result == "ok") {
        let truth = match res.action {
            Action::AddUser => holds(&post, &lower(&res.name)),
            Action::RemoveUser => !post
                .get(&lower(&res.name))
                .is_some_and(|g| g.contains("a direct grant")),
            Action::AddTeam => round
                .post
                .selected_enterprise_teams
                .contains(&ent_key(&res.name)),
            Action::RemoveTeam => !round
                .post
                .selected_enterprise_teams
                .contains(&ent_key(&res.name)),
        };
        if !truth {
            return fail(format!(
                "{:?} `{}` reported ok but did not happen",
                res.action, res.name
            ));
        }
    }
    if outcome.status == Status::Applied && outcome.results.iter().any(|r| r.result != "ok") {
        return fail(format!("status Applied with results {:?}", outcome.results));
    }
    if outcome.status == Status::Stopped && !round.stop_triggered {
        return fail("status Stopped without a stop".into());
    }
    Ok(())
}

/// After the faults: the enterprise's seats match seats.yaml, by rules
/// written out here independently of the planner.
pub(crate) fn ent_check_final(s: &EntScenario, want: &Want, st: &SimState) -> Result<(), String> {
    let h = holdings(st);
    for u in &want.listed {
        if !ent_eligible(st, u) || holds(&h, u) || ent_idle_removable(want, st, u, s.today) {
            continue;
        }
        return Err(format!("listed user `{u}` holds no seat at the end"));
    }
    for t in &want.teams {
        let key = ent_key(t);
        let members = st.effective_members(TeamKind::Enterprise, &key);
        if members.is_empty() {
            continue;
        }
        if !st.selected_enterprise_teams.contains(&key) {
            return Err(format!("team `{t}` is not selected at the end"));
        }
        if let Some(m) = members.iter().find(|m| !holds(&h, &lower(m))) {
            return Err(format!("`{m}` of team `{t}` holds no seat at the end"));
        }
    }
    if want.additive {
        return Ok(());
    }
    let desired: BTreeSet<String> = want.teams.iter().map(|t| ent_key(t)).collect();
    for t in &st.selected_enterprise_teams {
        if !st.effective_members(TeamKind::Enterprise, t).is_empty()
            && !desired.contains(&ent_key(t))
        {
            return Err(format!("team `{t}` still selected at the end"));
        }
    }
    for (l, grants) in &h {
        if !grants.contains("a direct grant") || want.protected.contains(l) {
            continue;
        }
        if !want.listed.contains(l) {
            let why = if want.expired.contains(l) {
                "expired"
            } else {
                "not listed"
            };
            return Err(format!(
                "`{l}` ({why}) still holds a direct grant at the end"
            ));
        }
        if ent_idle_removable(want, st, l, s.today) {
            return Err(format!("idle `{l}` still holds a direct grant at the end"));
        }
    }
    Ok(())
}
