//! The writer's memory: balances, authorisations and members it already knows, and the rows a
//! batch has produced but not yet written, which go out as one multi-row statement per table.
//!
//! Why: a round trip per row made the writer, not the database, the bottleneck. What it may
//! cache is what only the writer changes, and only while nothing else has written: account
//! balances change only through [`WriteTx::post`](super::WriteTx), authorisations only in jobs
//! that also post an entry, and members are never deleted — so if the chain's head is where
//! this writer left it, nobody else (another process on the same database) has touched them.
//! Any other batch outcome clears everything.
//!
//! A job's changes stay in memory, with an undo log, until the batch ends; a refused job is
//! undone in memory without a savepoint. A job that needs the database directly (a store
//! function that is not one of the cached paths) first flushes what earlier jobs left, then
//! opens a savepoint, then flushes its own rows, so that refusing it still undoes only it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use diesel::connection::Connection;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::authorizations::AuthorizationRow;
use super::conn::DbConn;
use super::coupons::CampaignRow;
use super::dialect;
use super::idempotency::{OwnerKey, Recorded};
use super::operations::Operation;
use super::sequencer::Head;
use super::{StoreError, now_us};
use crate::ledger::{RawEntry, RawPosting};

/// Bound parameters per statement, under SQLite's 32 766 and PostgreSQL's 65 535.
pub const MAX_BINDS_PER_STATEMENT: usize = 30_000;
/// Up to this many rows a table's rows go out in one statement of exactly that many rows; each
/// row count is a statement shape the connection keeps prepared.
pub const EXACT_STATEMENT_ROWS: usize = 64;
/// Cached account balances kept between batches; past it the cache starts again empty.
pub const MAX_CACHED_ACCOUNTS: usize = 200_000;
/// Cached authorisations kept between batches.
pub const MAX_CACHED_AUTHORIZATIONS: usize = 100_000;
/// Members known to exist, kept between batches.
pub const MAX_CACHED_MEMBERS: usize = 200_000;

pub(super) type Backend = <DbConn as Connection>::Backend;

/// One bound value of a multi-row statement, borrowed from the row it belongs to.
enum Value<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Int32(i32),
}

/// A row type the writer inserts in bulk.
trait BulkRow {
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
            Value::Text(&self.kind),
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
struct PostingLine<'a> {
    entry_seq: i64,
    line: i32,
    posting: &'a RawPosting,
}

impl PostingLine<'_> {
    /// The posting rows of `entries`, in order.
    fn of(entries: &[RawEntry]) -> Vec<PostingLine<'_>> {
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
            Value::Text(&self.kind),
            Value::Text(&self.partner),
            Value::Text(&self.member_id),
            Value::Text(&self.unit),
            Value::Int(self.points_minor),
            Value::Int(self.reversed_minor),
            Value::Text(&self.status),
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
    ];
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Text(&self.owner),
            Value::Text(&self.key),
            Value::Text(&self.recorded.request_hash),
            Value::Int32(i32::from(self.recorded.status)),
            Value::Text(&self.recorded.body),
            Value::Int(self.created_at_us),
        ]);
    }
}

