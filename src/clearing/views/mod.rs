//! The bodies the service answers with, as clearing's own types. A write's answer is rendered on
//! the writer, before its batch commits, so that the idempotency record holding it commits with
//! the entry; these renderers are plain functions of clearing, so the writer runs no code of the
//! API's. The API documents the same types (utoipa) and renders its reads with them too.

pub mod coupons;
pub mod entry;
pub mod interaction;
pub mod links;
pub mod members;
pub mod privacy;
pub mod profile;
pub mod settlement;
pub mod statement;
pub mod tier;

use serde::Serialize;

use super::campaigns::Campaign;
use super::coupons::{Issued, Redeemed};
use super::partner::Enrolled;
use super::receipt::Posted;
use super::settlement::Settled;
use super::{Context, time};
use crate::ledger::{Amount, MemberId, Scale};
use crate::store::authorizations::AuthorizationRow;
use coupons::{CouponIssued, CouponRedemptionView, campaign_view, issued_view};
use entry::{EntryView, MemberView};
use members::{AuthorizationView, ConsentView, TokenView};

/// How a write's answer is rendered: a function of clearing's, never a caller's closure.
pub type Render<T> = fn(&Context, T) -> (u16, String);

/// A status and a JSON body.
pub fn json<T: Serialize>(status: u16, value: &T) -> (u16, String) {
    // Response structs hold strings and numbers only; serialising them cannot fail.
    (status, serde_json::to_string(value).unwrap_or_default())
}

/// A new entry: its receipt, 201.
pub fn entry_created(ctx: &Context, posted: Posted) -> (u16, String) {
    json(201, &EntryView::new(ctx, &posted))
}

/// An entry that closed something that was open (a hold captured or voided, a coupon voided):
/// its receipt, 200.
pub fn entry_closing(ctx: &Context, posted: Posted) -> (u16, String) {
    json(200, &EntryView::new(ctx, &posted))
}

/// An interaction recorded: 201.
pub fn interaction_recorded(ctx: &Context, i: super::interactions::Interacted) -> (u16, String) {
    json(201, &interaction::InteractionView::new(ctx, i))
}

/// A segment made: 201.
pub fn segment_created(_: &Context, s: super::segments::SegmentView) -> (u16, String) {
    json(201, &s)
}

/// A reward offered: 201.
pub fn reward_created(_: &Context, r: super::rewards::RewardView) -> (u16, String) {
    json(201, &r)
}

/// A reward claimed: 201.
pub fn claim_created(ctx: &Context, c: super::rewards::Claimed) -> (u16, String) {
    json(201, &c.view(ctx))
}

/// A claim fulfilled or cancelled: 200.
pub fn claim_closed(ctx: &Context, c: super::rewards::Claimed) -> (u16, String) {
    json(200, &c.view(ctx))
}

/// A paid tier bought: 201.
pub fn subscribed(ctx: &Context, s: super::subscriptions::Subscribed) -> (u16, String) {
    json(201, &tier::SubscriptionView::new(ctx, &s))
}

/// A paid tier cancelled (refunded within 14 days): 200.
pub fn subscription_cancelled(ctx: &Context, s: super::subscriptions::Subscribed) -> (u16, String) {
    json(200, &tier::SubscriptionView::new(ctx, &s))
}

/// A member enrolled (201) or found (200).
pub fn member(_: &Context, enrolled: Enrolled) -> (u16, String) {
    let view = MemberView {
        member_id: enrolled.member.to_string(),
        external_id: enrolled.external_id,
        card_number: enrolled.card_number,
        linked: None,
    };
    json(if enrolled.created { 201 } else { 200 }, &view)
}

pub fn campaign_created(ctx: &Context, campaign: Campaign) -> (u16, String) {
    json(201, &campaign_view(ctx, &campaign))
}

pub fn coupon_issued(ctx: &Context, issued: Issued) -> (u16, String) {
    let view: CouponIssued = issued_view(ctx, &issued);
    json(201, &view)
}

pub fn coupon_redeemed(ctx: &Context, redeemed: Redeemed) -> (u16, String) {
    json(201, &CouponRedemptionView::new(ctx, &redeemed))
}

/// A member token and when it expires (seconds since the epoch).
pub fn token(_: &Context, (token, expires_at_secs): (String, i64)) -> (u16, String) {
    let view = TokenView {
        token,
        expires_at: time::rfc3339(expires_at_secs.saturating_mul(1_000_000)),
    };
    json(201, &view)
}

pub fn consent(_: &Context, (member, share_balances): (MemberId, bool)) -> (u16, String) {
    let view = ConsentView {
        member_id: member.to_string(),
        share_balances,
    };
    json(200, &view)
}

/// An authorisation as the member hands it to the partner: its code and what it allows.
pub fn authorization(ctx: &Context, row: AuthorizationRow) -> (u16, String) {
    let scale = row
        .unit
        .parse()
        .ok()
        .and_then(|u| ctx.units.scale_of(&u))
        .unwrap_or(Scale::ZERO);
    let view = AuthorizationView {
        code: super::codes::display_auth_code(&row.code),
        max_points: Amount::from_minor(row.max_minor, scale).to_string(),
        partner: row.partner,
        unit: row.unit,
        expires_at: time::rfc3339(row.expires_at_us),
    };
    json(201, &view)
}

/// A settlement cycle closed (201), or the one closed before at the same cut-off (200).
pub fn settled(ctx: &Context, s: Settled) -> (u16, String) {
    let view = settlement::view(&s.settlement, ctx.network.currency_scale, None);
    json(if s.created { 201 } else { 200 }, &view)
}
