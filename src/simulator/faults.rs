//! Fault injection: per-route error rates drawn from a seeded RNG (so runs
//! replay), scripted faults on the k-th matching request, logins refused by
//! writes, and a log of every fault injected.
//!
//! Routes are matched by pattern: `"*"` (every request), a route template as
//! axum registers it (`"/orgs/{org}/copilot/billing/seats"`, see
//! [`super::routes`]), or a method and a template (`"DELETE
//! /orgs/{org}/copilot/billing/selected_users"`, `"POST *"`).
//!
//! A fault that answers an error (or drops the connection) replaces the
//! handler, so a faulted write never applies.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What a scripted fault does to the request it fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer this status instead of running the handler, with a GitHub error
    /// body and extra headers (e.g. `retry-after`).
    Status {
        /// HTTP status.
        status: u16,
        /// Extra response headers.
        headers: Vec<(String, String)>,
        /// The error body's `message` (a default per status otherwise).
        message: Option<String>,
    },
    /// Wait this long before answering normally.
    Latency(Duration),
    /// Close the socket without answering.
    Drop,
    /// Answer normally, then (when the answer was 2xx) add a seat for this
    /// login, e.g. to change `total_seats` between two pages of a listing.
    InsertSeatAfter(String),
    /// Answer normally, then (when the answer was 2xx) remove this login's
    /// seat, or the first seat when `None`.
    RemoveSeatAfter(Option<String>),
    /// Answer normally, then (when the answer was 2xx) grant this login a
    /// direct enterprise seat, the last entry of the enterprise listing (an
    /// enterprise member from then on). With `later_second` the grant first
    /// waits for the clock's next second, so its `created_at` is later than
    /// the `Date` of every page served before it: both have one-second
    /// resolution, and a grant within page 1's second cannot be told from
    /// one made before page 1.
    GrantEnterpriseSeatAfter {
        /// The new holder.
        login: String,
        /// Wait for the next second first.
        later_second: bool,
    },
    /// Answer normally, then (when the answer was 2xx) remove every
    /// enterprise-level entry (direct or enterprise team) of this login.
    RemoveEnterpriseSeatsAfter(String),
    /// Answer normally, then (when the answer was 2xx) commit `content` at
    /// `path` on `branch`, as someone else would: e.g. to move a file between
    /// a client's read and its write.
    CommitAfter {
        /// `owner/name`.
        repo: String,
        /// The branch.
        branch: String,
        /// The file.
        path: String,
        /// Its new content.
        content: String,
    },
}

impl FaultAction {
    /// Answer `status` with a default message.
    pub fn status(status: u16) -> FaultAction {
        FaultAction::Status {
            status,
            headers: Vec::new(),
            message: None,
        }
    }

    /// Answer `status` with a `retry-after: secs` header.
    pub fn status_with_retry_after(status: u16, secs: u64) -> FaultAction {
        FaultAction::Status {
            status,
            headers: vec![("retry-after".to_string(), secs.to_string())],
            message: None,
        }
    }

    fn describe(&self) -> String {
        match self {
            FaultAction::Status { status, .. } => format!("status {status}"),
            FaultAction::Latency(d) => format!("latency {} ms", d.as_millis()),
            FaultAction::Drop => "drop connection".to_string(),
            FaultAction::InsertSeatAfter(l) => format!("insert seat {l} after response"),
            FaultAction::RemoveSeatAfter(l) => format!(
                "remove seat {} after response",
                l.as_deref().unwrap_or("<first>")
            ),
            FaultAction::GrantEnterpriseSeatAfter { login, .. } => {
                format!("grant enterprise seat {login} after response")
            }
            FaultAction::RemoveEnterpriseSeatsAfter(l) => {
                format!("remove enterprise seats of {l} after response")
            }
            FaultAction::CommitAfter {
                repo, branch, path, ..
            } => {
                format!("commit {path} on {repo}@{branch} after response")
            }
        }
    }
}

/// A fault that fires on the `nth` request matching `route` (1-based,
/// counted from when it was added) and on the `times - 1` matching requests
/// after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedFault {
    /// Route pattern (see the module docs).
    pub route: String,
    /// The first matching request it fires on (1-based).
    pub nth: u64,
    /// How many consecutive matching requests it fires on (at least 1).
    pub times: u64,
    /// What it does.
    pub action: FaultAction,
}

