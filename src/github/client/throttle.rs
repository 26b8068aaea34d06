//! Client-side throttle that keeps seatkeeper under GitHub's documented
//! secondary rate limits before GitHub has to enforce them.
//!
//! GitHub, "Rate limits for the REST API" > "About secondary rate limits":
//! no more than 100 concurrent requests, and no more than 900 points per
//! minute for REST endpoints, where a GET/HEAD/OPTIONS request costs 1 point
//! and a POST/PATCH/PUT/DELETE request costs 5.
//! <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>
//!
//! Writes follow "Best practices for using the REST API": "make requests
//! serially instead of concurrently" and "wait at least one second between
//! each request" that creates or changes content; content-generating
//! requests (commits, issues, comments, pull requests) stay under "no more
//! than 80 content-generating requests per minute and no more than 500
//! content-generating requests per hour".

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// GitHub's ceiling on concurrent requests (secondary rate limit).
pub const GITHUB_MAX_CONCURRENT: usize = 100;
/// GitHub's ceiling on REST points per minute (secondary rate limit).
pub const GITHUB_POINTS_PER_MINUTE: u32 = 900;
/// Points a GET costs.
pub const GET_POINTS: u32 = 1;
/// Points a POST/PATCH/PUT/DELETE costs.
pub const WRITE_POINTS: u32 = 5;
/// GitHub's ceiling on content-generating requests per minute.
pub const GITHUB_CONTENT_PER_MINUTE: u32 = 80;
/// GitHub's ceiling on content-generating requests per hour.
pub const GITHUB_CONTENT_PER_HOUR: u32 = 500;
/// GitHub's "at least one second between" writes.
pub const GITHUB_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// What a request does, for the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A GET: concurrent, 1 point.
    Read,
    /// A write (seat assignment): serial, spaced, 5 points.
    Write,
    /// A write that generates content (a commit, an issue, a comment, a
    /// pull request): a write, also counted against the content limits.
    Content,
}

/// Limits the client places on itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Requests in flight at once, across all callers of one client. Clamped
    /// to 1..=100 (GitHub's limit); the default stays well below it because
    /// the token may be shared with other tools.
    pub max_concurrent: usize,
    /// Points allowed in any rolling `window` (GET 1, write 5; GitHub: 900
    /// per minute); `None` turns the point budget off (benches against the
    /// simulator).
    pub points_per_window: Option<u32>,
    /// The rolling window of the point budget (GitHub: one minute).
    pub window: Duration,
    /// Least time between the starts of two writes, which are sent one at a
    /// time. `None`: GitHub's one second for a remote API root, none for a
    /// loopback one (the simulator); `--write-interval-ms` sets it.
    pub write_interval: Option<Duration>,
    /// Content-generating requests allowed per minute (GitHub: 80); `None`
    /// turns this budget off.
    pub content_per_minute: Option<u32>,
    /// Content-generating requests allowed per hour (GitHub: 500).
    pub content_per_hour: Option<u32>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_concurrent: 8,
            points_per_window: Some(GITHUB_POINTS_PER_MINUTE),
            window: Duration::from_secs(60),
            write_interval: None,
            content_per_minute: Some(GITHUB_CONTENT_PER_MINUTE),
            content_per_hour: Some(GITHUB_CONTENT_PER_HOUR),
        }
    }
}

impl ThrottleConfig {
    /// GitHub's own ceilings with no point budget: for benches and the
    /// simulator, never for github.com.
    pub fn unlimited() -> Self {
        ThrottleConfig {
            max_concurrent: GITHUB_MAX_CONCURRENT,
            points_per_window: None,
            window: Duration::from_secs(60),
            write_interval: Some(Duration::ZERO),
            content_per_minute: None,
            content_per_hour: None,
        }
    }
}

/// Points spent in the last window, each stamped when its request was sent.
/// A sliding log rather than a token bucket: a bucket of size N refilled at
/// N/min lets 2N through in the first minute, the log never lets more than
/// N through in any 60 s window.
#[derive(Debug)]
struct Window {
    limit: u32,
    length: Duration,
    used: u32,
    log: VecDeque<(Instant, u32)>,
}

