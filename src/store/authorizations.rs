//! Members' spending authorisations for one partner, one unit, up to a total, until a time.

use diesel::prelude::*;

use super::StoreError;
pub use super::rows::AuthorizationRow;
use super::schema::authorizations;
use super::tx::WriteTx;

pub fn insert(tx: &mut WriteTx<'_>, row: &AuthorizationRow) -> Result<(), StoreError> {
    diesel::insert_into(authorizations::table)
        .values(row)
        .execute(tx.db()?)?;
    Ok(())
}

/// One authorisation as the writer knows it (used points include this batch's).
pub fn get_tx(tx: &mut WriteTx<'_>, code: &str) -> Result<Option<AuthorizationRow>, StoreError> {
    if let Some(row) = tx.state.cached_authorization(code) {
        return Ok(Some(row.clone()));
    }
    // A row not cached has no pending change: the table can be read as it is.
    let row: Option<AuthorizationRow> = authorizations::table
        .find(code)
        .select(AuthorizationRow::as_select())
        .first(tx.conn_unsynced())
        .optional()?;
    if let Some(row) = &row {
        tx.state.remember_authorization(row.clone());
    }
    Ok(row)
}

/// Records points spent under an authorisation read with [`get_tx`]; the table refuses more
/// than its maximum when the batch is written.
pub fn use_points(tx: &mut WriteTx<'_>, code: &str, points_minor: i64) -> Result<(), StoreError> {
    if get_tx(tx, code)?.is_none() || !tx.state.use_authorization(code, points_minor) {
        return Err(StoreError::Conflict(format!("no authorization {code}")));
    }
    Ok(())
}

/// Ends every authorisation of `member_id` still open (erasure); the writer forgets the ones it
/// held. Returns how many ended.
pub fn revoke_all(tx: &mut WriteTx<'_>, member_id: &str) -> Result<usize, StoreError> {
    let now = tx.now_us();
    let ended = diesel::update(
        authorizations::table
            .filter(authorizations::member_id.eq(member_id))
            .filter(authorizations::expires_at_us.gt(now)),
    )
    .set(authorizations::expires_at_us.eq(now))
    .execute(tx.db()?)?;
    tx.state.forget_authorizations_of(member_id);
    Ok(ended)
}

/// A member's authorisations, newest first, at most `limit` (the member's export).
pub fn of_member(
    conn: &mut super::DbConn,
    member_id: &str,
    limit: i64,
) -> Result<Vec<AuthorizationRow>, StoreError> {
    Ok(authorizations::table
        .filter(authorizations::member_id.eq(member_id))
        .order(authorizations::created_at_us.desc())
        .limit(limit)
        .select(AuthorizationRow::as_select())
        .load(conn)?)
}
