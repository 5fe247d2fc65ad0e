//! The hash chain: an entry's canonical bytes and the SHA-256 that links it to the one before.

use std::fmt;
use std::str::FromStr;

use ring::digest;
use serde::Serialize;

/// Version of the canonical form; bump it only together with a migration that re-hashes.
const CANONICAL_VERSION: u32 = 1;

/// A SHA-256 link in the chain, shown as 64 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// What the first entry's `prev_hash` holds.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a 64-digit lower-case hex SHA-256")]
pub struct HashParseError(String);

impl FromStr for ChainHash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, HashParseError> {
        let err = || HashParseError(s.chars().take(80).collect());
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(err());
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = nibble(pair[0])
                .zip(nibble(pair[1]))
                .map(|(h, l)| h << 4 | l)
                .ok_or_else(err)?;
        }
        Ok(Self(out))
    }
}

/// One posting as stored: account name, unit code and signed count of the unit's smallest step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawPosting {
    pub account: String,
    pub unit: String,
    pub amount_minor: i64,
}

/// An entry exactly as stored, before anything is parsed: what the chain hashes and what
/// `verify` inspects, so a tampered row is judged by its real bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub id: String,
    pub seq: i64,
    pub kind: String,
    pub created_at_us: i64,
    pub partner: Option<String>,
    pub member: Option<String>,
    pub reference: Option<String>,
    pub reverses: Option<String>,
    pub key_id: Option<String>,
    pub signature: Option<String>,
    pub memo: Option<String>,
    pub postings: Vec<RawPosting>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    v: u32,
    id: &'a str,
    seq: i64,
    kind: &'a str,
    created_at_us: i64,
    partner: Option<&'a str>,
    member: Option<&'a str>,
    reference: Option<&'a str>,
    reverses: Option<&'a str>,
    key_id: Option<&'a str>,
    signature: Option<&'a str>,
    memo: Option<&'a str>,
    postings: &'a [RawPosting],
    prev_hash: &'a str,
}

impl RawEntry {
    /// The bytes the hash covers: every stored field but the hash itself, as JSON with a fixed
    /// field order (serde keeps struct order and escapes deterministically).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let canonical = Canonical {
            v: CANONICAL_VERSION,
            id: &self.id,
            seq: self.seq,
            kind: &self.kind,
            created_at_us: self.created_at_us,
            partner: self.partner.as_deref(),
            member: self.member.as_deref(),
            reference: self.reference.as_deref(),
            reverses: self.reverses.as_deref(),
            key_id: self.key_id.as_deref(),
            signature: self.signature.as_deref(),
            memo: self.memo.as_deref(),
            postings: &self.postings,
            prev_hash: &self.prev_hash,
        };
        // Serialising plain strings and integers into a Vec cannot fail.
        serde_json::to_vec(&canonical).unwrap_or_default()
    }

    /// The first unit whose postings do not sum to zero, with the amount it is off by.
    pub fn imbalance(&self) -> Option<(&str, i128)> {
        let mut sums: std::collections::BTreeMap<&str, i128> = std::collections::BTreeMap::new();
        for p in &self.postings {
            *sums.entry(p.unit.as_str()).or_insert(0) += i128::from(p.amount_minor);
        }
        sums.into_iter().find(|(_, sum)| *sum != 0)
    }

    /// The hash this entry should carry.
    pub fn compute_hash(&self) -> ChainHash {
        let d = digest::digest(&digest::SHA256, &self.canonical_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        ChainHash(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RawEntry {
        RawEntry {
            id: "0190f7a4-0000-7000-8000-000000000001".into(),
            seq: 1,
            kind: "earn".into(),
            created_at_us: 1_700_000_000_000_000,
            partner: Some("aroma".into()),
            member: None,
            reference: Some("r\"1\n".into()),
            reverses: None,
            key_id: None,
            signature: None,
            memo: None,
            postings: vec![
                RawPosting {
                    account: "issuer:aroma:AROMA".into(),
                    unit: "AROMA".into(),
                    amount_minor: 50,
                },
                RawPosting {
                    account: "member:x:AROMA".into(),
                    unit: "AROMA".into(),
                    amount_minor: -50,
                },
            ],
            prev_hash: ChainHash::GENESIS.to_string(),
            hash: String::new(),
        }
    }

    #[test]
    fn hash_covers_every_field() {
        let base = sample();
        let h = base.compute_hash();
        let mut changed = Vec::new();
        let mut e = base.clone();
        e.seq = 2;
        changed.push(e);
        let mut e = base.clone();
        e.postings[0].amount_minor = 51;
        changed.push(e);
        let mut e = base.clone();
        e.postings[1].account = "member:y:AROMA".into();
        changed.push(e);
        let mut e = base.clone();
        e.prev_hash = "1".repeat(64);
        changed.push(e);
        let mut e = base.clone();
        e.signature = Some("sig".into());
        changed.push(e);
        let mut e = base.clone();
        e.reference = None;
        changed.push(e);
        for e in changed {
            assert_ne!(e.compute_hash(), h, "{e:?}");
        }
        // The stored hash itself is not part of what is hashed.
        let mut e = base.clone();
        e.hash = "whatever".into();
        assert_eq!(e.compute_hash(), h);
    }

    #[test]
    fn hex_round_trip() {
        let h = sample().compute_hash();
        assert_eq!(h.to_string().parse::<ChainHash>().unwrap(), h);
        assert_eq!(ChainHash::GENESIS.to_string(), "0".repeat(64));
        assert!("A".repeat(64).parse::<ChainHash>().is_err());
        assert!("0".repeat(63).parse::<ChainHash>().is_err());
    }
}
