//! Delivering the outbox: each partner's oldest pending event goes first and alone (so events
//! arrive in order per partner), a bounded number of partners at a time; each attempt is
//! signed per Standard Webhooks with the network key (`v1a`, Ed25519), times out, and is logged
//! with its status and timing. Failures are retried with exponential back-off and jitter,
//! honouring `Retry-After`, for three days from the event's first attempt; then it is marked
//! failed and the partner's next event goes. `410 Gone` disables the endpoint.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Serialize;

use super::guard::GuardedResolver;
use crate::clearing::receipt::Posted;
use crate::clearing::views::entry::EntryView;
use crate::clearing::{Clearing, ClearingError, EntryStatus, time};
use crate::ledger::EntryId;
use crate::store::webhooks::{self as rows, AttemptRow, EndpointRow, EventRow, Outcome};

/// Partners whose events are being sent at once, at most.
pub const MAX_CONCURRENT_DELIVERIES: usize = 8;
/// How long one attempt may take, connecting included.
pub const DELIVERY_TIMEOUT_SECS: u64 = 10;
/// How long an event is retried from its first attempt before it is marked failed.
pub const RETRY_WINDOW_US: i64 = 3 * time::DAY_US;
/// The shortest and longest wait between two attempts (before jitter).
pub const MIN_RETRY_WAIT_SECS: i64 = 5;
pub const MAX_RETRY_WAIT_SECS: i64 = 6 * 3_600;
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER_SECS: i64 = 86_400;
/// A partner with nothing due is looked at again after this long.
pub const IDLE_LOOK_US: i64 = 1_000_000;
/// The longest error text kept for an attempt.
const MAX_ERROR_CHARS: usize = 200;

const US_PER_SEC: i64 = 1_000_000;

/// When to try again after a failed attempt at `now_us` of an event first tried at
/// `queued_at_us`, or `None` once its three days are over. The wait is as long as the event has waited so far
/// (so waits double: 5 s, 10 s, 20 s … up to 6 hours), times a jitter of 0.8 to 1.2
/// (`jitter_permille` 0 to 1000), and never shorter than the receiver's `Retry-After`; the
/// last attempt falls on the end of the window.
pub fn next_attempt_us(
    queued_at_us: i64,
    now_us: i64,
    retry_after_secs: Option<i64>,
    jitter_permille: i64,
) -> Option<i64> {
    let deadline = queued_at_us.saturating_add(RETRY_WINDOW_US);
    if now_us >= deadline {
        return None;
    }
    let waited_secs = (now_us - queued_at_us).max(0) / US_PER_SEC;
    let base_us = waited_secs.clamp(MIN_RETRY_WAIT_SECS, MAX_RETRY_WAIT_SECS) * US_PER_SEC;
    let jittered = base_us / 1_000 * (800 + 400 * jitter_permille.clamp(0, 1_000) / 1_000);
    let asked = retry_after_secs.map_or(0, |s| s.clamp(0, MAX_RETRY_AFTER_SECS) * US_PER_SEC);
    Some(now_us.saturating_add(jittered.max(asked)).min(deadline))
}

/// `Retry-After` as seconds from now: a number of seconds or an HTTP date.
pub fn retry_after_secs(value: &str, now_secs: i64) -> Option<i64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Some(secs.max(0));
    }
    let at =
        ::time::OffsetDateTime::parse(v, &::time::format_description::well_known::Rfc2822).ok()?;
    Some((at.unix_timestamp() - now_secs).max(0))
}

/// The body every attempt of an event sends.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: String,
    data: serde_json::Value,
}

/// What one attempt came back with.
#[derive(Debug)]
struct Sent {
    status: Option<u16>,
    retry_after: Option<String>,
    error: Option<String>,
    duration_ms: i64,
}

/// The client every delivery goes through and the partners being served now.
pub struct Sender {
    agent: ureq::Agent,
    in_flight: Mutex<HashSet<String>>,
}

