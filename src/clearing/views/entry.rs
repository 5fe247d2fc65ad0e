//! An entry as partners and members see it (also the receipt of every write), and a member as
//! its partner sees it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clearing::receipt::{self, Posted, PostingClaim};
use crate::clearing::{Context, time};
use crate::ledger::{AccountKind, EntryKind};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub member_id: String,
    pub external_id: String,
    /// The member's card number: 16 digits, accepted wherever `member_id` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    /// `true` when the member was enrolled under a link code: the member they already were at
    /// another brand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<bool>,
}

/// One line of an entry: a signed amount (debit positive) as a decimal string.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PostingView {
    pub account: String,
    pub unit: String,
    pub amount: String,
}

/// An entry as partners see it; also the receipt of every write.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    /// UUIDv7.
    pub entry_id: String,
    pub seq: i64,
    /// earn, redemption, hold, capture, void, expiry, reversal, ...
    pub kind: String,
    /// posted, captured, pending, voided, expired or reversed.
    pub status: String,
    pub partner: Option<String>,
    pub member_id: Option<String>,
    pub reference: Option<String>,
    /// The entry this one reverses.
    pub reverses: Option<String>,
    pub created_at: String,
    /// The points unit the member's balance moved in, and by how much.
    pub unit: Option<String>,
    pub points: Option<String>,
    pub postings: Vec<PostingView>,
    /// SHA-256 of the entry, chained to the previous entry's.
    pub hash: String,
    pub prev_hash: String,
    /// Compact JWS (EdDSA) by the network key over the entry; `kid` is in /.well-known/jwks.json.
    pub receipt: String,
    /// In a member's own listing: what the entry meant for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On an earn: the coupons its purchase issued (campaigns triggered by this partner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupons_issued: Option<Vec<CouponRef>>,
    /// On an earn on a purchase: each rule's points (the base rate is `base`), rounded down to
    /// the unit's scale; with `tier_bonus` they add up to `points`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RulePoints>>,
    /// On an earn, when the network has tiers: the member's tier before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// On an earn, when the network has tiers: the points the tier added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_bonus: Option<String>,
}

/// The points one earn rule gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RulePoints {
    pub id: String,
    #[schema(example = "30")]
    pub points: String,
}

/// What an earn's memo records of its rules and tier bonus.
#[derive(Debug, Default, Deserialize)]
struct Explained {
    #[serde(default)]
    rules: Option<Vec<RulePoints>>,
    #[serde(default)]
    tier_bonus: Option<TierBonusMemo>,
}

#[derive(Debug, Deserialize)]
struct TierBonusMemo {
    tier: String,
    points: String,
}

/// An earn's points rule by rule, for a person: `base 55 · morning 30 · Gold 12`; `None` for an
/// entry that records no rules or bonus.
pub fn explanation(entry: &crate::ledger::CommittedEntry) -> Option<String> {
    let e = Explained::of_entry(entry);
    let mut parts: Vec<String> = e
        .rules
        .unwrap_or_default()
        .into_iter()
        .map(|r| format!("{} {}", r.id, r.points))
        .collect();
    if let Some(b) = e.tier_bonus.filter(|b| b.points != "0") {
        parts.push(format!("{} {}", b.tier, b.points));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

impl Explained {
    fn of(posted: &Posted) -> Self {
        Self::of_entry(&posted.entry)
    }

    fn of_entry(e: &crate::ledger::CommittedEntry) -> Self {
        if e.meta.kind != EntryKind::Earn {
            return Self::default();
        }
        e.meta
            .memo
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default()
    }
}

/// A coupon issued to the member by an earn.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CouponRef {
    pub code: String,
    pub campaign_id: String,
}

impl EntryView {
    pub fn new(ctx: &Context, posted: &Posted) -> Self {
        let e = &posted.entry;
        // The points the entry is about: a capture's are what it captured (the issuer's line);
        // every other kind moves them on the member's account.
        let points_kind = if e.meta.kind == EntryKind::Capture {
            AccountKind::Issuer
        } else {
            AccountKind::Member
        };
        let points_line = e.postings.iter().find(|p| p.account.kind() == points_kind);
        let postings = receipt::postings(e)
            .into_iter()
            .map(
                |PostingClaim {
                     account,
                     unit,
                     amount,
                 }| PostingView {
                    account,
                    unit,
                    amount,
                },
            )
            .collect();
        let explained = Explained::of(posted);
        let (tier, tier_bonus) = explained.tier_bonus.map(|b| (b.tier, b.points)).unzip();
        Self {
            rules: explained.rules,
            tier,
            tier_bonus,
            entry_id: e.id.to_string(),
            seq: e.seq,
            kind: e.meta.kind.to_string(),
            status: posted.status.to_string(),
            partner: e.meta.partner.as_ref().map(ToString::to_string),
            member_id: e.meta.member.as_ref().map(ToString::to_string),
            reference: e.meta.reference.clone(),
            reverses: e.meta.reverses.as_ref().map(ToString::to_string),
            created_at: time::rfc3339(e.created_at_us),
            unit: points_line.map(|p| p.account.unit().to_string()),
            points: points_line
                .and_then(|p| {
                    p.amount
                        .checked_neg()
                        .filter(|_| p.amount.minor() < 0)
                        .or(Some(p.amount))
                })
                .map(|a| a.to_string()),
            postings,
            hash: e.hash.to_string(),
            prev_hash: e.prev_hash.to_string(),
            receipt: receipt::receipt(ctx, e, posted.status),
            reason: None,
            coupons_issued: posted.coupons_issued.as_ref().map(|list| {
                list.iter()
                    .map(|(code, campaign_id)| CouponRef {
                        code: code.clone(),
                        campaign_id: campaign_id.clone(),
                    })
                    .collect()
            }),
        }
    }
}
