//! Settlement cycles: at a cut-off, every party's open position is netted multilaterally into
//! one amount it pays to or receives from the network, with the gross bilateral obligations
//! behind it; payments against the network's bank account close the positions.
//!
//! A cycle covers the chain range after the previous cycle up to the last entry created at or
//! before its cut-off (times never run backwards along the chain, so that is a prefix). Closing
//! it posts, per party, an entry moving the range's activity from `settlement:{party}` (and the
//! network's fees) to `due:{party}`; payments then move `due:{party}` against `network:bank`.

use std::collections::BTreeMap;

use super::context::Context;
use super::receipt::Posted;
use super::write::Work;
use super::{Clearing, ClearingError, Invalid, Missing, time};
use crate::ledger::{Account, Amount, EntryDraft, EntryKind, EntryMeta, NETWORK, Party, Posting};
use crate::store::WriteTx;
/// A closed cycle as the ledger keeps it: its row, every party's net position and the
/// obligations netting leaves.
pub use crate::store::settlements::Settlement;
use crate::store::settlements::{
    self as store, MoneyLine, ObligationRow, PositionRow, SettlementRow,
};
use crate::store::status::SettlementStatus;

/// How many chain positions a settlement reads at once.
pub const SETTLEMENT_WINDOW_ENTRIES: i64 = 50_000;

/// Whose position a money account is: the party of `settlement:{party}:{CUR}`, or the network
/// for its fees.
pub fn party_of(account: &str) -> Option<String> {
    let mut parts = account.splitn(3, ':');
    match (parts.next(), parts.next()) {
        (Some("settlement"), Some(p)) => Some(p.to_owned()),
        (Some("network"), Some("fees")) => Some(NETWORK.to_owned()),
        _ => None,
    }
}

/// Each party's activity (signed, debit positive: above zero the party owes) and the gross
/// bilateral obligations `(debtor, creditor) → amount` behind it. Within each entry, what the
/// debtors owe is matched to the creditors in posting order.
pub fn net(lines: &[MoneyLine]) -> (BTreeMap<String, i64>, BTreeMap<(String, String), i64>) {
    let mut activity: BTreeMap<String, i64> = BTreeMap::new();
    let mut owed: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let seq = lines[i].seq;
        let mut debtors: Vec<(String, i64)> = Vec::new();
        let mut creditors: Vec<(String, i64)> = Vec::new();
        while i < lines.len() && lines[i].seq == seq {
            if let Some(party) = party_of(&lines[i].account) {
                let amount = lines[i].amount_minor;
                *activity.entry(party.clone()).or_insert(0) += amount;
                if amount > 0 {
                    debtors.push((party, amount));
                } else if amount < 0 {
                    creditors.push((party, -amount));
                }
            }
            i += 1;
        }
        let mut c = 0;
        for (debtor, mut due) in debtors {
            while due > 0 && c < creditors.len() {
                let take = due.min(creditors[c].1);
                if debtor != creditors[c].0 {
                    *owed
                        .entry((debtor.clone(), creditors[c].0.clone()))
                        .or_insert(0) += take;
                }
                due -= take;
                creditors[c].1 -= take;
                if creditors[c].1 == 0 {
                    c += 1;
                }
            }
        }
    }
    activity.retain(|_, v| *v != 0);
    (activity, owed)
}

/// A cycle's sums, built a window of the chain at a time.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Per party, as [`net`] gives it.
    pub activity: BTreeMap<String, i64>,
    /// Gross bilateral obligations, as [`net`] gives them.
    pub owed: BTreeMap<(String, String), i64>,
    /// Per money account, the sum of its lines: what the settlement entries move to `due`.
    pub by_account: BTreeMap<String, i64>,
}

impl Totals {
    /// Adds the lines of whole entries (a window never splits an entry's lines).
    pub fn add(&mut self, lines: Vec<MoneyLine>) {
        let (activity, owed) = net(&lines);
        for (party, sum) in activity {
            *self.activity.entry(party).or_insert(0) += sum;
        }
        for (pair, sum) in owed {
            *self.owed.entry(pair).or_insert(0) += sum;
        }
        for l in lines {
            *self.by_account.entry(l.account).or_insert(0) += l.amount_minor;
        }
    }
}

fn parse_party(p: &str) -> Result<Party, ClearingError> {
    p.parse()
        .map_err(|_| ClearingError::UnknownPartner(p.to_owned()))
}

