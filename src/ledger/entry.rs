//! Journal entries: drafts, the balanced entries the ledger accepts, and committed entries.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use super::account::Account;
use super::amount::Amount;
use super::chain::{ChainHash, RawEntry, RawPosting};
use super::ids::{EntryId, IdError, KeyId, MemberId, PartnerId, UnitCode};
pub use super::kind::EntryKind;
use super::unit::Units;

/// The most postings one entry may carry.
pub const MAX_POSTINGS_PER_ENTRY: usize = 32;
/// The longest partner reference (their receipt or order number), in characters.
pub const MAX_REFERENCE_CHARS: usize = 128;
/// The longest memo, in bytes: a reversal's reason (500 characters, up to 2 000 bytes) with
/// the values it takes back.
pub const MAX_MEMO_BYTES: usize = 4096;
/// The longest stored request signature, in bytes.
pub const MAX_SIGNATURE_BYTES: usize = 4096;

/// One line of an entry: a signed amount (debit positive) on one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    pub amount: Amount,
}

impl Posting {
    pub fn debit(account: Account, amount: Amount) -> Self {
        Self { account, amount }
    }

    /// A credit of `amount`; `amount` is a quantity (positive), the posting stores it negated.
    pub fn credit(account: Account, amount: Amount) -> Option<Self> {
        amount.checked_neg().map(|amount| Self { account, amount })
    }
}

/// Who and what stands behind an entry, apart from its postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    pub kind: EntryKind,
    pub partner: Option<PartnerId>,
    pub member: Option<MemberId>,
    pub reference: Option<String>,
    pub reverses: Option<EntryId>,
    /// The key that signed the request that made this entry, and the signature it came with.
    pub key_id: Option<KeyId>,
    pub signature: Option<String>,
    pub memo: Option<String>,
}

impl EntryMeta {
    pub fn new(kind: EntryKind) -> Self {
        Self {
            kind,
            partner: None,
            member: None,
            reference: None,
            reverses: None,
            key_id: None,
            signature: None,
            memo: None,
        }
    }
}

/// An entry not yet known to balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDraft {
    pub meta: EntryMeta,
    pub postings: Vec<Posting>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("an entry needs 2 to {MAX_POSTINGS_PER_ENTRY} postings, this one has {0}")]
    PostingCount(usize),
    #[error("posting on {0} is zero")]
    ZeroPosting(String),
    #[error("unit {0} is not known to the ledger")]
    UnknownUnit(UnitCode),
    #[error("posting on {account} is at scale {got}, unit {unit} counts in {want} places")]
    ScaleMismatch {
        account: String,
        unit: UnitCode,
        got: u32,
        want: u32,
    },
    #[error("account {0} appears twice in one entry")]
    DuplicateAccount(String),
    #[error("postings in {unit} sum to {sum} (minor units), not zero")]
    Unbalanced { unit: String, sum: i128 },
    #[error("{field} is too long or holds control characters")]
    BadText { field: &'static str },
}

/// Sums of postings per unit, in minor units; wide enough that no entry can overflow it.
fn sums_per_unit<'a>(postings: impl Iterator<Item = (&'a str, i64)>) -> BTreeMap<&'a str, i128> {
    let mut sums = BTreeMap::new();
    for (unit, minor) in postings {
        *sums.entry(unit).or_insert(0) += i128::from(minor);
    }
    sums
}

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

impl EntryDraft {
    pub fn new(meta: EntryMeta, postings: Vec<Posting>) -> Self {
        Self { meta, postings }
    }

