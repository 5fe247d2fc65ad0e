//! Times on the wire: RFC 3339 text, kept internally as microseconds since the epoch.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Microseconds in a day.
pub const DAY_US: i64 = 86_400_000_000;

/// `2026-11-22T18:45:01.123456Z` for a time in microseconds since the epoch.
pub fn rfc3339(us: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Microseconds since the epoch for an RFC 3339 time, or `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let us = 1_763_837_101_123_456;
        assert_eq!(parse_rfc3339(&rfc3339(us)), Some(us));
        assert_eq!(
            parse_rfc3339("2026-11-22T18:45:01Z"),
            Some(1_795_373_101_000_000)
        );
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