/// Answer `status` on a fraction of matching requests, drawn from the seeded RNG.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRate {
    /// Route pattern (see the module docs).
    pub route: String,
    /// HTTP status to answer.
    pub status: u16,
    /// Probability in 0..=1.
    pub probability: f64,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
}

/// One fault that fired, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFault {
    /// The request's sequence number (as in `RecordedRequest::seq`).
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// The matched route template.
    pub route: String,
    /// What was done, e.g. `status 502`.
    pub what: String,
}

#[derive(Debug)]
struct Scripted {
    fault: ScriptedFault,
    seen: u64,
}

#[derive(Debug)]
struct Inner {
    seed: u64,
    rng: SplitMix64,
    rates: Vec<ErrorRate>,
    scripted: Vec<Scripted>,
    rejected_logins: BTreeSet<String>,
    injected: Vec<InjectedFault>,
}

/// A handle on the simulator's faults; cheap to clone, shared with the server.
#[derive(Debug, Clone)]
pub struct FaultHandle {
    inner: Arc<Mutex<Inner>>,
}

/// What the server must do to one request.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub latency: Duration,
    pub outcome: Option<Outcome>,
    pub after: Vec<FaultAction>,
}

/// A fault that replaces the handler.
#[derive(Debug)]
pub(crate) enum Outcome {
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        message: Option<String>,
    },
    Drop,
}

/// Does `pattern` match a request?
pub(crate) fn route_matches(pattern: &str, method: &str, route: &str) -> bool {
    let pattern = pattern.trim();
    let (m, template) = match pattern.split_once(' ') {
        Some((m, t)) => (Some(m), t.trim()),
        None => (None, pattern),
    };
    m.is_none_or(|m| m.eq_ignore_ascii_case(method)) && (template == "*" || template == route)
}