    /// Checks everything the ledger requires of an entry and returns the proof that it holds.
    pub fn balance(self, units: &Units) -> Result<BalancedEntry, EntryError> {
        let n = self.postings.len();
        if !(2..=MAX_POSTINGS_PER_ENTRY).contains(&n) {
            return Err(EntryError::PostingCount(n));
        }
        let text_ok = |v: &Option<String>, max_chars: usize| {
            v.as_deref()
                .is_none_or(|s| s.chars().count() <= max_chars && printable(s))
        };
        if !text_ok(&self.meta.reference, MAX_REFERENCE_CHARS)
            || self.meta.reference.as_deref() == Some("")
        {
            return Err(EntryError::BadText { field: "reference" });
        }
        if self
            .meta
            .memo
            .as_deref()
            .is_some_and(|m| m.len() > MAX_MEMO_BYTES || !printable(m))
        {
            return Err(EntryError::BadText { field: "memo" });
        }
        if self
            .meta
            .signature
            .as_deref()
            .is_some_and(|s| s.len() > MAX_SIGNATURE_BYTES)
        {
            return Err(EntryError::BadText { field: "signature" });
        }
        let mut seen = BTreeSet::new();
        for p in &self.postings {
            let unit_code = p.account.unit();
            let unit = units
                .get(unit_code)
                .ok_or_else(|| EntryError::UnknownUnit(unit_code.clone()))?;
            if p.amount.scale() != unit.scale {
                return Err(EntryError::ScaleMismatch {
                    account: p.account.to_string(),
                    unit: unit_code.clone(),
                    got: p.amount.scale().places(),
                    want: unit.scale.places(),
                });
            }
            if p.amount.is_zero() {
                return Err(EntryError::ZeroPosting(p.account.to_string()));
            }
            if !seen.insert(&p.account) {
                return Err(EntryError::DuplicateAccount(p.account.to_string()));
            }
        }
        let sums = sums_per_unit(
            self.postings
                .iter()
                .map(|p| (p.account.unit().as_str(), p.amount.minor())),
        );
        if let Some((unit, sum)) = sums.into_iter().find(|(_, s)| *s != 0) {
            return Err(EntryError::Unbalanced {
                unit: unit.to_owned(),
                sum,
            });
        }
        let entry = BalancedEntry(self);
        entry.assert_balanced();
        Ok(entry)
    }
}

/// An entry whose postings sum to zero in every unit, at every unit's scale. Only
/// [`EntryDraft::balance`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancedEntry(EntryDraft);

impl BalancedEntry {
    pub fn meta(&self) -> &EntryMeta {
        &self.0.meta
    }

    pub fn postings(&self) -> &[Posting] {
        &self.0.postings
    }

    fn assert_balanced(&self) {
        let sums = sums_per_unit(
            self.0
                .postings
                .iter()
                .map(|p| (p.account.unit().as_str(), p.amount.minor())),
        );
        assert!(
            sums.values().all(|s| *s == 0),
            "entry does not balance: {sums:?}"
        );
    }

    /// Places the entry in the chain after `prev_hash` at position `seq`.
    pub fn commit(
        self,
        id: EntryId,
        seq: i64,
        created_at_us: i64,
        prev_hash: ChainHash,
    ) -> CommittedEntry {
        assert!(seq >= 1, "chain positions start at 1");
        self.assert_balanced();
        let mut entry = CommittedEntry {
            id,
            seq,
            created_at_us,
            meta: self.0.meta,
            postings: self.0.postings,
            prev_hash,
            hash: ChainHash::GENESIS,
        };
        entry.hash = entry.to_raw().compute_hash();
        entry
    }
}

/// An entry in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedEntry {
    pub id: EntryId,
    pub seq: i64,
    pub created_at_us: i64,
    pub meta: EntryMeta,
    pub postings: Vec<Posting>,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

/// A stored entry that does not read back as a valid entry: the database was changed behind
/// the ledger's back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored entry {id} is corrupt: {why}")]
pub struct CorruptEntryError {
    pub id: String,
    pub why: String,
}

impl CommittedEntry {
    pub fn to_raw(&self) -> RawEntry {
        RawEntry {
            id: self.id.to_string(),
            seq: self.seq,
            kind: self.meta.kind.as_str().to_owned(),
            created_at_us: self.created_at_us,
            partner: self.meta.partner.as_ref().map(ToString::to_string),
            member: self.meta.member.as_ref().map(ToString::to_string),
            reference: self.meta.reference.clone(),
            reverses: self.meta.reverses.as_ref().map(ToString::to_string),
            key_id: self.meta.key_id.as_ref().map(ToString::to_string),
            signature: self.meta.signature.clone(),
            memo: self.meta.memo.clone(),
            postings: self
                .postings
                .iter()
                .map(|p| RawPosting {
                    account: p.account.to_string(),
                    unit: p.account.unit().to_string(),
                    amount_minor: p.amount.minor(),
                })
                .collect(),
            prev_hash: self.prev_hash.to_string(),
            hash: self.hash.to_string(),
        }
    }

