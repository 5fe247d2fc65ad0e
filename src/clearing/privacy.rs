//! A member's privacy rights: everything held about them (`GET /v1/me/export`), and erasure
//! (`DELETE /v1/me`) in the contract's order — holds voided, authorisation and link codes
//! revoked, coupons cancelled, points forfeited to their issuers, then the person removed. The
//! journal keeps the member's UUID and the partners' references (bookkeeping records).

use super::context::{Context, op_amount};
use super::coupons::cancel_coupon;
use super::views::entry::EntryView;
use super::views::interaction::InteractionView;
use super::views::privacy::{AuthorizationRecord, CardRecord, CouponRecord, ExportView};
use super::write::Work;
use super::{Clearing, ClearingError, Missing, rules, time};
use crate::ledger::{Account, Amount, EntryKind, EntryMeta, MemberId, Party, UnitCode};
use crate::store::status::OperationStatus;
use crate::store::{
    WriteTx, authorizations, cards, coupons, idempotency, members, operations, profiles,
};

/// Holds or coupons erasure reads per query (it goes on until none is left).
const ERASE_PAGE: i64 = 500;
/// The most coupons, authorisations and entries an export lists (entries go on in
/// `GET /v1/me/entries` from `entries_next_cursor`).
pub const MAX_EXPORT_ITEMS: i64 = 1_000;

/// What an erasure did.
#[derive(Debug, Clone)]
pub struct Erased {
    pub member: MemberId,
    pub erased_at_us: i64,
    pub holds_voided: usize,
    pub authorizations_ended: usize,
    pub link_codes_revoked: usize,
    pub coupons_cancelled: usize,
    /// Points given back to their issuers, per unit.
    pub forfeited: Vec<(UnitCode, Amount)>,
}

/// Voids every open hold of `member`: the points go back to them (to be forfeited next).
fn void_holds(ctx: &Context, tx: &mut WriteTx<'_>, id: &str) -> Result<usize, ClearingError> {
    let mut voided = 0;
    loop {
        let open = operations::open_holds_of(tx, id, ERASE_PAGE)?;
        if open.is_empty() {
            return Ok(voided);
        }
        for op in open {
            let (unit, held, member) = op_amount(ctx, &op)?;
            let partner = ctx.partner_named(&op.partner)?;
            let mut meta = EntryMeta::new(EntryKind::Void);
            meta.partner = Some(partner.clone());
            meta.member = Some(member);
            meta.memo =
                Some(serde_json::json!({ "hold": op.entry_id, "erased": true }).to_string());
            let draft = rules::release(&partner, member, &unit, held, meta)?;
            let entry = tx.post(draft.balance(&ctx.units)?)?;
            let by = entry.id.to_string();
            operations::set_status(tx, &op.entry_id, OperationStatus::Voided, Some(&by))?;
            voided += 1;
        }
    }
}

/// Cancels every coupon issued to the member and not used: reservations back to sponsors.
fn cancel_coupons(ctx: &Context, tx: &mut WriteTx<'_>, id: &str) -> Result<usize, ClearingError> {
    let mut cancelled = 0;
    loop {
        let issued = coupons::issued_coupons_of(tx, id, ERASE_PAGE)?;
        if issued.is_empty() {
            return Ok(cancelled);
        }
        for code in issued {
            cancel_coupon(ctx, tx, &code)?;
            cancelled += 1;
        }
    }
}

/// Gives every point the member still holds back to its issuer, one `forfeiture` entry per unit:
/// the liability is released; nobody owes anybody.
fn forfeit_all(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    member: MemberId,
) -> Result<Vec<(UnitCode, Amount)>, ClearingError> {
    let mut forfeited = Vec::new();
    for unit in ctx.units.iter().filter(|u| u.is_points()) {
        let account = Account::Member {
            member,
            unit: unit.code.clone(),
        };
        // Member balances are credits: what the member holds is the negated balance.
        let held = tx.balance(&account)?.checked_neg().unwrap_or(0);
        if held <= 0 {
            continue;
        }
        let points = Amount::from_minor(held, unit.scale);
        let mut meta = EntryMeta::new(EntryKind::Forfeiture);
        meta.member = Some(member);
        if let Some(Party::Partner(issuer)) = unit.issuer() {
            meta.partner = Some(issuer.clone());
        }
        meta.memo = Some(serde_json::json!({ "reason": "the member was erased" }).to_string());
        let draft = rules::forfeit(&ctx.network, member, &unit.code, points, meta)?;
        tx.post(draft.balance(&ctx.units)?)?;
        forfeited.push((unit.code.clone(), points));
    }
    Ok(forfeited)
}

/// An entry in the member's export: its receipt and what it meant for them.
fn with_reason(ctx: &Context, p: &super::receipt::Posted) -> EntryView {
    let mut v = EntryView::new(ctx, p);
    v.reason = Some(super::reasons::reason(ctx, &p.entry));
    v
}

