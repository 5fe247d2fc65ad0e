//! A segment's definition, checked (metric names, operators, value types), and its evaluation
//! against one member's facts: pure functions, no database, no clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clearing::time::DAY_US;
use crate::ledger::{Amount, PartnerId};
use crate::partners::Network;
use crate::partners::programme::InteractionKind;

/// The most conditions one segment may have.
pub const MAX_CONDITIONS: usize = 20;

/// One condition as sent (and as stored, once checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionInput {
    pub metric: String,
    pub op: String,
    pub value: serde_json::Value,
}

/// What is measured of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    Visits30d,
    Visits90d,
    /// In minor units of the settlement currency.
    Spend365d,
    DaysSinceLastVisit,
    BrandsUsed,
    Tier,
    Visited(PartnerId),
    Interactions30d(InteractionKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    Ne,
}

impl Op {
    fn holds(self, actual: i64, target: i64) -> bool {
        match self {
            Op::Lt => actual < target,
            Op::Le => actual <= target,
            Op::Eq => actual == target,
            Op::Ge => actual >= target,
            Op::Gt => actual > target,
            Op::Ne => actual != target,
        }
    }
}

/// A checked condition: the value as a number (a count, minor units, a tier's rank, 0 or 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub metric: Metric,
    pub op: Op,
    pub value: i64,
}

/// Why a definition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("all[{index}]: {message}")]
pub struct BadCondition {
    pub index: usize,
    pub message: String,
}

/// The metrics' names, as a refusal lists them.
const METRICS: &str = "visits_30d, visits_90d, spend_365d, days_since_last_visit, brands_used, \
                       tier, visited:{partner}, interactions_30d:{kind}";

fn metric(network: &Network, name: &str) -> Result<Metric, String> {
    Ok(match name {
        "visits_30d" => Metric::Visits30d,
        "visits_90d" => Metric::Visits90d,
        "spend_365d" => Metric::Spend365d,
        "days_since_last_visit" => Metric::DaysSinceLastVisit,
        "brands_used" => Metric::BrandsUsed,
        "tier" => Metric::Tier,
        _ => {
            if let Some(p) = name.strip_prefix("visited:") {
                let partner: PartnerId = p
                    .parse()
                    .ok()
                    .filter(|p| network.partner(p).is_some())
                    .ok_or_else(|| format!("visited:{p}: no partner {p} in the network"))?;
                Metric::Visited(partner)
            } else if let Some(k) = name.strip_prefix("interactions_30d:") {
                Metric::Interactions30d(k.parse()?)
            } else {
                return Err(format!("unknown metric `{name}`: use one of {METRICS}"));
            }
        }
    })
}

fn op(name: &str) -> Result<Op, String> {
    Ok(match name {
        "lt" => Op::Lt,
        "le" => Op::Le,
        "eq" => Op::Eq,
        "ge" => Op::Ge,
        "gt" => Op::Gt,
        "ne" => Op::Ne,
        _ => return Err(format!("unknown op `{name}`: use lt, le, eq, ge, gt or ne")),
    })
}

/// The value a metric compares with, of the metric's type.
fn value(network: &Network, metric: &Metric, op: Op, v: &serde_json::Value) -> Result<i64, String> {
    match metric {
        Metric::Visited(_) => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err("visited:{partner} is true or false: use eq or ne".into());
            }
            v.as_bool()
                .map(i64::from)
                .ok_or_else(|| "visited:{partner} takes true or false".into())
        }
        Metric::Spend365d => {
            let text = v.as_str().ok_or(
                "spend_365d takes a decimal string in the settlement currency, e.g. \"500.00\"",
            )?;
            Amount::parse(text, network.currency_scale)
                .ok()
                .filter(|a| a.minor() >= 0)
                .map(Amount::minor)
                .ok_or_else(|| {
                    format!(
                        "spend_365d: `{text}` is not a non-negative amount of {}",
                        network.settlement_currency
                    )
                })
        }
        Metric::Tier => {
            let name = v.as_str().ok_or("tier takes a tier's name")?;
            let ladder = network
                .tiers
                .as_ref()
                .ok_or("the network has no tiers (no [tiers] in network.toml)")?;
            ladder
                .levels
                .iter()
                .position(|l| l.name == name)
                .and_then(|r| i64::try_from(r).ok())
                .ok_or_else(|| format!("unknown tier `{name}`"))
        }
        _ => v
            .as_i64()
            .filter(|n| (0..=i64::from(u32::MAX)).contains(n))
            .ok_or_else(|| "takes a whole number, 0 or more".into()),
    }
}