/// A settlement and whether this call created it.
#[derive(Debug, Clone)]
pub struct Settled {
    pub settlement: Settlement,
    pub created: bool,
}

/// Every money line of the chain between `first_seq` and `last_seq`, netted. Read a window of
/// the chain at a time: memory stays flat however long the cycle. Windows split between
/// entries, and netting matches lines within an entry only.
fn cycle_totals(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    first_seq: i64,
    last_seq: i64,
) -> Result<Totals, ClearingError> {
    let currency = ctx.network.settlement_currency.as_str();
    let mut totals = Totals::default();
    let mut window_start = first_seq;
    while window_start < last_seq {
        let window_end = window_start
            .saturating_add(SETTLEMENT_WINDOW_ENTRIES)
            .min(last_seq);
        totals.add(tx.money_lines(window_start, window_end, currency)?);
        window_start = window_end;
    }
    Ok(totals)
}

/// The settlement entry of one party: its money accounts' sums moved to its `due` account.
fn post_to_due(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    id: &str,
    (party, total): (&str, i64),
    by_account: &BTreeMap<String, i64>,
) -> Result<(), ClearingError> {
    let scale = ctx.network.currency_scale;
    let mut postings = Vec::new();
    for (account, sum) in by_account
        .iter()
        .filter(|(a, s)| **s != 0 && party_of(a).as_deref() == Some(party))
    {
        let account: Account = account
            .parse()
            .map_err(|_| ClearingError::UnknownPartner(account.clone()))?;
        postings.push(Posting {
            account,
            amount: Amount::from_minor(-sum, scale),
        });
    }
    postings.push(Posting {
        account: Account::Due {
            party: parse_party(party)?,
            currency: ctx.network.settlement_currency.clone(),
        },
        amount: Amount::from_minor(total, scale),
    });
    let mut meta = EntryMeta::new(EntryKind::Settlement);
    meta.partner = party.parse().ok();
    meta.memo = Some(serde_json::json!({ "settlement": id, "party": party }).to_string());
    tx.post(EntryDraft::new(meta, postings).balance(&ctx.units)?)?;
    Ok(())
}

/// The cycle as it is kept: its range, every party's net position and the bilateral
/// obligations. Open while a partner has a position to pay or be paid.
fn cycle_record(
    ctx: &Context,
    id: String,
    (cutoff_us, first_seq, last_seq): (i64, i64, i64),
    activity: &BTreeMap<String, i64>,
    owed: BTreeMap<(String, String), i64>,
) -> Settlement {
    let positions: Vec<PositionRow> = activity
        .iter()
        .map(|(party, s)| PositionRow {
            settlement_id: id.clone(),
            party: party.clone(),
            net_minor: -s,
            paid_minor: 0,
        })
        .collect();
    let sum: i64 = positions.iter().map(|p| p.net_minor).sum();
    assert_eq!(sum, 0, "a settlement must net to zero");
    let open = positions.iter().any(|p| p.party != NETWORK);
    let obligations = owed
        .into_iter()
        .map(|((debtor, creditor), amount_minor)| ObligationRow {
            settlement_id: id.clone(),
            debtor,
            creditor,
            amount_minor,
        })
        .collect();
    Settlement {
        row: SettlementRow {
            id,
            cutoff_us,
            first_seq,
            last_seq,
            currency: ctx.network.settlement_currency.to_string(),
            status: if open {
                SettlementStatus::Open
            } else {
                SettlementStatus::Settled
            },
            created_at_us: ctx.clock.now_us(),
        },
        positions,
        obligations,
    }
}

/// A payment of `amount` between the network's bank account and `partner`'s due account: the
/// partner pays the network (`pays`: money in, its debt down), or the other way round.
fn payment_postings(
    ctx: &Context,
    partner: &str,
    pays: bool,
    amount: Amount,
) -> Result<Vec<Posting>, ClearingError> {
    let currency = ctx.network.settlement_currency.clone();
    let due = Account::Due {
        party: parse_party(partner)?,
        currency: currency.clone(),
    };
    let bank = Account::NetworkBank { currency };
    let minus = Amount::from_minor(-amount.minor(), ctx.network.currency_scale);
    let (debit, credit) = if pays { (bank, due) } else { (due, bank) };
    Ok(vec![
        Posting {
            account: debit,
            amount,
        },
        Posting {
            account: credit,
            amount: minus,
        },
    ])
}

