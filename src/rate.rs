//! The rate budget the controller plans by (`--rate-budget`).
//!
//! GitHub's primary limit is per token and per hour: 5,000 requests for a
//! personal access token, 15,000 for a GitHub App installation on a GitHub
//! Enterprise Cloud organization ("Rate limits for the REST API"). A `304`
//! to a conditional request does not count. The controller learns its
//! token's limit from `x-ratelimit-limit`, takes the operator's share of it,
//! and before each reconcile asks [`Budget::decide`] whether the points that
//! scope spent last time still fit in the trailing hour: if not, it waits
//! (the schedule stretches) instead of running out halfway through.
//!
//! Pure: plain values in, a decision out; the daemon owns the clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The window GitHub's primary limit is counted over.
pub const HOUR: Duration = Duration::from_secs(3600);

/// The limit assumed until GitHub reports one: a personal access token's.
pub const DEFAULT_LIMIT: u64 = 5_000;

/// The smallest `x-ratelimit-limit` taken as real: GitHub's unauthenticated
/// limit (60 an hour); below that the header is garbage.
pub const MIN_PLAUSIBLE_LIMIT: u64 = 60;

/// The largest `x-ratelimit-limit` taken as real: far above any documented
/// limit (15,000 for Enterprise Cloud Apps; GHES admins may raise theirs).
pub const MAX_PLAUSIBLE_LIMIT: u64 = 1_000_000;

/// `x-ratelimit-limit` as a plausible hourly limit, or `None` for a value
/// that is missing, not a whole number, or outside
/// [`MIN_PLAUSIBLE_LIMIT`]..=[`MAX_PLAUSIBLE_LIMIT`].
pub fn plausible_limit(header: &str) -> Option<u64> {
    let n: u64 = header.trim().parse().ok()?;
    (MIN_PLAUSIBLE_LIMIT..=MAX_PLAUSIBLE_LIMIT)
        .contains(&n)
        .then_some(n)
}

/// The operator's share of the hourly limit, `(0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share(f64);

impl Share {
    /// The fraction, `(0, 1]`.
    pub fn fraction(self) -> f64 {
        self.0
    }
}

impl Default for Share {
    fn default() -> Self {
        Share(0.5)
    }
}

impl std::str::FromStr for Share {
    type Err = String;

    /// `50%` or `0.5`.
    fn from_str(s: &str) -> Result<Share, String> {
        let t = s.trim();
        let f = match t.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
            None => t.parse::<f64>(),
        }
        .map_err(|_| format!("`{s}` is not a share: write a percentage such as 50%"))?;
        if f.is_finite() && f > 0.0 && f <= 1.0 {
            Ok(Share(f))
        } else {
            Err(format!(
                "`{s}` is not a share between 0% (excluded) and 100%"
            ))
        }
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// What [`Budget::decide`] says about starting a reconcile now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It fits: start.
    Now,
    /// Wait until then; the reason says which limit.
    Wait {
        /// The earliest instant it fits.
        until: Instant,
        /// Why.
        why: WaitReason,
    },
}

/// Which limit holds a reconcile back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// The operator's share of the hour is spent.
    Share,
    /// GitHub's own remaining points are fewer than the reconcile needs:
    /// it would run out halfway; wait for the reset.
    Remaining,
}

/// What one run of a scope spent, in primary-limit points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spend {
    /// The reconcile's own points: the estimate of the scope's next one.
    pub reconcile: u64,
    /// Points spent alongside it that the next run need not repeat (the
    /// hourly AI-credit usage read): counted in the hour, kept out of the
    /// estimate; [`Budget::decide`] is told when the next run repeats them.
    pub extra: u64,
}

impl Spend {
    /// Everything the run spent.
    pub fn total(self) -> u64 {
        self.reconcile.saturating_add(self.extra)
    }
}

/// GitHub's last word on the primary limit: points left and when it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    /// `x-ratelimit-remaining`.
    pub points: u64,
    /// The instant of `x-ratelimit-reset`.
    pub reset: Instant,
}

