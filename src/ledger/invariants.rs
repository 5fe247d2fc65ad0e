//! The invariants the ledger can prove at any time, checked over the stored rows as they are.

use std::collections::{BTreeMap, BTreeSet};

use super::account::{Account, AccountKind};
use super::chain::{ChainHash, RawEntry};
pub use super::findings::Check;
use super::findings::Findings;
use super::shapes::Shapes;
use super::unit::Units;

/// One stored account balance, signed, debit positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBalance {
    pub account: String,
    pub unit: String,
    pub balance_minor: i64,
}

/// Walks every entry in chain order, then every stored balance, and reports each invariant.
///
/// It holds one running sum per account, never the entries themselves, so it verifies a ledger
/// of any length in bounded memory per account.
pub struct Verifier<'a> {
    units: &'a Units,
    entries: u64,
    expected_seq: i64,
    prev_hash: String,
    chain: Findings,
    balanced: Findings,
    shapes: Shapes,
    posted: BTreeMap<String, (String, i128)>,
}

impl<'a> Verifier<'a> {
    pub fn new(units: &'a Units) -> Self {
        Self {
            units,
            entries: 0,
            expected_seq: 1,
            prev_hash: ChainHash::GENESIS.to_string(),
            chain: Findings::default(),
            balanced: Findings::default(),
            shapes: Shapes::default(),
            posted: BTreeMap::new(),
        }
    }

    /// Feeds the next entry; entries must come in ascending `seq`.
    pub fn entry(&mut self, e: &RawEntry) {
        self.entries += 1;
        if e.seq != self.expected_seq {
            let want = self.expected_seq;
            self.chain.add(|| {
                format!(
                    "entry {} sits at position {} where {} was due",
                    e.id, e.seq, want
                )
            });
        }
        self.expected_seq = e.seq.saturating_add(1);
        if e.prev_hash != self.prev_hash {
            self.chain.add(|| {
                format!(
                    "entry {} (#{}) does not link to the entry before it",
                    e.id, e.seq
                )
            });
        }
        let computed = e.compute_hash().to_string();
        if computed != e.hash {
            self.chain.add(|| {
                format!(
                    "entry {} (#{}) does not match its hash: changed after it was written",
                    e.id, e.seq
                )
            });
        }
        self.prev_hash = e.hash.clone();

        if e.postings.len() < 2 {
            self.balanced
                .add(|| format!("entry {} has {} posting(s)", e.id, e.postings.len()));
        }
        if let Some((unit, sum)) = e.imbalance() {
            self.balanced
                .add(|| format!("entry {} is off by {sum} minor units of {unit}", e.id));
        }
        self.shapes.entry(e);
        for p in &e.postings {
            let parsed = p.account.parse::<Account>();
            match parsed {
                Ok(a) if a.unit().as_str() == p.unit && self.units.get(a.unit()).is_some() => {}
                _ => self.balanced.add(|| {
                    format!(
                        "entry {} posts to {} in {}, which is not a valid account of a known unit",
                        e.id, p.account, p.unit
                    )
                }),
            }
            let slot = self
                .posted
                .entry(p.account.clone())
                .or_insert_with(|| (p.unit.clone(), 0));
            slot.1 += i128::from(p.amount_minor);
        }
    }

    /// Feeds every stored balance and reports all checks.
    pub fn finish(self, balances: &[RawBalance]) -> Vec<Check> {
        let Verifier {
            units,
            entries,
            chain,
            balanced,
            shapes,
            mut posted,
            ..
        } = self;
        let mut checks = Vec::new();
        checks.push(chain.into_check(
            "hash_chain",
            format!("{entries} entries, linked and unaltered"),
        ));
        checks.push(balanced.into_check(
            "entries_balance",
            format!("{entries} entries balance per unit"),
        ));
        checks.extend(shapes.into_checks());
        let mut sums = Sums::default();
        for b in balances {
            sums.add(b, &mut posted);
        }
        for (account, (_, sum)) in posted.iter().filter(|(_, (_, s))| *s != 0) {
            sums.matches
                .add(|| format!("{account} has postings summing to {sum} but no stored balance"));
        }
        let accounts = sums.seen.len();
        checks.push(std::mem::take(&mut sums.matches).into_check(
            "balances_match_postings",
            format!("{accounts} account balances equal the sum of their postings"),
        ));
        checks.push(sums.trial_check());
        checks.push(std::mem::take(&mut sums.negative).into_check(
            "no_negative_member_balance",
            "no member or hold balance below zero".into(),
        ));
        checks.push(sums.backed_check(units));
        checks.push(sums.coupons_check());
        checks
    }
}

