//! What a posting on an issuer's account counts as in the liability report (earned, redeemed,
//! expired), per UTC day; and the `verify` checks that the kept days and lots agree with the
//! journal and the balances.

use std::collections::{BTreeMap, HashSet};

use super::chain::RawEntry;
use super::findings::Findings;
use super::invariants::{Check, RawBalance};
use super::kind::EntryKind;

/// Microseconds in a UTC day: the liability report's buckets.
pub const DAY_US: i64 = 86_400_000_000;

/// One day's flows on one issuer account, in minor units of its unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flow {
    /// Points issued by earning (and by converting into the unit).
    pub earned_minor: i64,
    /// Points spent: redemptions, captures, reward claims, donations, conversions out.
    pub redeemed_minor: i64,
    /// Points expired, less expiries undone.
    pub expired_minor: i64,
    /// The account's change: earned − redeemed − expired ± everything else (reversals,
    /// forfeitures, adjustments), so that the days add up to the balance.
    pub net_minor: i64,
}

impl Flow {
    pub fn add(&mut self, other: Flow) {
        self.earned_minor += other.earned_minor;
        self.redeemed_minor += other.redeemed_minor;
        self.expired_minor += other.expired_minor;
        self.net_minor += other.net_minor;
    }
}

/// What a posting of `amount_minor` (signed, debit positive) on an issuer's account by an entry
/// of `kind` counts as. `undoes_expiry`: the entry reverses a `points_expiry`.
pub fn issuer_flow(kind: EntryKind, amount_minor: i64, undoes_expiry: bool) -> Flow {
    use EntryKind as K;
    let earned = amount_minor > 0 && matches!(kind, K::Earn | K::Conversion);
    let redeemed = amount_minor < 0
        && matches!(
            kind,
            K::Redemption | K::Capture | K::RewardClaim | K::Donation | K::Conversion
        );
    let expired = (kind == K::PointsExpiry && amount_minor < 0)
        || (kind == K::Reversal && undoes_expiry && amount_minor > 0);
    Flow {
        earned_minor: if earned { amount_minor } else { 0 },
        redeemed_minor: if redeemed { -amount_minor } else { 0 },
        expired_minor: if expired { -amount_minor } else { 0 },
        net_minor: amount_minor,
    }
}

/// The UTC day of a time in microseconds since the epoch.
pub fn day_of(at_us: i64) -> i32 {
    i32::try_from(at_us.div_euclid(DAY_US)).unwrap_or(i32::MAX)
}

/// Per issuer account and day, the flows of a walk over the journal (what `verify` compares
/// with the kept days).
#[derive(Debug, Default)]
pub struct FlowTally {
    days: BTreeMap<(String, i32), Flow>,
    expiries: HashSet<String>,
}

impl FlowTally {
    /// Adds one entry, in chain order.
    pub fn entry(&mut self, e: &RawEntry) {
        let Ok(kind) = e.kind.parse::<EntryKind>() else {
            return;
        };
        if kind == EntryKind::PointsExpiry {
            self.expiries.insert(e.id.clone());
        }
        let undoes_expiry = e
            .reverses
            .as_ref()
            .is_some_and(|r| self.expiries.contains(r));
        for p in e
            .postings
            .iter()
            .filter(|p| p.account.starts_with("issuer:"))
        {
            let flow = issuer_flow(kind, p.amount_minor, undoes_expiry);
            self.days
                .entry((p.account.clone(), day_of(e.created_at_us)))
                .or_default()
                .add(flow);
        }
    }

    /// Compares the walk's days with the kept ones (`(account, day)` → flow), and each issuer
    /// account's days with its balance.
    pub fn check(&self, kept: &BTreeMap<(String, i32), Flow>, balances: &[RawBalance]) -> Check {
        let mut findings = Findings::default();
        let zero = Flow::default();
        for key in self.days.keys().chain(kept.keys()) {
            let walked = self.days.get(key).unwrap_or(&zero);
            let stored = kept.get(key).unwrap_or(&zero);
            if walked != stored {
                findings.add(|| {
                    format!(
                        "{} on day {}: the journal gives {walked:?}, the report keeps {stored:?}",
                        key.0, key.1
                    )
                });
            }
        }
        let mut nets: BTreeMap<&str, i64> = BTreeMap::new();
        for ((account, _), flow) in kept {
            *nets.entry(account).or_insert(0) += flow.net_minor;
        }
        for b in balances.iter().filter(|b| b.account.starts_with("issuer:")) {
            let net = nets.get(b.account.as_str()).copied().unwrap_or(0);
            if net != b.balance_minor {
                findings.add(|| {
                    format!(
                        "{}: balance {}, its days add up to {net}",
                        b.account, b.balance_minor
                    )
                });
            }
        }
        findings.into_check(
            "liability_days_match_the_journal",
            "the liability report's days agree with the journal and the issuers' balances".into(),
        )
    }
}

