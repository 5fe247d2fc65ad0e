//! Campaigns and coupons as their sponsor and redeeming partners see them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entry::EntryView;
use crate::clearing::campaigns::{Benefit, Campaign};
use crate::clearing::codes::display_code;
use crate::clearing::coupons::{Issued, Redeemed};
use crate::clearing::{Context, time};
use crate::ledger::Amount;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BenefitView {
    pub kind: String,
    pub value: String,
    pub max_discount: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TriggerView {
    pub partner: String,
    pub min_purchase: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CouponCounts {
    pub issued: i64,
    pub redeemed: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignView {
    pub campaign_id: String,
    pub sponsor: String,
    pub name: String,
    pub redeemable_at: Vec<String>,
    pub benefit: BenefitView,
    pub currency: String,
    pub budget: String,
    /// Held for coupons issued and not yet used, expired or voided.
    pub reserved: String,
    /// Discounts given.
    pub used: String,
    /// budget − reserved − used.
    pub remaining: String,
    pub valid_from: String,
    pub valid_until: String,
    pub per_member_limit: Option<u32>,
    pub trigger: Option<TriggerView>,
    pub coupons: CouponCounts,
    /// A targeted offer's audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<AudienceView>,
    /// `scheduled`, `running`, `ended`, or `budget_exhausted` (a targeted campaign whose budget
    /// could not reserve one more coupon: issuance stopped).
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AudienceView {
    pub segment_id: String,
    /// Coupons go to the segment's members as they enter it while the campaign runs.
    pub auto_issue: bool,
}

pub fn benefit_view(b: &Benefit) -> BenefitView {
    BenefitView {
        kind: b.kind.as_str().to_owned(),
        value: b.value.clone(),
        max_discount: b.max_discount.clone(),
    }
}

pub fn campaign_view(ctx: &Context, c: &Campaign) -> CampaignView {
    let m = |minor: i64| Amount::from_minor(minor, ctx.network.currency_scale).to_string();
    let r = &c.row;
    CampaignView {
        campaign_id: r.id.clone(),
        sponsor: r.sponsor.clone(),
        name: c.terms.name.clone(),
        redeemable_at: c.terms.redeemable_at.clone(),
        benefit: benefit_view(&c.terms.benefit),
        currency: r.currency.clone(),
        budget: m(r.budget_minor),
        reserved: m(r.reserved_minor),
        used: m(r.used_minor),
        remaining: m(r.budget_minor - r.reserved_minor - r.used_minor),
        valid_from: time::rfc3339(r.valid_from_us),
        valid_until: time::rfc3339(r.valid_until_us),
        per_member_limit: c.terms.per_member_limit,
        trigger: r
            .trigger_partner
            .clone()
            .zip(r.trigger_min_minor)
            .map(|(partner, min)| TriggerView {
                partner,
                min_purchase: m(min),
            }),
        coupons: CouponCounts {
            issued: r.issued_count,
            redeemed: r.redeemed_count,
        },
        audience: c.audience.as_ref().map(|a| AudienceView {
            segment_id: a.segment_id.clone(),
            auto_issue: a.auto_issue != 0,
        }),
        status: status(ctx.clock.now_us(), c).to_owned(),
    }
}

fn status(now_us: i64, c: &Campaign) -> &'static str {
    if c.audience
        .as_ref()
        .is_some_and(|a| a.exhausted_at_us.is_some())
    {
        "budget_exhausted"
    } else if now_us < c.row.valid_from_us {
        "scheduled"
    } else if now_us >= c.row.valid_until_us {
        "ended"
    } else {
        "running"
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CouponIssued {
    /// The code to hand to the member, e.g. `7KQ2-M9XD-TPRH-4WNCZ`; case and hyphens do not matter.
    pub code: String,
    pub campaign_id: String,
    pub member_id: Option<String>,
    pub expires_at: String,
    /// What the coupon holds back from the budget until it is used, expires or is voided.
    pub reserved: String,
}

pub fn issued_view(ctx: &Context, row: &Issued) -> CouponIssued {
    CouponIssued {
        code: display_code(&row.code),
        campaign_id: row.campaign_id.clone(),
        member_id: row.member_id.clone(),
        expires_at: time::rfc3339(row.expires_at_us),
        reserved: Amount::from_minor(row.reserved_minor, ctx.network.currency_scale).to_string(),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CouponRedemptionView {
    /// The discount to give, never more than the purchase.
    pub discount: String,
    pub code: String,
    /// The ledger entry: the sponsor owes the redeeming partner the discount.
    pub receipt: EntryView,
}

impl CouponRedemptionView {
    pub fn new(ctx: &Context, r: &Redeemed) -> Self {
        let memo = r
            .posted
            .entry
            .meta
            .memo
            .as_deref()
            .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok());
        let code = memo
            .and_then(|m| m["coupon"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            discount: r.discount.to_string(),
            code,
            receipt: EntryView::new(ctx, &r.posted),
        }
    }
}
