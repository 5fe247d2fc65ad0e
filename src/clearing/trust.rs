//! The trust rules of the contract (API.md, Part 2), where each use case asks them: a partner acts
//! for a member only through a link, and a member token moves value out of a unit only for the
//! unit's issuer — so that no partner can move another issuer's value or learn which members
//! exist.

use super::context::Context;
use super::{ClearingError, Missing};
use crate::ledger::{MemberId, PartnerId, Party, UnitCode};
use crate::store::{WriteTx, members};

impl Context {
    /// Refuses a member `partner` is not linked to exactly as one that does not exist, so that
    /// no partner learns which member ids exist.
    pub(crate) fn require_linked(
        &self,
        tx: &mut WriteTx<'_>,
        partner: &PartnerId,
        member: MemberId,
    ) -> Result<(), ClearingError> {
        if members::linked_tx(tx, partner.as_str(), &member.to_string())? {
            Ok(())
        } else {
            Err(ClearingError::NotFound(Missing::Member(member)))
        }
    }
}

/// Refuses a member token minted by `azp` moving value out of `unit`, which `issuer` issues,
/// towards `receiver`: only the issuer's own tokens may; for a unit of the network's, any
/// partner's but the receiver's. Otherwise a brand could mint a token for its member, authorise
/// itself to spend another brand's points, and have that brand pay.
pub(crate) fn token_may_move(
    azp: &PartnerId,
    unit: &UnitCode,
    issuer: &Party,
    receiver: Option<&PartnerId>,
) -> Result<(), ClearingError> {
    let allowed = match issuer {
        Party::Partner(p) => p == azp,
        Party::Network => receiver.is_none_or(|r| r != azp),
    };
    if allowed {
        Ok(())
    } else {
        Err(ClearingError::TokenBound {
            azp: azp.clone(),
            unit: unit.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issuer_moves_its_units_and_nobody_pays_itself_with_the_networks() {
        let p = |s: &str| -> PartnerId { s.parse().unwrap() };
        let (aroma, books) = (p("aroma"), p("books"));
        let (unit, coal): (UnitCode, UnitCode) =
            ("AROMA".parse().unwrap(), "COAL".parse().unwrap());
        let by_aroma = Party::Partner(aroma.clone());
        assert!(token_may_move(&aroma, &unit, &by_aroma, Some(&books)).is_ok());
        assert!(token_may_move(&books, &unit, &by_aroma, Some(&books)).is_err());
        assert!(token_may_move(&books, &unit, &by_aroma, None).is_err());
        assert!(token_may_move(&aroma, &coal, &Party::Network, Some(&books)).is_ok());
        assert!(token_may_move(&books, &coal, &Party::Network, Some(&books)).is_err());
        assert!(token_may_move(&books, &coal, &Party::Network, None).is_ok());
    }
}
