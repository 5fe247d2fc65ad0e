//! Reversals: part or all of what is left of an earn, redemption or capture, or a coupon
//! redemption refunded whole.

use super::context::{Context, op_amount};
use super::coupons::refund_coupon;
use super::input::{MAX_REASON_CHARS, check_text};
use super::receipt::Posted;
use super::write::{Caller, Work};
use super::{BadAmount, Clearing, ClearingError, Invalid, Irreversible, Missing, rules};
use crate::ledger::{Amount, CommittedEntry, EntryId, EntryKind, EntryMeta};
use crate::store::operations::{self, Operation};
use crate::store::status::{EntryStatus, OperationKind, OperationStatus};
use crate::store::{LotPlan, WriteTx};

#[derive(Debug, Clone)]
pub struct ReverseInput {
    pub entry_id: EntryId,
    pub points: Option<String>,
    pub reference: String,
    pub reason: String,
}

impl ReverseInput {
    /// The reference and the reason are within their limits.
    fn check_texts(&self) -> Result<(), ClearingError> {
        check_text(
            "reference",
            &self.reference,
            crate::ledger::entry::MAX_REFERENCE_CHARS,
        )?;
        check_text("reason", &self.reason, MAX_REASON_CHARS)
    }
}

impl Clearing {
    /// The operator's `POST /v1/reversals`: an expiry of a network unit's points, within 90
    /// days (anything else is not the operator's: `404`).
    pub fn reverse_network_expiry_work(
        input: ReverseInput,
    ) -> Result<impl Work<Posted>, ClearingError> {
        input.check_texts()?;
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let Some(original) = super::expiry::expiry_entry(ctx, tx, input.entry_id)? else {
                return Err(ClearingError::NotFound(Missing::Entry(
                    input.entry_id.to_string(),
                )));
            };
            let asked = (input.points, input.reference, input.reason);
            super::expiry::reverse_expiry(ctx, tx, None, original, asked)
        })
    }

    /// `POST /v1/reversals`: part or all of what is left of an earn, redemption or capture.
    pub fn reverse_work(
        caller: &Caller,
        input: ReverseInput,
    ) -> Result<impl Work<Posted>, ClearingError> {
        input.check_texts()?;
        let caller = caller.clone();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let id = input.entry_id.to_string();
            if let Some(coupon) = crate::store::coupons::coupon_by_redemption(tx, &id)? {
                // An erased member's coupon is not given back to them.
                if let Some(member) = coupon.member_id.as_deref() {
                    ctx.require_member(tx, super::input::parse_member(member)?)?;
                }
                if input.points.is_some() {
                    return Err(ClearingError::InvalidRequest(Invalid::PartialCouponRefund));
                }
                let (reference, reason) = (input.reference, input.reason);
                return refund_coupon(ctx, tx, &caller, coupon, reference, reason);
            }
            if let Some(original) = super::expiry::expiry_entry(ctx, tx, input.entry_id)? {
                let input = (input.points, input.reference, input.reason);
                return super::expiry::reverse_expiry(ctx, tx, Some(&caller), original, input);
            }
            let op = reversible(ctx, tx, &caller, input.entry_id)?;
            let (unit, total, member) = op_amount(ctx, &op)?;
            // Nothing moves to or from an erased member (`404`, as for any member gone).
            ctx.require_member(tx, member)?;
            let left = op.points_minor - op.reversed_minor;
            if left <= 0 {
                return Err(ClearingError::NotReversible(Irreversible::FullyReversed(
                    op.entry_id.clone(),
                )));
            }
            let points = match &input.points {
                Some(p) => ctx.points(&unit, p)?,
                None => Amount::from_minor(left, total.scale()),
            };
            if points.minor() > left {
                let left = Amount::from_minor(left, total.scale());
                return Err(ClearingError::InvalidAmount(BadAmount::MoreThanLeft {
                    left,
                    unit,
                }));
            }
            let mut meta = caller.meta(EntryKind::Reversal, member, Some(input.reference));
            meta.memo = Some(serde_json::json!({ "reason": input.reason }).to_string());
            let entry = post_reversal(ctx, tx, &op, (points, total, left), meta)?;
            operations::add_reversed(tx, &op.entry_id, points.minor())?;
            if op.kind == OperationKind::Earn {
                // A refund lowers the qualifying spend: the tier may start its grace period.
                super::tiers::reevaluate_tx(ctx, tx, &member.to_string())?;
            }
            if points.minor() == left {
                let by = entry.id.to_string();
                operations::set_status(tx, &op.entry_id, OperationStatus::Reversed, Some(&by))?;
            }
            Ok(Posted {
                entry,
                status: EntryStatus::Posted,
                coupons_issued: None,
            })
        })
    }
}

