//! Idempotency records: the first response to a partner's request, kept under its key.

use diesel::prelude::*;

pub use super::rows::{OwnerKey, Recorded};
use super::schema::idempotency_keys;
use super::tx::WriteTx;
use super::{DbConn, StoreError};

fn find(conn: &mut DbConn, partner: &str, key: &str) -> Result<Option<Recorded>, StoreError> {
    let row: Option<(String, i32, String)> = idempotency_keys::table
        .find((partner, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::body,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(request_hash, status, body)| Recorded {
        request_hash,
        status: u16::try_from(status).unwrap_or(500),
        body,
    }))
}

/// Inside the write: a response recorded earlier in this batch counts too.
pub fn lookup_tx(
    tx: &mut WriteTx<'_>,
    partner: &str,
    key: &str,
) -> Result<Option<Recorded>, StoreError> {
    if let Some(recorded) = tx.state.pending_idempotency(partner, key) {
        return Ok(Some(recorded.clone()));
    }
    if tx.state.is_reserved(partner, key) {
        // The writer keeps one job per key in a batch; this is a write that did not say its key.
        return Err(StoreError::Conflict(format!(
            "a request with idempotency key {key} is still being answered; retry"
        )));
    }
    if let Some(read_ahead) = tx.state.prefetched_idempotency(partner, key) {
        return Ok(read_ahead.cloned());
    }
    // Records not pending in memory are in the database already.
    find(tx.conn_unsynced(), partner, key)
}

/// Keeps the response in the same transaction as the write it answers (written with the
/// batch's other rows).
pub fn record(
    tx: &mut WriteTx<'_>,
    partner: &str,
    key: &str,
    response: Recorded,
) -> Result<(), StoreError> {
    if tx.state.pending_idempotency(partner, key).is_some() {
        return Err(StoreError::Conflict(format!(
            "idempotency key {key} recorded twice in one batch"
        )));
    }
    let member = tx.state.job_member().map(str::to_owned);
    tx.state.push_idempotency(partner, key, response, member);
    Ok(())
}

/// Removes the records of answers that named `member_id` (erasure). By the partial index.
pub fn erase_member(tx: &mut WriteTx<'_>, member_id: &str) -> Result<usize, StoreError> {
    let owner = format!("member:{member_id}");
    let conn = tx.db()?;
    let named =
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::member_id.eq(member_id)))
            .execute(&mut *conn)?;
    let own = diesel::delete(idempotency_keys::table.filter(idempotency_keys::partner.eq(owner)))
        .execute(conn)?;
    Ok(named + own)
}
