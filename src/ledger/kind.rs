//! The kinds of journal entries: what each records, as stored and shown.

use std::fmt;
use std::str::FromStr;

use super::ids::IdError;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    Earn,
    Redemption,
    Hold,
    Capture,
    Void,
    Expiry,
    Reversal,
    Conversion,
    Donation,
    CouponReserve,
    CouponRedemption,
    CouponRelease,
    Settlement,
    Payment,
    Adjustment,
    /// An erased member's remaining points, back to their issuer: the liability released.
    Forfeiture,
    /// A paid tier sold by a partner: it owes the price to the network's fee income.
    Subscription,
    /// Points spent on a reward (a workshop, an event, a product) at the reward's partner:
    /// shaped as a redemption there.
    RewardClaim,
    /// Points that lapsed under their unit's expiry policy, back to their issuer: the
    /// liability released as breakage. (`Expiry` is the lapse of a hold.)
    PointsExpiry,
}

impl EntryKind {
    pub const ALL: [EntryKind; 19] = [
        EntryKind::Earn,
        EntryKind::Redemption,
        EntryKind::Hold,
        EntryKind::Capture,
        EntryKind::Void,
        EntryKind::Expiry,
        EntryKind::Reversal,
        EntryKind::Conversion,
        EntryKind::Donation,
        EntryKind::CouponReserve,
        EntryKind::CouponRedemption,
        EntryKind::CouponRelease,
        EntryKind::Settlement,
        EntryKind::Payment,
        EntryKind::Adjustment,
        EntryKind::Forfeiture,
        EntryKind::Subscription,
        EntryKind::RewardClaim,
        EntryKind::PointsExpiry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Redemption => "redemption",
            EntryKind::Hold => "hold",
            EntryKind::Capture => "capture",
            EntryKind::Void => "void",
            EntryKind::Expiry => "expiry",
            EntryKind::Reversal => "reversal",
            EntryKind::Conversion => "conversion",
            EntryKind::Donation => "donation",
            EntryKind::CouponReserve => "coupon_reserve",
            EntryKind::CouponRedemption => "coupon_redemption",
            EntryKind::CouponRelease => "coupon_release",
            EntryKind::Settlement => "settlement",
            EntryKind::Payment => "payment",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Forfeiture => "forfeiture",
            EntryKind::Subscription => "subscription",
            EntryKind::RewardClaim => "reward_claim",
            EntryKind::PointsExpiry => "points_expiry",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryKind {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        EntryKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| IdError {
                what: "entry kind",
                value: s.chars().take(32).collect(),
                rule: "one of earn, redemption, hold, capture, void, expiry, reversal, ...",
            })
    }
}
