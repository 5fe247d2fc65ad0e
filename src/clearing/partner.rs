//! The partner API's use cases: members, earn, redeem, holds, reversals, entries and receipts,
//! each write exactly once under the partner's idempotency key.

use rust_decimal::RoundingStrategy;
use serde::Serialize;
use std::str::FromStr;

pub use super::Context;
use super::{Clearing, ClearingError, rules, time};
use crate::crypto::jws;
use crate::ledger::{
    Amount, CommittedEntry, EntryId, EntryKind, EntryMeta, KeyId, MemberId, PartnerId, Party,
    UnitCode,
};
use crate::store::idempotency::{self, Recorded};
use crate::store::ledger::EntryFilter;
use crate::store::operations::{self, Operation};
use crate::store::{self, WriteTx, members, now_us};

/// The longest `Idempotency-Key`, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;
/// The longest external member id a partner may use, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// The longest reversal reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Default and largest page of a listing.
pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1000;

/// A write a use case hands to [`Clearing::once`]: it runs on the writer, inside the batch's
/// transaction, with the shared context.
pub trait Work<T>:
    FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static
{
}
impl<T, F> Work<T> for F where
    F: FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static
{
}

/// Who signed the request: the partner, the key, and the signature as received.
#[derive(Debug, Clone)]
pub struct Caller {
    pub partner: PartnerId,
    pub key_id: KeyId,
    pub signature: String,
}

impl Caller {
    fn meta(&self, kind: EntryKind, member: MemberId, reference: Option<String>) -> EntryMeta {
        EntryMeta {
            kind,
            partner: Some(self.partner.clone()),
            member: Some(member),
            reference,
            reverses: None,
            key_id: Some(self.key_id.clone()),
            signature: Some(self.signature.clone()),
            memo: None,
        }
    }
}

/// An `Idempotency-Key` and the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    request_hash: String,
}

impl Idempotency {
    /// Checks the key (1 to 255 printable ASCII characters) and hashes what the request asked.
    pub fn new(key: &str, method: &str, path: &str, body: &[u8]) -> Result<Self, ClearingError> {
        if key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY_BYTES
            || !key.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(ClearingError::InvalidRequest(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} printable ASCII characters"
            )));
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [method.as_bytes(), b" ", path.as_bytes(), b"\n", body] {
            ctx.update(part);
        }
        let request_hash = ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            key: key.to_owned(),
            request_hash,
        })
    }
}

impl Idempotency {
    /// The key and the request's hash together: what makes two sends the same request.
    pub fn fingerprint(&self) -> String {
        format!("{} {}", self.key, self.request_hash)
    }
}

/// A response, given for the first time or again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

fn replay(recorded: Recorded, request_hash: &str) -> Result<Reply, ClearingError> {
    if recorded.request_hash != request_hash {
        return Err(ClearingError::IdempotencyConflict);
    }
    Ok(Reply {
        status: recorded.status,
        body: recorded.body,
        replayed: true,
    })
}

/// What a write under [`Clearing::once_as`] gives back: a replayed response, or the slot the
/// writer rendered the new one into.
enum Answer {
    Ready(Reply),
    Deferred(store::ResponseSlot),
}

/// An entry and the status it has now.
#[derive(Debug, Clone)]
pub struct Posted {
    pub entry: CommittedEntry,
    pub status: String,
    /// For an earn: the coupons its purchase issued, as `(code, campaign_id)`.
    pub coupons_issued: Option<Vec<(String, String)>>,
}

/// What a member earns: points, or a purchase the partner's earn rate turns into points.
#[derive(Debug, Clone)]
pub enum EarnAmount {
    Points(String),
    Purchase { amount: String, currency: String },
}

