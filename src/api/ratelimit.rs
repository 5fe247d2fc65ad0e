//! Per-partner rate limiting: a token bucket per partner, refilled continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests a partner may make per second by default, sustained.
pub const DEFAULT_RATE_PER_SEC: u32 = 2_000;
/// How many seconds' worth of requests a partner may burst.
pub const BURST_SECS: u32 = 2;
/// Failed card look-ups (unknown, replaced or malformed numbers) a partner may make per second,
/// sustained: a sweep through card numbers meets `429` after a few dozen misses.
pub const CARD_FAILURES_PER_SEC: u32 = 5;
/// Failed link codes (wrong, used, expired, another brand's) a partner may send per second.
pub const LINK_CODE_FAILURES_PER_SEC: u32 = 5;

pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32) -> Self {
        let per_sec = f64::from(per_sec.max(1));
        Self {
            per_sec,
            burst: per_sec * f64::from(BURST_SECS),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `who`'s bucket; when it is empty, the seconds until one is back.
    pub fn take(&self, who: &str) -> Result<(), u64> {
        self.spend(who, 1.0)
    }

    /// Whether `who` has a request left, without taking it (for a bucket that counts failures:
    /// checked before the request, taken from only when it fails).
    pub fn check(&self, who: &str) -> Result<(), u64> {
        self.spend(who, 0.0)
    }

    fn spend(&self, who: &str, cost: f64) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, at) = buckets.entry(who.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= cost;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_others_are_untouched() {
        let r = RateLimiter::new(5);
        let allowed = (0..20).filter(|_| r.take("aroma").is_ok()).count();
        assert_eq!(allowed, 10, "the burst is two seconds' worth");
        assert_eq!(r.take("aroma"), Err(1));
        assert!(r.take("books").is_ok());
        assert_eq!(r.check("aroma"), Err(1), "checking takes nothing but tells");
        let f = RateLimiter::new(5);
        assert!(
            (0..50).all(|_| f.check("aroma").is_ok()),
            "checks alone never empty it"
        );
    }
}
