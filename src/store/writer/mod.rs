//! The writer's memory: balances, authorisations, members and their links it already knows,
//! and the rows a batch has produced but not yet written, which go out as one multi-row statement per table.
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
use std::sync::Arc;

mod caches;
mod events;
mod lots;
mod pending;
mod standing;

use super::activity::{self, Activity, EntryObserver};
use super::bulk::{IdempotencyRecord, PostingLine, insert_rows};
use super::conn::DbConn;
use super::replies::{KeyedRequest, Render, Replies, ResponseSlot};
use super::rows::{AuthorizationRow, CampaignRow, Head, Operation, Recorded};
use super::touched::Touched;
use super::webhooks::Subscribers;
use super::{StoreError, dialect, prefetch};
use crate::ledger::RawEntry;
use crate::ledger::clock::Clock;
use pending::{JobLog, Marks, Pending, ReadAhead};
pub(super) use standing::Standing;

/// Cached account balances kept between batches; past it the cache starts again empty.
pub const MAX_CACHED_ACCOUNTS: usize = 200_000;
/// Cached authorisations kept between batches.
pub const MAX_CACHED_AUTHORIZATIONS: usize = 100_000;
/// Members known to exist, kept between batches.
pub const MAX_CACHED_MEMBERS: usize = 200_000;

/// Who hears of what the writer does: the behaviour profile (what each entry adds to it), the
/// segment worker (members whose aggregates changed) and partners' webhooks (who takes which
/// events).
#[derive(Clone, Default)]
pub struct Listeners {
    pub observer: Option<EntryObserver>,
    pub touched: Arc<Touched>,
    pub subscribers: Arc<Subscribers>,
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
    /// Members' tier rows and qualifying spend, as the database and the batch's pending rows
    /// say (`store::tiers`), kept up to date by `push_entry`.
    standings: HashMap<String, Standing>,
    /// `(member, partner)` pairs the database shows a visit for: a visit is never taken back.
    visited: HashSet<(String, String)>,
    /// Member accounts' lots this batch read or changed (`store::lots`); held for the batch
    /// only.
    lot_books: HashMap<String, super::lots::LotBook>,
    pending: Pending,
    read_ahead: ReadAhead,
    /// Responses of this batch's jobs, rendered before it commits.
    replies: Replies,
    job: JobLog,
    /// A write of pending rows failed: they are lost from memory and maybe half written, so
    /// the batch must not commit.
    broken: bool,
    /// What stamps the rows the writer creates.
    pub(super) clock: Clock,
    /// What each posted entry adds to the behaviour profile, who takes which events.
    observer: Option<EntryObserver>,
    pub(super) subscribers: Arc<Subscribers>,
    /// The outbox's last position, once read in this run of batches.
    event_seq: Option<i64>,
    /// The member whose personal data the current job's answer holds, if it said: its
    /// idempotency record names them.
    job_member: Option<String>,
    /// Where the members whose aggregates this batch changed go once it commits.
    touched: Arc<Touched>,
    /// Those members (kept only while `touched` is enabled).
    batch_touched: Vec<String>,
}

impl WriterState {
    pub(super) fn new(clock: Clock, listeners: Listeners) -> Self {
        let Listeners {
            observer,
            touched,
            subscribers,
        } = listeners;
        Self {
            head: Head::EMPTY,
            committed_head: None,
            accounts: HashMap::new(),
            dirty_accounts: HashSet::new(),
            authorizations: HashMap::new(),
            dirty_authorizations: HashSet::new(),
            members: HashSet::new(),
            standings: HashMap::new(),
            visited: HashSet::new(),
            lot_books: HashMap::new(),
            pending: Pending::default(),
            read_ahead: ReadAhead::default(),
            replies: Replies::default(),
            job: JobLog::default(),
            broken: false,
            clock,
            observer,
            subscribers,
            event_seq: None,
            job_member: None,
            touched,
            batch_touched: Vec::new(),
        }
    }

