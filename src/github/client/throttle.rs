//! Client-side throttle that keeps seatkeeper under GitHub's documented
//! secondary rate limits before GitHub has to enforce them.
//!
//! GitHub, "Rate limits for the REST API" > "About secondary rate limits":
//! no more than 100 concurrent requests, and no more than 900 points per
//! minute for REST endpoints, where a GET/HEAD/OPTIONS request costs 1 point
//! and a POST/PATCH/PUT/DELETE request costs 5.
//! <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>

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
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_concurrent: 8,
            points_per_window: Some(GITHUB_POINTS_PER_MINUTE),
            window: Duration::from_secs(60),
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
}

/// Held while one request is in flight.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    in_flight: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Throttle {
    pub(crate) fn new(config: ThrottleConfig) -> Self {
        let slots = config.max_concurrent.clamp(1, GITHUB_MAX_CONCURRENT);
        Throttle {
            slots: Arc::new(Semaphore::new(slots)),
            window: config.points_per_window.map(|limit| {
                Mutex::new(Window {
                    limit: limit.max(WRITE_POINTS),
                    length: config.window.max(Duration::from_millis(1)),
                    used: 0,
                    log: VecDeque::new(),
                })
            }),
            in_flight: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Wait for a concurrency slot, then for `cost` points. The slot is taken
    /// first so a request is stamped in the window when it is really sent.
    pub(crate) async fn acquire(&self, cost: u32) -> Slot {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the throttle semaphore is never closed");
        if let Some(window) = &self.window {
            loop {
                let wait = {
                    let mut w = window.lock().unwrap_or_else(|e| e.into_inner());
                    let cost = cost.min(w.limit);
                    w.try_take(cost, Instant::now())
                };
                match wait {
                    None => break,
                    Some(d) => {
                        tracing::debug!(
                            wait_ms = d.as_millis() as u64,
                            "throttle: point budget spent, waiting"
                        );
                        tokio::time::sleep(d).await;
                    }
                }
            }
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Slot {
            _permit: permit,
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
