//! `[tiers]` in `network.toml`: the ladder, checked.

use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{
    BASE_RULE_ID, BonusFunder, MAX_PERIOD_DAYS, MAX_TIERS, MAX_WINDOW_DAYS, PaidTier, Qualifying,
    TierLevel, Tiers, decimal, money, name,
};
use crate::ledger::Scale;
use crate::partners::ManifestError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiersFile {
    pub qualifying: Qualifying,
    pub window_days: u32,
    #[serde(default)]
    pub grace_days: u32,
    pub bonus_funded_by: BonusFunder,
    pub levels: Vec<TierLevelFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLevelFile {
    pub name: String,
    pub min: String,
    #[serde(default)]
    pub earn_bonus_percent: Option<String>,
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub period_days: Option<u32>,
}

/// `[tiers]` checked: levels named once, ascending from 0, a paid tier with its period.
pub fn tiers(path: &Path, file: TiersFile, currency: Scale) -> Result<Tiers, ManifestError> {
    let window = |key: &str, days: u32, min: u32| {
        if days < min || days > MAX_WINDOW_DAYS {
            return Err(ManifestError::at(
                path,
                key,
                format!("must be {min} to {MAX_WINDOW_DAYS} days"),
            ));
        }
        Ok(())
    };
    window("tiers.window_days", file.window_days, 1)?;
    window("tiers.grace_days", file.grace_days, 0)?;
    if file.levels.is_empty() || file.levels.len() > MAX_TIERS {
        return Err(ManifestError::at(
            path,
            "tiers.levels",
            format!("a ladder has 1 to {MAX_TIERS} levels"),
        ));
    }
    let mut levels: Vec<TierLevel> = Vec::with_capacity(file.levels.len());
    for (i, l) in file.levels.into_iter().enumerate() {
        let next = level(path, i, l, &levels, currency)?;
        levels.push(next);
    }
    Ok(Tiers {
        qualifying: file.qualifying,
        window_days: file.window_days,
        grace_days: file.grace_days,
        bonus_funded_by: file.bonus_funded_by,
        levels,
    })
}

/// The `i`th level, above every level before it.
fn level(
    path: &Path,
    i: usize,
    l: TierLevelFile,
    below: &[TierLevel],
    currency: Scale,
) -> Result<TierLevel, ManifestError> {
    let key = |k: &str| format!("tiers.levels[{i}].{k}");
    name(path, &key("name"), &l.name)?;
    if l.name.eq_ignore_ascii_case(BASE_RULE_ID) {
        return Err(ManifestError::at(path, key("name"), "`base` is reserved"));
    }
    if below.iter().any(|x| x.name == l.name) {
        return Err(ManifestError::at(
            path,
            key("name"),
            format!("tier `{}` is listed twice", l.name),
        ));
    }
    let min = money(path, &key("min"), &l.min, currency)?;
    match below.last() {
        None if !min.is_zero() => {
            return Err(ManifestError::at(
                path,
                key("min"),
                "the first level is where every member starts: its min must be \"0\"",
            ));
        }
        Some(prev) if min <= prev.min => {
            return Err(ManifestError::at(
                path,
                key("min"),
                format!(
                    "tier `{}` must need more than `{}` ({})",
                    l.name, prev.name, prev.min
                ),
            ));
        }
        _ => {}
    }
    let earn_bonus_percent = match &l.earn_bonus_percent {
        Some(p) => decimal(path, &key("earn_bonus_percent"), p)?,
        None => Decimal::ZERO,
    };
    let paid = paid(path, &key, &l, currency)?;
    Ok(TierLevel {
        name: l.name,
        min,
        earn_bonus_percent,
        paid,
    })
}

/// A paid tier's price and period: both or neither.
fn paid(
    path: &Path,
    key: &impl Fn(&str) -> String,
    l: &TierLevelFile,
    currency: Scale,
) -> Result<Option<PaidTier>, ManifestError> {
    match (&l.price, l.period_days) {
        (None, None) => Ok(None),
        (Some(price), Some(period_days)) => {
            let price = money(path, &key("price"), price, currency)?;
            if price.is_zero() {
                return Err(ManifestError::at(path, key("price"), "must be above zero"));
            }
            if period_days == 0 || period_days > MAX_PERIOD_DAYS {
                return Err(ManifestError::at(
                    path,
                    key("period_days"),
                    format!("must be 1 to {MAX_PERIOD_DAYS} days"),
                ));
            }
            Ok(Some(PaidTier { price, period_days }))
        }
        (Some(_), None) => Err(ManifestError::at(
            path,
            key("period_days"),
            "a paid tier (with a price) needs its period_days",
        )),
        (None, Some(_)) => Err(ManifestError::at(
            path,
            key("price"),
            "period_days is for a paid tier: give its price too",
        )),
    }
}
