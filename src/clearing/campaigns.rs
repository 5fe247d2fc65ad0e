//! Campaigns: a sponsor's budget, terms and validity, checked when the campaign is created.
//! Coupons (`coupons.rs`) are issued from them; nothing is posted until one is.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::context::Context;
use super::write::{Caller, Work};
use super::{BadAmount, BudgetShort, Clearing, ClearingError, Invalid, Missing, time};
use crate::ledger::{Amount, CampaignId, PartnerId, SegmentId};
use crate::store::WriteTx;
use crate::store::coupons::{self, CampaignRow};
use crate::store::segments::{self, AudienceRow};

/// The most partners a campaign may be redeemable at.
pub const MAX_REDEEMABLE_AT: usize = 64;
/// The largest per-member limit.
pub const MAX_PER_MEMBER_LIMIT: u32 = 10_000;
/// The longest campaign name, in characters.
pub const MAX_CAMPAIGN_NAME_CHARS: usize = 100;

/// A fixed discount, or a percent of the purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenefitKind {
    Amount,
    Percent,
}

impl BenefitKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            BenefitKind::Amount => "amount",
            BenefitKind::Percent => "percent",
        }
    }
}

/// What a coupon gives, checked (as the campaign's terms keep it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benefit {
    pub kind: BenefitKind,
    pub value: String,
    pub max_discount: Option<String>,
}

/// What a sponsor asks a coupon to give, as sent.
#[derive(Debug, Clone)]
pub struct BenefitInput {
    /// `amount` (a fixed discount) or `percent` (of the purchase).
    pub kind: String,
    pub value: String,
    pub max_discount: Option<String>,
}

/// A campaign's fixed terms, stored as JSON beside its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub name: String,
    pub redeemable_at: Vec<String>,
    pub benefit: Benefit,
    pub per_member_limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct CampaignInput {
    pub name: String,
    pub redeemable_at: Vec<String>,
    pub benefit: BenefitInput,
    pub currency: String,
    pub budget: String,
    pub valid_from: String,
    pub valid_until: String,
    pub per_member_limit: Option<u32>,
    /// A purchase of at least `min_purchase` at `partner` issues a coupon.
    pub trigger: Option<(String, String)>,
    /// A targeted offer: the sponsor's segment, and whether its members get a coupon as they
    /// enter it.
    pub audience: Option<(String, bool)>,
}

/// A campaign as stored: counters and parsed terms.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub row: CampaignRow,
    pub terms: Terms,
    /// A targeted offer's audience (read only where it is shown).
    pub audience: Option<AudienceRow>,
}

impl Campaign {
    pub(crate) fn from_row(row: CampaignRow) -> Result<Self, ClearingError> {
        let terms = serde_json::from_str(&row.terms).map_err(|e| {
            ClearingError::Store(crate::store::StoreError::Corrupt(format!(
                "campaign {} terms: {e}",
                row.id
            )))
        })?;
        Ok(Self {
            row,
            terms,
            audience: None,
        })
    }

    pub(crate) fn id(&self) -> Result<CampaignId, ClearingError> {
        self.row
            .id
            .parse()
            .map_err(|_| ClearingError::NotFound(Missing::Campaign(self.row.id.clone())))
    }

    pub(crate) fn sponsor(&self) -> Result<PartnerId, ClearingError> {
        self.row
            .sponsor
            .parse()
            .map_err(|_| ClearingError::UnknownPartner(self.row.sponsor.clone()))
    }

    /// The most one coupon can cost: what issuing it reserves.
    pub fn max_discount(&self, ctx: &Context) -> Result<Amount, ClearingError> {
        let b = &self.terms.benefit;
        let text = if b.kind == BenefitKind::Amount {
            &b.value
        } else {
            b.max_discount.as_deref().unwrap_or("0")
        };
        money(ctx, text)
    }

    /// The discount on `purchase`: never more than the purchase; a percent is rounded half to
    /// even to the currency's scale and capped at `max_discount`.
    pub fn discount(&self, ctx: &Context, purchase: Amount) -> Result<Amount, ClearingError> {
        let cap = self.max_discount(ctx)?;
        let raw = if self.terms.benefit.kind == BenefitKind::Amount {
            cap
        } else {
            let percent = Decimal::from_str(&self.terms.benefit.value)
                .map_err(|_| ClearingError::AmountTooLarge)?;
            let d = purchase
                .to_decimal()
                .checked_mul(percent)
                .ok_or(ClearingError::AmountTooLarge)?
                / Decimal::ONE_HUNDRED;
            let d = d.round_dp_with_strategy(
                ctx.network.currency_scale.places(),
                RoundingStrategy::MidpointNearestEven,
            );
            Amount::from_decimal(d, ctx.network.currency_scale)
                .map_err(|_| ClearingError::AmountTooLarge)?
        };
        Ok([raw, cap, purchase]
            .into_iter()
            .min_by_key(|a| a.minor())
            .unwrap_or(raw))
    }

