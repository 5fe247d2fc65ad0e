//! The writer's multi-row `INSERT`s: one statement per table per flush, of a bounded number of
//! shapes the connection keeps prepared (see `insert_rows`).

use diesel::connection::Connection;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::StoreError;
use super::conn::DbConn;
use super::rows::{AuthorizationRow, Operation, Recorded};
use crate::ledger::{RawEntry, RawPosting};

/// Bound parameters per statement, under SQLite's 32 766 and PostgreSQL's 65 535.
pub const MAX_BINDS_PER_STATEMENT: usize = 30_000;
/// Up to this many rows a table's rows go out in one statement of exactly that many rows; each
/// row count is a statement shape the connection keeps prepared.
pub const EXACT_STATEMENT_ROWS: usize = 64;
// SQLite refuses more than 32 766 bound parameters in one statement, PostgreSQL 65 535.
const _: () = assert!(MAX_BINDS_PER_STATEMENT <= 32_766);
const _: () = assert!(EXACT_STATEMENT_ROWS >= 1 && EXACT_STATEMENT_ROWS <= MAX_BINDS_PER_STATEMENT);

pub(super) type Backend = <DbConn as Connection>::Backend;

/// One bound value of a multi-row statement, borrowed from the row it belongs to.
pub(super) enum Value<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Int32(i32),
}

/// A row type the writer inserts in bulk.
pub(super) trait BulkRow {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    /// Appended to the `INSERT`: how a row that exists already is treated.
    const ON_CONFLICT: &'static str = "";
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>);
}

/// An entry row exactly as the chain hashed it (see `ledger.rs` for its reading side); its
/// postings are written as [`PostingLine`]s.
impl BulkRow for RawEntry {
    const TABLE: &'static str = "entries";
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "id",
        "kind",
        "created_at_us",
        "partner",
        "member",
        "reference",
        "reverses",
        "key_id",
        "signature",
        "memo",
        "prev_hash",
        "hash",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Int(self.seq),
            Value::Text(&self.id),
            Value::Text(self.kind.as_str()),
            Value::Int(self.created_at_us),
            Value::OptText(self.partner.as_deref()),
            Value::OptText(self.member.as_deref()),
            Value::OptText(self.reference.as_deref()),
            Value::OptText(self.reverses.as_deref()),
            Value::OptText(self.key_id.as_deref()),
            Value::OptText(self.signature.as_deref()),
            Value::OptText(self.memo.as_deref()),
            Value::Text(&self.prev_hash),
            Value::Text(&self.hash),
        ]);
    }
}

/// One posting row: an entry's posting with its place in the entry.
pub(super) struct PostingLine<'a> {
    entry_seq: i64,
    line: i32,
    posting: &'a RawPosting,
}

impl PostingLine<'_> {
    /// The posting rows of `entries`, in order.
    pub(super) fn of(entries: &[RawEntry]) -> Vec<PostingLine<'_>> {
        entries
            .iter()
            .flat_map(|e| {
                e.postings
                    .iter()
                    .enumerate()
                    .map(|(line, posting)| PostingLine {
                        entry_seq: e.seq,
                        line: i32::try_from(line).unwrap_or(i32::MAX),
                        posting,
                    })
            })
            .collect()
    }
}

impl BulkRow for PostingLine<'_> {
    const TABLE: &'static str = "postings";
    const COLUMNS: &'static [&'static str] =
        &["entry_seq", "line", "account", "unit", "amount_minor"];
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Int(self.entry_seq),
            Value::Int32(self.line),
            Value::Text(&self.posting.account),
            Value::Text(&self.posting.unit),
            Value::Int(self.posting.amount_minor),
        ]);
    }
}

