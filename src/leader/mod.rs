//! Leader election with fencing for `seatkeeper run --leader-elect`: several
//! replicas, one writer.
//!
//! A `coordination.k8s.io/v1` Lease names the holder. Followers read it every
//! `--retry-period` and take it over once its record has not changed for its
//! `leaseDurationSeconds`, measured on the follower's own monotonic clock
//! from the moment it saw the record change (as client-go does): a wall
//! clock that is off by minutes cannot make two leaders. The leader renews
//! every `--retry-period` with a `resourceVersion`-preconditioned replace,
//! and steps down when it has not renewed within `--renew-deadline`, when a
//! replace answers 409, or when its own clock says the lease has run out.
//!
//! Fencing ([`Elector::fence`]): immediately before each write batch the
//! leader bumps the apply generation on the Lease with a preconditioned
//! replace. The batch is written only if that succeeds, this replica is
//! still in the leadership term the plan was computed in, and at least
//! `--clock-skew-tolerance` of the lease is left on its own clock. A
//! deposed leader (killed, partitioned, paused by SIGSTOP) therefore either
//! fails the replace (someone else changed the Lease: 409) or finds its
//! lease run out on resuming; either way it stops writing. What no lease can
//! close: GitHub's seat writes take no precondition, so a process frozen in
//! the microseconds between the fence and the request leaving it would send
//! that one request late. The window is the time from the local check to
//! the write syscall.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use tokio::sync::watch;

mod args;
pub mod fenced;
pub mod kube;
pub mod lease;
mod metrics;

pub use args::{LeaderArgs, Timing, parse_duration};
pub use fenced::Fenced;
use lease::{Lease, LeaseApi, LeaseError, micro_time};
pub use metrics::{LeaderMetrics, TransitionLabels};

/// Why a write batch was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FenceError {
    /// This replica does not hold the Lease.
    #[error("this replica is not the leader")]
    NotLeader,
    /// It lost the Lease (and maybe won it again) since the plan was made.
    #[error("the leadership term changed since this plan was made")]
    TermChanged,
    /// Its own clock says the lease ran out (e.g. the process was paused).
    #[error("this replica's lease ran out before the batch")]
    Expired,
    /// The generation bump answered 409: someone else changed the Lease.
    #[error("the Lease changed under us: another replica leads now")]
    Lost,
    /// The generation bump could not be made (API unreachable, 5xx).
    #[error("the apply generation could not be recorded on the Lease: {0}")]
    Unavailable(String),
}

/// What `/status` says about the election.
#[derive(Debug, Clone, Serialize)]
pub struct LeaderView {
    /// This replica's identity.
    pub identity: String,
    /// Where the Lease is.
    pub lease: String,
    /// Whether this replica leads.
    pub leading: bool,
    /// Who leads, as last read (`None`: nobody, or not read yet).
    pub holder: Option<String>,
    /// The apply generation last seen on the Lease.
    pub generation: u64,
    /// Times this replica became the leader.
    pub terms: u64,
}

/// What the writer side knows (under the async lock, so a renewal and a
/// fence never race each other into a self-inflicted 409).
struct Inner {
    /// The Lease as last read or written.
    lease: Option<Lease>,
    /// Its record when it last changed, and when (this replica's clock).
    observed: Option<((lease::LeaseSpec, u64), Instant)>,
    /// Failure kinds already logged since the last success (each logged once).
    logged: HashSet<&'static str>,
    /// Holders whose clock skew was already logged.
    skew_logged: HashSet<String>,
}

/// What readers need without waiting (status, gates).
#[derive(Clone)]
struct View {
    leading: bool,
    term: u64,
    holder: Option<String>,
    generation: u64,
    /// When the request of the last successful write of the Lease left
    /// (the lease runs from there, on this replica's clock).
    renewed_at: Option<Instant>,
}