impl Sender {
    pub fn new(allow_private: bool) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(DELIVERY_TIMEOUT_SECS)))
            .user_agent("Coalition-Webhooks/1")
            .build();
        Self {
            agent: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                GuardedResolver::new(allow_private),
            ),
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    /// Takes `partner` for one attempt, if nobody is sending to them and fewer than the
    /// most partners are being served.
    fn take(&self, partner: &str) -> bool {
        let Ok(mut set) = self.in_flight.lock() else {
            return false;
        };
        if set.len() >= MAX_CONCURRENT_DELIVERIES || set.contains(partner) {
            return false;
        }
        set.insert(partner.to_owned())
    }

    fn give_back(&self, partner: &str) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(partner);
        }
    }

    /// Whether any attempt is under way (tests wait for quiet).
    pub fn is_idle(&self) -> bool {
        self.in_flight.lock().is_ok_and(|s| s.is_empty())
    }

    fn post(&self, url: &str, headers: [(&str, String); 3], body: &str) -> Sent {
        let started = Instant::now();
        let mut req = self.agent.post(url).content_type("application/json");
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let result = req.send(body.as_bytes());
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match result {
            Ok(resp) => Sent {
                status: Some(resp.status().as_u16()),
                retry_after: resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                error: None,
                duration_ms,
            },
            Err(e) => Sent {
                status: None,
                retry_after: None,
                error: Some(e.to_string().chars().take(MAX_ERROR_CHARS).collect()),
                duration_ms,
            },
        }
    }
}

impl Clearing {
    /// Starts an attempt for every partner whose oldest pending event is due and who is not
    /// being served (at most [`MAX_CONCURRENT_DELIVERIES`] at once); each attempt runs on its
    /// own task. Returns how many were started.
    pub async fn start_due_deliveries(self: &Arc<Self>) -> Result<usize, ClearingError> {
        let now = self.clock().now_us();
        let endpoints: Vec<EndpointRow> = self
            .store
            .read(rows::endpoints)
            .await?
            .into_iter()
            .filter(|e| e.disabled_at_us.is_none() && self.webhooks.is_due(&e.partner_id, now))
            .collect();
        if endpoints.is_empty() {
            return Ok(0);
        }
        let partners: Vec<String> = endpoints.iter().map(|e| e.partner_id.clone()).collect();
        let heads = self
            .store
            .read(move |c| {
                partners
                    .iter()
                    .map(|p| rows::head(c, p))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let mut started = 0;
        for (endpoint, head) in endpoints.into_iter().zip(heads) {
            let partner = endpoint.partner_id.clone();
            match head {
                None => self.webhooks.not_before(&partner, now + IDLE_LOOK_US),
                Some(h) if h.next_attempt_us > now => {
                    self.webhooks.not_before(&partner, h.next_attempt_us);
                }
                Some(h) => {
                    if !self.webhooks.sender.take(&partner) {
                        continue;
                    }
                    started += 1;
                    let me = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = me.attempt(&endpoint, h).await {
                            tracing::warn!(partner = %endpoint.partner_id, error = %e, "webhook attempt not recorded; it will be made again");
                        }
                        me.webhooks.sender.give_back(&endpoint.partner_id);
                    });
                }
            }
        }
        Ok(started)
    }

    /// The body of `event`, the same on every attempt: kept from the first one, else made now
    /// from its payload or its entry as partners see it.
    async fn body_of(&self, event: &EventRow) -> Result<String, ClearingError> {
        if let Some(b) = &event.body {
            return Ok(b.clone());
        }
        let data = match (&event.entry_id, &event.data) {
            (Some(id), _) => {
                let parsed: Option<EntryId> = id.parse().ok();
                let entry = match parsed {
                    Some(id) => self.entry(id).await?,
                    None => None,
                };
                match entry {
                    Some(entry) => {
                        let posted = Posted {
                            entry,
                            status: EntryStatus::Posted,
                            coupons_issued: None,
                        };
                        serde_json::to_value(EntryView::new(&self.ctx, &posted)).unwrap_or_default()
                    }
                    None => serde_json::json!({ "entry_id": id }),
                }
            }
            (None, Some(d)) => serde_json::from_str(d).unwrap_or_default(),
            (None, None) => serde_json::Value::Null,
        };
        let envelope = Envelope {
            event_type: &event.event_type,
            timestamp: time::rfc3339(event.created_at_us),
            data,
        };
        Ok(serde_json::to_string(&envelope).unwrap_or_default())
    }

