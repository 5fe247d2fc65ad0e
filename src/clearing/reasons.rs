//! What an entry meant for the member, in words: the history's reasons, in English for the
//! API and in any wording a page passes.

use super::context::Context;
use crate::ledger::{AccountKind, CommittedEntry, EntryKind};

/// How a reason is worded, one template per kind: `{moved}` is the member's first movement
/// ("120 AROMA"), `{at}` the partner's name, `{lines}` every movement joined by `joined`.
pub struct ReasonWords {
    pub network: &'static str,
    pub earn: &'static str,
    pub redemption: &'static str,
    pub hold: &'static str,
    pub capture: &'static str,
    pub void: &'static str,
    pub expiry: &'static str,
    pub reversal: &'static str,
    pub conversion: &'static str,
    pub joined: &'static str,
    pub donation: &'static str,
    pub coupon_reserve: &'static str,
    pub coupon_redemption: &'static str,
    pub forfeiture: &'static str,
    pub subscription: &'static str,
    pub reward_claim: &'static str,
    pub points_expiry: &'static str,
    /// A reversal that moved none of the member's points (a paid tier or a coupon refunded).
    pub refund: &'static str,
}

/// The reasons in English, as the API gives them.
pub const REASONS_EN: ReasonWords = ReasonWords {
    network: "the network",
    earn: "Earned {moved} at {at}",
    redemption: "Spent {moved} at {at}",
    hold: "{moved} held at {at}",
    capture: "Held points spent at {at}",
    void: "Hold at {at} released: {moved} back",
    expiry: "Hold at {at} lapsed: {moved} back",
    reversal: "Reversal at {at}: {moved}",
    conversion: "Converted {lines}",
    joined: " into ",
    donation: "Donated {moved} to {at}",
    coupon_reserve: "Coupon from {at}",
    coupon_redemption: "Coupon used at {at}",
    forfeiture: "Forfeited {moved} to {at} at erasure",
    subscription: "Paid tier bought at {at}",
    reward_claim: "Reward claimed at {at}: {moved}",
    points_expiry: "{moved} expired",
    refund: "Refund at {at}",
};

/// A line a member can read: what the entry meant for them.
pub fn reason(ctx: &Context, entry: &CommittedEntry) -> String {
    reason_in(ctx, entry, &REASONS_EN)
}

/// [`reason`] worded by `words` (a page in another language).
pub fn reason_in(ctx: &Context, entry: &CommittedEntry, words: &ReasonWords) -> String {
    let at = entry
        .meta
        .partner
        .as_ref()
        .and_then(|id| ctx.network.partner(id))
        .map_or_else(|| words.network.to_owned(), |p| p.name.clone());
    let member_lines: Vec<String> = entry
        .postings
        .iter()
        .filter(|p| p.account.kind() == AccountKind::Member)
        .map(|p| {
            format!(
                "{} {}",
                p.amount
                    .checked_neg()
                    .filter(|_| p.amount.minor() < 0)
                    .unwrap_or(p.amount),
                p.account.unit()
            )
        })
        .collect();
    let moved = member_lines.first().cloned().unwrap_or_default();
    let template = match entry.meta.kind {
        EntryKind::Earn => words.earn,
        EntryKind::Redemption => words.redemption,
        EntryKind::Hold => words.hold,
        EntryKind::Capture => words.capture,
        EntryKind::Void => words.void,
        EntryKind::Expiry => words.expiry,
        EntryKind::Reversal if member_lines.is_empty() => words.refund,
        EntryKind::Reversal => words.reversal,
        EntryKind::Conversion => words.conversion,
        EntryKind::Donation => words.donation,
        EntryKind::CouponReserve => words.coupon_reserve,
        EntryKind::CouponRedemption => words.coupon_redemption,
        EntryKind::Forfeiture => words.forfeiture,
        EntryKind::Subscription => words.subscription,
        EntryKind::RewardClaim => words.reward_claim,
        EntryKind::PointsExpiry => words.points_expiry,
        other => return other.to_string(),
    };
    template
        .replace("{moved}", &moved)
        .replace("{at}", &at)
        .replace("{lines}", &member_lines.join(words.joined))
}
