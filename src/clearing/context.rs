//! What the use cases read but never change, shared with write jobs on the writer's thread, and
//! the small steps many use cases take with it.

use super::input::parse_member;
use super::{ClearingError, tokens};
use crate::crypto::SigningKey;
use crate::ledger::clock::Clock;
use crate::ledger::{Amount, CommittedEntry, MemberId, Scale, UnitCode, Units};
use crate::partners::Network;
use crate::store::operations::{self, Operation};
use crate::store::status::{OperationKind, OperationStatus};
use crate::store::{WriteTx, members};

/// What the use cases read but never change: shared with write jobs on the sequencer thread.
pub struct Context {
    pub network: Network,
    /// Every unit the ledger knows: the configured ones and any still stored from before.
    pub units: Units,
    pub key: SigningKey,
    /// The key's JWK thumbprint, named as `kid` in everything the network signs.
    pub kid: String,
    /// The same key, ready for minting and checking JWTs.
    pub tokens: tokens::TokenKeys,
    pub hold_ttl_secs: u64,
    /// The service's clock (the system's, or one a test moves).
    pub clock: Clock,
}

impl Context {
    pub(crate) fn scale(&self, unit: &UnitCode) -> Result<Scale, ClearingError> {
        self.units
            .scale_of(unit)
            .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))
    }

    /// What `points` of `unit` are worth now in the settlement currency, as an entry's memo
    /// records it for the profile (`profile::VALUE_KEY`).
    pub(crate) fn value_memo(
        &self,
        unit: &UnitCode,
        points: Amount,
    ) -> Result<serde_json::Value, ClearingError> {
        let u = self
            .units
            .get(unit)
            .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))?;
        let value = super::rules::clearing_value(points, u, &self.network)?;
        Ok(super::profile::money(
            value,
            &self.network.settlement_currency,
        ))
    }

    /// Parses a positive points amount at the unit's scale.
    pub(crate) fn points(&self, unit: &UnitCode, text: &str) -> Result<Amount, ClearingError> {
        Amount::parse_positive(text, self.scale(unit)?)
            .map_err(|e| ClearingError::InvalidAmount(e.into()))
    }
    /// The network's partner named `text`, or `422 invalid_request` naming what was sent.
    pub(crate) fn partner_named(
        &self,
        text: &str,
    ) -> Result<crate::ledger::PartnerId, ClearingError> {
        text.parse()
            .ok()
            .filter(|p| self.network.partner(p).is_some())
            .ok_or_else(|| {
                ClearingError::InvalidRequest(super::Invalid::UnknownPartner(
                    text.chars().take(32).collect(),
                ))
            })
    }

    /// Refuses a member the network does not know (`404`, worded as for one not linked to the
    /// caller). For calls where the member acts: their own token, their authorisation code,
    /// their coupon at the till; a partner acting for a member needs `require_linked`.
    pub(crate) fn require_member(
        &self,
        tx: &mut WriteTx<'_>,
        member: MemberId,
    ) -> Result<(), ClearingError> {
        if members::exists_tx(tx, &member.to_string())? {
            Ok(())
        } else {
            Err(ClearingError::NotFound(super::Missing::Member(member)))
        }
    }

    /// Records the mutable state of an earn, redemption, hold or capture of `points` of `unit`.
    pub(crate) fn operation(
        &self,
        tx: &mut WriteTx<'_>,
        entry: &CommittedEntry,
        kind: OperationKind,
        (unit, points): (&UnitCode, Amount),
        status: OperationStatus,
        expires_at_us: Option<i64>,
    ) -> Result<(), ClearingError> {
        let member = entry.meta.member.map(|m| m.to_string()).unwrap_or_default();
        let partner = entry
            .meta
            .partner
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        operations::insert(
            tx,
            Operation {
                entry_id: entry.id.to_string(),
                kind,
                partner,
                member_id: member,
                unit: unit.to_string(),
                points_minor: points.minor(),
                reversed_minor: 0,
                status,
                expires_at_us,
                closed_by: None,
                created_at_us: entry.created_at_us,
            },
        )?;
        Ok(())
    }
}

/// The unit, points and member of an operation, as stored.
pub(crate) fn op_amount(
    ctx: &Context,
    op: &Operation,
) -> Result<(UnitCode, Amount, MemberId), ClearingError> {
    let unit: UnitCode = op
        .unit
        .parse()
        .map_err(|_| ClearingError::UnknownUnit(op.unit.clone()))?;
    let amount = Amount::from_minor(op.points_minor, ctx.scale(&unit)?);
    Ok((unit, amount, parse_member(&op.member_id)?))
}