impl Window {
    /// Reserve `cost` points now, or say how long until enough have expired.
    fn try_take(&mut self, cost: u32, now: Instant) -> Option<Duration> {
        while let Some(&(at, points)) = self.log.front() {
            if now.duration_since(at) >= self.length {
                self.used -= points;
                self.log.pop_front();
            } else {
                break;
            }
        }
        if self.used + cost <= self.limit {
            self.used += cost;
            self.log.push_back((now, cost));
            return None;
        }
        let mut to_free = self.used + cost - self.limit;
        for &(at, points) in &self.log {
            if points >= to_free {
                return Some((at + self.length).saturating_duration_since(now));
            }
            to_free -= points;
        }
        Some(self.length)
    }
}

/// The shared throttle of one client.
#[derive(Debug)]
pub(crate) struct Throttle {
    slots: Arc<Semaphore>,
    window: Option<Mutex<Window>>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    /// Held by the write in flight; holds when the last write was sent.
    write_gate: Arc<tokio::sync::Mutex<Option<Instant>>>,
    write_interval: Duration,
    /// The content limits' windows (per minute, per hour).
    content: Vec<Mutex<Window>>,
}

/// Held while one request is in flight.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    _write: Option<tokio::sync::OwnedMutexGuard<Option<Instant>>>,
    in_flight: Arc<AtomicUsize>,
}

fn window(limit: u32, length: Duration) -> Window {
    Window {
        limit,
        length: length.max(Duration::from_millis(1)),
        used: 0,
        log: VecDeque::new(),
    }
}

