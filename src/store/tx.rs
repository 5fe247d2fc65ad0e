//! What a write job holds: the writer's connection inside the batch's transaction, and the
//! writer's memory. Store functions take it to write.

use super::StoreError;
use super::conn::DbConn;
use super::event_type::EventType;
use super::replies::{Render, ResponseSlot};
use super::writer::WriterState;

/// What a job sees: the write transaction and the writer's memory. Store functions take it to
/// write.
pub struct WriteTx<'a> {
    conn: &'a mut DbConn,
    pub(super) state: &'a mut WriterState,
}

impl<'a> WriteTx<'a> {
    /// A job's view of the batch: the writer's connection, inside its transaction, and memory.
    pub(super) fn new(conn: &'a mut DbConn, state: &'a mut WriterState) -> Self {
        Self { conn, state }
    }

    /// Now, by the service's clock: what every row a job writes is stamped with.
    pub fn now_us(&self) -> i64 {
        self.state.clock.now_us()
    }

    /// The connection, for a job that writes rows directly: the batch's pending rows are written
    /// first and a savepoint is opened, so that refusing this job undoes only this job.
    pub(super) fn db(&mut self) -> Result<&mut DbConn, StoreError> {
        self.state.sync_for_direct_access(self.conn, true)?;
        Ok(&mut *self.conn)
    }

    /// The connection, for a job that reads tables the batch may have pending rows for.
    pub(super) fn db_read(&mut self) -> Result<&mut DbConn, StoreError> {
        self.state.sync_for_direct_access(self.conn, false)?;
        Ok(&mut *self.conn)
    }

    /// The connection as it is, for reads of tables the writer never holds rows back for
    /// (members, campaigns, coupons, idempotency records already checked in memory).
    pub(super) fn conn_unsynced(&mut self) -> &mut DbConn {
        self.conn
    }

    /// Says that what segments `member_id` belongs to may have changed (a link made or left,
    /// consent changed): the segment worker looks at them once the batch commits.
    pub fn touch(&mut self, member_id: &str) {
        self.state.touch(member_id);
    }

    /// Queues a webhook event for `partner`, written with this job's other rows (and dropped
    /// with them if the job is refused); nothing when their endpoint does not take it.
    pub fn emit(&mut self, partner: &str, event: EventType, data: String) {
        self.state.push_event(partner, event, data);
    }

    /// Whether any partner's endpoint takes any event (so a job can skip working out an
    /// event's receivers when nobody listens).
    pub fn has_subscribers(&self) -> bool {
        !self.state.subscribers.is_empty()
    }

    /// Says that this job's answer holds personal data of `member_id` (a brand's id for them,
    /// their card): its idempotency record names the member, so that erasing them removes it.
    /// Answers that hold only ids the journal keeps anyway (an earn's receipt) are not named.
    pub fn answer_names(&mut self, member_id: &str) {
        self.state.answer_names(member_id);
    }

    /// Leaves the job's response to be rendered after every job of the batch has run and,
    /// with `record`, kept under its idempotency key
    /// `((owner, key), request_hash)` in the same transaction. The slot holds the response by
    /// the time the caller is answered. Call it last: the job must not fail after it.
    pub fn defer_response(
        &mut self,
        record: Option<((String, String), String)>,
        render: Render,
    ) -> ResponseSlot {
        self.state.defer_response(record, render)
    }
}
