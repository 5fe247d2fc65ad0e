//! One member across brands: the link code a member hands to another brand, enrolment under it
//! (the same member, no second wallet), the member's list of links and leaving a brand.

use super::codes::{AUTH_CODE_CHARS, normalize_auth_code, random_code};
use super::context::Context;
use super::input::{MAX_EXTERNAL_ID_CHARS, check_text, parse_member};
use super::write::{Caller, Work};
use super::{Clearing, ClearingError, Invalid, Missing};
use crate::ledger::{MemberId, PartnerId};
pub use crate::store::members::Sharing;
use crate::store::{WriteTx, members};

/// How long a link code is good for, in seconds.
pub const LINK_CODE_TTL_SECS: i64 = 10 * 60;

/// A link code as the member gets it.
#[derive(Debug, Clone)]
pub struct LinkCode {
    pub code: String,
    pub partner: PartnerId,
    pub expires_at_us: i64,
}

/// A brand the member is linked to.
#[derive(Debug, Clone)]
pub struct Link {
    pub partner: String,
    /// The brand's own id for the member.
    pub external_id: String,
    pub linked_at_us: i64,
    /// What this brand may see of the member's other brands.
    pub sharing: Sharing,
}

/// What an enrolment under a link code came to: the member, and the external id the brand
/// holds for them (the one it sent, or the one it already had).
#[derive(Debug, Clone)]
pub struct LinkedMember {
    pub member: MemberId,
    pub external_id: String,
    pub card_number: Option<String>,
}

impl Clearing {
    /// `POST /v1/me/links`: a single-use code with which `partner` can enrol the member as the
    /// member they already are, for [`LINK_CODE_TTL_SECS`].
    pub fn link_code_work(
        &self,
        member: MemberId,
        partner: &str,
    ) -> Result<impl Work<LinkCode>, ClearingError> {
        let partner = self.context().partner_named(partner)?;
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            ctx.require_member(tx, member)?;
            let code = random_code(AUTH_CODE_CHARS)?;
            let expires_at_us = tx
                .now_us()
                .saturating_add(LINK_CODE_TTL_SECS.saturating_mul(1_000_000));
            members::create_link_code(
                tx,
                &code,
                &member.to_string(),
                partner.as_str(),
                expires_at_us,
            )?;
            Ok(LinkCode {
                code,
                partner,
                expires_at_us,
            })
        })
    }

    /// `POST /v1/members {external_id, link_code}`: the member the code names, linked to the
    /// calling partner under `external_id`. Consent in the body is not read: the link starts
    /// from the member's own choice.
    pub fn enrol_linked_work(
        caller: &Caller,
        external_id: String,
        link_code: &str,
    ) -> Result<impl Work<LinkedMember>, ClearingError> {
        check_text("external_id", &external_id, MAX_EXTERNAL_ID_CHARS)?;
        let code = normalize_auth_code(link_code).ok_or(ClearingError::InvalidLinkCode)?;
        let partner = caller.partner.to_string();
        Ok(move |_: &Context, tx: &mut WriteTx<'_>| {
            let member = members::take_link_code(tx, &code, &partner)?
                .ok_or(ClearingError::InvalidLinkCode)?;
            tx.answer_names(&member);
            // A new link starts from the member's own default, whatever the brand's form said.
            let sharing = members::default_sharing(tx, &member)?;
            let linked = members::link_member(tx, &partner, &external_id, &member, sharing)?;
            let external_id = match linked {
                members::Linked::New => external_id,
                members::Linked::Already(held) => held,
                members::Linked::ExternalIdTaken => {
                    return Err(ClearingError::InvalidRequest(Invalid::ExternalIdTaken));
                }
            };
            let member = parse_member(&member)?;
            Ok(LinkedMember {
                member,
                external_id,
                card_number: super::cards::card_of(tx, member)?,
            })
        })
    }

    /// `GET /v1/me/links`: the brands the member is linked to.
    pub async fn links(&self, member: MemberId) -> Result<Vec<Link>, ClearingError> {
        let rows = self
            .store()
            .read(move |c| members::links_of(c, &member.to_string()))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Link {
                partner: r.partner,
                external_id: r.external_id,
                linked_at_us: r.linked_at_us,
                sharing: r.sharing,
            })
            .collect())
    }

    /// `DELETE /v1/me/links/{partner}`: the brand can no longer act for the member; the points
    /// stay where they are.
    pub fn leave_work(member: MemberId, partner: String) -> impl Work<()> {
        move |_: &Context, tx: &mut WriteTx<'_>| {
            if members::unlink(tx, &partner, &member.to_string())? {
                Ok(())
            } else {
                Err(ClearingError::NotFound(Missing::Link(
                    partner.chars().take(32).collect(),
                )))
            }
        }
    }

    /// `PUT /v1/me/consent`: the member's default and every link at once. A token never raises
    /// what its own brand may see (`403`, nothing changed).
    pub fn consent_work(
        member: MemberId,
        azp: PartnerId,
        balances: bool,
        profile: Option<bool>,
    ) -> impl Work<(MemberId, bool)> {
        move |_: &Context, tx: &mut WriteTx<'_>| {
            let own = members::link_to_tx(tx, azp.as_str(), &member.to_string())?
                .map(|l| l.sharing)
                .unwrap_or_default();
            refuse_raising(&azp, own, Some(balances), profile)?;
            if !members::set_consent(tx, &member.to_string(), balances, profile)? {
                return Err(ClearingError::NotFound(Missing::Member(member)));
            }
            Ok((member, balances))
        }
    }

    /// `PUT /v1/me/links/{partner}`: what that brand may see of the member's other brands.
    pub fn link_consent_work(
        member: MemberId,
        azp: PartnerId,
        partner: String,
        balances: Option<bool>,
        profile: Option<bool>,
    ) -> impl Work<Link> {
        move |_: &Context, tx: &mut WriteTx<'_>| {
            let not_linked =
                || ClearingError::NotFound(Missing::Link(partner.chars().take(32).collect()));
            let m = member.to_string();
            let row = members::link_to_tx(tx, &partner, &m)?.ok_or_else(not_linked)?;
            if partner == azp.as_str() {
                refuse_raising(&azp, row.sharing, balances, profile)?;
            }
            members::set_link_sharing(tx, &partner, &m, balances, profile)?;
            // What the link holds now: what was asked, the rest as it was.
            let sharing = Sharing {
                balances: balances.unwrap_or(row.sharing.balances),
                profile: profile.unwrap_or(row.sharing.profile),
            };
            Ok(Link {
                partner: row.partner,
                external_id: row.external_id,
                linked_at_us: row.linked_at_us,
                sharing,
            })
        }
    }
}

/// Refuses a change that would let `azp` see more than it does: a brand's own token may lower
/// its view, never raise it.
fn refuse_raising(
    azp: &PartnerId,
    now: Sharing,
    balances: Option<bool>,
    profile: Option<bool>,
) -> Result<(), ClearingError> {
    let raises =
        (balances == Some(true) && !now.balances) || (profile == Some(true) && !now.profile);
    if raises {
        Err(ClearingError::OwnViewRaised(azp.clone()))
    } else {
        Ok(())
    }
}
