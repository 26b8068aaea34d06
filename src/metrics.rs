//! The controller's Prometheus metrics (prefix `seatkeeper_`), exactly the set
//! in DESIGN.md "Metrics", served as OpenMetrics text on `/metrics`.
//!
//! Labels are bounded: an org (or enterprise) name, fixed words for results
//! and actions, and GitHub route templates. Never a login or a team slug, so
//! the series count does not grow with the roster.
//!
//! Shape after kube-rs/controller-rs: one struct of metric families,
//! registered once, updated by the reconciler through small methods.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::github::client::ClientStats;
use crate::plan::Action;
use crate::plan::budgets::BudgetAction;
use crate::reconcile::Outcome;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets of `reconcile_duration_seconds`: a small org reconciles in well
/// under a second, 100k seats with many writes in minutes.
const DURATION_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// `{org}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrgLabels {
    /// The org or enterprise name (or the source, before any file was read).
    pub org: String,
}

/// `{org, result}` of `reconcile_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// The org.
    pub org: String,
    /// `success`, `error` or `guarded`.
    pub result: &'static str,
}

/// `{org, state}` of `seats`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SeatLabels {
    /// The org.
    pub org: String,
    /// `active` or `pending_cancellation`.
    pub state: &'static str,
}

/// `{org, scope}` of `budget_dollars`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BudgetLabels {
    /// The org.
    pub org: String,
    /// `multi_user_customer`, `user` or `listed_total`.
    pub scope: &'static str,
}

/// `{org, action}` of `drift`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DriftLabels {
    /// The org.
    pub org: String,
    /// `add` or `remove`.
    pub action: &'static str,
}

/// `{org, action, result}` of `changes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChangeLabels {
    /// The org.
    pub org: String,
    /// `add_user`, `remove_user`, `add_team` or `remove_team`.
    pub action: &'static str,
    /// `ok` or `failed`.
    pub result: &'static str,
}

/// `{method, route, status}` of `github_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

/// `{version}` of `build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type HistogramFamily = Family<OrgLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Where `github_requests_total` and `github_rate_limit_remaining` come
/// from: read at every scrape (the client keeps the counters).
pub type StatsFn = Arc<dyn Fn() -> ClientStats + Send + Sync>;

/// The metric set and the registry that encodes it.
pub struct Metrics {
    registry: Registry,
    reconcile_total: Family<ReconcileLabels, Counter>,
    reconcile_duration: HistogramFamily,
    last_success: Family<OrgLabels, Gauge<f64, AtomicU64>>,
    seats: Family<SeatLabels, Gauge>,
    desired_seats: Family<OrgLabels, Gauge>,
    billed_seats: Family<OrgLabels, Gauge>,
    drift: Family<DriftLabels, Gauge>,
    changes_total: Family<ChangeLabels, Counter>,
    inactive_seats: Family<OrgLabels, Gauge>,
    seat_cost: Family<OrgLabels, Gauge>,
    ai_credits_used: Family<OrgLabels, Gauge>,
    desired_state_valid: Family<OrgLabels, Gauge>,
    listing_incomplete: Family<OrgLabels, Gauge>,
    budget_dollars: Family<BudgetLabels, Gauge>,
    /// `leader` and `leader_transitions` (updated by the elector).
    pub leader: crate::leader::LeaderMetrics,
    points_reconcile: Family<OrgLabels, Gauge>,
    points_hour: Gauge,
    budget_hour: Gauge,
    next_allowed: Family<OrgLabels, Gauge<f64, AtomicU64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Exports the GitHub client's counters at scrape time, so the metric is
/// exactly the client's count (no delta bookkeeping that could drift).
struct GitHubCollector {
    stats: StatsFn,
}

impl std::fmt::Debug for GitHubCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GitHubCollector")
    }
}

