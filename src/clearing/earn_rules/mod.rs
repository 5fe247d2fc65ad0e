//! Earn rules as pure functions: a basket, the member's state and the local time of the earn give
//! the points each rule awards, each rounded down to the unit's scale and named by its rule —
//! every point explained. Nothing here reads the database or the clock; the manifests
//! (`partners::programme`, where the rules are parsed) and the earn use case feed it.

use rust_decimal::{Decimal, RoundingStrategy};

pub use crate::partners::programme::{
    BASE_RULE_ID, Day, Hours, InteractionKind, Rule, RuleKind, Weekday,
};

/// The most lines a basket may have.
pub const MAX_BASKET_LINES: usize = 200;

/// When an earn is posted, in the network's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub day: Day,
    pub weekday: Weekday,
    /// Minutes since local midnight, 0 to 1439.
    pub minute_of_day: u16,
}

impl LocalTime {
    /// The wall-clock time in `zone` at `at_us` (microseconds since the epoch); `None` outside
    /// the calendar's range.
    pub fn at(zone: &jiff::tz::TimeZone, at_us: i64) -> Option<Self> {
        let zoned = jiff::Timestamp::from_microsecond(at_us)
            .ok()?
            .to_zoned(zone.clone());
        let weekday = match zoned.weekday() {
            jiff::civil::Weekday::Monday => Weekday::Mon,
            jiff::civil::Weekday::Tuesday => Weekday::Tue,
            jiff::civil::Weekday::Wednesday => Weekday::Wed,
            jiff::civil::Weekday::Thursday => Weekday::Thu,
            jiff::civil::Weekday::Friday => Weekday::Fri,
            jiff::civil::Weekday::Saturday => Weekday::Sat,
            jiff::civil::Weekday::Sunday => Weekday::Sun,
        };
        let hour = u16::try_from(zoned.hour()).ok()?;
        let minute = u16::try_from(zoned.minute()).ok()?;
        Some(Self {
            day: (
                zoned.year(),
                u8::try_from(zoned.month()).ok()?,
                u8::try_from(zoned.day()).ok()?,
            ),
            weekday,
            minute_of_day: hour * 60 + minute,
        })
    }

    /// The local date as `yyyymmdd` (20261130): what a daily cap counts by.
    pub fn day_key(self) -> i32 {
        let (y, m, d) = self.day;
        i32::from(y) * 10_000 + i32::from(m) * 100 + i32::from(d)
    }
}

/// A basket line: its total amount in the settlement currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub category: Option<String>,
    pub amount: Decimal,
}

/// A purchase: its amount and, optionally, its lines (which must add up to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    pub amount: Decimal,
    pub lines: Vec<Line>,
}

/// What the rules may ask of the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberState<'a> {
    pub tier: Option<&'a str>,
    /// This is the member's first purchase at this brand.
    pub first_purchase: bool,
}

/// The partner's unit as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earning {
    /// Points per unit of the settlement currency (the partner's base rate).
    pub rate: Decimal,
    /// The unit's clearing value: currency per point (> 0).
    pub point_value: Decimal,
    /// Decimal places of the unit.
    pub unit_places: u32,
}

/// Points one rule awarded, rounded down to the unit's scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awarded {
    pub rule: String,
    pub points: Decimal,
}

/// Why a basket cannot be earned on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BasketError {
    #[error("the basket's lines add up to {lines}, not to the purchase's {amount}")]
    LinesDoNotAddUp { lines: Decimal, amount: Decimal },
    #[error("line {0}'s amount is not a decimal at the currency's scale")]
    LineAmount(usize),
    #[error("line {0}'s amount is not positive")]
    LineNotPositive(usize),
    #[error("the purchase's amount is not positive")]
    AmountNotPositive,
    #[error("a basket has at most {MAX_BASKET_LINES} lines")]
    TooManyLines,
    #[error("the points are too large to compute")]
    TooLarge,
}

/// Refuses a basket whose lines do not add up to its amount, or that is empty or too long.
pub fn check_basket(basket: &Basket) -> Result<(), BasketError> {
    if basket.amount <= Decimal::ZERO {
        return Err(BasketError::AmountNotPositive);
    }
    if basket.lines.len() > MAX_BASKET_LINES {
        return Err(BasketError::TooManyLines);
    }
    if let Some(i) = basket.lines.iter().position(|l| l.amount <= Decimal::ZERO) {
        return Err(BasketError::LineNotPositive(i + 1));
    }
    if !basket.lines.is_empty() {
        let mut lines = Decimal::ZERO;
        for l in &basket.lines {
            lines = lines.checked_add(l.amount).ok_or(BasketError::TooLarge)?;
        }
        if lines != basket.amount {
            return Err(BasketError::LinesDoNotAddUp {
                lines,
                amount: basket.amount,
            });
        }
    }
    Ok(())
}

