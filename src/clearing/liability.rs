//! The liability report: per issuer and unit, the points outstanding and their value, and what
//! was earned, redeemed and expired in the trailing twelve months, with the breakage rate. Read
//! from the issuers' days the writer keeps (`store::liability`), never from the journal.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::context::Context;
use super::expiry::add_months;
use super::{Clearing, ClearingError, time};
use crate::ledger::flows::{DAY_US, day_of};
use crate::ledger::{Account, Amount, PartnerId, Party, UnitCode, UnitKind};
use crate::store::liability::IssuerLiability;

/// Decimal places of the breakage rate.
pub const RATE_PLACES: u32 = 4;

/// One issuer's unit in the report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LiabilityLine {
    /// The issuing partner's id, or `network`.
    pub issuer: String,
    pub unit: String,
    /// Points outstanding at `at`: what members hold and what is held for them.
    pub outstanding: String,
    /// Their clearing value in the settlement currency, rounded half to even to its scale.
    pub value: String,
    pub currency: String,
    /// In the twelve months before `at`: points issued by earning (and converting in).
    pub earned: String,
    /// … spent (redemptions, captures, reward claims, donations, conversions out).
    pub redeemed: String,
    /// … expired, less expiries undone.
    pub expired: String,
    /// expired / (expired + redeemed), to four places; `null` when both are zero.
    pub breakage_rate: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LiabilityReport {
    /// The report's time (RFC 3339): outstanding as at it, flows in the twelve months before.
    pub at: String,
    /// Where the trailing window begins (RFC 3339, a UTC midnight).
    pub window_from: String,
    pub issuers: Vec<LiabilityLine>,
}

/// Why a report time cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadReportTime {
    #[error("`at` must be an RFC 3339 time at a UTC midnight (the report counts whole days)")]
    NotMidnight,
    #[error("`at` must not be in the future")]
    Future,
}

impl Clearing {
    /// The report as at `at_us` (a UTC midnight; now when `None`), for every issuer or one.
    pub async fn liability(
        &self,
        at_us: Option<i64>,
        issuer_wanted: Option<PartnerId>,
    ) -> Result<LiabilityReport, ClearingError> {
        let now = self.context().clock.now_us();
        if let Some(at) = at_us {
            if at.rem_euclid(DAY_US) != 0 {
                return Err(ClearingError::BadReportTime(BadReportTime::NotMidnight));
            }
            if at > now {
                return Err(ClearingError::BadReportTime(BadReportTime::Future));
            }
        }
        let at = at_us.unwrap_or(now);
        // Twelve months back, to the UTC midnight on or before: whole days only.
        let back = add_months(at, -12).ok_or(ClearingError::AmountTooLarge)?;
        let from_day = day_of(back);
        let until_day = at_us.map(day_of);
        // The configured point units' issuer accounts, each read by key.
        let names: Vec<(String, String)> = self
            .context()
            .network
            .units
            .iter()
            .filter_map(|u| {
                let issuer = u.issuer()?.clone();
                let wanted = issuer_filter(&issuer, issuer_wanted.as_ref());
                wanted.then(|| {
                    let account = Account::Issuer {
                        issuer,
                        unit: u.code.clone(),
                    };
                    (account.to_string(), u.code.to_string())
                })
            })
            .collect();
        let rows = self
            .store()
            .read(move |c| crate::store::liability::report(c, &names, from_day, until_day))
            .await?;
        let ctx = self.context();
        let mut issuers = Vec::new();
        for row in rows {
            let Ok(Account::Issuer {
                issuer: party,
                unit,
            }) = row.account.parse::<Account>()
            else {
                continue;
            };
            if let Some(line) = line(ctx, &party, &unit, &row)? {
                issuers.push(line);
            }
        }
        Ok(LiabilityReport {
            at: time::rfc3339(at),
            window_from: time::rfc3339(i64::from(from_day) * DAY_US),
            issuers,
        })
    }
}

/// One issuer account's line (`None` for a unit no longer configured as points).
fn line(
    ctx: &Context,
    party: &Party,
    unit: &UnitCode,
    row: &IssuerLiability,
) -> Result<Option<LiabilityLine>, ClearingError> {
    let Some(def) = ctx.units.get(unit) else {
        return Ok(None);
    };
    let UnitKind::Points { value, .. } = &def.kind else {
        return Ok(None);
    };
    let scale = def.scale;
    let amount = |minor| Amount::from_minor(minor, scale);
    let outstanding = amount(row.outstanding_minor);
    let currency_scale = ctx.network.currency_scale;
    let worth = (outstanding.to_decimal() * value).round_dp_with_strategy(
        currency_scale.places(),
        RoundingStrategy::MidpointNearestEven,
    );
    let w = row.window;
    let spent_or_lapsed = w.expired_minor + w.redeemed_minor;
    let breakage_rate = (spent_or_lapsed != 0).then(|| {
        (Decimal::from(w.expired_minor) / Decimal::from(spent_or_lapsed))
            .round_dp_with_strategy(RATE_PLACES, RoundingStrategy::MidpointNearestEven)
            .to_string()
    });
    Ok(Some(LiabilityLine {
        issuer: party.to_string(),
        unit: unit.to_string(),
        outstanding: outstanding.to_string(),
        value: Amount::from_decimal(worth, currency_scale)
            .map_err(|_| ClearingError::AmountTooLarge)?
            .to_string(),
        currency: ctx.network.settlement_currency.to_string(),
        earned: amount(w.earned_minor).to_string(),
        redeemed: amount(w.redeemed_minor).to_string(),
        expired: amount(w.expired_minor).to_string(),
        breakage_rate,
    }))
}

/// Whether `issuer`'s lines are in a report for `wanted` (every issuer's when `None`).
fn issuer_filter(issuer: &Party, wanted: Option<&PartnerId>) -> bool {
    wanted.is_none_or(|w| *issuer == Party::Partner(w.clone()))
}
