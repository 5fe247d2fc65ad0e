//! Members' tiers: the tier each holds and why, every change with its reason, and what the
//! qualifying spend and a brand's first purchase are read from (the profile's day buckets and
//! rows, by key; the writer adds what its batch has not written yet).

use diesel::prelude::*;

use super::schema::{member_profile_days, member_profiles, member_tiers, tier_changes};
use super::tx::WriteTx;
use super::writer::Standing;
use super::{DbConn, StoreError};

/// The most history entries one read returns (newest first).
pub const MAX_TIER_HISTORY: i64 = 100;

/// A member's tier as stored. No row: the ladder's first level.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = member_tiers, treat_none_as_null = true)]
pub struct TierRow {
    pub member_id: String,
    pub tier: String,
    pub tier_rank: i32,
    pub since_us: i64,
    pub below_since_us: Option<i64>,
    pub paid_tier: Option<String>,
    pub paid_until_us: Option<i64>,
}

/// One change of a member's tier.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tier_changes)]
pub struct TierChange {
    pub at_us: i64,
    pub tier: String,
    pub reason: String,
}

pub fn get(conn: &mut DbConn, member_id: &str) -> Result<Option<TierRow>, StoreError> {
    Ok(member_tiers::table
        .find(member_id)
        .select(TierRow::as_select())
        .first(conn)
        .optional()?)
}

/// A member's tier row and their qualifying spend from `from_day` on, inside a write: what the
/// database holds plus what the batch has not written yet, remembered by the writer (and kept
/// current by every entry it posts) so that the next earn of the member reads nothing.
pub fn standing_tx(
    tx: &mut WriteTx<'_>,
    member_id: &str,
    from_day: i32,
) -> Result<(Option<TierRow>, i64), StoreError> {
    if let Some(s) = tx.state.cached_standing(member_id)
        && s.from_day == from_day
    {
        return Ok((s.row.clone(), s.qualifying_minor));
    }
    // Tier rows are only ever written directly (never held back by the writer): the database
    // as it is answers. The spend adds the batch's unwritten activities.
    let row = match tx.state.cached_standing(member_id) {
        Some(s) => s.row.clone(),
        None => get(tx.conn_unsynced(), member_id)?,
    };
    let stored = qualifying(tx.conn_unsynced(), member_id, from_day)?;
    let (_, pending) = tx.state.pending_activity(member_id, None, from_day);
    let qualifying_minor = stored.saturating_add(pending);
    let standing = Standing {
        row: row.clone(),
        from_day,
        qualifying_minor,
    };
    tx.state.remember_standing(member_id, standing);
    Ok((row, qualifying_minor))
}

/// A member's tier changes, newest first, at most [`MAX_TIER_HISTORY`].
pub fn history(conn: &mut DbConn, member_id: &str) -> Result<Vec<TierChange>, StoreError> {
    Ok(tier_changes::table
        .filter(tier_changes::member_id.eq(member_id))
        .order(tier_changes::seq.desc())
        .limit(MAX_TIER_HISTORY)
        .select(TierChange::as_select())
        .load(conn)?)
}

