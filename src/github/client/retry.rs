//! When to retry a GitHub request and how long to wait first.
//!
//! Rate limits follow GitHub's documented rule ("Best practices for using the
//! REST API" > "Handle rate limit errors appropriately", and "Rate limits for
//! the REST API" > "Exceeding the rate limit"): after a 403 or 429 that is a
//! rate limit, if `retry-after` is present wait that many seconds; else if
//! `x-ratelimit-remaining` is `0` wait until `x-ratelimit-reset` (UTC epoch
//! seconds); else wait at least one minute, and "if your request continues
//! to fail due to a secondary rate limit, wait for an exponentially
//! increasing amount of time between retries, and throw an error after a
//! specific number of retries": 60, 120, 240 s ..., bounded by the
//! client's rate-limit wait count and `--max-rate-limit-wait`.
//! <https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately>
//! <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit>
//!
//! Everything else transient (5xx, timeouts, connection errors) is retried a
//! bounded number of times with exponential backoff and full jitter
//! (`sleep = random(0, min(cap, base * 2^attempt))`), which spreads the
//! retries of concurrent page fetches instead of synchronising them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};

/// GitHub's "otherwise wait at least one minute" for secondary limits.
pub(crate) const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// Added to waits computed from `x-ratelimit-reset`: the reset is a whole
/// second on GitHub's clock, ours may lag behind it.
const RESET_MARGIN: Duration = Duration::from_secs(1);

/// Which limit a response reported, and how long to wait before retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateLimit {
    /// A secondary limit with `retry-after`.
    Secondary(Duration),
    /// A secondary limit that said nothing of when to retry: one minute,
    /// doubled for each such limit the same request met before.
    SecondaryUnstated,
    /// The primary limit is spent until `x-ratelimit-reset`.
    Primary(Duration),
}

impl RateLimit {
    /// The wait before retrying, for a request that already met `earlier`
    /// unstated secondary limits.
    pub(crate) fn wait(self, earlier: u32) -> Duration {
        match self {
            RateLimit::Secondary(d) | RateLimit::Primary(d) => d,
            RateLimit::SecondaryUnstated => {
                SECONDARY_DEFAULT_WAIT.saturating_mul(1u32.checked_shl(earlier).unwrap_or(u32::MAX))
            }
        }
    }
}

/// A header as an unsigned integer.
pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok()
}

/// Time from `now` until `x-ratelimit-reset`, plus a margin; zero if it passed.
pub(crate) fn until_reset(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let reset = header_u64(headers, "x-ratelimit-reset")?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    Some(
        Duration::from_secs(reset)
            .saturating_sub(now)
            .saturating_add(RESET_MARGIN),
    )
}

/// Is this response a rate limit, and if so how long must we wait?
///
/// A 403 is a rate limit only with a rate-limit signal (`retry-after`,
/// `x-ratelimit-remaining: 0`, or GitHub's "rate limit" message); any other
/// 403 is a permission problem and must not be retried.
pub(crate) fn rate_limit(
    status: StatusCode,
    headers: &HeaderMap,
    message: &str,
    now: SystemTime,
) -> Option<RateLimit> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Some(RateLimit::Secondary(Duration::from_secs(secs)));
    }
    if header_u64(headers, "x-ratelimit-remaining") == Some(0) {
        let wait = until_reset(headers, now).unwrap_or(SECONDARY_DEFAULT_WAIT);
        return Some(RateLimit::Primary(wait));
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        || message.to_ascii_lowercase().contains("rate limit")
    {
        return Some(RateLimit::SecondaryUnstated);
    }
    None
}

/// Exponential backoff with full jitter for retry number `retry` (1-based).
pub(crate) fn backoff(retry: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let ceiling = base.saturating_mul(factor).min(cap);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(rand::random_range(0..=ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn retry_after_wins() {
        let h = headers(&[
            ("retry-after", "7"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "100"),
        ]);
        assert_eq!(
            rate_limit(StatusCode::FORBIDDEN, &h, "", UNIX_EPOCH),
            Some(RateLimit::Secondary(Duration::from_secs(7)))
        );
    }

    #[test]
    fn primary_waits_for_reset() {
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "100")]);
        let now = UNIX_EPOCH + Duration::from_secs(40);
        assert_eq!(
            rate_limit(StatusCode::FORBIDDEN, &h, "API rate limit exceeded", now),
            Some(RateLimit::Primary(Duration::from_secs(61)))
        );
    }

    #[test]
    fn secondary_without_headers_waits_a_minute() {
        let h = headers(&[("x-ratelimit-remaining", "4000")]);
        assert_eq!(
            rate_limit(
                StatusCode::FORBIDDEN,
                &h,
                "You have exceeded a secondary rate limit",
                UNIX_EPOCH
            ),
            Some(RateLimit::SecondaryUnstated)
        );
        assert_eq!(
            rate_limit(
                StatusCode::TOO_MANY_REQUESTS,
                &HeaderMap::new(),
                "",
                UNIX_EPOCH
            ),
            Some(RateLimit::SecondaryUnstated)
        );
    }

    #[test]
    fn unstated_secondary_limits_back_off_exponentially() {
        let waits: Vec<u64> = (0..4)
            .map(|n| RateLimit::SecondaryUnstated.wait(n).as_secs())
            .collect();
        assert_eq!(waits, [60, 120, 240, 480]);
        assert_eq!(
            RateLimit::Secondary(Duration::from_secs(7))
                .wait(3)
                .as_secs(),
            7
        );
    }

    #[test]
    fn plain_403_is_not_a_rate_limit() {
        let h = headers(&[("x-ratelimit-remaining", "4999")]);
        assert_eq!(
            rate_limit(
                StatusCode::FORBIDDEN,
                &h,
                "Resource not accessible by integration",
                UNIX_EPOCH
            ),
            None
        );
        assert_eq!(rate_limit(StatusCode::OK, &h, "", UNIX_EPOCH), None);
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for retry in 1..40 {
            let ceiling = (base * 2u32.saturating_pow(retry - 1)).min(cap);
            for _ in 0..20 {
                assert!(backoff(retry, base, cap) <= ceiling);
            }
        }
        assert_eq!(backoff(3, Duration::ZERO, cap), Duration::ZERO);
    }
}
