//! `[[earn.rules]]` in a partner's manifest: each rule, checked.

use std::collections::BTreeSet;
use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{
    BASE_RULE_ID, Day, Hours, InteractionKind, MAX_INTERACTION_AWARDS_PER_DAY, MAX_RULE_LIST,
    MAX_RULES_PER_PARTNER, Rule, RuleKind, Tiers, Weekday, decimal, money, name,
};
use crate::ledger::Scale;
use crate::partners::ManifestError;

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKindName {
    Multiplier,
    Bonus,
    Percent,
    Interaction,
}

impl RuleKindName {
    fn name(self) -> &'static str {
        match self {
            Self::Multiplier => "multiplier",
            Self::Bonus => "bonus",
            Self::Percent => "percent",
            Self::Interaction => "interaction",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: String,
    pub kind: RuleKindName,
    pub factor: Option<String>,
    pub points: Option<String>,
    pub percent: Option<String>,
    pub categories: Option<Vec<String>>,
    pub days: Option<Vec<Weekday>>,
    pub hours: Option<String>,
    pub min_basket: Option<String>,
    pub tiers: Option<Vec<String>>,
    #[serde(default)]
    pub first_purchase: bool,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    /// An `interaction` rule's touch point (`review`, `custom:tasting`, …).
    pub interaction: Option<String>,
    /// An `interaction` rule's cap: awards per member and day (the network's calendar).
    pub max_per_day: Option<u32>,
}

/// `"2026-12-01"` as a [`Day`].
fn date(path: &Path, key: &str, text: &str) -> Result<Day, ManifestError> {
    let d: jiff::civil::Date = text.parse().map_err(|_| {
        ManifestError::at(
            path,
            key,
            format!("`{text}` is not a date like \"2026-12-01\""),
        )
    })?;
    let month = u8::try_from(d.month()).unwrap_or_default();
    let day = u8::try_from(d.day()).unwrap_or_default();
    Ok((d.year(), month, day))
}

/// A partner's `[[earn.rules]]` checked: ids unique and not `base`, each kind with its one
/// value, lists short and non-empty, tiers on the ladder, windows neither empty nor inverted.
pub fn rules(
    path: &Path,
    files: Vec<RuleFile>,
    tiers: Option<&Tiers>,
    currency: Scale,
) -> Result<Vec<Rule>, ManifestError> {
    if files.len() > MAX_RULES_PER_PARTNER {
        return Err(ManifestError::at(
            path,
            "earn.rules",
            format!("more than {MAX_RULES_PER_PARTNER} rules"),
        ));
    }
    let mut rules: Vec<Rule> = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let rule = rule(path, i, f, tiers, currency)?;
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(ManifestError::at(
                path,
                format!("earn.rules[{i}].id"),
                format!("rule `{}`: the id is used by an earlier rule", rule.id),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// Where in the manifest a rule is: its place and id, named by every error about it.
struct At<'a> {
    path: &'a Path,
    i: usize,
    id: &'a str,
}

impl At<'_> {
    fn key(&self, k: &str) -> String {
        format!("earn.rules[{}].{k}", self.i)
    }
    fn err(&self, k: &str, message: impl std::fmt::Display) -> ManifestError {
        ManifestError::at(
            self.path,
            self.key(k),
            format!("rule `{}`: {message}", self.id),
        )
    }
    /// A checker's error (which names the key itself) with the rule named.
    fn named(&self, k: &str) -> impl Fn(ManifestError) -> ManifestError + '_ {
        let k = k.to_owned();
        move |e| self.err(&k, e.message)
    }
}

fn rule(
    path: &Path,
    i: usize,
    f: RuleFile,
    tiers: Option<&Tiers>,
    currency: Scale,
) -> Result<Rule, ManifestError> {
    let at = At { path, i, id: &f.id };
    name(path, &at.key("id"), &f.id).map_err(at.named("id"))?;
    if f.id == BASE_RULE_ID {
        return Err(at.err("id", "`base` names the base rate on receipts"));
    }
    let kind = kind(&at, &f)?;
    if matches!(kind, RuleKind::Interaction { .. }) {
        let purchase_only = [
            ("categories", f.categories.is_some()),
            ("min_basket", f.min_basket.is_some()),
            ("first_purchase", f.first_purchase),
        ];
        if let Some((k, _)) = purchase_only.iter().find(|(_, given)| *given) {
            return Err(at.err(
                k,
                format!("`{k}` is about purchases: an interaction rule has none"),
            ));
        }
    }
    let categories = list(&at, f.categories.clone(), "categories")?;
    for (j, c) in categories.iter().flatten().enumerate() {
        let k = format!("categories[{j}]");
        name(path, &at.key(&k), c).map_err(at.named(&k))?;
    }
    let days = list(&at, f.days.clone(), "days")?;
    if let Some(d) = &days
        && d.iter().collect::<BTreeSet<_>>().len() != d.len()
    {
        return Err(at.err("days", "a day is listed twice"));
    }
    let hours = f
        .hours
        .as_deref()
        .map(|h| h.parse::<Hours>().map_err(|m| at.err("hours", m)))
        .transpose()?;
    let min_basket = f
        .min_basket
        .as_deref()
        .map(|m| money(path, &at.key("min_basket"), m, currency).map_err(at.named("min_basket")))
        .transpose()?;
    let tier_names = tier_names(&at, f.tiers.clone(), tiers)?;
    let (valid_from, valid_until) = window(&at, &f)?;
    Ok(Rule {
        id: f.id,
        kind,
        categories,
        days,
        hours,
        min_basket,
        tiers: tier_names,
        first_purchase: f.first_purchase,
        valid_from,
        valid_until,
    })
}

/// The rule's kind with its one value: `factor` > 1, `points` or `percent` > 0.
fn kind(at: &At<'_>, f: &RuleFile) -> Result<RuleKind, ManifestError> {
    let (wanted, text) = match f.kind {
        RuleKindName::Multiplier => ("factor", &f.factor),
        RuleKindName::Bonus | RuleKindName::Interaction => ("points", &f.points),
        RuleKindName::Percent => ("percent", &f.percent),
    };
    let interaction_keys = [
        ("interaction", f.interaction.is_some()),
        ("max_per_day", f.max_per_day.is_some()),
    ];
    if !matches!(f.kind, RuleKindName::Interaction)
        && let Some((k, _)) = interaction_keys.iter().find(|(_, given)| *given)
    {
        return Err(at.err(
            k,
            format!(
                "`{k}` belongs to an interaction rule, not a {} rule",
                f.kind.name()
            ),
        ));
    }
    let given = [
        ("factor", &f.factor),
        ("points", &f.points),
        ("percent", &f.percent),
    ];
    if let Some((extra, _)) = given.iter().find(|(k, v)| v.is_some() && *k != wanted) {
        return Err(at.err(
            extra,
            format!(
                "`{extra}` does not belong here: a {} rule takes `{wanted}`",
                f.kind.name()
            ),
        ));
    }
    let text = text
        .as_deref()
        .ok_or_else(|| at.err(wanted, format!("a {} rule needs `{wanted}`", f.kind.name())))?;
    let value = decimal(at.path, &at.key(wanted), text).map_err(at.named(wanted))?;
    match f.kind {
        RuleKindName::Multiplier if value <= Decimal::ONE => Err(at.err(
            wanted,
            format!(
                "{value} must be greater than 1 (a multiplier adds (factor − 1) × the base points)"
            ),
        )),
        RuleKindName::Multiplier => Ok(RuleKind::Multiplier { factor: value }),
        _ if value.is_zero() => Err(at.err(wanted, "must be above zero")),
        RuleKindName::Bonus => Ok(RuleKind::Bonus { points: value }),
        RuleKindName::Percent => Ok(RuleKind::Percent { percent: value }),
        RuleKindName::Interaction => interaction(at, f, value),
    }
}

/// An `interaction` rule: the touch point it rewards and its daily cap (1 when left out).
fn interaction(at: &At<'_>, f: &RuleFile, points: Decimal) -> Result<RuleKind, ManifestError> {
    let text = f
        .interaction
        .as_deref()
        .ok_or_else(|| at.err("interaction", "an interaction rule needs `interaction`"))?;
    let interaction = text
        .parse::<InteractionKind>()
        .map_err(|m| at.err("interaction", m))?;
    let max_per_day = f.max_per_day.unwrap_or(1);
    if !(1..=MAX_INTERACTION_AWARDS_PER_DAY).contains(&max_per_day) {
        return Err(at.err(
            "max_per_day",
            format!("must be 1 to {MAX_INTERACTION_AWARDS_PER_DAY} (awards per member and day)"),
        ));
    }
    Ok(RuleKind::Interaction {
        interaction,
        points,
        max_per_day,
    })
}

/// The tiers a rule is for: every one on the network's ladder.
fn tier_names(
    at: &At<'_>,
    names: Option<Vec<String>>,
    tiers: Option<&Tiers>,
) -> Result<Option<Vec<String>>, ManifestError> {
    let names = list(at, names, "tiers")?;
    if let Some(names) = &names {
        let Some(ladder) = tiers else {
            return Err(at.err("tiers", "the network has no [tiers] in network.toml"));
        };
        if let Some(unknown) = names.iter().find(|n| ladder.level(n).is_none()) {
            let known: Vec<&str> = ladder.levels.iter().map(|l| l.name.as_str()).collect();
            return Err(at.err(
                "tiers",
                format!(
                    "unknown tier `{unknown}` (the ladder has {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(names)
}

/// `valid_from` and `valid_until` (exclusive): a window that is neither empty nor inverted.
fn window(at: &At<'_>, f: &RuleFile) -> Result<(Option<Day>, Option<Day>), ManifestError> {
    let day = |k: &str, text: &Option<String>| {
        text.as_deref()
            .map(|d| date(at.path, &at.key(k), d).map_err(at.named(k)))
            .transpose()
    };
    let (from, until) = (
        day("valid_from", &f.valid_from)?,
        day("valid_until", &f.valid_until)?,
    );
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        return Err(at.err(
            "valid_until",
            "must be after valid_from (valid_until is exclusive): the window is empty or inverted",
        ));
    }
    Ok((from, until))
}

/// An optional list: when given, 1 to [`MAX_RULE_LIST`] items.
fn list<T>(at: &At<'_>, items: Option<Vec<T>>, k: &str) -> Result<Option<Vec<T>>, ManifestError> {
    match items {
        Some(v) if v.is_empty() || v.len() > MAX_RULE_LIST => Err(at.err(
            k,
            format!("list 1 to {MAX_RULE_LIST} items, or leave the key out"),
        )),
        other => Ok(other),
    }
}
