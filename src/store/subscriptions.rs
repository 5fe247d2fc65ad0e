//! Paid tiers bought: one row per purchase, and its cancellation.

use diesel::prelude::*;

use super::schema::subscriptions;
use super::tx::WriteTx;
use super::{DbConn, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionRow {
    pub id: String,
    pub member_id: String,
    pub partner: String,
    pub tier: String,
    pub price_minor: i64,
    pub entry_id: String,
    pub starts_at_us: i64,
    pub ends_at_us: i64,
    pub created_at_us: i64,
    pub cancelled_at_us: Option<i64>,
    pub refund_entry_id: Option<String>,
}

pub fn insert_tx(tx: &mut WriteTx<'_>, row: &SubscriptionRow) -> Result<(), StoreError> {
    diesel::insert_into(subscriptions::table)
        .values(row)
        .execute(tx.db()?)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?)
}

/// A subscription inside a write (the table is only ever written directly).
pub fn get_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
    get(tx.conn_unsynced(), id)
}

/// A member's subscriptions, newest first, at most `limit` (their export).
pub fn of_member(
    conn: &mut DbConn,
    member_id: &str,
    limit: i64,
) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .filter(subscriptions::member_id.eq(member_id))
        .order(subscriptions::ends_at_us.desc())
        .limit(limit)
        .select(SubscriptionRow::as_select())
        .load(conn)?)
}

/// The member's subscription (not refunded) that ends last, if any: a renewal starts where it
/// ends.
pub fn latest_tx(
    tx: &mut WriteTx<'_>,
    member_id: &str,
) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .filter(subscriptions::member_id.eq(member_id))
        .filter(subscriptions::refund_entry_id.is_null())
        .order(subscriptions::ends_at_us.desc())
        .select(SubscriptionRow::as_select())
        .first(tx.conn_unsynced())
        .optional()?)
}

/// Marks a subscription cancelled, with its refund when it had one.
pub fn cancel_tx(
    tx: &mut WriteTx<'_>,
    id: &str,
    at_us: i64,
    refund_entry_id: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::cancelled_at_us.eq(at_us),
            subscriptions::refund_entry_id.eq(refund_entry_id),
        ))
        .execute(tx.db()?)?;
    Ok(())
}
