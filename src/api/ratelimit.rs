//! Per-partner rate limiting: a token bucket per partner, refilled continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests a partner may make per second by default, sustained.
pub const DEFAULT_RATE_PER_SEC: u32 = 2_000;
/// How many seconds' worth of requests a partner may burst.
pub const BURST_SECS: u32 = 2;

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
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, at) = buckets.entry(who.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
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
    }
}
