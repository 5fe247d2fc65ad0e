//! Connections: the database URL, the one connection type for both backends, and the pool.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StoreError;

/// Once per SQLite file, outside any transaction: readers never block the writer.
pub const SQLITE_ONCE: &str = "PRAGMA journal_mode = WAL;";

/// Settings for every new connection. SQLite: wait for locks instead of failing at once,
/// enforce foreign keys, fsync on every commit (an answered write is on disk), keep statement
/// journals in memory, and leave checkpoints to the checkpointer thread (off the writer's path).
pub fn session_setup(conn: &DbConn) -> &'static str {
    match conn {
        DbConn::Sqlite(_) => {
            "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; \
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;"
        }
        DbConn::Postgres(_) => "SET synchronous_commit = on; SET TIME ZONE 'UTC';",
    }
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a pooled connection may be waited for before the database counts as unavailable.
pub const POOL_TIMEOUT_SECS: u64 = 5;

/// One connection to either backend; queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database to use, parsed from `sqlite://PATH` or `postgres://...`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;
    fn from_str(url: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::BadUrl(why.to_owned());
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains(":memory:") || path.starts_with("file:") {
                return Err(bad(
                    "sqlite:// needs a file path: an in-memory ledger would not be durable",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(bad(
            "expected sqlite://PATH or postgres://USER@HOST:PORT/DB",
        ))
    }
}

/// Never prints a PostgreSQL password.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.split_once('@') {
                    Some((userinfo, host)) => {
                        let user = userinfo.split(':').next().unwrap_or("");
                        let masked = if userinfo.contains(':') { ":***" } else { "" };
                        write!(f, "{scheme}://{user}{masked}@{host}")
                    }
                    None => write!(f, "{scheme}://{rest}"),
                }
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl DatabaseUrl {
    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_))
    }

    /// Opens one connection with the session settings every connection needs.
    pub fn connect(&self) -> Result<DbConn, StoreError> {
        let unavailable = |e: diesel::ConnectionError| StoreError::Unavailable(e.to_string());
        let mut conn = match self {
            DatabaseUrl::Sqlite(path) => {
                let path = path
                    .to_str()
                    .ok_or_else(|| StoreError::BadUrl("path is not UTF-8".into()))?;
                DbConn::Sqlite(SqliteConnection::establish(path).map_err(unavailable)?)
            }
            DatabaseUrl::Postgres(url) => {
                DbConn::Postgres(PgConnection::establish(url).map_err(unavailable)?)
            }
        };
        conn.batch_execute(session_setup(&conn))?;
        Ok(conn)
    }

    /// Brings the schema up to date; safe to call on every start.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self.connect()?;
        let done = match &mut conn {
            DbConn::Sqlite(c) => {
                c.batch_execute(SQLITE_ONCE)?;
                c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
            }
            DbConn::Postgres(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
        };
        done.map_err(|e| StoreError::Migration(e.to_string()))
    }
}