impl BulkRow for Operation {
    const TABLE: &'static str = "operations";
    const COLUMNS: &'static [&'static str] = &[
        "entry_id",
        "kind",
        "partner",
        "member_id",
        "unit",
        "points_minor",
        "reversed_minor",
        "status",
        "expires_at_us",
        "closed_by",
        "created_at_us",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Text(&self.entry_id),
            Value::Text(self.kind.as_str()),
            Value::Text(&self.partner),
            Value::Text(&self.member_id),
            Value::Text(&self.unit),
            Value::Int(self.points_minor),
            Value::Int(self.reversed_minor),
            Value::Text(self.status.as_str()),
            Value::OptInt(self.expires_at_us),
            Value::OptText(self.closed_by.as_deref()),
            Value::Int(self.created_at_us),
        ]);
    }
}

/// A response kept under its idempotency key.
#[derive(Debug, Clone)]
pub(super) struct IdempotencyRecord {
    pub owner: String,
    pub key: String,
    pub recorded: Recorded,
    pub created_at_us: i64,
    /// The member the answer concerns, when the job said (erasure removes the record).
    pub member_id: Option<String>,
}

impl BulkRow for IdempotencyRecord {
    const TABLE: &'static str = "idempotency_keys";
    const COLUMNS: &'static [&'static str] = &[
        "partner",
        "idem_key",
        "request_hash",
        "status",
        "body",
        "created_at_us",
        "member_id",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Text(&self.owner),
            Value::Text(&self.key),
            Value::Text(&self.recorded.request_hash),
            Value::Int32(i32::from(self.recorded.status)),
            Value::Text(&self.recorded.body),
            Value::Int(self.created_at_us),
            Value::OptText(self.member_id.as_deref()),
        ]);
    }
}

/// An account balance to write: inserted when new, overwritten when it exists.
pub(super) struct AccountRecord<'a> {
    pub name: &'a str,
    pub kind: &'static str,
    pub unit: &'a str,
    pub balance_minor: i64,
}

impl BulkRow for AccountRecord<'_> {
    const TABLE: &'static str = "accounts";
    const COLUMNS: &'static [&'static str] = &["name", "kind", "unit", "balance_minor"];
    const ON_CONFLICT: &'static str =
        " ON CONFLICT (name) DO UPDATE SET balance_minor = excluded.balance_minor";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        out.extend([
            Value::Text(self.name),
            Value::Text(self.kind),
            Value::Text(self.unit),
            Value::Int(self.balance_minor),
        ]);
    }
}

/// An authorisation whose used points changed; the row exists, only `used_minor` is written.
pub(super) struct AuthorizationUse<'a>(pub &'a AuthorizationRow);

impl BulkRow for AuthorizationUse<'_> {
    const TABLE: &'static str = "authorizations";
    const COLUMNS: &'static [&'static str] = &[
        "code",
        "member_id",
        "partner",
        "unit",
        "max_minor",
        "used_minor",
        "expires_at_us",
        "created_at_us",
    ];
    const ON_CONFLICT: &'static str =
        " ON CONFLICT (code) DO UPDATE SET used_minor = excluded.used_minor";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        let r = self.0;
        out.extend([
            Value::Text(&r.code),
            Value::Text(&r.member_id),
            Value::Text(&r.partner),
            Value::Text(&r.unit),
            Value::Int(r.max_minor),
            Value::Int(r.used_minor),
            Value::Int(r.expires_at_us),
            Value::Int(r.created_at_us),
        ]);
    }
}

/// Writes `rows` with multi-row `INSERT`s the connection keeps prepared: one statement for up to
/// [`EXACT_STATEMENT_ROWS`] rows, above that power-of-two chunks (300 rows: 256 + 44),
/// so each table has a bounded number of statement shapes, each prepared once: preparing a new
/// statement per table per batch cost the writer dearly, and on PostgreSQL one round trip per
/// table beats a chunk per power of two (docs/performance.md has the figures).
pub(super) fn insert_rows<R: BulkRow>(conn: &mut DbConn, rows: &[R]) -> Result<(), StoreError> {
    let width = R::COLUMNS.len();
    let most_rows = power_of_two_at_most((MAX_BINDS_PER_STATEMENT / width).max(1));
    let mut rest = rows;
    let mut values = Vec::new();
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(statement_rows(rest.len(), most_rows));
        rest = tail;
        values.clear();
        for row in chunk {
            row.values(&mut values);
        }
        assert_eq!(
            values.len(),
            chunk.len() * width,
            "{}: one value per placeholder",
            R::TABLE
        );
        let written = conn.execute_returning_count(&InsertRows::<R> {
            rows: chunk.len(),
            values: &values,
            table: std::marker::PhantomData,
        })?;
        if written != chunk.len() {
            return Err(StoreError::Database(format!(
                "{}: wrote {written} of {} rows",
                R::TABLE,
                chunk.len()
            )));
        }
    }
    Ok(())
}

