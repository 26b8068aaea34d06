//! `seatkeeper_leader` and `seatkeeper_leader_transitions_total`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// `{event}` of `seatkeeper_leader_transitions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    /// `acquired` or `lost`.
    pub event: &'static str,
}

/// `seatkeeper_leader` and `seatkeeper_leader_transitions_total`.
#[derive(Debug, Clone, Default)]
pub struct LeaderMetrics {
    pub(super) leader: Gauge,
    transitions: Family<TransitionLabels, Counter>,
}

impl LeaderMetrics {
    /// Register both in `registry` (prefix `seatkeeper`). Without
    /// `--leader-elect` the replica is its own leader: 1.
    pub fn register(&self, registry: &mut Registry) {
        self.leader.set(1);
        // Both series from the start, so rate() and alerts see a 0 first.
        for event in ["acquired", "lost"] {
            let _ = self.transitions.get_or_create(&TransitionLabels { event });
        }
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease (always 1 without --leader-elect), else 0",
            self.leader.clone(),
        );
        registry.register(
            "leader_transitions",
            "Times this replica acquired or lost the leader Lease",
            self.transitions.clone(),
        );
    }

    pub(super) fn set(&self, leading: bool) {
        self.leader.set(i64::from(leading));
        self.transitions
            .get_or_create(&TransitionLabels {
                event: if leading { "acquired" } else { "lost" },
            })
            .inc();
    }
}
