//! The partner API's point writes: enrolment, redemptions and holds (capture, void, and
//! the sweep that lapses them), each run once under the partner's idempotency key.

use super::cards::MemberRef;
use super::context::{Context, op_amount};
use super::input::{MAX_EXTERNAL_ID_CHARS, check_text, parse_member};
use super::profile;
use super::receipt::Posted;
use super::write::{Caller, Work};
use super::{AuthorizationRefused, BadAmount, Clearing, ClearingError, HoldState, Missing, rules};
use crate::ledger::{
    Amount, EntryId, EntryKind, EntryMeta, MemberId, PartnerId, Party, Unit, UnitCode,
};
use crate::store::operations::{self, Operation};
use crate::store::status::{EntryStatus, OperationKind, OperationStatus};
use crate::store::{LotPlan, WriteTx, members};

/// A member enrolled (or found) by a partner.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub member: MemberId,
    /// Enrolled now (201), not found (200).
    pub created: bool,
    pub external_id: String,
    pub card_number: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RedeemInput {
    pub member: MemberRef,
    pub unit: UnitCode,
    pub points: String,
    pub reference: String,
    pub authorization: Option<String>,
    pub capture: bool,
}

/// An open hold of this partner, checked for capture or void.
fn open_hold(
    tx: &mut WriteTx<'_>,
    caller: &Caller,
    hold: EntryId,
) -> Result<Operation, ClearingError> {
    let op = operations::get_tx(tx, &hold.to_string())?
        .filter(|op| op.kind == OperationKind::Hold && op.partner == caller.partner.as_str())
        .ok_or(ClearingError::NotFound(Missing::Hold(hold)))?;
    if op.status != OperationStatus::Pending {
        return Err(ClearingError::HoldNotPending {
            hold,
            state: HoldState::Closed(op.status),
        });
    }
    if op.expires_at_us.is_some_and(|t| t <= tx.now_us()) {
        return Err(ClearingError::HoldNotPending {
            hold,
            state: HoldState::Expired,
        });
    }
    Ok(op)
}

/// The member's authorisation code a redemption must spend: spending another brand's points
/// needs the member's own consent; a partner's own points need none.
fn authorization_needed(
    unit: &Unit,
    partner: &PartnerId,
    input: &RedeemInput,
) -> Result<Option<String>, ClearingError> {
    if unit.issuer() == Some(&Party::Partner(partner.clone())) {
        return Ok(None);
    }
    match &input.authorization {
        Some(code) => Ok(Some(code.clone())),
        None => Err(ClearingError::AuthorizationRequired(
            AuthorizationRefused::Needed {
                unit: input.unit.clone(),
                issuer: unit.issuer().map(ToString::to_string).unwrap_or_default(),
            },
        )),
    }
}

/// A redemption captured at once: `points` of `unit` spent by `member` at `partner`.
fn redeem_now(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    partner: &PartnerId,
    (member, unit, points): (MemberId, &UnitCode, Amount),
    mut meta: EntryMeta,
) -> Result<Posted, ClearingError> {
    meta.memo =
        Some(serde_json::json!({ profile::VALUE_KEY: ctx.value_memo(unit, points)? }).to_string());
    let draft = rules::redeem(&ctx.network, partner, member, unit, points, meta)?;
    let entry = tx.post(draft.balance(&ctx.units)?)?;
    ctx.operation(
        tx,
        &entry,
        OperationKind::Redemption,
        (unit, points),
        OperationStatus::Captured,
        None,
    )?;
    Ok(Posted {
        entry,
        status: EntryStatus::Captured,
        coupons_issued: None,
    })
}

/// A hold of `points` of `unit` for `partner`, lapsing `ttl_us` after it is posted.
fn hold(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    partner: &PartnerId,
    (member, unit, points): (MemberId, &UnitCode, Amount),
    meta: EntryMeta,
    ttl_us: i64,
) -> Result<Posted, ClearingError> {
    let draft = rules::hold(partner, member, unit, points, meta)?;
    let entry = tx.post(draft.balance(&ctx.units)?)?;
    let expires = entry.created_at_us.saturating_add(ttl_us);
    ctx.operation(
        tx,
        &entry,
        OperationKind::Hold,
        (unit, points),
        OperationStatus::Pending,
        Some(expires),
    )?;
    Ok(Posted {
        entry,
        status: EntryStatus::Pending,
        coupons_issued: None,
    })
}

