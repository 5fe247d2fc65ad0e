//! What each posted entry adds to the behaviour profile (an [`Activity`]), and how a batch's
//! activities reach the aggregates: an upsert per key and batch, never a read, in the entry's
//! own transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::bulk::{BulkRow, Value, insert_rows};
use super::{DbConn, StoreError};
use crate::ledger::RawEntry;

/// Microseconds in a day: day buckets are UTC days since the epoch.
const DAY_US: i64 = 86_400_000_000;

/// What one entry adds to a member's row at one brand. Money is in minor units of the
/// settlement currency; a reversal's amounts are negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub member_id: String,
    pub partner: String,
    pub at_us: i64,
    /// 1 for a visit (an earn, a redemption, a capture, a coupon redemption), else 0.
    pub visits: i64,
    pub spend_minor: i64,
    pub earned_minor: i64,
    pub redeemed_minor: i64,
}

/// The rule that turns a posted entry into the profile's activity: set by the service (it is a
/// business rule, `clearing::profile`), run by the writer on every entry it posts.
pub type EntryObserver = Arc<dyn Fn(&RawEntry) -> Option<Activity> + Send + Sync>;

/// The sums of a batch's activities for one key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sums {
    visits: i64,
    spend_minor: i64,
    earned_minor: i64,
    redeemed_minor: i64,
    first_us: i64,
    /// The latest visit; the first activity's time when there was none.
    last_visit_us: i64,
}

impl Sums {
    fn add(&mut self, a: &Activity, fresh: bool) {
        if fresh {
            self.first_us = a.at_us;
            self.last_visit_us = a.at_us;
        }
        self.visits += a.visits;
        self.spend_minor += a.spend_minor;
        self.earned_minor += a.earned_minor;
        self.redeemed_minor += a.redeemed_minor;
        self.first_us = self.first_us.min(a.at_us);
        if a.visits > 0 {
            self.last_visit_us = self.last_visit_us.max(a.at_us);
        }
    }
}

struct ProfileUpsert<'a> {
    member_id: &'a str,
    partner: &'a str,
    sums: Sums,
}

impl BulkRow for ProfileUpsert<'_> {
    const TABLE: &'static str = "member_profiles";
    const COLUMNS: &'static [&'static str] = &[
        "member_id",
        "partner",
        "visits",
        "spend_minor",
        "earned_minor",
        "redeemed_minor",
        "first_seen_us",
        "last_seen_us",
    ];
    // The earliest sighting and the latest visit win: a rebuild adds the interactions (kept
    // beside the journal) after the entries, so rows do not arrive in time order then.
    const ON_CONFLICT: &'static str = " ON CONFLICT (member_id, partner) DO UPDATE SET \
        visits = member_profiles.visits + excluded.visits, \
        spend_minor = member_profiles.spend_minor + excluded.spend_minor, \
        earned_minor = member_profiles.earned_minor + excluded.earned_minor, \
        redeemed_minor = member_profiles.redeemed_minor + excluded.redeemed_minor, \
        first_seen_us = CASE WHEN excluded.first_seen_us < member_profiles.first_seen_us \
        THEN excluded.first_seen_us ELSE member_profiles.first_seen_us END, \
        last_seen_us = CASE WHEN excluded.visits > 0 \
        AND excluded.last_seen_us > member_profiles.last_seen_us THEN excluded.last_seen_us \
        ELSE member_profiles.last_seen_us END";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        let s = self.sums;
        out.extend([
            Value::Text(self.member_id),
            Value::Text(self.partner),
            Value::Int(s.visits),
            Value::Int(s.spend_minor),
            Value::Int(s.earned_minor),
            Value::Int(s.redeemed_minor),
            Value::Int(s.first_us),
            Value::Int(s.last_visit_us),
        ]);
    }
}

struct DayUpsert<'a> {
    member_id: &'a str,
    partner: &'a str,
    day: i32,
    sums: Sums,
}

impl BulkRow for DayUpsert<'_> {
    const TABLE: &'static str = "member_profile_days";
    const COLUMNS: &'static [&'static str] = &[
        "member_id",
        "partner",
        "day",
        "visits",
        "spend_minor",
        "earned_minor",
        "redeemed_minor",
    ];
    const ON_CONFLICT: &'static str = " ON CONFLICT (member_id, partner, day) DO UPDATE SET \
        visits = member_profile_days.visits + excluded.visits, \
        spend_minor = member_profile_days.spend_minor + excluded.spend_minor, \
        earned_minor = member_profile_days.earned_minor + excluded.earned_minor, \
        redeemed_minor = member_profile_days.redeemed_minor + excluded.redeemed_minor";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        let s = self.sums;
        out.extend([
            Value::Text(self.member_id),
            Value::Text(self.partner),
            Value::Int32(self.day),
            Value::Int(s.visits),
            Value::Int(s.spend_minor),
            Value::Int(s.earned_minor),
            Value::Int(s.redeemed_minor),
        ]);
    }
}

/// The UTC day (since the epoch) of a time in microseconds.
pub fn day_of(at_us: i64) -> i32 {
    i32::try_from(at_us.div_euclid(DAY_US)).unwrap_or(i32::MAX)
}

/// Adds `activities` to the aggregates: one upsert per key (a statement may not touch a row
/// twice on PostgreSQL), in key order (row locks in one order across writers).
pub(super) fn add(conn: &mut DbConn, activities: &[Activity]) -> Result<(), StoreError> {
    if activities.is_empty() {
        return Ok(());
    }
    let mut rows: BTreeMap<(&str, &str), Sums> = BTreeMap::new();
    let mut days: BTreeMap<(&str, &str, i32), Sums> = BTreeMap::new();
    for a in activities {
        let key = (a.member_id.as_str(), a.partner.as_str());
        let fresh = !rows.contains_key(&key);
        rows.entry(key).or_default().add(a, fresh);
        let day = (key.0, key.1, day_of(a.at_us));
        let fresh = !days.contains_key(&day);
        days.entry(day).or_default().add(a, fresh);
    }
    let rows: Vec<ProfileUpsert<'_>> = rows
        .into_iter()
        .map(|((member_id, partner), sums)| ProfileUpsert {
            member_id,
            partner,
            sums,
        })
        .collect();
    let days: Vec<DayUpsert<'_>> = days
        .into_iter()
        .map(|((member_id, partner, day), sums)| DayUpsert {
            member_id,
            partner,
            day,
            sums,
        })
        .collect();
    insert_rows(conn, &rows)?;
    insert_rows(conn, &days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(at_us: i64, visits: i64, spend: i64) -> Activity {
        Activity {
            member_id: "m".into(),
            partner: "p".into(),
            at_us,
            visits,
            spend_minor: spend,
            earned_minor: 0,
            redeemed_minor: 0,
        }
    }

    /// A batch's activities for one key sum up; the last sighting is the latest visit, not a
    /// later reversal.
    #[test]
    fn sums_keep_the_latest_visit() {
        let mut s = Sums::default();
        s.add(&activity(10, 1, 500), true);
        s.add(&activity(20, 1, 300), false);
        s.add(&activity(30, 0, -100), false);
        assert_eq!(
            s,
            Sums {
                visits: 2,
                spend_minor: 700,
                earned_minor: 0,
                redeemed_minor: 0,
                first_us: 10,
                last_visit_us: 20
            }
        );
    }

    #[test]
    fn days_are_utc_days_since_the_epoch() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_US - 1), 0);
        assert_eq!(day_of(DAY_US), 1);
        assert_eq!(day_of(-1), -1);
    }
}
