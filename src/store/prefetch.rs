//! The writer's read-ahead of a batch's idempotency records: every key of the batch looked up
//! with one statement before its jobs run.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use super::bulk::{self, Backend};
use super::rows::{OwnerKey, Recorded};
use super::{DbConn, StoreError};

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
const MAX_KEYS_PER_LOOKUP: usize = bulk::MAX_BINDS_PER_STATEMENT / 2;

/// The records of `keys`, one statement per number of keys that diesel may keep prepared (like
/// the writer's inserts, see `bulk::insert_rows`).
///
/// SQLite: `WHERE (partner, idem_key) IN (VALUES …)`, one probe of the key's index per key.
/// PostgreSQL: a lateral lookup per key. It plans the `IN (VALUES …)` form as a join, and the
/// generic plan it caches for a prepared statement first run on a small table was a hash join
/// over a sequential scan, kept as the table grew, so the prefetch slowed as the ledger grew; an
/// `OR` of key equalities stays on the index but pays in planning and bitmap scans. The lateral
/// form is a nested loop of index probes in every plan (docs/performance.md has the figures; the
/// test below reads the cached plan).
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

impl diesel::query_builder::QueryFragment<Backend> for KeyLookup<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Backend>,
    ) -> diesel::QueryResult<()> {
        let postgres = matches!(out.backend(), Backend::Postgres(_));
        out.push_sql(if postgres {
            "SELECT k.partner, k.idem_key, i.request_hash, i.status, i.body FROM (VALUES "
        } else {
            "SELECT partner, idem_key, request_hash, status, body FROM idempotency_keys \
             WHERE (partner, idem_key) IN (VALUES "
        });
        for (i, (owner, key)) in self.keys.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, str>(owner)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(key)?;
            out.push_sql(")");
        }
        out.push_sql(if postgres {
            ") AS k (partner, idem_key) CROSS JOIN LATERAL \
             (SELECT request_hash, status, body FROM idempotency_keys \
              WHERE partner = k.partner AND idem_key = k.idem_key OFFSET 0) AS i"
        } else {
            ")"
        });
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
        let (chunk, tail) = rest.split_at(bulk::statement_rows(rest.len(), MAX_KEYS_PER_LOOKUP));
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

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::Text;
    use diesel::{Connection, PgConnection, RunQueryDsl};

    use super::lookup_many;
    use crate::store::{DatabaseUrl, DbConn};

    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        text: String,
    }

    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    /// The plan PostgreSQL keeps for the prefetch's prepared statement, prepared while the
    /// table was small, still probes the key index once the table has grown. Runs on the
    /// PostgreSQL test backend (`COALITION_TEST_DATABASE_URL`); SQLite keeps no generic plans.
    #[test]
    fn the_prefetch_plan_stays_on_the_index_as_the_table_grows() {
        let Some(base) = std::env::var("COALITION_TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        else {
            return;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&base).unwrap();
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url: DatabaseUrl = format!("{base}{sep}options=-csearch_path%3D{schema}")
            .parse()
            .unwrap();
        url.migrate().unwrap();
        let DbConn::Postgres(mut c) = url.connect().unwrap() else {
            unreachable!("a postgres:// URL")
        };
        let rows = |from: u32, to: u32| {
            format!(
                "INSERT INTO idempotency_keys SELECT 'books', 'k' || g, 'h', 201, \
                 repeat('x', 200), 0 FROM generate_series({from}, {to}) g"
            )
        };
        c.batch_execute(&rows(1, 50)).unwrap();
        let keys: Vec<(String, String)> = (1..=4)
            .map(|i| ("aroma".to_owned(), format!("a{i}")))
            .collect();
        let keys: Vec<&(String, String)> = keys.iter().collect();
        let mut conn = DbConn::Postgres(c);
        for _ in 0..8 {
            assert!(lookup_many(&mut conn, &keys).unwrap().is_empty());
        }
        let DbConn::Postgres(mut c) = conn else {
            unreachable!()
        };
        c.batch_execute(&rows(51, 20_000)).unwrap();
        let statement: Vec<Name> = diesel::sql_query(
            "SELECT name FROM pg_prepared_statements \
             WHERE statement LIKE 'SELECT k.partner, k.idem_key%'",
        )
        .load(&mut c)
        .unwrap();
        assert_eq!(statement.len(), 1, "the lookup is kept prepared");
        let args = keys
            .iter()
            .map(|(p, k)| format!("'{p}', '{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        c.batch_execute("SET plan_cache_mode = force_generic_plan")
            .unwrap();
        let plan: Vec<String> =
            diesel::sql_query(format!("EXPLAIN EXECUTE {}({args})", statement[0].name))
                .load::<Line>(&mut c)
                .unwrap()
                .into_iter()
                .map(|l| l.text)
                .collect();
        assert!(
            plan.iter().any(|l| l.contains("Index"))
                && !plan.iter().any(|l| l.contains("Seq Scan")),
            "{plan:#?}"
        );
        // And it finds what is there, whatever the plan.
        let mut conn = DbConn::Postgres(c);
        let wanted = [
            ("books".to_owned(), "k7".to_owned()),
            ("aroma".to_owned(), "k7".to_owned()),
            ("books".to_owned(), "k19999".to_owned()),
        ];
        let found = lookup_many(&mut conn, &wanted.iter().collect::<Vec<_>>()).unwrap();
        let mut found: Vec<(String, u16)> =
            found.into_iter().map(|((_, k), r)| (k, r.status)).collect();
        found.sort();
        assert_eq!(found, [("k19999".to_owned(), 201), ("k7".to_owned(), 201)]);
        drop(conn);
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }
}