impl Clearing {
    /// `POST /v1/members`: the member this partner knows as `external_id`, enrolled if new.
    pub fn enrol_work(
        caller: &Caller,
        external_id: String,
        sharing: members::Sharing,
    ) -> Result<impl Work<Enrolled>, ClearingError> {
        check_text("external_id", &external_id, MAX_EXTERNAL_ID_CHARS)?;
        let partner = caller.partner.to_string();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let fresh = MemberId::random();
            let (id, created) =
                members::enrol(tx, &partner, &external_id, &fresh.to_string(), sharing)?;
            let member = parse_member(&id)?;
            // The answer holds the brand's id for the member and their card: personal data.
            tx.answer_names(&id);
            // A new member gets a card in the write that enrols them.
            let card = if created {
                Some(super::cards::issue_card(ctx, tx, member)?.to_string())
            } else {
                super::cards::card_of(tx, member)?
            };
            Ok(Enrolled {
                member,
                created,
                external_id,
                card_number: card,
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
        let unit = ctx
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
        let authorization = authorization_needed(unit, &caller.partner, &input)?;
        let caller = caller.clone();
        let ttl_us = i64::try_from(ctx.hold_ttl_secs)
            .unwrap_or(i64::MAX / 2_000_000)
            .saturating_mul(1_000_000);
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            // Under the member's authorisation code the member acts, and no link is needed;
            // otherwise the partner acts for the member, through a link.
            let member = if authorization.is_some() {
                ctx.member_acting(tx, &caller.partner, &input.member)?
            } else {
                ctx.member_for(tx, &caller.partner, &input.member)?
            };
            if let Some(code) = &authorization {
                super::members::spend_authorization(
                    tx,
                    code,
                    &caller.partner,
                    member,
                    &input.unit,
                    points,
                )?;
            }
            let spend = (member, &input.unit, points);
            if input.capture {
                let meta = caller.meta(EntryKind::Redemption, member, Some(input.reference));
                redeem_now(ctx, tx, &caller.partner, spend, meta)
            } else {
                let meta = caller.meta(EntryKind::Hold, member, Some(input.reference));
                hold(ctx, tx, &caller.partner, spend, meta, ttl_us)
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
            let op = open_hold(tx, &caller, hold)?;
            let (unit, held, member) = op_amount(ctx, &op)?;
            let captured = match points {
                Some(p) => ctx.points(&unit, &p)?,
                None => held,
            };
            if captured.minor() > held.minor() {
                return Err(ClearingError::InvalidAmount(BadAmount::MoreThanHeld {
                    captured,
                    held,
                }));
            }
            let mut meta = caller.meta(EntryKind::Capture, member, None);
            meta.memo = Some(
                serde_json::json!({ "hold": hold.to_string(), profile::VALUE_KEY: ctx.value_memo(&unit, captured)? })
                    .to_string(),
            );
            let draft = rules::capture(
                &ctx.network,
                &caller.partner,
                member,
                &unit,
                held,
                captured,
                meta,
            )?;
            // What the capture does not take goes back to the lots the hold took it from.
            let entry = tx.post_with(draft.balance(&ctx.units)?, LotPlan::Restore(hold))?;
            operations::set_status(
                tx,
                &op.entry_id,
                OperationStatus::Captured,
                Some(&entry.id.to_string()),
            )?;
            ctx.operation(
                tx,
                &entry,
                OperationKind::Capture,
                (&unit, captured),
                OperationStatus::Captured,
                None,
            )?;
            Ok(Posted {
                entry,
                status: EntryStatus::Captured,
                coupons_issued: None,
            })
        }
    }

    /// `POST /v1/redemptions/{id}/void`: every held point back to the member.
    pub fn void_work(caller: &Caller, hold: EntryId) -> impl Work<Posted> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let op = open_hold(tx, &caller, hold)?;
            let (unit, held, member) = op_amount(ctx, &op)?;
            let mut meta = caller.meta(EntryKind::Void, member, None);
            meta.memo = Some(serde_json::json!({ "hold": hold.to_string() }).to_string());
            let entry = tx.post_with(
                rules::release(&caller.partner, member, &unit, held, meta)?.balance(&ctx.units)?,
                LotPlan::Restore(hold),
            )?;
            operations::set_status(
                tx,
                &op.entry_id,
                OperationStatus::Voided,
                Some(&entry.id.to_string()),
            )?;
            Ok(Posted {
                entry,
                status: EntryStatus::Voided,
                coupons_issued: None,
            })
        }
    }

    /// Returns lapsed holds' points to their members. Returns how many holds it closed.
    pub async fn expire_due_holds(&self) -> Result<usize, ClearingError> {
        let now = self.ctx.clock.now_us();
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
                    let Some(op) = operations::get_tx(tx, &id)?
                        .filter(|op| op.status == OperationStatus::Pending)
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
                    let hold: EntryId = op.entry_id.parse().map_err(|_| {
                        ClearingError::NotFound(Missing::Entry(op.entry_id.clone()))
                    })?;
                    let entry = tx.post_with(draft.balance(&ctx.units)?, LotPlan::Restore(hold))?;
                    operations::set_status(
                        tx,
                        &op.entry_id,
                        OperationStatus::Expired,
                        Some(&entry.id.to_string()),
                    )?;
                    Ok(true)
                })
                .await?;
            closed += usize::from(expired);
        }
        Ok(closed)
    }
}
