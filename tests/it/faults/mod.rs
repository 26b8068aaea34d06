//! Randomized fault scenarios, written once for both scopes: seeded random
//! organizations (tests/it/faults/org.rs) and enterprises
//! (tests/it/faults/enterprise.rs) behind one [`scope::Scope`] trait, with
//! seats.yaml files reconciled against the simulator while it fails in every
//! way it can (5xx, timeouts, 403/429 with `retry-after`, 429 without,
//! 401/403/404, 422 on chosen logins, dropped connections, seats changed
//! between pages, a reconcile stopped mid-apply), then with the faults gone.
//!
//! After every reconcile, from the simulator's recorded requests and its
//! state before and after (checks.rs):
//! - every write names only what the plan names, goes only to the scope's
//!   seat routes, and nothing is written for a guarded or suspended plan, or
//!   when the reconcile failed (an incomplete listing, a missing team, ...);
//! - no protected seat, nor one held only through a team, is ever sent to
//!   `DELETE selected_users`, and `removals: additive` sends no DELETE at all;
//! - every seat that went away was named by the plan (as a user, or through
//!   its team); protected holders and listed users keep their seats; the
//!   seats actually removed stay within `max_removals`;
//! - a listing that changed before its last page was read is refused;
//! - a reconcile stopped mid-apply writes nothing after the stop;
//! - what the outcome reports as `ok` is what the simulator holds;
//! - every wait the client asked for before a retry (recorded through the
//!   `RetrySleep` hook, not slept) is one GitHub asked for: exactly the
//!   `retry-after` seconds of a 403/429, 60 s for a 429 without it, or a
//!   backoff under its documented ceiling; and every rate limit the client
//!   retried after was waited out.
//!
//! Once the faults stop, one reconcile reaches the desired state: the next
//! plan is empty (or still guarded, for a guarded file) and the final seats
//! match seats.yaml by rules written out here independently of the planner.
//!
//! Coverage, not just survival (run.rs): every kind of fault fired and was
//! seen by the client (the simulator's injected-fault log, its recorded
//! answers and the client's own response counters agree) a minimum number
//! of times per scope, every kind of change while paging was refused, and
//! rate-limit waits were checked; with fault injection off these fail.
//!
//! `SEATKEEPER_FAULT_SCENARIOS=N` sets the number of org scenarios (default
//! 2,000) and `SEATKEEPER_FAULT_SEED=N` replays one with a trace;
//! `SEATKEEPER_ENTERPRISE_FAULT_SCENARIOS` / `_SEED` do the same for the
//! enterprise (default 300). Org requests go one at a time, so a seed replays
//! exactly; enterprise pages and look-ups go at production concurrency, so a
//! seed replays the same enterprise, seats.yaml and faults, while which
//! request an error rate hits may differ from run to run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use secrecy::SecretString;

use seatkeeper::config::{InactivityAction, RemovalMode, Scope as ConfigScope};
use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, RetrySleep, ThrottleConfig};
use seatkeeper::github::{BillingInfo, GitHubError, Membership, SeatApi, WriteReport};
use seatkeeper::plan::{Action, LiveState, TeamKind, TeamRef};
use seatkeeper::reconcile::{Mode, Options, Outcome, Status, reconcile};
use seatkeeper::simulator::{
    ErrorRate, FaultAction, InjectedFault, RecordedRequest, ScriptedFault, SimOptions, SimOrg,
    SimSeat, SimState, SimTeam, Simulator, routes,
};
use seatkeeper::source::Loaded;

/// A scenario that takes longer is stuck (they take milliseconds).
pub(crate) const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

mod checks;
mod enterprise;
mod org;
mod round;
mod run;
mod scenario;
mod scope;

use checks::*;
use enterprise::*;
use org::*;
use round::*;
use scenario::*;
use scope::*;

// ---------------------------------------------------------------------------
// A small seeded RNG (SplitMix64): stable forever, so a seed replays.

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EA7_4EE9_0000_0000)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }

    /// The login in a random letter case: as is, upper, capitalized, or mixed.
    pub(crate) fn spell(&mut self, login: &str) -> String {
        match self.range(0, 5) {
            0 => login.to_ascii_uppercase(),
            1 => {
                let mut c = login.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
            2 => login
                .chars()
                .map(|c| {
                    if self.chance(0.5) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect(),
            _ => login.to_string(),
        }
    }
}

pub(crate) fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The start of `today` minus `days`: seat times with whole idle days.
pub(crate) fn days_ago(today: NaiveDate, days: u64) -> DateTime<Utc> {
    (today - chrono::Days::new(days))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}