/// Take `cost` from a window, sleeping until it has room.
async fn take(window: &Mutex<Window>, cost: u32, what: &str) {
    loop {
        let wait = {
            let mut w = window.lock().unwrap_or_else(|e| e.into_inner());
            let cost = cost.min(w.limit);
            w.try_take(cost, Instant::now())
        };
        match wait {
            None => return,
            Some(d) => {
                tracing::debug!(wait_ms = d.as_millis() as u64, what, "throttle: waiting");
                tokio::time::sleep(d).await;
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Throttle {
    /// The throttle of a client; `loopback` says the API root is on this
    /// machine (no write interval unless one was set).
    pub(crate) fn new(config: ThrottleConfig, loopback: bool) -> Self {
        let slots = config.max_concurrent.clamp(1, GITHUB_MAX_CONCURRENT);
        let write_interval = config.write_interval.unwrap_or(if loopback {
            Duration::ZERO
        } else {
            GITHUB_WRITE_INTERVAL
        });
        let content = [
            config
                .content_per_minute
                .map(|n| window(n.max(1), Duration::from_secs(60))),
            config
                .content_per_hour
                .map(|n| window(n.max(1), Duration::from_secs(3600))),
        ]
        .into_iter()
        .flatten()
        .map(Mutex::new)
        .collect();
        Throttle {
            slots: Arc::new(Semaphore::new(slots)),
            window: config
                .points_per_window
                .map(|limit| Mutex::new(window(limit.max(WRITE_POINTS), config.window))),
            in_flight: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
            write_gate: Arc::new(tokio::sync::Mutex::new(None)),
            write_interval,
            content,
        }
    }

    /// Wait for the write gate (writes only: one at a time, spaced), the
    /// content limits (content only), a concurrency slot, then the points.
    /// The slot is taken before the points so a request is stamped in the
    /// window when it is really sent.
    pub(crate) async fn acquire(&self, kind: RequestKind) -> Slot {
        let write = match kind {
            RequestKind::Read => None,
            RequestKind::Write | RequestKind::Content => {
                let mut gate = Arc::clone(&self.write_gate).lock_owned().await;
                if let Some(last) = *gate {
                    let next = last + self.write_interval;
                    if next > Instant::now() {
                        tokio::time::sleep_until(next).await;
                    }
                }
                if kind == RequestKind::Content {
                    for w in &self.content {
                        take(w, 1, "content-creation limit").await;
                    }
                }
                *gate = Some(Instant::now());
                Some(gate)
            }
        };
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the throttle semaphore is never closed");
        if let Some(window) = &self.window {
            let cost = if kind == RequestKind::Read {
                GET_POINTS
            } else {
                WRITE_POINTS
            };
            take(window, cost, "point budget").await;
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Slot {
            _permit: permit,
            _write: write,
            in_flight: Arc::clone(&self.in_flight),
        }
    }

    /// The most requests ever in flight at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_go_one_at_a_time_spaced_and_content_is_budgeted() {
        let config = ThrottleConfig {
            write_interval: Some(Duration::from_millis(50)),
            content_per_minute: Some(3),
            ..ThrottleConfig::unlimited()
        };
        let t = Arc::new(Throttle::new(config, true));
        let first = t.acquire(RequestKind::Write).await;
        // A second write waits for the first to finish, reads do not.
        let t2 = Arc::clone(&t);
        let second = tokio::spawn(async move {
            let _s = t2.acquire(RequestKind::Write).await;
            Instant::now()
        });
        let _read = t.acquire(RequestKind::Read).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(
            !second.is_finished(),
            "a write went out while another was in flight"
        );
        let released = Instant::now();
        drop(first);
        let sent = second.await.unwrap();
        assert!(sent >= released);
        // Spacing: from one write's start to the next, at least the interval.
        let a = Instant::now();
        drop(t.acquire(RequestKind::Write).await);
        drop(t.acquire(RequestKind::Write).await);
        assert!(a.elapsed() >= Duration::from_millis(50));
        // Three content requests fit the minute; the fourth would wait.
        for _ in 0..3 {
            drop(t.acquire(RequestKind::Content).await);
        }
        let fourth =
            tokio::time::timeout(Duration::from_millis(300), t.acquire(RequestKind::Content)).await;
        assert!(
            fourth.is_err(),
            "a fourth content request fit a budget of 3 a minute"
        );
    }

    #[test]
    fn loopback_roots_skip_the_write_interval_unless_set() {
        let t = Throttle::new(ThrottleConfig::default(), true);
        assert_eq!(t.write_interval, Duration::ZERO);
        let t = Throttle::new(ThrottleConfig::default(), false);
        assert_eq!(t.write_interval, GITHUB_WRITE_INTERVAL);
        let set = ThrottleConfig {
            write_interval: Some(Duration::from_millis(5)),
            ..ThrottleConfig::default()
        };
        assert_eq!(
            Throttle::new(set, true).write_interval,
            Duration::from_millis(5)
        );
    }

    #[test]
    fn window_never_exceeds_its_limit() {
        let t0 = Instant::now();
        let mut w = Window {
            limit: 900,
            length: Duration::from_secs(60),
            used: 0,
            log: VecDeque::new(),
        };
        for _ in 0..180 {
            assert_eq!(w.try_take(5, t0), None);
        }
        // 900 points spent at t0: the next write waits for all of the first one to expire.
        assert_eq!(
            w.try_take(5, t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(50))
        );
        // All 180 writes were stamped at t0, so all expire together.
        assert_eq!(w.try_take(1, t0 + Duration::from_secs(60)), None);
        assert_eq!(w.used, 1);
    }

    #[test]
    fn partial_expiry_frees_enough_points() {
        let t0 = Instant::now();
        let mut w = Window {
            limit: 10,
            length: Duration::from_secs(60),
            used: 0,
            log: VecDeque::new(),
        };
        assert_eq!(w.try_take(5, t0), None);
        assert_eq!(w.try_take(5, t0 + Duration::from_secs(30)), None);
        // Needs 5 points: the first entry frees them at t0 + 60 s.
        assert_eq!(
            w.try_take(5, t0 + Duration::from_secs(40)),
            Some(Duration::from_secs(20))
        );
    }
}