/// How many of `left` rows (≥ 1) the next statement writes: all of them up to
/// [`EXACT_STATEMENT_ROWS`], else the largest power of two that fits, never over `most_rows`.
pub(super) fn statement_rows(left: usize, most_rows: usize) -> usize {
    let rows = if left <= EXACT_STATEMENT_ROWS {
        left
    } else {
        power_of_two_at_most(left)
    };
    rows.min(most_rows)
}

/// The largest power of two at most `n` (`n` ≥ 1).
fn power_of_two_at_most(n: usize) -> usize {
    debug_assert!(n >= 1);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// `INSERT INTO table (columns) VALUES (…), (…)` with `rows` rows of bound values. Unlike
/// `sql_query`, diesel may keep it prepared: its cache is keyed by the statement's text.
struct InsertRows<'v, 'a, R> {
    rows: usize,
    values: &'v [Value<'a>],
    table: std::marker::PhantomData<R>,
}

impl<R> diesel::query_builder::QueryId for InsertRows<'_, '_, R> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<R: BulkRow> diesel::query_builder::QueryFragment<Backend> for InsertRows<'_, '_, R> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Backend>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("INSERT INTO ");
        out.push_sql(R::TABLE);
        out.push_sql(" (");
        for (i, column) in R::COLUMNS.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_sql(column);
        }
        out.push_sql(") VALUES ");
        let width = R::COLUMNS.len();
        for (i, value) in self.values.iter().enumerate().take(self.rows * width) {
            out.push_sql(match (i % width, i) {
                (0, 0) => "(",
                (0, _) => "), (",
                _ => ", ",
            });
            match value {
                Value::Text(s) => out.push_bind_param::<Text, str>(s)?,
                Value::OptText(s) => out.push_bind_param::<Nullable<Text>, _>(s)?,
                Value::Int(i) => out.push_bind_param::<BigInt, _>(i)?,
                Value::OptInt(i) => out.push_bind_param::<Nullable<BigInt>, _>(i)?,
                Value::Int32(i) => out.push_bind_param::<Integer, _>(i)?,
            }
        }
        out.push_sql(")");
        out.push_sql(R::ON_CONFLICT);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every row is written exactly once, and the statement shapes stay few whatever the
    /// batch's size: that is what keeps the prepared-statement caches bounded.
    #[test]
    fn statements_cover_every_row_with_few_shapes() {
        let most_rows = 1000;
        let mut shapes = HashSet::new();
        for n in 1..=5000 {
            let (mut left, mut statements) = (n, 0);
            while left > 0 {
                let rows = statement_rows(left, most_rows);
                assert!(
                    rows >= 1 && rows <= left && rows <= most_rows,
                    "{n}: {rows}"
                );
                assert!(
                    rows <= EXACT_STATEMENT_ROWS || rows.is_power_of_two() || rows == most_rows
                );
                shapes.insert(rows);
                left -= rows;
                statements += 1;
            }
            assert!(
                statements <= 1 + n / most_rows + 10,
                "{n} rows in {statements} statements"
            );
        }
        // 1..=64 exactly, then 128, 256, 512 and the cap of 1000.
        assert_eq!(shapes.len(), EXACT_STATEMENT_ROWS + 4);
        assert_eq!(statement_rows(300, most_rows), 256);
        assert_eq!(statement_rows(44, most_rows), 44);
        assert_eq!(statement_rows(64, 10), 10);
    }
}
