//! Members' spending authorisations for one partner, one unit, up to a total, until a time.

use diesel::prelude::*;

use super::StoreError;
use super::schema::authorizations;
use super::sequencer::WriteTx;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorizations)]
pub struct AuthorizationRow {
    pub code: String,
    pub member_id: String,
    pub partner: String,
    pub unit: String,
    pub max_minor: i64,
    pub used_minor: i64,
    pub expires_at_us: i64,
    pub created_at_us: i64,
}

pub fn insert(tx: &mut WriteTx<'_>, row: &AuthorizationRow) -> Result<(), StoreError> {
    diesel::insert_into(authorizations::table)
        .values(row)
        .execute(tx.conn)?;
    Ok(())
}

pub fn get_tx(tx: &mut WriteTx<'_>, code: &str) -> Result<Option<AuthorizationRow>, StoreError> {
    Ok(authorizations::table
        .find(code)
        .select(AuthorizationRow::as_select())
        .first(tx.conn)
        .optional()?)
}

/// Records points spent under an authorisation; the table refuses more than its maximum.
pub fn use_points(tx: &mut WriteTx<'_>, code: &str, points_minor: i64) -> Result<(), StoreError> {
    diesel::update(authorizations::table.find(code))
        .set(authorizations::used_minor.eq(authorizations::used_minor + points_minor))
        .execute(tx.conn)?;
    Ok(())
}