/// Whether every partner's position is paid once `amount` more is paid on `partner`'s.
fn all_paid_after(s: &Settlement, partner: &str, amount: Amount) -> bool {
    s.positions.iter().filter(|p| p.party != NETWORK).all(|p| {
        let paid = if p.party == partner {
            p.paid_minor + amount.minor()
        } else {
            p.paid_minor
        };
        paid == p.net_minor.abs()
    })
}

impl Clearing {
    /// `POST /v1/settlements`: closes every entry up to `cutoff` not yet settled. The same
    /// cut-off again returns the same settlement; one in the future or before the last is refused.
    pub fn settle_work(cutoff: &str) -> Result<impl Work<Settled>, ClearingError> {
        let cutoff_us =
            time::parse_rfc3339(cutoff).ok_or(ClearingError::InvalidRequest(Invalid::Time {
                field: "cutoff",
            }))?;
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            if cutoff_us > tx.now_us() {
                return Err(ClearingError::InvalidRequest(Invalid::FutureCutoff));
            }
            if let Some(existing) = store::by_cutoff_tx(tx, cutoff_us)? {
                return Ok(Settled {
                    settlement: existing,
                    created: false,
                });
            }
            let previous = store::latest_tx(tx)?;
            if let Some(p) = &previous
                && cutoff_us < p.cutoff_us
            {
                return Err(ClearingError::InvalidRequest(Invalid::CutoffBeforeLast(
                    time::rfc3339(p.cutoff_us),
                )));
            }
            let first_seq = previous.map_or(0, |p| p.last_seq);
            let last_seq = store::last_seq_at(tx, cutoff_us)?.max(first_seq);
            let Totals {
                mut activity,
                owed,
                by_account,
            } = cycle_totals(ctx, tx, first_seq, last_seq)?;
            activity.retain(|_, v| *v != 0);
            let id = uuid::Uuid::now_v7().to_string();
            for (party, total) in &activity {
                post_to_due(ctx, tx, &id, (party, *total), &by_account)?;
            }
            let settlement =
                cycle_record(ctx, id, (cutoff_us, first_seq, last_seq), &activity, owed);
            store::insert(tx, &settlement)?;
            Ok(Settled {
                settlement,
                created: true,
            })
        })
    }

    /// The open cycle's running positions: per party, what it nets so far from every entry no
    /// cycle has closed (a closed cycle moves its parties' money accounts to `due`, so what
    /// is left on them is the open cycle). Above zero the network pays the party. Read by
    /// account name, one key look-up per party.
    pub async fn running_positions(&self) -> Result<Vec<(String, i64)>, ClearingError> {
        let currency = self.network().settlement_currency.to_string();
        let mut parties: Vec<String> = self
            .network()
            .partners
            .keys()
            .map(ToString::to_string)
            .collect();
        parties.push(NETWORK.to_owned());
        let rows = self
            .store()
            .read(move |c| {
                let mut out = Vec::with_capacity(parties.len());
                for party in parties {
                    let mut balance = crate::store::ledger::balance_of(
                        c,
                        &format!("settlement:{party}:{currency}"),
                    )?;
                    if party == NETWORK {
                        balance += crate::store::ledger::balance_of(
                            c,
                            &format!("network:fees:{currency}"),
                        )?;
                    }
                    out.push((party, -balance));
                }
                Ok(out)
            })
            .await?;
        Ok(rows)
    }

    /// `POST /v1/settlements/{id}/payments`: money moved for one partner's position; never more
    /// than the position.
    pub fn pay_work(
        id: String,
        partner: String,
        amount: String,
        bank_reference: String,
    ) -> impl Work<Posted> {
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let not_found = || ClearingError::NotFound(Missing::Settlement(id.clone()));
            let s = store::by_id_tx(tx, &id)?.ok_or_else(not_found)?;
            if partner == NETWORK {
                return Err(ClearingError::InvalidRequest(Invalid::NetworkPayment));
            }
            let position = s
                .positions
                .iter()
                .find(|p| p.party == partner)
                .ok_or_else(|| {
                    ClearingError::InvalidRequest(Invalid::NoPosition(partner.clone()))
                })?;
            if bank_reference.is_empty()
                || bank_reference.chars().count() > crate::ledger::entry::MAX_REFERENCE_CHARS
                || bank_reference.chars().any(char::is_control)
            {
                return Err(ClearingError::InvalidRequest(Invalid::Text {
                    field: "bank_reference",
                    max_chars: crate::ledger::entry::MAX_REFERENCE_CHARS,
                }));
            }
            let scale = ctx.network.currency_scale;
            let amount = Amount::parse_positive(&amount, scale)
                .map_err(|e| ClearingError::InvalidAmount(e.into()))?;
            let left = position.net_minor.abs() - position.paid_minor;
            if amount.minor() > left {
                return Err(ClearingError::Overpayment {
                    left: Amount::from_minor(left, scale),
                    partner: partner.clone(),
                });
            }
            let postings = payment_postings(ctx, &partner, position.net_minor < 0, amount)?;
            let mut meta = EntryMeta::new(EntryKind::Payment);
            meta.partner = partner.parse().ok();
            meta.reference = Some(bank_reference);
            meta.memo = Some(serde_json::json!({ "settlement": id }).to_string());
            let entry = tx.post(EntryDraft::new(meta, postings).balance(&ctx.units)?)?;
            let status = if all_paid_after(&s, &partner, amount) {
                SettlementStatus::Settled
            } else {
                SettlementStatus::PartiallyPaid
            };
            store::record_payment(tx, &id, &partner, amount.minor(), status)?;
            Ok(Posted {
                entry,
                status: status.into(),
                coupons_issued: None,
            })
        }
    }

    pub async fn settlement(&self, id: &str) -> Result<Settlement, ClearingError> {
        let key = id.to_owned();
        self.store()
            .read(move |c| store::by_id(c, &key))
            .await?
            .ok_or_else(|| {
                ClearingError::NotFound(Missing::Settlement(id.chars().take(40).collect()))
            })
    }

    pub async fn settlements(
        &self,
        after_cutoff_us: i64,
        limit: i64,
    ) -> Result<Vec<Settlement>, ClearingError> {
        Ok(self
            .store()
            .read(move |c| store::list(c, after_cutoff_us, limit))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: i64, account: &str, amount: i64) -> MoneyLine {
        MoneyLine {
            seq,
            entry_id: format!("e{seq}"),
            created_at_us: 0,
            kind: "redemption".into(),
            reference: None,
            member: None,
            account: account.into(),
            amount_minor: amount,
        }
    }

    #[test]
    fn netting_and_obligations() {
        let lines = [
            // Aroma owes Books 2.00.
            line(1, "settlement:aroma:ILS", 200),
            line(1, "settlement:books:ILS", -200),
            // Books owes the network 1.00 and the fee 0.05 of a redemption at Threads.
            line(2, "settlement:books:ILS", 105),
            line(2, "settlement:threads:ILS", -100),
            line(2, "network:fees:ILS", -5),
            // Threads owes Aroma 0.50.
            line(3, "settlement:threads:ILS", 50),
            line(3, "settlement:aroma:ILS", -50),
        ];
        let (activity, owed) = net(&lines);
        assert_eq!(activity.get("aroma"), Some(&150));
        assert_eq!(activity.get("books"), Some(&-95));
        assert_eq!(activity.get("threads"), Some(&-50));
        assert_eq!(activity.get("network"), Some(&-5));
        assert_eq!(activity.values().sum::<i64>(), 0);
        assert_eq!(owed.get(&("aroma".into(), "books".into())), Some(&200));
        assert_eq!(owed.get(&("books".into(), "threads".into())), Some(&100));
        assert_eq!(owed.get(&("books".into(), "network".into())), Some(&5));
        assert_eq!(owed.get(&("threads".into(), "aroma".into())), Some(&50));
    }

    #[test]
    fn totals_over_windows_equal_totals_over_the_whole_cycle() {
        let lines: Vec<MoneyLine> = (1..=30)
            .flat_map(|seq| {
                let (from, to) = [
                    ("aroma", "books"),
                    ("books", "threads"),
                    ("threads", "aroma"),
                ][(seq % 3) as usize];
                [
                    line(seq, &format!("settlement:{from}:ILS"), 100 + seq),
                    line(seq, &format!("settlement:{to}:ILS"), -(100 + seq) + 3),
                    line(seq, "network:fees:ILS", -3),
                ]
            })
            .collect();
        let mut whole = Totals::default();
        whole.add(lines.clone());
        for window in [1, 4, 7, 30] {
            let mut parts = Totals::default();
            for chunk in lines.chunk_by(|a, b| (a.seq - 1) / window == (b.seq - 1) / window) {
                parts.add(chunk.to_vec());
            }
            assert_eq!(parts, whole, "windows of {window} entries");
        }
        assert!(whole.owed.len() >= 3 && whole.activity.len() == 4);
    }
}