impl Clearing {
    /// Refuses a member that does not exist or was erased (`404`): what a member token's
    /// every call checks first.
    pub async fn require_member(&self, member: MemberId) -> Result<(), ClearingError> {
        let id = member.to_string();
        let joined = self
            .store()
            .read(move |c| members::joined_at(c, &id))
            .await?;
        joined
            .map(|_| ())
            .ok_or(ClearingError::NotFound(Missing::Member(member)))
    }

    /// `DELETE /v1/me`: erases the member, in one write.
    pub fn erase_work(member: MemberId) -> impl Work<Erased> {
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            ctx.require_member(tx, member)?;
            let id = member.to_string();
            let holds_voided = void_holds(ctx, tx, &id)?;
            let authorizations_ended = authorizations::revoke_all(tx, &id)?;
            let link_codes_revoked = members::revoke_link_codes(tx, &id)?;
            let coupons_cancelled = cancel_coupons(ctx, tx, &id)?;
            Clearing::cancel_member_claims_tx(ctx, tx, member)?;
            let forfeited = forfeit_all(ctx, tx, member)?;
            cards::revoke(tx, &id)?;
            members::erase(tx, &id)?;
            profiles::erase(tx, &id)?;
            crate::store::lots::erase(tx, &id)?;
            crate::store::tiers::erase(tx, &id)?;
            crate::store::interactions::erase(tx, &id)?;
            crate::store::segments::erase(tx, &id)?;
            idempotency::erase_member(tx, &id)?;
            Ok(Erased {
                member,
                erased_at_us: tx.now_us(),
                holds_voided,
                authorizations_ended,
                link_codes_revoked,
                coupons_cancelled,
                forfeited,
            })
        }
    }

    /// The member's tier, when the network has a ladder.
    async fn tier_if_any(
        &self,
        member: MemberId,
    ) -> Result<Option<crate::clearing::views::tier::TierView>, ClearingError> {
        match self.network().tiers {
            Some(_) => Ok(Some(self.tier_of(member, None).await?)),
            None => Ok(None),
        }
    }

    /// `GET /v1/me/export`: everything held about the member, and where its entries go on
    /// (`GET /v1/me/entries`) when there are more than an export lists.
    pub async fn export_member(
        &self,
        member: MemberId,
    ) -> Result<(ExportView, Option<i64>), ClearingError> {
        let id = member.to_string();
        let (joined, sharing, cards, coupons, (auths, subscriptions, interactions)) = self
            .store()
            .read(move |c| {
                Ok((
                    members::joined_at(c, &id)?,
                    members::sharing_default(c, &id)?,
                    cards::history_of(c, &id)?,
                    coupons::all_of_member(c, &id, MAX_EXPORT_ITEMS)?,
                    (
                        authorizations::of_member(c, &id, MAX_EXPORT_ITEMS)?,
                        crate::store::subscriptions::of_member(c, &id, MAX_EXPORT_ITEMS)?,
                        crate::store::interactions::of_member(c, &id, MAX_EXPORT_ITEMS)?,
                    ),
                ))
            })
            .await?;
        let joined = joined.ok_or(ClearingError::NotFound(Missing::Member(member)))?;
        let wallet = self.wallet(member).await?;
        let links = self.links(member).await?;
        let profile = self.my_profile(member).await?;
        let (entries, next) = self.member_entries(member, 0, MAX_EXPORT_ITEMS).await?;
        let tier = self.tier_if_any(member).await?;
        let scale = self.network().currency_scale;
        let ctx = self.context();
        let view = ExportView {
            member_id: member.to_string(),
            joined_at: time::rfc3339(joined),
            exported_at: time::rfc3339(self.clock().now_us()),
            share_balances: sharing.balances,
            share_profile: sharing.profile,
            cards: cards
                .into_iter()
                .map(|(number, issued, revoked)| CardRecord {
                    number,
                    issued_at: time::rfc3339(issued),
                    revoked_at: revoked.map(time::rfc3339),
                })
                .collect(),
            links: links.into_iter().map(Into::into).collect(),
            balances: wallet.lines.into_iter().map(Into::into).collect(),
            profile,
            coupons: coupons
                .into_iter()
                .map(|c| CouponRecord::new(c, scale))
                .collect(),
            authorizations: auths
                .into_iter()
                .map(|a| AuthorizationRecord::new(ctx, a))
                .collect(),
            entries: entries.iter().map(|p| with_reason(ctx, p)).collect(),
            entries_next_cursor: None,
            tier,
            subscriptions: subscriptions
                .into_iter()
                .map(|row| super::subscriptions::Subscribed { row, posted: None }.view(ctx))
                .collect(),
            interactions: interactions
                .into_iter()
                .map(InteractionView::stored)
                .collect(),
        };
        Ok((view, next))
    }
}
