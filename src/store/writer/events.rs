//! The writer's outbox: the webhook events of the batch's jobs, kept with their other rows (a
//! refused job's events go with it) and written in the same transaction, each numbered after
//! the last one written so that each partner's events go out in the order they happened.

use super::super::StoreError;
use super::super::bulk::insert_rows;
use super::super::conn::DbConn;
use super::super::webhooks::{self, EventType, NewEvent, OutboxRecord};
use super::WriterState;
use crate::ledger::RawEntry;
use crate::ledger::parties::partners_of;

impl WriterState {
    /// Queues `event` for `partner` if their endpoint takes it; `data` is its payload.
    pub(in crate::store) fn push_event(
        &mut self,
        partner: &str,
        event_type: EventType,
        data: String,
    ) {
        if self.subscribers.wants(partner, event_type) {
            self.pending.events.push(NewEvent {
                partner_id: partner.to_owned(),
                event_type,
                entry_id: None,
                data: Some(data),
                created_at_us: self.clock.now_us(),
            });
        }
    }

    /// Queues an entry's events for every partner it concerns that takes them: `entry.posted`,
    /// and what the entry's kind means besides (a coupon redeemed, a reward claimed, a
    /// settlement closed, a payment recorded). Their payload is the entry, read when sent.
    pub(super) fn push_entry_events(&mut self, entry: &RawEntry) {
        if self.subscribers.is_empty() {
            return;
        }
        let also = EventType::of_entry_kind(&entry.kind);
        for partner in partners_of(entry) {
            for event_type in std::iter::once(EventType::EntryPosted).chain(also) {
                if self.subscribers.wants(&partner, event_type) {
                    self.pending.events.push(NewEvent {
                        partner_id: partner.clone(),
                        event_type,
                        entry_id: Some(entry.id.clone()),
                        data: None,
                        created_at_us: entry.created_at_us,
                    });
                }
            }
        }
    }

    /// Writes the first `upto` pending events, numbered after the outbox's last.
    pub(super) fn write_events(
        &mut self,
        conn: &mut DbConn,
        upto: usize,
    ) -> Result<(), StoreError> {
        if upto == 0 {
            return Ok(());
        }
        let mut seq = match self.event_seq {
            Some(s) => s,
            None => webhooks::last_seq(conn)?,
        };
        let events: Vec<NewEvent> = self.pending.events.drain(..upto).collect();
        let rows: Vec<OutboxRecord<'_>> = events
            .iter()
            .map(|event| {
                seq += 1;
                OutboxRecord {
                    seq,
                    id: uuid::Uuid::now_v7().to_string(),
                    event,
                }
            })
            .collect();
        insert_rows(conn, &rows)?;
        self.event_seq = Some(seq);
        Ok(())
    }
}