impl FaultHandle {
    pub(crate) fn new(seed: u64) -> FaultHandle {
        FaultHandle {
            inner: Arc::new(Mutex::new(Inner {
                seed,
                rng: SplitMix64(seed),
                rates: Vec::new(),
                scripted: Vec::new(),
                rejected_logins: BTreeSet::new(),
                injected: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-seed the RNG behind error rates (the same seed and the same request
    /// sequence give the same faults).
    pub fn seed(&self, seed: u64) {
        let mut g = self.lock();
        g.seed = seed;
        g.rng = SplitMix64(seed);
    }

    /// Answer `status` on a `probability` fraction of requests matching `route`.
    pub fn error_rate(&self, route: &str, status: u16, probability: f64) {
        self.add_error_rate(ErrorRate {
            route: route.to_string(),
            status,
            probability,
            headers: Vec::new(),
        });
    }

    /// Add a fully specified error rate.
    pub fn add_error_rate(&self, rate: ErrorRate) {
        self.lock().rates.push(rate);
    }

    /// Do `action` on the `nth` request matching `route` (1-based, counted
    /// from now), once.
    pub fn on_request(&self, route: &str, nth: u64, action: FaultAction) {
        self.script(ScriptedFault {
            route: route.to_string(),
            nth,
            times: 1,
            action,
        });
    }

    /// Add a fully specified scripted fault.
    pub fn script(&self, fault: ScriptedFault) {
        self.lock().scripted.push(Scripted { fault, seen: 0 });
    }

    /// Make every write (`POST`/`DELETE` of `selected_users`) naming one of
    /// these logins fail with 422, naming them; nothing of that request applies.
    pub fn reject_logins<I, S>(&self, logins: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut g = self.lock();
        for l in logins {
            g.rejected_logins.insert(l.as_ref().to_ascii_lowercase());
        }
    }

    /// The rejected logins among `logins` (as sent).
    pub(crate) fn rejected_among(&self, logins: &[String]) -> Vec<String> {
        let g = self.lock();
        logins
            .iter()
            .filter(|l| g.rejected_logins.contains(&l.to_ascii_lowercase()))
            .cloned()
            .collect()
    }

    /// Remove every fault and rejected login, and reset the RNG to its seed.
    /// The injected-fault log is kept.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.rates.clear();
        g.scripted.clear();
        g.rejected_logins.clear();
        g.rng = SplitMix64(g.seed);
    }

    /// Every fault injected so far, in order.
    pub fn injected(&self) -> Vec<InjectedFault> {
        self.lock().injected.clone()
    }

    /// Decide the faults of one request. Every scripted fault matching the
    /// route counts the request; every matching error rate draws once.
    pub(crate) fn decide(&self, seq: u64, method: &str, route: &str) -> Decision {
        let mut g = self.lock();
        let mut d = Decision::default();
        let mut fired = Vec::new();
        for s in g.scripted.iter_mut() {
            if !route_matches(&s.fault.route, method, route) {
                continue;
            }
            s.seen += 1;
            let first = s.fault.nth.max(1);
            if s.seen < first || s.seen >= first + s.fault.times.max(1) {
                continue;
            }
            let action = s.fault.action.clone();
            match &action {
                FaultAction::Latency(l) => d.latency += *l,
                FaultAction::Status {
                    status,
                    headers,
                    message,
                } if d.outcome.is_none() => {
                    d.outcome = Some(Outcome::Status {
                        status: *status,
                        headers: headers.clone(),
                        message: message.clone(),
                    })
                }
                FaultAction::Drop if d.outcome.is_none() => d.outcome = Some(Outcome::Drop),
                FaultAction::InsertSeatAfter(_)
                | FaultAction::RemoveSeatAfter(_)
                | FaultAction::GrantEnterpriseSeatAfter { .. }
                | FaultAction::RemoveEnterpriseSeatsAfter(_)
                | FaultAction::CommitAfter { .. } => d.after.push(action.clone()),
                _ => continue,
            }
            fired.push(action.describe());
        }
        let mut draws = Vec::new();
        for (i, r) in g.rates.iter().enumerate() {
            if route_matches(&r.route, method, route) {
                draws.push(i);
            }
        }
        for i in draws {
            let x = g.rng.next_f64();
            let r = &g.rates[i];
            if x < r.probability && d.outcome.is_none() {
                d.outcome = Some(Outcome::Status {
                    status: r.status,
                    headers: r.headers.clone(),
                    message: None,
                });
                fired.push(format!("status {} (error rate)", r.status));
            }
        }
        for what in fired {
            g.injected.push(InjectedFault {
                seq,
                method: method.to_string(),
                route: route.to_string(),
                what,
            });
        }
        d
    }
}

/// SplitMix64: tiny, seedable, and stable across versions, so a seed replays
/// the same faults forever (rand's `StdRng` makes no such promise).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEATS: &str = "/orgs/{org}/copilot/billing/seats";

    #[test]
    fn patterns() {
        assert!(route_matches("*", "GET", SEATS));
        assert!(route_matches(SEATS, "GET", SEATS));
        assert!(route_matches(
            "get /orgs/{org}/copilot/billing/seats",
            "GET",
            SEATS
        ));
        assert!(!route_matches(
            "POST /orgs/{org}/copilot/billing/seats",
            "GET",
            SEATS
        ));
        assert!(route_matches("POST *", "POST", "/x"));
        assert!(!route_matches("/x", "GET", SEATS));
    }

    #[test]
    fn scripted_fires_on_nth_for_times() {
        let f = FaultHandle::new(1);
        f.script(ScriptedFault {
            route: SEATS.into(),
            nth: 2,
            times: 2,
            action: FaultAction::status(502),
        });
        let fired: Vec<bool> = (0..5)
            .map(|i| f.decide(i, "GET", SEATS).outcome.is_some())
            .collect();
        assert_eq!(fired, [false, true, true, false, false]);
        // Other routes do not count.
        assert!(f.decide(9, "GET", "/rate_limit").outcome.is_none());
        assert_eq!(f.injected().len(), 2);
    }

    #[test]
    fn error_rates_replay_with_the_same_seed() {
        let run = |seed| {
            let f = FaultHandle::new(seed);
            f.error_rate("*", 500, 0.3);
            (0..200)
                .map(|i| f.decide(i, "GET", SEATS).outcome.is_some())
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let hits = a.iter().filter(|x| **x).count();
        assert!((30..90).contains(&hits), "{hits}");
    }

    #[test]
    fn clear_removes_everything() {
        let f = FaultHandle::new(1);
        f.error_rate("*", 500, 1.0);
        f.reject_logins(["Bob"]);
        assert_eq!(f.rejected_among(&["bob".into(), "al".into()]), ["bob"]);
        f.clear();
        assert!(f.decide(0, "GET", SEATS).outcome.is_none());
        assert!(f.rejected_among(&["bob".into()]).is_empty());
    }
}
