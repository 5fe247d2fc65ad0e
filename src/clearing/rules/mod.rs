//! The posting rules: which accounts an earn or a redemption moves, including the cross-brand
//! rule that makes brands owe each other. Pure functions; nothing here touches the database.

use rust_decimal::{Decimal, RoundingStrategy};

use super::ClearingError;
use crate::ledger::{
    Account, Amount, EntryDraft, EntryMeta, MemberId, PartnerId, Party, Posting, Unit, UnitCode,
    UnitKind,
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

/// The unit, its issuer, and the two points lines: `from` is debited, `to` credited.
struct PointsMove<'a> {
    unit: &'a Unit,
    issuer: Party,
    postings: Vec<Posting>,
}

fn points_move<'a>(
    network: &'a Network,
    code: &UnitCode,
    points: Amount,
    member: MemberId,
    to_member: bool,
) -> Result<PointsMove<'a>, ClearingError> {
    let unit = network
        .units
        .get(code)
        .ok_or_else(|| ClearingError::UnknownUnit(code.to_string()))?;
    let issuer = unit
        .issuer()
        .cloned()
        .ok_or_else(|| ClearingError::NotPoints(code.clone()))?;
    let issuer_account = Account::Issuer {
        issuer: issuer.clone(),
        unit: code.clone(),
    };
    let member_account = Account::Member {
        member,
        unit: code.clone(),
    };
    let (from, to) = if to_member {
        (issuer_account, member_account)
    } else {
        (member_account, issuer_account)
    };
    let postings = vec![Posting::debit(from, points), credit(to, points)?];
    Ok(PointsMove {
        unit,
        issuer,
        postings,
    })
}

/// The clearing value `party` and the issuer owe each other for `points`; `None` when `party`
/// is the issuer, or when the value rounds to zero.
fn cross_brand_value(
    party: &Party,
    moved: &PointsMove<'_>,
    points: Amount,
    network: &Network,
) -> Result<Option<Amount>, ClearingError> {
    if *party == moved.issuer {
        return Ok(None);
    }
    let value = clearing_value(points, moved.unit, network)?;
    Ok(value.is_positive().then_some(value))
}

/// Partner `partner` awards `points` of `unit` to `member`. The issuer's liability grows; when
/// the awarding partner is not the issuer it owes the issuer the points' clearing value.
pub fn earn(
    network: &Network,
    partner: &PartnerId,
    member: MemberId,
    unit: &UnitCode,
    points: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let none = Amount::from_minor(0, points.scale());
    earn_with_bonus(network, partner, member, unit, (points, none), meta)
}

/// An earn whose tier bonus the network funds: the member gets `points` and `network_bonus`;
/// the earning partner owes the issuer the clearing value of `points` (when it is not the
/// issuer), the network owes the issuer that of `network_bonus` (when the unit is not its own).
/// No network fee: fees are on redemptions only.
pub fn earn_with_bonus(
    network: &Network,
    partner: &PartnerId,
    member: MemberId,
    unit: &UnitCode,
    (points, network_bonus): (Amount, Amount),
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let total = points
        .checked_add(network_bonus)
        .ok_or(ClearingError::AmountTooLarge)?;
    let mut moved = points_move(network, unit, total, member, true)?;
    let owing = [
        (Party::Partner(partner.clone()), points),
        (Party::Network, network_bonus),
    ];
    // One credit to the issuer for both debtors: an entry moves each account once.
    let mut owed_minor = 0i64;
    let mut scale = None;
    for (party, share) in owing {
        if !share.is_positive() {
            continue;
        }
        if let Some(value) = cross_brand_value(&party, &moved, share, network)? {
            moved
                .postings
                .push(Posting::debit(settlement(party, network), value));
            owed_minor = owed_minor
                .checked_add(value.minor())
                .ok_or(ClearingError::AmountTooLarge)?;
            scale = Some(value.scale());
        }
    }
    if let Some(scale) = scale {
        let owed = Amount::from_minor(owed_minor, scale);
        moved
            .postings
            .push(credit(settlement(moved.issuer.clone(), network), owed)?);
    }
    Ok(EntryDraft::new(meta, moved.postings))
}

