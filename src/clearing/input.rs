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

pub(crate) fn parse_member(text: &str) -> Result<MemberId, ClearingError> {
    text.parse()
        .map_err(|_| ClearingError::UnknownMember(text.chars().take(40).collect()))
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
