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