/// Whether `rule`'s calendar, hours and tiers let it apply at `at` to a member at `tier`.
fn in_force(rule: &Rule, tier: Option<&str>, at: LocalTime) -> bool {
    rule.valid_from.is_none_or(|from| at.day >= from)
        && rule.valid_until.is_none_or(|until| at.day < until)
        && rule.days.as_ref().is_none_or(|d| d.contains(&at.weekday))
        && rule.hours.is_none_or(|h| h.contains(at.minute_of_day))
        && rule
            .tiers
            .as_ref()
            .is_none_or(|t| tier.is_some_and(|m| t.iter().any(|x| x == m)))
}

/// Whether `rule` applies to this earn at all (before which lines it matches).
fn applies(rule: &Rule, basket: &Basket, member: MemberState<'_>, at: LocalTime) -> bool {
    !matches!(rule.kind, RuleKind::Interaction { .. })
        && in_force(rule, member.tier, at)
        && rule.min_basket.is_none_or(|min| basket.amount >= min)
        && (!rule.first_purchase || member.first_purchase)
}

/// An interaction rule that applies to a touch point: its id, points and daily cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionAward {
    pub rule: String,
    pub points: Decimal,
    pub max_per_day: u32,
}

/// The interaction rules for a touch point of `kind` in force at `at` for a member at `tier`,
/// their points rounded down to the unit's scale (the caller applies each one's daily cap).
pub fn interaction_awards(
    rules: &[Rule],
    kind: &InteractionKind,
    tier: Option<&str>,
    at: LocalTime,
    unit_places: u32,
) -> Vec<InteractionAward> {
    rules
        .iter()
        .filter(|r| in_force(r, tier, at))
        .filter_map(|r| match &r.kind {
            RuleKind::Interaction {
                interaction,
                points,
                max_per_day,
            } if interaction == kind => Some(InteractionAward {
                rule: r.id.clone(),
                points: round_down(*points, unit_places),
                max_per_day: *max_per_day,
            }),
            _ => None,
        })
        .filter(|a| a.points > Decimal::ZERO)
        .collect()
}

/// The amount of the basket's lines `rule` matches (the whole basket without categories).
fn matched_amount(rule: &Rule, basket: &Basket) -> Result<Decimal, BasketError> {
    let Some(categories) = &rule.categories else {
        return Ok(basket.amount);
    };
    let mut sum = Decimal::ZERO;
    for l in &basket.lines {
        if l.category.as_ref().is_some_and(|c| categories.contains(c)) {
            sum = sum.checked_add(l.amount).ok_or(BasketError::TooLarge)?;
        }
    }
    Ok(sum)
}

fn round_down(points: Decimal, places: u32) -> Decimal {
    points.round_dp_with_strategy(places, RoundingStrategy::ToZero)
}

/// The points each rule awards for `basket` (the base rate first, as rule `base`), each rounded
/// down to the unit's scale; rules that award nothing are left out. Their sum is the earn.
pub fn award(
    earning: Earning,
    rules: &[Rule],
    basket: &Basket,
    member: MemberState<'_>,
    at: LocalTime,
) -> Result<Vec<Awarded>, BasketError> {
    check_basket(basket)?;
    let too_large = || BasketError::TooLarge;
    let mut out = Vec::new();
    let base = earning
        .rate
        .checked_mul(basket.amount)
        .ok_or_else(too_large)?;
    out.push(Awarded {
        rule: BASE_RULE_ID.to_owned(),
        points: round_down(base, earning.unit_places),
    });
    for rule in rules.iter().filter(|r| applies(r, basket, member, at)) {
        let matched = matched_amount(rule, basket)?;
        if matched.is_zero() {
            continue;
        }
        let raw = match &rule.kind {
            RuleKind::Multiplier { factor } => (*factor - Decimal::ONE)
                .checked_mul(earning.rate)
                .and_then(|r| r.checked_mul(matched)),
            RuleKind::Bonus { points } => Some(*points),
            RuleKind::Percent { percent } => matched
                .checked_mul(*percent)
                .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
                .and_then(|v| v.checked_div(earning.point_value)),
            // Never for a purchase (`applies` passed it over).
            RuleKind::Interaction { .. } => Some(Decimal::ZERO),
        }
        .ok_or_else(too_large)?;
        let points = round_down(raw.max(Decimal::ZERO), earning.unit_places);
        if points > Decimal::ZERO {
            out.push(Awarded {
                rule: rule.id.clone(),
                points,
            });
        }
    }
    out.retain(|a| a.points > Decimal::ZERO);
    Ok(out)
}

/// The points of every awarded rule added up (an earn's, or a touch point's).
pub fn total(awarded: &[Awarded]) -> Result<Decimal, BasketError> {
    awarded.iter().try_fold(Decimal::ZERO, |sum, a| {
        sum.checked_add(a.points).ok_or(BasketError::TooLarge)
    })
}

/// The tier bonus: `percent` of the rounded rule points, rounded down to the unit's scale.
pub fn tier_bonus(
    rule_points: Decimal,
    percent: Decimal,
    unit_places: u32,
) -> Result<Decimal, BasketError> {
    let raw = rule_points
        .checked_mul(percent)
        .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
        .ok_or(BasketError::TooLarge)?;
    Ok(round_down(raw.max(Decimal::ZERO), unit_places))
}

#[cfg(test)]
mod tests;