/// Hands out connections to the pool, each set up like [`DatabaseUrl::connect`].
pub struct Manager(DatabaseUrl);

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn, StoreError> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// A pool of reading connections; writes go through the sequencer's own connection.
pub fn pool(url: &DatabaseUrl, max_size: u32) -> Result<DbPool, StoreError> {
    // Unchecked: the server starts (and answers /readyz with 503) while the database is down.
    Ok(Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(POOL_TIMEOUT_SECS))
        .test_on_check_out(true)
        .build_unchecked(Manager(url.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite migration that rebuilds the hot tables keeps every row, the append-only
    /// triggers and the postings' reference to their entry.
    #[test]
    fn rebuilding_the_hot_tables_keeps_rows_and_rules() {
        use diesel::RunQueryDsl;
        use diesel::sql_types::BigInt;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let count = |c: &mut SqliteConnection, sql: &str| {
            diesel::sql_query(sql).get_result::<N>(c).unwrap().n
        };
        let dir = std::env::temp_dir().join(format!("coalition-migrate-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = SqliteConnection::establish(dir.join("m.db").to_str().unwrap()).unwrap();
        c.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
        // Every migration before the rebuild, then rows, then the rebuild alone.
        let rebuild = loop {
            let mut pending = c.pending_migrations(SQLITE_MIGRATIONS).unwrap();
            let next = pending.remove(0);
            if next.name().to_string().ends_with("_hot_tables") {
                break next;
            }
            c.run_migration(&*next).unwrap();
        };
        c.batch_execute(
            "INSERT INTO entries (seq, id, kind, created_at_us, prev_hash, hash) \
               VALUES (1, 'e1', 'earn', 1, 'p', 'h1'), (2, 'e2', 'earn', 2, 'h1', 'h2'); \
             INSERT INTO postings VALUES (1, 0, 'a', 'U', 5), (1, 1, 'b', 'U', -5), \
               (2, 0, 'a', 'U', 7), (2, 1, 'b', 'U', -7); \
             INSERT INTO accounts VALUES ('a', 'issuer', 'U', 12), ('b', 'member', 'U', -12); \
             INSERT INTO operations (entry_id, kind, partner, member_id, unit, points_minor, \
               status, created_at_us) VALUES ('e1', 'earn', 'p', 'm', 'U', 5, 'posted', 1);",
        )
        .unwrap();
        c.run_migration(&*rebuild).unwrap();

        assert_eq!(count(&mut c, "SELECT count(*) AS n FROM entries"), 2);
        assert_eq!(
            count(&mut c, "SELECT sum(amount_minor) AS n FROM postings"),
            0
        );
        assert_eq!(
            count(
                &mut c,
                "SELECT count(*) AS n FROM postings WHERE entry_seq = 2"
            ),
            2
        );
        assert_eq!(
            count(
                &mut c,
                "SELECT balance_minor AS n FROM accounts WHERE name = 'b'"
            ),
            -12
        );
        assert_eq!(count(&mut c, "SELECT points_minor AS n FROM operations"), 5);
        // The chain position is the row id now, and the hot tables have no row id.
        assert_eq!(
            count(&mut c, "SELECT rowid AS n FROM entries WHERE id = 'e2'"),
            2
        );
        assert!(c.batch_execute("SELECT rowid FROM postings").is_err());
        // Append-only and the reference from postings to entries still hold.
        assert!(
            c.batch_execute("UPDATE entries SET memo = 'x' WHERE seq = 1")
                .is_err()
        );
        assert!(
            c.batch_execute("DELETE FROM postings WHERE entry_seq = 1")
                .is_err()
        );
        assert!(
            c.batch_execute("INSERT INTO postings VALUES (9, 0, 'a', 'U', 1)")
                .is_err()
        );
        assert!(
            c.batch_execute("UPDATE accounts SET balance_minor = 1 WHERE name = 'b'")
                .is_err()
        );
        assert_eq!(
            count(&mut c, "SELECT count(*) AS n FROM pragma_foreign_key_check"),
            0
        );
        let to_entries = "SELECT count(*) AS n FROM pragma_foreign_key_list('postings') \
                          WHERE \"table\" = 'entries' AND \"to\" = 'seq'";
        assert_eq!(count(&mut c, to_entries), 1);

        // And back down: the first layout with the same rows.
        c.revert_migration(&*rebuild).unwrap();
        assert_eq!(count(&mut c, "SELECT count(*) AS n FROM postings"), 4);
        assert_eq!(
            count(&mut c, "SELECT count(*) AS n FROM pragma_foreign_key_check"),
            0
        );
        assert_eq!(count(&mut c, to_entries), 1);
        drop(c);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Lookups that would otherwise read a whole table use their partial indexes: an entry's
    /// reversals (not the whole chain), a member's redeemed coupons of a campaign (not all of
    /// the campaign's coupons).
    #[test]
    fn partial_indexes_serve_their_lookups() {
        use diesel::RunQueryDsl;
        use diesel::sql_types::Text;
        #[derive(diesel::QueryableByName)]
        struct Step {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        c.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
        for (query, index) in [
            (
                "SELECT seq FROM entries WHERE reverses = ?",
                "entries_by_reverses",
            ),
            (
                "SELECT count(*) FROM coupons WHERE campaign_id = ? AND redeemed_for = ? \
                 AND status = 'redeemed'",
                "coupons_by_redeemer",
            ),
        ] {
            let mut explain = diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
                .into_boxed::<diesel::sqlite::Sqlite>();
            for _ in 0..query.matches('?').count() {
                explain = explain.bind::<Text, _>("x");
            }
            let plan: Vec<String> = explain
                .load::<Step>(&mut c)
                .unwrap()
                .into_iter()
                .map(|s| s.detail)
                .collect();
            assert!(
                plan.iter().any(|d| d.contains(&format!("INDEX {index}"))),
                "{query}: {plan:?}"
            );
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            "sqlite://coalition.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite("coalition.db".into())
        );
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(
            "postgres://u@h/db"
                .parse::<DatabaseUrl>()
                .unwrap()
                .to_string()
                .starts_with("postgres://u@h")
        );
        for bad in [
            "",
            "coalition.db",
            "sqlite://",
            "sqlite://:memory:",
            "mysql://x",
            "sqlite://file:x?mode=memory",
        ] {
            assert!(bad.parse::<DatabaseUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_not_shown() {
        let url: DatabaseUrl = "postgres://app:s3cret@db:5432/coalition".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/coalition");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