/// The trailing hour's spend and each scope's last cost.
#[derive(Debug, Clone)]
pub struct Budget {
    share: Share,
    limit: Option<u64>,
    /// Points spent by each finished reconcile, oldest first.
    spent: VecDeque<(Instant, u64)>,
    /// Points the last reconcile of each scope (source index) cost.
    last: HashMap<usize, u64>,
}

impl Budget {
    /// A budget of `share` of the token's hourly limit.
    pub fn new(share: Share) -> Budget {
        Budget {
            share,
            limit: None,
            spent: VecDeque::new(),
            last: HashMap::new(),
        }
    }

    /// Take the limit GitHub reported (already checked by
    /// [`plausible_limit`]); `None` keeps what is known.
    pub fn learn_limit(&mut self, limit: Option<u64>) {
        if limit.is_some() {
            self.limit = limit;
        }
    }

    /// The hourly limit planned with: GitHub's, else [`DEFAULT_LIMIT`].
    pub fn limit(&self) -> u64 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }

    /// Points per hour this controller may spend: the share of the limit.
    pub fn allowance(&self) -> u64 {
        (self.limit() as f64 * self.share.fraction()).floor() as u64
    }

    /// The last cost of `scope`, the estimate of its next reconcile.
    pub fn estimate(&self, scope: usize) -> Option<u64> {
        self.last.get(&scope).copied()
    }

    /// Points spent by reconciles finished in the hour before `now`.
    pub fn spent_in_hour(&self, now: Instant) -> u64 {
        self.spent
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) < HOUR)
            .map(|(_, p)| p)
            .sum()
    }

    /// Record a finished run of `scope` that spent `spend`: all of it
    /// counts in the hour, the reconcile's own points become its estimate.
    pub fn record(&mut self, scope: usize, now: Instant, spend: Spend) {
        self.last.insert(scope, spend.reconcile);
        self.spent.push_back((now, spend.total()));
        while let Some(&(at, _)) = self.spent.front() {
            if now.saturating_duration_since(at) >= HOUR {
                self.spent.pop_front();
            } else {
                break;
            }
        }
    }

    /// Reconciles of `scope` per hour the allowance pays for, at its last cost.
    pub fn reconciles_per_hour(&self, scope: usize) -> Option<f64> {
        let cost = self.estimate(scope)?;
        Some(if cost == 0 {
            f64::INFINITY
        } else {
            self.allowance() as f64 / cost as f64
        })
    }

    /// May a reconcile of `scope` start at `now`? Its cost is taken to be
    /// the last one's (unknown: it starts, and teaches the estimate) plus
    /// `extra`, the points the run spends beside it this time (the usage
    /// read when it is due), so a run is never started that the budget
    /// cannot pay for in full. It
    /// waits while GitHub has fewer points left than it needs (until the
    /// reset), and while the trailing hour's spend plus its cost exceeds the
    /// allowance (until enough of that spend is an hour old). A reconcile
    /// that costs more than the whole allowance runs only once the hour
    /// holds no other spend: at most once an hour, never never.
    pub fn decide(
        &self,
        scope: usize,
        now: Instant,
        remaining: Option<Remaining>,
        extra: u64,
    ) -> Decision {
        let Some(cost) = self.estimate(scope) else {
            return Decision::Now;
        };
        let cost = cost.saturating_add(extra);
        if let Some(r) = remaining
            && r.points < cost
            && r.reset > now
        {
            return Decision::Wait {
                until: r.reset,
                why: WaitReason::Remaining,
            };
        }
        let allowance = self.allowance();
        let live: Vec<(Instant, u64)> = self
            .spent
            .iter()
            .copied()
            .filter(|(at, _)| now.saturating_duration_since(*at) < HOUR)
            .collect();
        let mut spent: u64 = live.iter().map(|(_, p)| p).sum();
        let fits = |spent: u64| spent == 0 || spent.saturating_add(cost) <= allowance;
        if fits(spent) {
            return Decision::Now;
        }
        for (at, points) in live {
            spent -= points;
            if fits(spent) {
                return Decision::Wait {
                    until: at + HOUR,
                    why: WaitReason::Share,
                };
            }
        }
        // Unreachable: an empty hour always fits.
        Decision::Now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_as_percentages_or_fractions() {
        #[rustfmt::skip]
        let cases = [
            ("50%", Some(0.5)), ("100%", Some(1.0)), ("0.25", Some(0.25)), (" 12.5 % ", Some(0.125)),
            ("0%", None), ("0", None), ("150%", None), ("-5%", None), ("half", None), ("NaN", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                text.parse::<Share>().ok().map(Share::fraction),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn only_plausible_limits_are_learned() {
        #[rustfmt::skip]
        let cases = [
            ("5000", Some(5000)), ("15000", Some(15_000)), (" 60 ", Some(60)),
            ("", None), ("0", None), ("59", None), ("-1", None), ("5e3", None),
            ("18446744073709551615", None), ("1000001", None), ("lots", None),
        ];
        for (text, want) in cases {
            assert_eq!(plausible_limit(text), want, "{text:?}");
        }
        let mut b = Budget::new(Share::default());
        assert_eq!(b.limit(), DEFAULT_LIMIT, "unknown: a token's 5,000");
        b.learn_limit(Some(15_000));
        b.learn_limit(None);
        assert_eq!(
            (b.limit(), b.allowance()),
            (15_000, 7_500),
            "kept over a missing header"
        );
    }

    #[test]
    fn scheduling_decisions() {
        let t0 = Instant::now();
        let min = |m: u64| Duration::from_secs(60 * m);
        // (limit, share, history as (minutes after t0, points), decide at minute, cost, remaining, want)
        struct Case {
            name: &'static str,
            limit: u64,
            share: &'static str,
            history: Vec<(u64, u64)>,
            at: u64,
            remaining: Option<(u64, u64)>,
            want: Option<(u64, WaitReason)>,
        }
        let cases = [
            Case {
                name: "first reconcile: unknown cost starts",
                limit: 5000,
                share: "50%",
                history: vec![],
                at: 0,
                remaining: None,
                want: None,
            },
            Case {
                name: "fits the share",
                limit: 5000,
                share: "100%",
                history: vec![(0, 1000), (10, 1000)],
                at: 20,
                remaining: None,
                want: None,
            },
            // 2,500 allowed; 1,000 + 1,000 spent + 1,000 next = 3,000: wait until the first is an hour old.
            Case {
                name: "over the share: wait for the oldest spend to age out",
                limit: 5000,
                share: "50%",
                history: vec![(0, 1000), (10, 1000)],
                at: 20,
                remaining: None,
                want: Some((60, WaitReason::Share)),
            },
            Case {
                name: "a 15,000/h App at 50% pays for 1,310 points every 15 minutes",
                limit: 15000,
                share: "50%",
                history: (0..4).map(|i| (i * 15, 1310)).collect(),
                at: 60,
                remaining: None,
                want: None,
            },
            Case {
                name: "the same on a 5,000/h token waits",
                limit: 5000,
                share: "50%",
                history: vec![(0, 1310)],
                at: 10,
                remaining: None,
                want: Some((60, WaitReason::Share)),
            },
            Case {
                name: "spend older than an hour is free again",
                limit: 5000,
                share: "50%",
                history: vec![(0, 2000), (30, 400)],
                at: 61,
                remaining: None,
                want: None,
            },
            Case {
                name: "cost above the whole allowance: runs only into an empty hour",
                limit: 5000,
                share: "10%",
                history: vec![(0, 1300)],
                at: 30,
                remaining: None,
                want: Some((60, WaitReason::Share)),
            },
            Case {
                name: "cost above the whole allowance, empty hour: runs",
                limit: 5000,
                share: "10%",
                history: vec![(0, 1300)],
                at: 61,
                remaining: None,
                want: None,
            },
            Case {
                name: "GitHub has fewer points left than it costs: wait for the reset",
                limit: 5000,
                share: "100%",
                history: vec![(0, 100)],
                at: 1,
                remaining: Some((99, 45)),
                want: Some((45, WaitReason::Remaining)),
            },
            Case {
                name: "enough left",
                limit: 5000,
                share: "100%",
                history: vec![(0, 100)],
                at: 1,
                remaining: Some((100, 45)),
                want: None,
            },
            Case {
                name: "a steady state of 304s costs nothing",
                limit: 5000,
                share: "1%",
                history: (0..60).map(|i| (i, 0)).collect(),
                at: 59,
                remaining: Some((0, 60)),
                want: None,
            },
        ];
        for c in cases {
            let mut b = Budget::new(c.share.parse().unwrap());
            b.learn_limit(Some(c.limit));
            for &(m, p) in &c.history {
                b.record(
                    7,
                    t0 + min(m),
                    Spend {
                        reconcile: p,
                        extra: 0,
                    },
                );
            }
            let cost_known = !c.history.is_empty();
            let remaining = c.remaining.map(|(points, reset)| Remaining {
                points,
                reset: t0 + min(reset),
            });
            let got = b.decide(7, t0 + min(c.at), remaining, 0);
            let want = match c.want {
                None => Decision::Now,
                Some((m, why)) => Decision::Wait {
                    until: t0 + min(m),
                    why,
                },
            };
            assert_eq!(got, want, "{}", c.name);
            assert_eq!(cost_known, b.estimate(7).is_some(), "{}", c.name);
        }
    }

    #[test]
    fn spend_and_rate_figures() {
        let t0 = Instant::now();
        let mut b = Budget::new("50%".parse().unwrap());
        b.learn_limit(Some(15_000));
        let points = |reconcile| Spend {
            reconcile,
            extra: 0,
        };
        b.record(0, t0, points(1_310));
        b.record(1, t0 + Duration::from_secs(600), points(0));
        assert_eq!(b.spent_in_hour(t0 + Duration::from_secs(601)), 1_310);
        assert_eq!(b.spent_in_hour(t0 + HOUR + Duration::from_secs(1)), 0);
        let per_hour = b.reconciles_per_hour(0).unwrap();
        assert!((per_hour - 7_500.0 / 1_310.0).abs() < 1e-9);
        assert_eq!(b.reconciles_per_hour(1), Some(f64::INFINITY));
        assert_eq!(b.reconciles_per_hour(2), None);
    }

    #[test]
    fn the_usage_read_counts_in_the_hour_and_in_the_plan() {
        let t0 = Instant::now();
        let min = |m: u64| t0 + Duration::from_secs(60 * m);
        // 100% of 100: an allowance of 100 points an hour.
        let mut b = Budget::new("100%".parse().unwrap());
        b.learn_limit(Some(100));
        // A 49-point reconcile and the 1-point usage read made with it.
        b.record(
            0,
            min(0),
            Spend {
                reconcile: 49,
                extra: 1,
            },
        );
        assert_eq!(b.spent_in_hour(min(1)), 50, "the read is spent too");
        assert_eq!(b.estimate(0), Some(49), "but not repeated every run");
        // 50 spent + 49 + a due 1-point read = 100: fits exactly.
        assert_eq!(b.decide(0, min(10), None, 1), Decision::Now);
        b.record(
            0,
            min(10),
            Spend {
                reconcile: 50,
                extra: 0,
            },
        );
        // 100 spent: nothing fits until the first run ages out; then 50
        // spent + 50 fits, but not with a due read on top.
        assert_eq!(b.decide(0, min(60), None, 0), Decision::Now);
        assert_eq!(
            b.decide(0, min(60), None, 1),
            Decision::Wait {
                until: min(70),
                why: WaitReason::Share
            },
            "a reconcile and its read that the hour cannot pay for wait"
        );
        // GitHub has exactly the reconcile's points left, not the read's.
        let left = Remaining {
            points: 50,
            reset: min(90),
        };
        assert_eq!(b.decide(0, min(80), Some(left), 0), Decision::Now);
        assert_eq!(
            b.decide(0, min(80), Some(left), 1),
            Decision::Wait {
                until: min(90),
                why: WaitReason::Remaining
            }
        );
    }
}
