//! Member card numbers: the one in use per member, the revoked ones kept so that a number is
//! never issued twice.

use diesel::prelude::*;

use super::schema::{cards, members};
use super::tx::WriteTx;
use super::{DbConn, StoreError};
use crate::ledger::{CardNumber, CardPrefix};

/// What a card number names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    pub member_id: String,
    pub revoked: bool,
}

/// Issues `number` to the member, inside a write.
pub fn issue(tx: &mut WriteTx<'_>, member_id: &str, number: &str) -> Result<(), StoreError> {
    let now = tx.now_us();
    diesel::insert_into(cards::table)
        .values((
            cards::number.eq(number),
            cards::member_id.eq(member_id),
            cards::issued_at_us.eq(now),
        ))
        .execute(tx.db()?)?;
    Ok(())
}

/// Issues the member a card with a fresh number under `prefix`, inside a write: random, and
/// checked against every number ever issued (11 random digits meet an earlier one now and then
/// in a network of millions).
pub fn issue_fresh(
    tx: &mut WriteTx<'_>,
    member_id: &str,
    prefix: &CardPrefix,
) -> Result<CardNumber, StoreError> {
    let number = loop {
        let number = CardNumber::random(prefix).map_err(|e| StoreError::Database(e.to_string()))?;
        if lookup_tx(tx, number.as_str())?.is_none() {
            break number;
        }
    };
    issue(tx, member_id, number.as_str())?;
    Ok(number)
}

/// The member's card in use.
pub fn active_for(conn: &mut DbConn, member_id: &str) -> Result<Option<String>, StoreError> {
    Ok(cards::table
        .filter(cards::member_id.eq(member_id))
        .filter(cards::revoked_at_us.is_null())
        .select(cards::number)
        .first(conn)
        .optional()?)
}

/// [`active_for`] inside a write.
pub fn active_for_tx(tx: &mut WriteTx<'_>, member_id: &str) -> Result<Option<String>, StoreError> {
    active_for(tx.db()?, member_id)
}

/// The member a card number names, and whether the card was replaced.
pub fn lookup(conn: &mut DbConn, number: &str) -> Result<Option<CardRow>, StoreError> {
    let row: Option<(String, Option<i64>)> = cards::table
        .find(number)
        .select((cards::member_id, cards::revoked_at_us))
        .first(conn)
        .optional()?;
    Ok(row.map(|(member_id, revoked)| CardRow {
        member_id,
        revoked: revoked.is_some(),
    }))
}

/// [`lookup`] inside a write.
pub fn lookup_tx(tx: &mut WriteTx<'_>, number: &str) -> Result<Option<CardRow>, StoreError> {
    lookup(tx.db()?, number)
}

/// Revokes the member's card in use; whether there was one.
pub fn revoke(tx: &mut WriteTx<'_>, member_id: &str) -> Result<bool, StoreError> {
    let now = tx.now_us();
    let revoked = diesel::update(
        cards::table
            .filter(cards::member_id.eq(member_id))
            .filter(cards::revoked_at_us.is_null()),
    )
    .set(cards::revoked_at_us.eq(now))
    .execute(tx.db()?)?;
    Ok(revoked == 1)
}

/// Every card a member was issued, in use or replaced: `(number, issued_at_us, revoked_at_us)`.
pub fn history_of(
    conn: &mut DbConn,
    member_id: &str,
) -> Result<Vec<(String, i64, Option<i64>)>, StoreError> {
    Ok(cards::table
        .filter(cards::member_id.eq(member_id))
        .order(cards::issued_at_us)
        .select((cards::number, cards::issued_at_us, cards::revoked_at_us))
        .load(conn)?)
}

/// Members without a card in use, at most `limit` of them: the ones enrolled before cards.
pub fn members_without(conn: &mut DbConn, limit: i64) -> Result<Vec<String>, StoreError> {
    let with_card = cards::table
        .filter(cards::revoked_at_us.is_null())
        .select(cards::member_id);
    Ok(members::table
        .filter(diesel::dsl::not(members::id.eq_any(with_card)))
        .select(members::id)
        .limit(limit)
        .load(conn)?)
}
