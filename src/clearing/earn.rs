//! `POST /v1/earn` and its quote: a purchase (with its basket, when given) or a number of points
//! becomes an earn entry whose every point a rule explains — the base rate and the partner's earn
//! rules (`earn_rules`), then the tier bonus at the tier the member held before it.

use rust_decimal::Decimal;

use super::cards::MemberRef;
use super::context::Context;
use super::earn_rules::{self, Awarded, Basket, Earning, Line, LocalTime, MemberState};
use super::input::{check_occurred_at, check_text};
use super::receipt::Posted;
use super::write::{Caller, Work};
use super::{BadAmount, Clearing, ClearingError, Invalid, Missing, profile, rules, tiers};
use crate::ledger::{Amount, EntryKind, MemberId, PartnerId, UnitCode, UnitKind};
use crate::partners::programme::BonusFunder;
use crate::store::status::{EntryStatus, OperationKind, OperationStatus};
use crate::store::{WriteTx, members};

/// The longest category or SKU of a basket line, in characters.
pub const MAX_LINE_TEXT_CHARS: usize = 64;
/// The memo keys an earn records its rules and tier bonus under (its receipt shows them).
pub(crate) const RULES_KEY: &str = "rules";
pub(crate) const TIER_BONUS_KEY: &str = "tier_bonus";

/// One line of a basket as the partner sends it; `quantity` is informational.
#[derive(Debug, Clone)]
pub struct LineInput {
    pub sku: Option<String>,
    pub category: Option<String>,
    pub amount: String,
}

/// What a member earns: points, or a purchase the partner's rate and rules turn into points.
#[derive(Debug, Clone)]
pub enum EarnAmount {
    Points(String),
    Purchase {
        amount: String,
        currency: String,
        lines: Vec<LineInput>,
    },
}

#[derive(Debug, Clone)]
pub struct EarnInput {
    pub member: MemberRef,
    pub unit: Option<UnitCode>,
    pub amount: EarnAmount,
    /// Empty for a quote.
    pub reference: String,
    pub occurred_at: Option<String>,
}

/// An earn checked before the writer sees it: the unit, and the points or the basket.
#[derive(Debug, Clone)]
struct Planned {
    unit: UnitCode,
    earning: Earning,
    what: Planning,
    /// `occurred_at`, when given, as the caller sent it.
    occurred_at: Option<String>,
}

#[derive(Debug, Clone)]
enum Planning {
    Points(Amount),
    Purchase {
        spent: Amount,
        basket: Basket,
        currency: String,
        amount: String,
    },
}

/// What an earn gives, every point explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    pub unit: UnitCode,
    /// The rules' points, the base rate first (`base`); empty for an earn given as points.
    pub rules: Vec<Awarded>,
    /// The member's tier before the earn, when the network has tiers.
    pub tier: Option<String>,
    pub tier_bonus: Amount,
    /// Who pays for the tier bonus.
    pub bonus_funded_by: BonusFunder,
    /// Everything the member gets: the rules' points (or the points given) and the bonus.
    pub points: Amount,
}

/// The unit an earn is in: the one named, else the partner's own; a point unit the network
/// configures (not one only still stored from before).
fn earn_unit(
    ctx: &Context,
    partner: &PartnerId,
    named: Option<UnitCode>,
) -> Result<UnitCode, ClearingError> {
    let own = ctx
        .network
        .partner(partner)
        .ok_or_else(|| ClearingError::UnknownPartner(partner.to_string()))?
        .unit
        .clone();
    let unit = named
        .or(own)
        .ok_or_else(|| ClearingError::NoOwnUnit(partner.clone()))?;
    let configured = ctx.network.units.get(&unit).is_some();
    match ctx.units.get(&unit) {
        Some(u) if u.is_points() && configured => Ok(unit),
        _ => Err(ClearingError::UnknownUnit(unit.to_string())),
    }
}

/// The basket's lines in the settlement currency, checked (they add up to the amount).
fn basket(ctx: &Context, spent: Amount, lines: &[LineInput]) -> Result<Basket, ClearingError> {
    let bad = ClearingError::InvalidBasket;
    if lines.len() > earn_rules::MAX_BASKET_LINES {
        return Err(bad(earn_rules::BasketError::TooManyLines));
    }
    let mut parsed = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        for (field, text) in [("sku", &l.sku), ("category", &l.category)] {
            if let Some(t) = text {
                check_text(field, t, MAX_LINE_TEXT_CHARS)?;
            }
        }
        let amount = Amount::parse(&l.amount, ctx.network.currency_scale)
            .map_err(|_| bad(earn_rules::BasketError::LineAmount(i + 1)))?;
        parsed.push(Line {
            category: l.category.clone(),
            amount: amount.to_decimal(),
        });
    }
    let basket = Basket {
        amount: spent.to_decimal(),
        lines: parsed,
    };
    earn_rules::check_basket(&basket).map_err(bad)?;
    Ok(basket)
}

