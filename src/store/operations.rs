//! The mutable side of earns, redemptions, holds and captures: status, points reversed so far,
//! and when a hold lapses. The entries themselves never change.

use diesel::prelude::*;

pub use super::rows::Operation;
use super::schema::operations;
use super::status::{OperationStatus, UnknownText};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The most lapsed holds one sweep closes.
pub const MAX_DUE_PER_SWEEP: i64 = 500;

/// Written with the batch's other rows.
pub fn insert(tx: &mut WriteTx<'_>, op: Operation) -> Result<(), StoreError> {
    tx.state.push_operation(op);
    Ok(())
}

fn find(conn: &mut DbConn, entry_id: &str) -> Result<Option<Operation>, StoreError> {
    Ok(operations::table
        .find(entry_id)
        .select(Operation::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConn, entry_id: &str) -> Result<Option<Operation>, StoreError> {
    find(conn, entry_id)
}

pub fn get_tx(tx: &mut WriteTx<'_>, entry_id: &str) -> Result<Option<Operation>, StoreError> {
    find(tx.db_read()?, entry_id)
}

/// Closes a hold (or marks an operation reversed): its new status and the entry that did it.
pub fn set_status(
    tx: &mut WriteTx<'_>,
    entry_id: &str,
    status: OperationStatus,
    closed_by: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(operations::table.find(entry_id))
        .set((
            operations::status.eq(status.as_str()),
            operations::closed_by.eq(closed_by),
        ))
        .execute(tx.db()?)?;
    Ok(())
}

/// Adds reversed points; the table's CHECK refuses more than the operation's points.
pub fn add_reversed(
    tx: &mut WriteTx<'_>,
    entry_id: &str,
    points_minor: i64,
) -> Result<(), StoreError> {
    diesel::update(operations::table.find(entry_id))
        .set(operations::reversed_minor.eq(operations::reversed_minor + points_minor))
        .execute(tx.db()?)?;
    Ok(())
}

/// Pending holds whose time ran out before `now_us`, oldest first.
pub fn due_holds(conn: &mut DbConn, now_us: i64) -> Result<Vec<String>, StoreError> {
    Ok(operations::table
        .filter(operations::status.eq(OperationStatus::Pending.as_str()))
        .filter(operations::expires_at_us.le(now_us))
        .order(operations::expires_at_us)
        .limit(MAX_DUE_PER_SWEEP)
        .select(operations::entry_id)
        .load(conn)?)
}

/// A member's holds still open (pending), at most `limit` of them (erasure voids them).
pub fn open_holds_of(
    tx: &mut WriteTx<'_>,
    member_id: &str,
    limit: i64,
) -> Result<Vec<Operation>, StoreError> {
    Ok(operations::table
        .filter(operations::member_id.eq(member_id))
        .filter(operations::status.eq(OperationStatus::Pending.as_str()))
        .order(operations::entry_id)
        .limit(limit)
        .select(Operation::as_select())
        .load(tx.db_read()?)?)
}

/// The status of each of `entry_ids` that has one.
pub fn statuses(
    conn: &mut DbConn,
    entry_ids: &[String],
) -> Result<Vec<(String, OperationStatus)>, StoreError> {
    let rows: Vec<(String, String)> = operations::table
        .filter(operations::entry_id.eq_any(entry_ids))
        .select((operations::entry_id, operations::status))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, status)| {
            let status = status
                .parse()
                .map_err(|e: UnknownText| StoreError::Corrupt(e.to_string()))?;
            Ok((id, status))
        })
        .collect()
}