#[derive(Debug, Clone)]
pub struct EarnInput {
    pub member: MemberId,
    pub unit: Option<UnitCode>,
    pub amount: EarnAmount,
    pub reference: String,
    pub occurred_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RedeemInput {
    pub member: MemberId,
    pub unit: UnitCode,
    pub points: String,
    pub reference: String,
    pub authorization: Option<String>,
    pub capture: bool,
}

#[derive(Debug, Clone)]
pub struct ReverseInput {
    pub entry_id: EntryId,
    pub points: Option<String>,
    pub reference: String,
    pub reason: String,
}

/// One posting of a receipt: amounts signed, debit positive, as decimal strings.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PostingClaim {
    pub account: String,
    pub unit: String,
    pub amount: String,
}

/// The claims of a receipt's JWS.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ReceiptClaims {
    pub iss: String,
    pub entry_id: String,
    pub seq: i64,
    pub kind: String,
    pub status: String,
    pub partner: Option<String>,
    pub member_id: Option<String>,
    pub reference: Option<String>,
    pub reverses: Option<String>,
    pub hash: String,
    pub prev_hash: String,
    pub iat: i64,
    pub created_at: String,
    pub postings: Vec<PostingClaim>,
}

impl Context {
    fn scale(&self, unit: &UnitCode) -> Result<crate::ledger::Scale, ClearingError> {
        self.units
            .scale_of(unit)
            .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))
    }

    /// Parses a positive points amount at the unit's scale.
    fn points(&self, unit: &UnitCode, text: &str) -> Result<Amount, ClearingError> {
        Amount::parse_positive(text, self.scale(unit)?)
            .map_err(|e| ClearingError::InvalidAmount(e.to_string()))
    }

    pub fn postings(entry: &CommittedEntry) -> Vec<PostingClaim> {
        entry
            .postings
            .iter()
            .map(|p| PostingClaim {
                account: p.account.to_string(),
                unit: p.account.unit().to_string(),
                amount: p.amount.to_string(),
            })
            .collect()
    }

    /// The receipt: a compact JWS (EdDSA, the network key) over the entry's claims.
    pub fn receipt(&self, entry: &CommittedEntry, status: &str) -> String {
        let claims = ReceiptClaims {
            iss: self.network.name.clone(),
            entry_id: entry.id.to_string(),
            seq: entry.seq,
            kind: entry.meta.kind.to_string(),
            status: status.to_owned(),
            partner: entry.meta.partner.as_ref().map(ToString::to_string),
            member_id: entry.meta.member.as_ref().map(ToString::to_string),
            reference: entry.meta.reference.clone(),
            reverses: entry.meta.reverses.as_ref().map(ToString::to_string),
            hash: entry.hash.to_string(),
            prev_hash: entry.prev_hash.to_string(),
            iat: entry.created_at_us / 1_000_000,
            created_at: time::rfc3339(entry.created_at_us),
            postings: Self::postings(entry),
        };
        jws::sign_compact(&self.key, &self.kid, &claims)
    }

    /// Refuses a member the network does not know.
    pub(crate) fn require_member(
        &self,
        tx: &mut WriteTx<'_>,
        member: MemberId,
    ) -> Result<(), ClearingError> {
        if members::exists_tx(tx, &member.to_string())? {
            Ok(())
        } else {
            Err(ClearingError::UnknownMember(member.to_string()))
        }
    }

    /// Records the mutable state of an earn, redemption, hold or capture of `points` of `unit`.
    fn operation(
        &self,
        tx: &mut WriteTx<'_>,
        entry: &CommittedEntry,
        kind: &str,
        (unit, points): (&UnitCode, Amount),
        status: &str,
        expires_at_us: Option<i64>,
    ) -> Result<(), ClearingError> {
        let member = entry.meta.member.map(|m| m.to_string()).unwrap_or_default();
        let partner = entry
            .meta
            .partner
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        operations::insert(
            tx,
            Operation {
                entry_id: entry.id.to_string(),
                kind: kind.to_owned(),
                partner,
                member_id: member,
                unit: unit.to_string(),
                points_minor: points.minor(),
                reversed_minor: 0,
                status: status.to_owned(),
                expires_at_us,
                closed_by: None,
                created_at_us: entry.created_at_us,
            },
        )?;
        Ok(())
    }

    /// An open hold of this partner, checked for capture or void.
    fn open_hold(
        &self,
        tx: &mut WriteTx<'_>,
        caller: &Caller,
        hold: EntryId,
    ) -> Result<Operation, ClearingError> {
        let op = operations::get_tx(tx, &hold.to_string())?
            .filter(|op| op.kind == "hold" && op.partner == caller.partner.as_str())
            .ok_or_else(|| ClearingError::NotFound(format!("no hold {hold} of this partner")))?;
        if op.status != "pending" {
            return Err(ClearingError::HoldNotPending(format!(
                "hold {hold} is {}",
                op.status
            )));
        }
        if op.expires_at_us.is_some_and(|t| t <= now_us()) {
            return Err(ClearingError::HoldNotPending(format!(
                "hold {hold} has expired"
            )));
        }
        Ok(op)
    }
}

