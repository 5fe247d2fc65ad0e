//! Members and their links to partners (a partner's own id for the member: `external_id`).

use diesel::prelude::*;

use super::schema::{member_links, members};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// A member as stored: id and whether other brands may see their balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub id: String,
    pub share_balances: bool,
}

/// Finds the member a partner knows by `external_id`, or enrols a new one. Returns the member
/// and whether it was created now.
pub fn enrol(
    tx: &mut WriteTx<'_>,
    partner: &str,
    external_id: &str,
    new_id: &str,
    share_balances: bool,
) -> Result<(String, bool), StoreError> {
    let existing: Option<String> = member_links::table
        .find((partner, external_id))
        .select(member_links::member_id)
        .first(tx.db()?)
        .optional()?;
    if let Some(id) = existing {
        return Ok((id, false));
    }
    let now = tx.now_us();
    diesel::insert_into(members::table)
        .values((
            members::id.eq(new_id),
            members::share_balances.eq(i32::from(share_balances)),
            members::created_at_us.eq(now),
        ))
        .execute(tx.db()?)?;
    diesel::insert_into(member_links::table)
        .values((
            member_links::partner.eq(partner),
            member_links::external_id.eq(external_id),
            member_links::member_id.eq(new_id),
            member_links::created_at_us.eq(now),
        ))
        .execute(tx.db()?)?;
    Ok((new_id.to_owned(), true))
}

fn find(conn: &mut DbConn, id: &str) -> Result<Option<MemberRow>, StoreError> {
    let row: Option<(String, i32)> = members::table
        .find(id)
        .select((members::id, members::share_balances))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, share)| MemberRow {
        id,
        share_balances: share == 1,
    }))
}

/// A member by id.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<MemberRow>, StoreError> {
    find(conn, id)
}

/// A member by id, inside a write.
pub fn get_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<Option<MemberRow>, StoreError> {
    find(tx.conn_unsynced(), id)
}

/// Whether a member exists, inside a write (members are never deleted, so the writer
/// remembers the ones it has seen).
pub fn exists_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<bool, StoreError> {
    if tx.state.knows_member(id) {
        return Ok(true);
    }
    let found = find(tx.conn_unsynced(), id)?.is_some();
    if found {
        tx.state.remember_member(id);
    }
    Ok(found)
}

/// The partner's own id for the member, when the partner knows the member.
pub fn link(
    conn: &mut DbConn,
    partner: &str,
    member_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(member_links::table
        .filter(member_links::partner.eq(partner))
        .filter(member_links::member_id.eq(member_id))
        .select(member_links::external_id)
        .first(conn)
        .optional()?)
}

/// Sets whether other brands may see the member's balances.
pub fn set_consent(
    tx: &mut WriteTx<'_>,
    id: &str,
    share_balances: bool,
) -> Result<bool, StoreError> {
    let changed = diesel::update(members::table.find(id))
        .set(members::share_balances.eq(i32::from(share_balances)))
        .execute(tx.db()?)?;
    Ok(changed == 1)
}

/// Whether the partner knows the member, inside a write.
pub fn linked_tx(tx: &mut WriteTx<'_>, partner: &str, member_id: &str) -> Result<bool, StoreError> {
    Ok(link(tx.conn_unsynced(), partner, member_id)?.is_some())
}
