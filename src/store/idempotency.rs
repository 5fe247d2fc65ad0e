//! Idempotency records: the first response to a partner's request, kept under its key.

use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::sequencer::WriteTx;
use super::{DbConn, StoreError, batch};
use diesel::sql_types::{Integer, Text};

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

/// An idempotency key and the owner of keys it belongs to: `(owner, key)`.
pub type OwnerKey = (String, String);

#[derive(diesel::QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Text)]
    partner: String,
    #[diesel(sql_type = Text)]
    idem_key: String,
    #[diesel(sql_type = Text)]
    request_hash: String,
    #[diesel(sql_type = Integer)]
    status: i32,
    #[diesel(sql_type = Text)]
    body: String,
}

/// Most `(owner, key)` pairs looked up by one statement.
const MAX_KEYS_PER_LOOKUP: usize = batch::MAX_BINDS_PER_STATEMENT / 2;

/// `SELECT … WHERE (partner, idem_key) IN (VALUES …)` for `keys`; like the writer's inserts
/// (see `batch::insert_rows`), a statement diesel may keep prepared, one per number of keys.
struct KeyLookup<'k> {
    keys: &'k [&'k OwnerKey],
}

impl diesel::query_builder::QueryId for KeyLookup<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for KeyLookup<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<batch::Backend> for KeyLookup<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, batch::Backend>,
    ) -> diesel::QueryResult<()> {
        out.push_sql(
            "SELECT partner, idem_key, request_hash, status, body FROM idempotency_keys \
             WHERE (partner, idem_key) IN (VALUES ",
        );
        for (i, (owner, key)) in self.keys.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, str>(owner)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(key)?;
            out.push_sql(")");
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<Conn> diesel::query_dsl::RunQueryDsl<Conn> for KeyLookup<'_> {}

/// The records of many `(owner, key)` pairs in one query (the writer reads a batch's keys
/// ahead). Pairs without a record are absent from the answer.
pub(super) fn lookup_many(
    conn: &mut DbConn,
    keys: &[&OwnerKey],
) -> Result<Vec<(OwnerKey, Recorded)>, StoreError> {
    let mut rows: Vec<KeyRow> = Vec::with_capacity(keys.len());
    let mut rest = keys;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(batch::statement_rows(rest.len(), MAX_KEYS_PER_LOOKUP));
        rest = tail;
        rows.extend(KeyLookup { keys: chunk }.load::<KeyRow>(conn)?);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.partner, r.idem_key),
                Recorded {
                    request_hash: r.request_hash,
                    status: u16::try_from(r.status).unwrap_or(500),
                    body: r.body,
                },
            )
        })
        .collect())
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
    tx.state.push_idempotency(partner, key, response);
    Ok(())
}
