//! Rate limits of the portal: a fixed window per key (a login, a client
//! address), in a bounded map.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys remembered at most; beyond it, expired windows are dropped, then
/// the map is cleared (a flood of addresses cannot grow memory).
const MAX_KEYS: usize = 65_536;

/// At most `max` hits per `window` per key.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// `max` hits per `window`.
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            max: max.max(1),
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Count a hit of `key`; `Err` carries how long until the window ends.
    pub fn hit(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() >= MAX_KEYS && !hits.contains_key(key) {
            let window = self.window;
            hits.retain(|_, (start, _)| now.duration_since(*start) < window);
            if hits.len() >= MAX_KEYS {
                hits.clear();
            }
        }
        let entry = hits.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_max_hits_per_key() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t = Instant::now();
        assert!(l.hit("a", t).is_ok());
        assert!(l.hit("a", t).is_ok());
        assert!(l.hit("a", t).is_err());
        assert!(l.hit("b", t).is_ok());
        assert!(l.hit("a", t + Duration::from_secs(61)).is_ok());
    }
}

/// The last `capacity` keys seen (sign-in `state`s spent, sessions signed
/// out), oldest forgotten first.
#[derive(Debug)]
pub struct BoundedSet {
    capacity: usize,
    inner: Mutex<(
        std::collections::VecDeque<String>,
        std::collections::HashSet<String>,
    )>,
}

impl BoundedSet {
    /// An empty set of at most `capacity` keys.
    pub fn new(capacity: usize) -> BoundedSet {
        BoundedSet {
            capacity: capacity.max(1),
            inner: Mutex::new(Default::default()),
        }
    }

    /// Add `key`; false when it was there already.
    pub fn insert(&self, key: &str) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (order, seen) = &mut *g;
        if !seen.insert(key.to_string()) {
            return false;
        }
        order.push_back(key.to_string());
        if order.len() > self.capacity
            && let Some(old) = order.pop_front()
        {
            seen.remove(&old);
        }
        true
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &str) -> bool {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.1.contains(key)
    }
}
