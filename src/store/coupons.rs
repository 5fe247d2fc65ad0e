//! Campaigns (budget counters, terms) and coupons (single-use codes and their states).

use diesel::prelude::*;

pub use super::rows::CampaignRow;
use super::schema::{campaigns, coupons};
use super::status::CouponStatus;
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The most lapsed coupons one sweep closes.
pub const MAX_DUE_PER_SWEEP: i64 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = coupons)]
pub struct CouponRow {
    pub code: String,
    pub campaign_id: String,
    pub member_id: Option<String>,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: CouponStatus,
    pub reserved_minor: i64,
    pub expires_at_us: i64,
    pub redemption_entry: Option<String>,
    pub discount_minor: Option<i64>,
    pub redeemed_by: Option<String>,
    pub redeemed_for: Option<String>,
    pub created_at_us: i64,
}

pub fn insert_campaign(tx: &mut WriteTx<'_>, row: &CampaignRow) -> Result<(), StoreError> {
    diesel::insert_into(campaigns::table)
        .values(row)
        .execute(tx.db()?)?;
    Ok(())
}

fn find_campaign(conn: &mut DbConn, id: &str) -> Result<Option<CampaignRow>, StoreError> {
    Ok(campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn campaign(conn: &mut DbConn, id: &str) -> Result<Option<CampaignRow>, StoreError> {
    find_campaign(conn, id)
}

pub fn campaign_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<Option<CampaignRow>, StoreError> {
    find_campaign(tx.db()?, id)
}

/// Campaigns whose trigger is a purchase at `partner`.
/// Read once per batch: an earn at a busy partner is the hot path, campaigns change rarely.
pub fn triggered_by(tx: &mut WriteTx<'_>, partner: &str) -> Result<Vec<CampaignRow>, StoreError> {
    if let Some(rows) = tx.state.cached_campaigns(partner) {
        return Ok(rows.clone());
    }
    // Campaigns are only ever written directly, never held back: the table is current.
    let rows: Vec<CampaignRow> = campaigns::table
        .filter(campaigns::trigger_partner.eq(partner))
        .order(campaigns::created_at_us)
        .select(CampaignRow::as_select())
        .load(tx.conn_unsynced())?;
    tx.state.remember_campaigns(partner, rows.clone());
    Ok(rows)
}

/// Moves a campaign's counters; the table's CHECK refuses reserving past the budget.
pub fn adjust_campaign(
    tx: &mut WriteTx<'_>,
    id: &str,
    reserved_delta: i64,
    used_delta: i64,
    issued_delta: i64,
    redeemed_delta: i64,
) -> Result<(), StoreError> {
    diesel::update(campaigns::table.find(id))
        .set((
            campaigns::reserved_minor.eq(campaigns::reserved_minor + reserved_delta),
            campaigns::used_minor.eq(campaigns::used_minor + used_delta),
            campaigns::issued_count.eq(campaigns::issued_count + issued_delta),
            campaigns::redeemed_count.eq(campaigns::redeemed_count + redeemed_delta),
        ))
        .execute(tx.db()?)?;
    Ok(())
}

pub fn insert_coupon(tx: &mut WriteTx<'_>, row: &CouponRow) -> Result<(), StoreError> {
    diesel::insert_into(coupons::table)
        .values(row.clone())
        .execute(tx.db()?)?;
    Ok(())
}

fn find_coupon(conn: &mut DbConn, code: &str) -> Result<Option<CouponRow>, StoreError> {
    Ok(coupons::table
        .find(code)
        .select(CouponRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn coupon(conn: &mut DbConn, code: &str) -> Result<Option<CouponRow>, StoreError> {
    find_coupon(conn, code)
}

pub fn coupon_tx(tx: &mut WriteTx<'_>, code: &str) -> Result<Option<CouponRow>, StoreError> {
    find_coupon(tx.db()?, code)
}

/// The coupon a redemption entry used, if that entry redeemed one.
pub fn coupon_by_redemption(
    tx: &mut WriteTx<'_>,
    entry_id: &str,
) -> Result<Option<CouponRow>, StoreError> {
    Ok(coupons::table
        .filter(coupons::redemption_entry.eq(entry_id))
        .select(CouponRow::as_select())
        .first(tx.db()?)
        .optional()?)
}

/// Writes a coupon's new state after a redemption, a refund, a void or an expiry.
pub fn update_coupon(tx: &mut WriteTx<'_>, row: &CouponRow) -> Result<(), StoreError> {
    diesel::update(coupons::table.find(&row.code))
        .set((
            coupons::status.eq(row.status.as_str()),
            coupons::redemption_entry.eq(&row.redemption_entry),
            coupons::discount_minor.eq(row.discount_minor),
            coupons::redeemed_by.eq(&row.redeemed_by),
            coupons::redeemed_for.eq(&row.redeemed_for),
        ))
        .execute(tx.db()?)?;
    Ok(())
}

/// How many coupons of a campaign were issued to `member` (not voided).
pub fn issued_to(tx: &mut WriteTx<'_>, campaign: &str, member: &str) -> Result<i64, StoreError> {
    Ok(coupons::table
        .filter(coupons::campaign_id.eq(campaign))
        .filter(coupons::member_id.eq(member))
        .filter(coupons::status.ne(CouponStatus::Voided.as_str()))
        .count()
        .get_result(tx.db()?)?)
}

/// How many coupons of a campaign, issued to anyone, were redeemed for `member`.
pub fn redeemed_for(tx: &mut WriteTx<'_>, campaign: &str, member: &str) -> Result<i64, StoreError> {
    Ok(coupons::table
        .filter(coupons::campaign_id.eq(campaign))
        .filter(coupons::redeemed_for.eq(member))
        .filter(coupons::status.eq(CouponStatus::Redeemed.as_str()))
        .count()
        .get_result(tx.db()?)?)
}

/// Issued coupons whose time ran out before `now_us`.
pub fn due_coupons(conn: &mut DbConn, now_us: i64) -> Result<Vec<String>, StoreError> {
    Ok(coupons::table
        .filter(coupons::status.eq(CouponStatus::Issued.as_str()))
        .filter(coupons::expires_at_us.le(now_us))
        .order(coupons::expires_at_us)
        .limit(MAX_DUE_PER_SWEEP)
        .select(coupons::code)
        .load(conn)?)
}

/// A member's coupons that can still be used.
/// A member's coupons still issued, expired or not, at most `limit` of them (erasure cancels
/// them).
pub fn issued_coupons_of(
    tx: &mut WriteTx<'_>,
    member: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(coupons::table
        .filter(coupons::member_id.eq(member))
        .filter(coupons::status.eq(CouponStatus::Issued.as_str()))
        .order(coupons::code)
        .limit(limit)
        .select(coupons::code)
        .load(tx.db_read()?)?)
}

/// Every coupon ever issued to a member, newest first, at most `limit` (the member's export).
pub fn all_of_member(
    conn: &mut DbConn,
    member: &str,
    limit: i64,
) -> Result<Vec<CouponRow>, StoreError> {
    Ok(coupons::table
        .filter(coupons::member_id.eq(member))
        .order(coupons::created_at_us.desc())
        .limit(limit)
        .select(CouponRow::as_select())
        .load(conn)?)
}

pub fn open_for_member(
    conn: &mut DbConn,
    member: &str,
    now_us: i64,
) -> Result<Vec<CouponRow>, StoreError> {
    Ok(coupons::table
        .filter(coupons::member_id.eq(member))
        .filter(coupons::status.eq(CouponStatus::Issued.as_str()))
        .filter(coupons::expires_at_us.gt(now_us))
        .order(coupons::expires_at_us)
        .limit(MAX_DUE_PER_SWEEP)
        .select(CouponRow::as_select())
        .load(conn)?)
}
