//! Webhooks' rows: partners' endpoints, the outbox (written by the writer in the transaction of
//! what caused each event), the delivery log; and the registry of who takes which events, which
//! the writer consults for every entry it posts.

use std::collections::HashMap;
use std::sync::RwLock;

use diesel::prelude::*;

use super::bulk::{BulkRow, Value};
pub use super::event_type::{EventType, UnknownEventType};
use super::schema::{webhook_attempts, webhook_endpoints, webhook_events};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The most deliveries one listing returns.
pub const MAX_DELIVERIES_PAGE: i64 = 200;
/// The most attempts kept per event (the back-off reaches three days well before).
pub const MAX_ATTEMPTS_PER_EVENT: i32 = 64;

/// Which partner's enabled endpoint takes which events: read at start, changed by every
/// registration once it committed. The writer writes an event only for a partner here.
#[derive(Debug, Default)]
pub struct Subscribers {
    by_partner: RwLock<HashMap<String, Vec<EventType>>>,
}

impl Subscribers {
    /// Whether `partner`'s endpoint takes `event`.
    pub fn wants(&self, partner: &str, event: EventType) -> bool {
        self.by_partner
            .read()
            .is_ok_and(|m| m.get(partner).is_some_and(|e| e.contains(&event)))
    }

    /// Whether nobody takes anything (the writer then skips events altogether).
    pub fn is_empty(&self) -> bool {
        self.by_partner.read().is_ok_and(|m| m.is_empty())
    }

    /// `partner`'s endpoint now takes `events` (`None`: it has no enabled endpoint).
    pub fn set(&self, partner: &str, events: Option<Vec<EventType>>) {
        if let Ok(mut m) = self.by_partner.write() {
            match events {
                Some(e) => m.insert(partner.to_owned(), e),
                None => m.remove(partner),
            };
        }
    }

    /// Every enabled endpoint as the database holds it.
    pub fn load(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        let rows = endpoints(conn)?;
        if let Ok(mut m) = self.by_partner.write() {
            m.clear();
            for r in rows.into_iter().filter(|r| r.disabled_at_us.is_none()) {
                m.insert(r.partner_id.clone(), r.event_types());
            }
        }
        Ok(())
    }

    /// The partners with an enabled endpoint.
    pub fn partners(&self) -> Vec<String> {
        self.by_partner
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_endpoints, treat_none_as_null = true)]
pub struct EndpointRow {
    pub partner_id: String,
    pub url: String,
    /// Comma-separated event types.
    pub events: String,
    pub created_at_us: i64,
    pub updated_at_us: i64,
    pub disabled_at_us: Option<i64>,
    pub disabled_reason: Option<String>,
}

impl EndpointRow {
    /// The event types it takes (names no longer known are skipped).
    pub fn event_types(&self) -> Vec<EventType> {
        self.events
            .split(',')
            .filter_map(|e| e.parse().ok())
            .collect()
    }
}

pub fn endpoints(conn: &mut DbConn) -> Result<Vec<EndpointRow>, StoreError> {
    Ok(webhook_endpoints::table
        .order(webhook_endpoints::partner_id)
        .select(EndpointRow::as_select())
        .load(conn)?)
}

pub fn endpoint(conn: &mut DbConn, partner: &str) -> Result<Option<EndpointRow>, StoreError> {
    Ok(webhook_endpoints::table
        .find(partner)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?)
}

