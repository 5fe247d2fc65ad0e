//! Insights for a partner (and the network): active and new members, visits, the tier mix,
//! the overlap with each other brand and the campaigns' issuance and redemption. Counted by the
//! segment worker's daily pass over every member (`Tally`), stored, and read by key; overlaps
//! under 10 read `"<10"` so that no single member can be singled out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::segments::K_ANONYMITY;
use super::segments::definition::MemberFacts;
use super::time::DAY_US;
use super::{Clearing, ClearingError, time};
use crate::ledger::PartnerId;
use crate::partners::Network;
use crate::store::insights::{self, NETWORK_SCOPE};

/// What one scope's pass counted.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub active_members_30d: i64,
    pub new_members_30d: i64,
    pub visits_30d: i64,
    /// Members per tier rank.
    pub tiers: BTreeMap<i64, i64>,
    /// Members seen at each other brand (a partner's: only those sharing their profile with it).
    pub cross_brand: BTreeMap<String, i64>,
}

/// A pass's counts, for every partner and the network.
#[derive(Debug, Default)]
pub struct Tally {
    network: Counts,
    partners: BTreeMap<String, Counts>,
}

impl Tally {
    /// Counts one member.
    pub fn add(&mut self, f: &MemberFacts, now_us: i64) {
        let Some(joined) = f.joined_at_us else {
            return;
        };
        let recent = |at: i64| now_us.saturating_sub(at) < 30 * DAY_US;
        let visits: i64 = f.brands.values().map(|b| b.visits_30d).sum();
        let n = &mut self.network;
        n.active_members_30d += i64::from(visits > 0);
        n.new_members_30d += i64::from(recent(joined));
        n.visits_30d += visits;
        *n.tiers.entry(f.tier_rank).or_default() += 1;
        let used: Vec<&String> = f
            .brands
            .iter()
            .filter(|(_, b)| b.last_visit_us.is_some())
            .map(|(p, _)| p)
            .collect();
        if used.len() > 1 {
            for q in &used {
                *n.cross_brand.entry((*q).clone()).or_default() += 1;
            }
        }
        for (p, shares) in &f.links {
            let c = self.partners.entry(p.clone()).or_default();
            let own = f.brands.get(p).map_or(0, |b| b.visits_30d);
            c.active_members_30d += i64::from(own > 0);
            c.visits_30d += own;
            c.new_members_30d += i64::from(f.linked_at_us.get(p).is_some_and(|at| recent(*at)));
            *c.tiers.entry(f.tier_rank).or_default() += 1;
            if *shares {
                for q in used.iter().filter(|q| **q != p) {
                    *c.cross_brand.entry((*q).clone()).or_default() += 1;
                }
            }
        }
    }

    /// Every scope's counts as stored: each partner of the network (zeros when none of its
    /// members was seen) and the network.
    pub fn bodies(mut self, network: &Network) -> Vec<(String, String)> {
        let mut out = vec![(
            NETWORK_SCOPE.to_owned(),
            serde_json::to_string(&self.network).unwrap_or_default(),
        )];
        for p in network.partners.keys() {
            let c = self.partners.remove(p.as_str()).unwrap_or_default();
            out.push((p.to_string(), serde_json::to_string(&c).unwrap_or_default()));
        }
        out
    }
}

