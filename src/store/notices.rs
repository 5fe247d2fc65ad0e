//! What the expiry notices read and write: the lots and the members about to expire (by the
//! same indexes the expiry sweep uses), and the notices already sent, one per member, unit and
//! expiry day, so that none is sent twice.

use diesel::prelude::*;

use super::schema::{expiry_notices, lots, member_activity};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// An open lot: where it is in the unit's order, whose it is, and what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct WindowLot {
    pub clock_us: i64,
    pub account: String,
    pub lot_seq: i64,
    pub member_id: String,
    pub remaining_minor: i64,
}

/// A lot's place in a unit's order: `(clock_us, account, lot_seq)`.
pub type LotCursor = (i64, String, i64);

/// Open lots of `unit` whose clock started after `after` (or after `from_us` when there is
/// none, whichever is later) and at or before `upto_us`, in order, at most `limit` (by the
/// `lots_open_by_unit` index).
pub fn lots_between(
    conn: &mut DbConn,
    unit: &str,
    (from_us, after): (i64, Option<&LotCursor>),
    upto_us: i64,
    limit: i64,
) -> Result<Vec<WindowLot>, StoreError> {
    let mut q = lots::table
        .filter(lots::unit.eq(unit))
        .filter(lots::remaining_minor.gt(0))
        .filter(lots::clock_us.gt(from_us))
        .filter(lots::clock_us.le(upto_us))
        .order((lots::clock_us, lots::account, lots::lot_seq))
        .select((
            lots::clock_us,
            lots::account,
            lots::lot_seq,
            lots::member_id,
            lots::remaining_minor,
        ))
        .limit(limit)
        .into_boxed();
    if let Some((clock, account, seq)) = after {
        q = q.filter(
            lots::clock_us.gt(*clock).or(lots::clock_us.eq(*clock).and(
                lots::account.gt(account.clone()).or(lots::account
                    .eq(account.clone())
                    .and(lots::lot_seq.gt(*seq))),
            )),
        );
    }
    Ok(q.load(conn)?)
}

/// A member's place in the activity order: `(last_active_us, member_id)`.
pub type MemberCursor = (i64, String);

/// A page of members about to expire: each with the points they hold, and the last member read
/// (`None`: none was left).
pub type MemberPage = (Vec<(MemberCursor, i64)>, Option<MemberCursor>);

/// Members last active after `after` (or after `from_us`) and at or before `upto_us`, in
/// order, at most `limit` (by `member_activity_by_time`), each with the points of `unit` their
/// open lots hold (members holding none are left out, but still move the cursor: the last
/// member read is returned too).
pub fn members_between(
    conn: &mut DbConn,
    unit: &str,
    (from_us, after): (i64, Option<&MemberCursor>),
    upto_us: i64,
    limit: i64,
) -> Result<MemberPage, StoreError> {
    let mut q = member_activity::table
        .filter(member_activity::last_active_us.gt(from_us))
        .filter(member_activity::last_active_us.le(upto_us))
        .order((member_activity::last_active_us, member_activity::member_id))
        .select((member_activity::last_active_us, member_activity::member_id))
        .limit(limit)
        .into_boxed();
    if let Some((at, member)) = after {
        q = q.filter(
            member_activity::last_active_us
                .gt(*at)
                .or(member_activity::last_active_us
                    .eq(*at)
                    .and(member_activity::member_id.gt(member.clone()))),
        );
    }
    let page: Vec<(i64, String)> = q.load(conn)?;
    let last = page.last().cloned();
    let members: Vec<&String> = page.iter().map(|(_, m)| m).collect();
    let held: Vec<(String, i64)> = lots::table
        .filter(lots::member_id.eq_any(members))
        .filter(lots::unit.eq(unit))
        .filter(lots::remaining_minor.gt(0))
        .select((lots::member_id, lots::remaining_minor))
        .load(conn)?;
    let mut out = Vec::new();
    for (at, member) in page {
        let sum: i64 = held
            .iter()
            .filter(|(m, _)| *m == member)
            .map(|(_, r)| *r)
            .sum();
        if sum > 0 {
            out.push(((at, member), sum));
        }
    }
    Ok((out, last))
}

/// Marks the notices `(member, expires_day)` of `unit` as sent and returns those that were
/// not sent before (in the order given).
pub fn mark_sent_tx(
    tx: &mut WriteTx<'_>,
    unit: &str,
    notices: &[(String, i32)],
) -> Result<Vec<(String, i32)>, StoreError> {
    let now = tx.now_us();
    let conn = tx.db()?;
    let members: Vec<&String> = notices.iter().map(|(m, _)| m).collect();
    let sent: Vec<(String, i32)> = expiry_notices::table
        .filter(expiry_notices::unit.eq(unit))
        .filter(expiry_notices::member_id.eq_any(members))
        .select((expiry_notices::member_id, expiry_notices::expires_day))
        .load(conn)?;
    let mut fresh: Vec<(String, i32)> = Vec::new();
    for n in notices {
        if !sent.contains(n) && !fresh.contains(n) {
            fresh.push(n.clone());
        }
    }
    for (member, day) in &fresh {
        diesel::insert_into(expiry_notices::table)
            .values((
                expiry_notices::member_id.eq(member),
                expiry_notices::unit.eq(unit),
                expiry_notices::expires_day.eq(day),
                expiry_notices::sent_at_us.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(fresh)
}

/// The open lots of `unit` held by `members`: `(member_id, clock_us, remaining_minor)`.
pub fn open_lots_of(
    conn: &mut DbConn,
    unit: &str,
    members: &[String],
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    Ok(lots::table
        .filter(lots::member_id.eq_any(members))
        .filter(lots::unit.eq(unit))
        .filter(lots::remaining_minor.gt(0))
        .select((lots::member_id, lots::clock_us, lots::remaining_minor))
        .load(conn)?)
}
