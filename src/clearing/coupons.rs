//! Cross-partner coupons: single-use codes of a sponsor's campaign (`campaigns.rs`), their
//! discounts, and coupons issued by a purchase at a trigger partner.
//!
//! Issuing a coupon reserves its largest possible discount in the ledger
//! (`commitment:{sponsor}` debit, `campaign:{id}` credit); redeeming it clears the reservation
//! and makes the sponsor owe the redeeming partner the actual discount; expiry and voids
//! release the reservation. The campaign's counters never let reserved plus used exceed the
//! budget (the table's CHECK enforces it too).

use super::campaigns::{Campaign, money};
use super::cards::MemberRef;
use super::codes::{display_code, new_code, normalize_code};
use super::context::Context;
use super::receipt::Posted;
use super::write::{Caller, Work};
use super::{
    BadAmount, BudgetShort, Clearing, ClearingError, CouponRefusal, Invalid, Irreversible, Missing,
    time,
};
use crate::ledger::{
    Account, Amount, CampaignId, CommittedEntry, EntryKind, EntryMeta, MemberId, PartnerId, Party,
    Posting,
};
use crate::store::WriteTx;
use crate::store::coupons::{self, CouponRow};
use crate::store::status::{CouponStatus, EntryStatus};
use crate::store::webhooks::EventType;

/// A coupon and its campaign.
#[derive(Debug, Clone)]
pub struct Coupon {
    pub row: CouponRow,
    pub campaign: Campaign,
}

impl Coupon {
    /// `issued` turns `expired` as soon as its time is up, before the sweeper releases it.
    pub fn status(&self, now: i64) -> CouponStatus {
        if self.row.status == CouponStatus::Issued && now >= self.row.expires_at_us {
            CouponStatus::Expired
        } else {
            self.row.status
        }
    }
}

/// A coupon as issued: its code, whose it is, until when, and what it holds back.
#[derive(Debug, Clone)]
pub struct Issued {
    pub code: String,
    pub campaign_id: String,
    pub member_id: Option<String>,
    pub expires_at_us: i64,
    /// Minor units of the settlement currency held back from the campaign's budget.
    pub reserved_minor: i64,
}

impl From<CouponRow> for Issued {
    fn from(row: CouponRow) -> Self {
        Self {
            code: row.code,
            campaign_id: row.campaign_id,
            member_id: row.member_id,
            expires_at_us: row.expires_at_us,
            reserved_minor: row.reserved_minor,
        }
    }
}

/// A coupon redeemed: the discount and the entry.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub discount: Amount,
    pub posted: Posted,
}

fn accounts(ctx: &Context, campaign: &Campaign) -> Result<(Account, Account), ClearingError> {
    let currency = ctx.network.settlement_currency.clone();
    Ok((
        Account::Campaign {
            campaign: campaign.id()?,
            currency: currency.clone(),
        },
        Account::Commitment {
            sponsor: campaign.sponsor()?,
            currency,
        },
    ))
}

fn credit(account: Account, amount: Amount) -> Result<Posting, ClearingError> {
    Posting::credit(account, amount).ok_or(ClearingError::AmountTooLarge)
}