/// A count that may be withheld: a number, or `"<10"`.
fn k_anonymous(n: i64) -> serde_json::Value {
    if n < K_ANONYMITY {
        serde_json::json!("<10")
    } else {
        serde_json::json!(n)
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TierCount {
    pub tier: String,
    pub members: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Overlap {
    pub partner: String,
    /// A number, or `"<10"`.
    #[schema(value_type = Object, example = json!("<10"))]
    pub shared_members: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignRate {
    pub campaign_id: String,
    pub issued: i64,
    pub redeemed: i64,
    /// redeemed ÷ issued, as a decimal string with 4 places ("0.2500"); "0" when none issued.
    pub redemption_rate: String,
}

/// Insights as the API serves them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InsightsView {
    /// The partner they are about; absent for the network's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// When the daily pass counted them (absent: not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_at: Option<String>,
    pub active_members_30d: i64,
    pub new_members_30d: i64,
    pub visits_30d: i64,
    pub tiers: Vec<TierCount>,
    pub cross_brand: Vec<Overlap>,
    pub campaigns: Vec<CampaignRate>,
}

/// `redeemed / issued` to 4 places, exactly (no floats).
fn rate(redeemed: i64, issued: i64) -> String {
    if issued <= 0 {
        return "0".into();
    }
    let r = rust_decimal::Decimal::from(redeemed) / rust_decimal::Decimal::from(issued);
    let mut r = r.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointNearestEven);
    r.rescale(4);
    r.to_string()
}

impl Clearing {
    /// `GET /v1/insights`: a partner's (`Some`), or the network's.
    pub async fn insights(
        &self,
        partner: Option<&PartnerId>,
    ) -> Result<InsightsView, ClearingError> {
        let scope = partner.map_or_else(|| NETWORK_SCOPE.to_owned(), ToString::to_string);
        let sponsor = partner.map(ToString::to_string);
        let (stored, campaigns) = self
            .store
            .read(move |c| {
                Ok((
                    insights::get(c, &scope)?,
                    insights::campaigns_of(c, sponsor.as_deref())?,
                ))
            })
            .await?;
        let (computed_at, counts) = match stored {
            Some((at, body)) => (
                Some(time::rfc3339(at)),
                serde_json::from_str(&body).unwrap_or_default(),
            ),
            None => (None, Counts::default()),
        };
        let ladder = self.ctx.network.tiers.as_ref();
        let tiers = counts
            .tiers
            .iter()
            .map(|(rank, members)| TierCount {
                tier: ladder
                    .and_then(|l| l.levels.get(usize::try_from(*rank).ok()?))
                    .map_or_else(|| "-".to_owned(), |l| l.name.clone()),
                members: *members,
            })
            .collect();
        Ok(InsightsView {
            partner: partner.map(ToString::to_string),
            computed_at,
            active_members_30d: counts.active_members_30d,
            new_members_30d: counts.new_members_30d,
            visits_30d: counts.visits_30d,
            tiers,
            cross_brand: counts
                .cross_brand
                .iter()
                .map(|(p, n)| Overlap {
                    partner: p.clone(),
                    shared_members: k_anonymous(*n),
                })
                .collect(),
            campaigns: campaigns
                .into_iter()
                .map(|(campaign_id, issued, redeemed)| CampaignRate {
                    campaign_id,
                    issued,
                    redeemed,
                    redemption_rate: rate(redeemed, issued),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clearing::segments::definition::BrandFacts;

    #[test]
    fn rates_are_exact_to_four_places() {
        assert_eq!(rate(1, 4), "0.2500");
        assert_eq!(rate(2, 3), "0.6667");
        assert_eq!(rate(0, 0), "0");
        assert_eq!(rate(5, 5), "1.0000");
    }

    #[test]
    fn a_partner_counts_its_own_members_and_others_only_with_consent() {
        let now = 100 * DAY_US;
        let member = |shares: bool| {
            let mut f = MemberFacts {
                joined_at_us: Some(now - DAY_US),
                ..MemberFacts::default()
            };
            f.links.insert("aroma".into(), shares);
            f.linked_at_us.insert("aroma".into(), now - 40 * DAY_US);
            for (p, v) in [("aroma", 2), ("books", 0)] {
                f.brands.insert(
                    p.into(),
                    BrandFacts {
                        visits_30d: v,
                        last_visit_us: Some(now - 50 * DAY_US),
                        ..BrandFacts::default()
                    },
                );
            }
            f
        };
        let mut t = Tally::default();
        t.add(&member(true), now);
        t.add(&member(false), now);
        t.add(&MemberFacts::default(), now); // erased: not counted
        let aroma = &t.partners["aroma"];
        assert_eq!(aroma.active_members_30d, 2);
        assert_eq!(aroma.visits_30d, 4);
        assert_eq!(aroma.new_members_30d, 0, "linked 40 days ago");
        assert_eq!(
            aroma.cross_brand.get("books"),
            Some(&1),
            "only the one who shares"
        );
        assert_eq!(t.network.new_members_30d, 2);
        assert_eq!(t.network.cross_brand.get("books"), Some(&2));
        assert_eq!(t.network.tiers.get(&0), Some(&2));
        assert_eq!(k_anonymous(9), serde_json::json!("<10"));
        assert_eq!(k_anonymous(10), serde_json::json!(10));
    }
}
