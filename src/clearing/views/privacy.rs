//! What a member's privacy calls answer: the export of everything held about them, and what an
//! erasure did.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entry::EntryView;
use super::json;
use super::links::LinkView;
use super::profile::ProfileView;
use crate::clearing::codes::display_auth_code;
use crate::clearing::context::Context;
use crate::clearing::links::Link;
use crate::clearing::members::WalletLine;
use crate::clearing::privacy::Erased;
use crate::clearing::time;
use crate::ledger::{Amount, Scale};
use crate::store::authorizations::AuthorizationRow;
use crate::store::coupons::CouponRow;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CardRecord {
    pub number: String,
    pub issued_at: String,
    /// When the card was replaced; absent for the card in use.
    pub revoked_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceRecord {
    pub unit: String,
    pub balance: String,
    pub issuer: String,
}

impl From<WalletLine> for BalanceRecord {
    fn from(l: WalletLine) -> Self {
        Self {
            unit: l.unit.to_string(),
            balance: l.balance.to_string(),
            issuer: l.issuer.to_string(),
        }
    }
}

impl From<Link> for LinkView {
    fn from(l: Link) -> Self {
        Self {
            partner: l.partner,
            external_id: l.external_id,
            linked_at: time::rfc3339(l.linked_at_us),
            share_balances: l.sharing.balances,
            share_profile: l.sharing.profile,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CouponRecord {
    pub code: String,
    pub campaign_id: String,
    /// issued, redeemed, voided or expired.
    pub status: String,
    pub expires_at: String,
    /// The discount it gave, when it was redeemed.
    pub discount: Option<String>,
    pub redeemed_by: Option<String>,
}

impl CouponRecord {
    pub fn new(c: CouponRow, scale: Scale) -> Self {
        Self {
            code: crate::clearing::codes::display_code(&c.code),
            campaign_id: c.campaign_id,
            status: c.status.as_str().to_owned(),
            expires_at: time::rfc3339(c.expires_at_us),
            discount: c
                .discount_minor
                .map(|d| Amount::from_minor(d, scale).to_string()),
            redeemed_by: c.redeemed_by,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationRecord {
    pub code: String,
    pub partner: String,
    pub unit: String,
    pub max_points: String,
    pub used_points: String,
    pub expires_at: String,
}

impl AuthorizationRecord {
    pub fn new(ctx: &Context, a: AuthorizationRow) -> Self {
        let scale = a
            .unit
            .parse()
            .ok()
            .and_then(|u| ctx.units.scale_of(&u))
            .unwrap_or(Scale::ZERO);
        Self {
            code: display_auth_code(&a.code),
            partner: a.partner,
            max_points: Amount::from_minor(a.max_minor, scale).to_string(),
            used_points: Amount::from_minor(a.used_minor, scale).to_string(),
            unit: a.unit,
            expires_at: time::rfc3339(a.expires_at_us),
        }
    }
}

/// Everything the network holds about a member.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportView {
    pub member_id: String,
    pub joined_at: String,
    pub exported_at: String,
    /// The member's own choice: what a new link starts with.
    pub share_balances: bool,
    pub share_profile: bool,
    /// Every card issued to the member, the replaced ones too.
    pub cards: Vec<CardRecord>,
    /// The brands the member is linked to, with each brand's own id for them.
    pub links: Vec<LinkView>,
    pub balances: Vec<BalanceRecord>,
    pub profile: ProfileView,
    /// Coupons issued to the member, newest first (at most 1 000).
    pub coupons: Vec<CouponRecord>,
    /// Authorisation codes the member made, newest first (at most 1 000).
    pub authorizations: Vec<AuthorizationRecord>,
    /// The member's entries, oldest first: the first 1 000.
    pub entries: Vec<EntryView>,
    /// Where `GET /v1/me/entries?cursor=` goes on, when the member has more entries.
    pub entries_next_cursor: Option<String>,
    /// The member's tier and its history, when the network has tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<super::tier::TierView>,
    /// Paid tiers the member bought, newest first (at most 1 000).
    #[serde(default)]
    pub subscriptions: Vec<super::tier::SubscriptionView>,
    /// Touch points partners reported, newest first (at most 1 000).
    #[serde(default)]
    pub interactions: Vec<super::interaction::InteractionView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ForfeitedView {
    pub unit: String,
    pub points: String,
}

/// What an erasure did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErasedView {
    pub member_id: String,
    pub erased_at: String,
    pub holds_voided: usize,
    pub authorizations_ended: usize,
    pub link_codes_revoked: usize,
    pub coupons_cancelled: usize,
    /// Points given back to their issuers (entries of kind `forfeiture`).
    pub forfeited: Vec<ForfeitedView>,
}

/// An erasure (200).
pub fn erased(_: &Context, e: Erased) -> (u16, String) {
    json(
        200,
        &ErasedView {
            member_id: e.member.to_string(),
            erased_at: time::rfc3339(e.erased_at_us),
            holds_voided: e.holds_voided,
            authorizations_ended: e.authorizations_ended,
            link_codes_revoked: e.link_codes_revoked,
            coupons_cancelled: e.coupons_cancelled,
            forfeited: e
                .forfeited
                .into_iter()
                .map(|(unit, points)| ForfeitedView {
                    unit: unit.to_string(),
                    points: points.to_string(),
                })
                .collect(),
        },
    )
}