/// Every member account's open lots add up to what it holds, and no lot is left on an account
/// that holds nothing.
pub fn lots_check(open: &BTreeMap<String, i64>, balances: &[RawBalance]) -> Check {
    let mut findings = Findings::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for b in balances.iter().filter(|b| b.account.starts_with("member:")) {
        seen.insert(&b.account);
        let held = -b.balance_minor;
        let lots = open.get(&b.account).copied().unwrap_or(0);
        if lots != held {
            findings.add(|| format!("{} holds {held}, its lots {lots}", b.account));
        }
    }
    for (account, lots) in open {
        if !seen.contains(account.as_str()) {
            findings.add(|| format!("{account} has no balance, its lots hold {lots}"));
        }
    }
    findings.into_check(
        "lots_add_up_to_balances",
        "every member's lots add up to what the member holds".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::chain::RawPosting;

    fn entry(id: &str, kind: &str, reverses: Option<&str>, issuer_minor: i64) -> RawEntry {
        RawEntry {
            id: id.into(),
            seq: 1,
            kind: kind.into(),
            created_at_us: 3 * DAY_US + 5,
            partner: None,
            member: None,
            reference: None,
            reverses: reverses.map(Into::into),
            key_id: None,
            signature: None,
            memo: None,
            postings: vec![
                RawPosting {
                    account: "issuer:aroma:AROMA".into(),
                    unit: "AROMA".into(),
                    amount_minor: issuer_minor,
                },
                RawPosting {
                    account: "member:m:AROMA".into(),
                    unit: "AROMA".into(),
                    amount_minor: -issuer_minor,
                },
            ],
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn flows_follow_the_kind_and_an_undone_expiry_counts_against_expired() {
        let mut t = FlowTally::default();
        t.entry(&entry("e1", "earn", None, 100));
        t.entry(&entry("e2", "redemption", None, -30));
        t.entry(&entry("e3", "points_expiry", None, -50));
        t.entry(&entry("e4", "reversal", Some("e3"), 20));
        t.entry(&entry("e5", "reversal", Some("e1"), -10));
        let flow = t.days[&("issuer:aroma:AROMA".to_string(), 3)];
        assert_eq!(
            flow,
            Flow {
                earned_minor: 100,
                redeemed_minor: 30,
                expired_minor: 30,
                net_minor: 30,
            }
        );
        let balance = |minor| {
            vec![RawBalance {
                account: "issuer:aroma:AROMA".into(),
                unit: "AROMA".into(),
                balance_minor: minor,
            }]
        };
        assert!(t.check(&t.days, &balance(30)).ok);
        // A day kept wrong, or a balance its days do not add up to, is found.
        assert!(!t.check(&t.days, &balance(31)).ok);
        let mut wrong = t.days.clone();
        wrong.values_mut().for_each(|f| f.expired_minor += 1);
        assert!(!t.check(&wrong, &balance(30)).ok);
    }

    #[test]
    fn lots_must_add_up_to_what_members_hold() {
        let b = vec![RawBalance {
            account: "member:m:AROMA".into(),
            unit: "AROMA".into(),
            balance_minor: -40,
        }];
        let mut open = BTreeMap::from([("member:m:AROMA".to_string(), 40)]);
        assert!(lots_check(&open, &b).ok);
        open.insert("member:m:AROMA".into(), 39);
        assert!(!lots_check(&open, &b).ok);
        open.insert("member:m:AROMA".into(), 40);
        open.insert("member:x:AROMA".into(), 1);
        assert!(!lots_check(&open, &b).ok);
    }
}