    pub(crate) fn redeemable_at(&self, partner: &PartnerId) -> bool {
        self.terms
            .redeemable_at
            .iter()
            .any(|p| p == partner.as_str())
    }
}

pub(crate) fn money(ctx: &Context, text: &str) -> Result<Amount, ClearingError> {
    Amount::parse_positive(text, ctx.network.currency_scale)
        .map_err(|e| ClearingError::InvalidAmount(e.into()))
}

/// What `check_terms` derives from a campaign request.
struct CheckedTerms {
    budget: Amount,
    benefit: Benefit,
    from_us: i64,
    until_us: i64,
    /// The trigger partner and minimum purchase in minor units.
    trigger: Option<(String, i64)>,
}

fn check_terms(ctx: &Context, input: &CampaignInput) -> Result<CheckedTerms, ClearingError> {
    let bad = ClearingError::InvalidRequest;
    let n = input.name.chars().count();
    if n == 0 || n > MAX_CAMPAIGN_NAME_CHARS || input.name.chars().any(char::is_control) {
        return Err(bad(Invalid::Text {
            field: "name",
            max_chars: MAX_CAMPAIGN_NAME_CHARS,
        }));
    }
    if input.currency != ctx.network.settlement_currency.as_str() {
        return Err(bad(Invalid::CampaignCurrency(
            ctx.network.settlement_currency.clone(),
        )));
    }
    if input.redeemable_at.is_empty() || input.redeemable_at.len() > MAX_REDEEMABLE_AT {
        return Err(bad(Invalid::RedeemableAtCount(MAX_REDEEMABLE_AT)));
    }
    if let Some(p) = input.redeemable_at.iter().find(|p| !is_partner(ctx, p)) {
        return Err(bad(Invalid::UnknownPartnerIn {
            field: "redeemable_at",
            partner: p.chars().take(40).collect(),
        }));
    }
    let budget = money(ctx, &input.budget)?;
    let benefit = check_benefit(ctx, &input.benefit)?;
    let from = time::parse_rfc3339(&input.valid_from).ok_or(bad(Invalid::Time {
        field: "valid_from",
    }))?;
    let until = time::parse_rfc3339(&input.valid_until).ok_or(bad(Invalid::Time {
        field: "valid_until",
    }))?;
    if from >= until {
        return Err(bad(Invalid::EmptyValidity));
    }
    if input
        .per_member_limit
        .is_some_and(|l| l == 0 || l > MAX_PER_MEMBER_LIMIT)
    {
        return Err(bad(Invalid::PerMemberLimit(MAX_PER_MEMBER_LIMIT)));
    }
    let trigger = match &input.trigger {
        None => None,
        Some((partner, min)) => Some(check_trigger(ctx, partner, min)?),
    };
    Ok(CheckedTerms {
        budget,
        benefit,
        from_us: from,
        until_us: until,
        trigger,
    })
}

fn is_partner(ctx: &Context, id: &str) -> bool {
    id.parse::<PartnerId>()
        .ok()
        .is_some_and(|id| ctx.network.partner(&id).is_some())
}

/// A fixed `amount` off, or a `percent` (above 0, at most 100, 4 decimals at most) of the
/// purchase capped by `max_discount`.
fn check_benefit(ctx: &Context, b: &BenefitInput) -> Result<Benefit, ClearingError> {
    let bad = ClearingError::InvalidRequest;
    let kind = match b.kind.as_str() {
        "amount" => {
            money(ctx, &b.value)?;
            if b.max_discount.is_some() {
                return Err(bad(Invalid::MaxDiscountForAmount));
            }
            BenefitKind::Amount
        }
        "percent" => {
            Decimal::from_str(&b.value)
                .ok()
                .filter(|v| {
                    *v > Decimal::ZERO
                        && *v <= Decimal::ONE_HUNDRED
                        && v.scale() <= 4
                        && b.value.bytes().all(|c| c.is_ascii_digit() || c == b'.')
                })
                .ok_or(ClearingError::InvalidAmount(BadAmount::Percent))?;
            let cap = b
                .max_discount
                .as_deref()
                .ok_or(bad(Invalid::PercentNeedsMaxDiscount))?;
            money(ctx, cap)?;
            BenefitKind::Percent
        }
        other => {
            return Err(bad(Invalid::BenefitKind(other.chars().take(20).collect())));
        }
    };
    Ok(Benefit {
        kind,
        value: b.value.clone(),
        max_discount: b.max_discount.clone(),
    })
}