/// Issues one coupon of `campaign` (to `member`, if named) inside the write: reserves its
/// largest discount or refuses when the budget cannot cover it.
pub(crate) fn issue(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    campaign: &Campaign,
    member: Option<MemberId>,
) -> Result<CouponRow, ClearingError> {
    let now = tx.now_us();
    if now >= campaign.row.valid_until_us {
        return Err(ClearingError::CampaignEnded(campaign.row.id.clone()));
    }
    if let Some(m) = member {
        ctx.require_member(tx, m)?;
        if let Some(limit) = campaign.terms.per_member_limit {
            let issued = coupons::issued_to(tx, &campaign.row.id, &m.to_string())?;
            if issued >= i64::from(limit) {
                return Err(ClearingError::PerMemberLimit {
                    member: m,
                    count: issued,
                    redeemed: false,
                });
            }
        }
    }
    let reserve = campaign.max_discount(ctx)?;
    let committed = campaign.row.reserved_minor + campaign.row.used_minor;
    if committed + reserve.minor() > campaign.row.budget_minor {
        let left = Amount::from_minor(campaign.row.budget_minor - committed, reserve.scale());
        return Err(ClearingError::BudgetExhausted(BudgetShort::Left {
            left,
            reserve,
        }));
    }
    let mut code = new_code()?;
    while coupons::coupon_tx(tx, &code)?.is_some() {
        code = new_code()?;
    }
    let (campaign_account, commitment) = accounts(ctx, campaign)?;
    let mut meta = EntryMeta::new(EntryKind::CouponReserve);
    meta.partner = Some(campaign.sponsor()?);
    meta.member = member;
    meta.memo = Some(serde_json::json!({ "campaign": campaign.row.id }).to_string());
    let draft = crate::ledger::EntryDraft::new(
        meta,
        vec![
            Posting::debit(commitment, reserve),
            credit(campaign_account, reserve)?,
        ],
    );
    tx.post(draft.balance(&ctx.units)?)?;
    let row = CouponRow {
        code,
        campaign_id: campaign.row.id.clone(),
        member_id: member.map(|m| m.to_string()),
        status: CouponStatus::Issued,
        reserved_minor: reserve.minor(),
        expires_at_us: campaign.row.valid_until_us,
        redemption_entry: None,
        discount_minor: None,
        redeemed_by: None,
        redeemed_for: None,
        created_at_us: now,
    };
    coupons::insert_coupon(tx, &row)?;
    tx.emit(
        campaign.row.sponsor.as_str(),
        EventType::CouponIssued,
        serde_json::json!({
            "code": row.code,
            "campaign_id": row.campaign_id,
            "member_id": row.member_id,
            "expires_at": crate::clearing::time::rfc3339(row.expires_at_us),
        })
        .to_string(),
    );
    coupons::adjust_campaign(tx, &campaign.row.id, reserve.minor(), 0, 1, 0)?;
    Ok(row)
}

/// Gives a coupon's whole reservation back to its campaign (void or expiry).
fn release(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    coupon: &Coupon,
    kind: EntryKind,
    status: CouponStatus,
) -> Result<Posted, ClearingError> {
    let (campaign_account, commitment) = accounts(ctx, &coupon.campaign)?;
    let reserved = Amount::from_minor(coupon.row.reserved_minor, ctx.network.currency_scale);
    let mut meta = EntryMeta::new(kind);
    meta.partner = Some(coupon.campaign.sponsor()?);
    meta.memo = Some(serde_json::json!({ "coupon": display_code(&coupon.row.code) }).to_string());
    let draft = crate::ledger::EntryDraft::new(
        meta,
        vec![
            Posting::debit(campaign_account, reserved),
            credit(commitment, reserved)?,
        ],
    );
    let entry = tx.post(draft.balance(&ctx.units)?)?;
    coupons::update_coupon(
        tx,
        &CouponRow {
            status,
            ..coupon.row.clone()
        },
    )?;
    coupons::adjust_campaign(
        tx,
        &coupon.row.campaign_id,
        -coupon.row.reserved_minor,
        0,
        0,
        0,
    )?;
    Ok(Posted {
        entry,
        status: status.into(),
        coupons_issued: None,
    })
}

fn load_coupon(tx: &mut WriteTx<'_>, code: &str) -> Result<Coupon, ClearingError> {
    let not_found = || ClearingError::NotFound(Missing::Coupon(code.chars().take(40).collect()));
    let stored = normalize_code(code).ok_or_else(not_found)?;
    let row = coupons::coupon_tx(tx, &stored)?.ok_or_else(not_found)?;
    let campaign = coupons::campaign_tx(tx, &row.campaign_id)?.ok_or_else(not_found)?;
    Ok(Coupon {
        row,
        campaign: Campaign::from_row(campaign)?,
    })
}

/// Refuses a coupon that cannot be redeemed at `partner` at `now`: not redeemable there, not
/// issued (used, voided, or past its time), or its campaign not started.
fn check_redeemable(coupon: &Coupon, partner: &PartnerId, now: i64) -> Result<(), ClearingError> {
    let refuse = ClearingError::CouponNotRedeemable;
    if !coupon.campaign.redeemable_at(partner) {
        return Err(refuse(CouponRefusal::NotHere(partner.clone())));
    }
    let status = coupon.status(now);
    if status != CouponStatus::Issued {
        return Err(refuse(CouponRefusal::Status(status)));
    }
    if now < coupon.campaign.row.valid_from_us {
        return Err(refuse(CouponRefusal::NotYet(time::rfc3339(
            coupon.campaign.row.valid_from_us,
        ))));
    }
    Ok(())
}