/// A definition checked against the network: 1 to [`MAX_CONDITIONS`] conditions, each a known
/// metric, operator and a value of the metric's type.
pub fn parse(network: &Network, all: &[ConditionInput]) -> Result<Vec<Condition>, BadCondition> {
    if all.is_empty() || all.len() > MAX_CONDITIONS {
        return Err(BadCondition {
            index: 0,
            message: format!("a segment has 1 to {MAX_CONDITIONS} conditions"),
        });
    }
    all.iter()
        .enumerate()
        .map(|(index, c)| {
            let bad = |message: String| BadCondition { index, message };
            let metric = metric(network, &c.metric).map_err(bad)?;
            let op = op(&c.op).map_err(bad)?;
            let value = value(network, &metric, op, &c.value).map_err(bad)?;
            Ok(Condition { metric, op, value })
        })
        .collect()
}

/// What one member did at one brand, over the windows the metrics use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandFacts {
    pub visits_30d: i64,
    pub visits_90d: i64,
    pub spend_365d_minor: i64,
    /// The latest visit ever (the profile's), when there was one.
    pub last_visit_us: Option<i64>,
}

/// Everything a member is evaluated on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFacts {
    pub brands: BTreeMap<String, BrandFacts>,
    /// `(partner, kind)` → interactions in the last 30 days.
    pub interactions_30d: BTreeMap<(String, String), i64>,
    /// The tier's place on the ladder (0: the first level, or no ladder).
    pub tier_rank: i64,
    /// The brands the member is linked to, and whether they share their profile with each.
    pub links: BTreeMap<String, bool>,
    /// When each link was made (insights' new members).
    pub linked_at_us: BTreeMap<String, i64>,
    /// When the member joined the network (`None`: erased).
    pub joined_at_us: Option<i64>,
}

/// Who a segment is for: a partner (its linked members; other brands' behaviour only where the
/// member shares their profile with it), or the network (every member, everything).
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    Partner(&'a str),
    Network,
}

/// The value of `metric` for the member as `viewer` may know it: `None` when it may not (the
/// member is then not in the segment) or there is nothing to measure (no visit yet).
fn measure(metric: &Metric, facts: &MemberFacts, viewer: Viewer<'_>, now_us: i64) -> Option<i64> {
    let shared = match viewer {
        Viewer::Network => true,
        Viewer::Partner(p) => *facts.links.get(p)?,
    };
    // A partner measures its own brand; the network every brand.
    let own = |f: &dyn Fn(&BrandFacts) -> i64| -> i64 {
        match viewer {
            Viewer::Partner(p) => facts.brands.get(p).map_or(0, f),
            Viewer::Network => facts.brands.values().map(f).sum(),
        }
    };
    let visited = |b: &BrandFacts| b.last_visit_us.is_some();
    Some(match metric {
        Metric::Visits30d => own(&|b| b.visits_30d),
        Metric::Visits90d => own(&|b| b.visits_90d),
        Metric::Spend365d => own(&|b| b.spend_365d_minor),
        Metric::DaysSinceLastVisit => {
            let last = match viewer {
                Viewer::Partner(p) => facts.brands.get(p)?.last_visit_us?,
                Viewer::Network => facts
                    .brands
                    .values()
                    .filter_map(|b| b.last_visit_us)
                    .max()?,
            };
            now_us.saturating_sub(last).div_euclid(DAY_US)
        }
        Metric::BrandsUsed if shared => {
            i64::try_from(facts.brands.values().filter(|b| visited(b)).count()).ok()?
        }
        Metric::BrandsUsed => return None,
        Metric::Tier => facts.tier_rank,
        Metric::Visited(q) => {
            let own_brand = matches!(viewer, Viewer::Partner(p) if p == q.as_str());
            if !own_brand && !shared {
                return None;
            }
            i64::from(facts.brands.get(q.as_str()).is_some_and(visited))
        }
        Metric::Interactions30d(kind) => {
            let kind = kind.to_string();
            facts
                .interactions_30d
                .iter()
                .filter(|((p, k), _)| {
                    *k == kind
                        && match viewer {
                            Viewer::Partner(own) => p == own,
                            Viewer::Network => true,
                        }
                })
                .map(|(_, n)| *n)
                .sum()
        }
    })
}

/// Whether the member is in a segment of `viewer`'s with these conditions: a partner's holds
/// only its linked members; every condition must hold and be known.
pub fn holds(all: &[Condition], facts: &MemberFacts, viewer: Viewer<'_>, now_us: i64) -> bool {
    if let Viewer::Partner(p) = viewer
        && !facts.links.contains_key(p)
    {
        return false;
    }
    all.iter().all(|c| {
        measure(&c.metric, facts, viewer, now_us).is_some_and(|actual| c.op.holds(actual, c.value))
    })
}
