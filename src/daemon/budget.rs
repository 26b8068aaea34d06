//! The controller's side of the rate budget (`--rate-budget`): before each
//! reconcile, ask [`crate::rate::Budget`] whether the org's last cost fits
//! the trailing hour and GitHub's remaining points, and wait (the schedule
//! stretches; triggers meanwhile coalesce into one run) until it does; after
//! it, record the points it spent. The hourly AI-credit usage read goes with
//! a reconcile: planned (one point) while due, recorded with it. `/status` and
//! `seatkeeper_next_reconcile_allowed_timestamp_seconds` say when the next
//! reconcile of each org may start.

use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use tokio::sync::watch;

use crate::github::client::ClientStats;
use crate::rate::{Decision, Remaining, Spend, WaitReason};

use super::{OrgSlot, Shared, USAGE_READ_POINTS, lock};

/// GitHub's remaining points as the budget reads them.
fn remaining(stats: &ClientStats, now: Instant) -> Option<Remaining> {
    let points = stats.rate_limit_remaining?;
    let reset = stats.rate_limit_reset?;
    let until = reset
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Remaining {
        points,
        reset: now + until,
    })
}

fn reason(why: WaitReason) -> &'static str {
    match why {
        WaitReason::Share => "rate_budget",
        WaitReason::Remaining => "rate_limit_remaining",
    }
}

impl Shared {
    /// The budget's decision for `slot` now, published to `/status` and
    /// the metric.
    fn budget_decision(&self, slot: &OrgSlot) -> Decision {
        let stats = self.client.stats();
        let now = Instant::now();
        let decision = {
            let mut b = lock(&self.budget);
            b.learn_limit(stats.rate_limit_limit);
            // A due usage read is part of the run: plan its points too.
            let read = if slot.usage_read_due(now) {
                USAGE_READ_POINTS
            } else {
                0
            };
            b.decide(slot.index, now, remaining(&stats, now), read)
        };
        let (at, why) = match decision {
            Decision::Now => (Utc::now(), None),
            Decision::Wait { until, why } => (
                Utc::now()
                    + chrono::Duration::from_std(until.saturating_duration_since(now))
                        .unwrap_or_default(),
                Some(reason(why)),
            ),
        };
        {
            let mut st = lock(&slot.status);
            st.next_reconcile_allowed_at = Some(at);
            st.budget_wait = why;
        }
        self.metrics
            .set_next_allowed(&slot.label(), at.timestamp_millis() as f64 / 1000.0);
        decision
    }

    /// Wait until the budget lets `slot` reconcile; `false` on shutdown.
    pub(super) async fn wait_for_budget(
        &self,
        slot: &OrgSlot,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        loop {
            match self.budget_decision(slot) {
                Decision::Now => return true,
                Decision::Wait { until, why } => {
                    let b = lock(&self.budget).clone();
                    tracing::info!(
                        source = %slot.source,
                        org = %slot.label(),
                        wait_s = until.saturating_duration_since(Instant::now()).as_secs(),
                        reason = reason(why),
                        estimate = b.estimate(slot.index).unwrap_or(0),
                        spent_past_hour = b.spent_in_hour(Instant::now()),
                        allowance = b.allowance(),
                        "rate budget: the next reconcile waits until it fits"
                    );
                    tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => return false,
                        _ = tokio::time::sleep_until(until.into()) => {}
                    }
                }
            }
        }
    }

    /// Record what a run of `slot` spent (its reconcile and the usage read
    /// made with it), then publish when the next one may start.
    pub(super) fn record_spend(&self, slot: &OrgSlot, spend: Spend) {
        let points = spend.total();
        let now = Instant::now();
        let (hour, allowance) = {
            let mut b = lock(&self.budget);
            b.learn_limit(self.client.stats().rate_limit_limit);
            b.record(slot.index, now, spend);
            (b.spent_in_hour(now), b.allowance())
        };
        lock(&slot.status).last_points = Some(points);
        self.metrics
            .observe_points(&slot.label(), points, hour, allowance);
        self.budget_decision(slot);
    }
}
