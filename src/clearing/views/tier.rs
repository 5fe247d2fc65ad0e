//! A member's tier as `GET /v1/me/tier` and `GET /v1/members/{id}/tier` answer it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