fn plan(ctx: &Context, partner: &PartnerId, input: &EarnInput) -> Result<Planned, ClearingError> {
    let unit = earn_unit(ctx, partner, input.unit.clone())?;
    let u = ctx
        .network
        .units
        .get(&unit)
        .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))?;
    let UnitKind::Points { value, .. } = &u.kind else {
        return Err(ClearingError::NotPoints(unit));
    };
    let rate = ctx.network.partner(partner).and_then(|p| p.earn_rate);
    let earning = Earning {
        rate: rate.unwrap_or_default(),
        point_value: *value,
        unit_places: u.scale.places(),
    };
    let what = match &input.amount {
        EarnAmount::Points(p) => Planning::Points(ctx.points(&unit, p)?),
        EarnAmount::Purchase {
            amount,
            currency,
            lines,
        } => {
            if currency != ctx.network.settlement_currency.as_str() {
                return Err(ClearingError::InvalidAmount(BadAmount::PurchaseCurrency(
                    ctx.network.settlement_currency.clone(),
                )));
            }
            if rate.is_none() {
                return Err(ClearingError::InvalidRequest(Invalid::NoEarnRate(
                    partner.clone(),
                )));
            }
            let spent = Amount::parse_positive(amount, ctx.network.currency_scale)
                .map_err(|e| ClearingError::InvalidAmount(e.into()))?;
            Planning::Purchase {
                spent,
                basket: basket(ctx, spent, lines)?,
                currency: currency.clone(),
                amount: amount.clone(),
            }
        }
    };
    check_occurred_at(input.occurred_at.as_deref(), ctx.clock.now_us())?;
    Ok(Planned {
        unit,
        earning,
        what,
        occurred_at: input.occurred_at.clone(),
    })
}

/// What the member's state and the time give for a planned earn: pure, for the earn (in the
/// writer) and its quote alike.
fn compute(
    ctx: &Context,
    partner: &PartnerId,
    planned: &Planned,
    member: MemberState<'_>,
    at_us: i64,
) -> Result<Computed, ClearingError> {
    let scale = ctx.scale(&planned.unit)?;
    let to_amount =
        |d: Decimal| Amount::from_decimal(d, scale).map_err(|_| ClearingError::AmountTooLarge);
    let rules = match &planned.what {
        Planning::Points(_) => Vec::new(),
        Planning::Purchase { basket, .. } => {
            let local = LocalTime::at(&ctx.network.time_zone, at_us).ok_or(
                ClearingError::InvalidRequest(Invalid::Time { field: "now" }),
            )?;
            let configured = ctx
                .network
                .partner(partner)
                .map_or(&[][..], |p| p.earn_rules.as_slice());
            earn_rules::award(planned.earning, configured, basket, member, local)
                .map_err(ClearingError::InvalidBasket)?
        }
    };
    let before_bonus = match &planned.what {
        Planning::Points(p) => *p,
        Planning::Purchase { .. } => {
            to_amount(earn_rules::total(&rules).map_err(|_| ClearingError::AmountTooLarge)?)?
        }
    };
    let ladder = ctx.network.tiers.as_ref();
    let percent = member
        .tier
        .and_then(|t| ladder?.level(t))
        .map_or(Decimal::ZERO, |l| l.earn_bonus_percent);
    let bonus = earn_rules::tier_bonus(before_bonus.to_decimal(), percent, scale.places())
        .map_err(ClearingError::InvalidBasket)?;
    let tier_bonus = to_amount(bonus)?;
    let points = before_bonus
        .checked_add(tier_bonus)
        .ok_or(ClearingError::AmountTooLarge)?;
    if !points.is_positive() {
        let amount = match &planned.what {
            Planning::Purchase { amount, .. } => amount.clone(),
            Planning::Points(p) => p.to_string(),
        };
        return Err(ClearingError::InvalidAmount(BadAmount::EarnsNothing {
            amount,
            unit: planned.unit.clone(),
        }));
    }
    Ok(Computed {
        unit: planned.unit.clone(),
        rules,
        tier: member.tier.map(str::to_owned),
        tier_bonus,
        bonus_funded_by: ladder.map_or(BonusFunder::Partner, |l| l.bonus_funded_by),
        points,
    })
}

/// Whether any of the partner's rules asks about a first purchase (only then is it looked up).
fn asks_first_purchase(ctx: &Context, partner: &PartnerId) -> bool {
    ctx.network
        .partner(partner)
        .is_some_and(|p| p.earn_rules.iter().any(|r| r.first_purchase))
}

/// The entry's memo: the purchase, the points' value, the rules and the bonus, `occurred_at`.
fn memo(ctx: &Context, planned: &Planned, c: &Computed) -> Result<String, ClearingError> {
    let mut memo = serde_json::json!({});
    if let Planning::Purchase {
        amount, currency, ..
    } = &planned.what
    {
        memo[profile::PURCHASE_KEY] = serde_json::json!({ "amount": amount, "currency": currency });
    }
    // What the points are worth now: the profile counts the earn at this value.
    memo[profile::VALUE_KEY] = ctx.value_memo(&planned.unit, c.points)?;
    if !c.rules.is_empty() {
        memo[RULES_KEY] = c
            .rules
            .iter()
            .map(|a| serde_json::json!({ "id": a.rule, "points": a.points.to_string() }))
            .collect();
    }
    if let Some(tier) = &c.tier {
        let funded_by = match c.bonus_funded_by {
            BonusFunder::Network => "network",
            BonusFunder::Partner => "partner",
        };
        memo[TIER_BONUS_KEY] = serde_json::json!({
            "tier": tier, "points": c.tier_bonus.to_string(), "funded_by": funded_by
        });
    }
    if let Some(at) = &planned.occurred_at {
        memo["occurred_at"] = serde_json::Value::String(at.clone());
    }
    Ok(memo.to_string())
}

