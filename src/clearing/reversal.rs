//! Reversals: part or all of what is left of an earn, redemption or capture, or a coupon
//! redemption refunded whole.

use super::context::{Context, op_amount};
use super::input::{MAX_REASON_CHARS, check_text};
use super::receipt::Posted;
use super::write::{Caller, Work};
use super::{Clearing, ClearingError, rules};
use crate::ledger::{Amount, EntryId, EntryKind};
use crate::store::WriteTx;
use crate::store::operations;
use crate::store::status::{EntryStatus, OperationKind, OperationStatus};

#[derive(Debug, Clone)]
pub struct ReverseInput {
    pub entry_id: EntryId,
    pub points: Option<String>,
    pub reference: String,
    pub reason: String,
}

impl Clearing {
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
            if op.kind == OperationKind::Hold {
                let capture = op
                    .closed_by
                    .clone()
                    .filter(|_| op.status == OperationStatus::Captured)
                    .ok_or_else(|| {
                        ClearingError::NotReversible(format!(
                            "hold {} is {}: void it instead",
                            input.entry_id, op.status
                        ))
                    })?;
                op = operations::get_tx(tx, &capture)?.ok_or_else(not_found)?;
            }
            let earned = op.kind == OperationKind::Earn;
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
                operations::set_status(
                    tx,
                    &op.entry_id,
                    OperationStatus::Reversed,
                    Some(&entry.id.to_string()),
                )?;
            }
            Ok(Posted {
                entry,
                status: EntryStatus::Posted,
                coupons_issued: None,
            })
        })
    }
}
