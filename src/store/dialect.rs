//! The few statements that differ between SQLite and PostgreSQL.

use diesel::QueryResult;
use diesel::connection::SimpleConnection;

use super::conn::DbConn;

/// Lock id that serialises ledger writers across processes sharing one PostgreSQL database.
const PG_WRITER_LOCK_ID: i64 = 0x00c0_a1e5_0001;

/// Opens the sequencer's write transaction, taking the writer's lock first so that only one
/// writer extends the hash chain at a time: SQLite's `BEGIN IMMEDIATE` takes the file's write
/// lock, PostgreSQL takes a transaction-scoped advisory lock.
pub fn begin_write(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute("BEGIN IMMEDIATE"),
        DbConn::Postgres(c) => c.batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({PG_WRITER_LOCK_ID});"
        )),
    }
}

/// The SQLite writer's commits write the log without waiting for the disk; the syncer thread
/// fsyncs the log before any caller is answered (`store/syncer.rs`).
pub const SQLITE_WRITER_SYNCED_ELSEWHERE: &str = "PRAGMA synchronous = NORMAL;";

/// Copies what is left of the log into the database file and waits for readers to leave it, so
/// that the next commit starts the log again from its beginning.
pub const SQLITE_WAL_RESTART: &str = "PRAGMA wal_checkpoint(RESTART);";

/// Copies committed WAL frames into the database file without blocking the writer.
pub const SQLITE_CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE);";

pub fn commit(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("COMMIT")
}

/// Commits the writer's batch. PostgreSQL answers `COMMIT` in a transaction an error already
/// aborted by rolling back without an error; the `SELECT` first fails instead, so a batch that
/// lost a statement is never reported as committed.
pub fn commit_write(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute("COMMIT"),
        DbConn::Postgres(c) => c.batch_execute("SELECT 1; COMMIT"),
    }
}

pub fn rollback(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("ROLLBACK")
}

/// Each job in a batch runs inside its own savepoint so that one refused job leaves the
/// others in the batch untouched.
pub fn savepoint(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("SAVEPOINT job")
}

pub fn release_savepoint(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("RELEASE SAVEPOINT job")
}

pub fn rollback_to_savepoint(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
}

/// Opens a read-only transaction that sees one consistent snapshot (for `verify` and reports
/// that read many tables while writes go on).
pub fn begin_snapshot(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute("BEGIN DEFERRED"),
        DbConn::Postgres(c) => c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
    }
}