/// Who redeems: the member named, who must be the coupon's owner if it has one; else its
/// owner; a bearer coupon redeemed without a member has none.
fn holder(coupon: &Coupon, member: Option<MemberId>) -> Result<Option<MemberId>, ClearingError> {
    match (member, &coupon.row.member_id) {
        (Some(m), Some(owner)) if m.to_string() != *owner => Err(
            ClearingError::CouponNotRedeemable(CouponRefusal::OtherMember),
        ),
        (Some(m), _) => Ok(Some(m)),
        (None, Some(owner)) => Ok(owner.parse().ok()),
        (None, None) => Ok(None),
    }
}

/// Refuses a redemption past the campaign's per-member limit.
fn check_member_limit(
    tx: &mut WriteTx<'_>,
    coupon: &Coupon,
    member: MemberId,
) -> Result<(), ClearingError> {
    let Some(limit) = coupon.campaign.terms.per_member_limit else {
        return Ok(());
    };
    let redeemed = coupons::redeemed_for(tx, &coupon.row.campaign_id, &member.to_string())?;
    if redeemed >= i64::from(limit) {
        return Err(ClearingError::PerMemberLimit {
            member,
            count: redeemed,
            redeemed: true,
        });
    }
    Ok(())
}

/// The reservation cleared, and the sponsor owing the redeeming partner the discount (nothing
/// to owe when the sponsor redeems its own coupon).
fn redemption_postings(
    ctx: &Context,
    coupon: &Coupon,
    partner: &PartnerId,
    discount: Amount,
) -> Result<Vec<Posting>, ClearingError> {
    let (campaign_account, commitment) = accounts(ctx, &coupon.campaign)?;
    let reserved = Amount::from_minor(coupon.row.reserved_minor, ctx.network.currency_scale);
    let sponsor = coupon.campaign.sponsor()?;
    let mut postings = vec![
        Posting::debit(campaign_account, reserved),
        credit(commitment, reserved)?,
    ];
    if sponsor != *partner {
        let currency = ctx.network.settlement_currency.clone();
        postings.push(Posting::debit(
            Account::Settlement {
                party: Party::Partner(sponsor),
                currency: currency.clone(),
            },
            discount,
        ));
        postings.push(credit(
            Account::Settlement {
                party: Party::Partner(partner.clone()),
                currency,
            },
            discount,
        )?);
    }
    Ok(postings)
}

/// The coupon redeemed by `partner` in `entry`, and its campaign's counters: the reservation
/// released, the discount used.
fn mark_redeemed(
    tx: &mut WriteTx<'_>,
    coupon: &Coupon,
    entry: &CommittedEntry,
    discount: Amount,
    partner: &PartnerId,
    holder: Option<MemberId>,
) -> Result<(), ClearingError> {
    coupons::update_coupon(
        tx,
        &CouponRow {
            status: CouponStatus::Redeemed,
            redemption_entry: Some(entry.id.to_string()),
            discount_minor: Some(discount.minor()),
            redeemed_by: Some(partner.to_string()),
            redeemed_for: holder.map(|m| m.to_string()),
            ..coupon.row.clone()
        },
    )?;
    coupons::adjust_campaign(
        tx,
        &coupon.row.campaign_id,
        -coupon.row.reserved_minor,
        discount.minor(),
        0,
        1,
    )?;
    Ok(())
}

