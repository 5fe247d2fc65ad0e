//! Rewards and their claims: the catalogue, a place taken atomically (never past capacity), and
//! each claim's state.

use diesel::prelude::*;

use super::schema::{reward_claims, rewards};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The most rewards one listing returns.
pub const MAX_REWARDS_PAGE: i64 = 200;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rewards)]
pub struct RewardRow {
    pub id: String,
    pub partner: String,
    pub name: String,
    pub description: String,
    pub unit: String,
    pub price_minor: i64,
    pub capacity: i64,
    pub claimed: i64,
    pub starts_at_us: Option<i64>,
    pub ends_at_us: Option<i64>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = reward_claims)]
pub struct ClaimRow {
    pub code: String,
    pub reward_id: String,
    pub member_id: String,
    pub status: String,
    pub entry_id: String,
    pub refund_entry_id: Option<String>,
    pub created_at_us: i64,
    pub closed_at_us: Option<i64>,
}

pub fn insert_tx(tx: &mut WriteTx<'_>, row: &RewardRow) -> Result<(), StoreError> {
    diesel::insert_into(rewards::table)
        .values(row)
        .execute(tx.db()?)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<RewardRow>, StoreError> {
    Ok(rewards::table
        .find(id)
        .select(RewardRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<Option<RewardRow>, StoreError> {
    get(tx.conn_unsynced(), id)
}

/// Rewards not yet over at `now_us`, oldest first, after `(created_at_us, id)`.
pub fn open_page(
    conn: &mut DbConn,
    now_us: i64,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<RewardRow>, StoreError> {
    let mut q = rewards::table
        .filter(
            rewards::ends_at_us
                .is_null()
                .or(rewards::ends_at_us.gt(now_us)),
        )
        .order((rewards::created_at_us, rewards::id))
        .limit(limit)
        .select(RewardRow::as_select())
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            rewards::created_at_us
                .gt(at)
                .or(rewards::created_at_us.eq(at).and(rewards::id.gt(id))),
        );
    }
    Ok(q.load(conn)?)
}

/// Takes one place of `id` if one is left: one statement, so two claims for the last place
/// cannot both take it. Whether it did.
pub fn take_place_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<bool, StoreError> {
    let taken = diesel::update(
        rewards::table
            .find(id)
            .filter(rewards::claimed.lt(rewards::capacity)),
    )
    .set(rewards::claimed.eq(rewards::claimed + 1_i64))
    .execute(tx.db()?)?;
    Ok(taken == 1)
}

/// Gives a place of `id` back (a cancelled claim).
pub fn give_place_back_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<(), StoreError> {
    diesel::update(rewards::table.find(id).filter(rewards::claimed.gt(0_i64)))
        .set(rewards::claimed.eq(rewards::claimed - 1_i64))
        .execute(tx.db()?)?;
    Ok(())
}

pub fn insert_claim_tx(tx: &mut WriteTx<'_>, row: &ClaimRow) -> Result<(), StoreError> {
    diesel::insert_into(reward_claims::table)
        .values(row)
        .execute(tx.db()?)?;
    Ok(())
}

pub fn claim_tx(tx: &mut WriteTx<'_>, code: &str) -> Result<Option<ClaimRow>, StoreError> {
    Ok(reward_claims::table
        .find(code)
        .select(ClaimRow::as_select())
        .first(tx.conn_unsynced())
        .optional()?)
}

/// Closes a claim: fulfilled, or cancelled with its refund.
pub fn close_claim_tx(
    tx: &mut WriteTx<'_>,
    code: &str,
    status: &str,
    refund_entry_id: Option<&str>,
) -> Result<(), StoreError> {
    let now = tx.now_us();
    diesel::update(reward_claims::table.find(code))
        .set((
            reward_claims::status.eq(status),
            reward_claims::refund_entry_id.eq(refund_entry_id),
            reward_claims::closed_at_us.eq(now),
        ))
        .execute(tx.db()?)?;
    Ok(())
}

/// A member's claims with their rewards, newest first, at most `limit`.
pub fn claims_of(
    conn: &mut DbConn,
    member_id: &str,
    limit: i64,
) -> Result<Vec<(ClaimRow, RewardRow)>, StoreError> {
    Ok(reward_claims::table
        .inner_join(rewards::table.on(rewards::id.eq(reward_claims::reward_id)))
        .filter(reward_claims::member_id.eq(member_id))
        .order((
            reward_claims::created_at_us.desc(),
            reward_claims::code.desc(),
        ))
        .limit(limit)
        .select((ClaimRow::as_select(), RewardRow::as_select()))
        .load(conn)?)
}

/// A member's open claims (erasure cancels them).
pub fn open_claims_tx(tx: &mut WriteTx<'_>, member_id: &str) -> Result<Vec<ClaimRow>, StoreError> {
    Ok(reward_claims::table
        .filter(reward_claims::member_id.eq(member_id))
        .filter(reward_claims::status.eq("claimed"))
        .select(ClaimRow::as_select())
        .load(tx.conn_unsynced())?)
}
