//! Webhooks to partners' own systems: an endpoint per partner with the events it takes, the
//! delivery log and a manual retry. The events themselves are written by the writer in the
//! transaction of what caused them (`store::webhooks`); `send` delivers them.

pub mod guard;
pub mod send;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Clearing, ClearingError, Context, Invalid, Missing, time};
use crate::ledger::PartnerId;
use crate::store::webhooks::{self as rows, AttemptRow, EndpointRow, EventRow, EventState};
pub use crate::store::webhooks::{EventType, MAX_DELIVERIES_PAGE};
pub use guard::UrlRefusal;

/// What a partner registers: where to send, and which events.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRequest {
    /// An absolute `https` (or `http`) URL; refused if its host resolves to an internal address.
    #[schema(example = "https://hooks.aroma.example/coalition")]
    pub url: String,
    /// One or more of `entry.posted`, `coupon.issued`, `coupon.redeemed`, `tier.changed`,
    /// `points.expiring`, `reward.claimed`, `settlement.closed`, `payment.recorded`.
    #[schema(example = json!(["entry.posted", "points.expiring"]))]
    pub events: Vec<String>,
}

/// How deliveries are signed: Standard Webhooks' asymmetric `v1a` scheme.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SigningView {
    /// Always `v1a` (Ed25519 over `{webhook-id}.{webhook-timestamp}.{body}`).
    pub scheme: String,
    /// The network key's id in `/.well-known/jwks.json`.
    pub kid: String,
    /// The network's public key as Standard Webhooks writes it: `whpk_` and base64.
    pub public_key: String,
}

/// A partner's endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub url: String,
    pub events: Vec<String>,
    /// `false` once the endpoint answered `410 Gone`; a `PUT` enables it again.
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub signing: SigningView,
}

/// One attempt to deliver an event: when, how long, and the status that came back (or why
/// none did). Response bodies are never kept.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i32,
    pub at: String,
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One event for this partner and how its delivery went.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// Sent as `webhook-id`: the same on every attempt, so receivers can drop duplicates.
    pub delivery_id: String,
    pub event_type: String,
    /// The entry an entry event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    pub created_at: String,
    /// `pending`, `delivered` or `failed` (three days of failures).
    pub state: String,
    pub attempts: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<String>,
    /// Every attempt, oldest first.
    pub log: Vec<AttemptView>,
}

/// One partner's endpoint and how its deliveries stand, for the console.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointHealth {
    pub partner: String,
    pub endpoint: EndpointView,
    pub pending: i64,
    pub failed: i64,
    pub oldest_pending_at: Option<String>,
    /// The latest failed deliveries, newest first.
    pub recent_failures: Vec<DeliveryView>,
}

/// Failed deliveries the console lists per partner.
pub const RECENT_FAILURES_SHOWN: i64 = 5;

/// What the delivery worker keeps between rounds: whether internal addresses are allowed, and
/// when each partner's queue is next worth a look.
pub struct Delivery {
    allow_private: bool,
    not_before_us: Mutex<HashMap<String, i64>>,
    pub(crate) sender: Arc<send::Sender>,
}

impl Delivery {
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            not_before_us: Mutex::new(HashMap::new()),
            sender: Arc::new(send::Sender::new(allow_private)),
        }
    }

    /// Whether no attempt is under way.
    pub fn is_idle(&self) -> bool {
        self.sender.is_idle()
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Looks at `partner`'s queue at the next round (an event retried by hand).
    pub(crate) fn wake(&self, partner: &str) {
        if let Ok(mut m) = self.not_before_us.lock() {
            m.remove(partner);
        }
    }

    pub(crate) fn is_due(&self, partner: &str, now_us: i64) -> bool {
        self.not_before_us
            .lock()
            .map(|m| m.get(partner).is_none_or(|&t| t <= now_us))
            .unwrap_or(true)
    }

    pub(crate) fn not_before(&self, partner: &str, at_us: i64) {
        if let Ok(mut m) = self.not_before_us.lock() {
            m.insert(partner.to_owned(), at_us);
        }
    }
}

