//! The programme the manifests configure around the clearing core: the network's time zone, its
//! tier ladder and each partner's earn rules, parsed from their TOML and checked at load. The
//! rules are data here; `clearing::earn_rules` evaluates them.

use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::ManifestError;

mod expiry;
mod interaction;
mod rules;
mod tiers;

use crate::ledger::Scale;
pub use expiry::{
    DEFAULT_NOTICE_DAYS, ExpiryFile, ExpiryKind, ExpiryPolicy, MAX_EXPIRY_MONTHS, MAX_NOTICE_DAYS,
    expiry,
};
pub use interaction::{InteractionKind, MAX_CUSTOM_KIND_CHARS};
pub use rules::{RuleFile, rules};
pub use tiers::{TiersFile, tiers};

/// The most tiers a ladder may have.
pub const MAX_TIERS: usize = 20;
/// The most earn rules one partner may configure.
pub const MAX_RULES_PER_PARTNER: usize = 50;
/// The most categories (or tiers, or days) one rule may list.
pub const MAX_RULE_LIST: usize = 50;
/// The longest rule id, tier name or category, in characters.
pub const MAX_RULE_NAME_CHARS: usize = 64;
/// The longest rolling window or grace period, in days (ten years).
pub const MAX_WINDOW_DAYS: u32 = 3653;
/// The longest paid tier period, in days.
pub const MAX_PERIOD_DAYS: u32 = 3653;
/// The most awards an `interaction` rule's `max_per_day` may allow.
pub const MAX_INTERACTION_AWARDS_PER_DAY: u32 = 100;
/// The id the base rate is listed under on a receipt: no configured rule may take it.
pub const BASE_RULE_ID: &str = "base";

/// A day of the week, as the manifests write it (`mon` … `sun`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// A date of the network's calendar as `(year, month, day)`: ordered as dates are.
pub type Day = (i16, u8, u8);

/// `[start, end)` in minutes of the day; crosses midnight when `end < start`. Never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl Hours {
    pub fn contains(self, minute: u16) -> bool {
        if self.start_minute < self.end_minute {
            (self.start_minute..self.end_minute).contains(&minute)
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }
}

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

impl FromStr for Hours {
    type Err = String;
    /// `"07:00-11:00"`: two 24-hour times, `24:00` allowed as an end, never the same twice.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a time range like \"07:00-11:00\"");
        let minute = |t: &str, end: bool| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            let at = h.checked_mul(60)?.checked_add(m)?;
            (m < 60 && (at < DAY_MINUTES || (end && at == DAY_MINUTES))).then_some(at)
        };
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let start_minute = minute(start, false).ok_or_else(bad)?;
        let end_minute = minute(end, true).ok_or_else(bad)? % DAY_MINUTES;
        if start_minute == end_minute {
            return Err(format!(
                "`{text}` is an empty range: its start and end are the same"
            ));
        }
        Ok(Hours {
            start_minute,
            end_minute,
        })
    }
}

/// What a rule adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `(factor − 1)` × the base points of the lines it matches (`factor` > 1).
    Multiplier { factor: Decimal },
    /// A fixed number of points (> 0).
    Bonus { points: Decimal },
    /// `percent` of the matching amount, in points at the unit's clearing value (> 0).
    Percent { percent: Decimal },
    /// `points` for a touch point of this kind (never for a purchase), at most `max_per_day`
    /// times per member and day of the network's calendar.
    Interaction {
        interaction: InteractionKind,
        points: Decimal,
        max_per_day: u32,
    },
}

/// One earn rule of a partner, as its manifest gives it (validated at load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub kind: RuleKind,
    /// Only these basket lines (by category); every line when `None`.
    pub categories: Option<Vec<String>>,
    pub days: Option<Vec<Weekday>>,
    pub hours: Option<Hours>,
    /// The basket's amount must be at least this.
    pub min_basket: Option<Decimal>,
    /// Only members at one of these tiers.
    pub tiers: Option<Vec<String>>,
    /// Only a member's first purchase at this brand.
    pub first_purchase: bool,
    pub valid_from: Option<Day>,
    /// Exclusive.
    pub valid_until: Option<Day>,
}

/// Who pays for the points a tier adds to an earn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BonusFunder {
    /// The unit's issuer issues them and the network owes it their clearing value.
    Network,
    /// More of the earning partner's points, like the base rate's.
    Partner,
}

/// What a member's tier is measured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Qualifying {
    /// Purchases in the settlement currency at every brand.
    Spend,
}

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierLevel {
    pub name: String,
    /// The qualifying total (in the settlement currency) that reaches it.
    pub min: Decimal,
    /// Extra points on every earn, as a percentage of the rule points.
    pub earn_bonus_percent: Decimal,
    /// A paid tier's price and period: bought outright, kept whatever the spend.
    pub paid: Option<PaidTier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidTier {
    pub price: Decimal,
    pub period_days: u32,
}

/// The tier ladder: levels in ascending order of `min`, the first at 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiers {
    pub qualifying: Qualifying,
    pub window_days: u32,
    pub grace_days: u32,
    pub bonus_funded_by: BonusFunder,
    pub levels: Vec<TierLevel>,
}

impl Tiers {
    pub fn level(&self, name: &str) -> Option<&TierLevel> {
        self.levels.iter().find(|l| l.name == name)
    }
    /// The highest level a qualifying total reaches (the first level when none above it).
    pub fn reached(&self, qualifying: Decimal) -> Option<&TierLevel> {
        self.levels.iter().rev().find(|l| qualifying >= l.min)
    }
    /// A level's rank on the ladder: 0 for the first.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l.name == name)
    }
}

/// A non-negative plain decimal (`"2"`, `"0.5"`): no sign, no exponent.
pub(super) fn decimal(path: &Path, key: &str, text: &str) -> Result<Decimal, ManifestError> {
    super::plain_decimal(
        path,
        key,
        text,
        "a plain non-negative decimal number like \"2.5\"",
    )
}

/// An amount of the settlement currency: a decimal with at most its places.
pub(super) fn money(
    path: &Path,
    key: &str,
    text: &str,
    scale: Scale,
) -> Result<Decimal, ManifestError> {
    let value = decimal(path, key, text)?;
    if value.normalize().scale() > scale.places() {
        return Err(ManifestError::at(
            path,
            key,
            format!(
                "`{text}` has more than the currency's {} decimal places",
                scale.places()
            ),
        ));
    }
    Ok(value)
}

/// A name: 1 to [`MAX_RULE_NAME_CHARS`] printable characters.
pub(super) fn name(path: &Path, key: &str, text: &str) -> Result<(), ManifestError> {
    let n = text.chars().count();
    if n == 0 || n > MAX_RULE_NAME_CHARS || text.chars().any(char::is_control) {
        return Err(ManifestError::at(
            path,
            key,
            format!("must be 1 to {MAX_RULE_NAME_CHARS} printable characters"),
        ));
    }
    Ok(())
}

/// The network's IANA time zone (`"UTC"` when `time_zone` is left out), from the zone database
/// built into the binary (the same answers on every machine).
pub fn time_zone(
    path: &Path,
    name: Option<&str>,
) -> Result<(String, jiff::tz::TimeZone), ManifestError> {
    let name = name.unwrap_or("UTC");
    let zone = jiff::tz::db().get(name).map_err(|_| {
        ManifestError::at(
            path,
            "time_zone",
            format!("`{name}` is not an IANA time zone name like \"Asia/Jerusalem\""),
        )
    })?;
    Ok((name.to_owned(), zone))
}
