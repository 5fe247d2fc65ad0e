//! Paid tiers: a partner sells one at its till (the price is an entry: the partner owes it to
//! the network's fee income); the member holds the tier until the period ends, whatever their
//! spend; cancelled within 14 days it is refunded in full by a reversing entry and the member
//! falls back at once to the tier their spend gives.

use super::cards::MemberRef;
use super::context::Context;
use super::input::check_text;
use super::receipt::Posted;
use super::time::DAY_US;
use super::write::{Caller, Work};
use super::{Clearing, ClearingError, Invalid, Missing, rules, tiers};
use crate::ledger::{Amount, EntryId, EntryKind, MemberId};
use crate::store::WriteTx;
use crate::store::status::EntryStatus;
use crate::store::subscriptions::{self, SubscriptionRow};

/// How long a member may cancel a paid tier for a full refund.
pub const REFUND_WINDOW_DAYS: i64 = 14;

/// A subscription and the entry a write posted for it (the price, or its refund).
#[derive(Debug, Clone)]
pub struct Subscribed {
    pub row: SubscriptionRow,
    pub posted: Option<Posted>,
}

impl Subscribed {
    /// As the API shows it.
    pub fn view(&self, ctx: &Context) -> super::views::tier::SubscriptionView {
        super::views::tier::SubscriptionView::new(ctx, self)
    }
}

/// The member's paid-until time as the tier row should say it after this subscription's
/// change.
fn paid_until_after_refund(row: &SubscriptionRow, now_us: i64) -> Option<i64> {
    // A renewal's refund leaves the period before it; a first purchase's ends now.
    (row.starts_at_us > now_us).then_some(row.starts_at_us)
}

impl Clearing {
    /// `POST /v1/members/{id}/subscriptions`: the member buys `tier` (a paid level) at the
    /// caller's till; a renewal starts where the current period ends.
    pub fn subscribe_work(
        &self,
        caller: &Caller,
        member: MemberRef,
        tier: String,
        reference: String,
    ) -> Result<impl Work<Subscribed>, ClearingError> {
        check_text(
            "reference",
            &reference,
            crate::ledger::entry::MAX_REFERENCE_CHARS,
        )?;
        let level = self
            .ctx
            .network
            .tiers
            .as_ref()
            .ok_or(ClearingError::InvalidRequest(Invalid::NoTiers))?
            .level(&tier)
            .cloned()
            .ok_or_else(|| ClearingError::InvalidRequest(Invalid::UnknownTier(tier.clone())))?;
        let paid = level
            .paid
            .ok_or_else(|| ClearingError::InvalidRequest(Invalid::NotForSale(tier.clone())))?;
        let price = Amount::from_decimal(paid.price, self.ctx.network.currency_scale)
            .map_err(|_| ClearingError::AmountTooLarge)?;
        let caller = caller.clone();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let member = ctx.member_for(tx, &caller.partner, &member)?;
            let id = member.to_string();
            let now_us = tx.now_us();
            let starts_at_us = subscriptions::latest_tx(tx, &id)?
                .filter(|s| s.tier == tier && s.ends_at_us > now_us)
                .map_or(now_us, |s| s.ends_at_us);
            let ends_at_us = starts_at_us + i64::from(paid.period_days) * DAY_US;
            let mut meta = caller.meta(EntryKind::Subscription, member, Some(reference));
            meta.memo = Some(
                serde_json::json!({ "tier": tier, "until": super::time::rfc3339(ends_at_us) })
                    .to_string(),
            );
            let draft = rules::subscription(&ctx.network, &caller.partner, price, false, meta)?;
            let entry = tx.post(draft.balance(&ctx.units)?)?;
            let row = SubscriptionRow {
                id: entry.id.to_string(),
                member_id: id.clone(),
                partner: caller.partner.to_string(),
                tier: tier.clone(),
                price_minor: price.minor(),
                entry_id: entry.id.to_string(),
                starts_at_us,
                ends_at_us,
                created_at_us: now_us,
                cancelled_at_us: None,
                refund_entry_id: None,
            };
            subscriptions::insert_tx(tx, &row)?;
            tiers::set_paid_tx(ctx, tx, &id, Some((tier.clone(), ends_at_us)))?;
            Ok(Subscribed {
                row,
                posted: Some(Posted {
                    entry,
                    status: EntryStatus::Posted,
                    coupons_issued: None,
                }),
            })
        })
    }

    /// `POST /v1/subscriptions/{id}/cancel` by the partner that sold it: within 14 days a full
    /// refund by a reversing entry and the member's tier falls back at once; later the tier runs
    /// to its end (nothing is posted). Cancelling twice answers the same.
    pub fn cancel_subscription_work(caller: &Caller, id: EntryId) -> impl Work<Subscribed> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let key = id.to_string();
            let row = subscriptions::get_tx(tx, &key)?
                .filter(|s| s.partner == caller.partner.as_str())
                .ok_or_else(|| ClearingError::NotFound(Missing::Subscription(key.clone())))?;
            if row.cancelled_at_us.is_some() {
                return Ok(Subscribed { row, posted: None });
            }
            let now_us = tx.now_us();
            let member: MemberId = super::input::parse_member(&row.member_id)?;
            let refundable = now_us < row.created_at_us + REFUND_WINDOW_DAYS * DAY_US;
            let mut posted = None;
            if refundable {
                let mut meta = caller.meta(EntryKind::Reversal, member, None);
                meta.reverses = Some(id);
                meta.memo =
                    Some(serde_json::json!({ "reason": "paid tier cancelled" }).to_string());
                let price = Amount::from_minor(row.price_minor, ctx.network.currency_scale);
                let draft = rules::subscription(&ctx.network, &caller.partner, price, true, meta)?;
                let entry = tx.post(draft.balance(&ctx.units)?)?;
                let paid = paid_until_after_refund(&row, now_us).map(|t| (row.tier.clone(), t));
                tiers::set_paid_tx(ctx, tx, &row.member_id, paid)?;
                posted = Some(Posted {
                    entry,
                    status: EntryStatus::Posted,
                    coupons_issued: None,
                });
            }
            let refund = posted.as_ref().map(|p| p.entry.id.to_string());
            subscriptions::cancel_tx(tx, &key, now_us, refund.as_deref())?;
            let row = SubscriptionRow {
                cancelled_at_us: Some(now_us),
                refund_entry_id: refund,
                ..row
            };
            Ok(Subscribed { row, posted })
        }
    }
}