/// An account balance to write: inserted when new, overwritten when it exists.
struct AccountRecord<'a> {
    name: &'a str,
    kind: &'static str,
    unit: &'a str,
    balance_minor: i64,
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
struct AuthorizationUse<'a>(&'a AuthorizationRow);

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
/// so each table has a bounded number of statement shapes, each prepared once. Preparing a new
/// statement per table per batch was ~8 % of the SQLite writer's time; on PostgreSQL one
/// round trip per table (rather than a chunk per power of two) gave 9 % more throughput.
fn insert_rows<R: BulkRow>(conn: &mut DbConn, rows: &[R]) -> Result<(), StoreError> {
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

/// What the writer knows of one account.
#[derive(Debug, Clone)]
pub(super) struct CachedAccount {
    pub kind: &'static str,
    pub unit: String,
    /// The balance with every posting of this batch so far.
    pub balance_minor: i64,
    /// What the database holds (`None`: no row yet).
    stored_minor: Option<i64>,
    /// Posted to since the last flush: its row must exist after the next one.
    touched: bool,
}

impl CachedAccount {
    pub fn loaded(kind: &'static str, unit: String, stored_minor: Option<i64>) -> Self {
        Self {
            kind,
            unit,
            balance_minor: stored_minor.unwrap_or(0),
            stored_minor,
            touched: false,
        }
    }

    fn needs_write(&self) -> bool {
        self.touched && self.stored_minor != Some(self.balance_minor)
    }
}

/// What the writer knows of one authorisation.
#[derive(Debug, Clone)]
struct CachedAuthorization {
    row: AuthorizationRow,
    stored_used_minor: i64,
}

/// Rows produced by the batch, not yet written.
#[derive(Debug, Default)]
struct Pending {
    /// Entries with their postings.
    entries: Vec<RawEntry>,
    operations: Vec<Operation>,
    idempotency: Vec<IdempotencyRecord>,
    /// `(owner, key)` → index into `idempotency`.
    idempotency_index: HashMap<(String, String), usize>,
}

/// What the writer read for the current batch only.
#[derive(Debug, Default)]
struct ReadAhead {
    /// The batch's keys as read when it began: `None` for a key with no record then. A key is
    /// dropped from here once a job records it (later lookups find it pending or stored).
    idempotency: HashMap<(String, String), Option<Recorded>>,
    /// Campaigns triggered by purchases at a partner, read once per batch (until a job writes
    /// directly, which may change them).
    campaigns_by_trigger: HashMap<String, Vec<CampaignRow>>,
}

/// Where the current job's pending rows start.
#[derive(Debug, Default, Clone, Copy)]
struct Marks {
    deferred: usize,
    entries: usize,
    operations: usize,
    idempotency: usize,
}

impl Marks {
    /// Where the job's rows start once everything pending was written: at zero, since the
    /// rows are gone from memory. Deferred responses are never written early and keep theirs.
    fn after_flush(self) -> Self {
        Self {
            deferred: self.deferred,
            ..Self::default()
        }
    }
}

/// How to undo the current job in memory.
#[derive(Debug, Default)]
struct JobLog {
    marks: Marks,
    accounts: Vec<(String, CachedAccount)>,
    authorizations: Vec<(String, CachedAuthorization)>,
    members: Vec<String>,
    head: Option<Head>,
    /// A savepoint is open for this job (it went to the database directly).
    savepoint: bool,
}

impl JobLog {
    fn has_changes(&self, pending: &Pending) -> bool {
        !self.accounts.is_empty()
            || !self.authorizations.is_empty()
            || pending.entries.len() > self.marks.entries
            || pending.operations.len() > self.marks.operations
            || pending.idempotency.len() > self.marks.idempotency
    }
}

/// A response rendered after the batch's jobs ran and before it commits; its idempotency
/// record is written with the batch.
pub type Render = Box<dyn FnOnce() -> (u16, String) + Send>;

/// Where a deferred response is left for its caller (filled before the batch commits).
pub type ResponseSlot = Arc<Mutex<Option<(u16, String)>>>;

/// An idempotency key and the hash of the request that came with it.
type KeyedRequest = (OwnerKey, String);

/// A rendered response (`None`: its render panicked) and where to keep it.
type RenderedResponse = Option<(Option<KeyedRequest>, u16, String)>;

/// A response to render, and the key to keep it under.
struct Deferred {
    record: Option<KeyedRequest>,
    render: Render,
    slot: ResponseSlot,
}

/// The writer's state; lives as long as its connection.
pub struct WriterState {
    pub(super) head: Head,
    /// The head this writer last committed; the caches are good only while the chain still ends
    /// there when the next batch begins.
    committed_head: Option<Head>,
    accounts: HashMap<String, CachedAccount>,
    dirty_accounts: HashSet<String>,
    authorizations: HashMap<String, CachedAuthorization>,
    dirty_authorizations: HashSet<String>,
    members: HashSet<String>,
    pending: Pending,
    read_ahead: ReadAhead,
    /// Responses of this batch's jobs, rendered before it commits.
    deferred: Vec<Deferred>,
    /// Idempotency keys whose response is deferred (a second use in the batch must wait).
    reserved: HashSet<OwnerKey>,
    job: JobLog,
    /// A write of pending rows failed: they are lost from memory and maybe half written, so
    /// the batch must not commit.
    broken: bool,
}

impl Default for WriterState {
    fn default() -> Self {
        Self {
            head: Head::EMPTY,
            committed_head: None,
            accounts: HashMap::new(),
            dirty_accounts: HashSet::new(),
            authorizations: HashMap::new(),
            dirty_authorizations: HashSet::new(),
            members: HashSet::new(),
            pending: Pending::default(),
            read_ahead: ReadAhead::default(),
            deferred: Vec::new(),
            reserved: HashSet::new(),
            job: JobLog::default(),
            broken: false,
        }
    }
}

impl WriterState {
    /// A batch begins on `head` as read inside its transaction.
    pub(super) fn begin_batch(&mut self, head: Head) {
        if self.committed_head != Some(head) {
            // Somebody else wrote, or this writer's last batch failed: forget everything.
            self.accounts.clear();
            self.authorizations.clear();
            self.members.clear();
        }
        self.dirty_accounts.clear();
        self.dirty_authorizations.clear();
        self.pending = Pending::default();
        self.read_ahead = ReadAhead::default();
        self.deferred.clear();
        self.reserved.clear();
        self.job = JobLog::default();
        self.broken = false;
        self.head = head;
    }

    /// Whether a write of pending rows failed in this batch (it must roll back).
    pub(super) fn is_broken(&self) -> bool {
        self.broken
    }

    /// The batch committed: what is cached is now what the database holds.
    pub(super) fn batch_committed(&mut self) {
        debug_assert!(self.dirty_accounts.is_empty() && self.pending.entries.is_empty());
        self.committed_head = Some(self.head);
        if self.accounts.len() > MAX_CACHED_ACCOUNTS {
            self.accounts.clear();
        }
        if self.authorizations.len() > MAX_CACHED_AUTHORIZATIONS {
            self.authorizations.clear();
        }
        if self.members.len() > MAX_CACHED_MEMBERS {
            self.members.clear();
        }
    }

    /// The batch failed: nothing cached can be trusted.
    pub(super) fn batch_failed(&mut self) {
        *self = Self::default();
    }

    pub(super) fn begin_job(&mut self) {
        self.job = JobLog {
            marks: Marks {
                deferred: self.deferred.len(),
                entries: self.pending.entries.len(),
                operations: self.pending.operations.len(),
                idempotency: self.pending.idempotency.len(),
            },
            head: Some(self.head),
            ..JobLog::default()
        };
    }

    /// The job succeeded: its changes join the batch's.
    pub(super) fn job_succeeded(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        if self.job.savepoint {
            dialect::release_savepoint(conn)?;
        }
        self.job = JobLog::default();
        Ok(())
    }

    /// The job was refused (or panicked): every change it made, in memory and in the
    /// database, is undone; the batch's other jobs are untouched.
    pub(super) fn job_failed(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let job = std::mem::take(&mut self.job);
        if job.savepoint {
            dialect::rollback_to_savepoint(conn)?;
            // Read while the job's own writes were in place.
            self.read_ahead.campaigns_by_trigger.clear();
        }
        for (name, before) in job.accounts.into_iter().rev() {
            if before.touched {
                self.dirty_accounts.insert(name.clone());
            }
            self.accounts.insert(name, before);
        }
        for (code, before) in job.authorizations.into_iter().rev() {
            if before.row.used_minor != before.stored_used_minor {
                self.dirty_authorizations.insert(code.clone());
            }
            self.authorizations.insert(code, before);
        }
        for member in job.members {
            self.members.remove(&member);
        }
        for d in self.deferred.drain(job.marks.deferred..) {
            if let Some((key, _)) = d.record {
                self.reserved.remove(&key);
            }
        }
        let p = &mut self.pending;
        p.entries.truncate(job.marks.entries);
        p.operations.truncate(job.marks.operations);
        for r in p.idempotency.drain(job.marks.idempotency..) {
            p.idempotency_index.remove(&(r.owner, r.key));
        }
        if let Some(head) = job.head {
            self.head = head;
        }
        Ok(())
    }

    /// Makes the database show everything the batch did so far, for a job about to read or
    /// write it directly. `write`: the job will change rows itself, so it needs a savepoint.
    pub(super) fn sync_for_direct_access(
        &mut self,
        conn: &mut DbConn,
        write: bool,
    ) -> Result<(), StoreError> {
        let synced = self.sync(conn, write);
        self.broken |= synced.is_err();
        synced
    }

    fn sync(&mut self, conn: &mut DbConn, write: bool) -> Result<(), StoreError> {
        if write {
            self.read_ahead.campaigns_by_trigger.clear();
        }
        if self.job.savepoint {
            return self.flush(conn);
        }
        if !write && !self.job.has_changes(&self.pending) {
            return self.flush(conn);
        }
        // Earlier jobs' rows go in before the savepoint, this job's after it.
        self.flush_before_job(conn)?;
        dialect::savepoint(conn)?;
        self.job.savepoint = true;
        self.flush(conn)
    }

    /// Writes the rows and balances of earlier jobs of the batch only.
    fn flush_before_job(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let m = self.job.marks;
        let own_accounts: HashSet<&str> =
            self.job.accounts.iter().map(|(n, _)| n.as_str()).collect();
        let earlier_accounts: Vec<String> = self
            .dirty_accounts
            .iter()
            .filter(|n| !own_accounts.contains(n.as_str()))
            .cloned()
            .collect();
        let own_auths: HashSet<&str> = self
            .job
            .authorizations
            .iter()
            .map(|(c, _)| c.as_str())
            .collect();
        let earlier_auths: Vec<String> = self
            .dirty_authorizations
            .iter()
            .filter(|c| !own_auths.contains(c.as_str()))
            .cloned()
            .collect();
        self.write_accounts(conn, &earlier_accounts)?;
        self.write_authorizations(conn, &earlier_auths)?;
        let p = &mut self.pending;
        insert_rows(conn, &p.entries[..m.entries])?;
        insert_rows(conn, &PostingLine::of(&p.entries[..m.entries]))?;
        insert_rows(conn, &p.operations[..m.operations])?;
        insert_rows(conn, &p.idempotency[..m.idempotency])?;
        p.entries.drain(..m.entries);
        p.operations.drain(..m.operations);
        for r in p.idempotency.drain(..m.idempotency) {
            p.idempotency_index.remove(&(r.owner, r.key));
        }
        // What is left belongs to this job and starts at zero now.
        for (i, r) in p.idempotency.iter().enumerate() {
            p.idempotency_index
                .insert((r.owner.clone(), r.key.clone()), i);
        }
        self.job.marks = self.job.marks.after_flush();
        Ok(())
    }

    /// Writes everything pending: balances first (postings name them), then the entries, their
    /// postings, operations, idempotency records, and authorisations used.
    pub(super) fn flush(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let flushed = self.flush_all(conn);
        self.broken |= flushed.is_err();
        flushed
    }

    fn flush_all(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let accounts: Vec<String> = self.dirty_accounts.iter().cloned().collect();
        let auths: Vec<String> = self.dirty_authorizations.iter().cloned().collect();
        self.write_accounts(conn, &accounts)?;
        let p = std::mem::take(&mut self.pending);
        insert_rows(conn, &p.entries)?;
        insert_rows(conn, &PostingLine::of(&p.entries))?;
        insert_rows(conn, &p.operations)?;
        insert_rows(conn, &p.idempotency)?;
        self.write_authorizations(conn, &auths)?;
        self.job.marks = self.job.marks.after_flush();
        Ok(())
    }

    fn write_accounts(&mut self, conn: &mut DbConn, names: &[String]) -> Result<(), StoreError> {
        let mut sorted: Vec<&String> = names.iter().collect();
        // A stable order keeps PostgreSQL's row locks in one order across writers.
        sorted.sort();
        let rows: Vec<AccountRecord<'_>> = sorted
            .iter()
            .filter_map(|name| {
                let a = self.accounts.get(name.as_str())?;
                a.needs_write().then_some(AccountRecord {
                    name,
                    kind: a.kind,
                    unit: &a.unit,
                    balance_minor: a.balance_minor,
                })
            })
            .collect();
        insert_rows(conn, &rows)?;
        for name in names {
            if let Some(a) = self.accounts.get_mut(name)
                && a.touched
            {
                a.stored_minor = Some(a.balance_minor);
                a.touched = false;
            }
            self.dirty_accounts.remove(name);
        }
        Ok(())
    }

    fn write_authorizations(
        &mut self,
        conn: &mut DbConn,
        codes: &[String],
    ) -> Result<(), StoreError> {
        let rows: Vec<AuthorizationUse<'_>> = codes
            .iter()
            .filter_map(|c| self.authorizations.get(c))
            .filter(|a| a.row.used_minor != a.stored_used_minor)
            .map(|a| AuthorizationUse(&a.row))
            .collect();
        insert_rows(conn, &rows)?;
        for code in codes {
            if let Some(a) = self.authorizations.get_mut(code) {
                a.stored_used_minor = a.row.used_minor;
            }
            self.dirty_authorizations.remove(code);
        }
        Ok(())
    }

    // --- accounts ---

    pub(super) fn cached_account(&self, name: &str) -> Option<&CachedAccount> {
        self.accounts.get(name)
    }

    /// Remembers an account as read from the database (a read: nothing to undo).
    pub(super) fn remember_account(&mut self, name: String, account: CachedAccount) {
        self.accounts.insert(name, account);
    }

    /// Sets a cached account's balance for this job; the account must have been read first.
    pub(super) fn set_balance(&mut self, name: &str, balance_minor: i64) -> Result<(), StoreError> {
        let account = self.accounts.get_mut(name).ok_or_else(|| {
            StoreError::Corrupt(format!("account {name} was changed before it was read"))
        })?;
        self.job.accounts.push((name.to_owned(), account.clone()));
        account.balance_minor = balance_minor;
        account.touched = true;
        self.dirty_accounts.insert(name.to_owned());
        Ok(())
    }

    // --- rows ---

    pub(super) fn push_entry(&mut self, entry: RawEntry) {
        self.pending.entries.push(entry);
    }

    pub(super) fn push_operation(&mut self, op: Operation) {
        self.pending.operations.push(op);
    }

    pub(super) fn push_idempotency(&mut self, owner: &str, key: &str, recorded: Recorded) {
        self.read_ahead
            .idempotency
            .remove(&(owner.to_owned(), key.to_owned()));
        let i = self.pending.idempotency.len();
        self.pending
            .idempotency_index
            .insert((owner.to_owned(), key.to_owned()), i);
        self.pending.idempotency.push(IdempotencyRecord {
            owner: owner.to_owned(),
            key: key.to_owned(),
            recorded,
            created_at_us: now_us(),
        });
    }

    /// Reads the records of the batch's idempotency keys in one query.
    pub(super) fn prefetch_idempotency(
        &mut self,
        conn: &mut DbConn,
        keys: &[&(String, String)],
    ) -> Result<(), StoreError> {
        let found = super::idempotency::lookup_many(conn, keys)?;
        let read_ahead = &mut self.read_ahead.idempotency;
        for &key in keys {
            read_ahead.insert(key.clone(), None);
        }
        for (key, recorded) in found {
            read_ahead.insert(key, Some(recorded));
        }
        Ok(())
    }

    /// What the read-ahead found for a key: `Some(None)` means no record when the batch began.
    pub(super) fn prefetched_idempotency(
        &self,
        owner: &str,
        key: &str,
    ) -> Option<Option<&Recorded>> {
        self.read_ahead
            .idempotency
            .get(&(owner.to_owned(), key.to_owned()))
            .map(Option::as_ref)
    }

    pub(super) fn cached_campaigns(&self, partner: &str) -> Option<&Vec<CampaignRow>> {
        self.read_ahead.campaigns_by_trigger.get(partner)
    }

    pub(super) fn remember_campaigns(&mut self, partner: &str, rows: Vec<CampaignRow>) {
        self.read_ahead
            .campaigns_by_trigger
            .insert(partner.to_owned(), rows);
    }

    /// Leaves a job's response to be rendered once every job of the batch has run; with a key,
    /// the response is kept under it in the same transaction.
    pub(super) fn defer_response(
        &mut self,
        record: Option<KeyedRequest>,
        render: Render,
    ) -> ResponseSlot {
        if let Some((key, _)) = &record {
            self.reserved.insert(key.clone());
        }
        let slot: ResponseSlot = Arc::default();
        self.deferred.push(Deferred {
            record,
            render,
            slot: slot.clone(),
        });
        slot
    }

    /// Whether a job of this batch holds `key` with its response still to render.
    pub(super) fn is_reserved(&self, owner: &str, key: &str) -> bool {
        self.reserved.contains(&(owner.to_owned(), key.to_owned()))
    }

    /// Renders every deferred response and adds the idempotency records. A render that panics fails the batch: its entry must not
    /// commit without the response it promised.
    pub(super) fn render_deferred(&mut self) -> Result<(), StoreError> {
        let deferred = std::mem::take(&mut self.deferred);
        self.reserved.clear();
        let render_all = |items: Vec<Deferred>| -> Vec<RenderedResponse> {
            items
                .into_iter()
                .map(|d| {
                    let out =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(d.render)).ok()?;
                    *d.slot
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(out.clone());
                    Some((d.record, out.0, out.1))
                })
                .collect()
        };
        // Rendered here, in one go: a helper thread per batch was measured slower on two
        // cores, where the HTTP workers already use what the writer leaves.
        let rendered = render_all(deferred);
        for r in rendered {
            let Some((record, status, body)) = r else {
                self.broken = true;
                return Err(StoreError::Database(
                    "rendering a response failed; the batch is rolled back".into(),
                ));
            };
            if let Some(((owner, key), request_hash)) = record {
                self.push_idempotency(
                    &owner,
                    &key,
                    Recorded {
                        request_hash,
                        status,
                        body,
                    },
                );
            }
        }
        Ok(())
    }

    /// A response recorded earlier in this batch, not yet written.
    pub(super) fn pending_idempotency(&self, owner: &str, key: &str) -> Option<&Recorded> {
        let i = *self
            .pending
            .idempotency_index
            .get(&(owner.to_owned(), key.to_owned()))?;
        self.pending.idempotency.get(i).map(|r| &r.recorded)
    }

    // --- authorisations ---

    pub(super) fn cached_authorization(&self, code: &str) -> Option<&AuthorizationRow> {
        self.authorizations.get(code).map(|a| &a.row)
    }

    pub(super) fn remember_authorization(&mut self, row: AuthorizationRow) {
        self.authorizations.insert(
            row.code.clone(),
            CachedAuthorization {
                stored_used_minor: row.used_minor,
                row,
            },
        );
    }

    /// Adds used points to a cached authorisation for this job.
    pub(super) fn use_authorization(&mut self, code: &str, points_minor: i64) -> bool {
        let Some(a) = self.authorizations.get_mut(code) else {
            return false;
        };
        self.job.authorizations.push((code.to_owned(), a.clone()));
        a.row.used_minor += points_minor;
        self.dirty_authorizations.insert(code.to_owned());
        true
    }

    // --- members ---

    pub(super) fn knows_member(&self, id: &str) -> bool {
        self.members.contains(id)
    }

    pub(super) fn remember_member(&mut self, id: &str) {
        if self.members.insert(id.to_owned()) {
            self.job.members.push(id.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
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