fn parse_member(text: &str) -> Result<MemberId, ClearingError> {
    text.parse()
        .map_err(|_| ClearingError::UnknownMember(text.chars().take(40).collect()))
}

fn op_amount(ctx: &Context, op: &Operation) -> Result<(UnitCode, Amount, MemberId), ClearingError> {
    let unit: UnitCode = op
        .unit
        .parse()
        .map_err(|_| ClearingError::UnknownUnit(op.unit.clone()))?;
    let amount = Amount::from_minor(op.points_minor, ctx.scale(&unit)?);
    Ok((unit, amount, parse_member(&op.member_id)?))
}

/// Points a purchase earns: `amount × rate`, rounded down to the unit's scale (a member never
/// gets a fraction the purchase did not reach).
fn points_for_purchase(
    ctx: &Context,
    partner: &PartnerId,
    unit: &UnitCode,
    amount: &str,
    currency: &str,
) -> Result<(Amount, Amount), ClearingError> {
    if currency != ctx.network.settlement_currency.as_str() {
        return Err(ClearingError::InvalidAmount(format!(
            "purchases are in {}",
            ctx.network.settlement_currency
        )));
    }
    let spent = Amount::parse_positive(amount, ctx.network.currency_scale)
        .map_err(|e| ClearingError::InvalidAmount(e.to_string()))?;
    let rate = ctx
        .network
        .partner(partner)
        .and_then(|p| p.earn_rate)
        .ok_or_else(|| {
            ClearingError::InvalidRequest(format!(
                "partner {partner} has no earn rate: send points"
            ))
        })?;
    let scale = ctx.scale(unit)?;
    let raw = spent
        .to_decimal()
        .checked_mul(rate)
        .ok_or(ClearingError::AmountTooLarge)?;
    let points = raw.round_dp_with_strategy(scale.places(), RoundingStrategy::ToZero);
    let points = Amount::from_decimal(points, scale).map_err(|_| ClearingError::AmountTooLarge)?;
    if !points.is_positive() {
        return Err(ClearingError::InvalidAmount(format!(
            "a purchase of {amount} earns no {unit}"
        )));
    }
    Ok((points, spent))
}

fn check_text(field: &'static str, text: &str, max_chars: usize) -> Result<(), ClearingError> {
    if text.is_empty() || text.chars().count() > max_chars || text.chars().any(char::is_control) {
        return Err(ClearingError::InvalidRequest(format!(
            "{field} must be 1 to {max_chars} printable characters"
        )));
    }
    Ok(())
}

impl Clearing {
    /// Runs `work` once per idempotency key: a retry gets the first response back, another
    /// request under the same key is refused. `render` turns the result into the response,
    /// which is stored with the write in the same transaction.
    pub async fn once<T, W, R>(
        &self,
        caller: &Caller,
        idem: Idempotency,
        work: W,
        render: R,
    ) -> Result<Reply, ClearingError>
    where
        T: Send + 'static,
        W: FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static,
        R: FnOnce(&Context, T) -> (u16, String) + Send + 'static,
    {
        self.once_as(caller.partner.to_string(), Some(idem), work, render)
            .await
    }