impl Clearing {
    /// `POST /v1/campaigns/{id}/coupons`: one coupon, by the sponsor.
    pub fn issue_coupon_work(
        caller: &Caller,
        campaign: CampaignId,
        member: Option<MemberRef>,
    ) -> impl Work<Issued> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let row = coupons::campaign_tx(tx, &campaign.to_string())?
                .filter(|r| r.sponsor == caller.partner.as_str())
                .ok_or_else(|| {
                    ClearingError::NotFound(Missing::CampaignOfPartner(campaign.to_string()))
                })?;
            // The sponsor gives a member a coupon as a partner acting for them: through a link
            // (or the card the member shows).
            let member = match &member {
                Some(named) => Some(ctx.member_for(tx, &caller.partner, named)?),
                None => None,
            };
            issue(ctx, tx, &Campaign::from_row(row)?, member).map(Issued::from)
        }
    }

    /// `GET /v1/coupons/{code}`: for the sponsor and the partners it is redeemable at.
    pub async fn coupon_for(
        &self,
        partner: &PartnerId,
        code: &str,
    ) -> Result<Coupon, ClearingError> {
        let not_found = || ClearingError::NotFound(Missing::AnyCoupon);
        let stored = normalize_code(code).ok_or_else(not_found)?;
        let (row, campaign) = self
            .store()
            .read(move |c| {
                let row = coupons::coupon(c, &stored)?;
                let campaign = match &row {
                    Some(r) => coupons::campaign(c, &r.campaign_id)?,
                    None => None,
                };
                Ok((row, campaign))
            })
            .await?;
        let (Some(row), Some(campaign)) = (row, campaign) else {
            return Err(not_found());
        };
        let coupon = Coupon {
            row,
            campaign: Campaign::from_row(campaign)?,
        };
        if coupon.campaign.row.sponsor != partner.as_str()
            && !coupon.campaign.redeemable_at(partner)
        {
            return Err(not_found());
        }
        Ok(coupon)
    }

    /// `POST /v1/coupons/{code}/redemptions`: the discount on a purchase at the caller.
    pub fn redeem_coupon_work(
        caller: &Caller,
        code: String,
        purchase: String,
        reference: String,
        member: Option<MemberRef>,
    ) -> impl Work<Redeemed> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let coupon = load_coupon(tx, &code)?;
            check_redeemable(&coupon, &caller.partner, tx.now_us())?;
            // The member presents the coupon (or their card with it): no link is needed.
            let member = match &member {
                Some(named) => Some(ctx.member_acting(tx, &caller.partner, named)?),
                None => None,
            };
            let holder = holder(&coupon, member)?;
            if let Some(m) = holder {
                ctx.require_member(tx, m)?;
                check_member_limit(tx, &coupon, m)?;
            }
            crate::ledger::entry::MAX_REFERENCE_CHARS
                .checked_sub(reference.chars().count())
                .ok_or(ClearingError::InvalidRequest(Invalid::ReferenceTooLong))?;
            let purchase = money(ctx, &purchase)?;
            let discount = coupon.campaign.discount(ctx, purchase)?;
            if !discount.is_positive() {
                return Err(ClearingError::InvalidAmount(BadAmount::NoDiscount));
            }
            let postings = redemption_postings(ctx, &coupon, &caller.partner, discount)?;
            let mut meta = EntryMeta::new(EntryKind::CouponRedemption);
            meta.partner = Some(caller.partner.clone());
            meta.member = holder;
            meta.reference = Some(reference);
            meta.key_id = Some(caller.key_id.clone());
            meta.signature = Some(caller.signature.clone());
            meta.memo = Some(
                serde_json::json!({ "coupon": display_code(&coupon.row.code), "campaign": coupon.row.campaign_id, "purchase": purchase.to_string() })
                    .to_string(),
            );
            let entry =
                tx.post(crate::ledger::EntryDraft::new(meta, postings).balance(&ctx.units)?)?;
            mark_redeemed(tx, &coupon, &entry, discount, &caller.partner, holder)?;
            Ok(Redeemed {
                discount,
                posted: Posted {
                    entry,
                    status: EntryStatus::Redeemed,
                    coupons_issued: None,
                },
            })
        }
    }

    /// `POST /v1/coupons/{code}/void`: by the sponsor, releasing the reservation.
    pub fn void_coupon_work(caller: &Caller, code: String) -> impl Work<Posted> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let coupon = load_coupon(tx, &code)?;
            if coupon.campaign.row.sponsor != caller.partner.as_str() {
                return Err(ClearingError::NotFound(Missing::CouponOfPartner));
            }
            if coupon.row.status != CouponStatus::Issued {
                return Err(ClearingError::CouponNotRedeemable(CouponRefusal::Status(
                    coupon.row.status,
                )));
            }
            release(
                ctx,
                tx,
                &coupon,
                EntryKind::CouponRelease,
                CouponStatus::Voided,
            )
        }
    }

    /// Releases the reservations of coupons whose campaign ended. Returns how many.
    pub async fn expire_due_coupons(&self) -> Result<usize, ClearingError> {
        let now = self.context().clock.now_us();
        let due = self
            .store()
            .read(move |c| coupons::due_coupons(c, now))
            .await?;
        let mut closed = 0;
        for code in due {
            let ctx = self.context().clone();
            let expired = self
                .store()
                .write(move |tx| -> Result<bool, ClearingError> {
                    let coupon = load_coupon(tx, &code)?;
                    if coupon.row.status != CouponStatus::Issued {
                        return Ok(false);
                    }
                    release(
                        &ctx,
                        tx,
                        &coupon,
                        EntryKind::CouponRelease,
                        CouponStatus::Expired,
                    )?;
                    Ok(true)
                })
                .await?;
            closed += usize::from(expired);
        }
        Ok(closed)
    }
}

