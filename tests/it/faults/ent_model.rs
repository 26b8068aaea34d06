//! Enterprise scenarios: the shapes, and the listings as the oracles read them from the simulator.

use super::*;

// ---------------------------------------------------------------------------
// Enterprise scope, as users run it: production concurrency (4 pages, 8
// look-ups), several organizations, enterprise teams and direct grants, one
// listing entry per grant, and seats that change while the pages are read:
// a seat added or removed after page 2 or 3, and a net-zero change (one
// holder out, one in: every count stays equal).
//
// `SEATKEEPER_ENTERPRISE_FAULT_SCENARIOS=N` sets the number of scenarios
// (default 300) and `SEATKEEPER_ENTERPRISE_FAULT_SEED=N` replays one with a
// trace. Pages and look-ups go concurrently, so a seed replays the same
// enterprise, seats.yaml and faults, while which request an error rate hits
// may differ from run to run.

pub(crate) const ENT: &str = "octo-corp";
pub(crate) const DEFAULT_ENT_SCENARIOS: u64 = 300;
/// Simulators serving enterprise scenarios at once: more than for orgs, as
/// a net-zero change waits up to a second for the clock (idle time).
pub(crate) const ENT_WORKERS: u64 = 8;

/// How the seats change while the listing is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Churn {
    /// A new holder gets a direct enterprise seat, the last entry (total + 1).
    Added,
    /// An organization grants a new holder a seat, mid-listing (total + 1).
    AddedByOrg,
    /// A holder whose every grant is the enterprise's loses them all (total − 1).
    Removed,
    /// One such holder out, a new one in a later second: every count stays equal.
    NetZero,
}

pub(crate) struct EntScenario {
    pub(crate) seed: u64,
    pub(crate) today: NaiveDate,
    pub(crate) state: SimState,
    pub(crate) yaml: String,
    pub(crate) per_page: usize,
    pub(crate) rates: Vec<ErrorRate>,
    pub(crate) scripts: Vec<ScriptedFault>,
    pub(crate) rejected: Vec<String>,
    /// The change while paging, and the fault actions that make it.
    pub(crate) churn: Option<(Churn, Vec<FaultAction>)>,
    pub(crate) stop_after_writes: Option<usize>,
    pub(crate) faulty_rounds: usize,
    pub(crate) batch_size: usize,
    pub(crate) client_batch_size: usize,
    pub(crate) max_attempts: u32,
    pub(crate) request_timeout: Duration,
    pub(crate) missing_team: bool,
    pub(crate) summary: Vec<String>,
}

/// An enterprise team slug as compared: `ent:` prefix, lowercase.
pub(crate) fn ent_key(slug: &str) -> String {
    let s = lower(slug);
    match s.strip_prefix("ent:") {
        Some(rest) => format!("ent:{rest}"),
        None => format!("ent:{s}"),
    }
}

/// Every listing entry of `st`, by holder (lowercase): the grant in the
/// words `Grant::describe` uses, `pending DATE` appended when pending. An
/// oracle written from the simulator's state, not from the client's fold.
pub(crate) fn holdings(st: &SimState) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut put = |s: &SimSeat, grant: String| {
        let g = match s.pending_cancellation_date {
            Some(d) => format!("{grant} pending {d}"),
            None => grant,
        };
        out.entry(lower(&s.login)).or_default().insert(g);
    };
    let by_org = |org: &str, s: &SimSeat| match &s.assigning_team {
        Some(t) => format!("org {org} (team {})", t.slug),
        None => format!("org {org}"),
    };
    for s in &st.seats {
        put(s, by_org(&st.org, s));
    }
    for o in &st.orgs {
        for s in &o.seats {
            put(s, by_org(&o.login, s));
        }
    }
    for s in &st.enterprise_seats {
        let g = match &s.assigning_team {
            Some(t) => format!("team {}", t.slug),
            None => "a direct grant".to_string(),
        };
        put(s, g);
    }
    out
}

/// The client's listing in the same words.
pub(crate) fn holdings_of(live: &LiveState) -> BTreeMap<String, BTreeSet<String>> {
    live.users
        .iter()
        .map(|u| {
            let grants = u
                .grants
                .iter()
                .map(|g| match g.pending_cancellation_date {
                    Some(d) => format!("{} pending {d}", g.grant.describe()),
                    None => g.grant.describe(),
                })
                .collect();
            (lower(&u.login), grants)
        })
        .collect()
}

pub(crate) fn holds(h: &BTreeMap<String, BTreeSet<String>>, login: &str) -> bool {
    h.get(login)
        .is_some_and(|g| g.iter().any(|g| !g.contains(" pending ")))
}

/// The listings that existed during a round: before it, and after each
/// step of the change made while paging.
pub(crate) fn snapshots(
    pre: &SimState,
    churn: Option<&[FaultAction]>,
) -> Vec<BTreeMap<String, BTreeSet<String>>> {
    let mut h = holdings(pre);
    let mut out = vec![h.clone()];
    for action in churn.unwrap_or(&[]) {
        match action {
            FaultAction::GrantEnterpriseSeatAfter { login, .. } => {
                h.entry(lower(login))
                    .or_default()
                    .insert("a direct grant".into());
            }
            FaultAction::InsertSeatAfter(login) => {
                h.entry(lower(login))
                    .or_default()
                    .insert(format!("org {}", pre.org));
            }
            FaultAction::RemoveEnterpriseSeatsAfter(login) => {
                if let Some(g) = h.get_mut(&lower(login)) {
                    g.retain(|g| g.starts_with("org "));
                    if g.is_empty() {
                        h.remove(&lower(login));
                    }
                }
            }
            _ => {}
        }
        out.push(h.clone());
    }
    out
}