/// The operation a reversal of `entry_id` reverses: this partner's earn, redemption or capture
/// (a captured hold is reversed through its capture). Another partner's entry is not found;
/// the caller's own entry of another kind is not reversible.
fn reversible(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    caller: &Caller,
    entry_id: EntryId,
) -> Result<Operation, ClearingError> {
    let not_found = || ClearingError::NotFound(Missing::Entry(entry_id.to_string()));
    let Some(op) = operations::get_tx(tx, &entry_id.to_string())?
        .filter(|op| op.partner == caller.partner.as_str())
    else {
        let own = tx
            .entry(entry_id, &ctx.units)?
            .is_some_and(|e| e.meta.partner.as_ref() == Some(&caller.partner));
        return Err(if own {
            ClearingError::NotReversible(Irreversible::Kind)
        } else {
            not_found()
        });
    };
    if op.kind != OperationKind::Hold {
        return Ok(op);
    }
    let capture = op
        .closed_by
        .clone()
        .filter(|_| op.status == OperationStatus::Captured)
        .ok_or(ClearingError::NotReversible(Irreversible::UncapturedHold {
            hold: entry_id,
            status: op.status,
        }))?;
    operations::get_tx(tx, &capture)?.ok_or_else(not_found)
}

/// Posts the reversal of `points` of `op`'s entry, of which `left` (of `total`) were left to
/// reverse, in proportion to what the original moved (`rules::reversal`).
fn post_reversal(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    op: &Operation,
    (points, total, left): (Amount, Amount, i64),
    mut meta: EntryMeta,
) -> Result<CommittedEntry, ClearingError> {
    let not_found = || ClearingError::NotFound(Missing::Entry(op.entry_id.clone()));
    let original_id: EntryId = op.entry_id.parse().map_err(|_| not_found())?;
    let original = tx.entry(original_id, &ctx.units)?.ok_or_else(not_found)?;
    let reversed = tx.reversed_sums(original_id)?;
    meta.reverses = Some(original_id);
    // What the reversal takes back of the profile's value and purchase, recorded with it.
    let mut memo: serde_json::Value = meta
        .memo
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    let done = total.minor() - left;
    let raw = original.to_raw();
    super::profile::reversed_memo(
        &ctx.network,
        &raw,
        (done, points.minor(), total.minor()),
        &mut memo,
    );
    meta.memo = Some(memo.to_string());
    let earned = op.kind == OperationKind::Earn;
    let draft = rules::reversal(
        &original,
        earned,
        points,
        total.minor(),
        left,
        &reversed,
        meta,
    )?;
    // A refund of a captured hold gives back the lots the hold took (the capture itself took
    // none: it only gave back what it did not capture).
    let plan = match (op.kind, hold_of(&original)) {
        (OperationKind::Capture, Some(hold)) => LotPlan::Restore(hold),
        _ => LotPlan::Usual,
    };
    Ok(tx.post_with(draft.balance(&ctx.units)?, plan)?)
}

/// The hold a capture captured, from its memo.
fn hold_of(capture: &CommittedEntry) -> Option<EntryId> {
    let memo: serde_json::Value = serde_json::from_str(capture.meta.memo.as_deref()?).ok()?;
    memo.get("hold")?.as_str()?.parse().ok()
}