/// A paid tier sold by `partner` for `price`: the partner collected the cash and owes it to the
/// network's fee income (`settlement:{partner} dr`, `network:fees cr`), cleared at settlement.
/// `refund`: the reversing entry of a cancellation, the same lines the other way.
pub fn subscription(
    network: &Network,
    partner: &PartnerId,
    price: Amount,
    refund: bool,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let seller = settlement(Party::Partner(partner.clone()), network);
    let fees = Account::NetworkFees {
        currency: network.settlement_currency.clone(),
    };
    let (debited, credited) = if refund {
        (fees, seller)
    } else {
        (seller, fees)
    };
    Ok(EntryDraft::new(
        meta,
        vec![Posting::debit(debited, price), credit(credited, price)?],
    ))
}

/// An erased member's `points` of `unit` go back to the unit's issuer: `member:m:U n dr`,
/// `issuer:I:U n cr`. The liability is released and nobody owes anybody: no settlement lines.
pub fn forfeit(
    network: &Network,
    member: MemberId,
    unit: &UnitCode,
    points: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    Ok(EntryDraft::new(
        meta,
        points_move(network, unit, points, member, false)?.postings,
    ))
}

/// `member` spends `points` of `unit` at partner `partner`. The issuer's liability shrinks; when
/// the accepting partner is not the issuer, the issuer owes it the clearing value, less the
/// network's fee.
pub fn redeem(
    network: &Network,
    partner: &PartnerId,
    member: MemberId,
    unit: &UnitCode,
    points: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let mut moved = points_move(network, unit, points, member, false)?;
    let accepting = Party::Partner(partner.clone());
    if let Some(value) = cross_brand_value(&accepting, &moved, points, network)? {
        let fee = network_fee(value, network)?;
        let to_partner = Amount::from_minor(value.minor() - fee.minor(), value.scale());
        moved.postings.push(Posting::debit(
            settlement(moved.issuer.clone(), network),
            value,
        ));
        if to_partner.is_positive() {
            moved
                .postings
                .push(credit(settlement(accepting, network), to_partner)?);
        }
        if fee.is_positive() {
            let fees = Account::NetworkFees {
                currency: network.settlement_currency.clone(),
            };
            moved.postings.push(credit(fees, fee)?);
        }
    }
    Ok(EntryDraft::new(meta, moved.postings))
}

/// `member` authorises `points` at `partner` without spending them yet: the points move to the
/// partner's hold account until captured, voided or expired.
pub fn hold(
    partner: &PartnerId,
    member: MemberId,
    unit: &UnitCode,
    points: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let postings = vec![
        Posting::debit(
            Account::Member {
                member,
                unit: unit.clone(),
            },
            points,
        ),
        credit(
            Account::Hold {
                partner: partner.clone(),
                unit: unit.clone(),
            },
            points,
        )?,
    ];
    Ok(EntryDraft::new(meta, postings))
}

/// Captures `captured` of `held` points: the captured part is redeemed at `partner` (with the
/// cross-brand rule), the rest goes back to the member.
pub fn capture(
    network: &Network,
    partner: &PartnerId,
    member: MemberId,
    unit: &UnitCode,
    held: Amount,
    captured: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let redemption = redeem(network, partner, member, unit, captured, meta.clone())?;
    let released = Amount::from_minor(held.minor() - captured.minor(), held.scale());
    let mut postings = vec![Posting::debit(
        Account::Hold {
            partner: partner.clone(),
            unit: unit.clone(),
        },
        held,
    )];
    for p in redemption.postings {
        match p.account {
            // The redemption's member line is covered by the hold: only what is released shows.
            Account::Member { .. } => {
                if released.is_positive() {
                    postings.push(credit(p.account, released)?);
                }
            }
            _ => postings.push(p),
        }
    }
    Ok(EntryDraft::new(meta, postings))
}

/// Gives all `held` points back to the member (a void, or a hold that lapsed).
pub fn release(
    partner: &PartnerId,
    member: MemberId,
    unit: &UnitCode,
    held: Amount,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    let postings = vec![
        Posting::debit(
            Account::Hold {
                partner: partner.clone(),
                unit: unit.clone(),
            },
            held,
        ),
        credit(
            Account::Member {
                member,
                unit: unit.clone(),
            },
            held,
        )?,
    ];
    Ok(EntryDraft::new(meta, postings))
}

