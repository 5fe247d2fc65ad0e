//! The one clock the service reads: every stored time is microseconds since the Unix epoch.
//! It is injected from the top (`clearing::Settings`) down to the store, so a test can let time
//! pass for one service without waiting and without touching any other.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The system's clock, moved ahead by whatever a test asked. Clones share the same offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_us: Arc<AtomicI64>,
}

/// The most a clock can be moved ahead at once: ten years.
pub const MAX_ADVANCE_SECS: u32 = 10 * 366 * 24 * 60 * 60;

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Microseconds since the Unix epoch, now.
    pub fn now_us(&self) -> i64 {
        system_now_us().saturating_add(self.ahead_us.load(Ordering::Relaxed))
    }

    /// Whole seconds since the Unix epoch, now.
    pub fn now_secs(&self) -> i64 {
        self.now_us() / 1_000_000
    }

    /// Moves this clock, and every clone of it, `secs` ahead: a test's way of letting time pass.
    /// Only forward, so times the ledger records never go back.
    pub fn advance_secs(&self, secs: u32) {
        assert!(secs <= MAX_ADVANCE_SECS, "advance by at most ten years");
        self.ahead_us
            .fetch_add(i64::from(secs) * 1_000_000, Ordering::Relaxed);
    }
}

fn system_now_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_moves_ahead_with_its_clones_only() {
        let (clock, other) = (Clock::system(), Clock::system());
        let shared = clock.clone();
        let before = clock.now_us();
        clock.advance_secs(3600);
        assert!(shared.now_us() >= before + 3_600_000_000);
        assert!(other.now_us() < before + 3_600_000_000);
        assert_eq!(clock.now_secs(), clock.now_us() / 1_000_000);
    }
}