fn endpoint_view(ctx: &Context, row: &EndpointRow) -> EndpointView {
    use base64::Engine as _;
    let public = ctx.key.public_key();
    EndpointView {
        url: row.url.clone(),
        events: row.event_types().iter().map(|e| e.to_string()).collect(),
        enabled: row.disabled_at_us.is_none(),
        created_at: time::rfc3339(row.created_at_us),
        updated_at: time::rfc3339(row.updated_at_us),
        disabled_at: row.disabled_at_us.map(time::rfc3339),
        disabled_reason: row.disabled_reason.clone(),
        signing: SigningView {
            scheme: "v1a".into(),
            kid: ctx.kid.clone(),
            public_key: format!(
                "whpk_{}",
                base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
            ),
        },
    }
}

fn attempt_view(a: &AttemptRow) -> AttemptView {
    AttemptView {
        attempt: a.attempt,
        at: time::rfc3339(a.at_us),
        duration_ms: a.duration_ms,
        status: a.status,
        error: a.error.clone(),
    }
}

fn delivery_view(e: &EventRow, log: Vec<AttemptView>) -> DeliveryView {
    let pending = e.state == EventState::Pending.as_str();
    DeliveryView {
        delivery_id: e.id.clone(),
        event_type: e.event_type.clone(),
        entry_id: e.entry_id.clone(),
        created_at: time::rfc3339(e.created_at_us),
        state: e.state.clone(),
        attempts: e.attempts,
        next_attempt_at: pending.then(|| time::rfc3339(e.next_attempt_us)),
        last_status: e.last_status,
        last_error: e.last_error.clone(),
        done_at: e.done_at_us.map(time::rfc3339),
        log,
    }
}

/// A manual retry queued: 202.
pub fn queued(_ctx: &Context, e: EventRow) -> (u16, String) {
    super::views::json(202, &delivery_view(&e, Vec::new()))
}

/// Runs blocking work (a DNS lookup, a delivery's HTTP call) off the async runtime's threads.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ClearingError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        ClearingError::Store(crate::store::StoreError::Database(format!(
            "blocking task failed: {e}"
        )))
    })
}

/// The event types named, each known, each once, in their canonical order.
fn event_types(names: &[String]) -> Result<Vec<EventType>, ClearingError> {
    if names.is_empty() || names.len() > EventType::ALL.len() * 2 {
        return Err(Invalid::Webhook(format!(
            "events must name 1 to {} event types",
            EventType::ALL.len()
        ))
        .into_error());
    }
    let set: BTreeSet<EventType> = names
        .iter()
        .map(|n| n.parse::<EventType>())
        .collect::<Result<_, _>>()
        .map_err(|e| Invalid::Webhook(format!("events: {e}")).into_error())?;
    Ok(set.into_iter().collect())
}

impl Invalid {
    fn into_error(self) -> ClearingError {
        ClearingError::InvalidRequest(self)
    }
}

impl Clearing {
    /// Registers (or replaces, and enables again) `partner`'s endpoint.
    pub async fn put_webhook(
        &self,
        partner: &PartnerId,
        req: EndpointRequest,
    ) -> Result<EndpointView, ClearingError> {
        let events = event_types(&req.events)?;
        let uri = guard::parse_url(&req.url)?;
        let allow = self.webhooks.allows_private();
        off_runtime(move || guard::check_url(&uri, allow)).await??;
        let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        let now = self.clock().now_us();
        let mut row = EndpointRow {
            partner_id: partner.to_string(),
            url: req.url,
            events: names.join(","),
            created_at_us: now,
            updated_at_us: now,
            disabled_at_us: None,
            disabled_reason: None,
        };
        let written = row.clone();
        self.store
            .write(move |tx| rows::put_tx(tx, &written).map_err(ClearingError::from))
            .await?;
        self.store.subscribers().set(&row.partner_id, Some(events));
        self.webhooks.wake(&row.partner_id);
        if let Some(stored) = self.read_endpoint(partner).await? {
            row = stored;
        }
        Ok(endpoint_view(&self.ctx, &row))
    }

    async fn read_endpoint(
        &self,
        partner: &PartnerId,
    ) -> Result<Option<EndpointRow>, ClearingError> {
        let p = partner.to_string();
        Ok(self.store.read(move |c| rows::endpoint(c, &p)).await?)
    }

    /// `partner`'s endpoint.
    pub async fn webhook(&self, partner: &PartnerId) -> Result<EndpointView, ClearingError> {
        let row = self
            .read_endpoint(partner)
            .await?
            .ok_or(ClearingError::NotFound(Missing::Webhook))?;
        Ok(endpoint_view(&self.ctx, &row))
    }

