//! The kinds of webhook event, as partners' endpoints subscribe to them.

use std::fmt;
use std::str::FromStr;

/// What happened, as a partner's endpoint subscribes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    EntryPosted,
    CouponIssued,
    CouponRedeemed,
    TierChanged,
    PointsExpiring,
    RewardClaimed,
    SettlementClosed,
    PaymentRecorded,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::EntryPosted,
        EventType::CouponIssued,
        EventType::CouponRedeemed,
        EventType::TierChanged,
        EventType::PointsExpiring,
        EventType::RewardClaimed,
        EventType::SettlementClosed,
        EventType::PaymentRecorded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::EntryPosted => "entry.posted",
            EventType::CouponIssued => "coupon.issued",
            EventType::CouponRedeemed => "coupon.redeemed",
            EventType::TierChanged => "tier.changed",
            EventType::PointsExpiring => "points.expiring",
            EventType::RewardClaimed => "reward.claimed",
            EventType::SettlementClosed => "settlement.closed",
            EventType::PaymentRecorded => "payment.recorded",
        }
    }

    /// The event an entry of `kind` is besides `entry.posted`, if any.
    pub fn of_entry_kind(kind: &str) -> Option<EventType> {
        match kind {
            "coupon_redemption" => Some(EventType::CouponRedeemed),
            "reward_claim" => Some(EventType::RewardClaimed),
            "settlement" => Some(EventType::SettlementClosed),
            "payment" => Some(EventType::PaymentRecorded),
            _ => None,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of no event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an event type")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.chars().take(40).collect()))
    }
}