/// Stores `row`, and when the tier itself changed, the change with its reason.
pub fn set_tx(
    tx: &mut WriteTx<'_>,
    row: &TierRow,
    change: Option<(i64, &str)>,
) -> Result<(), StoreError> {
    tx.state.set_standing_row(&row.member_id, row);
    let conn = tx.db()?;
    // Update, else insert: the one writer makes this safe without ON CONFLICT, which diesel's
    // connection for both backends does not offer.
    let updated = diesel::update(member_tiers::table.find(&row.member_id))
        .set(row)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(member_tiers::table)
            .values(row)
            .execute(conn)?;
    }
    if let Some((at_us, reason)) = change {
        let last: Option<i32> = tier_changes::table
            .filter(tier_changes::member_id.eq(&row.member_id))
            .order(tier_changes::seq.desc())
            .select(tier_changes::seq)
            .first(conn)
            .optional()?;
        diesel::insert_into(tier_changes::table)
            .values((
                tier_changes::member_id.eq(&row.member_id),
                tier_changes::seq.eq(last.unwrap_or(0) + 1),
                tier_changes::at_us.eq(at_us),
                tier_changes::tier.eq(&row.tier),
                tier_changes::reason.eq(reason),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A member's spend (minor units of the settlement currency) on UTC days `from_day` onwards,
/// at every brand: their day buckets, a range of the key.
pub fn qualifying(conn: &mut DbConn, member_id: &str, from_day: i32) -> Result<i64, StoreError> {
    let days: Vec<i64> = member_profile_days::table
        .filter(member_profile_days::member_id.eq(member_id))
        .filter(member_profile_days::day.ge(from_day))
        .select(member_profile_days::spend_minor)
        .load(conn)?;
    Ok(days.iter().fold(0i64, |t, s| t.saturating_add(*s)))
}

/// A member's spend per UTC day from `from_day` on, at every brand together, in day order.
pub fn spend_days(
    conn: &mut DbConn,
    member_id: &str,
    from_day: i32,
) -> Result<Vec<(i32, i64)>, StoreError> {
    let rows: Vec<(i32, i64)> = member_profile_days::table
        .filter(member_profile_days::member_id.eq(member_id))
        .filter(member_profile_days::day.ge(from_day))
        .select((member_profile_days::day, member_profile_days::spend_minor))
        .load(conn)?;
    let mut days: std::collections::BTreeMap<i32, i64> = std::collections::BTreeMap::new();
    for (day, spend) in rows {
        let slot = days.entry(day).or_default();
        *slot = slot.saturating_add(spend);
    }
    Ok(days.into_iter().collect())
}

/// Everything `GET .../tier` reads of a member: when they joined (`None`: no such member, or
/// erased), their tier row and history, their spend per day in the window, and the reading
/// partner's link (when a partner reads).
pub struct TierRead {
    pub joined_at_us: Option<i64>,
    pub row: Option<TierRow>,
    pub history: Vec<TierChange>,
    pub days: Vec<(i32, i64)>,
    pub link: Option<super::members::LinkRow>,
}

pub fn read(
    conn: &mut DbConn,
    member_id: &str,
    from_day: i32,
    partner: Option<&str>,
) -> Result<TierRead, StoreError> {
    Ok(TierRead {
        joined_at_us: super::members::joined_at(conn, member_id)?,
        row: get(conn, member_id)?,
        history: history(conn, member_id)?,
        days: spend_days(conn, member_id, from_day)?,
        link: match partner {
            Some(p) => super::members::link_to(conn, p, member_id)?,
            None => None,
        },
    })
}

/// Whether a member has visited a brand before (an earn, a redemption…).
pub fn visited(conn: &mut DbConn, member_id: &str, partner: &str) -> Result<bool, StoreError> {
    let visits: Option<i64> = member_profiles::table
        .find((member_id, partner))
        .select(member_profiles::visits)
        .first(conn)
        .optional()?;
    Ok(visits.unwrap_or(0) > 0)
}

/// The same inside a write, the batch's unwritten activities included.
pub fn visited_tx(
    tx: &mut WriteTx<'_>,
    member_id: &str,
    partner: &str,
) -> Result<bool, StoreError> {
    if tx.state.knows_visit(member_id, partner) {
        return Ok(true);
    }
    let (pending, _) = tx
        .state
        .pending_activity(member_id, Some(partner), i32::MIN);
    if pending > 0 {
        return Ok(true);
    }
    let stored = visited(tx.conn_unsynced(), member_id, partner)?;
    if stored {
        // Visits are never taken back: the next earn here need not ask again.
        tx.state.remember_visit(member_id, partner);
    }
    Ok(stored)
}

/// What a quote reads of a member: their tier row, their spend since `from_day`, and whether
/// they have visited `partner`.
pub fn standing(
    conn: &mut DbConn,
    member_id: &str,
    from_day: i32,
    partner: &str,
) -> Result<(Option<TierRow>, i64, bool), StoreError> {
    Ok((
        get(conn, member_id)?,
        qualifying(conn, member_id, from_day)?,
        visited(conn, member_id, partner)?,
    ))
}

/// Members above the ladder's first level, in id order after `after`, `limit` at a time: what
/// the daily sweep re-evaluates (a partial index holds exactly these).
pub fn above_first(conn: &mut DbConn, after: &str, limit: i64) -> Result<Vec<TierRow>, StoreError> {
    Ok(member_tiers::table
        // A literal, not a bound value: SQLite uses a partial index only when the query's
        // condition is visibly the index's own.
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "member_tiers.tier_rank > 0",
        ))
        .filter(member_tiers::member_id.gt(after))
        .order(member_tiers::member_id)
        .limit(limit)
        .select(TierRow::as_select())
        .load(conn)?)
}

/// Removes a member's tier and its history (erasure).
pub fn erase(tx: &mut WriteTx<'_>, member_id: &str) -> Result<(), StoreError> {
    tx.state.forget_standings(Some(member_id));
    let conn = tx.db()?;
    diesel::delete(member_tiers::table.find(member_id)).execute(conn)?;
    diesel::delete(tier_changes::table.filter(tier_changes::member_id.eq(member_id)))
        .execute(conn)?;
    Ok(())
}