/// What the stored balances add up to, walked once: per unit the trial balance, what members
/// and holds own, what issuers owe, what campaigns hold reserved and what sponsors committed.
#[derive(Default)]
struct Sums<'a> {
    matches: Findings,
    negative: Findings,
    seen: BTreeSet<&'a str>,
    trial: BTreeMap<&'a str, i128>,
    held: BTreeMap<&'a str, i128>,
    outstanding: BTreeMap<&'a str, i128>,
    reserved: BTreeMap<&'a str, i128>,
    committed: BTreeMap<&'a str, i128>,
}

impl<'a> Sums<'a> {
    /// One stored balance, checked against the sum of its postings (taken out of `posted`: what
    /// is left there has no stored balance).
    fn add(&mut self, b: &'a RawBalance, posted: &mut BTreeMap<String, (String, i128)>) {
        self.seen.insert(b.account.as_str());
        let from_postings = posted.remove(&b.account).map_or(0, |(_, s)| s);
        if from_postings != i128::from(b.balance_minor) {
            self.matches.add(|| {
                format!(
                    "{} holds {} but its postings sum to {}",
                    b.account, b.balance_minor, from_postings
                )
            });
        }
        let unit = b.unit.as_str();
        let balance = i128::from(b.balance_minor);
        *self.trial.entry(unit).or_insert(0) += balance;
        let kind = b.account.parse::<Account>().map(|a| a.kind()).ok();
        if kind.is_some_and(AccountKind::must_stay_credit) && b.balance_minor > 0 {
            self.negative
                .add(|| format!("{} is {} below zero", b.account, b.balance_minor));
        }
        match kind {
            Some(AccountKind::Member | AccountKind::Hold) => {
                *self.held.entry(unit).or_insert(0) -= balance;
            }
            Some(AccountKind::Issuer) => *self.outstanding.entry(unit).or_insert(0) += balance,
            Some(AccountKind::Campaign) => *self.reserved.entry(unit).or_insert(0) -= balance,
            Some(AccountKind::Commitment) => *self.committed.entry(unit).or_insert(0) += balance,
            _ => {}
        }
    }

    /// Every unit's balances net to zero.
    fn trial_check(&self) -> Check {
        let mut zero = Findings::default();
        for (unit, sum) in self.trial.iter().filter(|(_, s)| **s != 0) {
            zero.add(|| format!("{unit} is off by {sum} minor units"));
        }
        zero.into_check(
            "trial_balance_zero",
            format!("{} units net to zero", self.trial.len()),
        )
    }

    /// Per point unit, what members and holds own is what its issuers owe.
    fn backed_check(&self, units: &Units) -> Check {
        let mut backed = Findings::default();
        for unit in units.iter().filter(|u| u.is_points()) {
            let code = unit.code.as_str();
            let h = self.held.get(code).copied().unwrap_or(0);
            let o = self.outstanding.get(code).copied().unwrap_or(0);
            if h != o {
                backed.add(|| format!("{code}: members and holds own {h}, issuers owe {o}"));
            }
        }
        backed.into_check(
            "points_backed_by_issuer",
            "member and hold balances equal each issuer's outstanding points".into(),
        )
    }

    /// Per currency, what campaigns hold reserved is what sponsors committed, never below zero.
    fn coupons_check(&self) -> Check {
        let mut coupons = Findings::default();
        let currencies: BTreeSet<&str> = self
            .reserved
            .keys()
            .chain(self.committed.keys())
            .copied()
            .collect();
        for currency in currencies {
            let r = self.reserved.get(currency).copied().unwrap_or(0);
            let c = self.committed.get(currency).copied().unwrap_or(0);
            if r != c || r < 0 {
                coupons.add(|| {
                    format!("{currency}: campaigns hold {r} reserved, sponsors committed {c}")
                });
            }
        }
        coupons.into_check(
            "coupon_reservations_backed",
            "coupon reservations equal what sponsors committed".into(),
        )
    }
}

/// Every closed settlement's nets sum to zero: what some parties pay, the others receive.
pub fn settlements_check(net_sums: &[(String, i64)]) -> Check {
    let mut f = Findings::default();
    for (id, sum) in net_sums.iter().filter(|(_, s)| *s != 0) {
        f.add(|| format!("settlement {id} nets to {sum}, not zero"));
    }
    f.into_check(
        "settlements_net_to_zero",
        format!("{} settlements net to zero", net_sums.len()),
    )
}

#[cfg(test)]
mod tests;
