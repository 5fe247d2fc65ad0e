//! Replayed signatures: a request signed once may be sent again (a retry) only as the very same
//! request. Without this, someone who captured a signed POST could send it again within the
//! clock window under a new `Idempotency-Key` (which standard clients do not sign) and post twice.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::httpsig::MAX_CLOCK_SKEW_SECS;

/// The most signatures remembered; past it the oldest are dropped first (they are also the
/// first to fall out of the clock window).
pub const MAX_REMEMBERED_SIGNATURES: usize = 200_000;

/// Signatures seen within the clock window, each with the request it came with.
#[derive(Default)]
pub struct ReplayGuard {
    seen: Mutex<HashMap<[u8; 32], (String, i64)>>,
}

impl ReplayGuard {
    /// Records `signature` for `request` (method, path, body and idempotency key, hashed by the
    /// caller) at `now_secs`; false when the same signature came before with another request.
    pub fn admit(&self, signature: &[u8], request: &str, now_secs: i64) -> bool {
        let key: [u8; 32] = {
            let d = ring::digest::digest(&ring::digest::SHA256, signature);
            let mut k = [0u8; 32];
            k.copy_from_slice(d.as_ref());
            k
        };
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let horizon = now_secs - 2 * MAX_CLOCK_SKEW_SECS;
        if seen.len() >= MAX_REMEMBERED_SIGNATURES {
            seen.retain(|_, (_, at)| *at > horizon);
            if seen.len() >= MAX_REMEMBERED_SIGNATURES {
                // Still full of live signatures: drop the oldest half rather than grow.
                let mut times: Vec<i64> = seen.values().map(|(_, at)| *at).collect();
                times.sort_unstable();
                let cut = times[times.len() / 2];
                seen.retain(|_, (_, at)| *at > cut);
            }
        }
        match seen.get(&key) {
            Some((first, at)) if *at > horizon => first == request,
            _ => {
                seen.insert(key, (request.to_owned(), now_secs));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_signature_is_admitted_only_for_the_same_request() {
        let g = ReplayGuard::default();
        assert!(g.admit(b"sig", "POST /v1/earn key-1", 1000));
        assert!(
            g.admit(b"sig", "POST /v1/earn key-1", 1001),
            "a byte-for-byte retry"
        );
        assert!(
            !g.admit(b"sig", "POST /v1/earn key-2", 1002),
            "a replay under another key"
        );
        assert!(g.admit(b"other", "POST /v1/earn key-2", 1002));
        // Long after the window the signature would be refused as expired anyway.
        assert!(g.admit(
            b"sig",
            "POST /v1/earn key-3",
            1000 + 3 * MAX_CLOCK_SKEW_SECS
        ));
    }
}