/// Registers or replaces `row`'s endpoint (enabled again, if it was disabled).
pub fn put_tx(tx: &mut WriteTx<'_>, row: &EndpointRow) -> Result<(), StoreError> {
    let conn = tx.db()?;
    let updated = diesel::update(webhook_endpoints::table.find(&row.partner_id))
        .set((
            webhook_endpoints::url.eq(&row.url),
            webhook_endpoints::events.eq(&row.events),
            webhook_endpoints::updated_at_us.eq(row.updated_at_us),
            webhook_endpoints::disabled_at_us.eq(None::<i64>),
            webhook_endpoints::disabled_reason.eq(None::<String>),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(webhook_endpoints::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_tx(tx: &mut WriteTx<'_>, partner: &str) -> Result<bool, StoreError> {
    let n = diesel::delete(webhook_endpoints::table.find(partner)).execute(tx.db()?)?;
    Ok(n > 0)
}

/// Disables `partner`'s endpoint (it answered 410 Gone): nothing more is sent until a PUT.
pub fn disable_tx(tx: &mut WriteTx<'_>, partner: &str, reason: &str) -> Result<(), StoreError> {
    let now = tx.now_us();
    diesel::update(webhook_endpoints::table.find(partner))
        .set((
            webhook_endpoints::disabled_at_us.eq(Some(now)),
            webhook_endpoints::disabled_reason.eq(Some(reason)),
        ))
        .execute(tx.db()?)?;
    Ok(())
}

/// An event the writer has not written yet: its `seq` and id are given when it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub partner_id: String,
    pub event_type: EventType,
    pub entry_id: Option<String>,
    pub data: Option<String>,
    pub created_at_us: i64,
}

/// An outbox row as written.
pub(super) struct OutboxRecord<'a> {
    pub seq: i64,
    pub id: String,
    pub event: &'a NewEvent,
}

impl BulkRow for OutboxRecord<'_> {
    const TABLE: &'static str = "webhook_events";
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "id",
        "partner_id",
        "event_type",
        "entry_id",
        "data",
        "created_at_us",
        "queued_at_us",
        "state",
        "next_attempt_us",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Int(self.seq),
            Value::Text(&self.id),
            Value::Text(&self.event.partner_id),
            Value::Text(self.event.event_type.as_str()),
            Value::OptText(self.event.entry_id.as_deref()),
            Value::OptText(self.event.data.as_deref()),
            Value::Int(self.event.created_at_us),
            Value::Int(self.event.created_at_us),
            Value::Text(EventState::Pending.as_str()),
            Value::Int(self.event.created_at_us),
        ]);
    }
}