/// The member's state the rules ask about, inside a write: their tier before this earn (the
/// stored one, re-evaluated for time passed) and whether this is their first purchase here.
fn member_state_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    partner: &PartnerId,
    member: MemberId,
) -> Result<(Option<tiers::Before>, bool), ClearingError> {
    let tier = tiers::held_tx(ctx, tx, member)?;
    let first = asks_first_purchase(ctx, partner)
        && !crate::store::tiers::visited_tx(tx, &member.to_string(), partner.as_str())?;
    Ok((tier, first))
}

impl Clearing {
    /// `POST /v1/earn`.
    pub fn earn_work(
        &self,
        caller: &Caller,
        input: EarnInput,
    ) -> Result<impl Work<Posted>, ClearingError> {
        check_text(
            "reference",
            &input.reference,
            crate::ledger::entry::MAX_REFERENCE_CHARS,
        )?;
        let planned = plan(&self.ctx, &caller.partner, &input)?;
        let caller = caller.clone();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let partner = &caller.partner;
            let member = ctx.member_for(tx, partner, &input.member)?;
            let (before, first_purchase) = member_state_tx(ctx, tx, partner, member)?;
            let state = MemberState {
                tier: before.as_ref().and_then(|b| b.tier.as_deref()),
                first_purchase,
            };
            let c = compute(ctx, partner, &planned, state, tx.now_us())?;
            let mut meta = caller.meta(EntryKind::Earn, member, Some(input.reference));
            meta.memo = Some(memo(ctx, &planned, &c)?);
            let network_bonus = match c.bonus_funded_by {
                BonusFunder::Network => c.tier_bonus,
                BonusFunder::Partner => Amount::from_minor(0, c.points.scale()),
            };
            let partner_points =
                Amount::from_minor(c.points.minor() - network_bonus.minor(), c.points.scale());
            let draft = rules::earn_with_bonus(
                &ctx.network,
                partner,
                member,
                &c.unit,
                (partner_points, network_bonus),
                meta,
            )?;
            let entry = tx.post(draft.balance(&ctx.units)?)?;
            ctx.operation(
                tx,
                &entry,
                OperationKind::Earn,
                (&c.unit, c.points),
                OperationStatus::Posted,
                None,
            )?;
            let coupons = match &planned.what {
                Planning::Purchase { spent, .. } => {
                    if let Some(before) = before {
                        tiers::after_spend_tx(ctx, tx, before, *spent)?;
                    }
                    super::coupons::triggered_coupons(ctx, tx, partner, member, *spent)?
                }
                Planning::Points(_) => Vec::new(),
            };
            Ok(Posted {
                entry,
                status: EntryStatus::Posted,
                coupons_issued: Some(coupons),
            })
        })
    }

    /// `POST /v1/earn/quote`: what the same earn would give now, without posting (a read: no
    /// writer time). The member is named as for an earn; a card need not be linked yet.
    pub async fn earn_quote(
        &self,
        caller: &Caller,
        input: EarnInput,
    ) -> Result<Computed, ClearingError> {
        let planned = plan(&self.ctx, &caller.partner, &input)?;
        let partner = caller.partner.clone();
        let member = match &input.member {
            MemberRef::Id(m) => {
                let (p, id) = (partner.to_string(), m.to_string());
                let linked = self
                    .store
                    .read(move |c| members::link_to(c, &p, &id))
                    .await?;
                if linked.is_none() {
                    return Err(ClearingError::NotFound(Missing::Member(*m)));
                }
                *m
            }
            MemberRef::Card(card) => self.card_member(card).await?,
        };
        let now_us = self.ctx.clock.now_us();
        let ladder = self.ctx.network.tiers.as_ref();
        let from_day = ladder.map_or(i32::MAX, |l| tiers::window_start_day(l, now_us));
        let (p, id) = (partner.to_string(), member.to_string());
        let (row, spent_minor, visited) = self
            .store
            .read(move |c| crate::store::tiers::standing(c, &id, from_day, &p))
            .await?;
        let qualifying = Amount::from_minor(spent_minor, self.ctx.network.currency_scale);
        let tier = ladder
            .and_then(|l| tiers::held(l, &member.to_string(), row.as_ref(), qualifying, now_us));
        let state = MemberState {
            tier: tier.as_deref(),
            first_purchase: asks_first_purchase(&self.ctx, &partner) && !visited,
        };
        compute(&self.ctx, &partner, &planned, state, now_us)
    }
}
