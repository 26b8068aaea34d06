//! The oracles, for either scope: what every reconcile may write, the waits
//! it may ask for, and the state it must reach.

use super::*;

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
}

/// The names a seat write sent (lowercase; teams as keys).
pub(crate) fn write_names<S: Scope>(r: &RecordedRequest) -> Vec<String> {
    let users = r.route == S::USERS_ROUTE;
    let key = if users {
        "selected_usernames"
    } else {
        S::TEAMS_KEY
    };
    r.body
        .as_ref()
        .and_then(|b| b.get(key))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|n| if users { lower(n) } else { S::team_key(n) })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn is_write(r: &RecordedRequest) -> bool {
    r.method != "GET"
}

/// The safety rules that hold after every reconcile, faults or not.
pub(crate) fn check_round<S: Scope>(
    s: &Scenario,
    want: &Want,
    round: &Round,
) -> Result<(), String> {
    let fail = |msg: String| Err(format!("{}: {msg}", round.label));
    let writes: Vec<&RecordedRequest> = round.requests.iter().filter(|r| is_write(r)).collect();
    if let Some(w) = writes
        .iter()
        .find(|w| w.route != S::USERS_ROUTE && w.route != S::TEAMS_ROUTE)
    {
        return fail(format!(
            "an {} file wrote to {} {}",
            S::NAME,
            w.method,
            w.path
        ));
    }
    if round.writes_after_stop > 0 {
        return fail(format!(
            "{} write call(s) after the stop flag was set",
            round.writes_after_stop
        ));
    }
    // A listing that could not be proven whole (issue 18 item 5) allows adds
    // only: no DELETE of any kind, and none at all under a seat cap, which
    // cannot be checked. That the adds are the plan's is checked below.
    let partial = round
        .result
        .as_ref()
        .ok()
        .and_then(|o| o.plan.partial.as_ref());
    if let Some(p) = partial {
        if let Some(w) = writes.iter().find(|w| w.method != "POST") {
            return fail(format!(
                "the listing was not proven whole ({}), yet {} {} {:?}",
                p.reason, w.method, w.route, w.body
            ));
        }
        if p.max_seats.is_some() && !writes.is_empty() {
            return fail(format!(
                "the listing was not proven whole under a seat cap, yet {} write(s)",
                writes.len()
            ));
        }
    }
    // A change while the listing was read, before its last page: the last
    // page is read after every other, so it was read after the change, and
    // that read cannot be proven whole. The client reads the listing again
    // before writing anything, or writes adds only (above), or gives up
    // with nothing written.
    if let Some((page, last)) = round.churned.iter().find(|(p, l)| p < l) {
        let whole = round.result.is_ok() && partial.is_none();
        if !round.reread && (whole || (partial.is_none() && !writes.is_empty())) {
            return fail(format!(
                "the seats changed after page {page} of {last} while the listing was read, yet the reconcile went on without reading it again ({} write(s))",
                writes.len()
            ));
        }
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
    S::check_listing(s, round).or_else(fail)?;
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
    let named = |action: Action| -> BTreeSet<String> {
        plan.of(action)
            .map(|c| match action {
                Action::AddTeam | Action::RemoveTeam => S::team_key(&c.name),
                _ => lower(&c.name),
            })
            .collect()
    };
    let (add_users, remove_users) = (named(Action::AddUser), named(Action::RemoveUser));
    let (add_teams, remove_teams) = (named(Action::AddTeam), named(Action::RemoveTeam));
    let pre = S::holdings(&round.pre);
    for w in &writes {
        let users = w.route == S::USERS_ROUTE;
        let allowed = match (w.method.as_str(), users) {
            ("POST", true) => &add_users,
            ("DELETE", true) => &remove_users,
            ("POST", false) => &add_teams,
            _ => &remove_teams,
        };
        if want.additive && w.method == "DELETE" {
            return fail(format!("removals: additive, yet {} {:?}", w.route, w.body));
        }
        for name in write_names::<S>(w) {
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
            if w.method != "DELETE" || !users {
                continue;
            }
            if want.protected.contains(&name) {
                return fail(format!("protected `{name}` sent to DELETE selected_users"));
            }
            match pre.get(&name) {
                Some(h) if h.direct => {}
                // A seat a change while paging granted: a listing read
                // whole after it (a page asked for again) holds it.
                None if name.starts_with("intruder") && round.churn_fired => {}
                h => {
                    return fail(format!(
                        "`{name}` sent to DELETE selected_users without a held direct grant ({:?})",
                        h.map(|h| &h.grants)
                    ));
                }
            }
        }
    }

    // Seats that went away: named by the plan, within the removal cap, never
    // a protected holder's or a listed user's (save idle-seat removals).
    let post = S::holdings(&round.post);
    let changed = s.churn_removed();
    let lost: Vec<&String> = pre
        .keys()
        .filter(|l| holds(&pre, l) && !holds(&post, l) && !changed.contains(*l))
        .collect();
    for l in &lost {
        let h = &pre[*l];
        let via_removed_team = h.teams.iter().any(|t| remove_teams.contains(t));
        if !remove_users.contains(*l) && !via_removed_team {
            return fail(format!(
                "`{l}` lost its seat ({:?}) but the plan names neither it nor its team",
                h.grants
            ));
        }
        if want.protected.contains(*l) {
            return fail(format!(
                "protected `{l}` lost its seat ({:?} before, {:?} after)",
                h.grants,
                post.get(*l).map(|h| &h.grants)
            ));
        }
        if want.listed.contains(*l) && S::listed_keeps(want, &round.pre, l, h, s.today) {
            return fail(format!("listed user `{l}` lost its seat ({:?})", h.grants));
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
    for res in outcome.results.iter().filter(|r| r.result == "ok") {
        let name = match res.action {
            Action::AddTeam | Action::RemoveTeam => S::team_key(&res.name),
            _ => lower(&res.name),
        };
        if rejected.contains(&name) && round.label.starts_with("faulty") {
            return fail(format!("rejected login `{name}` reported ok"));
        }
        if !S::happened(res.action, &name, &round.post, &post) {
            return fail(format!(
                "{:?} `{name}` reported ok but did not happen",
                res.action
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

/// The rate-limit wait a recorded answer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// `retry-after` seconds, on a 403 or 429.
    Stated(Duration),
    /// A 429 without `retry-after`: GitHub's "at least one minute", then
    /// "an exponentially increasing amount of time" for the same request
    /// (60, 120, 240 s ...).
    Unstated,
}

/// What a recorded answer asks the client to wait (a 403 without a
/// rate-limit signal is a permission error, not retried).
pub(crate) fn asked_wait(r: &RecordedRequest) -> Option<Asked> {
    if r.status != 403 && r.status != 429 {
        return None;
    }
    let retry_after = r
        .response_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    match retry_after {
        Some(secs) => Some(Asked::Stated(Duration::from_secs(secs))),
        None if r.status == 429 => Some(Asked::Unstated),
        None => None,
    }
}

/// One of the waits an unstated secondary limit may take: 60 s doubled
/// any number of times.
fn unstated_wait(w: Duration) -> bool {
    let s = w.as_secs();
    w.subsec_nanos() == 0 && s >= 60 && s % 60 == 0 && (s / 60).is_power_of_two()
}

/// Every wait the client asked for in a round was asked for by GitHub, and
/// every rate limit the client retried after was waited out:
/// - a wait of a second or more is the `retry-after` of an answer in this
///   round, or 60 s doubled for a 429 without one, no more often than such
///   answers came;
/// - a shorter wait is a backoff under its ceiling (`BACKOFF_MAX`), or a
///   `retry-after: 0`;
/// - with requests sent one at a time (the org scope), for each rate limit
///   (within the client's longest wait) whose request was sent again and
///   reached the client (no timeout fault on it), a wait of exactly its
///   `retry-after` (or one of the unstated waits) was recorded. (At
///   production concurrency a page in flight is abandoned when another
///   fails, and the listing may be read again, so an answer sent again
///   proves no wait there.)
///
/// Returns how many rate-limit waits it matched.
pub(crate) fn check_waits<S: Scope>(round: &Round, s: &Scenario) -> Result<u64, String> {
    let sequential = S::CONCURRENCY == 1 && S::PAGE_CONCURRENCY == 1;
    let fail = |msg: String| Err(format!("{}: {msg}", round.label));
    let mut offered: BTreeMap<Duration, u64> = BTreeMap::new();
    let mut owed: BTreeMap<Duration, u64> = BTreeMap::new();
    let (mut unstated, mut unstated_owed) = (0u64, 0u64);
    let timed_out: BTreeSet<u64> = round
        .injected
        .iter()
        .filter(|f| f.what == format!("latency {} ms", TIMEOUT_LATENCY.as_millis()))
        .map(|f| f.seq)
        .collect();
    for r in &round.requests {
        let Some(asked) = asked_wait(r) else { continue };
        let again =
            sequential && !timed_out.contains(&r.seq) && asked_again(&round.requests, r.seq);
        match asked {
            Asked::Stated(v) => {
                *offered.entry(v).or_default() += 1;
                if again && v <= MAX_RATE_LIMIT_WAIT {
                    *owed.entry(v).or_default() += 1;
                }
            }
            Asked::Unstated => {
                unstated += 1;
                if again {
                    unstated_owed += 1;
                }
            }
        }
    }
    let mut waited: BTreeMap<Duration, u64> = BTreeMap::new();
    for w in &round.waits {
        *waited.entry(*w).or_default() += 1;
    }
    let mut matched = 0;
    let mut unstated_used = 0;
    for (w, n) in &waited {
        if *w >= Duration::from_secs(1) {
            let m = offered.get(w).copied().unwrap_or(0);
            let beyond = n.saturating_sub(m);
            if beyond > 0 && unstated_wait(*w) && unstated_used + beyond <= unstated {
                unstated_used += beyond;
            } else if beyond > 0 {
                return fail(format!(
                    "the client waited {w:?} {n} time(s), but GitHub asked for that {m} time(s) and {unstated} time(s) gave no retry-after (asked: {offered:?}; waits {:?}; {})",
                    round.waits,
                    s.summary.join("; ")
                ));
            }
            matched += n;
        } else if *w > BACKOFF_MAX {
            return fail(format!(
                "a backoff of {w:?}, over the ceiling {BACKOFF_MAX:?} (waits {:?})",
                round.waits
            ));
        }
    }
    for (v, n) in &owed {
        let got = if *v >= Duration::from_secs(1) {
            waited.get(v).copied().unwrap_or(0)
        } else {
            // `retry-after: 0` waits nothing, like a zero backoff.
            waited.range(..Duration::from_secs(1)).map(|(_, n)| n).sum()
        };
        if got < *n {
            return fail(format!(
                "GitHub asked {n} time(s) to wait {v:?} and the request was sent again, but the client waited so {got} time(s) (waits {:?})",
                round.waits
            ));
        }
    }
    let family: u64 = waited
        .iter()
        .filter(|(w, _)| unstated_wait(**w))
        .map(|(_, n)| n)
        .sum();
    if family < unstated_owed {
        return fail(format!(
            "{unstated_owed} rate limit(s) without retry-after were sent again, but the client waited a minute (or its doubling) only {family} time(s) (waits {:?})",
            round.waits
        ));
    }
    Ok(matched)
}

/// After the faults: the final seats match seats.yaml (rules written out
/// independently of the planner).
pub(crate) fn check_final<S: Scope>(
    s: &Scenario,
    want: &Want,
    st: &SimState,
) -> Result<(), String> {
    let h = S::holdings(st);
    for u in &want.listed {
        if !S::eligible(want, st, u) || holds(&h, u) || S::idle_removable(want, st, u, s.today) {
            continue;
        }
        return Err(format!("listed user `{u}` holds no seat at the end"));
    }
    let selected = S::selected_teams(st);
    for t in &want.teams {
        let key = S::team_key(t);
        let members = st.effective_members(S::team_kind(), &key);
        if members.is_empty() {
            continue;
        }
        if !selected.contains(&key) {
            return Err(format!("team `{t}` is not selected at the end"));
        }
        if let Some(m) = members.iter().find(|m| !holds(&h, &lower(m))) {
            return Err(format!("`{m}` of team `{t}` holds no seat at the end"));
        }
    }
    if want.additive {
        return Ok(());
    }
    let desired: BTreeSet<String> = want.teams.iter().map(|t| S::team_key(t)).collect();
    for t in &selected {
        if !st.effective_members(S::team_kind(), t).is_empty() && !desired.contains(t) {
            return Err(format!("team `{t}` still selected at the end"));
        }
    }
    for (l, x) in &h {
        if !x.direct || want.protected.contains(l) {
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
        if S::idle_must_go(want, st, l, s.today) {
            return Err(format!("idle `{l}` still holds a direct seat at the end"));
        }
    }
    Ok(())
}
