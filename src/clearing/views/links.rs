//! A member's links to brands as the member sees them, and the link code they hand a brand.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entry::MemberView;
use super::json;
use crate::clearing::codes::display_auth_code;
use crate::clearing::context::Context;
use crate::clearing::links::{Link, LinkCode, LinkedMember};
use crate::clearing::time;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkCodeView {
    /// What the brand passes as `link_code` in `POST /v1/members`; single use.
    pub code: String,
    pub partner: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkView {
    pub partner: String,
    /// The brand's own id for the member.
    pub external_id: String,
    pub linked_at: String,
    /// Whether this brand may see the member's balances at the other brands.
    pub share_balances: bool,
    /// Whether this brand may see the member's profile rows at the other brands.
    pub share_profile: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinksView {
    pub items: Vec<LinkView>,
}

/// A link code made (201).
pub fn link_code(_: &Context, code: LinkCode) -> (u16, String) {
    json(
        201,
        &LinkCodeView {
            code: display_auth_code(&code.code),
            partner: code.partner.to_string(),
            expires_at: time::rfc3339(code.expires_at_us),
        },
    )
}

/// A member enrolled under a link code: the member they already were (201).
pub fn linked_member(_: &Context, linked: LinkedMember) -> (u16, String) {
    json(
        201,
        &MemberView {
            member_id: linked.member.to_string(),
            external_id: linked.external_id,
            card_number: linked.card_number,
            linked: Some(true),
        },
    )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CardView {
    /// The member's new card number; the old one is refused from now on (`410 card_revoked`).
    pub card_number: String,
}

/// A new card (201).
pub fn card(_: &Context, number: crate::ledger::CardNumber) -> (u16, String) {
    json(
        201,
        &CardView {
            card_number: number.to_string(),
        },
    )
}

/// A link removed: no body.
pub fn left(_: &Context, (): ()) -> (u16, String) {
    (204, String::new())
}

fn link_view(l: Link) -> LinkView {
    LinkView {
        partner: l.partner,
        external_id: l.external_id,
        linked_at: time::rfc3339(l.linked_at_us),
        share_balances: l.sharing.balances,
        share_profile: l.sharing.profile,
    }
}

pub fn links(links: Vec<Link>) -> LinksView {
    LinksView {
        items: links.into_iter().map(link_view).collect(),
    }
}

/// A link's consent changed (200).
pub fn link(_: &Context, link: Link) -> (u16, String) {
    json(200, &link_view(link))
}