impl Collector for GitHubCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = (self.stats)();
        {
            let counter = ConstCounter::new(0u64);
            let mut family = encoder.encode_descriptor(
                "github_requests",
                "GitHub API responses by method, route template and status (0: no response).",
                None,
                counter.metric_type(),
            )?;
            for ((method, route, status), n) in &stats.requests {
                let labels = RequestLabels {
                    method: method.clone(),
                    route: route.clone(),
                    status: status.to_string(),
                };
                ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
            }
        }
        let gauge = ConstGauge::new(stats.rate_limit_remaining.unwrap_or(0) as i64);
        let metric = encoder.encode_descriptor(
            "github_rate_limit_remaining",
            "The last x-ratelimit-remaining GitHub reported.",
            None,
            gauge.metric_type(),
        )?;
        // No sample before GitHub has reported one: 0 would look like an
        // exhausted limit.
        if stats.rate_limit_remaining.is_some() {
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// A registry holding the whole set; `stats` feeds the GitHub metrics.
    pub fn new(stats: StatsFn) -> Metrics {
        let mut registry = Registry::with_prefix("seatkeeper");
        let m = Metrics {
            registry: Registry::default(),
            reconcile_total: Family::default(),
            reconcile_duration: Family::new_with_constructor(duration_histogram),
            last_success: Family::default(),
            seats: Family::default(),
            desired_seats: Family::default(),
            billed_seats: Family::default(),
            drift: Family::default(),
            changes_total: Family::default(),
            inactive_seats: Family::default(),
            seat_cost: Family::default(),
            ai_credits_used: Family::default(),
            desired_state_valid: Family::default(),
            listing_incomplete: Family::default(),
            budget_dollars: Family::default(),
            leader: crate::leader::LeaderMetrics::default(),
            points_reconcile: Family::default(),
            points_hour: Gauge::default(),
            budget_hour: Gauge::default(),
            next_allowed: Family::default(),
        };
        registry.register(
            "reconcile",
            "Reconciles by org and result (success, error, guarded)",
            m.reconcile_total.clone(),
        );
        registry.register_with_unit(
            "reconcile_duration",
            "How long a reconcile took, source read to last write",
            Unit::Seconds,
            m.reconcile_duration.clone(),
        );
        registry.register_with_unit(
            "last_success_timestamp",
            "Unix time of the last successful reconcile",
            Unit::Seconds,
            m.last_success.clone(),
        );
        registry.register(
            "seats",
            "Copilot seats in the listing read by the last reconcile, by state",
            m.seats.clone(),
        );
        registry.register(
            "desired_seats",
            "Seats the desired state asks for (held after a full apply)",
            m.desired_seats.clone(),
        );
        registry.register(
            "billed_seats",
            "Seats billed this cycle in the listing read by the last reconcile (a seat removed mid-cycle is billed until the cycle ends)",
            m.billed_seats.clone(),
        );
        registry.register(
            "drift",
            "Changes still needed after the last reconcile, by add or remove",
            m.drift.clone(),
        );
        registry.register(
            "changes",
            "Seat changes written, by action and result (ok, failed)",
            m.changes_total.clone(),
        );
        registry.register(
            "inactive_seats",
            "Seats idle longer than policy.inactivity.days",
            m.inactive_seats.clone(),
        );
        registry.register(
            "seat_cost_dollars_monthly",
            "Monthly price of the seats held in the last listing, US dollars (list prices or --seat-price)",
            m.seat_cost.clone(),
        );
        registry.register(
            "ai_credits_used",
            "AI credits used this month by the org or enterprise, from the billing usage report (read at most hourly)",
            m.ai_credits_used.clone(),
        );
        registry.register(
            "desired_state_valid",
            "1 when the last read of the org's seats.yaml was valid, else 0",
            m.desired_state_valid.clone(),
        );
        registry.register(
            "listing_incomplete",
            "1 when the last reconcile's seat listing could not be proven whole: adds only, every removal and the seat cap held",
            m.listing_incomplete.clone(),
        );
        registry.register(
            "budget_dollars",
            "Copilot AI-credit budgets in whole US dollars a month: the universal one, the individual ones' sum, and the listed users' total",
            m.budget_dollars.clone(),
        );
        registry.register(
            "github_points_reconcile",
            "GitHub primary rate-limit points the last reconcile spent (a 304 costs none)",
            m.points_reconcile.clone(),
        );
        registry.register(
            "github_points_hour",
            "GitHub primary rate-limit points spent by the reconciles finished in the past hour",
            m.points_hour.clone(),
        );
        registry.register(
            "rate_budget_points_hour",
            "Points per hour the rate budget allows: --rate-budget of the token's x-ratelimit-limit",
            m.budget_hour.clone(),
        );
        registry.register_with_unit(
            "next_reconcile_allowed_timestamp",
            "Unix time from which the rate budget lets the org's next reconcile start (now or earlier: it may start at once)",
            Unit::Seconds,
            m.next_allowed.clone(),
        );
        registry.register(
            "build",
            "The seatkeeper version",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        m.leader.register(&mut registry);
        registry.register_collector(Box::new(GitHubCollector { stats }));
        Metrics { registry, ..m }
    }

    /// The OpenMetrics text of every metric (serve with [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Record the AI credits `org` used this month.
    pub fn set_ai_credits_used(&self, org: &str, credits: u64) {
        self.ai_credits_used
            .get_or_create(&org_labels(org))
            .set(credits as i64);
    }

    /// Record the rate budget after a reconcile of `org` that spent
    /// `points`: the past hour's spend and the hourly allowance.
    pub fn observe_points(&self, org: &str, points: u64, hour: u64, allowance: u64) {
        self.points_reconcile
            .get_or_create(&org_labels(org))
            .set(points as i64);
        self.points_hour.set(hour as i64);
        self.budget_hour.set(allowance as i64);
    }

    /// Record when `org`'s next reconcile may start (Unix seconds).
    pub fn set_next_allowed(&self, org: &str, unix_seconds: f64) {
        self.next_allowed
            .get_or_create(&org_labels(org))
            .set(unix_seconds);
    }

    /// Record whether `org`'s desired state was readable and valid.
    pub fn set_valid(&self, org: &str, valid: bool) {
        self.desired_state_valid
            .get_or_create(&org_labels(org))
            .set(i64::from(valid));
    }

    /// Count one reconcile that ended with `result` after `seconds`.
    pub fn observe_reconcile(&self, org: &str, result: &'static str, seconds: f64) {
        self.reconcile_total
            .get_or_create(&ReconcileLabels {
                org: org.to_string(),
                result,
            })
            .inc();
        self.reconcile_duration
            .get_or_create(&org_labels(org))
            .observe(seconds);
        if result == "success" {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.last_success.get_or_create(&org_labels(org)).set(now);
        }
    }

    /// Record what a reconcile saw and did: seats, desired seats, remaining
    /// drift, idle seats and the changes written.
    pub fn observe_outcome(&self, org: &str, outcome: &Outcome) {
        let seat = |state| SeatLabels {
            org: org.to_string(),
            state,
        };
        self.seats
            .get_or_create(&seat("active"))
            .set(outcome.seats_active as i64);
        self.seats
            .get_or_create(&seat("pending_cancellation"))
            .set(outcome.seats_pending as i64);
        self.desired_seats
            .get_or_create(&org_labels(org))
            .set(outcome.plan.seats_after as i64);
        self.billed_seats
            .get_or_create(&org_labels(org))
            .set(outcome.plan.billed_before as i64);
        self.inactive_seats
            .get_or_create(&org_labels(org))
            .set(outcome.plan.inactive.len() as i64);
        if let Some(cost) = &outcome.plan.cost {
            self.seat_cost
                .get_or_create(&org_labels(org))
                .set(cost.monthly_before as i64);
        }
        if let Some(b) = &outcome.plan.budgets {
            // What GitHub holds now: the plan's "after" once every write landed.
            let applied = outcome.status == crate::reconcile::Status::Applied;
            let pick = |before: u64, after: u64| if applied { after } else { before };
            for (scope, dollars) in [
                (
                    "multi_user_customer",
                    pick(b.default_before.unwrap_or(0), b.default_after.unwrap_or(0)),
                ),
                (
                    "user",
                    pick(b.individual_dollars_before, b.individual_dollars_after),
                ),
                ("listed_total", pick(b.total_before, b.total_after)),
            ] {
                self.budget_dollars
                    .get_or_create(&BudgetLabels {
                        org: org.to_string(),
                        scope,
                    })
                    .set(dollars as i64);
            }
        }

        self.listing_incomplete
            .get_or_create(&org_labels(org))
            .set(i64::from(outcome.plan.partial.is_some()));
        // Drift is what is still to do: planned changes minus those applied,
        // plus what an incomplete listing held.
        let (mut add, mut remove) = outcome.plan.partial.as_ref().map_or((0, 0), |p| {
            (p.held_adds.len() as i64, p.held_removals.len() as i64)
        });
        for c in &outcome.plan.changes {
            if c.action.is_removal() {
                remove += 1;
            } else {
                add += 1;
            }
        }
        for r in &outcome.results {
            let action = r.action.as_str();
            // `skipped` changes were not written: not counted.
            if matches!(r.result, "ok" | "failed") {
                self.changes_total
                    .get_or_create(&ChangeLabels {
                        org: org.to_string(),
                        action,
                        result: r.result,
                    })
                    .inc();
            }
            if r.result == "ok" {
                if r.action.is_removal() {
                    remove -= 1;
                } else {
                    add -= 1;
                }
            }
        }
        // Budget writes count beside the seat writes (`add_budget`, ...).
        for r in &outcome.budget_results {
            if matches!(r.result, "ok" | "failed") {
                self.changes_total
                    .get_or_create(&ChangeLabels {
                        org: org.to_string(),
                        action: r.action.as_str(),
                        result: r.result,
                    })
                    .inc();
            }
        }
        for (action, n) in [("add", add), ("remove", remove)] {
            self.drift
                .get_or_create(&DriftLabels {
                    org: org.to_string(),
                    action,
                })
                .set(n.max(0));
        }
        // Make every change series exist from the first reconcile, so a
        // rate() over it starts at 0 rather than at the first change.
        for action in [
            Action::AddUser,
            Action::RemoveUser,
            Action::AddTeam,
            Action::RemoveTeam,
        ] {
            for result in ["ok", "failed"] {
                let _ = self.changes_total.get_or_create(&ChangeLabels {
                    org: org.to_string(),
                    action: action.as_str(),
                    result,
                });
            }
        }
        // The budget series only where seats.yaml manages budgets.
        if outcome.plan.budgets.is_some() {
            for action in [
                BudgetAction::AddBudget,
                BudgetAction::UpdateBudget,
                BudgetAction::RemoveBudget,
            ] {
                for result in ["ok", "failed"] {
                    let _ = self.changes_total.get_or_create(&ChangeLabels {
                        org: org.to_string(),
                        action: action.as_str(),
                        result,
                    });
                }
            }
        }
    }
}

fn org_labels(org: &str) -> OrgLabels {
    OrgLabels {
        org: org.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_content() {
        let m = Metrics::new(Arc::new(|| {
            let mut s = ClientStats::default();
            s.requests.insert(
                (
                    "GET".into(),
                    "/orgs/{org}/copilot/billing/seats".into(),
                    200,
                ),
                3,
            );
            s.rate_limit_remaining = Some(4990);
            s
        }));
        m.set_valid("acme", true);
        m.observe_reconcile("acme", "success", 0.2);
        let text = m.encode();
        for want in [
            "# TYPE seatkeeper_reconcile counter",
            "seatkeeper_reconcile_total{org=\"acme\",result=\"success\"} 1",
            "# UNIT seatkeeper_reconcile_duration_seconds seconds",
            "seatkeeper_reconcile_duration_seconds_count{org=\"acme\"} 1",
            "seatkeeper_last_success_timestamp_seconds{org=\"acme\"} ",
            "seatkeeper_desired_state_valid{org=\"acme\"} 1",
            "seatkeeper_build_info{version=\"",
            "seatkeeper_github_requests_total{method=\"GET\",route=\"/orgs/{org}/copilot/billing/seats\",status=\"200\"} 3",
            "seatkeeper_github_rate_limit_remaining 4990",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn no_rate_limit_sample_before_github_answers() {
        let m = Metrics::new(Arc::new(ClientStats::default));
        let text = m.encode();
        assert!(text.contains("# TYPE seatkeeper_github_rate_limit_remaining gauge"));
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("seatkeeper_github_rate_limit_remaining")),
            "{text}"
        );
    }
}
