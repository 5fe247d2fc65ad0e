//! What the writer holds for the batch and the job in hand: the rows not yet written, what it
//! read ahead for the batch, and how to undo the current job in memory.

use std::collections::HashMap;

use super::super::activity::Activity;
use super::super::bulk::IdempotencyRecord;
use super::super::liability::IssuerDay;
use super::super::lots::{LotBook, LotMove};
use super::super::rows::{CampaignRow, Head, Operation, Recorded};
use super::super::webhooks::NewEvent;
use super::{CachedAccount, CachedAuthorization, Standing};
use crate::ledger::RawEntry;

/// Rows produced by the batch, not yet written.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Entries with their postings.
    pub(super) entries: Vec<RawEntry>,
    pub(super) operations: Vec<Operation>,
    /// What the entries add to the behaviour profile.
    pub(super) activities: Vec<Activity>,
    pub(super) idempotency: Vec<IdempotencyRecord>,
    /// What the entries did to lots, to issuers' days and to members' activity clocks.
    pub(super) lot_moves: Vec<LotMove>,
    pub(super) issuer_days: Vec<IssuerDay>,
    pub(super) activity_clocks: Vec<(String, i64)>,
    /// Webhook events, in the order their causes happened.
    pub(super) events: Vec<NewEvent>,
    /// `(owner, key)` → index into `idempotency`.
    pub(super) idempotency_index: HashMap<(String, String), usize>,
}

/// What the writer read for the current batch only.
#[derive(Debug, Default)]
pub(super) struct ReadAhead {
    /// The batch's keys as read when it began: `None` for a key with no record then. A key is
    /// dropped from here once a job records it (later lookups find it pending or stored).
    pub(super) idempotency: HashMap<(String, String), Option<Recorded>>,
    /// Campaigns triggered by purchases at a partner, read once per batch (until a job writes
    /// directly, which may change them).
    pub(super) campaigns_by_trigger: HashMap<String, Vec<CampaignRow>>,
}

/// Where the current job's pending rows start.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Marks {
    pub(super) deferred: usize,
    pub(super) entries: usize,
    pub(super) operations: usize,
    pub(super) activities: usize,
    pub(super) idempotency: usize,
    pub(super) lot_moves: usize,
    pub(super) issuer_days: usize,
    pub(super) activity_clocks: usize,
    pub(super) events: usize,
}

impl Marks {
    /// Where the job's rows start once everything pending was written: at zero, since the
    /// rows are gone from memory. Deferred responses are never written early and keep theirs.
    pub(super) fn after_flush(self) -> Self {
        Self {
            deferred: self.deferred,
            ..Self::default()
        }
    }
}

/// How to undo the current job in memory.
#[derive(Debug, Default)]
pub(super) struct JobLog {
    pub(super) marks: Marks,
    pub(super) accounts: Vec<(String, CachedAccount)>,
    pub(super) authorizations: Vec<(String, CachedAuthorization)>,
    pub(super) members: Vec<String>,
    /// Standings as they were before the job changed them (`None`: not cached).
    pub(super) standings: Vec<(String, Option<Standing>)>,
    pub(super) visited: Vec<(String, String)>,
    /// Lot books as they were before the job changed them (`None`: not held).
    pub(super) lot_books: Vec<(String, Option<LotBook>)>,
    pub(super) head: Option<Head>,
    /// A savepoint is open for this job (it went to the database directly).
    pub(super) savepoint: bool,
}

impl JobLog {
    pub(super) fn has_changes(&self, pending: &Pending) -> bool {
        !self.accounts.is_empty()
            || !self.authorizations.is_empty()
            || pending.entries.len() > self.marks.entries
            || pending.operations.len() > self.marks.operations
            || pending.activities.len() > self.marks.activities
            || pending.idempotency.len() > self.marks.idempotency
            || !self.lot_books.is_empty()
            || pending.events.len() > self.marks.events
    }
}