    /// [`Clearing::once`] for any owner of keys (`member:{id}` for members), with the key
    /// optional: without one the write simply runs.
    pub async fn once_as<T, W, R>(
        &self,
        owner: String,
        idem: Option<Idempotency>,
        work: W,
        render: R,
    ) -> Result<Reply, ClearingError>
    where
        T: Send + 'static,
        W: FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static,
        R: FnOnce(&Context, T) -> (u16, String) + Send + 'static,
    {
        // The key is looked up inside the write only: a retry is rare, and the writer reads the
        // keys of a whole batch with one query.
        let idem_key = idem.as_ref().map(|i| i.key.clone());
        let key_owner = owner.clone();
        let ctx = self.ctx.clone();
        let write = move |tx: &mut WriteTx<'_>| {
            // Inside the write, concurrent duplicates post once.
            if let Some(idem) = &idem
                && let Some(recorded) = idempotency::lookup_tx(tx, &owner, &idem.key)?
            {
                return replay(recorded, &idem.request_hash).map(Answer::Ready);
            }
            let value = work(&ctx, tx)?;
            // The response (JSON and, for entries, a signed receipt) is rendered once all the
            // batch's jobs have run, and stored under the key in the same transaction.
            let record = idem.map(|i| ((owner, i.key), i.request_hash));
            let slot = tx.defer_response(record, Box::new(move || render(&ctx, value)));
            Ok(Answer::Deferred(slot))
        };
        let answer = match idem_key {
            Some(key) => self.store.write_keyed(&key_owner, &key, write).await,
            None => self.store.write(write).await,
        }?;
        match answer {
            Answer::Ready(reply) => Ok(reply),
            Answer::Deferred(slot) => {
                let rendered = slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                let (status, body) =
                    rendered.ok_or(ClearingError::Store(store::StoreError::WriterFailed))?;
                Ok(Reply {
                    status,
                    body,
                    replayed: false,
                })
            }
        }
    }

    /// `POST /v1/members`: the member this partner knows as `external_id`, enrolled if new.
    pub fn enrol_work(
        caller: &Caller,
        external_id: String,
        share_balances: bool,
    ) -> Result<impl Work<(MemberId, bool, String)>, ClearingError> {
        check_text("external_id", &external_id, MAX_EXTERNAL_ID_CHARS)?;
        let partner = caller.partner.to_string();
        Ok(move |_: &Context, tx: &mut WriteTx<'_>| {
            let fresh = MemberId::random();
            let (id, created) = members::enrol(
                tx,
                &partner,
                &external_id,
                &fresh.to_string(),
                share_balances,
            )?;
            Ok((parse_member(&id)?, created, external_id))
        })
    }

    /// `POST /v1/earn`.
    pub fn earn_work(
        &self,
        caller: &Caller,
        input: EarnInput,
    ) -> Result<impl Work<Posted>, ClearingError> {
        let ctx = &self.ctx;
        let partner = ctx
            .network
            .partner(&caller.partner)
            .ok_or_else(|| ClearingError::UnknownPartner(caller.partner.to_string()))?;
        let unit = input
            .unit
            .clone()
            .or_else(|| partner.unit.clone())
            .ok_or_else(|| ClearingError::NoOwnUnit(caller.partner.clone()))?;
        let unit_def = ctx
            .units
            .get(&unit)
            .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))?;
        if !unit_def.is_points() || ctx.network.units.get(&unit).is_none() {
            return Err(ClearingError::UnknownUnit(unit.to_string()));
        }
        check_text(
            "reference",
            &input.reference,
            crate::ledger::entry::MAX_REFERENCE_CHARS,
        )?;
        let (points, purchase, memo) = match &input.amount {
            EarnAmount::Points(p) => (ctx.points(&unit, p)?, None, serde_json::json!({})),
            EarnAmount::Purchase { amount, currency } => {
                let (points, spent) =
                    points_for_purchase(ctx, &caller.partner, &unit, amount, currency)?;
                let memo =
                    serde_json::json!({ "purchase": { "amount": amount, "currency": currency } });
                (points, Some(spent), memo)
            }
        };
        let mut memo = memo;
        if let Some(at) = &input.occurred_at {
            if time::parse_rfc3339(at).is_none() {
                return Err(ClearingError::InvalidRequest(
                    "occurred_at must be an RFC 3339 time".into(),
                ));
            }
            memo["occurred_at"] = serde_json::Value::String(at.clone());
        }
        let mut meta = caller.meta(EntryKind::Earn, input.member, Some(input.reference));
        meta.memo = (memo.as_object().is_some_and(|m| !m.is_empty())).then(|| memo.to_string());
        let caller = caller.clone();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            ctx.require_member(tx, input.member)?;
            let entry = rules::earn(
                &ctx.network,
                &caller.partner,
                input.member,
                &unit,
                points,
                meta,
            )?
            .balance(&ctx.units)?;
            let entry = tx.post(entry)?;
            ctx.operation(tx, &entry, "earn", (&unit, points), "posted", None)?;
            let coupons = match purchase {
                Some(spent) => super::coupons::triggered_coupons(
                    ctx,
                    tx,
                    &caller.partner,
                    input.member,
                    spent,
                )?,
                None => Vec::new(),
            };
            Ok(Posted {
                entry,
                status: "posted".into(),
                coupons_issued: Some(coupons),
            })
        })
    }

    /// `POST /v1/redemptions`: captured at once, or held when `capture` is false.
    pub fn redeem_work(
        &self,
        caller: &Caller,
        input: RedeemInput,
    ) -> Result<impl Work<Posted>, ClearingError> {
        let ctx = &self.ctx;
        let unit_def = ctx
            .units
            .get(&input.unit)
            .filter(|u| u.is_points())
            .ok_or_else(|| ClearingError::UnknownUnit(input.unit.to_string()))?;
        check_text(
            "reference",
            &input.reference,
            crate::ledger::entry::MAX_REFERENCE_CHARS,
        )?;
        let points = ctx.points(&input.unit, &input.points)?;
        // Spending another brand's points needs the member's own authorisation.
        let foreign = unit_def.issuer() != Some(&Party::Partner(caller.partner.clone()));
        let authorization = match (&input.authorization, foreign) {
            (_, false) => None,
            (Some(code), true) => Some(code.clone()),
            (None, true) => {
                return Err(ClearingError::AuthorizationRequired(format!(
                    "{} is issued by {}: spending it needs the member's authorization",
                    input.unit,
                    unit_def
                        .issuer()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )));
            }
        };
        let caller = caller.clone();
        let ttl_us = i64::try_from(ctx.hold_ttl_secs)
            .unwrap_or(i64::MAX / 2_000_000)
            .saturating_mul(1_000_000);
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            ctx.require_member(tx, input.member)?;
            let unit = input.unit;
            if let Some(code) = &authorization {
                super::members::spend_authorization(
                    tx,
                    code,
                    &caller.partner,
                    input.member,
                    &unit,
                    points,
                )?;
            }
            if input.capture {
                let meta = caller.meta(EntryKind::Redemption, input.member, Some(input.reference));
                let draft = rules::redeem(
                    &ctx.network,
                    &caller.partner,
                    input.member,
                    &unit,
                    points,
                    meta,
                )?;
                let entry = tx.post(draft.balance(&ctx.units)?)?;
                ctx.operation(tx, &entry, "redemption", (&unit, points), "captured", None)?;
                Ok(Posted {
                    entry,
                    status: "captured".into(),
                    coupons_issued: None,
                })
            } else {
                let meta = caller.meta(EntryKind::Hold, input.member, Some(input.reference));
                let draft = rules::hold(&caller.partner, input.member, &unit, points, meta)?;
                let entry = tx.post(draft.balance(&ctx.units)?)?;
                let expires = entry.created_at_us.saturating_add(ttl_us);
                ctx.operation(
                    tx,
                    &entry,
                    "hold",
                    (&unit, points),
                    "pending",
                    Some(expires),
                )?;
                Ok(Posted {
                    entry,
                    status: "pending".into(),
                    coupons_issued: None,
                })
            }
        })
    }

    /// `POST /v1/redemptions/{id}/capture`: `points` (all when absent) of an open hold.
    pub fn capture_work(
        caller: &Caller,
        hold: EntryId,
        points: Option<String>,
    ) -> impl Work<Posted> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let op = ctx.open_hold(tx, &caller, hold)?;
            let (unit, held, member) = op_amount(ctx, &op)?;
            let captured = match points {
                Some(p) => ctx.points(&unit, &p)?,
                None => held,
            };
            if captured.minor() > held.minor() {
                return Err(ClearingError::InvalidAmount(format!(
                    "{captured} is more than the {held} held"
                )));
            }
            let mut meta = caller.meta(EntryKind::Capture, member, None);
            meta.memo = Some(serde_json::json!({ "hold": hold.to_string() }).to_string());
            let draft = rules::capture(
                &ctx.network,
                &caller.partner,
                member,
                &unit,
                held,
                captured,
                meta,
            )?;
            let entry = tx.post(draft.balance(&ctx.units)?)?;
            operations::set_status(tx, &op.entry_id, "captured", Some(&entry.id.to_string()))?;
            ctx.operation(tx, &entry, "capture", (&unit, captured), "captured", None)?;
            Ok(Posted {
                entry,
                status: "captured".into(),
                coupons_issued: None,
            })
        }
    }

    /// `POST /v1/redemptions/{id}/void`: every held point back to the member.
    pub fn void_work(caller: &Caller, hold: EntryId) -> impl Work<Posted> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let op = ctx.open_hold(tx, &caller, hold)?;
            let (unit, held, member) = op_amount(ctx, &op)?;
            let mut meta = caller.meta(EntryKind::Void, member, None);
            meta.memo = Some(serde_json::json!({ "hold": hold.to_string() }).to_string());
            let entry = tx.post(
                rules::release(&caller.partner, member, &unit, held, meta)?.balance(&ctx.units)?,
            )?;
            operations::set_status(tx, &op.entry_id, "voided", Some(&entry.id.to_string()))?;
            Ok(Posted {
                entry,
                status: "voided".into(),
                coupons_issued: None,
            })
        }
    }

    /// `POST /v1/reversals`: part or all of what is left of an earn, redemption or capture.
    pub fn reverse_work(
        caller: &Caller,
        input: ReverseInput,
    ) -> Result<impl Work<Posted>, ClearingError> {
        check_text(
            "reference",
            &input.reference,
            crate::ledger::entry::MAX_REFERENCE_CHARS,
        )?;
        check_text("reason", &input.reason, MAX_REASON_CHARS)?;
        let caller = caller.clone();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let not_found =
                || ClearingError::NotFound(format!("no entry {} of this partner", input.entry_id));
            if let Some(coupon) =
                crate::store::coupons::coupon_by_redemption(tx, &input.entry_id.to_string())?
            {
                if input.points.is_some() {
                    return Err(ClearingError::InvalidRequest(
                        "a coupon redemption is refunded whole: leave out points".into(),
                    ));
                }
                return super::coupons::refund_coupon(
                    ctx,
                    tx,
                    &caller,
                    coupon,
                    input.reference,
                    input.reason,
                );
            }
            let Some(mut op) = operations::get_tx(tx, &input.entry_id.to_string())?
                .filter(|op| op.partner == caller.partner.as_str())
            else {
                let own = tx
                    .entry(input.entry_id, &ctx.units)?
                    .is_some_and(|e| e.meta.partner.as_ref() == Some(&caller.partner));
                return Err(if own {
                    ClearingError::NotReversible(
                        "only earns, redemptions and captured holds can be reversed".into(),
                    )
                } else {
                    not_found()
                });
            };
            // A captured hold is reversed through its capture.
            if op.kind == "hold" {
                let capture = op
                    .closed_by
                    .clone()
                    .filter(|_| op.status == "captured")
                    .ok_or_else(|| {
                        ClearingError::NotReversible(format!(
                            "hold {} is {}: void it instead",
                            input.entry_id, op.status
                        ))
                    })?;
                op = operations::get_tx(tx, &capture)?.ok_or_else(not_found)?;
            }
            let earned = op.kind == "earn";
            let (unit, total, member) = op_amount(ctx, &op)?;
            let left = op.points_minor - op.reversed_minor;
            if left <= 0 {
                return Err(ClearingError::NotReversible(format!(
                    "entry {} is already fully reversed",
                    op.entry_id
                )));
            }
            let points = match &input.points {
                Some(p) => ctx.points(&unit, p)?,
                None => Amount::from_minor(left, total.scale()),
            };
            if points.minor() > left {
                let left = Amount::from_minor(left, total.scale());
                return Err(ClearingError::InvalidAmount(format!(
                    "only {left} {unit} are left to reverse"
                )));
            }
            let original_id: EntryId = op.entry_id.parse().map_err(|_| not_found())?;
            let original = tx.entry(original_id, &ctx.units)?.ok_or_else(not_found)?;
            let reversed = tx.reversed_sums(original_id)?;
            let mut meta = caller.meta(EntryKind::Reversal, member, Some(input.reference));
            meta.reverses = Some(original_id);
            meta.memo = Some(serde_json::json!({ "reason": input.reason }).to_string());
            let draft = rules::reversal(
                &original,
                earned,
                points,
                total.minor(),
                left,
                &reversed,
                meta,
            )?;
            let entry = tx.post(draft.balance(&ctx.units)?)?;
            operations::add_reversed(tx, &op.entry_id, points.minor())?;
            if points.minor() == left {
                operations::set_status(tx, &op.entry_id, "reversed", Some(&entry.id.to_string()))?;
            }
            Ok(Posted {
                entry,
                status: "posted".into(),
                coupons_issued: None,
            })
        })
    }

    /// Returns lapsed holds' points to their members. Returns how many holds it closed.
    pub async fn expire_due_holds(&self) -> Result<usize, ClearingError> {
        let now = now_us();
        let due = self
            .store
            .read(move |c| operations::due_holds(c, now))
            .await?;
        let mut closed = 0;
        for id in due {
            let ctx = self.ctx.clone();
            let expired = self
                .store
                .write(move |tx| -> Result<bool, ClearingError> {
                    // Captured or voided since it was listed: nothing to do.
                    let Some(op) = operations::get_tx(tx, &id)?.filter(|op| op.status == "pending")
                    else {
                        return Ok(false);
                    };
                    let (unit, held, member) = op_amount(&ctx, &op)?;
                    let partner: PartnerId = op
                        .partner
                        .parse()
                        .map_err(|_| ClearingError::UnknownPartner(op.partner.clone()))?;
                    let mut meta = EntryMeta::new(EntryKind::Expiry);
                    meta.partner = Some(partner.clone());
                    meta.member = Some(member);
                    meta.memo = Some(serde_json::json!({ "hold": id }).to_string());
                    let draft = rules::release(&partner, member, &unit, held, meta)?;
                    let entry = tx.post(draft.balance(&ctx.units)?)?;
                    operations::set_status(
                        tx,
                        &op.entry_id,
                        "expired",
                        Some(&entry.id.to_string()),
                    )?;
                    Ok(true)
                })
                .await?;
            closed += usize::from(expired);
        }
        Ok(closed)
    }

    /// One of this partner's entries, with its current status.
    pub async fn entry_for(
        &self,
        partner: &PartnerId,
        id: EntryId,
    ) -> Result<Posted, ClearingError> {
        let units = self.ctx.units.clone();
        let key = id.to_string();
        let (entry, op) = self
            .store
            .read(move |c| {
                Ok((
                    store::ledger::entry_by_id(c, id, &units)?,
                    operations::get(c, &key)?,
                ))
            })
            .await?;
        let entry = entry
            .filter(|e| e.meta.partner.as_ref() == Some(partner))
            .ok_or_else(|| ClearingError::NotFound(format!("no entry {id} of this partner")))?;
        let status = op.map_or_else(|| "posted".to_owned(), |o| o.status);
        Ok(Posted {
            entry,
            status,
            coupons_issued: None,
        })
    }

    /// This partner's entries after `cursor`, at most `limit` of them, and the next cursor.
    pub async fn entries_for(
        &self,
        filter: EntryFilter,
        after_seq: i64,
        limit: i64,
    ) -> Result<(Vec<Posted>, Option<i64>), ClearingError> {
        let units = self.ctx.units.clone();
        let limit = limit.clamp(1, MAX_PAGE);
        let raws = self
            .store
            .read(move |c| store::ledger::entries_for(c, &filter, after_seq, limit))
            .await?;
        let mut out = Vec::with_capacity(raws.len());
        for raw in &raws {
            let entry = CommittedEntry::from_raw(raw, &units)
                .map_err(|e| ClearingError::Store(e.into()))?;
            out.push(Posted {
                entry,
                status: String::new(),
                coupons_issued: None,
            });
        }
        let ids: Vec<String> = out.iter().map(|p| p.entry.id.to_string()).collect();
        let statuses: std::collections::BTreeMap<String, String> = self
            .store
            .read(move |c| operations::statuses(c, &ids))
            .await?
            .into_iter()
            .collect();
        for p in &mut out {
            p.status = statuses
                .get(&p.entry.id.to_string())
                .cloned()
                .unwrap_or_else(|| "posted".into());
        }
        let next = (out.len() as i64 == limit)
            .then(|| out.last().map(|p| p.entry.seq))
            .flatten();
        Ok((out, next))
    }

    /// A member's balances as this partner may see them: its own unit always, other units only
    /// when the member shares them.
    pub async fn balances_for(
        &self,
        partner: &PartnerId,
        member: MemberId,
    ) -> Result<Vec<(UnitCode, Amount)>, ClearingError> {
        let p = partner.to_string();
        let m = member.to_string();
        let accounts = self.member_accounts(member);
        let (row, link, balances) = self
            .store
            .read(move |c| {
                Ok((
                    members::get(c, &m)?,
                    members::link(c, &p, &m)?,
                    store::ledger::member_balances(c, &accounts)?,
                ))
            })
            .await?;
        let row = row.ok_or_else(|| ClearingError::NotFound(format!("unknown member {member}")))?;
        if link.is_none() {
            return Err(ClearingError::NotFound(format!(
                "member {member} is not enrolled with {partner}"
            )));
        }
        let own = self
            .ctx
            .network
            .partner(partner)
            .and_then(|p| p.unit.clone());
        let mut out = Vec::new();
        if let Some(own) = &own {
            let held = balances
                .iter()
                .find(|(u, _)| u == own.as_str())
                .map_or(0, |(_, b)| *b);
            out.push((own.clone(), Amount::from_minor(-held, self.ctx.scale(own)?)));
        }
        if row.share_balances {
            for (unit, balance) in &balances {
                let Ok(code) = UnitCode::from_str(unit) else {
                    continue;
                };
                if Some(&code) != own.as_ref() {
                    let scale = self.ctx.scale(&code)?;
                    out.push((code, Amount::from_minor(-balance, scale)));
                }
            }
        }
        Ok(out)
    }
}