/// One replica's side of the election.
pub struct Elector {
    api: Arc<dyn LeaseApi>,
    timing: Timing,
    identity: String,
    inner: tokio::sync::Mutex<Inner>,
    view: Mutex<View>,
    leading: watch::Sender<bool>,
    metrics: LeaderMetrics,
    fences: AtomicU64,
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Elector {
    /// An elector for `identity` over `api`.
    pub fn new(
        api: Arc<dyn LeaseApi>,
        timing: Timing,
        identity: String,
        metrics: LeaderMetrics,
    ) -> Arc<Elector> {
        metrics.leader.set(0);
        Arc::new(Elector {
            api,
            timing,
            identity,
            inner: tokio::sync::Mutex::new(Inner {
                lease: None,
                observed: None,
                logged: HashSet::new(),
                skew_logged: HashSet::new(),
            }),
            view: Mutex::new(View {
                leading: false,
                term: 0,
                holder: None,
                generation: 0,
                renewed_at: None,
            }),
            leading: watch::channel(false).0,
            metrics,
            fences: AtomicU64::new(0),
        })
    }

    /// This replica's identity on the Lease.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Changes of "this replica leads".
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    fn view_lock(&self) -> std::sync::MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this replica leads now (and its lease has not run out).
    pub fn is_leading(&self) -> bool {
        self.term().is_some()
    }

    /// The current leadership term while this replica leads and its lease
    /// has time left; a reconcile records it and every fence checks it.
    pub fn term(&self) -> Option<u64> {
        let v = self.view_lock();
        (v.leading && self.time_left(&v)).then_some(v.term)
    }

    /// Lease left on this replica's clock, beyond the skew tolerance.
    fn time_left(&self, v: &View) -> bool {
        v.renewed_at.is_some_and(|at| {
            at.elapsed() + self.timing.skew_tolerance < self.timing.lease_duration
        })
    }

    /// For `/status`.
    pub fn view(&self) -> LeaderView {
        let v = self.view_lock().clone();
        LeaderView {
            identity: self.identity.clone(),
            lease: self.api.describe(),
            leading: v.leading,
            holder: v.holder,
            generation: v.generation,
            terms: v.term,
        }
    }

    /// Fence a write batch of a plan made in `term`: bump the apply
    /// generation on the Lease (conditional on its resourceVersion) and
    /// check the lease still has time; `Ok` only when the batch may be sent
    /// now. Returns the generation the batch is written under.
    pub async fn fence(&self, term: u64) -> Result<u64, FenceError> {
        let mut inner = self.inner.lock().await;
        {
            let v = self.view_lock();
            if !v.leading {
                return Err(FenceError::NotLeader);
            }
            if v.term != term {
                return Err(FenceError::TermChanged);
            }
        }
        self.renew(&mut inner, true).await?;
        let v = self.view_lock().clone();
        // The bump just succeeded; re-check last, closest to the write.
        if !(v.leading && v.term == term && self.time_left(&v)) {
            return Err(FenceError::Expired);
        }
        self.fences.fetch_add(1, Ordering::Relaxed);
        Ok(v.generation)
    }

    /// Run the election until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        tracing::info!(
            identity = %self.identity,
            lease = %self.api.describe(),
            lease_duration_ms = self.timing.lease_duration.as_millis() as u64,
            renew_deadline_ms = self.timing.renew_deadline.as_millis() as u64,
            retry_period_ms = self.timing.retry_period.as_millis() as u64,
            "leader election: candidate"
        );
        loop {
            {
                let mut inner = self.inner.lock().await;
                if *stop.borrow() {
                    return;
                }
                if self.view_lock().leading {
                    let _ = self.renew(&mut inner, false).await;
                } else {
                    self.try_acquire(&mut inner).await;
                }
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(self.timing.retry_period) => {}
            }
        }
    }

    /// Give the Lease up (SIGTERM, after the last write): the holder is
    /// cleared, so a follower takes over at its next retry instead of
    /// waiting out the lease.
    pub async fn release(&self) {
        let mut inner = self.inner.lock().await;
        if !self.view_lock().leading {
            return;
        }
        let Some(mut lease) = inner.lease.clone() else {
            return;
        };
        lease.spec.holder_identity = Some(String::new());
        lease.spec.lease_duration_seconds = Some(1);
        lease.spec.renew_time = Some(micro_time(Utc::now()));
        self.step_down("released on shutdown");
        match self.api.replace(&lease).await {
            Ok(l) => {
                inner.lease = Some(l);
                tracing::info!(identity = %self.identity, "leader election: Lease released");
            }
            Err(e) => tracing::warn!(
                identity = %self.identity, error = %e,
                "leader election: could not release the Lease; a follower takes over when it runs out"
            ),
        }
    }

    /// Log a failure kind once until the next success.
    fn log_failure(&self, inner: &mut Inner, what: &str, e: &LeaseError) {
        if inner.logged.insert(e.kind()) {
            tracing::warn!(
                identity = %self.identity,
                error_kind = e.kind(),
                error = %e,
                "leader election: cannot {what} the Lease (logged once until it works again)"
            );
        }
    }

    fn succeeded(&self, inner: &mut Inner) {
        if !inner.logged.is_empty() {
            inner.logged.clear();
            tracing::info!(identity = %self.identity, "leader election: the Lease API answers again");
        }
    }

    /// Renew (and with `bump`, raise the apply generation) as the leader.
    async fn renew(&self, inner: &mut Inner, bump: bool) -> Result<(), FenceError> {
        let v = self.view_lock().clone();
        if !self.time_left(&v) {
            // Paused or starved past the lease: whatever was planned before
            // belongs to a term that is over, even if nobody took over.
            self.step_down("the lease ran out on this replica's clock before it was renewed");
            return Err(FenceError::Expired);
        }
        let Some(mut lease) = inner.lease.clone() else {
            self.step_down("no Lease known");
            return Err(FenceError::NotLeader);
        };
        lease.spec.holder_identity = Some(self.identity.clone());
        lease.spec.lease_duration_seconds = Some(self.timing.lease_seconds());
        lease.spec.renew_time = Some(micro_time(Utc::now()));
        if bump {
            lease.set_generation(lease.generation() + 1);
        }
        let sent = Instant::now();
        match self.api.replace(&lease).await {
            Ok(new) => {
                self.succeeded(inner);
                let mut view = self.view_lock();
                view.renewed_at = Some(sent);
                view.generation = new.generation();
                inner.observed = Some((new.record(), sent));
                inner.lease = Some(new);
                Ok(())
            }
            Err(LeaseError::Conflict(m)) => {
                self.step_down(&format!("the Lease changed under us (409: {m})"));
                inner.lease = None;
                Err(FenceError::Lost)
            }
            Err(e) => {
                self.log_failure(inner, "renew", &e);
                if v.renewed_at
                    .is_none_or(|at| at.elapsed() >= self.timing.renew_deadline)
                {
                    self.step_down("not renewed within --renew-deadline");
                }
                Err(FenceError::Unavailable(e.to_string()))
            }
        }
    }

    /// As a follower: read the Lease; take it when it is free, missing, or
    /// unchanged for its duration on this replica's clock.
    async fn try_acquire(&self, inner: &mut Inner) {
        let current = match self.api.get().await {
            Ok(l) => l,
            Err(e) => {
                self.log_failure(inner, "read", &e);
                return;
            }
        };
        let now = Instant::now();
        let wall = Utc::now();
        let Some(current) = current else {
            // The API fills in the name and namespace it serves.
            let mut lease = Lease::new("", "");
            lease.spec.holder_identity = Some(self.identity.clone());
            lease.spec.lease_duration_seconds = Some(self.timing.lease_seconds());
            lease.spec.acquire_time = Some(micro_time(wall));
            lease.spec.renew_time = Some(micro_time(wall));
            lease.spec.lease_transitions = Some(0);
            lease.set_generation(1);
            match self.api.create(&lease).await {
                Ok(created) => {
                    self.succeeded(inner);
                    self.become_leader(inner, created, now);
                }
                Err(LeaseError::Conflict(_)) => self.succeeded(inner),
                Err(e) => self.log_failure(inner, "create", &e),
            }
            return;
        };
        self.succeeded(inner);
        let record = current.record();
        let first_sight = inner.observed.is_none();
        let changed = inner.observed.as_ref().is_none_or(|(r, _)| *r != record);
        if changed {
            inner.observed = Some((record, now));
            if !first_sight {
                self.check_skew(inner, &current, wall);
            }
        }
        let observed_at = inner.observed.as_ref().map_or(now, |(_, at)| *at);
        {
            let mut v = self.view_lock();
            v.holder = current.holder().map(str::to_string);
            v.generation = current.generation();
        }
        let duration = current
            .spec
            .lease_duration_seconds
            .filter(|s| *s > 0)
            .map_or(self.timing.lease_duration, |s| {
                Duration::from_secs(s as u64)
            });
        let free = current.holder().is_none();
        let expired = now.duration_since(observed_at) >= duration;
        if !free && !expired {
            inner.lease = Some(current);
            return;
        }
        let mut lease = current.clone();
        lease.spec.holder_identity = Some(self.identity.clone());
        lease.spec.lease_duration_seconds = Some(self.timing.lease_seconds());
        lease.spec.acquire_time = Some(micro_time(wall));
        lease.spec.renew_time = Some(micro_time(wall));
        lease.spec.lease_transitions = Some(current.spec.lease_transitions.unwrap_or(0) + 1);
        lease.set_generation(current.generation() + 1);
        let sent = Instant::now();
        match self.api.replace(&lease).await {
            Ok(new) => {
                if let Some(old) = current.holder() {
                    tracing::warn!(
                        identity = %self.identity,
                        previous = old,
                        unchanged_ms = now.duration_since(observed_at).as_millis() as u64,
                        "leader election: taking over a Lease its holder stopped renewing"
                    );
                }
                self.become_leader(inner, new, sent);
            }
            // Another follower was quicker.
            Err(LeaseError::Conflict(_)) => inner.lease = None,
            Err(e) => self.log_failure(inner, "take over", &e),
        }
    }

    /// A renewal by someone else just observed: its renewTime should be
    /// within a retry period of this replica's clock. Further off is clock
    /// skew: harmless for the election (expiry is judged on this replica's
    /// clock), logged once per holder since the operator should fix NTP.
    fn check_skew(&self, inner: &mut Inner, lease: &Lease, wall: chrono::DateTime<Utc>) {
        let (Some(holder), Some(renewed)) = (lease.holder(), lease.renew_time()) else {
            return;
        };
        if holder == self.identity {
            return;
        }
        let off = (wall - renewed).to_std();
        let tol = self.timing.skew_tolerance;
        let skewed = match off {
            // renewTime in this replica's future.
            Err(_) => (renewed - wall).to_std().is_ok_and(|d| d > tol),
            Ok(behind) => behind > self.timing.retry_period + tol,
        };
        if skewed && inner.skew_logged.insert(holder.to_string()) {
            tracing::warn!(
                identity = %self.identity,
                holder,
                renew_time = lease.spec.renew_time.as_deref().unwrap_or(""),
                now = %micro_time(wall),
                tolerance_ms = tol.as_millis() as u64,
                "leader election: clock skew: the Lease's renewTime is further from this replica's clock than --clock-skew-tolerance; expiry is judged on this replica's own clock, so the election is unaffected, but check NTP on the nodes"
            );
        }
    }

    fn become_leader(&self, inner: &mut Inner, lease: Lease, sent: Instant) {
        let generation = lease.generation();
        let transitions = lease.spec.lease_transitions.unwrap_or(0);
        inner.observed = Some((lease.record(), sent));
        inner.lease = Some(lease);
        let term = {
            let mut v = self.view_lock();
            v.leading = true;
            v.term += 1;
            v.holder = Some(self.identity.clone());
            v.generation = generation;
            v.renewed_at = Some(sent);
            v.term
        };
        self.metrics.set(true);
        tracing::info!(
            event = "leader",
            identity = %self.identity,
            leading = true,
            term,
            generation,
            lease_transitions = transitions,
            "leader election: this replica leads"
        );
        self.leading.send_replace(true);
    }

    fn step_down(&self, why: &str) {
        {
            let mut v = self.view_lock();
            if !v.leading {
                return;
            }
            v.leading = false;
            v.holder = None;
        }
        self.metrics.set(false);
        tracing::warn!(
            event = "leader",
            identity = %self.identity,
            leading = false,
            reason = why,
            "leader election: this replica no longer leads: no more writes"
        );
        self.leading.send_replace(false);
    }
}