/// Reverses `points` of `original` (an earn, a redemption or a capture of `total` points),
/// `left` of which are not yet reversed; `reversed` holds, per account, what earlier reversals
/// of it posted. Points lines move back exactly; money lines move back in proportion, rounded
/// half to even, and the last reversal takes exactly what is left, so that the reversals of an
/// entry never move more than it did.
pub fn reversal(
    original: &crate::ledger::CommittedEntry,
    earned: bool,
    points: Amount,
    total: i64,
    left: i64,
    reversed: &std::collections::BTreeMap<String, i64>,
    meta: EntryMeta,
) -> Result<EntryDraft, ClearingError> {
    use crate::ledger::AccountKind;
    let mut postings = Vec::new();
    let mut money: Vec<Posting> = Vec::new();
    for p in &original.postings {
        match p.account.kind() {
            AccountKind::Member => {
                let line = Posting::debit(p.account.clone(), points);
                postings.push(if earned {
                    line
                } else {
                    credit(p.account.clone(), points)?
                });
            }
            AccountKind::Issuer => {
                let line = Posting::debit(p.account.clone(), points);
                postings.push(if earned {
                    credit(p.account.clone(), points)?
                } else {
                    line
                });
            }
            AccountKind::Hold => {}
            _ => {
                let already = reversed.get(&p.account.to_string()).copied().unwrap_or(0);
                // What is still to undo on this line, signed as the line to post.
                let remaining = -(p.amount.minor() + already);
                let minor = if points.minor() == left {
                    remaining
                } else {
                    let share = Decimal::from(p.amount.minor()) * Decimal::from(points.minor())
                        / Decimal::from(total);
                    let scaled =
                        -share.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
                    let scaled =
                        i64::try_from(scaled).map_err(|_| ClearingError::AmountTooLarge)?;
                    if scaled.abs() > remaining.abs() {
                        remaining
                    } else {
                        scaled
                    }
                };
                if minor != 0 {
                    money.push(Posting {
                        account: p.account.clone(),
                        amount: Amount::from_minor(minor, p.amount.scale()),
                    });
                }
            }
        }
    }
    absorb_rounding(&mut money);
    if !earned && let Some(line) = whole_capture_member_line(original, points)? {
        postings.insert(0, line);
    }
    postings.extend(money.into_iter().filter(|p| !p.amount.is_zero()));
    Ok(EntryDraft::new(meta, postings))
}

/// Rounding each line alone may leave a unit off by a step or two: the largest line absorbs it.
fn absorb_rounding(money: &mut [Posting]) {
    let mut units: Vec<UnitCode> = money.iter().map(|p| p.account.unit().clone()).collect();
    units.sort();
    units.dedup();
    for unit in units {
        let off: i64 = money
            .iter()
            .filter(|p| p.account.unit() == &unit)
            .map(|p| p.amount.minor())
            .sum();
        if off != 0
            && let Some(largest) = money
                .iter_mut()
                .filter(|p| p.account.unit() == &unit)
                .max_by_key(|p| p.amount.minor().abs())
        {
            largest.amount =
                Amount::from_minor(largest.amount.minor() - off, largest.amount.scale());
        }
    }
}

/// A hold captured whole has no member line (the hold covered it): reversing it gives the points
/// back to the member whose hold it was. `None` for any other entry.
fn whole_capture_member_line(
    original: &crate::ledger::CommittedEntry,
    points: Amount,
) -> Result<Option<Posting>, ClearingError> {
    use crate::ledger::AccountKind;
    if original
        .postings
        .iter()
        .any(|p| p.account.kind() == AccountKind::Member)
    {
        return Ok(None);
    }
    let hold = original
        .postings
        .iter()
        .find(|p| p.account.kind() == AccountKind::Hold);
    let (Some(member), Some(hold)) = (original.meta.member, hold) else {
        return Ok(None);
    };
    let account = Account::Member {
        member,
        unit: hold.account.unit().clone(),
    };
    Ok(Some(credit(account, points)?))
}

#[cfg(test)]
mod tests;