    /// A batch begins on `head` as read inside its transaction.
    pub(super) fn begin_batch(&mut self, head: Head) {
        if self.committed_head != Some(head) {
            // Somebody else wrote, or this writer's last batch failed: forget everything.
            self.accounts.clear();
            self.authorizations.clear();
            self.members.clear();
            self.standings.clear();
            self.visited.clear();
            self.event_seq = None;
        }
        self.dirty_accounts.clear();
        self.dirty_authorizations.clear();
        self.lot_books.clear();
        self.pending = Pending::default();
        self.read_ahead = ReadAhead::default();
        self.replies.clear();
        self.job = JobLog::default();
        self.broken = false;
        self.head = head;
        self.batch_touched.clear();
    }

    /// Whether a write of pending rows failed in this batch (it must roll back).
    pub(super) fn is_broken(&self) -> bool {
        self.broken
    }

    /// The batch committed: what is cached is now what the database holds.
    pub(super) fn batch_committed(&mut self) {
        debug_assert!(self.dirty_accounts.is_empty() && self.pending.entries.is_empty());
        self.committed_head = Some(self.head);
        if !self.batch_touched.is_empty() {
            self.touched.add_all(self.batch_touched.drain(..));
        }
        if self.accounts.len() > MAX_CACHED_ACCOUNTS {
            self.accounts.clear();
        }
        if self.authorizations.len() > MAX_CACHED_AUTHORIZATIONS {
            self.authorizations.clear();
        }
        if self.members.len() > MAX_CACHED_MEMBERS {
            self.members.clear();
        }
        if self.standings.len() > MAX_CACHED_MEMBERS {
            self.standings.clear();
        }
        if self.visited.len() > MAX_CACHED_MEMBERS {
            self.visited.clear();
        }
    }

    /// The batch failed: nothing cached can be trusted.
    pub(super) fn batch_failed(&mut self) {
        let listeners = Listeners {
            observer: self.observer.take(),
            touched: self.touched.clone(),
            subscribers: self.subscribers.clone(),
        };
        *self = Self::new(self.clock.clone(), listeners);
    }