/// The highest outbox position written so far (0: none).
pub(super) fn last_seq(conn: &mut DbConn) -> Result<i64, StoreError> {
    use diesel::dsl::max;
    Ok(webhook_events::table
        .select(max(webhook_events::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Where an event's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    Pending,
    Delivered,
    Failed,
}

impl EventState {
    pub fn as_str(self) -> &'static str {
        match self {
            EventState::Pending => "pending",
            EventState::Delivered => "delivered",
            EventState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EventState::Pending,
            EventState::Delivered,
            EventState::Failed,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = webhook_events)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub partner_id: String,
    pub event_type: String,
    pub entry_id: Option<String>,
    pub data: Option<String>,
    pub body: Option<String>,
    pub created_at_us: i64,
    pub queued_at_us: i64,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_us: i64,
    pub last_attempt_us: Option<i64>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub done_at_us: Option<i64>,
}

/// The oldest undelivered event of `partner`: what must go before anything else of theirs.
pub fn head(conn: &mut DbConn, partner: &str) -> Result<Option<EventRow>, StoreError> {
    Ok(webhook_events::table
        .filter(webhook_events::partner_id.eq(partner))
        .filter(webhook_events::state.eq(EventState::Pending.as_str()))
        .order(webhook_events::seq)
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// `partner`'s events, newest first, before `before_seq`, in `state` when given.
pub fn page(
    conn: &mut DbConn,
    partner: &str,
    state: Option<EventState>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let mut q = webhook_events::table
        .filter(webhook_events::partner_id.eq(partner))
        .order(webhook_events::seq.desc())
        .limit(limit.clamp(1, MAX_DELIVERIES_PAGE))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(s) = state {
        q = q.filter(webhook_events::state.eq(s.as_str()));
    }
    if let Some(b) = before_seq {
        q = q.filter(webhook_events::seq.lt(b));
    }
    Ok(q.load(conn)?)
}

pub fn event(conn: &mut DbConn, id: &str) -> Result<Option<EventRow>, StoreError> {
    Ok(webhook_events::table
        .filter(webhook_events::id.eq(id))
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub event_seq: i64,
    pub attempt: i32,
    pub at_us: i64,
    pub duration_ms: i64,
    pub status: Option<i32>,
    pub error: Option<String>,
}

/// The attempts of the events at `seqs`, in order.
pub fn attempts_of(conn: &mut DbConn, seqs: &[i64]) -> Result<Vec<AttemptRow>, StoreError> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::event_seq.eq_any(seqs))
        .order((webhook_attempts::event_seq, webhook_attempts::attempt))
        .select(AttemptRow::as_select())
        .load(conn)?)
}

/// Keeps the body an event's first attempt sends, so every retry sends the same bytes.
pub fn keep_body_tx(tx: &mut WriteTx<'_>, seq: i64, body: &str) -> Result<(), StoreError> {
    diesel::update(webhook_events::table.find(seq))
        .filter(webhook_events::body.is_null())
        .set(webhook_events::body.eq(body))
        .execute(tx.db()?)?;
    Ok(())
}

/// What an attempt did to its event: delivered, failed for good, or to be tried again at
/// `next_attempt_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed,
    Retry { next_attempt_us: i64 },
}

/// Records one attempt and its outcome; `window_start_us`: when the event's current run of
/// attempts began (its first attempt since it was queued), from which its three days count. An
/// event no longer pending keeps its state; the attempt is logged all the same.
pub fn record_attempt_tx(
    tx: &mut WriteTx<'_>,
    attempt: &AttemptRow,
    outcome: Outcome,
    window_start_us: i64,
) -> Result<(), StoreError> {
    let now = tx.now_us();
    let conn = tx.db()?;
    diesel::insert_into(webhook_attempts::table)
        .values(attempt)
        .execute(conn)?;
    let (state, next, done) = match outcome {
        Outcome::Delivered => (EventState::Delivered, attempt.at_us, Some(now)),
        Outcome::Failed => (EventState::Failed, attempt.at_us, Some(now)),
        Outcome::Retry { next_attempt_us } => (EventState::Pending, next_attempt_us, None),
    };
    diesel::update(webhook_events::table.find(attempt.event_seq))
        .filter(webhook_events::state.eq(EventState::Pending.as_str()))
        .set((
            webhook_events::state.eq(state.as_str()),
            webhook_events::attempts.eq(attempt.attempt),
            webhook_events::next_attempt_us.eq(next),
            webhook_events::last_attempt_us.eq(Some(attempt.at_us)),
            webhook_events::last_status.eq(attempt.status),
            webhook_events::last_error.eq(attempt.error.as_deref()),
            webhook_events::done_at_us.eq(done),
            webhook_events::queued_at_us.eq(window_start_us),
        ))
        .execute(conn)?;
    Ok(())
}

/// Queues `partner`'s event `id` again, to be sent at once (ahead of anything of theirs
/// newer). `None`: no such event of theirs.
pub fn retry_tx(
    tx: &mut WriteTx<'_>,
    partner: &str,
    id: &str,
) -> Result<Option<EventRow>, StoreError> {
    let now = tx.now_us();
    let conn = tx.db()?;
    let n = diesel::update(
        webhook_events::table
            .filter(webhook_events::id.eq(id))
            .filter(webhook_events::partner_id.eq(partner)),
    )
    .set((
        webhook_events::state.eq(EventState::Pending.as_str()),
        webhook_events::next_attempt_us.eq(now),
        webhook_events::queued_at_us.eq(now),
        webhook_events::done_at_us.eq(None::<i64>),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    event(conn, id)
}

/// How many of `partner`'s events are pending and how many failed (by the two partial
/// indexes: only those rows are counted), and when the oldest pending one was queued.
pub fn tally(conn: &mut DbConn, partner: &str) -> Result<(i64, i64, Option<i64>), StoreError> {
    use diesel::dsl::{count_star, min};
    let (pending, oldest): (i64, Option<i64>) = webhook_events::table
        .filter(webhook_events::partner_id.eq(partner))
        .filter(webhook_events::state.eq(EventState::Pending.as_str()))
        .select((count_star(), min(webhook_events::created_at_us)))
        .first(conn)?;
    let failed: i64 = webhook_events::table
        .filter(webhook_events::partner_id.eq(partner))
        .filter(webhook_events::state.eq(EventState::Failed.as_str()))
        .select(count_star())
        .first(conn)?;
    Ok((pending, failed, oldest))
}
