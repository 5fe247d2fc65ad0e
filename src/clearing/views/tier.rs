//! A member's tier as `GET /v1/me/tier` and `GET /v1/members/{id}/tier` answer it, and a paid
//! tier's subscription.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entry::EntryView;
use crate::clearing::subscriptions::Subscribed;
use crate::clearing::{Context, time};

/// The tier above the member's, and the qualifying spend still needed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NextTier {
    pub name: String,
    /// In the settlement currency.
    #[schema(example = "450.00")]
    pub needed: String,
}

/// One change of the member's tier, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TierChangeView {
    pub tier: String,
    pub at: String,
    pub reason: String,
}

/// A member's tier. A brand without the member's `share_profile` sees `tier` and `since` only:
/// the qualifying spend is the member's behaviour at every brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TierView {
    pub tier: String,
    /// Since when the member holds it (RFC 3339).
    pub since: String,
    /// Purchases at every brand over the rolling window, in the settlement currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifying: Option<String>,
    /// When the tier ends without more spend: a paid tier's end, a grace period's, or the day
    /// the window's spend falls below the tier's minimum plus the grace. `null` for the first
    /// level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The next tier up (`null` at the top).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextTier>,
    /// Paid until (RFC 3339), when the member bought the tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_until: Option<String>,
    /// Newest first, at most 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<TierChangeView>>,
}

/// A paid tier bought by a member.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionView {
    /// The id to cancel it by (the id of its entry).
    pub subscription_id: String,
    pub member_id: String,
    pub partner: String,
    pub tier: String,
    #[schema(example = "99.00")]
    pub price: String,
    pub starts_at: String,
    /// The tier ends here unless renewed (bought again before it ends).
    pub ends_at: String,
    /// `active`, `cancelled` (runs to its end) or `refunded` (cancelled within 14 days).
    pub status: String,
    /// The entry this call posted: the price, or its refund. None when a cancellation after 14
    /// days posted nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<EntryView>,
}

impl SubscriptionView {
    pub fn new(ctx: &Context, s: &Subscribed) -> Self {
        let r = &s.row;
        let status = match (r.cancelled_at_us, &r.refund_entry_id) {
            (None, _) => "active",
            (Some(_), None) => "cancelled",
            (Some(_), Some(_)) => "refunded",
        };
        Self {
            subscription_id: r.id.clone(),
            member_id: r.member_id.clone(),
            partner: r.partner.clone(),
            tier: r.tier.clone(),
            price: crate::ledger::Amount::from_minor(r.price_minor, ctx.network.currency_scale)
                .to_string(),
            starts_at: time::rfc3339(r.starts_at_us),
            ends_at: time::rfc3339(r.ends_at_us),
            status: status.to_owned(),
            receipt: s.posted.as_ref().map(|p| EntryView::new(ctx, p)),
        }
    }
}