    pub(super) fn begin_job(&mut self) {
        self.job_member = None;
        self.job = JobLog {
            marks: Marks {
                deferred: self.replies.len(),
                entries: self.pending.entries.len(),
                operations: self.pending.operations.len(),
                activities: self.pending.activities.len(),
                idempotency: self.pending.idempotency.len(),
                lot_moves: self.pending.lot_moves.len(),
                issuer_days: self.pending.issuer_days.len(),
                activity_clocks: self.pending.activity_clocks.len(),
                events: self.pending.events.len(),
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
        for (member, before) in job.standings.into_iter().rev() {
            match before {
                Some(s) => self.standings.insert(member, s),
                None => self.standings.remove(&member),
            };
        }
        for key in job.visited {
            self.visited.remove(&key);
        }
        for (account, before) in job.lot_books.into_iter().rev() {
            match before {
                Some(book) => self.lot_books.insert(account, book),
                None => self.lot_books.remove(&account),
            };
        }
        self.replies.undo_from(job.marks.deferred);
        let p = &mut self.pending;
        p.entries.truncate(job.marks.entries);
        p.operations.truncate(job.marks.operations);
        p.activities.truncate(job.marks.activities);
        p.lot_moves.truncate(job.marks.lot_moves);
        p.issuer_days.truncate(job.marks.issuer_days);
        p.activity_clocks.truncate(job.marks.activity_clocks);
        p.events.truncate(job.marks.events);
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
        let own_books: Vec<String> = self.job.lot_books.iter().map(|(n, _)| n.clone()).collect();
        self.write_lots(conn, &own_books.iter().map(String::as_str).collect())?;
        let p = &mut self.pending;
        insert_rows(conn, &p.entries[..m.entries])?;
        insert_rows(conn, &PostingLine::of(&p.entries[..m.entries]))?;
        insert_rows(conn, &p.operations[..m.operations])?;
        activity::add(conn, &p.activities[..m.activities])?;
        insert_rows(conn, &p.idempotency[..m.idempotency])?;
        lots::write_rows(
            conn,
            &p.lot_moves[..m.lot_moves],
            &p.issuer_days[..m.issuer_days],
            &p.activity_clocks[..m.activity_clocks],
        )?;
        p.lot_moves.drain(..m.lot_moves);
        p.issuer_days.drain(..m.issuer_days);
        p.activity_clocks.drain(..m.activity_clocks);
        p.entries.drain(..m.entries);
        self.write_events(conn, m.events)?;
        let p = &mut self.pending;
        p.operations.drain(..m.operations);
        p.activities.drain(..m.activities);
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
        self.write_lots(conn, &HashSet::new())?;
        let p = std::mem::take(&mut self.pending);
        insert_rows(conn, &p.entries)?;
        insert_rows(conn, &PostingLine::of(&p.entries))?;
        insert_rows(conn, &p.operations)?;
        activity::add(conn, &p.activities)?;
        insert_rows(conn, &p.idempotency)?;
        lots::write_rows(conn, &p.lot_moves, &p.issuer_days, &p.activity_clocks)?;
        self.pending.events = p.events;
        self.write_events(conn, self.pending.events.len())?;
        self.write_authorizations(conn, &auths)?;
        self.job.marks = self.job.marks.after_flush();
        Ok(())
    }

    // --- rows ---

    /// Adds a posted entry, and what it adds to the behaviour profile, to the batch.
    pub(super) fn push_entry(&mut self, entry: RawEntry) {
        if let Some(activity) = self.observer.as_ref().and_then(|observe| observe(&entry)) {
            self.push_activity(activity);
        }
        self.push_entry_events(&entry);
        self.pending.entries.push(entry);
    }

    /// Hands `member_id` to the segment worker once the batch commits (when it listens).
    pub(super) fn touch(&mut self, member_id: &str) {
        if self.touched.is_enabled() {
            self.batch_touched.push(member_id.to_owned());
        }
    }

    /// What a job adds to the behaviour profile besides its entries' (an interaction's visit).
    pub(super) fn push_activity(&mut self, activity: Activity) {
        if self.touched.is_enabled() {
            self.batch_touched.push(activity.member_id.clone());
        }
        self.add_to_standing(&activity);
        self.pending.activities.push(activity);
    }

    pub(super) fn push_operation(&mut self, op: Operation) {
        self.pending.operations.push(op);
    }

    pub(super) fn push_idempotency(
        &mut self,
        owner: &str,
        key: &str,
        recorded: Recorded,
        member_id: Option<String>,
    ) {
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
            created_at_us: self.clock.now_us(),
            member_id,
        });
    }

    /// Reads the records of the batch's idempotency keys in one query.
    pub(super) fn prefetch_idempotency(
        &mut self,
        conn: &mut DbConn,
        keys: &[&(String, String)],
    ) -> Result<(), StoreError> {
        let found = prefetch::lookup_many(conn, keys)?;
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
        self.replies.defer(record, self.job_member.clone(), render)
    }

    /// The member whose personal data the current job's answer holds.
    pub(super) fn job_member(&self) -> Option<&str> {
        self.job_member.as_deref()
    }

    /// The current job's answer holds personal data of `member_id`: its record will name them.
    pub(super) fn answer_names(&mut self, member_id: &str) {
        self.job_member = Some(member_id.to_owned());
    }

    /// Whether a job of this batch holds `key` with its response still to render.
    pub(super) fn is_reserved(&self, owner: &str, key: &str) -> bool {
        self.replies.is_reserved(owner, key)
    }

    /// Renders every deferred response and adds the idempotency records; a failed render
    /// breaks the batch.
    pub(super) fn render_deferred(&mut self) -> Result<(), StoreError> {
        let records = self.replies.render_all();
        self.broken |= records.is_err();
        for ((owner, key), recorded, member) in records? {
            self.push_idempotency(&owner, &key, recorded, member);
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
}
