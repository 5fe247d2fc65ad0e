//! The posting rules: which accounts an earn or a redemption moves, including the cross-brand
//! rule that makes brands owe each other. Pure functions; nothing here touches the database.

use rust_decimal::{Decimal, RoundingStrategy};

use super::ClearingError;
use crate::ledger::{
    Account, Amount, EntryDraft, EntryMeta, MemberId, PartnerId, Party, Posting, Unit, UnitKind,
};
use crate::partners::Network;

/// Basis points in one whole.
const BPS_PER_WHOLE: u32 = 10_000;

/// Rounds a money value to the currency's scale, half to even (banker's rounding), the one
/// rounding rule of the ledger (`docs/accounting.md`).
pub fn round_money(value: Decimal, network: &Network) -> Result<Amount, ClearingError> {
    let places = network.currency_scale.places();
    let rounded = value.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven);
    Amount::from_decimal(rounded, network.currency_scale).map_err(|_| ClearingError::AmountTooLarge)
}

/// What `points` of `unit` are worth in the settlement currency when they cross brands.
pub fn clearing_value(
    points: Amount,
    unit: &Unit,
    network: &Network,
) -> Result<Amount, ClearingError> {
    let UnitKind::Points { value, .. } = &unit.kind else {
        return Err(ClearingError::NotPoints(unit.code.clone()));
    };
    let raw = points
        .to_decimal()
        .checked_mul(*value)
        .ok_or(ClearingError::AmountTooLarge)?;
    round_money(raw, network)
}

/// The network's fee on a cross-brand value, rounded like every money amount.
pub fn network_fee(value: Amount, network: &Network) -> Result<Amount, ClearingError> {
    let raw = value
        .to_decimal()
        .checked_mul(Decimal::from(network.fee_bps))
        .and_then(|v| v.checked_div(Decimal::from(BPS_PER_WHOLE)))
        .ok_or(ClearingError::AmountTooLarge)?;
    round_money(raw, network)
}

fn settlement(party: Party, network: &Network) -> Account {
    Account::Settlement {
        party,
        currency: network.settlement_currency.clone(),
    }
}

fn credit(account: Account, amount: Amount) -> Result<Posting, ClearingError> {
    Posting::credit(account, amount).ok_or(ClearingError::AmountTooLarge)
}

fn unit_of<'a>(
    network: &'a Network,
    code: &crate::ledger::UnitCode,
) -> Result<(&'a Unit, Party), ClearingError> {
    let unit = network
        .units
        .get(code)
        .ok_or_else(|| ClearingError::UnknownUnit(code.to_string()))?;
    let issuer = unit
        .issuer()
        .cloned()
        .ok_or_else(|| ClearingError::NotPoints(code.clone()))?;
    Ok((unit, issuer))
}

/// Partner `partner` awards `points` of `unit` to `member`. The issuer's liability grows; when
/// the awarding partner is not the issuer it owes the issuer the points' clearing value.
pub fn earn(
    network: &Network,
    partner: &PartnerId,
    member: MemberId,
    unit: &crate::ledger::UnitCode,
    points: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let (unit_def, issuer) = unit_of(network, unit)?;
    let mut postings = vec![
        Posting::debit(
            Account::Issuer {
                issuer: issuer.clone(),
                unit: unit.clone(),
            },
            points,
        ),
        credit(
            Account::Member {
                member,
                unit: unit.clone(),
            },
            points,
        )?,
    ];
    let awarding = Party::Partner(partner.clone());
    if awarding != issuer {
        let value = clearing_value(points, unit_def, network)?;
        if value.is_positive() {
            postings.push(Posting::debit(settlement(awarding, network), value));
            postings.push(credit(settlement(issuer, network), value)?);
        }
    }
    Ok(EntryDraft::new(meta, postings))
}

/// `member` spends `points` of `unit` at partner `partner`. The issuer's liability shrinks; when
/// the accepting partner is not the issuer, the issuer owes it the clearing value, less the
/// network's fee.
pub fn redeem(
    network: &Network,
    partner: &PartnerId,
    member: MemberId,
    unit: &crate::ledger::UnitCode,
    points: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let (unit_def, issuer) = unit_of(network, unit)?;
    let mut postings = vec![
        Posting::debit(
            Account::Member {
                member,
                unit: unit.clone(),
            },
            points,
        ),
        credit(
            Account::Issuer {
                issuer: issuer.clone(),
                unit: unit.clone(),
            },
            points,
        )?,
    ];
    let accepting = Party::Partner(partner.clone());
    if accepting != issuer {
        let value = clearing_value(points, unit_def, network)?;
        if value.is_positive() {
            let fee = network_fee(value, network)?;
            let to_partner = Amount::from_minor(value.minor() - fee.minor(), value.scale());
            postings.push(Posting::debit(settlement(issuer, network), value));
            if to_partner.is_positive() {
                postings.push(credit(settlement(accepting, network), to_partner)?);
            }
            if fee.is_positive() {
                postings.push(credit(
                    Account::NetworkFees {
                        currency: network.settlement_currency.clone(),
                    },
                    fee,
                )?);
            }
        }
    }
    Ok(EntryDraft::new(meta, postings))
}