/// Cancels a member's coupon still issued (erasure): its reservation goes back to the sponsor.
pub(crate) fn cancel_coupon(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    code: &str,
) -> Result<Posted, ClearingError> {
    let coupon = load_coupon(tx, code)?;
    release(
        ctx,
        tx,
        &coupon,
        EntryKind::CouponRelease,
        CouponStatus::Voided,
    )
}

/// Issues the coupons a purchase earns: one per campaign whose trigger is this partner and
/// whose minimum the purchase reaches. A campaign that cannot issue (ended, over budget, over
/// the member's limit) is passed over; the earn stands either way.
pub fn triggered_coupons(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    partner: &PartnerId,
    member: MemberId,
    purchase: Amount,
) -> Result<Vec<(String, String)>, ClearingError> {
    let now = tx.now_us();
    let mut issued = Vec::new();
    for row in coupons::triggered_by(tx, partner.as_str())? {
        let reaches = row
            .trigger_min_minor
            .is_some_and(|min| purchase.minor() >= min);
        if !reaches || now < row.valid_from_us || now >= row.valid_until_us {
            continue;
        }
        let campaign = Campaign::from_row(row)?;
        match issue(ctx, tx, &campaign, Some(member)) {
            Ok(coupon) => issued.push((display_code(&coupon.code), coupon.campaign_id)),
            Err(
                ClearingError::BudgetExhausted(_)
                | ClearingError::PerMemberLimit { .. }
                | ClearingError::CampaignEnded(_),
            ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(issued)
}

/// A refund of a coupon redemption: the sponsor's debt to the redeeming partner is undone and,
/// while the campaign runs, the coupon is reserved again and can be redeemed once more.
pub fn refund_coupon(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    caller: &Caller,
    coupon: CouponRow,
    reference: String,
    reason: String,
) -> Result<Posted, ClearingError> {
    let not_found = || ClearingError::NotFound(Missing::CouponRedemption);
    if coupon.redeemed_by.as_deref() != Some(caller.partner.as_str()) {
        return Err(not_found());
    }
    let entry_id = coupon
        .redemption_entry
        .as_deref()
        .and_then(|e| e.parse().ok())
        .ok_or_else(not_found)?;
    let original = tx.entry(entry_id, &ctx.units)?.ok_or_else(not_found)?;
    let campaign =
        Campaign::from_row(coupons::campaign_tx(tx, &coupon.campaign_id)?.ok_or_else(not_found)?)?;
    let still_valid = tx.now_us() < coupon.expires_at_us;
    let postings: Vec<Posting> = original
        .postings
        .iter()
        .filter(|p| still_valid || p.account.kind() == crate::ledger::AccountKind::Settlement)
        .map(|p| {
            p.amount.checked_neg().map(|amount| Posting {
                account: p.account.clone(),
                amount,
            })
        })
        .collect::<Option<_>>()
        .ok_or(ClearingError::AmountTooLarge)?;
    if postings.is_empty() {
        return Err(ClearingError::NotReversible(Irreversible::NothingMoved));
    }
    let mut meta = EntryMeta::new(EntryKind::Reversal);
    meta.partner = Some(caller.partner.clone());
    meta.member = original.meta.member;
    meta.reference = Some(reference);
    meta.reverses = Some(entry_id);
    meta.key_id = Some(caller.key_id.clone());
    meta.signature = Some(caller.signature.clone());
    meta.memo = Some(
        serde_json::json!({ "reason": reason, "coupon": display_code(&coupon.code) }).to_string(),
    );
    let entry = tx.post(crate::ledger::EntryDraft::new(meta, postings).balance(&ctx.units)?)?;
    let discount = coupon.discount_minor.unwrap_or(0);
    let (status, reserved_back) = if still_valid {
        (CouponStatus::Issued, coupon.reserved_minor)
    } else {
        (CouponStatus::Expired, 0)
    };
    coupons::update_coupon(
        tx,
        &CouponRow {
            status,
            redemption_entry: None,
            discount_minor: None,
            redeemed_by: None,
            redeemed_for: None,
            ..coupon.clone()
        },
    )?;
    coupons::adjust_campaign(tx, &campaign.row.id, reserved_back, -discount, 0, -1)?;
    Ok(Posted {
        entry,
        status: EntryStatus::Posted,
        coupons_issued: None,
    })
}