    /// Removes `partner`'s endpoint: nothing more is queued for them; what is queued stays in
    /// the log and goes out if they register again.
    pub async fn delete_webhook(&self, partner: &PartnerId) -> Result<(), ClearingError> {
        let p = partner.to_string();
        let removed = self
            .store
            .write(move |tx| rows::delete_tx(tx, &p).map_err(ClearingError::from))
            .await?;
        self.store.subscribers().set(partner.as_str(), None);
        if removed {
            Ok(())
        } else {
            Err(ClearingError::NotFound(Missing::Webhook))
        }
    }

    /// `partner`'s deliveries, newest first, older than `before_seq` (0: from the newest), and
    /// where the next page starts when there may be one.
    pub async fn webhook_deliveries(
        &self,
        partner: &PartnerId,
        state: Option<&str>,
        limit: i64,
        before_seq: i64,
    ) -> Result<(Vec<DeliveryView>, Option<i64>), ClearingError> {
        let state = match state {
            None => None,
            Some(s) => Some(EventState::parse(s).ok_or_else(|| {
                Invalid::Webhook("state must be pending, delivered or failed".into()).into_error()
            })?),
        };
        let p = partner.to_string();
        let limit = limit.clamp(1, MAX_DELIVERIES_PAGE);
        let before = (before_seq > 0).then_some(before_seq);
        let (events, attempts) = self
            .store
            .read(move |c| {
                let events = rows::page(c, &p, state, before, limit)?;
                let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
                let attempts = rows::attempts_of(c, &seqs)?;
                Ok((events, attempts))
            })
            .await?;
        let mut logs: HashMap<i64, Vec<AttemptView>> = HashMap::new();
        for a in &attempts {
            logs.entry(a.event_seq).or_default().push(attempt_view(a));
        }
        let next_cursor = (i64::try_from(events.len()).unwrap_or(i64::MAX) == limit)
            .then(|| events.last().map(|e| e.seq))
            .flatten();
        let items = events
            .iter()
            .map(|e| delivery_view(e, logs.remove(&e.seq).unwrap_or_default()))
            .collect();
        Ok((items, next_cursor))
    }

    /// The work of `POST /v1/webhooks/deliveries/{id}/retry`: the event is queued again, to go
    /// out at once, ahead of the partner's newer events.
    pub fn retry_delivery_work(
        partner: &PartnerId,
        id: String,
    ) -> impl FnOnce(&Context, &mut crate::store::WriteTx<'_>) -> Result<EventRow, ClearingError>
    + Send
    + 'static {
        let partner = partner.to_string();
        move |_ctx, tx| {
            rows::retry_tx(tx, &partner, &id)?.ok_or(ClearingError::NotFound(Missing::Delivery))
        }
    }

    /// Every endpoint (or `partner`'s only) with its pending and failed counts and latest
    /// failures: the console's webhooks page.
    pub async fn webhook_health(
        &self,
        partner: Option<PartnerId>,
    ) -> Result<Vec<EndpointHealth>, ClearingError> {
        let only = partner.map(|p| p.to_string());
        let rows = self
            .store
            .read(move |c| {
                let mut out = Vec::new();
                for e in rows::endpoints(c)? {
                    if only.as_ref().is_some_and(|p| *p != e.partner_id) {
                        continue;
                    }
                    let tally = rows::tally(c, &e.partner_id)?;
                    let failures = rows::page(
                        c,
                        &e.partner_id,
                        Some(EventState::Failed),
                        None,
                        RECENT_FAILURES_SHOWN,
                    )?;
                    out.push((e, tally, failures));
                }
                Ok(out)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(e, (pending, failed, oldest), failures)| EndpointHealth {
                partner: e.partner_id.clone(),
                endpoint: endpoint_view(&self.ctx, &e),
                pending,
                failed,
                oldest_pending_at: oldest.map(time::rfc3339),
                recent_failures: failures
                    .iter()
                    .map(|f| delivery_view(f, Vec::new()))
                    .collect(),
            })
            .collect())
    }

    /// The delivery worker's state.
    pub fn webhooks(&self) -> &Delivery {
        &self.webhooks
    }
}