    /// Standard Webhooks' headers for one attempt: the id, the time, and the `v1a` signature
    /// by the network key over `{id}.{timestamp}.{body}`.
    fn signed_headers(&self, id: &str, body: &str) -> [(&'static str, String); 3] {
        // Receivers compare `webhook-timestamp` with their own clock: the wall clock's, not the
        // service's (which tests may move).
        let sent_at_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let signed = format!("{id}.{sent_at_secs}.{body}");
        let signature =
            base64::engine::general_purpose::STANDARD.encode(self.ctx.key.sign(signed.as_bytes()));
        [
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", sent_at_secs.to_string()),
            ("webhook-signature", format!("v1a,{signature}")),
        ]
    }

    /// One attempt at `event` to `endpoint`, and its record.
    async fn attempt(&self, endpoint: &EndpointRow, event: EventRow) -> Result<(), ClearingError> {
        let body = self.body_of(&event).await?;
        let headers = self.signed_headers(&event.id, &body);
        let me_url = endpoint.url.clone();
        let sender_body = body.clone();
        let webhooks = self.webhooks.sender.clone();
        let at_us = self.clock().now_us();
        let sent =
            super::off_runtime(move || webhooks.post(&me_url, headers, &sender_body)).await?;
        let now = self.clock().now_us();
        // The three days count from the first attempt since the event was queued: events that
        // waited behind an older one get their own three days.
        let window_start = match event.last_attempt_us {
            Some(t) if t >= event.queued_at_us => event.queued_at_us,
            _ => at_us,
        };
        let gone = sent.status == Some(410);
        let outcome = match sent.status {
            Some(200..=299) => Outcome::Delivered,
            // Kept pending: it goes first once the partner registers again.
            Some(410) => Outcome::Retry {
                next_attempt_us: now,
            },
            _ if event.attempts + 1 >= rows::MAX_ATTEMPTS_PER_EVENT => Outcome::Failed,
            _ => {
                let after = sent
                    .retry_after
                    .as_deref()
                    .and_then(|v| retry_after_secs(v, now / US_PER_SEC));
                match next_attempt_us(window_start, now, after, jitter_permille()) {
                    Some(next_attempt_us) => Outcome::Retry { next_attempt_us },
                    None => Outcome::Failed,
                }
            }
        };
        let row = AttemptRow {
            event_seq: event.seq,
            attempt: event.attempts + 1,
            at_us,
            duration_ms: sent.duration_ms,
            status: sent.status.map(i32::from),
            error: sent.error,
        };
        let partner = endpoint.partner_id.clone();
        let keep = event.body.is_none().then_some(body);
        self.store
            .write(move |tx| {
                if let Some(b) = &keep {
                    rows::keep_body_tx(tx, row.event_seq, b)?;
                }
                rows::record_attempt_tx(tx, &row, outcome, window_start)?;
                if gone {
                    rows::disable_tx(tx, &partner, "the endpoint answered 410 Gone")?;
                }
                Ok::<_, ClearingError>(())
            })
            .await?;
        if gone {
            self.store.subscribers().set(&endpoint.partner_id, None);
        }
        if let Outcome::Retry { next_attempt_us } = outcome {
            self.webhooks
                .not_before(&endpoint.partner_id, next_attempt_us);
        }
        Ok(())
    }
}

/// A jitter draw, 0 to 1000, from the system's random source (500 if it fails).
fn jitter_permille() -> i64 {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 2];
    match ring::rand::SystemRandom::new().fill(&mut b) {
        Ok(()) => i64::from(u16::from_le_bytes(b) % 1_001),
        Err(_) => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = US_PER_SEC;

    #[test]
    fn waits_double_with_jitter_and_stop_after_three_days() {
        let q = 1_000 * S;
        // A first failure at once waits 5 s (4 to 6 with jitter).
        assert_eq!(next_attempt_us(q, q, None, 500), Some(q + 5 * S));
        assert_eq!(next_attempt_us(q, q, None, 0), Some(q + 4 * S));
        assert_eq!(next_attempt_us(q, q, None, 1_000), Some(q + 6 * S));
        // After waiting 40 s, the next wait is 40 s: waits double.
        assert_eq!(next_attempt_us(q, q + 40 * S, None, 500), Some(q + 80 * S));
        // Waits stop growing at 6 hours.
        let late = q + 2 * time::DAY_US;
        assert_eq!(
            next_attempt_us(q, late, None, 500),
            Some(late + MAX_RETRY_WAIT_SECS * S)
        );
        // The last attempt falls on the end of the window; after it, none.
        let end = q + RETRY_WINDOW_US;
        assert_eq!(next_attempt_us(q, end - 60 * S, None, 500), Some(end));
        assert_eq!(next_attempt_us(q, end, None, 500), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_day() {
        let q = 1_000 * S;
        assert_eq!(next_attempt_us(q, q, Some(120), 500), Some(q + 120 * S));
        // A shorter Retry-After than the back-off does not shorten it.
        assert_eq!(
            next_attempt_us(q, q + 100 * S, Some(1), 500),
            Some(q + 200 * S)
        );
        assert_eq!(
            next_attempt_us(q, q, Some(10 * 86_400), 500),
            Some(q + MAX_RETRY_AFTER_SECS * S)
        );
        assert_eq!(retry_after_secs("120", 0), Some(120));
        assert_eq!(retry_after_secs("-3", 0), Some(0));
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777 - 60),
            Some(60)
        );
        assert_eq!(retry_after_secs("soon", 0), None);
    }
}
