//! The behaviour profile as a member or a linked brand reads it: per brand and in total, money
//! in the settlement currency at the value in force when each entry was posted.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clearing::time;
use crate::ledger::{Amount, Scale};
use crate::store::profiles::ProfileRow;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BrandProfileView {
    pub partner: String,
    /// Earns, redemptions (captures included) and coupon redemptions at this brand.
    pub visits: i64,
    /// Purchases reported with earns here, less what reversals took back.
    pub spend: String,
    /// The clearing value of the points earned here, when each was earned, less reversals.
    pub earned: String,
    /// The clearing value of the points redeemed here, when each was redeemed, less reversals.
    pub redeemed: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProfileTotalsView {
    pub visits: i64,
    /// Brands with at least one visit.
    pub brands_used: i64,
    pub spend: String,
    pub earned_value: String,
    pub redeemed_value: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProfileView {
    pub member_id: String,
    pub card_number: Option<String>,
    /// When the member joined the network; a brand the member does not share their profile
    /// with sees when the member joined that brand.
    pub member_since: String,
    /// The member's tier, once the network has tiers.
    pub tier: Option<String>,
    /// The latest visit among the rows shown.
    pub last_seen_at: Option<String>,
    /// The currency every money field is in.
    pub currency: String,
    /// Across every brand; absent for a brand the member does not share their profile with.
    pub totals: Option<ProfileTotalsView>,
    pub brands: Vec<BrandProfileView>,
}

/// What a profile is made of, read in a constant number of key look-ups.
pub struct ProfileParts {
    pub member_id: String,
    pub card_number: Option<String>,
    pub member_since_us: i64,
    pub rows: Vec<ProfileRow>,
    /// Whether the totals are shown (the member themself, or a brand they share it with).
    pub with_totals: bool,
}

/// The profile's body; money at the settlement currency's `scale`.
pub fn profile_view(parts: ProfileParts, currency: &str, scale: Scale) -> ProfileView {
    let money = |minor: i64| Amount::from_minor(minor, scale).to_string();
    let sum = |f: fn(&ProfileRow) -> i64| parts.rows.iter().map(f).sum::<i64>();
    let totals = parts.with_totals.then(|| ProfileTotalsView {
        visits: sum(|r| r.visits),
        brands_used: sum(|r| i64::from(r.visits > 0)),
        spend: money(sum(|r| r.spend_minor)),
        earned_value: money(sum(|r| r.earned_minor)),
        redeemed_value: money(sum(|r| r.redeemed_minor)),
    });
    let last_seen = parts
        .rows
        .iter()
        .filter(|r| r.visits > 0)
        .map(|r| r.last_seen_us)
        .max();
    ProfileView {
        member_id: parts.member_id,
        card_number: parts.card_number,
        member_since: time::rfc3339(parts.member_since_us),
        tier: None,
        last_seen_at: last_seen.map(time::rfc3339),
        currency: currency.to_owned(),
        totals,
        brands: parts
            .rows
            .iter()
            .map(|r| BrandProfileView {
                partner: r.partner.clone(),
                visits: r.visits,
                spend: money(r.spend_minor),
                earned: money(r.earned_minor),
                redeemed: money(r.redeemed_minor),
                first_seen_at: time::rfc3339(r.first_seen_us),
                last_seen_at: time::rfc3339(r.last_seen_us),
            })
            .collect(),
    }
}