/// A purchase of at least `min` at `partner` issues a coupon: the partner and `min` in minor
/// units.
fn check_trigger(ctx: &Context, partner: &str, min: &str) -> Result<(String, i64), ClearingError> {
    if !is_partner(ctx, partner) {
        return Err(ClearingError::InvalidRequest(Invalid::UnknownPartnerIn {
            field: "trigger",
            partner: partner.chars().take(40).collect(),
        }));
    }
    let min = Amount::parse(min, ctx.network.currency_scale)
        .map_err(|e| ClearingError::InvalidAmount(e.into()))?;
    if min.minor() < 0 {
        return Err(ClearingError::InvalidAmount(BadAmount::NegativeMinimum));
    }
    Ok((partner.to_owned(), min.minor()))
}

/// A targeted offer's audience row, its segment id well-formed.
fn audience_row(
    campaign_id: &str,
    segment: &str,
    auto_issue: bool,
) -> Result<AudienceRow, ClearingError> {
    let segment_id: SegmentId = segment.parse().map_err(|_| {
        ClearingError::InvalidRequest(Invalid::Audience(format!(
            "`{}` is not a segment id",
            segment.chars().take(40).collect::<String>()
        )))
    })?;
    Ok(AudienceRow {
        campaign_id: campaign_id.to_owned(),
        segment_id: segment_id.to_string(),
        auto_issue: i32::from(auto_issue),
        issued_through_seq: 0,
        exhausted_at_us: None,
    })
}

/// A sponsor targets its own segments only: its members are the sponsor's linked members.
fn check_audience(tx: &mut WriteTx<'_>, sponsor: &str, segment: &str) -> Result<(), ClearingError> {
    match segments::get_tx(tx, segment)? {
        Some(s) if s.owner.as_deref() == Some(sponsor) => Ok(()),
        _ => Err(ClearingError::InvalidRequest(Invalid::Audience(format!(
            "no segment {segment} of {sponsor}'s"
        )))),
    }
}

impl Clearing {
    /// `POST /v1/campaigns`: the caller sponsors it. Nothing is posted until coupons are issued.
    pub fn create_campaign_work(
        &self,
        caller: &Caller,
        input: CampaignInput,
    ) -> Result<impl Work<Campaign>, ClearingError> {
        let CheckedTerms {
            budget,
            benefit,
            from_us: from,
            until_us: until,
            trigger,
        } = check_terms(self.context(), &input)?;
        let terms = Terms {
            name: input.name,
            redeemable_at: input.redeemable_at,
            benefit,
            per_member_limit: input.per_member_limit,
        };
        let mut campaign = Campaign {
            row: CampaignRow {
                id: CampaignId::new_v7().to_string(),
                sponsor: caller.partner.to_string(),
                currency: input.currency,
                terms: serde_json::to_string(&terms).unwrap_or_default(),
                budget_minor: budget.minor(),
                reserved_minor: 0,
                used_minor: 0,
                issued_count: 0,
                redeemed_count: 0,
                valid_from_us: from,
                valid_until_us: until,
                trigger_partner: trigger.as_ref().map(|t| t.0.clone()),
                trigger_min_minor: trigger.map(|t| t.1),
                created_at_us: self.context().clock.now_us(),
            },
            terms,
            audience: None,
        };
        if campaign.max_discount(self.context())?.minor() > budget.minor() {
            return Err(ClearingError::BudgetExhausted(BudgetShort::NoSingleCoupon));
        }
        let audience = input
            .audience
            .map(|(segment, auto_issue)| audience_row(&campaign.row.id, &segment, auto_issue))
            .transpose()?;
        Ok(move |_: &Context, tx: &mut WriteTx<'_>| {
            coupons::insert_campaign(tx, &campaign.row)?;
            if let Some(a) = &audience {
                check_audience(tx, &campaign.row.sponsor, &a.segment_id)?;
                segments::insert_audience_tx(tx, a)?;
            }
            campaign.audience = audience;
            Ok(campaign)
        })
    }

    /// `GET /v1/campaigns/{id}`: for its sponsor.
    pub async fn campaign_for(
        &self,
        partner: &PartnerId,
        id: CampaignId,
    ) -> Result<Campaign, ClearingError> {
        let key = id.to_string();
        let row = self
            .store()
            .read(move |c| coupons::campaign(c, &key))
            .await?;
        let row = row
            .filter(|r| r.sponsor == partner.as_str())
            .ok_or_else(|| ClearingError::NotFound(Missing::CampaignOfPartner(id.to_string())))?;
        let mut campaign = Campaign::from_row(row)?;
        let key = id.to_string();
        campaign.audience = self
            .store()
            .read(move |c| segments::audience(c, &key))
            .await?;
        Ok(campaign)
    }
}
