//! Limits and checks on what callers send, shared by the use cases.

use super::{ClearingError, Invalid};
use crate::ledger::MemberId;

/// The longest external member id a partner may use, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// The longest reversal reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Default and largest page of a listing.
pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1000;
/// The earliest time a purchase may say it happened: 2000-01-01T00:00:00Z, in microseconds.
pub const EARLIEST_OCCURRED_AT_US: i64 = 946_684_800_000_000;
/// How far ahead of the service's clock a purchase may say it happened (clocks differ).
pub const MAX_OCCURRED_AHEAD_SECS: i64 = 24 * 60 * 60;

pub(crate) fn parse_member(text: &str) -> Result<MemberId, ClearingError> {
    text.parse().map_err(|_| {
        ClearingError::InvalidRequest(Invalid::MemberId(text.chars().take(40).collect()))
    })
}

pub(crate) fn check_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
) -> Result<(), ClearingError> {
    if text.is_empty() || text.chars().count() > max_chars || text.chars().any(char::is_control) {
        return Err(ClearingError::InvalidRequest(Invalid::Text {
            field,
            max_chars,
        }));
    }
    Ok(())
}

/// A caller's `occurred_at`: an RFC 3339 time from 2000-01-01 to a day ahead of `now_us`.
pub(crate) fn check_occurred_at(text: Option<&str>, now_us: i64) -> Result<(), ClearingError> {
    let Some(text) = text else { return Ok(()) };
    let at_us =
        super::time::parse_rfc3339(text).ok_or(ClearingError::InvalidRequest(Invalid::Time {
            field: "occurred_at",
        }))?;
    let latest_us = now_us.saturating_add(MAX_OCCURRED_AHEAD_SECS * 1_000_000);
    if !(EARLIEST_OCCURRED_AT_US..=latest_us).contains(&at_us) {
        return Err(ClearingError::InvalidRequest(Invalid::OccurredAt));
    }
    Ok(())
}
