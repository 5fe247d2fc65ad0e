//! Idempotency records: the first response to a partner's request, kept under its key.

use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::sequencer::WriteTx;
use super::{DbConn, StoreError, now_us};

/// A response given once, to be given again byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

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

pub fn lookup(conn: &mut DbConn, partner: &str, key: &str) -> Result<Option<Recorded>, StoreError> {
    find(conn, partner, key)
}

pub fn lookup_tx(
    tx: &mut WriteTx<'_>,
    partner: &str,
    key: &str,
) -> Result<Option<Recorded>, StoreError> {
    find(tx.conn, partner, key)
}

/// Keeps the response in the same transaction as the write it answers.
pub fn record(
    tx: &mut WriteTx<'_>,
    partner: &str,
    key: &str,
    response: &Recorded,
) -> Result<(), StoreError> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::partner.eq(partner),
            idempotency_keys::idem_key.eq(key),
            idempotency_keys::request_hash.eq(&response.request_hash),
            idempotency_keys::status.eq(i32::from(response.status)),
            idempotency_keys::body.eq(&response.body),
            idempotency_keys::created_at_us.eq(now_us()),
        ))
        .execute(tx.conn)?;
    Ok(())
}