    /// Reads a stored entry back, checking its hash and asserting that it balances.
    pub fn from_raw(raw: &RawEntry, units: &Units) -> Result<Self, CorruptEntryError> {
        let corrupt = |why: String| CorruptEntryError {
            id: raw.id.clone(),
            why,
        };
        let postings = raw
            .postings
            .iter()
            .map(|p| stored_posting(p, units).map_err(corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        let entry = CommittedEntry {
            id: raw
                .id
                .parse()
                .map_err(|e: IdError| corrupt(e.to_string()))?,
            seq: raw.seq,
            created_at_us: raw.created_at_us,
            meta: stored_meta(raw).map_err(|e| corrupt(e.to_string()))?,
            postings,
            prev_hash: raw.prev_hash.parse().map_err(|e| corrupt(format!("{e}")))?,
            hash: raw.hash.parse().map_err(|e| corrupt(format!("{e}")))?,
        };
        if raw.compute_hash() != entry.hash {
            return Err(corrupt("hash does not match its contents".into()));
        }
        let imbalance = raw.imbalance();
        assert!(
            imbalance.is_none(),
            "entry {} read back unbalanced with a valid hash: {imbalance:?}",
            raw.id
        );
        Ok(entry)
    }
}

/// A stored entry's metadata, every id parsed.
fn stored_meta(raw: &RawEntry) -> Result<EntryMeta, IdError> {
    fn id<T: FromStr<Err = IdError>>(v: Option<&str>) -> Result<Option<T>, IdError> {
        v.map(str::parse).transpose()
    }
    Ok(EntryMeta {
        kind: raw.kind.parse()?,
        partner: id(raw.partner.as_deref())?,
        member: id(raw.member.as_deref())?,
        reference: raw.reference.clone(),
        reverses: id(raw.reverses.as_deref())?,
        key_id: id(raw.key_id.as_deref())?,
        signature: raw.signature.clone(),
        memo: raw.memo.clone(),
    })
}

/// A stored posting: its account parsed, its unit the account's, its amount at the unit's scale.
fn stored_posting(p: &RawPosting, units: &Units) -> Result<Posting, String> {
    let account: Account = p.account.parse().map_err(|e: IdError| e.to_string())?;
    if account.unit().as_str() != p.unit {
        return Err(format!("posting unit {} differs from {}", p.unit, account));
    }
    let scale = units
        .scale_of(account.unit())
        .ok_or_else(|| format!("unknown unit {}", p.unit))?;
    Ok(Posting {
        account,
        amount: Amount::from_minor(p.amount_minor, scale),
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::ledger::amount::Scale;
    use crate::ledger::ids::Party;
    use crate::ledger::unit::{Unit, UnitKind};

    fn units() -> Units {
        Units::new([
            Unit {
                code: "AROMA".parse().unwrap(),
                scale: Scale::new(0).unwrap(),
                kind: UnitKind::Points {
                    issuer: Party::Partner("aroma".parse().unwrap()),
                    value: Decimal::new(4, 2),
                },
            },
            Unit {
                code: "ILS".parse().unwrap(),
                scale: Scale::new(2).unwrap(),
                kind: UnitKind::Currency,
            },
        ])
    }

    fn member(m: MemberId) -> Account {
        Account::Member {
            member: m,
            unit: "AROMA".parse().unwrap(),
        }
    }
    fn issuer() -> Account {
        Account::Issuer {
            issuer: Party::Partner("aroma".parse().unwrap()),
            unit: "AROMA".parse().unwrap(),
        }
    }
    fn pts(n: i64) -> Amount {
        Amount::from_minor(n, Scale::new(0).unwrap())
    }

    fn earn(n: i64) -> EntryDraft {
        EntryDraft::new(
            EntryMeta::new(EntryKind::Earn),
            vec![
                Posting::debit(issuer(), pts(n)),
                Posting::credit(member(MemberId::random()), pts(n)).unwrap(),
            ],
        )
    }

    #[test]
    fn balanced_entry_is_accepted_and_hashes() {
        let e = earn(50).balance(&units()).unwrap();
        let c = e.commit(EntryId::new_v7(), 1, 1, ChainHash::GENESIS);
        let raw = c.to_raw();
        assert_eq!(raw.compute_hash(), c.hash);
        assert_eq!(CommittedEntry::from_raw(&raw, &units()).unwrap(), c);
    }

    #[test]
    fn unbalanced_entries_are_refused() {
        let mut d = earn(50);
        d.postings[0].amount = pts(49);
        assert!(matches!(
            d.balance(&units()),
            Err(EntryError::Unbalanced { .. })
        ));
    }

    #[test]
    fn balance_is_per_unit() {
        // 50 AROMA against 50.00 ILS: sums to zero numerically across units, not per unit.
        let d = EntryDraft::new(
            EntryMeta::new(EntryKind::Adjustment),
            vec![
                Posting::debit(issuer(), pts(5000)),
                Posting::credit(
                    Account::NetworkBank {
                        currency: "ILS".parse().unwrap(),
                    },
                    Amount::from_minor(5000, Scale::new(2).unwrap()),
                )
                .unwrap(),
            ],
        );
        assert!(matches!(
            d.balance(&units()),
            Err(EntryError::Unbalanced { .. })
        ));
    }

    #[test]
    fn shape_rules() {
        let mut one = earn(5);
        one.postings.pop();
        assert_eq!(one.balance(&units()), Err(EntryError::PostingCount(1)));

        let mut zero = earn(5);
        zero.postings[0].amount = pts(0);
        zero.postings[1].amount = pts(0);
        assert!(matches!(
            zero.balance(&units()),
            Err(EntryError::ZeroPosting(_))
        ));

        let mut scale = earn(5);
        scale.postings[0].amount = Amount::from_minor(500, Scale::new(2).unwrap());
        assert!(matches!(
            scale.balance(&units()),
            Err(EntryError::ScaleMismatch { .. })
        ));

        let mut dup = earn(5);
        let acct = dup.postings[0].account.clone();
        dup.postings = vec![
            Posting::debit(acct.clone(), pts(5)),
            Posting::credit(acct, pts(5)).unwrap(),
        ];
        assert!(matches!(
            dup.balance(&units()),
            Err(EntryError::DuplicateAccount(_))
        ));

        let mut unknown = earn(5);
        for p in &mut unknown.postings {
            p.account = match &p.account {
                Account::Member { member, .. } => Account::Member {
                    member: *member,
                    unit: "NOPE".parse().unwrap(),
                },
                _ => Account::Issuer {
                    issuer: Party::Network,
                    unit: "NOPE".parse().unwrap(),
                },
            };
        }
        assert!(matches!(
            unknown.balance(&units()),
            Err(EntryError::UnknownUnit(_))
        ));

        let mut reference = earn(5);
        reference.meta.reference = Some("a\u{0}b".into());
        assert!(matches!(
            reference.balance(&units()),
            Err(EntryError::BadText { .. })
        ));
        let mut reference = earn(5);
        reference.meta.reference = Some("x".repeat(MAX_REFERENCE_CHARS + 1));
        assert!(matches!(
            reference.balance(&units()),
            Err(EntryError::BadText { .. })
        ));
    }

    #[test]
    fn tampered_raw_entry_is_corrupt() {
        let c =
            earn(50)
                .balance(&units())
                .unwrap()
                .commit(EntryId::new_v7(), 1, 1, ChainHash::GENESIS);
        let mut raw = c.to_raw();
        raw.reference = Some("changed".into());
        assert!(CommittedEntry::from_raw(&raw, &units()).is_err());
    }
}
